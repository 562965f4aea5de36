#!/usr/bin/env bash
# Integration test of the HTML report: `clickmill report` and `analyze --report`.
#
# What it checks:
#  1. Reports of several inputs (the real October head extract, the hand-made edge fixture,
#     a month with thousands of categories and brands, names full of HTML and XML special
#     characters and non-ASCII text, a file with remove_from_cart, a header-only file) made on
#     1 and 3 ranks: test/report_check.py recomputes every figure the page draws from
#     results.h5 (and model.h5) with h5py and compares it with the numbers the page carries;
#     the page is well-formed XML, self-contained (no script, link, image or URL) and its ids
#     are unique. `analyze --report` gives the page `report` gives from the same results.h5
#     (but for the run's time and date).
#  2. With a model (train on the October head): the model section's importances, confusion
#     matrix, ROC curve and AUC equal model.h5's.
#  3. In headless Chromium (test/report_browser.py, through chromedriver): every chart
#     renders with a size, every bar and point of a value above zero is drawn, values stay in
#     their charts, labels do not overlap, light and dark schemes contrast, a 390 px phone
#     screen neither scrolls sideways nor shrinks chart text below 8.5 px; screenshots are
#     saved. Skipped when chromium or chromedriver is missing, unless CI is set (then failed).
#  4. Errors: missing, foreign, damaged and wrong-kind files, bad options, an output that is
#     an input or cannot be written: exit 1 or 2 with a message naming the problem, no crash,
#     no report and no temporary file left behind.
#
# Usage: test/report.sh   (from anywhere)
# Environment: CLICKMILL, MPIRUN, SHARED, RUN_TIMEOUT, KEEP_TMP as in test/train.sh;
#   SCREENSHOTS  directory for the browser's screenshots (default: the scratch directory)
#
# Output: "ok - ..." / "not ok - ..." / "skip - ..." lines and "N passed, N failed".

# MPIRUN and CLICKMILL are split into words on purpose.
# shellcheck disable=SC2086

set -u

cd "$(dirname "$0")/.." || exit 2
# shellcheck source-path=SCRIPTDIR/..
. test/lib.sh

CLICKMILL=${CLICKMILL:-bin/clickmill}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe -np}
SHARED=${SHARED:-../shared/data/rees46}
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

scratch_dir clickmill-report
SCREENSHOTS=${SCREENSHOTS:-$TMP}
mkdir -p "$SCREENSHOTS"

# checker OUTPUT_OF_report_check.py: its ok / not ok lines counted here.
count_lines() {
    local file=$1
    cat "$file"
    PASSED=$((PASSED + $(grep -c '^ok - ' "$file")))
    FAILED=$((FAILED + $(grep -c '^not ok - ' "$file")))
}

# --- inputs -------------------------------------------------------------------------------
HEADER=event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session

# Names that break HTML, XML or a naive chart: markup, quotes, ampersands, non-ASCII, a
# 300-character category; purchases above carts; a single-day month.
special=$TMP/special.csv
{
    echo "$HEADER"
    "$PY" - <<'EOF'
import csv, sys
w = csv.writer(sys.stdout, lineterminator="\n")
names = [("x<y.z&w", "<script>alert(1)</script>"), ("caf\u00e9.cr\u00e8me", 'say "hi"'),
         ("a&amp;b.c", "it's"), ("l" * 300 + ".long", "]]>--><!--"),
         ("electronics.smartphone", "</svg><p>")]
session = 0
for i, (code, brand) in enumerate(names):
    for k in range(6 + 3 * i):
        session += 1
        s = f"00000000-0000-4000-8000-{session:012d}"
        t = f"2019-10-05 {k % 24:02d}:{(i * 7) % 60:02d}:00 UTC"
        w.writerow([t, "view", 1000 + i, 2000 + i, code, brand, "10.50", 500 + k, s])
        if k % 2 == 0:
            w.writerow([t.replace(":00 UTC", ":10 UTC"), "cart", 1000 + i, 2000 + i, code, brand, "10.50", 500 + k, s])
        if k % 3 == 0:
            w.writerow([t.replace(":00 UTC", ":20 UTC"), "purchase", 1000 + i, 2000 + i, code, brand, "10.50", 500 + k, s])
EOF
} > "$special"

