#!/usr/bin/env bash
# Times `clickmill analyze` with 1 and 2 ranks, `clickmill ingest` into an event store and
# analyze reading that store, against DuckDB (1 and 2 threads, straight from
# the CSV and from a loaded table) and pandas computing the same eight tables from the same
# generated CSV file, after the physical floor (cat, wc -l) of reading that file. A peer's
# time counts only when its tables equal clickmill's (bench/compare_tables.py). Prints one
# table per size and saves the results as JSON and Markdown under bench-results/.
#
# usage: bench/analyze.sh [ROWS...]   (default 1000000 10000000; BENCH_FULL=1 adds 42448764,
#                                      the size of the real October 2019)
# Environment:
#   DATA            directory of the generated files (default bench-data), reused if present
#   RESULTS         where the JSON and Markdown go (default bench-results)
#   REPEAT          timed runs of each tool after one warm-up run (default 3); the median counts
#   BENCH_FULL=1    add the full October size, 42,448,764 rows (5.7 GB)
#   PANDAS_MAX_ROWS pandas is skipped above this many rows (default 10000000) ...
#   BENCH_PANDAS=1  ... unless this is set
#   RUN_TIMEOUT     seconds allowed per run (default 3600)
#   KEEP_TMP=1      keep the scratch directory (every output, log and tables directory)
#   MPIRUN          launcher, the rank count appended (default
#                   "mpirun --allow-run-as-root --oversubscribe -np")
#
# Every time is the wall-clock time of the whole command, start-up included, with the file in
# the page cache, except DuckDB's "loaded table" rows: the queries alone, timed inside the
# process after CREATE TABLE (whose time is reported as "load"). bin/clickmill is copied at
# the start, so a rebuild during the run does not mix two builds. Peak RSS is the largest
# resident set of one process: the largest rank for clickmill (each rank runs under
# /usr/bin/time through bench/rss_wrap.sh; mpirun itself is not counted), the node or python
# process for the peers; the maximum over the timed runs.
# Exit status: 1 when clickmill failed or a peer's tables differ from clickmill's, else 0.
set -u
cd "$(dirname "$0")/.." || exit 2
DATA=${DATA:-bench-data}
RESULTS=${RESULTS:-bench-results}
REPEAT=${REPEAT:-3}
PANDAS_MAX_ROWS=${PANDAS_MAX_ROWS:-10000000}
BENCH_PANDAS=${BENCH_PANDAS:-0}
RUN_TIMEOUT=${RUN_TIMEOUT:-3600}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe -np}
PYTHON=/usr/bin/python3
FULL_ROWS=42448764

if [ $# -gt 0 ]; then
    SIZES="$*"
else
    SIZES="1000000 10000000"
    if [ "${BENCH_FULL:-0}" = 1 ]; then SIZES="$SIZES $FULL_ROWS"; fi
fi
case "$REPEAT" in
    '' | *[!0-9]* | 0) echo "analyze.sh: REPEAT must be a positive integer" >&2; exit 2 ;;
esac
if [ ! -x bin/clickmill ]; then
    echo "analyze.sh: bin/clickmill is missing: run make first" >&2
    exit 2
fi
if [ ! -x /usr/bin/time ] && [ "$(id -u)" = 0 ]; then
    echo "analyze.sh: installing Debian's time (/usr/bin/time measures the peak RSS)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends time >/dev/null
fi
if [ ! -x /usr/bin/time ]; then
    echo "analyze.sh: /usr/bin/time is missing: install the Debian package time" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/clickmill-bench-analyze.XXXXXX")
if [ "${KEEP_TMP:-0}" != 0 ]; then
    trap 'echo "analyze.sh: kept $work" >&2' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi
note() { echo "analyze.sh: $*" >&2; }

# The binary under test, copied so that every run times the same build.
cp bin/clickmill "$work/clickmill"
CLICKMILL=$work/clickmill

