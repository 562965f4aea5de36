#!/usr/bin/python3
"""Fills in the "Will they buy?" page of a running `clickmill serve` in headless Chromium.

usage: serve_browser.py URL CATEGORY BRAND SCREENSHOT.png

Opens the page, picks CATEGORY and BRAND, sets a price and the session so far, clicks the
button, and reads the probability and the verdict the page shows; they must be what
POST /predict answers for the features the form holds. Then a price the server refuses must
show its error on the page. Prints "ok - ..." / "not ok - ..." lines; exit 1 on a failure.
"""
import base64
import json
import sys
import time
import urllib.request

from webdriver import Browser

import checks
from checks import check


def wait_for(browser, script, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = browser.script(script)
        if value:
            return value
        time.sleep(0.1)
    return None


def element(browser, css):
    return browser.do("POST", "/element", {"using": "css selector", "value": css})[
        "element-6066-11e4-a52e-4f735466cecf"]


def type_into(browser, css, text):
    e = element(browser, css)
    browser.do("POST", f"/element/{e}/clear", {})
    browser.do("POST", f"/element/{e}/value", {"text": text})


# The features the form holds, as its script sends them.
FORM_JSON = r"""
const body = {};
for (const el of document.getElementById('form').elements) {
  if (!el.name || el.value === '') continue;
  body[el.name] = el.dataset.kind === 'text' ? el.value : Number(el.value);
}
return body;
"""


def main():
    url, category, brand, screenshot = sys.argv[1:5]
    browser = Browser(width=900, height=1400)
    try:
        browser.do("POST", "/url", {"url": url})
        check("the page loads (title 'Will they buy?')",
              browser.do("GET", "/title") == "Will they buy?")
        options = browser.script(
            "return document.querySelectorAll('#category-values option').length;")
        check(f"the category field offers the model's categories ({options})", options > 0)
        type_into(browser, "#category", category)
        type_into(browser, "#brand", brand)
        type_into(browser, "#price", "249.90")
        type_into(browser, "#views_before", "7")
        type_into(browser, "#seconds_in_session", "640")
        hour = element(browser, "#hour option[value='15']")
        browser.do("POST", f"/element/{hour}/click", {})
        browser.do("POST", f"/element/{element(browser, '#ask')}/click", {})
        shown = wait_for(browser, "const p = document.getElementById('probability');"
                                  "return p && p.textContent;")
        verdict = browser.script("const v = document.getElementById('verdict');"
                                 "return v ? v.textContent : null;")
        body = browser.script(FORM_JSON)
        request = urllib.request.Request(url + "predict", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        answer = json.load(urllib.request.urlopen(request, timeout=10))
        want = f"{100 * answer['probability']:.1f} %"
        check(f"clicking 'Will they buy?' shows the probability /predict gives ({want})",
              shown == want, (shown, want, body))
        check(f"... and the verdict ({verdict})",
              verdict == ("Likely to buy" if answer["purchase"] else "Unlikely to buy"),
              (verdict, answer))
        check("the form sent the category, brand, price and hour typed in",
              body.get("category") == category and body.get("brand") == brand
              and body.get("price") == 249.9 and body.get("hour") == 15, body)
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(browser.do("GET", "/screenshot")))
        check(f"screenshot saved ({screenshot})", True)
        # a value the server refuses: its message on the page, no crash
        browser.script("document.getElementById('hour').innerHTML = "
                       "'<option value=\"99\">99</option>';")
        browser.do("POST", f"/element/{element(browser, '#ask')}/click", {})
        error = wait_for(browser, "const e = document.getElementById('error');"
                                  "return e && e.textContent;")
        check("an hour the server refuses: the page shows its error",
              error and "'hour' must be a number from 0 to 23" in error, error)
    finally:
        browser.close()
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