# Thousands of categories and brands: the top lists must stay at --top plus "other".
many=$TMP/many.csv
{
    echo "$HEADER"
    "$PY" - <<'EOF'
import random
random.seed(7)
for i in range(20000):
    c = random.randrange(3000)
    b = random.randrange(4000)
    kind = random.choices(["view", "cart", "purchase"], [20, 3, 2])[0]
    day = 1 + i % 28
    print(f"2019-10-{day:02d} {i % 24:02d}:{i % 60:02d}:00 UTC,{kind},{i % 900},{c},"
          f"cat{c}.prod{c % 17},brand{b},{1 + i % 500}.{i % 100:02d},{i % 5000},"
          f"00000000-0000-4000-8000-{i % 7000:012d}")
EOF
} > "$many"

# remove_from_cart among the event types.
removes=$TMP/removes.csv
{
    echo "$HEADER"
    echo "2019-10-01 10:00:00 UTC,view,1,2,kids.toys,lego,5.00,10,00000000-0000-4000-8000-000000000001"
    echo "2019-10-01 10:01:00 UTC,cart,1,2,kids.toys,lego,5.00,10,00000000-0000-4000-8000-000000000001"
    echo "2019-10-01 10:02:00 UTC,remove_from_cart,1,2,kids.toys,lego,5.00,10,00000000-0000-4000-8000-000000000001"
    echo "2019-10-02 11:00:00 UTC,purchase,1,2,kids.toys,lego,5.00,10,00000000-0000-4000-8000-000000000002"
} > "$removes"

empty=$TMP/empty.csv
echo "$HEADER" > "$empty"

inputs="special:$special many:$many removes:$removes empty:$empty edge:test/data/fixture_edge.csv"
oct=$SHARED/oct2019-head/2019-Oct-head.csv
if [ -r "$oct" ]; then
    inputs="oct:$oct $inputs"
else
    skip "the real October head extract ($oct is absent)"
fi

