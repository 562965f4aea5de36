#!/usr/bin/python3
"""Compares two sets of the tables of docs/data-contract.md, each a directory that holds
NAME.csv for the eight tables (or a clickmill --out directory that holds tables/NAME.csv), and
prints the first differences; exit status 0 when they are equal, 1 when anything differs, 2
for a usage error.

usage: compare_tables.py [--max N] DIR_A DIR_B

The comparison is exact: the contract's header in both, the same keys (rows are matched by
their key columns; a key twice is a difference), every other field equal (strings byte for
byte, counts as integers, revenue to the cent, parsed as a decimal number so that 5.1 equals
5.10), and the rows in the same order (the sort order is part of the contract). It also says
how many files are byte-identical, which the contract's rendering (RFC 4180, 2 decimals, LF)
should make all of them when the tables are equal.
"""
import argparse
import csv
import decimal
import io
import os
import sys

from contract import TABLES  # noqa: E402  (bench/ is on sys.path: this file lives there)
# How many leading columns form each table's key (summary has one row and no key).
KEYS = {"summary": 0, "funnel": 1, "categories": 1, "category_brands": 2,
        "category_products": 2, "brands": 1, "days": 1, "hours": 1}
# Columns compared as text; every other column is a count, and revenue is money.
TEXT_COLUMNS = {"event_type", "category", "brand", "product", "date", "first_event",
                "last_event"}


def tables_dir(path):
    nested = os.path.join(path, "tables")
    return nested if os.path.isdir(nested) else path


def read_table(path):
    """The rows of a CSV table (header first), or raises OSError/csv.Error/UnicodeError."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f, strict=True))


def value(column, text):
    """A field as the value it stands for: str, int, or integer cents for revenue."""
    if column in TEXT_COLUMNS:
        return text
    try:
        if column == "revenue":
            cents = decimal.Decimal(text) * 100
            if cents != cents.to_integral_value():
                return ("not whole cents", text)
            return int(cents)
        return int(text)
    except (ValueError, decimal.InvalidOperation):
        return ("not a number", text)


def render(row):
    """A row as its CSV line (minimal quoting), for the messages."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue()


def compare_table(name, path_a, path_b, max_shown, say):
    """Prints the differences of one table and returns how many rows differ (-1: unreadable)."""
    rows = {}
    for label, path in (("A", path_a), ("B", path_b)):
        try:
            rows[label] = read_table(path)
        except (OSError, csv.Error, UnicodeError) as err:
            say(f"{name}: cannot read {path}: {err}")
            return -1
        if not rows[label]:
            say(f"{name}: {path} is empty (no header)")
            return -1
    header = TABLES[name].split(",")
    if rows["A"][0] != header or rows["B"][0] != header:
        say(f"{name}: a header is not the contract's ({TABLES[name]}):\n"
            f"    A: {render(rows['A'][0])}\n    B: {render(rows['B'][0])}")
        return -1
    keys = KEYS[name]
    parsed, bad = {}, 0
    for label in ("A", "B"):
        table = {}
        for line, row in enumerate(rows[label][1:], start=2):
            if len(row) != len(header):
                say(f"{name} {label} line {line}: {len(row)} fields, not {len(header)}: "
                    f"{render(row)}")
                bad += 1
                continue
            key = tuple(row[:keys])
            if key in table:
                say(f"{name} {label} line {line}: key {render(key)} again")
                bad += 1
            table[key] = (line, row, [value(c, x) for c, x in zip(header, row)])
        parsed[label] = table
    a, b = parsed["A"], parsed["B"]
    shown = 0

    def show(text):
        nonlocal shown
        shown += 1
        if shown <= max_shown:
            say(text)

    differing = bad
    for key in sorted(a.keys() | b.keys()):
        if key not in b:
            show(f"{name}: only in A (line {a[key][0]}): {render(a[key][1])}")
        elif key not in a:
            show(f"{name}: only in B (line {b[key][0]}): {render(b[key][1])}")
        elif a[key][2] != b[key][2]:
            cols = [c for c, x, y in zip(header, a[key][2], b[key][2]) if x != y]
            what = f"key {render(key)}" if key else "the row"
            show(f"{name}: {what} differs in {', '.join(cols)}\n"
                 f"    A (line {a[key][0]}): {render(a[key][1])}\n"
                 f"    B (line {b[key][0]}): {render(b[key][1])}")
        else:
            continue
        differing += 1
    if not differing:
        # Same rows: they must also come in the same order (the contract's sort order).
        for line, (row_a, row_b) in enumerate(zip(rows["A"][1:], rows["B"][1:]), start=2):
            if row_a[:keys] != row_b[:keys]:
                say(f"{name}: same rows in another order, from line {line}:\n"
                    f"    A: {render(row_a)}\n    B: {render(row_b)}")
                return 1
    if len(a) != len(b):
        say(f"{name}: A has {len(rows['A']) - 1} rows, B has {len(rows['B']) - 1}")
    if shown > max_shown:
        say(f"{name}: {shown} differences in all ({max_shown} shown)")
    return differing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir_a")
    parser.add_argument("dir_b")
    parser.add_argument("--max", type=int, default=5, help="differing rows shown per table")
    args = parser.parse_args()
    dir_a, dir_b = tables_dir(args.dir_a), tables_dir(args.dir_b)
    for d in (dir_a, dir_b):
        if not os.path.isdir(d):
            print(f"compare_tables.py: {d}: not a directory", file=sys.stderr)
            sys.exit(2)

    say = print
    problems, identical = [], 0
    for name in TABLES:
        path_a, path_b = (os.path.join(d, name + ".csv") for d in (dir_a, dir_b))
        missing = [p for p in (path_a, path_b) if not os.path.isfile(p)]
        if missing:
            say(f"{name}: missing {' and '.join(missing)}")
            problems.append(name)
            continue
        differing = compare_table(name, path_a, path_b, args.max, say)
        if differing:
            problems.append(name)
        with open(path_a, "rb") as a, open(path_b, "rb") as b:
            identical += a.read() == b.read()
    if problems:
        say(f"DIFFERENT: {len(problems)} of {len(TABLES)} tables differ "
            f"({', '.join(problems)}): {dir_a} vs {dir_b}")
        sys.exit(1)
    say(f"equal: all {len(TABLES)} tables, {identical} of them byte-identical: "
        f"{dir_a} vs {dir_b}")


if __name__ == "__main__":
    main()
