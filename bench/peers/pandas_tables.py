#!/usr/bin/python3
"""Computes the eight tables of docs/data-contract.md with pandas, from the same CSV file(s)
that `clickmill analyze` reads, writes them as OUT/tables/NAME.csv in exactly clickmill's
format (for bench/compare_tables.py) and prints its timings as JSON.

usage: pandas_tables.py --out DIR FILE...
       pandas_tables.py --version   (imports pandas, prints the versions)

The definitions are those of test/sql/tables.sql, which the integration test checks clickmill
against. Every input row is taken as accepted (rows_rejected is 0): a malformed row makes
read_csv fail or gives other numbers. pandas runs on one core. Columns are mapped by the
names in each file's header.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from contract import TABLES  # noqa: E402
# The columns read and their types; empty fields stay empty strings (keep_default_na=False).
# Low-cardinality strings are categoricals, the session a categorical too (its integer codes
# make the distinct counts cheap); category_id is not needed.
DTYPES = {"event_time": str, "event_type": "category", "product_id": np.int64,
          "category_code": "category", "brand": "category", "price": np.float64,
          "user_id": np.int64, "user_session": "category"}
SUMS = ["views", "carts", "purchases", "cents"]


def read(files):
    frames = [pd.read_csv(f, usecols=list(DTYPES), dtype=DTYPES, keep_default_na=False,
                          na_values=[], engine="c") for f in files]
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)  # categoricals become object: slower, correct


def derive(data):
    """The derived fields of the contract, as new columns of `data`."""
    # 'YYYY-MM-DD HH:MM:SS UTC': the first 19 characters take pandas' fast ISO path (the
    # whole string with format "... UTC" is nine times slower).
    time_utc = pd.to_datetime(data.event_time.str.slice(0, 19), format="%Y-%m-%d %H:%M:%S")
    data["time"] = time_utc
    data["date"] = time_utc.dt.floor("D")  # written YYYY-MM-DD after grouping
    data["hour"] = time_utc.dt.hour.astype(np.int64)
    data["views"] = (data.event_type == "view").astype(np.int64)
    data["carts"] = (data.event_type == "cart").astype(np.int64)
    data["purchases"] = (data.event_type == "purchase").astype(np.int64)
    data["cents"] = np.where(data.purchases == 1, np.round(data.price * 100), 0).astype(np.int64)
    # Sessions count non-empty values only: the empty session becomes missing (NaN), which
    # nunique() leaves out.
    session = data.user_session
    if isinstance(session.dtype, pd.CategoricalDtype):
        if "" in session.cat.categories:
            session = session.cat.remove_categories([""])
    else:
        session = session.replace("", np.nan)
    data["session"] = session


def category_of(code, brand):
    """The contract's category and product of one (category_code, brand) pair."""
    if code:
        return code.split(".")[0], code.split(".")[-1]
    return (brand, brand) if brand else ("unknown", "unknown")


def compute(data):
    """The eight tables as lists of rows (lists of str and int; revenue in cents)."""
    tables = {}
    if len(data):
        first = data.time.min().strftime("%Y-%m-%d %H:%M:%S UTC")
        last = data.time.max().strftime("%Y-%m-%d %H:%M:%S UTC")
    else:
        first = last = ""
    tables["summary"] = [[len(data), 0, data.user_id.nunique(), data.session.nunique(),
                          data.product_id.nunique(), int(data.cents.sum()), first, last]]

    funnel = data.groupby("event_type", observed=True).agg(
        events=("user_id", "size"), users=("user_id", "nunique"),
        sessions=("session", "nunique"))
    tables["funnel"] = [[str(k), *r] for k, r in zip(funnel.index, funnel.to_numpy().tolist())]

    # Every sum table groups by fields that depend only on (category_code, brand): add up per
    # pair first (a few thousand rows), then derive the keys on those.
    pairs = data.groupby(["category_code", "brand"], observed=True)[SUMS].sum().reset_index()
    pairs["category_code"] = pairs.category_code.astype(str)
    pairs["brand"] = pairs.brand.astype(str)
    derived = [category_of(c, b) for c, b in zip(pairs.category_code, pairs.brand)]
    pairs["category"] = [d[0] for d in derived]
    pairs["product"] = [d[1] for d in derived]
    for name, keys in (("categories", ["category"]), ("category_brands", ["category", "brand"]),
                       ("category_products", ["category", "product"]), ("brands", ["brand"])):
        table = pairs.groupby(keys)[SUMS].sum().reset_index()
        tables[name] = table[keys + SUMS].to_numpy().tolist()

    days = data.groupby("date", observed=True).agg(
        views=("views", "sum"), carts=("carts", "sum"), purchases=("purchases", "sum"),
        cents=("cents", "sum"), users=("user_id", "nunique"), sessions=("session", "nunique"))
    dates = days.index.strftime("%Y-%m-%d")
    tables["days"] = [[d, *r] for d, r in zip(dates, days.to_numpy().tolist())]

    hours = data.groupby("hour").agg(
        views=("views", "sum"), carts=("carts", "sum"), purchases=("purchases", "sum"),
        cents=("cents", "sum"), users=("user_id", "nunique")).reindex(range(24), fill_value=0)
    # users_cumulative(h): users whose earliest hour of day, over all their events, is <= h.
    first_hour = data.groupby("user_id").hour.min().value_counts()
    hours["users_cumulative"] = first_hour.reindex(range(24), fill_value=0).cumsum()
    tables["hours"] = [[h, *r] for h, r in zip(hours.index, hours.to_numpy().tolist())]

    # Byte order of UTF-8 is code point order, which is how Python compares str.
    for name in ("funnel", "categories", "category_brands", "category_products", "brands",
                 "days"):
        keys = 2 if name.startswith("category_") else 1
        tables[name].sort(key=lambda row: tuple(row[:keys]))
    return tables


def field(value, column):
    if column == "revenue":
        cents = int(value)
        return f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"
    text = str(int(value)) if isinstance(value, (int, float, np.integer)) else str(value)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write(out, tables):
    directory = os.path.join(out, "tables")
    os.makedirs(directory, exist_ok=True)
    for name, header in TABLES.items():
        columns = header.split(",")
        path = os.path.join(directory, name + ".csv")
        with open(path + ".tmp", "w", encoding="utf-8", newline="") as f:
            f.write(header + "\n")
            for row in tables[name]:
                f.write(",".join(field(v, c) for v, c in zip(row, columns)) + "\n")
        os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out")
    parser.add_argument("--version", action="store_true")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    if args.version:
        print(f"pandas {pd.__version__} (numpy {np.__version__}, Python {sys.version.split()[0]})")
        return
    if not args.out or not args.files:
        parser.error("--out DIR and at least one FILE are needed")
    started = time.perf_counter()
    try:
        data = read(args.files)
    except (OSError, ValueError) as err:
        sys.exit(f"pandas_tables.py: {err}")
    read_done = time.perf_counter()
    derive(data)
    tables = compute(data)
    compute_done = time.perf_counter()
    write(args.out, tables)
    done = time.perf_counter()
    print(json.dumps({"tool": "pandas", "version": pd.__version__, "numpy": np.__version__,
                      "files": args.files, "rows": len(data),
                      "read_seconds": read_done - started,
                      "compute_seconds": compute_done - read_done,
                      "write_seconds": done - compute_done, "seconds": done - started}))


if __name__ == "__main__":
    main()
