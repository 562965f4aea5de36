#!/usr/bin/python3
"""Turns the measurements of bench/analyze.sh into one table per size on stdout, and saves
them as JSON and Markdown.

usage: analyze_report.py WORK_DIR RESULTS_DIR

WORK_DIR holds what analyze.sh wrote: machine.tsv (key, value), sizes.tsv (rows, bytes, file,
load averages), runs.tsv (rows, label, run, wall seconds, peak RSS kB, exit status, stdout
path, stderr path; run 0 is the warm-up), compares.tsv (rows, label, compare_tables.py's exit
status, its output), skips.tsv (rows, label, reason) and loadavg_after.tsv. Writes
RESULTS_DIR/analyze-STAMP.{json,md} and copies them to analyze-latest.{json,md}. Exit status
1 when clickmill failed or any tables differ.
"""
import json
import os
import shutil
import statistics
import sys

FLOOR_ROWS = [
    ("floor-cat", "floor: cat FILE > /dev/null", "1 process", "whole command"),
    ("floor-wc", "floor: wc -l FILE", "1 process", "whole command"),
]
ROWS = [  # label, tool, parallelism shown, what the time is
    ("clickmill-1", "clickmill analyze", "1 rank", "whole mpirun"),
    ("clickmill-2", "clickmill analyze", "2 ranks", "whole mpirun"),
    ("ingest-2", "clickmill ingest, CSV to store", "2 ranks", "whole mpirun"),
    ("store-1", "clickmill analyze, from the store", "1 rank", "whole mpirun"),
    ("store-2", "clickmill analyze, from the store", "2 ranks", "whole mpirun"),
    ("duckdb-csv-1", "DuckDB, from the CSV", "1 thread", "whole process"),
    ("duckdb-csv-2", "DuckDB, from the CSV", "2 threads", "whole process"),
    ("duckdb-table-1", "DuckDB, loaded table", "1 thread", "queries alone"),
    ("duckdb-table-2", "DuckDB, loaded table", "2 threads", "queries alone"),
    ("pandas-1", "pandas", "1 thread", "whole process"),
]
REFERENCE = "clickmill-2"


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def peer_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            lines = [l for l in f.read().splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def tail(path, lines=3):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return " ".join(f.read().strip().splitlines()[-lines:])
    except OSError:
        return ""


def fmt_s(seconds):
    return "-" if seconds is None else (f"{seconds:.3f}" if seconds < 10 else f"{seconds:.2f}")


def collect(work):
    machine = dict(read_tsv(os.path.join(work, "machine.tsv")))
    runs, compares, skips, after = {}, {}, {}, {}
    for rows, label, run, wall, rss, status, out, err in read_tsv(os.path.join(work, "runs.tsv")):
        runs.setdefault((rows, label), []).append(
            {"run": int(run), "wall": float(wall), "rss_kb": int(rss) if rss else None,
             "status": int(status), "out": out, "err": err})
    for rows, label, status, path in read_tsv(os.path.join(work, "compares.tsv")):
        with open(path, encoding="utf-8", errors="replace") as f:
            compares[(rows, label)] = (int(status), f.read())
    for rows, label, reason in read_tsv(os.path.join(work, "skips.tsv")):
        skips[(rows, label)] = reason
    for rows, load in read_tsv(os.path.join(work, "loadavg_after.tsv")):
        after[rows] = load
    stores = dict(read_tsv(os.path.join(work, "stores.tsv")))
    sizes = []
    for rows, size_bytes, path, load in read_tsv(os.path.join(work, "sizes.tsv")):
        sizes.append(measure_size(rows, int(size_bytes), path, load, after.get(rows),
                                  runs, compares, skips))
        if rows in stores:
            sizes[-1]["store_bytes"] = int(stores[rows])
            for entry in sizes[-1]["results"]:
                if entry["label"] == "ingest-2":
                    entry["store_bytes"] = int(stores[rows])
    return machine, sizes


def summarize(entries):
    """Timed runs (not the warm-up) of one command: median wall seconds, spread, peak RSS."""
    if not entries:
        return None
    failed = [e for e in entries if e["status"] != 0]
    timed = [e for e in entries if e["run"] > 0]
    result = {"seconds": [e["wall"] for e in timed],
              "peak_rss_mb": max((e["rss_kb"] for e in timed if e["rss_kb"]), default=None)}
    if result["peak_rss_mb"] is not None:
        result["peak_rss_mb"] = result["peak_rss_mb"] / 1024
    if failed:
        result["status"] = "FAILED"
        result["error"] = f"exit status {failed[0]['status']}: {tail(failed[0]['err'])}"
    elif timed:
        result["status"] = "ok"
        result["median"] = statistics.median(result["seconds"])
    return result


def measure_size(rows, size_bytes, path, load, load_after, runs, compares, skips):
    size = {"rows": int(rows), "bytes": size_bytes, "file": path, "loadavg_before": load,
            "loadavg_after": load_after, "startup": {}, "results": []}
    for label in ("startup-clickmill", "startup-duckdb", "startup-pandas"):
        summary = summarize(runs.get((rows, label)))
        if summary:
            size["startup"][label] = summary
    for label, tool, par, timed in FLOOR_ROWS + ROWS:
        entry = {"label": label, "tool": tool, "parallelism": par, "time_is": timed}
        if (rows, label) in skips:
            entry.update(status="skipped", reason=skips[(rows, label)])
            size["results"].append(entry)
            continue
        summary = summarize(runs.get((rows, label)))
        if summary is None:
            entry.update(status="not run")
            size["results"].append(entry)
            continue
        entry.update(summary)
        entries = runs[(rows, label)]
        if label.startswith("duckdb-table") and entry["status"] == "ok":
            report = peer_json(entries[-1]["out"])
            if report is None:
                entry.update(status="FAILED", error="no timings on stdout")
            else:
                entry["seconds"] = report["seconds"]
                entry["median"] = statistics.median(report["seconds"])
                entry["load_seconds"] = report["load_seconds"]
                entry["process_seconds"] = entries[-1]["wall"]
        elif label.startswith(("duckdb-csv", "pandas")) and entry["status"] == "ok":
            reports = [peer_json(e["out"]) for e in entries if e["run"] > 0]
            entry["inside"] = [r for r in reports if r]
        if label.startswith("floor") or entry["status"] != "ok":
            pass
        elif label == REFERENCE:
            entry["equal"] = "reference"
        elif (rows, label) in compares:
            status, text = compares[(rows, label)]
            entry["equal"] = "yes" if status == 0 else "DIFFERENT"
            entry["compare"] = text.strip()
        elif entry["status"] == "ok":
            entry["equal"] = "not compared"
        size["results"].append(entry)

    reference = next(r for r in size["results"] if r["label"] == REFERENCE)
    for entry in size["results"]:
        ranks = int(entry["parallelism"].split()[0])
        if entry.get("median") is None:
            continue
        if entry["label"].startswith(("clickmill", "floor", "ingest")):
            entry["mb_per_s_per_rank"] = size_bytes / 1e6 / entry["median"] / ranks
        if entry.get("equal") in ("yes", "reference", None) and reference.get("median"):
            entry["ratio"] = entry["median"] / reference["median"]
    return size


def notes(entry):
    if entry["status"] == "skipped":
        return f"skipped: {entry['reason']}"
    if entry["status"] == "FAILED":
        return f"FAILED: {entry['error']}"[:160]
    if entry["status"] != "ok":
        return entry["status"]
    if entry["label"].startswith("duckdb-table"):
        return f"load {entry['load_seconds']:.2f} s not included"
    if entry["label"] == "ingest-2" and "store_bytes" in entry:
        return f"store {entry['store_bytes'] / 1e6:.0f} MB"
    if entry["label"].startswith("pandas") and entry.get("inside"):
        read = statistics.median(r["read_seconds"] for r in entry["inside"])
        return f"read_csv {read:.2f} s of it"
    return ""


def table_rows(size):
    """The rows of one size's table, as lists of strings."""
    out = []
    for e in size["results"]:
        equal = e.get("equal", "-")
        if e["label"] == "clickmill-1" and equal == "yes":
            equal = "yes (= 2 ranks)"
        out.append([
            e["tool"], e["parallelism"], fmt_s(e.get("median")),
            f"{e['ratio']:.2f}" if "ratio" in e else "-",
            f"{e['mb_per_s_per_rank']:.0f}" if "mb_per_s_per_rank" in e else "-",
            f"{e['peak_rss_mb']:.0f}" if e.get("peak_rss_mb") else "-",
            equal, e["time_is"], notes(e)])
    return out


HEADER = ["tool", "threads/ranks", "median s", "ratio", "MB/s/rank", "peak RSS MB",
          "equal results", "time is", "notes"]


def startup_line(size):
    f = size["startup"]
    starts = []
    for label, text in (("startup-clickmill", "mpirun -np 2 clickmill --version"),
                        ("startup-duckdb", "node + load DuckDB"),
                        ("startup-pandas", "python3 + import pandas")):
        if f.get(label, {}).get("median"):
            starts.append(f"{text} {fmt_s(f[label]['median'])} s")
    return "start-up alone: " + (", ".join(starts) or "not measured")


def size_title(size):
    return (f"{size['rows']:,} rows, {size['bytes'] / 1e6:.1f} MB ({size['file']}); "
            f"load average before {size['loadavg_before']}, after {size['loadavg_after']}")


def differences(size):
    out = []
    for e in size["results"]:
        if e.get("equal") == "DIFFERENT":
            lines = e["compare"].splitlines()
            shown = lines[:30]
            if len(lines) > 30:
                shown.append(f"... ({len(lines) - 30} more lines)")
            out.append((f"{e['tool']}, {e['parallelism']} vs clickmill 2 ranks:", shown))
    return out


def machine_lines(machine, sizes):
    mem = int(machine.get("memory_kb", 0)) / 1048576
    return [
        f"machine: {machine.get('cores')} cores, {mem:.1f} GiB, {machine.get('cpu_model')}; "
        f"{machine.get('kernel')}; {machine.get('date')}",
        f"versions: {machine.get('clickmill')} (sha256 {machine.get('clickmill_sha256')}), "
        f"{machine.get('mpi')}; {machine.get('duckdb')}; {machine.get('pandas')}",
        "sizes: " + ", ".join(f"{s['rows']:,} rows ({s['bytes'] / 1e6:.1f} MB)" for s in sizes)
        + f"; median of {machine.get('repeat')} timed runs after 1 warm-up",
    ]


LEGEND = [
    "median s: wall-clock seconds of the whole command from the page cache (start-up,"
    " reading, computing, writing the tables included), except DuckDB 'loaded table':"
    " the queries and the writing of the tables alone, after CREATE TABLE (its load time in"
    " the notes).",
    "ratio: the median / clickmill's with 2 ranks (above 1: clickmill is faster); none when"
    " the tables differ. MB/s/rank: file size / median / ranks. The floor rows read the file"
    " from the page cache and do nothing else.",
    "peak RSS: the largest resident set of one process over the timed runs: the largest"
    " clickmill rank (each rank under /usr/bin/time; mpirun not counted), the node (DuckDB)"
    " or python (pandas) process.",
    "equal results: bench/compare_tables.py, every table of the peer against clickmill's"
    " 2-rank tables (exact: counts, strings, revenue to the cent, row order).",
]


def render_text(machine, sizes):
    lines = machine_lines(machine, sizes) + [""]
    for size in sizes:
        lines.append(f"== {size_title(size)}")
        lines.append(startup_line(size))
        rows = [HEADER] + table_rows(size)
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
        for r in rows:
            cells = [c.ljust(w) if i in (0, 1, 6, 7) else c.rjust(w)
                     for i, (c, w) in enumerate(zip(r, widths))]
            lines.append("  ".join(cells + [r[-1]]).rstrip())
        for title, diff in differences(size):
            lines.append(f"DIFFERENT: {title}")
            lines.extend("    " + l for l in diff)
        lines.append("")
    lines.extend(LEGEND)
    return "\n".join(lines)


def render_markdown(machine, sizes):
    lines = ["# clickmill analyze benchmark", ""]
    lines += [f"- {l}" for l in machine_lines(machine, sizes)]
    for size in sizes:
        lines += ["", f"## {size_title(size)}", "", startup_line(size), "",
                  "| " + " | ".join(HEADER) + " |",
                  "|" + "|".join("---:" if i in (2, 3, 4, 5) else "---"
                                 for i in range(len(HEADER))) + "|"]
        for r in table_rows(size):
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
        for title, diff in differences(size):
            lines += ["", f"**DIFFERENT**: {title}", "", "```"] + diff + ["```"]
    lines += [""] + [f"- {l}" for l in LEGEND]
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    work, results = sys.argv[1], sys.argv[2]
    machine, sizes = collect(work)
    print(render_text(machine, sizes))

    stamp = machine.get("date", "").replace("-", "").replace(":", "").replace(" UTC", "")
    stamp = stamp.replace(" ", "-") or "undated"
    os.makedirs(results, exist_ok=True)
    json_path = os.path.join(results, f"analyze-{stamp}.json")
    md_path = os.path.join(results, f"analyze-{stamp}.md")
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump({"machine": machine, "sizes": sizes}, f, indent=2)
        f.write("\n")
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(render_markdown(machine, sizes))
    shutil.copyfile(json_path, os.path.join(results, "analyze-latest.json"))
    shutil.copyfile(md_path, os.path.join(results, "analyze-latest.md"))
    print(f"\nsaved {json_path} and {md_path}")

    bad = []
    for size in sizes:
        for e in size["results"]:
            if e["label"].startswith("clickmill") and e["status"] not in ("ok",):
                bad.append(f"clickmill {e['parallelism']} at {size['rows']:,} rows: {e['status']}")
            if e.get("equal") == "DIFFERENT":
                bad.append(f"{e['tool']} {e['parallelism']} at {size['rows']:,} rows: "
                           "tables differ")
    if not sizes:
        bad.append("no size was measured")
    for b in bad:
        print(f"analyze: {b}", file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
