#!/usr/bin/python3
"""Checks an HTML report of clickmill against the results.h5 (and model.h5) it was made from.

usage: report_check.py REPORT.html RESULTS.h5 [--model MODEL.h5] [--top N]
                       [--car-min-carts N] [--car-category C]

Every figure the report draws is recomputed here from the HDF5 files with h5py, by rules
written out independently of clickmill's C code (the rankings, "other", abandonment, the
insights' percentages), and compared with the numbers the page carries (data-value
attributes, labels and the text shown). Prints "ok - ..." / "not ok - ..." lines for
test/report.sh and exits 1 when a check fails.
"""
import argparse
import re
import sys
import xml.etree.ElementTree as ET

import h5py

import checks
from checks import check

SVG = "{http://www.w3.org/2000/svg}"

def text(value):
    return value.decode() if isinstance(value, bytes) else value


def table(results, name):
    data = results[name][()]
    columns = data.dtype.names
    return [
        {c: (text(row[c]) if data.dtype[c].kind in "OS" else row[c].item()) for c in columns}
        for row in data
    ]


def cents(value):
    return round(value * 100)


def count(value):
    return f"{value:,}"


def money(value_cents):
    sign = "-" if value_cents < 0 else ""
    value_cents = abs(value_cents)
    return f"{sign}{value_cents // 100:,}.{value_cents % 100:02d}"


def shown(name):
    return name if name else "(none)"


def ranked(rows, score, then, key):
    """Largest score first, then largest `then`, then the table's key order (bytes)."""
    return sorted(rows, key=lambda r: (-score(r), -then(r), key(r).encode()))


def top_with_other(rows, score, then, key, label, top, skip_unknown):
    order = ranked(rows, score, then, key)
    kept, rest, others = [], 0, 0
    for r in order:
        if len(kept) < top and score(r) != 0 and not (skip_unknown and key(r) == "unknown"):
            kept.append(r)
        else:
            rest += score(r)
            others += score(r) != 0
    out = [(shown(label(r)), score(r)) for r in kept]
    if rest != 0:
        out.append((f"other ({others})", rest))
    return out, kept


def bars(chart, series=None):
    """(label, value) of every bar of a chart, in drawing order."""
    out = []
    for rect in chart.iter(SVG + "rect"):
        if "bar" not in rect.get("class", "").split():
            continue
        if series is not None and rect.get("data-series") != series:
            continue
        out.append((rect.get("data-label"), float(rect.get("data-value"))))
    return out


def points(chart):
    return [
        (c.get("data-label"), float(c.get("data-value") or c.get("data-y") or "nan"),
         c.get("data-x"))
        for c in chart.iter(SVG + "circle")
    ]


def same_values(got, want, tolerance=0.0):
    if len(got) != len(want):
        return False
    for (gl, gv), (wl, wv) in zip(got, want):
        if gl != wl or abs(gv - wv) > tolerance * max(1.0, abs(wv)):
            return False
    return True