# DuckDB: node and npm from Debian when missing (as root), @duckdb/node-api into
# bench/node_modules at the version bench/package.json pins.
duckdb_setup() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        if [ "$(id -u)" != 0 ]; then
            DUCKDB_SKIP="node/npm are not installed (as root: apt-get install nodejs npm)"
            return
        fi
        note "installing Debian's nodejs and npm"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
               apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }; then
            DUCKDB_SKIP="apt-get install nodejs npm failed"
            return
        fi
    fi
    if [ ! -f bench/node_modules/@duckdb/node-api/package.json ]; then
        note "installing @duckdb/node-api into bench/node_modules"
        if ! npm install --prefix bench --no-package-lock --no-audit --no-fund \
                --loglevel=error >&2; then
            DUCKDB_SKIP="npm install --prefix bench @duckdb/node-api failed"
            return
        fi
    fi
    if ! DUCKDB_VERSION=$(node bench/peers/duckdb_tables.mjs --version 2>&1); then
        DUCKDB_SKIP="DuckDB does not load: $DUCKDB_VERSION"
    fi
}
DUCKDB_SKIP=
DUCKDB_VERSION=
duckdb_setup
if [ -n "$DUCKDB_SKIP" ]; then note "DuckDB skipped: $DUCKDB_SKIP"; fi
PANDAS_VERSION=$($PYTHON bench/peers/pandas_tables.py --version 2>&1) || {
    PANDAS_SKIP="pandas does not load: $PANDAS_VERSION"
    note "$PANDAS_SKIP"
}
PANDAS_SKIP=${PANDAS_SKIP:-}

{
    printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    printf 'cores\t%s\n' "$(nproc)"
    printf 'memory_kb\t%s\n' "$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
    printf 'cpu_model\t%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    printf 'kernel\t%s\n' "$(uname -sr)"
    printf 'clickmill\t%s\n' "$("$CLICKMILL" --version 2>&1 | head -n 1)"
    printf 'clickmill_sha256\t%s\n' "$(sha256sum "$CLICKMILL" | cut -c 1-12)"
    printf 'mpi\t%s\n' "$(mpirun --version 2>&1 | head -n 1)"
    printf 'duckdb\t%s\n' "${DUCKDB_VERSION:-not run: $DUCKDB_SKIP}"
    printf 'pandas\t%s\n' "${PANDAS_VERSION:-not run}"
    printf 'repeat\t%s\n' "$REPEAT"
    printf 'launcher\t%s\n' "$MPIRUN"
} > "$work/machine.tsv"

