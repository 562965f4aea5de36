#!/usr/bin/python3
"""Opens clickmill's HTML report in headless Chromium and checks that the charts rendered.

usage: report_browser.py REPORT.html SCREENSHOT.png
(also saves SCREENSHOT-dark.png and SCREENSHOT-phone.png: the first screen dark, and a phone's)

Drives Debian's chromium through chromedriver with the W3C WebDriver protocol (plain JSON over
HTTP, so no client library is needed) and checks, in a wide window, in the dark colour scheme
and on a 390-pixel phone screen: every chart has a non-empty box; every bar of a value above
zero, and every point, is drawn with a size; the numbers written at the bars are inside their
chart; category labels do not overlap; nothing makes the page scroll sideways; text contrasts
with the background. Saves a screenshot of the whole page. Prints "ok - ..." / "not ok - ..."
lines and exits 1 when a check fails (2 when the browser cannot be driven).
"""
import base64
import os
import sys

from webdriver import Browser

import checks
from checks import check


# Measures the page: the charts' boxes, marks without size, labels that overlap, values
# outside their chart, and the page's width against the window's.
MEASURE = r"""
const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
const charts = [...document.querySelectorAll('svg.chart')];
const out = {charts: {}, empty_marks: [], overlaps: [], outside: [], count_marks: 0,
             scroll_width: document.documentElement.scrollWidth, inner_width: window.innerWidth,
             height: document.documentElement.scrollHeight};
for (const svg of charts) {
  const [x, y, w, h] = box(svg);
  out.charts[svg.id] = [w, h];
  for (const mark of svg.querySelectorAll('rect.bar, circle.point, rect.cell')) {
    const value = parseFloat(mark.dataset.value ?? mark.dataset.y ?? '1');
    out.count_marks++;
    const [, , mw, mh] = box(mark);
    if (value > 0 && (mw <= 0 || mh <= 0))
      out.empty_marks.push(svg.id + ': ' + mark.dataset.label + ' = ' + value);
  }
  for (const text of svg.querySelectorAll('text.value')) {
    const [tx, , tw] = box(text);
    if (tx + tw > x + w + 1 || tx < x - 1) out.outside.push(svg.id + ': ' + text.textContent);
  }
  const labels = [...svg.querySelectorAll('text.label')].map(t => [t.textContent, box(t)]);
  for (let i = 1; i < labels.length; i++) {
    const [a, [ax, ay, aw, ah]] = labels[i - 1], [b, [bx, by, bw, bh]] = labels[i];
    if (ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah)
      out.overlaps.push(svg.id + ': ' + a + ' / ' + b);
  }
}
return out;
"""

COLOURS = r"""
const rgb = c => c.match(/[\d.]+/g).slice(0, 3).map(Number);
const luminance = c => { const [r, g, b] = rgb(c); return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; };
const text = document.querySelector('svg.chart text.label') || document.querySelector('svg.chart text');
return {background: luminance(getComputedStyle(document.body).backgroundColor),
        body: luminance(getComputedStyle(document.body).color),
        chart_text: luminance(getComputedStyle(text).fill)};
"""


def measure(browser, label):
    m = browser.script(MEASURE)
    empty = [k for k, (w, h) in m["charts"].items() if w <= 0 or h <= 0]
    check(f"{label}: {len(m['charts'])} charts rendered, each with a non-empty box",
          m["charts"] and not empty, empty)
    check(f"{label}: all {m['count_marks']} bars, points and cells of a value above zero "
          "have a size", not m["empty_marks"], "\n".join(m["empty_marks"]))
    check(f"{label}: the numbers written at the bars are inside their charts",
          not m["outside"], "\n".join(m["outside"]))
    check(f"{label}: no two category labels overlap", not m["overlaps"],
          "\n".join(m["overlaps"]))
    check(f"{label}: the page does not scroll sideways "
          f"({m['scroll_width']} <= {m['inner_width']} px)",
          m["scroll_width"] <= m["inner_width"] + 1)
    return m


def save(browser, path):
    """The window as it is now, for a person to look at."""
    with open(path, "wb") as f:
        f.write(base64.b64decode(browser.do("GET", "/screenshot")))


def main():
    report, screenshot = sys.argv[1], sys.argv[2]
    try:
        browser = Browser()
    except Exception as error:  # noqa: BLE001 - any failure to start is reported the same way
        print(f"not ok - start chromium through chromedriver: {error}")
        return 2
    try:
        browser.do("POST", "/url", {"url": "file://" + os.path.abspath(report)})
        title = browser.do("GET", "/title")
        check("the report loads in Chromium (title 'Clickstream report')",
              title == "Clickstream report", title)
        m = measure(browser, "1200 px, light")
        colours = browser.script(COLOURS)
        check("light scheme: dark text on a light background",
              colours["background"] > 0.8 and colours["chart_text"] < 0.4, colours)
        # The whole page, for a person to look at.
        browser.do("POST", "/window/rect", {"width": 1200, "height": min(m["height"] + 100, 16000)})
        png = base64.b64decode(browser.do("GET", "/screenshot"))
        with open(screenshot, "wb") as f:
            f.write(png)
        check(f"screenshot saved ({len(png):,} bytes: {screenshot})",
              png.startswith(b"\x89PNG") and len(png) > 20000)
        browser.do("POST", "/window/rect", {"width": 1200, "height": 900})

        browser.do("POST", "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {
            "features": [{"name": "prefers-color-scheme", "value": "dark"}]}})
        colours = browser.script(COLOURS)
        check("dark scheme: light text on a dark background",
              colours["background"] < 0.2 and colours["chart_text"] > 0.6
              and colours["body"] > 0.6, colours)
        measure(browser, "1200 px, dark")
        save(browser, screenshot.replace(".png", "-dark.png"))
        browser.do("POST", "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {
            "features": [{"name": "prefers-color-scheme", "value": "light"}]}})

        browser.do("POST", "/goog/cdp/execute", {"cmd": "Emulation.setDeviceMetricsOverride",
                                                  "params": {"width": 390, "height": 844,
                                                             "deviceScaleFactor": 2,
                                                             "mobile": True}})
        browser.do("POST", "/refresh", {})
        measure(browser, "390 px phone")
        phone = browser.script(r"""
            const charts = [...document.querySelectorAll('svg.chart')];
            const text = document.querySelector('svg.chart text.label');
            return {smallest: Math.min(...charts.map(s => s.getBoundingClientRect().width /
                                                      s.viewBox.baseVal.width * 12)),
                    unscrollable: charts.filter(s => s.getBoundingClientRect().right > 391 &&
                        getComputedStyle(s.closest('figure')).overflowX !== 'auto').map(s => s.id)};""")
        check("390 px phone: chart text at least 8.5 px (a chart wider than the screen "
              "scrolls inside its figure)",
              phone["smallest"] >= 8.5 and not phone["unscrollable"], phone)
        browser.script("document.getElementById('categories').scrollIntoView();")
        save(browser, screenshot.replace(".png", "-phone.png"))
    finally:
        browser.close()
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
