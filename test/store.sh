#!/usr/bin/env bash
# Integration test of the event store: `clickmill ingest` and every command reading a store in
# place of the CSV files it was made from, under several MPI rank counts.
#
# What it checks (see test/README.md, "Event stores: test/store.sh"):
#  1. Ingest of the fixtures (test/data/fixture_*.csv, the parts together, the files of
#     test/data/bad with rejected rows, the training fixture, a header-only file) and of the real
#     October + November head extracts, under every rank count: `analyze` of the store writes
#     tables (every file of OUT/tables) byte-identical to `analyze` of the CSV files on the same
#     rank count; the store made on the first rank count gives the same tables read on every
#     other; the stores' columns, dictionaries and row attributes (h5dump) are identical
#     whatever the rank count that made them. A store is told from a CSV file by its content, not
#     its name; stores and CSV files mix; a store ingested again gives the same store.
#  2. journey (--session, with UUID, short, long and upper-case session texts, and --user; text,
#     csv and json) from a store prints what it prints from the CSV files.
#  3. train with a fixed seed on a store and on its CSV files: the same exported samples and
#     features and the same forest; predict from a store equals predict from the CSV files.
#  4. --append: analyze after an append equals analyze of both CSV files; the dictionaries keep
#     the ids they had; rejected counts add up; --append to a missing store makes it; an append
#     bringing an event type the store lacks fails with a clear message and leaves the store
#     complete, readable and unchanged; appending to a file that is not a store fails and leaves
#     it unchanged.
#  5. Robustness: an incomplete store ("state" not "complete"), a truncated store and HDF5 files
#     that are not stores (results.h5, a model) are refused by every reading command (exit 1,
#     clear message, no crash, abort or HDF5 error stack); usage errors of ingest exit 2; an
#     ingest into an unwritable directory, onto a full disk (a small tmpfs, where it can be
#     mounted), or stopped by --max-rejects fails and leaves neither a store nor a temporary file.
#  6. Rejected rows: the store's summary rows_rejected, its attributes and the console's rejected
#     counts equal those from the CSV files.
#  7. A --compress store (deflate) gives the same tables and the same columns.
#  8. Where Python's h5py is installed: the store read by h5py, every row and field against the
#     CSV files parsed by Python's csv module, and event counts per type against SQLite's.
#
# Usage: test/store.sh            (from anywhere; it cds to the repository root)
# Environment:
#   CLICKMILL    the binary                        (default: bin/clickmill)
#   MPIRUN       launcher; the rank count is appended to it
#                (default: "mpirun --allow-run-as-root --oversubscribe -np";
#                 e.g. MPIRUN="srun -n" also works)
#   RANKS        rank counts to run                 (default: "1 2 3 7")
#   SHARED       directory with the real REES46 extracts
#                (default: ../shared/data/rees46); missing data => skip
#   RUN_TIMEOUT  seconds allowed per clickmill run  (default: 120)
#   JOBS         clickmill runs at a time           (default: 6; twice as many failing runs)
#   PYTHON       a Python with h5py                 (default: the first of python3,
#                /usr/bin/python3 that imports h5py; "none", or none found: section 8 is
#                skipped and the incomplete store of section 5 is patched in place)
#   KEEP_TMP     if set (and not 0), keep the scratch directory (stores, outputs, logs)
#
# Output: one line per check, "ok - ..." or "not ok - ..." (diagnostics after a failure are
# indented with "#"), "skip - ..." for unavailable data or tools, and at the end exactly one
# line "N passed, N failed". Exit status 1 if any failed.

# The input lists (IN), MPIRUN and CLICKMILL are split into words on purpose.
# shellcheck disable=SC2086

set -u

cd "$(dirname "$0")/.." || exit 2
# shellcheck source-path=SCRIPTDIR/..
. test/lib.sh

CLICKMILL=${CLICKMILL:-bin/clickmill}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe -np}
RANKS=${RANKS:-1 2 3 7}
SHARED=${SHARED:-../shared/data/rees46}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
JOBS=${JOBS:-6}