# measure ROWS LABEL RUN KIND PAR COMMAND...: runs COMMAND once and appends a line to
# runs.tsv: rows, label, run (0 is the warm-up), wall seconds, peak RSS in kB, exit status,
# and the paths of its stdout and stderr. KIND mpi starts COMMAND on PAR ranks, each under
# /usr/bin/time; KIND proc runs it as one process under /usr/bin/time.
measure() {
    local rows=$1 label=$2 run=$3 kind=$4 par=$5 base start end status=0 rss
    shift 5
    base=$work/$rows/$label.$run
    rm -f "$base".rss.*
    start=$(date +%s%N)
    if [ "$kind" = mpi ]; then
        # shellcheck disable=SC2086 # MPIRUN is a command with its options
        timeout -k 10 "$RUN_TIMEOUT" $MPIRUN "$par" bench/rss_wrap.sh "$base.rss" "$@" \
            >"$base.out" 2>"$base.err" || status=$?
    else
        timeout -k 10 "$RUN_TIMEOUT" /usr/bin/time -f %M -o "$base.rss.0" "$@" \
            >"$base.out" 2>"$base.err" || status=$?
    fi
    end=$(date +%s%N)
    # /usr/bin/time writes "Command exited with non-zero status N" before the figure.
    rss=$(for f in "$base".rss.*; do [ -f "$f" ] && tail -n 1 "$f"; done | sort -n | tail -n 1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rows" "$label" "$run" \
        "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f", (e - s) / 1e9 }')" \
        "${rss:-}" "$status" "$base.out" "$base.err" >> "$work/runs.tsv"
    if [ "$status" != 0 ]; then
        note "$label ($rows rows) failed with exit status $status:" \
            "$(tail -n 3 "$base.err" | tr '\n' ' ')"
    fi
    return "$status"
}

# repeat_runs ROWS LABEL KIND PAR COMMAND...: a warm-up run, then REPEAT timed runs; stops
# at the first failure.
repeat_runs() {
    local rows=$1 label=$2 kind=$3 par=$4 run
    shift 4
    for run in $(seq 0 "$REPEAT"); do
        measure "$rows" "$label" "$run" "$kind" "$par" "$@" || return 1
    done
}

# skip ROWS LABEL REASON
skip() {
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$work/skips.tsv"
    note "$2 ($1 rows) skipped: $3"
}

# compare ROWS LABEL REFERENCE_DIR DIR: compare_tables.py's verdict into compares.tsv.
compare() {
    local rows=$1 label=$2 status=0
    $PYTHON bench/compare_tables.py "$3" "$4" > "$work/$rows/$label.compare" 2>&1 || status=$?
    printf '%s\t%s\t%s\t%s\n' "$rows" "$label" "$status" "$work/$rows/$label.compare" \
        >> "$work/compares.tsv"
    if [ "$status" != 0 ]; then note "$label ($rows rows): tables differ from clickmill's"; fi
}

bench_size() {
    local rows=$1 input bytes available out ranks threads
    input=$DATA/events-$rows.csv
    mkdir -p "$DATA" "$work/$rows"
    out=$work/$rows/out
    if [ ! -s "$input" ]; then
        note "generating $rows rows into $input"
        $MPIRUN 2 "$CLICKMILL" generate --rows "$rows" -o "$input" >&2 || return 1
    fi
    bytes=$(stat -c %s "$input")
    available=$(awk '/MemAvailable/ {print $2}' /proc/meminfo) # kB
    if [ "$((bytes / 1024))" -gt "$((available / 2))" ]; then
        note "warning: $input ($bytes bytes) may not stay in the page cache" \
            "($available kB available)"
    fi
    cat "$input" > /dev/null # into the page cache: every run reads from memory
    printf '%s\t%s\t%s\t%s\n' "$rows" "$bytes" "$input" "$(cut -d ' ' -f 1-3 /proc/loadavg)" \
        >> "$work/sizes.tsv"

    note "$rows rows: the floor and the start-up times"
    # shellcheck disable=SC2016 # $1 is the inner shell's
    repeat_runs "$rows" floor-cat proc 1 sh -c 'cat "$1" > /dev/null' sh "$input"
    repeat_runs "$rows" floor-wc proc 1 wc -l "$input"
    repeat_runs "$rows" startup-clickmill mpi 2 "$CLICKMILL" --version
    [ -z "$DUCKDB_SKIP" ] && repeat_runs "$rows" startup-duckdb proc 1 \
        node bench/peers/duckdb_tables.mjs --version
    [ -z "$PANDAS_SKIP" ] && repeat_runs "$rows" startup-pandas proc 1 \
        $PYTHON bench/peers/pandas_tables.py --version

    for ranks in 1 2; do
        note "$rows rows: clickmill analyze, $ranks rank(s)"
        repeat_runs "$rows" "clickmill-$ranks" mpi "$ranks" \
            "$CLICKMILL" analyze -q --out "$out/clickmill-$ranks" "$input"
    done
    # The reference is the 2-rank output; the 1-rank output must be the same.
    local reference=$out/clickmill-2
    [ -f "$reference/tables/summary.csv" ] || reference=
    if [ -n "$reference" ] && [ -f "$out/clickmill-1/tables/summary.csv" ]; then
        compare "$rows" clickmill-1 "$reference" "$out/clickmill-1"
    fi

    # The event store: ingest (each run writes it anew), then analyze reading the store.
    local store=$work/$rows/events.h5
    note "$rows rows: clickmill ingest, 2 ranks"
    if repeat_runs "$rows" ingest-2 mpi 2 "$CLICKMILL" ingest -q -o "$store" "$input"; then
        printf '%s\t%s\n' "$rows" "$(stat -c %s "$store")" >> "$work/stores.tsv"
        for ranks in 1 2; do
            note "$rows rows: clickmill analyze from the store, $ranks rank(s)"
            repeat_runs "$rows" "store-$ranks" mpi "$ranks" \
                "$CLICKMILL" analyze -q --out "$out/store-$ranks" "$store" &&
                [ -n "$reference" ] &&
                compare "$rows" "store-$ranks" "$reference" "$out/store-$ranks"
        done
    fi
    rm -f "$store"

    for threads in 1 2; do
        if [ -n "$DUCKDB_SKIP" ]; then
            skip "$rows" "duckdb-csv-$threads" "$DUCKDB_SKIP"
            skip "$rows" "duckdb-table-$threads" "$DUCKDB_SKIP"
            continue
        fi
        note "$rows rows: DuckDB from the CSV, $threads thread(s)"
        repeat_runs "$rows" "duckdb-csv-$threads" proc 1 node bench/peers/duckdb_tables.mjs \
            --threads "$threads" --mode csv --out "$out/duckdb-csv-$threads" "$input" &&
            [ -n "$reference" ] &&
            compare "$rows" "duckdb-csv-$threads" "$reference" "$out/duckdb-csv-$threads"
        # One process: the load, a warm-up query, then REPEAT timed queries.
        note "$rows rows: DuckDB from a loaded table, $threads thread(s)"
        measure "$rows" "duckdb-table-$threads" 1 proc 1 node bench/peers/duckdb_tables.mjs \
            --threads "$threads" --mode table --repeat "$REPEAT" \
            --out "$out/duckdb-table-$threads" "$input" &&
            [ -n "$reference" ] &&
            compare "$rows" "duckdb-table-$threads" "$reference" "$out/duckdb-table-$threads"
    done

    if [ -n "$PANDAS_SKIP" ]; then
        skip "$rows" pandas-1 "$PANDAS_SKIP"
    elif [ "$rows" -gt "$PANDAS_MAX_ROWS" ] && [ "$BENCH_PANDAS" != 1 ]; then
        skip "$rows" pandas-1 "above PANDAS_MAX_ROWS=$PANDAS_MAX_ROWS rows (BENCH_PANDAS=1 runs it)"
    else
        note "$rows rows: pandas"
        repeat_runs "$rows" pandas-1 proc 1 $PYTHON bench/peers/pandas_tables.py \
            --out "$out/pandas-1" "$input" &&
            [ -n "$reference" ] && compare "$rows" pandas-1 "$reference" "$out/pandas-1"
    fi
    printf '%s\t%s\n' "$rows" "$(cut -d ' ' -f 1-3 /proc/loadavg)" >> "$work/loadavg_after.tsv"
    return 0
}

touch "$work/runs.tsv" "$work/skips.tsv" "$work/compares.tsv" "$work/sizes.tsv" \
    "$work/loadavg_after.tsv" "$work/stores.tsv"
for rows in $SIZES; do
    bench_size "$rows" || note "$rows rows: could not generate the data"
done
if ! cmp -s bin/clickmill "$CLICKMILL"; then
    note "bin/clickmill was rebuilt during the benchmark; the figures are for the build" \
        "copied at the start (sha256 $(sha256sum "$CLICKMILL" | cut -c 1-12))"
fi
mkdir -p "$RESULTS"
$PYTHON bench/analyze_report.py "$work" "$RESULTS"