# --- 1. reports checked against results.h5 -----------------------------------------------
for entry in $inputs; do
    name=${entry%%:*} file=${entry#*:}
    opts="--car-min-carts 2 --top 8"
    [ "$name" = oct ] && opts="--car-min-carts 10 --top 10"
    [ "$name" = special ] && opts="--car-min-carts 2 --top 8 --car-category x<y"
    for ranks in 1 3; do
        out=$TMP/$name-$ranks
        # --car-category for `special` holds a space-free value with '<': passed as one word
        if with_timeout $MPIRUN "$ranks" $CLICKMILL analyze -q --out "$out" --report "$out/analyze.html" \
            $opts "$file" > "$out.log" 2>&1; then
            ok "$name, $ranks ranks: analyze --report"
        else
            notok "$name, $ranks ranks: analyze --report"
            diag < "$out.log"
            continue
        fi
        if with_timeout $MPIRUN "$ranks" $CLICKMILL report "$out" $opts > "$out.report.log" 2>&1 &&
            [ -s "$out/report.html" ]; then
            ok "$name, $ranks ranks: report DIR writes DIR/report.html"
        else
            notok "$name, $ranks ranks: report DIR writes DIR/report.html"
            diag < "$out.report.log"
            continue
        fi
        # The two pages differ only in the footer's run time and date.
        if diff <(grep -v '^<footer>' "$out/analyze.html") <(grep -v '^<footer>' "$out/report.html") \
            > "$out.diff"; then
            ok "$name, $ranks ranks: analyze --report and report from results.h5 give the same page"
        else
            notok "$name, $ranks ranks: analyze --report and report from results.h5 give the same page"
            diag < "$out.diff"
        fi
        "$PY" test/report_check.py "$out/report.html" "$out/results.h5" $opts \
            > "$out.check" 2>&1 || true
        sed -i "s/^\(ok\|not ok\) - /\1 - $name, $ranks ranks: /" "$out.check"
        count_lines "$out.check"
        ls "$out"/*.tmp.* > /dev/null 2>&1 && notok "$name, $ranks ranks: no temporary file left" ||
            ok "$name, $ranks ranks: no temporary file left"
    done
    # Rank counts give the same page (but for the footer).
    if cmp -s <(grep -v '^<footer>' "$TMP/$name-1/report.html") \
        <(grep -v '^<footer>' "$TMP/$name-3/report.html"); then
        ok "$name: the page is the same from 1 and 3 ranks"
    else
        notok "$name: the page is the same from 1 and 3 ranks"
    fi
done

# The many-category month: top lists bounded.
if [ -s "$TMP/many-1/report.html" ]; then
    bars=$(grep -c 'id="chart-categories-browsed"' "$TMP/many-1/report.html")
    n=$("$PY" -c "
import re,sys
page=open(sys.argv[1]).read()
chart=page[page.index('id=\"chart-categories-browsed\"'):]
chart=chart[:chart.index('</svg>')]
print(chart.count('class=\"bar '))" "$TMP/many-1/report.html")
    check "many categories: the browsed chart shows 8 + other = 9 bars, not 3,000 (got $n)" \
        [ "$bars" = 1 ] && [ "$n" = 9 ]
fi

# --- 2. with a model ------------------------------------------------------------------------
if [ -r "$oct" ]; then
    model=$TMP/model.h5
    if with_timeout $MPIRUN 2 $CLICKMILL train -q --trees 20 --test-fraction 0.3 -m "$model" \
        "$oct" > "$TMP/train.log" 2>&1; then
        ok "train a model on the October head"
        page=$TMP/with-model.html
        if with_timeout $MPIRUN 2 $CLICKMILL report "$TMP/oct-1/results.h5" --model "$model" \
            --car-min-carts 10 -o "$page" > "$TMP/model-report.log" 2>&1; then
            ok "report --model"
            "$PY" test/report_check.py "$page" "$TMP/oct-1/results.h5" --model "$model" \
                --car-min-carts 10 > "$TMP/model.check" 2>&1 || true
            sed -i 's/^\(ok\|not ok\) - /\1 - with a model: /' "$TMP/model.check"
            count_lines "$TMP/model.check"
        else
            notok "report --model"
            diag < "$TMP/model-report.log"
        fi
    else
        notok "train a model on the October head"
        diag < "$TMP/train.log"
    fi
fi

# --- 3. in a browser ------------------------------------------------------------------------
if command -v chromium > /dev/null && command -v chromedriver > /dev/null; then
    for page in "$TMP/with-model.html" "$TMP/special-1/report.html" "$TMP/many-1/report.html" \
        "$TMP/empty-1/report.html"; do
        [ -s "$page" ] || continue
        label=$(basename "$(dirname "$page")")
        [ "$label" = "${TMP##*/}" ] && label=with-model
        shot=$SCREENSHOTS/report-$label.png
        with_timeout "$PY" test/report_browser.py "$page" "$shot" > "$TMP/browser-$label" 2>&1
        sed -i "s/^\(ok\|not ok\) - /\1 - browser, $label: /" "$TMP/browser-$label"
        count_lines "$TMP/browser-$label"
        grep -q '^\(ok\|not ok\) - ' "$TMP/browser-$label" ||
            notok "browser, $label: the browser test ran"
    done
elif [ -n "${CI:-}" ]; then
    notok "browser tests: chromium and chromedriver are required in CI (.ci/run installs them)"
else
    skip "browser tests: install chromium and chromidriver (apt-get install chromium chromium-driver)"
fi

# --- 4. errors ------------------------------------------------------------------------------
results=$TMP/edge-1/results.h5
damaged=$TMP/damaged
mkdir -p "$damaged" "$TMP/nothing-here"
cp "$results" "$damaged/no-days.h5"
"$PY" -c "import h5py,sys; f=h5py.File(sys.argv[1],'a'); del f['days']" "$damaged/no-days.h5"
cp "$results" "$damaged/wrong-type.h5"
"$PY" - "$damaged/wrong-type.h5" <<'EOF'
import h5py, numpy, sys
f = h5py.File(sys.argv[1], "a")
hours = f["hours"][()]
del f["hours"]
dtype = [(n, "f8") if n == "views" else (n, hours.dtype[n]) for n in hours.dtype.names]
f["hours"] = numpy.zeros(len(hours), dtype=dtype)
EOF
cp "$results" "$damaged/no-attributes.h5"
"$PY" -c "import h5py,sys; f=h5py.File(sys.argv[1],'a'); del f.attrs['rows_read']" \
    "$damaged/no-attributes.h5"
head -c 3000 "$results" > "$damaged/truncated.h5"
echo "not a results file" > "$damaged/text.h5"
"$PY" -c "import h5py,sys; h5py.File(sys.argv[1],'w').create_dataset('x', data=[1])" \
    "$damaged/foreign.h5"
readonly_dir=$TMP/readonly
mkdir -p "$readonly_dir"
chmod 555 "$readonly_dir"