def diff(got, want):
    lines = [f"got {len(got)}, want {len(want)}"]
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else None
        w = want[i] if i < len(want) else None
        if g != w:
            lines.append(f"[{i}] got {g!r} want {w!r}")
    return "\n".join(lines[:12])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("results")
    parser.add_argument("--model")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--car-min-carts", type=int, default=5000)
    parser.add_argument("--car-category", default="electronics")
    args = parser.parse_args()

    raw = open(args.report, "rb").read()
    try:
        root = ET.fromstring(raw)
        check("the report is well-formed XML (XHTML syntax, inline SVG)", True)
    except ET.ParseError as error:
        check("the report is well-formed XML (XHTML syntax, inline SVG)", False, error)
        return 1
    page = raw.decode("utf-8")
    check("the report is valid UTF-8 and starts with <!DOCTYPE html>",
          page.startswith("<!DOCTYPE html>"))
    outside = [m for m in re.findall(r"(?:https?:)?//[^\s\"'<)]+", page)
               if m != "http://www.w3.org/2000/svg"]
    foreign = [e.tag for e in root.iter() if e.tag in ("script", "link", "img", "iframe",
                                                       "object", "embed")]
    check("the report refers to nothing outside itself (no script, link, img, src, URL)",
          not outside and not foreign and " src=" not in page, (outside + foreign)[:5])
    text_all = " ".join(" ".join(e.itertext()) for e in root.iter("p"))  # the sentences, unescaped
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    check("every id in the report is unique", len(ids) == len(set(ids)),
          sorted({i for i in ids if ids.count(i) > 1})[:10])
    charts = {e.get("id"): e for e in root.iter(SVG + "svg")}
    for chart_id, chart in charts.items():
        title = chart.find(SVG + "title")
        check(f"{chart_id}: has a title for screen readers",
              title is not None and (title.text or "").strip() != "")

    with h5py.File(args.results, "r") as results:
        summary = table(results, "summary")[0]
        funnel = table(results, "funnel")
        categories = table(results, "categories")
        category_brands = table(results, "category_brands")
        category_products = table(results, "category_products")
        days = table(results, "days")
        hours = table(results, "hours")

    # The cards: the summary's figures as shown.
    cards = {e.get("id"): "".join(e.itertext()) for e in root.iter("div") if e.get("id", "").startswith("card-")}
    want_cards = [count(summary["rows"]), count(summary["users"]), count(summary["sessions"]),
                  count(summary["products"]), money(cents(summary["revenue"])),
                  count(summary["rows_rejected"])]
    got_cards = [re.sub(r"[a-z ]+$", "", cards.get(f"card-{i}", "")) for i in range(6)]
    check("the cards show the summary's rows, users, sessions, products, revenue, rejected",
          got_cards == want_cards, diff(got_cards, want_cards))

    # The funnel: view, cart, purchase, then the other event types in key order.
    by_type = {r["event_type"]: r for r in funnel}
    # view, cart, purchase, then the five other types with the most events (then users, then
    # key order), then one bar adding up the rest's events (no users: not distinct across types)
    others = ranked([r for r in funnel if r["event_type"] not in ("view", "cart", "purchase")],
                    lambda r: r["events"], lambda r: r["users"], lambda r: r["event_type"])
    for series, column in (("events", "events"), ("users", "users")):
        want = [(t, by_type[t][column] if t in by_type else 0)
                for t in ("view", "cart", "purchase")]
        want += [(r["event_type"], r[column]) for r in others[:5]]
        if len(others) > 5:
            want.append((f"other types ({len(others) - 5})",
                         sum(r["events"] for r in others[5:]) if column == "events" else 0))
        got = bars(charts["chart-funnel"], series)
        check(f"funnel chart: {series} per step equal the funnel table", same_values(got, want),
              diff(got, want))
    view = by_type.get("view", {"events": 0, "users": 0})
    cart = by_type.get("cart", {"events": 0, "users": 0})
    purchase = by_type.get("purchase", {"events": 0, "users": 0})

    def pct(part, whole):
        return 100.0 * part / whole if whole else 0.0

    if view["events"] and cart["events"]:
        insight = f"There are {pct(cart['events'], view['events']):.2f} carts per 100 views and " \
                  f"{pct(purchase['events'], cart['events']):.1f} purchases per 100 carts"
        check("funnel insight: the conversion rates computed from the funnel table",
              insight in page, insight)
    if view["users"]:
        insight = f"{count(view['users'])} users viewed products, {count(cart['users'])} put one " \
                  f"in a cart and {count(purchase['users'])} bought: " \
                  f"{pct(purchase['users'], view['users']):.1f} buyers per 100 viewers"
        check("funnel insight: users who viewed, carted and bought", insight in page, insight)
    shares = [float(m) for m in re.findall(r"([0-9]+(?:\.[0-9]+)?)% of (?:all|carts|the )", text_all)]
    check("no share above 100% (\"X% of all\", \"of carts\", \"of the ...\")",
          all(v <= 100 for v in shares), [v for v in shares if v > 100])

    # Top categories: browsed (views + carts), purchased, revenue; 'unknown' left out, the rest
    # (unknown included) in "other (K)".
    name = lambda r: r["category"]
    lists = {
        "chart-categories-browsed": (lambda r: r["views"] + r["carts"], lambda r: r["purchases"], 0),
        "chart-categories-purchased": (lambda r: r["purchases"], lambda r: cents(r["revenue"]), 0),
        "chart-categories-revenue": (lambda r: cents(r["revenue"]), lambda r: r["purchases"], 1),
    }
    for chart_id, (score, then, is_money) in lists.items():
        want, kept = top_with_other(categories, score, then, name, name, args.top, True)
        if is_money:
            want = [(label, value / 100.0) for label, value in want]
        if not want:
            check(f"{chart_id}: absent when nothing scores", chart_id not in charts)
            continue
        got = bars(charts[chart_id]) if chart_id in charts else []
        check(f"{chart_id}: top {args.top} and 'other' equal results.h5", same_values(got, want),
              diff(got, want))
        if is_money and chart_id in charts:
            labels = [t.text for t in charts[chart_id].iter(SVG + "text")
                      if "value" in t.get("class", "").split()]
            want_labels = [money(round(v * 100)) for _, v in want]
            check(f"{chart_id}: the amounts written at the bars", labels == want_labels,
                  diff(labels, want_labels))
        elif chart_id in charts:
            labels = [t.text for t in charts[chart_id].iter(SVG + "text")
                      if "value" in t.get("class", "").split()]
            want_labels = [count(v) for _, v in want]
            check(f"{chart_id}: the counts written at the bars", labels == want_labels,
                  diff(labels, want_labels))
        if chart_id == "chart-categories-purchased" and kept:
            first = kept[0]
            sentence = f"{first['category']} leads: {pct(first['purchases'], purchase['events']):.1f}% " \
                       f"of all purchases and {pct(cents(first['revenue']), cents(summary['revenue'])):.1f}% of the revenue"
            check("categories insight: the leader's share of purchases and revenue",
                  sentence in page, sentence)

    # Brands and products within the top 6 categories by purchases (then views).
    top_categories = [r["category"] for r in ranked(
        [r for r in categories if r["category"] != "unknown" and r["purchases"] != 0],
        lambda r: r["purchases"], lambda r: cents(r["revenue"]), name)][:6]
    for prefix, rows, column in (("brands", category_brands, "brand"),
                                 ("products", category_products, "product")):
        for i, category in enumerate(top_categories, 1):
            part = [r for r in rows if r["category"] == category]
            want, _ = top_with_other(part, lambda r: r["purchases"], lambda r: r["views"],
                                     lambda r: r[column], lambda r: r[column], 5, False)
            chart_id = f"chart-{prefix}-{i}"
            got = bars(charts[chart_id]) if chart_id in charts else None
            check(f"{chart_id}: top 5 {column}s of {category} by purchases equal results.h5",
                  got is not None and same_values(got, want), diff(got or [], want))
        check(f"{prefix}: no chart beyond the top categories",
              f"chart-{prefix}-{len(top_categories) + 1}" not in charts)

    # Carts vs purchases: a point per category/product with a cart or a purchase, the 1,000
    # with the most carts + purchases (then views, then key order) when there are more.
    active = ranked([r for r in category_products if r["carts"] or r["purchases"]],
                    lambda r: r["carts"] + r["purchases"], lambda r: r["views"],
                    lambda r: r["category"] + "\0" + r["product"])
    want = sorted((f"{r['category']}/{shown(r['product'])}", float(r["purchases"]), str(r["carts"]))
                  for r in active[:1000])
    if want:
        got = sorted(points(charts["chart-carts"]))
        check(f"carts vs purchases: a point per category/product at (carts, purchases), "
              f"{len(want)} of {len(active)}", got == want, diff(got, want))
        more = sum(1 for r in active if r["purchases"] > r["carts"])
        sentence = f"{count(more)} of {count(len(active))} product types have more purchases " \
                   f"than carts"
        check("carts insight: product types with more purchases than carts", sentence in page,
              sentence)
        tail = points(charts["chart-carts-tail"])
        check("carts vs purchases, zoomed: a subset of the points",
              0 < len(tail) <= len(want) and set(tail) <= set(want))

    # Cart abandonment: 1 - purchases / carts for groups with enough carts and a positive rate.
    def abandonment(rows, label):
        out = []
        for r in rows:
            if r["carts"] >= args.car_min_carts and r["carts"] > 0:
                rate = (1 - r["purchases"] / r["carts"]) * 100
                if rate > 0:
                    out.append((shown(label(r)), rate))
        return sorted(out, key=lambda x: -x[1])  # stable: ties keep key order

    for chart_id, want in (
            ("chart-abandonment-categories", abandonment(categories, name)),
            ("chart-abandonment-brands", abandonment(
                [r for r in category_brands if r["category"] == args.car_category],
                lambda r: r["brand"]))):
        if not want:
            check(f"{chart_id}: absent, with a note, when no group qualifies",
                  chart_id not in charts and ("and more carts than purchases" in text_all or
                                              "There is no category named" in text_all))
            continue
        got = bars(charts[chart_id]) if chart_id in charts else []
        check(f"{chart_id}: rates of the (at most {args.top}) highest groups with at least "
              f"{args.car_min_carts} carts", same_values(got, want[:args.top], 1e-5),
              diff(got, want[:args.top]))
        sentence = f"lowest: {want[-1][0]} with {want[-1][1]:.1f}%"
        check(f"{chart_id}: the insight names the lowest of all",
              len(want) < 2 or sentence in text_all, sentence)

    # Days: purchases as bars, revenue as the line.
    if days:
        want = [(r["date"], r["purchases"]) for r in days]
        got = bars(charts["chart-days"], "purchases")
        check("days chart: purchases per day equal results.h5", same_values(got, want),
              diff(got, want))
        want = [(r["date"], round(r["revenue"], 2)) for r in days]
        got = [(label, value) for label, value, _ in points(charts["chart-days"])]
        check("days chart: revenue per day equal results.h5", same_values(got, want, 1e-9),
              diff(got, want))
        best = max(days, key=lambda r: (r["purchases"], -days.index(r)))
        sentence = f"{best['date']}, with {count(best['purchases'])} purchases"
        check("days insight: the busiest day", sentence in page, sentence)

    # Hours: views, carts and purchases stacked, users so far as the line.
    if hours:
        for series, column in (("views", "views"), ("carts", "carts"), ("purchases", "purchases")):
            want = [(f"{r['hour']:02d}", r[column]) for r in hours]
            got = bars(charts["chart-hours"], series)
            check(f"hours chart: {series} per hour equal results.h5", same_values(got, want),
                  diff(got, want))
        want = [(f"{r['hour']:02d}", r["users_cumulative"]) for r in hours]
        got = [(label, value) for label, value, _ in points(charts["chart-hours"])]
        check("hours chart: users so far equal users_cumulative", same_values(got, want),
              diff(got, want))
        peak = max(hours, key=lambda r: (r["views"] + r["carts"] + r["purchases"], -r["hour"]))
        total = peak["views"] + peak["carts"] + peak["purchases"]
        sentence = f"Traffic peaks at {peak['hour']:02d}:00-{peak['hour']:02d}:59 UTC with " \
                   f"{count(total)} events" if total else "There are no views, carts or purchases."
        check("hours insight: the peak hour", sentence in page, sentence)

    # The model: importances, confusion matrix, curves.
    if args.model:
        with h5py.File(args.model, "r") as model:
            features = table(model, "features")
            metrics = {r["set"]: r for r in table(model, "metrics")}
            roc = model["roc"][()]
        want = sorted(((r["name"], r["importance"]) for r in features),
                      key=lambda x: -x[1])
        got = bars(charts["chart-importance"])
        check("importance chart: every feature's importance from model.h5, largest first",
              same_values(sorted(got, key=lambda x: -x[1]), want, 1e-5)
              and [v for _, v in got] == sorted((v for _, v in got), reverse=True),
              diff(got, want))
        test = metrics["test"]
        cells = {c.get("data-label"): int(c.get("data-value"))
                 for c in charts["chart-confusion"].iter(SVG + "rect")}
        want = {"bought / predicted buy": test["tp"], "bought / predicted not": test["fn"],
                "not bought / predicted buy": test["fp"], "not bought / predicted not": test["tn"]}
        check("confusion matrix: tp, fn, fp, tn of the test set", cells == want,
              f"got {cells}\nwant {want}")
        line = charts["chart-roc"].find(f".//{SVG}polyline")
        check("ROC curve: one vertex per point stored in model.h5",
              line is not None and len(line.get("points").split()) == len(roc))
        check("model insight: the test ROC AUC", f"with probability {test['roc_auc']:.3f}" in page)
    else:
        check("no model section without a model", "chart-roc" not in charts and
              'id="model"' not in page)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