DATA=test/data
OCT=$SHARED/oct2019-head/2019-Oct-head.csv
NOV=$SHARED/nov2019-head/2019-Nov-head.csv
FIRST_NP=${RANKS%% *}
LAST_NP=${RANKS##* }

# The store's layout (include/clickmill/store.h).
COLUMNS="event_time event_type product_id category_id category_code brand category product \
price_cents user_id user_session user_session_text"
DICTIONARIES="event_type category_code brand category product user_session"
# The root attributes that must not depend on the rank count (not: created, updated, version).
ATTRIBUTES="format format_version state rows rows_rejected reject_reasons rows_rejected_by_reason"
SOURCES=/sources # the dataset of the files a store was made from

# The training fixture's forest (as test/train.sh): none of its parameters is a default.
FIX_OPTS="--trees 30 --max-depth 10 --bins 64 --max-features 5 --min-leaf 1 --seed 7"

scratch_dir clickmill-store
RUNS=$TMP/runs
S=$TMP/stores
mkdir -p "$RUNS" "$S"

# ------------------------------------------------------------------ helpers

# run NAME NP ARG...: clickmill on NP ranks under timeout: $RUNS/NAME.out, .err, .rc; sets st.
run() {
    local name=$1 np=$2
    shift 2
    with_timeout $MPIRUN "$np" $CLICKMILL "$@" \
        > "$RUNS/$name.out" 2> "$RUNS/$name.err" < /dev/null
    st=$?
    echo "$st" > "$RUNS/$name.rc"
}

# launch NAME NP ARG...: run in the background, at most POOL (default JOBS) at a time.
launch() {
    while [ "$(jobs -rp | wc -l)" -ge "${POOL:-$JOBS}" ]; do
        wait -n 2> /dev/null || sleep 0.1
    done
    run "$@" &
}

# section TITLE: a comment line with the time so far.
section() { echo "# $1 (${SECONDS}s)"; }

# rc NAME: the exit status of run NAME ("missing" when it did not run).
rc() { cat "$RUNS/$1.rc" 2> /dev/null || echo missing; }

# why NAME: what went wrong with run NAME, as diagnostics.
why() {
    local st
    st=$(rc "$1")
    [ "$st" = 124 ] && st="124 (timed out after ${RUN_TIMEOUT}s)"
    echo "run $1: exit status $st"
    tail -n 6 "$RUNS/$1.err" 2> /dev/null
}

# ran_ok LABEL NAME: ok when run NAME exited 0; returns its status.
ran_ok() {
    if [ "$(rc "$2")" = 0 ]; then
        ok "$1: exits 0"
        return 0
    fi
    notok "$1: exits 0"
    why "$2" | diag 8
    return 1
}

# same_tables LABEL GOT WANT GOT_RUN WANT_RUN: both runs exited 0 and the directories' tables
# (every file of tables/) are byte-identical.
same_tables() {
    local label=$1 got=$2 want=$3 r
    for r in "$4" "$5"; do
        if [ "$(rc "$r")" != 0 ]; then
            notok "$label"
            why "$r" | diag 8
            return 1
        fi
    done
    if [ ! -s "$want/tables/summary.csv" ]; then
        notok "$label"
        echo "no $want/tables/summary.csv" | diag
        return 1
    fi
    if diff -r "$want/tables" "$got/tables" > "$got.tables.diff" 2>&1; then
        ok "$label"
    else
        notok "$label"
        diag 10 < "$got.tables.diff"
        return 1
    fi
}

# dump STORE: writes STORE.dump, the columns, dictionaries and rank-independent attributes of
# a store as h5dump prints them, without the file name (once per store and ATTRIBUTES). Fails,
# printing h5dump's messages, when h5dump does.
dump() {
    local args=() x out
    out=$1.dump${ATTRIBUTES_TAG:-}
    [ -s "$out" ] && return 0
    for x in $COLUMNS; do args+=(-d "/events/$x"); done
    for x in $DICTIONARIES; do args+=(-d "/dictionaries/$x"); done
    for x in $ATTRIBUTES; do args+=(-a "/$x"); done
    [ -n "$SOURCES" ] && args+=(-d "$SOURCES")
    if ! h5dump "${args[@]}" "$1" > "$out.all" 2>&1; then
        head -n 4 "$out.all"
        return 1
    fi
    tail -n +2 "$out.all" > "$out" && rm -f "$out.all"
}

# same_store LABEL GOT WANT: the two stores' dumps are identical.
same_store() {
    local label=$1 a b n
    if [ ! -f "$2" ] || [ ! -f "$3" ]; then
        notok "$label"
        echo "missing store: $([ -f "$2" ] || echo "$2") $([ -f "$3" ] || echo "$3")" | diag
        return 1
    fi
    if ! a=$(dump "$2" 2>&1) || ! b=$(dump "$3" 2>&1); then
        notok "$label"
        echo "h5dump failed: $a $b" | diag 6
        return 1
    fi
    a=$2.dump${ATTRIBUTES_TAG:-}
    b=$3.dump${ATTRIBUTES_TAG:-}
    n=$(grep -c '^DATASET "/events/' "$a")
    if [ "$n" -ne 12 ]; then
        notok "$label"
        echo "h5dump shows $n of the 12 columns" | diag
        return 1
    fi
    if cmp -s "$a" "$b"; then
        ok "$label"
    else
        notok "$label"
        diff "$b" "$a" | diag 10
        return 1
    fi
}

# attr STORE NAME: the value(s) of a root attribute, one per line, as h5dump prints them.
attr() {
    h5dump -a "/$2" "$1" 2> /dev/null | sed -n '/DATA {/,/^   }/p' | sed '1d;$d' |
        sed -E 's/^ *\([0-9]+\): //; s/,$//' | tr ',' '\n' | sed 's/^ *//'
}

# entries STORE DICTIONARY: a dictionary's entries (or, for a path from /, that dataset's),
# one per line.
entries() {
    local set=/dictionaries/$2
    case $2 in /*) set=$2 ;; esac
    h5dump -y -w 1 -d "$set" "$1" 2> /dev/null | sed -n '/DATA {/,/^   }/p' |
        sed '1d;$d' | sed 's/^ *//; s/,$//' | grep -v '^$'
}

# no_temporaries LABEL DIR: no NAME.tmp.PID file left in DIR (or below).
no_temporaries() {
    local left
    left=$(find "$2" -name '*.tmp.*' 2> /dev/null)
    check_empty "$1" "$left"
}

# expect LABEL NAME WANT TEXT...: run NAME exited WANT without a crash, abort or HDF5 error
# stack, and its stderr holds each TEXT (case-insensitive).
expect() {
    local label=$1 name=$2 want=$3
    shift 3
    expect_outcome "$label" "$(rc "$name")" "$RUNS/$name.err" "$want" "$@"
}

# rejected_line NAME: the "N rows (R rejected)" part of a run's console line.
rejected_line() { grep -oE '[0-9,]+ rows \([0-9,]+ rejected\)' "$RUNS/$1.out" | head -n 1; }

# ------------------------------------------------------------------ preconditions

for tool in h5dump sqlite3 timeout; do
    if [ -z "$(command -v $tool)" ]; then
        notok "$tool is installed"
        finish
    fi
done
if [ -z "$(command -v "${CLICKMILL%% *}")" ]; then
    notok "clickmill binary $CLICKMILL exists (build it first: make)"
    finish
fi

HAVE_REAL=1
if [ ! -r "$OCT" ] || [ ! -r "$NOV" ]; then
    HAVE_REAL=0
    skip "real extracts: $OCT or $NOV not found (the real-data checks are skipped)"
fi

PYTHON=${PYTHON:-}
if [ "$PYTHON" = none ]; then
    PYTHON=
elif [ -z "$PYTHON" ]; then
    for py in python3 /usr/bin/python3; do
        if command -v "$py" > /dev/null 2>&1 && "$py" -c 'import h5py' > /dev/null 2>&1; then
            PYTHON=$py
            break
        fi
    done
fi

# ------------------------------------------------------------------ 1, 6, 7: ingest and analyze

section "1, 6, 7: ingest and analyze"

declare -A IN=(
    [edge]="$DATA/fixture_edge.csv"
    [crlf]="$DATA/fixture_crlf_nonl.csv"
    [parts]="$DATA/fixture_part1.csv $DATA/fixture_part2.csv"
    [window]="$DATA/fixture_window.csv"
    [bad]="$DATA/bad/clean.csv $DATA/bad/one_bad.csv $DATA/bad/quoted_newline.csv \
$DATA/bad/rows_bad.csv $DATA/bad/three_bad.csv"
    [train]="$DATA/train_fixture.csv $DATA/train_fixture2.csv"
    [empty]="$DATA/bad/header_only.csv"
    [real]="$OCT $NOV"
)
CASES="edge crlf parts window bad train empty"
[ "$HAVE_REAL" = 1 ] && CASES="$CASES real"
# Cases whose rejected rows are checked (6); inputs without rejected rows (8).
REJECT_CASES="bad train"
CLEAN_CASES="edge crlf parts window"
[ "$HAVE_REAL" = 1 ] && CLEAN_CASES="$CLEAN_CASES real"
# The case the compressed stores are made of (7).
ZCASE=parts
[ "$HAVE_REAL" = 1 ] && ZCASE=real

for c in $CASES; do
    for f in ${IN[$c]}; do
        [ -r "$f" ] || { notok "input $f of case $c exists"; finish; }
    done
done

# Every ingest, and analyze of the CSV files, on every rank count.
for c in $CASES; do
    for n in $RANKS; do
        launch "ingest-$c-np$n" "$n" ingest -q -o "$S/$c.np$n.h5" ${IN[$c]}
        launch "analyze-csv-$c-np$n" "$n" analyze -q --out "$S/$c.csv.np$n" ${IN[$c]}
    done
done
launch ingest-part1 2 ingest -q -o "$S/part1.h5" "$DATA/fixture_part1.csv"
# Two files whose events share their seconds and one session: in time order, ties are broken by
# the order of the inputs, then of the rows (journey, train). The first one becomes a store.
TIE_SESSION=aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa
for kind in view cart; do
    head -n 1 "$DATA/fixture_part1.csv"
    for i in $(seq 10 29); do
        product=$i
        [ "$kind" = cart ] && product=1$i
        echo "2019-10-01 10:00:$i UTC,$kind,$product,1,a.b,x,1.00,7,$TIE_SESSION"
    done
done > "$S/ties.all"
head -n 21 "$S/ties.all" > "$S/ties1.csv"
tail -n 21 "$S/ties.all" > "$S/ties2.csv"
launch ingest-ties1 1 ingest -q -o "$S/ties1.h5" "$S/ties1.csv"
launch ingest-z1 2 ingest -q --compress 1 -o "$S/z1.h5" ${IN[$ZCASE]}
launch ingest-z9 3 ingest -q --compress 9 -o "$S/z9.h5" ${IN[train]}
launch analyze-csv-z1 2 analyze -q --out "$S/z1.csv" ${IN[$ZCASE]}
launch analyze-csv-z9 3 analyze -q --out "$S/z9.csv" ${IN[train]}
wait

section "1: analyze of the stores"
# Analyze of each store on its own rank count, and of the first rank count's store on the others.
for c in $CASES; do
    for n in $RANKS; do
        [ "$(rc "ingest-$c-np$n")" = 0 ] &&
            launch "analyze-store-$c-np$n" "$n" analyze -q --out "$S/$c.store.np$n" "$S/$c.np$n.h5"
        [ "$n" != "$FIRST_NP" ] && [ "$(rc "ingest-$c-np$FIRST_NP")" = 0 ] &&
            launch "analyze-first-$c-np$n" "$n" analyze -q --out "$S/$c.first.np$n" \
                "$S/$c.np$FIRST_NP.h5"
    done
done
# Told apart by content: a store named .csv, a CSV file named .h5; a store and a CSV file mixed.
cp "$S/parts.np$FIRST_NP.h5" "$S/parts-store.csv" 2> /dev/null
cp "$DATA/fixture_part1.csv" "$S/part1-text.h5"
launch analyze-store-named-csv 2 analyze -q --out "$S/named-csv" "$S/parts-store.csv"
launch analyze-csv-named-h5 2 analyze -q --out "$S/named-h5" "$S/part1-text.h5" "$DATA/fixture_part2.csv"
launch analyze-mixed 3 analyze -q --out "$S/mixed" "$S/part1.h5" "$DATA/fixture_part2.csv"
launch analyze-csv-parts-np2 2 analyze -q --out "$S/parts.csv2" ${IN[parts]}
launch analyze-csv-parts-np3 3 analyze -q --out "$S/parts.csv3" ${IN[parts]}
# A store ingested again; a store and a CSV file ingested together.
launch ingest-store-again 3 ingest -q -o "$S/train.again.h5" "$S/train.np$FIRST_NP.h5"
launch ingest-mixed 2 ingest -q -o "$S/parts.mixed.h5" "$S/part1.h5" "$DATA/fixture_part2.csv"
launch analyze-store-z1 2 analyze -q --out "$S/z1.store" "$S/z1.h5"
for n in $FIRST_NP $([ "$LAST_NP" != "$FIRST_NP" ] && echo "$LAST_NP"); do
    launch "ingest-ties-np$n" "$n" ingest -q -o "$S/ties.np$n.h5" "$S/ties1.h5" "$S/ties2.csv"
done
launch analyze-store-z9 3 analyze -q --out "$S/z9.store" "$S/z9.h5"
wait

section "1: checks"
for c in $CASES; do
    for n in $RANKS; do
        label="$c np=$n"
        if ran_ok "$label ingest" "ingest-$c-np$n"; then
            if grep -qE "^Ingested [0-9,]+ rows \([0-9,]+ rejected\) from [0-9]+ files? into " \
                "$RUNS/ingest-$c-np$n.out"; then
                ok "$label ingest: reports the rows ingested"
            else
                notok "$label ingest: reports the rows ingested"
                diag 4 < "$RUNS/ingest-$c-np$n.out"
            fi
        fi
        same_tables "$label: analyze of the store gives the CSV files' tables" \
            "$S/$c.store.np$n" "$S/$c.csv.np$n" "analyze-store-$c-np$n" "analyze-csv-$c-np$n"
        if [ "$n" != "$FIRST_NP" ]; then
            same_tables "$label: the np=$FIRST_NP store read on $n ranks gives the CSV files' tables" \
                "$S/$c.first.np$n" "$S/$c.csv.np$n" "analyze-first-$c-np$n" "analyze-csv-$c-np$n"
            same_store "$label: the store's columns, dictionaries and attributes equal np=$FIRST_NP's" \
                "$S/$c.np$n.h5" "$S/$c.np$FIRST_NP.h5"
        fi
    done
done

same_tables "a store named .csv is read as a store" "$S/named-csv" "$S/parts.csv2" \
    analyze-store-named-csv analyze-csv-parts-np2
same_tables "a CSV file named .h5 is read as a CSV file" "$S/named-h5" "$S/parts.csv2" \
    analyze-csv-named-h5 analyze-csv-parts-np2
same_tables "analyze of a store and a CSV file together gives both CSV files' tables" \
    "$S/mixed" "$S/parts.csv3" analyze-mixed analyze-csv-parts-np3
# Only the sources differ from the stores of the CSV files: a store's name instead of its files'.
if ran_ok "np=3 ingest of a store" ingest-store-again; then
    SOURCES='' ATTRIBUTES_TAG=.nosources same_store \
        "np=3 ingest of a store gives the same store" \
        "$S/train.again.h5" "$S/train.np$FIRST_NP.h5"
fi
if ran_ok "np=2 ingest of a store and a CSV file" ingest-mixed; then
    SOURCES='' ATTRIBUTES_TAG=.nosources same_store \
        "np=2 ingest of a store and a CSV file gives the store of both CSV files (rows in input order)" \
        "$S/parts.mixed.h5" "$S/parts.np$FIRST_NP.h5"
fi
no_temporaries "no temporary file left by the ingests" "$S"

# 6. Rejected rows: the store's counts and the console's equal the CSV files'.
for c in $REJECT_CASES; do
    for n in $RANKS; do
        label="$c np=$n"
        if [ "$(rc "analyze-store-$c-np$n")" != 0 ] || [ "$(rc "analyze-csv-$c-np$n")" != 0 ]; then
            continue # already reported
        fi
        want=$(sed -n 2p "$S/$c.csv.np$n/tables/summary.csv" | cut -d, -f2)
        got=$(sed -n 2p "$S/$c.store.np$n/tables/summary.csv" | cut -d, -f2)
        stored=$(attr "$S/$c.np$n.h5" rows_rejected)
        if [ -n "$want" ] && [ "$want" -gt 0 ] && [ "$got" = "$want" ] && [ "$stored" = "$want" ]; then
            ok "$label: summary rows_rejected and the store's rows_rejected are the CSV files' ($want)"
        else
            notok "$label: summary rows_rejected and the store's rows_rejected are the CSV files' ($want)"
            echo "store summary: '$got', store attribute: '$stored'" | diag
        fi
        want=$(rejected_line "analyze-csv-$c-np$n")
        got="$(rejected_line "ingest-$c-np$n") / $(rejected_line "analyze-store-$c-np$n")"
        if [ -n "$want" ] && [ "$got" = "$want / $want" ]; then
            ok "$label: ingest and analyze of the store print '$want' as analyze of the CSV files"
        else
            notok "$label: ingest and analyze of the store print '$want' as analyze of the CSV files"
            echo "ingest / analyze of the store: $got" | diag
        fi
        want=$(grep -m 1 'rows\? rejected:' "$RUNS/analyze-csv-$c-np$n.err")
        got=$(grep -m 1 'rows\? rejected:' "$RUNS/analyze-store-$c-np$n.err")
        if [ -n "$want" ] && [ "$got" = "$want" ] &&
           [ "$(grep -m 1 'rows\? rejected:' "$RUNS/ingest-$c-np$n.err")" = "$want" ]; then
            ok "$label: ingest and analyze of the store count the rejected rows by reason as the CSV files"
        else
            notok "$label: ingest and analyze of the store count the rejected rows by reason as the CSV files"
            printf 'csv:    %s\nstore:  %s\ningest: %s\n' "$want" "$got" \
                "$(grep -m 1 'rows\? rejected:' "$RUNS/ingest-$c-np$n.err")" | diag
        fi
    done
done

# 7. Compressed stores.
if ran_ok "--compress 1 ingest ($ZCASE)" ingest-z1; then
    same_tables "--compress 1 store ($ZCASE): analyze gives the CSV files' tables" \
        "$S/z1.store" "$S/z1.csv" analyze-store-z1 analyze-csv-z1
    same_store "--compress 1 store ($ZCASE): the columns and dictionaries of the uncompressed store" \
        "$S/z1.h5" "$S/$ZCASE.np$FIRST_NP.h5"
    if h5dump -p -H -d /events/event_time "$S/z1.h5" 2> /dev/null | grep -q DEFLATE; then
        ok "--compress 1 store: the columns are deflated"
    else
        notok "--compress 1 store: the columns are deflated"
        h5dump -p -H -d /events/event_time "$S/z1.h5" 2>&1 | grep -A3 FILTERS | diag
    fi
    if [ "$ZCASE" = real ]; then
        small=$(wc -c < "$S/z1.h5")
        big=$(wc -c < "$S/real.np$FIRST_NP.h5")
        if [ "$small" -lt "$big" ]; then
            ok "--compress 1 store is smaller than the uncompressed one ($small < $big bytes)"
        else
            notok "--compress 1 store is smaller than the uncompressed one ($small < $big bytes)"
        fi
    fi
fi
if ran_ok "--compress 9 ingest on 3 ranks (train)" ingest-z9; then
    same_tables "--compress 9 store (train): analyze gives the CSV files' tables" \
        "$S/z9.store" "$S/z9.csv" analyze-store-z9 analyze-csv-z9
fi

# ------------------------------------------------------------------ 2: journey

section "2: journey"

# Entries: case np format option value. The stores are the first rank count's.
JOURNEYS="train 3 csv --session sixteen-bytes-ok
train 3 csv --session sess-13
train 3 csv --session seventeen-bytes-x
train 2 csv --session C0000013-AAAA-4BBB-8CCC-0000000000AB
train 1 text --session c0000019-aaaa-4bbb-8ccc-000000000019
train 2 json --user 510000014
train 3 csv --user 510000131
train 2 text --session no-such-session
edge 3 csv --user 510000001
edge 1 text --session 6a1f0001-0b3c-4d2e-9f10-000000000001
parts 2 csv --session b0000001-aaaa-4bbb-8ccc-000000000001"
if [ "$HAVE_REAL" = 1 ]; then
    # The busiest session and user of the real extracts.
    top_session=$(awk -F, 'FNR > 1 && $9 != "" { n[$9]++ } END { for (s in n) print n[s], s }' \
        "$OCT" "$NOV" | sort -k1,1nr -k2 | head -n 1 | cut -d' ' -f2)
    top_user=$(awk -F, 'FNR > 1 { n[$8]++ } END { for (u in n) print n[u], u }' "$OCT" "$NOV" |
        sort -k1,1nr -k2 | head -n 1 | cut -d' ' -f2)
    JOURNEYS="$JOURNEYS
real 7 csv --session $top_session
real 2 text --user $top_user"
fi
TIE_RANKS="$FIRST_NP $([ "$LAST_NP" != "$FIRST_NP" ] && echo "$LAST_NP")"
for n in $TIE_RANKS; do
    launch "journey-ties-np$n" 2 journey -q -f csv --user 7 "$S/ties.np$n.h5"
done
launch journey-ties-mixed 3 journey -q -f csv --user 7 "$S/ties1.h5" "$S/ties2.csv"
launch journey-ties-csv 3 journey -q -f csv --user 7 "$S/ties1.csv" "$S/ties2.csv"
i=0
while read -r c n fmt opt value; do
    i=$((i + 1))
    [ "$(rc "ingest-$c-np$FIRST_NP")" = 0 ] || continue
    launch "journey-store-$i" "$n" journey -q -f "$fmt" "$opt" "$value" "$S/$c.np$FIRST_NP.h5"
    launch "journey-csv-$i" "$n" journey -q -f "$fmt" "$opt" "$value" ${IN[$c]}
done <<< "$JOURNEYS"
wait
i=0
while read -r c n fmt opt value; do
    i=$((i + 1))
    label="journey $opt $value ($c, np=$n, $fmt)"
    if [ "$(rc "ingest-$c-np$FIRST_NP")" != 0 ]; then
        notok "$label: the store was made"
        continue
    fi
    a=$(rc "journey-store-$i")
    b=$(rc "journey-csv-$i")
    want=0
    [ "$value" = no-such-session ] && want=1
    if [ "$b" != "$want" ]; then
        notok "$label: from the CSV files, exit $want (test guard)"
        why "journey-csv-$i" | diag
    elif [ "$a" = "$b" ] && cmp -s "$RUNS/journey-store-$i.out" "$RUNS/journey-csv-$i.out" &&
         { [ "$want" = 1 ] || [ -s "$RUNS/journey-csv-$i.out" ]; }; then
        ok "$label: from the store, the CSV files' output and exit status ($b)"
    else
        notok "$label: from the store, the CSV files' output and exit status ($b)"
        { echo "exit status: store $a, CSV $b"
          diff "$RUNS/journey-csv-$i.out" "$RUNS/journey-store-$i.out"
          tail -n 3 "$RUNS/journey-store-$i.err"; } | diag 10
    fi
done <<< "$JOURNEYS"

# same_output LABEL GOT_RUN WANT_RUN: both runs exited 0 with the same, non-empty stdout.
same_output() {
    if [ "$(rc "$2")" = 0 ] && [ "$(rc "$3")" = 0 ] && [ -s "$RUNS/$3.out" ] &&
       cmp -s "$RUNS/$2.out" "$RUNS/$3.out"; then
        ok "$1"
    else
        notok "$1"
        { why "$2"; why "$3"; diff "$RUNS/$3.out" "$RUNS/$2.out"; } | diag 10
    fi
}
ran_ok "ingest of the first file of same-second events" ingest-ties1
same_output "journey of same-second events in a store and a CSV file (mixed inputs) equals the CSV files'" \
    journey-ties-mixed journey-ties-csv
for n in $TIE_RANKS; do
    if ran_ok "np=$n ingest of a store and a CSV file (same-second events)" "ingest-ties-np$n"; then
        same_output "np=$n: journey of same-second events from that store equals the CSV files'" \
            "journey-ties-np$n" journey-ties-csv
    fi
done

# ------------------------------------------------------------------ 3: train and predict

section "3: train and predict"

T=$TMP/train
mkdir -p "$T"
TSTORE=$S/train.np$FIRST_NP.h5
# nodes MODEL: the forest at full precision, without the file name.
nodes() { h5dump -m '%.17g' -d /nodes "$1" 2>&1 | tail -n +2; }
if [ "$(rc "ingest-train-np$FIRST_NP")" = 0 ]; then
    for n in 1 3; do
        for src in store csv; do
            inputs=$TSTORE
            [ "$src" = csv ] && inputs=${IN[train]}
            launch "train-$src-np$n" "$n" train --quiet $FIX_OPTS --test-days 2 \
                --model "$T/$src.np$n.h5" --export-features "$T/$src.np$n.features.csv" $inputs
        done
    done
fi
if [ "$HAVE_REAL" = 1 ] && [ "$(rc "ingest-real-np$FIRST_NP")" = 0 ]; then
    launch train-store-real 2 train --quiet --trees 20 --seed 46 --test-fraction 0.3 \
        --model "$T/store.real.h5" --export-features "$T/store.real.features.csv" \
        "$S/real.np$FIRST_NP.h5"
    launch train-csv-real 2 train --quiet --trees 20 --seed 46 --test-fraction 0.3 \
        --model "$T/csv.real.h5" --export-features "$T/csv.real.features.csv" ${IN[real]}
fi
wait
# predict with the CSV files' model, from the store and from the CSV files.
TRAINED=""
for n in 1 3; do
    [ "$(rc "train-csv-np$n")" = 0 ] || continue
    TRAINED="$TRAINED np$n"
    launch "predict-store-np$n" "$n" predict --quiet --model "$T/csv.np$n.h5" \
        -o "$T/store.np$n.pred.csv" "$TSTORE"
    launch "predict-csv-np$n" "$n" predict --quiet --model "$T/csv.np$n.h5" \
        -o "$T/csv.np$n.pred.csv" ${IN[train]}
done
if [ "$(rc train-csv-real)" = 0 ]; then
    TRAINED="$TRAINED real"
    launch predict-store-real 3 predict --quiet --model "$T/csv.real.h5" \
        -o "$T/store.real.pred.csv" "$S/real.np$FIRST_NP.h5"
    launch predict-csv-real 3 predict --quiet --model "$T/csv.real.h5" \
        -o "$T/csv.real.pred.csv" ${IN[real]}
fi
wait

# same_file LABEL GOT WANT: two output files exist, are not empty and are byte-identical.
same_file() {
    if [ -s "$3" ] && cmp -s "$2" "$3"; then
        ok "$1"
    else
        notok "$1"
        diff "$3" "$2" 2>&1 | diag 8
    fi
}
if [ "$(rc "ingest-train-np$FIRST_NP")" != 0 ]; then
    notok "train: the training fixture's store was made"
else
    for n in 1 3; do
        label="train fixture np=$n"
        ran_ok "$label train from the store" "train-store-np$n" || continue
        ran_ok "$label train from the CSV files" "train-csv-np$n" || continue
        same_file "$label: the exported samples and features from the store equal the CSV files'" \
            "$T/store.np$n.features.csv" "$T/csv.np$n.features.csv"
        if [ "$(nodes "$T/store.np$n.h5" | grep -c 'DATA {')" = 1 ] &&
           [ "$(nodes "$T/store.np$n.h5")" = "$(nodes "$T/csv.np$n.h5")" ]; then
            ok "$label: the forest (/nodes) from the store equals the CSV files'"
        else
            notok "$label: the forest (/nodes) from the store equals the CSV files'"
            diff <(nodes "$T/csv.np$n.h5") <(nodes "$T/store.np$n.h5") | diag 6
        fi
    done
fi
if [ "$HAVE_REAL" = 1 ]; then
    if ran_ok "train real np=2 --test-fraction 0.3 from the store" train-store-real &&
       ran_ok "train real np=2 --test-fraction 0.3 from the CSV files" train-csv-real; then
        same_file "train real np=2: the exported samples and features from the store equal the CSV files'" \
            "$T/store.real.features.csv" "$T/csv.real.features.csv"
    fi
fi
for p in $TRAINED; do
    label="predict ($p model)"
    if [ "$(rc "predict-store-$p")" = 0 ] && [ "$(rc "predict-csv-$p")" = 0 ]; then
        same_file "$label: predictions from the store equal those from the CSV files" \
            "$T/store.$p.pred.csv" "$T/csv.$p.pred.csv"
    else
        notok "$label: predictions from the store equal those from the CSV files"
        { why "predict-store-$p"; why "predict-csv-$p"; } | diag 10
    fi
done

# ------------------------------------------------------------------ 4: --append

section "4: --append"

A=$TMP/append
mkdir -p "$A"
PART1=$DATA/fixture_part1.csv
PART2=$DATA/fixture_part2.csv

# A then B, on different rank counts; the CSV files' tables to compare with.
run append-a 2 ingest -q -o "$A/ab.h5" "$PART1"
cp "$A/ab.h5" "$A/a.h5" 2> /dev/null
run append-b 3 ingest -q --append -o "$A/ab.h5" "$PART2"
launch append-analyze 2 analyze -q --out "$A/ab.store" "$A/ab.h5"
launch append-analyze-csv 2 analyze -q --out "$A/ab.csv" "$PART1" "$PART2"
launch append-analyze-a-csv 2 analyze -q --out "$A/a.csv" "$PART1"
# Rejected rows in both.
launch append-rejects-a 1 ingest -q -o "$A/rej.h5" "$DATA/bad/one_bad.csv"
# To a missing store.
launch append-missing 2 ingest -q --append -o "$A/new.h5" "$PART1"
# A without remove_from_cart (then B brings it); A' analysed from its CSV file.
grep -v ',remove_from_cart,' "$PART1" > "$A/no-remove.csv"
launch append-types-a 2 ingest -q -o "$A/types.h5" "$A/no-remove.csv"
launch append-types-csv 2 analyze -q --out "$A/types.csv" "$A/no-remove.csv"
if [ "$HAVE_REAL" = 1 ]; then
    launch append-real-a 3 ingest -q -o "$A/real.h5" "$OCT"
    launch append-real-csv 2 analyze -q --out "$A/real.csv" "$OCT" "$NOV"
fi
wait
launch append-rejects-b 2 ingest -q --append -o "$A/rej.h5" "$DATA/bad/three_bad.csv"
launch append-rejects-csv 2 analyze -q --out "$A/rej.csv" "$DATA/bad/one_bad.csv" "$DATA/bad/three_bad.csv"
launch append-missing-analyze 3 analyze -q --out "$A/new.store" "$A/new.h5"
cp "$A/types.h5" "$A/types.before.h5" 2> /dev/null
launch append-types-b 2 ingest -q --append -o "$A/types.h5" "$PART2"
if [ "$HAVE_REAL" = 1 ] && [ "$(rc append-real-a)" = 0 ]; then
    cp "$A/real.h5" "$A/real.before.h5"
    launch append-real-b "$LAST_NP" ingest -q --append -o "$A/real.h5" "$NOV"
fi
wait
launch append-rejects-analyze 3 analyze -q --out "$A/rej.store" "$A/rej.h5"
launch append-types-analyze 2 analyze -q --out "$A/types.store" "$A/types.h5"
[ "$HAVE_REAL" = 1 ] && launch append-real-analyze 2 analyze -q --out "$A/real.store" "$A/real.h5"
wait

# check_dictionaries LABEL BEFORE AFTER: every dictionary of AFTER starts with all of BEFORE's.
check_dictionaries() {
    local label=$1 d problems="" n grew=0
    for d in $DICTIONARIES; do
        n=$(entries "$2" "$d" | wc -l)
        if [ "$d" != event_type ] && [ "$d" != user_session ] && [ "$n" -eq 0 ]; then
            problems="$problems"$'\n'"$d: empty before the append"
        elif [ "$(entries "$3" "$d" | head -n "$n")" != "$(entries "$2" "$d")" ]; then
            problems="$problems"$'\n'"$d: the first $n entries changed: $(diff <(entries "$2" "$d") \
                <(entries "$3" "$d" | head -n "$n") | head -n 4 | tr '\n' ' ')"
        fi
        [ "$(entries "$3" "$d" | wc -l)" -gt "$n" ] && grew=$((grew + 1))
    done
    [ "$grew" -gt 0 ] || problems="$problems"$'\n'"no dictionary grew (test guard)"
    check_empty "$label" "${problems#$'\n'}"
}

if ran_ok "append: ingest A (fixture_part1) on 2 ranks" append-a &&
   ran_ok "append: --append B (fixture_part2) on 3 ranks" append-b; then
    if grep -q '^Appended [0-9,]* rows' "$RUNS/append-b.out"; then
        ok "append: the console says 'Appended'"
    else
        notok "append: the console says 'Appended'"
        diag 3 < "$RUNS/append-b.out"
    fi
    same_tables "append: analyze of A + B equals analyze of both CSV files" \
        "$A/ab.store" "$A/ab.csv" append-analyze append-analyze-csv
    check_dictionaries "append: the dictionaries keep A's entries and ids first" "$A/a.h5" "$A/ab.h5"
    got="$(attr "$A/ab.h5" rows) $(attr "$A/ab.h5" state) $(entries "$A/ab.h5" /sources | tr '\n' ' ')"
    want="49 \"complete\" \"$PART1\" \"$PART2\" "
    if [ "$got" = "$want" ]; then
        ok "append: rows 49, state complete, sources A then B"
    else
        notok "append: rows 49, state complete, sources A then B"
        printf 'expected: %s\ngot:      %s\n' "$want" "$got" | diag
    fi
fi
if [ "$HAVE_REAL" = 1 ]; then
    if ran_ok "append real: ingest October on 3 ranks" append-real-a &&
       ran_ok "append real: --append November on $LAST_NP ranks" append-real-b; then
        same_tables "append real: analyze equals analyze of both CSV files" \
            "$A/real.store" "$A/real.csv" append-real-analyze append-real-csv
        check_dictionaries "append real: the dictionaries keep October's entries and ids first" \
            "$A/real.before.h5" "$A/real.h5"
    fi
fi
if ran_ok "append rejects: ingest one_bad.csv" append-rejects-a &&
   ran_ok "append rejects: --append three_bad.csv" append-rejects-b; then
    same_tables "append rejects: analyze equals the CSV files' (rows_rejected adds up)" \
        "$A/rej.store" "$A/rej.csv" append-rejects-analyze append-rejects-csv
    got=$(attr "$A/rej.h5" rows_rejected)
    if [ "$got" = 4 ]; then
        ok "append rejects: the store's rows_rejected is 1 + 3"
    else
        notok "append rejects: the store's rows_rejected is 1 + 3 (got '$got')"
    fi
fi
if ran_ok "--append to a missing store" append-missing; then
    same_tables "--append to a missing store makes it: analyze equals the CSV file's" \
        "$A/new.store" "$A/a.csv" append-missing-analyze append-analyze-a-csv
    same_store "--append to a missing store: the store a plain ingest makes" "$A/new.h5" "$A/a.h5"
fi
if ran_ok "append new type: ingest A without remove_from_cart" append-types-a; then
    expect "append new type: --append B with remove_from_cart" append-types-b 1 \
        "remove_from_cart" "event type"
    got=$(attr "$A/types.h5" state)
    if [ "$got" = '"complete"' ]; then
        ok "append new type: the store is still marked complete"
    else
        notok "append new type: the store is still marked complete (state $got)"
    fi
    same_tables "append new type: analyze of the store still gives A's tables" \
        "$A/types.store" "$A/types.csv" append-types-analyze append-types-csv
    same_store "append new type: the columns, dictionaries and attributes are unchanged" \
        "$A/types.h5" "$A/types.before.h5"
fi
no_temporaries "append: no temporary file left" "$A"

# More input files than an HDF5 attribute could list (about 4,000): the sources are a dataset.
# The files are named relative to test/data, so that the command line stays short.
many=$(for _ in $(seq 4100); do echo fixture_part1.csv; done)
binary=$CLICKMILL
case $binary in /*) ;; *) binary=$PWD/$binary ;; esac
more=$(for _ in $(seq 100); do echo fixture_part2.csv; done)
# shellcheck disable=SC2086 # the lists are split into words on purpose
if (cd "$DATA" && with_timeout $MPIRUN 2 "$binary" ingest -q -o "$A/many.h5" $many &&
    with_timeout $MPIRUN 2 "$binary" ingest -q --append -o "$A/many.h5" $more) \
    > "$RUNS/many.log" 2>&1 &&
    h5ls "$A/many.h5/sources" 2> /dev/null | grep -q '{4200/Inf}' &&
    [ "$(attr "$A/many.h5" rows)" = $((4100 * 24 + 100 * 25)) ]; then
    ok "ingest of 4,100 files and an append of 100 more: 4,200 sources, every row"
else
    notok "ingest of 4,100 files and an append of 100 more: 4,200 sources, every row"
    { cat "$RUNS/many.log"; h5ls "$A/many.h5/sources"; attr "$A/many.h5" rows; } 2>&1 | diag 6
fi

# ------------------------------------------------------------------ 5: robustness

section "5: robustness"

E=$TMP/errors
mkdir -p "$E"
# mpirun takes 1 to 2 s to end a failed job, mostly waiting: more of them at a time.
POOL=$((JOBS * 2))
GOOD=$S/parts.np$FIRST_NP.h5
MODEL=$T/csv.np1.h5
if [ ! -f "$GOOD" ]; then
    notok "errors: a store to damage (ingest of the parts failed)"
    finish
fi

# An incomplete store: the state attribute rewritten (h5py), or the stored text patched in place.
cp "$GOOD" "$E/incomplete.h5"
if [ -n "$PYTHON" ]; then
    how="rewritten by h5py"
    "$PYTHON" -c 'import sys, h5py
with h5py.File(sys.argv[1], "r+") as f: f.attrs["state"] = "appending"' "$E/incomplete.h5" 2>&1 |
        diag 4
else
    how="patched in place"
    at=$(grep -obUa complete "$E/incomplete.h5" | cut -d: -f1)
    if [ "$(wc -w <<< "$at")" = 1 ]; then
        printf 'halfdone' | dd of="$E/incomplete.h5" bs=1 seek="$at" conv=notrunc status=none
    fi
fi
INCOMPLETE=0
case $(attr "$E/incomplete.h5" state) in
    '"appending"' | '"halfdone"') INCOMPLETE=1 ;;
    *) skip "errors: could not make an incomplete store (state $(attr "$E/incomplete.h5" state))" ;;
esac

size=$(wc -c < "$GOOD")
head -c $((size / 2)) "$GOOD" > "$E/truncated.h5"
head -c 2048 "$GOOD" > "$E/short.h5"
cp "$S/parts.store.np$FIRST_NP/results.h5" "$E/results.h5" 2> /dev/null
cp "$MODEL" "$E/model.h5" 2> /dev/null
cp "$GOOD" "$E/store.h5"

DAMAGED="truncated short"
[ "$INCOMPLETE" = 1 ] && DAMAGED="incomplete $DAMAGED"
# Stores damaged where the checks on open and on read must catch it (h5py rewrites them): an
# attribute of the wrong size, rejected counts of the wrong size, a time no CSV row can have.
if [ -n "$PYTHON" ]; then
    cp "$GOOD" "$E/arrayattr.h5"
    cp "$GOOD" "$E/badcounts.h5"
    cp "$GOOD" "$E/badtime.h5"
    if "$PYTHON" -c 'import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f: f.attrs["format_version"] = np.ones(1000, dtype="int32")
with h5py.File(sys.argv[2], "r+") as f: f.attrs["rows_rejected_by_reason"] = np.zeros(2, dtype="int64")
with h5py.File(sys.argv[3], "r+") as f: f["events/event_time"][0] = -5' \
        "$E/arrayattr.h5" "$E/badcounts.h5" "$E/badtime.h5" > "$E/h5py.log" 2>&1; then
        DAMAGED="$DAMAGED arrayattr badcounts badtime"
    else
        notok "errors: h5py damages three stores"
        diag 4 < "$E/h5py.log"
    fi
fi
FOREIGN=""
[ -f "$E/results.h5" ] && FOREIGN="results"
[ -f "$E/model.h5" ] && FOREIGN="$FOREIGN model"
for kind in $DAMAGED $FOREIGN; do
    for n in $FIRST_NP $([ "$LAST_NP" != "$FIRST_NP" ] && echo "$LAST_NP"); do
        launch "analyze-$kind-np$n" "$n" analyze -q --out "$E/out-$kind" "$E/$kind.h5"
    done
    launch "journey-$kind" 2 journey -q --user 530000001 "$E/$kind.h5"
    launch "train-$kind" 2 train -q --trees 5 --model "$E/m-$kind.h5" "$E/$kind.h5"
    [ -f "$MODEL" ] && launch "predict-$kind" 2 predict -q --model "$MODEL" "$E/$kind.h5"
    launch "ingest-from-$kind" 2 ingest -q -o "$E/from-$kind.h5" "$E/$kind.h5"
done
[ "$INCOMPLETE" = 1 ] &&
    launch append-to-incomplete 2 ingest -q --append -o "$E/incomplete.h5" "$PART2"
cp "$E/results.h5" "$E/results.before.h5" 2> /dev/null
cp "$PART1" "$E/text.csv"
launch append-to-results 2 ingest -q --append -o "$E/results.h5" "$PART2"
launch append-to-text 2 ingest -q --append -o "$E/text.csv" "$PART2"

# Usage errors: exit 2 before any work, no store.
declare -A USAGE=(
    [same-csv]="-o $E/text.csv $E/text.csv|also an input"
    [same-store]="-o $E/store.h5 $E/store.h5|also an input"
    [same-store-append]="--append -o $E/store.h5 $E/store.h5|also an input"
    [no-out]="$PART1|-o STORE"
    [no-input]="-o $E/u.h5|no input"
    [compress-10]="--compress 10 -o $E/u.h5 $PART1|--compress"
    [compress-neg]="--compress -1 -o $E/u.h5 $PART1|--compress"
    [compress-word]="--compress x -o $E/u.h5 $PART1|--compress"
    [compress-fraction]="--compress 1.5 -o $E/u.h5 $PART1|--compress"
    [max-rejects-neg]="--max-rejects -1 -o $E/u.h5 $PART1|--max-rejects"
    [out-directory]="-o $E $PART1|directory"
    [unknown-option]="--frobnicate -o $E/u.h5 $PART1|--frobnicate"
)
for u in "${!USAGE[@]}"; do
    launch "usage-$u" 2 ingest ${USAGE[$u]%|*}
done
# Failed ingests: no store, no temporary file.
mkdir -p "$E/failed"
launch ingest-missing-input 2 ingest -q -o "$E/failed/a.h5" "$E/no-such-file.csv"
launch ingest-no-header 2 ingest -q -o "$E/failed/b.h5" "$DATA/bad/no_header.csv"
launch ingest-max-rejects 3 ingest -q --max-rejects 0 -o "$E/failed/c.h5" "$DATA/bad/one_bad.csv"
wait

for kind in $DAMAGED $FOREIGN; do
    # What the file is; what the message must say besides the file's name.
    case $kind in
        incomplete) name="incomplete store (state $(attr "$E/incomplete.h5" state), $how)"
                    what="not complete" ;;
        truncated) name="store cut to half its size"; what="" ;;
        short) name="store cut to 2 KB"; what="" ;;
        arrayattr) name="store whose format_version is 1000 values"; what="version" ;;
        badcounts) name="store with 2 rejected-row counts"; what="rejected-row counts" ;;
        badtime) name="store with a time before 1970"; what="damaged store" ;;
        results) name="analyze's results.h5"; what="not a clickmill event store" ;;
        model) name="a model file"; what="not a clickmill event store" ;;
    esac
    for n in $FIRST_NP $([ "$LAST_NP" != "$FIRST_NP" ] && echo "$LAST_NP"); do
        expect "$name: analyze np=$n" "analyze-$kind-np$n" 1 "$E/$kind.h5" ${what:+"$what"}
    done
    expect "$name: journey" "journey-$kind" 1 "$E/$kind.h5" ${what:+"$what"}
    expect "$name: train" "train-$kind" 1 "$E/$kind.h5" ${what:+"$what"}
    [ -f "$MODEL" ] && expect "$name: predict" "predict-$kind" 1 "$E/$kind.h5" ${what:+"$what"}
    expect "$name: ingest from it" "ingest-from-$kind" 1 "$E/$kind.h5" ${what:+"$what"}
    if [ -e "$E/from-$kind.h5" ] || [ -e "$E/m-$kind.h5" ]; then
        notok "$name: no store or model written from it"
    else
        ok "$name: no store or model written from it"
    fi
done
if [ "$INCOMPLETE" = 1 ]; then
    expect "--append to an incomplete store ($how)" append-to-incomplete 1 "not complete"
fi
expect "--append to results.h5" append-to-results 1 "not a clickmill event store"
if cmp -s "$E/results.h5" "$E/results.before.h5"; then
    ok "--append to results.h5: the file is unchanged"
else
    notok "--append to results.h5: the file is unchanged"
fi
expect "--append to a CSV file" append-to-text 1 "$E/text.csv"
if grep -qi "starts like an HDF5 file" "$RUNS/append-to-text.err"; then
    notok "--append to a CSV file: the message does not call it an HDF5 file"
    grep -i "HDF5" "$RUNS/append-to-text.err" | diag 2
else
    ok "--append to a CSV file: the message does not call it an HDF5 file"
fi
if cmp -s "$E/text.csv" "$PART1"; then
    ok "--append to a CSV file: the file is unchanged"
else
    notok "--append to a CSV file: the file is unchanged"
fi
for u in "${!USAGE[@]}"; do
    expect "ingest usage error ($u)" "usage-$u" 2 "${USAGE[$u]#*|}"
done
if [ -e "$E/u.h5" ] || ! cmp -s "$E/store.h5" "$GOOD"; then
    notok "ingest usage errors: no store written, the input store unchanged"
else
    ok "ingest usage errors: no store written, the input store unchanged"
fi
expect "ingest of a missing file" ingest-missing-input 1 "$E/no-such-file.csv"
expect "ingest of a file without header" ingest-no-header 1 "header"
expect "ingest stopped by --max-rejects 0" ingest-max-rejects 1 "--max-rejects"
left=$(ls -A "$E/failed")
check_empty "failed ingests: neither a store nor a temporary file left" "$left"

# An unwritable directory: read-only for a user; immutable (chattr +i) for root, who may write
# anywhere else.
LOCKED=$E/locked
mkdir -p "$LOCKED"
unlock() { chattr -i "$LOCKED" 2> /dev/null; chmod 755 "$LOCKED" 2> /dev/null; }
if [ "$(id -u)" != 0 ]; then
    chmod 555 "$LOCKED"
else
    # The EXIT trap must unlock the directory before removing the scratch directory.
    trap 'unlock; rm -rf "$TMP"' EXIT
    [ "${KEEP_TMP:-0}" != 0 ] && trap 'unlock; echo "# scratch kept in $TMP" >&2' EXIT
    chattr +i "$LOCKED" 2> /dev/null
fi
if touch "$LOCKED/probe" 2> /dev/null; then
    rm -f "$LOCKED/probe"
    unlock
    skip "ingest into an unwritable directory: could not make one (chmod 555 / chattr +i)"
else
    run ingest-unwritable 2 ingest -q -o "$LOCKED/s.h5" "$PART1"
    left=$(ls -A "$LOCKED")
    unlock
    expect "ingest into an unwritable directory" ingest-unwritable 1 "$LOCKED"
    check_empty "ingest into an unwritable directory: neither a store nor a temporary file left" "$left"
fi

# A full disk: a 2 MB tmpfs (root only, where mounting is allowed), nearly full.
FULL=$E/full
mkdir -p "$FULL"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2m clickmill-test "$FULL" 2> /dev/null; then
    trap 'umount "$FULL" 2> /dev/null; unlock; rm -rf "$TMP"' EXIT
    [ "${KEEP_TMP:-0}" != 0 ] &&
        trap 'umount "$FULL" 2> /dev/null; unlock; echo "# scratch kept in $TMP" >&2' EXIT
    # 64 KB left: the file is made, its writes fail.
    head -c $((2048 * 1024 - 65536)) /dev/zero > "$FULL/filler" 2> /dev/null
    run ingest-full-disk 2 ingest -q -o "$FULL/s.h5" "$PART1"
    left=$(find "$FULL" -mindepth 1 ! -name filler)
    umount "$FULL"
    if [ "$(rc ingest-full-disk)" = 1 ] && grep -qF "$FULL/s.h5" "$RUNS/ingest-full-disk.err"; then
        ok "ingest onto a full disk: exit 1, the message names the store"
    else
        notok "ingest onto a full disk: exit 1, the message names the store"
        why ingest-full-disk | diag 8
    fi
    check_empty "ingest onto a full disk: neither a store nor a temporary file left" "$left"
else
    skip "ingest onto a full disk: cannot mount a small tmpfs (not root, or not allowed)"
fi

# ------------------------------------------------------------------ 8: h5py reader

section "8: h5py reader"

if [ -z "$PYTHON" ]; then
    skip "h5py reader: no Python with h5py (Debian: apt-get install python3-h5py)"
else
    cat > "$TMP/reader.py" <<'EOF'
# reader.py counts STORE: rows per event type, read with h5py ("type count" lines, sorted).
# reader.py rows STORE CSV...: every row and field of the store against the CSV files (which
# must have no rejected row), parsed by Python's csv module; one line per problem.
import calendar, collections, csv, sys, time
from decimal import Decimal
import h5py

mode, store, *inputs = sys.argv[1:]
f = h5py.File(store, "r")
fmt = f.attrs["format"]
if (fmt.decode() if isinstance(fmt, bytes) else fmt) != "clickmill-events":
    sys.exit("format attribute is %r" % fmt)
rows = int(f.attrs["rows"])
ev, dc = f["events"], f["dictionaries"]


def texts(name):
    return [x.decode("utf-8", "surrogateescape") if isinstance(x, bytes) else x
            for x in dc[name][...]]


types = texts("event_type")
etype = ev["event_type"][:rows]
for name, value in (h5py.check_enum_dtype(ev["event_type"].dtype) or {}).items():
    if types[value] != name:
        print("enum member %s = %d but dictionary entry %d is %r" % (name, value, value, types[value]))
if mode == "counts":
    for t, n in sorted(collections.Counter(types[i] for i in etype).items()):
        print(t, n)
    sys.exit(0)

codes, brands = texts("category_code"), texts("brand")
cats, prods, sess = texts("category"), texts("product"), texts("user_session")
col = {c: ev[c][:rows] for c in ("event_time", "product_id", "category_id", "category_code",
                                 "brand", "category", "product", "price_cents", "user_id",
                                 "user_session", "user_session_text")}
problems = []
i = 0
for path in inputs:
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
        for line, rec in enumerate(csv.DictReader(fh), 2):
            if i >= rows:
                problems.append("%s:%d: no row %d in the store (%d rows)" % (path, line, i, rows))
                break
            want = {k: (v or "").rstrip("\r") for k, v in rec.items()}
            code, brand = want["category_code"], want["brand"]
            text = int(col["user_session_text"][i])
            if text >= 0:
                session = sess[text]
            else:
                h = bytes(col["user_session"][i]).hex()
                session = "-".join((h[:8], h[8:12], h[12:16], h[16:20], h[20:]))
            got = {
                "event_time": int(col["event_time"][i]),
                "event_type": types[etype[i]],
                "product_id": int(col["product_id"][i]),
                "category_id": int(col["category_id"][i]),
                "category_code": codes[col["category_code"][i]],
                "brand": brands[col["brand"][i]],
                "category": cats[col["category"][i]],
                "product": prods[col["product"][i]],
                "price": int(col["price_cents"][i]),
                "user_id": int(col["user_id"][i]),
                "user_session": session,
            }
            expect = {
                "event_time": calendar.timegm(time.strptime(want["event_time"],
                                                            "%Y-%m-%d %H:%M:%S UTC")),
                "event_type": want["event_type"],
                "product_id": int(want["product_id"]),
                "category_id": int(want["category_id"]),
                "category_code": code,
                "brand": brand,
                # The derived columns (docs/data-contract.md): the first and the last segment of
                # category_code, else the brand, else 'unknown'.
                "category": code.split(".")[0] if code else (brand or "unknown"),
                "product": code.split(".")[-1] if code else (brand or "unknown"),
                "price": int(Decimal(want["price"]) * 100),
                "user_id": int(want["user_id"]),
                "user_session": want["user_session"],
            }
            for k in expect:
                if got[k] != expect[k]:
                    problems.append("%s:%d (row %d): %s is %r in the store, %r in the file"
                                    % (path, line, i, k, got[k], expect[k]))
            i += 1
if i != rows and not problems:
    problems.append("the files have %d rows, the store %d" % (i, rows))
if problems:
    print("\n".join(problems[:20]))
EOF
    for c in $CLEAN_CASES; do
        store=$S/$c.np$LAST_NP.h5
        label="h5py reader ($c, the np=$LAST_NP store)"
        if [ ! -f "$store" ]; then
            notok "$label: the store was made"
            continue
        fi
        res=$("$PYTHON" "$TMP/reader.py" rows "$store" ${IN[$c]} 2>&1)
        check_empty "$label: every row and field equals the CSV files' (Python csv module)" "$res"
        # SQLite counts the event types of the CSV files (each imported with its own header).
        want=$({ echo "CREATE TABLE t (event_type TEXT);"
                 k=0
                 for f in ${IN[$c]}; do
                     k=$((k + 1))
                     echo ".import --csv \"$f\" f$k"
                     echo "INSERT INTO t SELECT event_type FROM f$k;"
                 done
                 echo "SELECT event_type || ' ' || count(*) FROM t GROUP BY event_type ORDER BY event_type;"
               } | sq :memory: 2>&1)
        got=$("$PYTHON" "$TMP/reader.py" counts "$store" 2>&1)
        if [ -n "$want" ] && [ "$got" = "$want" ]; then
            ok "$label: events per type equal SQLite's count of the CSV files (${want//$'\n'/, })"
        else
            notok "$label: events per type equal SQLite's count of the CSV files"
            diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | diag 8
        fi
    done
fi

finish