# run_error LABEL WANT_STATUS OUTPUT TEXT... -- ARGS...: runs report (one rank, started
# directly; the analyze --report error below runs under mpirun), expects the outcome,
# and that OUTPUT was not written (nor a temporary file beside it).
run_error() {
    local label=$1 want=$2 output=$3 texts=()
    shift 3
    while [ "$1" != -- ]; do texts+=("$1"); shift; done
    shift
    local err=$TMP/error.$RANDOM
    with_timeout $CLICKMILL report "$@" > /dev/null 2> "$err"
    expect_outcome "report $label" $? "$err" "$want" "${texts[@]}"
    if [ -n "$output" ]; then
        if [ -e "$output" ] || ls "$output".tmp.* > /dev/null 2>&1; then
            notok "report $label: no page and no temporary file written"
        else
            ok "report $label: no page and no temporary file written"
        fi
    fi
}

out=$TMP/error-out.html
run_error "of a missing file" 1 "$out" "$TMP/missing.h5" "No such file" -- "$TMP/missing.h5" -o "$out"
run_error "of a directory without results.h5" 1 "$out" "results.h5" -- "$TMP/nothing-here" -o "$out"
run_error "of a text file" 1 "$out" "not an HDF5 file" -- "$damaged/text.h5" -o "$out"
run_error "of a truncated results.h5" 1 "$out" "truncated.h5" -- "$damaged/truncated.h5" -o "$out"
run_error "of another program's HDF5" 1 "$out" "foreign.h5" "table" -- "$damaged/foreign.h5" -o "$out"
run_error "of results.h5 without its days table" 1 "$out" "days" -- "$damaged/no-days.h5" -o "$out"
run_error "of results.h5 whose hours.views is not an integer" 1 "$out" "hours" "views" -- \
    "$damaged/wrong-type.h5" -o "$out"
run_error "of results.h5 without its run attributes" 1 "$out" "not a results file" -- \
    "$damaged/no-attributes.h5" -o "$out"
if [ -r "$oct" ] && [ -s "$TMP/model.h5" ]; then
    run_error "of a model given as results" 1 "$out" "clickmill-model" "not the results" -- \
        "$TMP/model.h5" -o "$out"
    run_error "with results given as the model" 1 "$out" "model" -- "$results" --model "$results" -o "$out"
fi
run_error "with a missing model" 1 "$out" "missing-model.h5" -- "$results" --model "$TMP/missing-model.h5" -o "$out"
run_error "with the page written over results.h5" 2 "" "input" -- "$results" -o "$results"
if [ "$(id -u)" != 0 ] || [ -n "${CI_UNPRIVILEGED:-}" ]; then
    run_error "into a read-only directory" 1 "$readonly_dir/r.html" "$readonly_dir" -- \
        "$results" -o "$readonly_dir/r.html"
fi
run_error "into a directory that does not exist" 1 "$TMP/no/such/dir/r.html" "$TMP/no/such/dir" -- \
    "$results" -o "$TMP/no/such/dir/r.html"
run_error "into a path that is a directory" 2 "" "directory" -- "$results" -o "$TMP/nothing-here"
run_error "with --top 0" 2 "$out" "--top" -- "$results" --top 0 -o "$out"
run_error "with --top 101" 2 "$out" "--top" -- "$results" --top 101 -o "$out"
run_error "with --car-min-carts -1" 2 "$out" "--car-min-carts" -- "$results" --car-min-carts -1 -o "$out"
run_error "with no results file" 2 "" "results" --
run_error "with two results files" 2 "$out" "one results file" -- "$results" "$results" -o "$out"
run_error "with an unknown option" 2 "$out" "--colour" -- "$results" --colour -o "$out"
err=$TMP/analyze-report.err
with_timeout $MPIRUN 2 $CLICKMILL analyze -q --out "$TMP/ar" --report "$special" "$special" \
    > /dev/null 2> "$err"
expect_outcome "analyze --report over its input" $? "$err" 2 "input"
cmp -s "$special" <(cat "$special") && ok "analyze --report over its input: the input is intact" ||
    notok "analyze --report over its input: the input is intact"
with_timeout $CLICKMILL report --help > "$TMP/help" 2>&1
check "report --help says what the page holds and the options" \
    grep -q -- "--model" "$TMP/help"
chmod 755 "$readonly_dir"

finish
