#!/usr/bin/env bash
# Integration test of live scoring: `predict --stream` and `serve`.
#
# What it checks:
#  1. predict --stream gives, for every first cart of a product in a session, the probability
#     batch `predict` gives (same extractor, same forest): on the training fixture (its rows in
#     time order, bad rows included) and on the real October head extract (skipped if absent),
#     with and without a header line, with the columns in another order, with CRLF line ends.
#  2. It answers as events arrive: a pipe fed one line at a time gets each cart's line before
#     the next event is written.
#  3. Session state is bounded: an idle gap over --session-timeout starts the session anew,
#     --max-sessions forgets the least recently active; bad lines are reported with their line
#     number and skipped, --max-rejects stops; usage errors exit 2.
#  4. serve: test/serve_check.py (probabilities against a forest scorer of its own reading
#     model.h5, /model against model.h5, /events against predict --stream, every kind of bad
#     request, too many connections, bodies over the limit); curl against /health, /predict and
#     an oversized body; loopback only by default; SIGTERM and SIGINT stop it at once with exit
#     0; a port in use, a bad address, a missing model: clear errors.
#  5. In headless Chromium (test/serve_browser.py): the form is filled, the button clicked, and
#     the page shows what /predict answers. Skipped without chromium, failed when CI is set.
#
# Usage: test/serve.sh   (from anywhere)
# Environment: CLICKMILL, SHARED, RUN_TIMEOUT, KEEP_TMP as in test/train.sh.

set -u

cd "$(dirname "$0")/.." || exit 2
# shellcheck source-path=SCRIPTDIR/..
. test/lib.sh

CLICKMILL=${CLICKMILL:-bin/clickmill}
SHARED=${SHARED:-../shared/data/rees46}
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

scratch_dir clickmill-serve
SERVERS=()
stop_servers() {
    local pid
    for pid in "${SERVERS[@]}"; do kill "$pid" 2> /dev/null; done
}
trap 'stop_servers; [ "${KEEP_TMP:-0}" != 0 ] || rm -rf "$TMP"' EXIT

# The fixture's rows in time order (a stream's events come in time order), stable, so events of
# the same second keep their file order; rejected rows stay in, for both commands to reject.
sorted=$TMP/fixture-sorted.csv
"$PY" - test/data/train_fixture.csv test/data/train_fixture2.csv > "$sorted" <<'EOF'
import csv, sys
header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session".split(",")
rows = []
for path in sys.argv[1:]:
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rows.append([row[c] for c in header])
rows.sort(key=lambda r: r[0])
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(header)
w.writerows(rows)
EOF

model=$TMP/model.h5
if with_timeout $CLICKMILL train -q --test-days 2 -m "$model" test/data/train_fixture.csv \
    test/data/train_fixture2.csv > "$TMP/train.log" 2>&1; then
    ok "train a model on the fixture"
else
    notok "train a model on the fixture"
    diag < "$TMP/train.log"
    finish
fi

# stream_equals_batch LABEL FILE [STREAM_INPUT]: the stream's lines (sorted) equal batch
# predict's first four columns (sorted); the stream reads STREAM_INPUT (default FILE).
stream_equals_batch() {
    local label=$1 file=$2 input=${3:-$2}
    $CLICKMILL predict -q -m "$model" "$file" 2> /dev/null | cut -d, -f1-4 | sort > "$TMP/batch"
    with_timeout $CLICKMILL predict -q -m "$model" --stream --session-timeout 0 < "$input" \
        2> "$TMP/stream.err" | sort > "$TMP/stream"
    local n
    n=$(($(wc -l < "$TMP/batch") - 1))
    if [ "$n" -gt 0 ] && cmp -s "$TMP/batch" "$TMP/stream"; then
        ok "$label: the stream's $n probabilities equal batch predict's"
    else
        notok "$label: the stream's probabilities equal batch predict's ($n carts)"
        diff "$TMP/batch" "$TMP/stream" | diag 8
    fi
}

# --- 1. stream = batch ---------------------------------------------------------------------
stream_equals_batch "fixture (time order, bad rows in)" "$sorted"
tail -n +2 "$sorted" > "$TMP/no-header.csv"
stream_equals_batch "fixture without a header line" "$sorted" "$TMP/no-header.csv"
sed 's/$/\r/' "$sorted" > "$TMP/crlf.csv"
stream_equals_batch "fixture with CRLF line ends" "$sorted" "$TMP/crlf.csv"
grep -q "stdin:" "$TMP/stream.err" && ok "the fixture's bad rows are reported with their line" ||
    notok "the fixture's bad rows are reported with their line"
oct=$SHARED/oct2019-head/2019-Oct-head.csv
if [ -r "$oct" ]; then
    stream_equals_batch "October head extract" "$oct"
    "$PY" - "$oct" > "$TMP/oct-columns.csv" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
order = [8, 6, 1, 2, 5, 0, 4, 7, 3]
w = csv.writer(sys.stdout, lineterminator="\n")
for row in rows:
    w.writerow([row[i] for i in order])
EOF
    stream_equals_batch "October head, columns in another order (the header says which)" \
        "$oct" "$TMP/oct-columns.csv"
else
    skip "the real October head extract ($oct is absent)"
fi

# --- 2. live: an answer per cart before the next event -------------------------------------
if with_timeout "$PY" - "$CLICKMILL" "$model" "$sorted" > "$TMP/live.log" 2>&1 <<'EOF'
import select, subprocess, sys, time
binary, model, events = sys.argv[1:4]
p = subprocess.Popen([binary, "predict", "-q", "-m", model, "--stream", "--session-timeout", "0"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                     bufsize=0)
def line(timeout=10):
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    if not ready:
        sys.exit("no line within %d s while the pipe stayed open" % timeout)
    out = b""
    while not out.endswith(b"\n"):
        out += p.stdout.read(1)
    return out.decode()
header = line()
assert header.startswith("event_time,user_session"), header
rows = open(events, "rb").read().splitlines(keepends=True)
answered = 0
for row in rows:
    p.stdin.write(row)
    if b",cart," in row and not row.startswith(b"2019-02-30"):
        # a first cart of a product gets its line now; a repeated cart gets none
        ready, _, _ = select.select([p.stdout], [], [], 2)
        if ready:
            line()
            answered += 1
p.stdin.close()
rest = p.stdout.read().decode().splitlines()
assert p.wait() == 0
assert answered > 0 and rest == [], (answered, rest)
print(f"{answered} carts answered while the pipe stayed open, none left for the end")
EOF
then
    ok "live pipe: $(tail -1 "$TMP/live.log")"
else
    notok "live pipe: every cart's line arrives before the next event is written"
    diag < "$TMP/live.log"
fi

# --- 3. bounded state, bad lines, usage ----------------------------------------------------
gap=$TMP/gap.csv
{
    echo "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
    echo "2019-10-01 10:00:00 UTC,view,1000001,1,electronics.smartphone,samsung,200.00,1,00000000-0000-4000-8000-000000000001"
    echo "2019-10-01 10:01:00 UTC,cart,1000001,1,electronics.smartphone,samsung,200.00,1,00000000-0000-4000-8000-000000000001"
    echo "2019-10-01 10:02:00 UTC,view,1000002,1,electronics.smartphone,apple,900.00,2,00000000-0000-4000-8000-000000000002"
    echo "2019-10-01 12:30:00 UTC,cart,1000001,1,electronics.smartphone,samsung,200.00,1,00000000-0000-4000-8000-000000000001"
    echo "2019-10-01 12:31:00 UTC,cart,1000002,1,electronics.smartphone,apple,900.00,2,00000000-0000-4000-8000-000000000002"
} > "$gap"
n_default=$($CLICKMILL predict -m "$model" --stream < "$gap" 2> "$TMP/gap.err" | tail -n +2 | wc -l)
n_never=$($CLICKMILL predict -q -m "$model" --stream --session-timeout 0 < "$gap" | tail -n +2 | wc -l)
check "a session back after 2.5 idle hours starts anew with the default 30 minutes (3 carts scored, not 2: got $n_default and $n_never)" \
    [ "$n_default" = 3 ] && [ "$n_never" = 2 ]
check "the summary counts the sessions started anew after the timeout" \
    grep -q "2 started anew after the timeout" "$TMP/gap.err"
# One event far ahead in time (a clock gone wrong) changes nothing for the other sessions:
# each session is judged by its own events.
{ head -4 "$gap"; echo "2099-01-01 00:00:00 UTC,view,1,1,a.b,c,1.00,9,00000000-0000-4000-8000-000000000009"; tail -n +5 "$gap"; } > "$TMP/future.csv"
$CLICKMILL predict -q -m "$model" --stream < "$TMP/future.csv" > "$TMP/future.out"
$CLICKMILL predict -q -m "$model" --stream < "$gap" > "$TMP/gap.out"
check "an event in 2099 in the middle of the stream changes no other session's scores" \
    cmp -s "$TMP/future.out" "$TMP/gap.out"
# A header with the BOM batch files may have is a header; one that misses a column stops the
# stream with the reason, rather than reading columns from the wrong places.
{ printf '\xef\xbb\xbf'; cat "$gap"; } | $CLICKMILL predict -q -m "$model" --stream > "$TMP/bom.out" 2> "$TMP/bom.err"
check "a header after a UTF-8 BOM: read as the header, the same scores" cmp -s "$TMP/bom.out" "$TMP/gap.out"
sed '1s/user_session/session/' "$gap" | $CLICKMILL predict -q -m "$model" --stream > /dev/null 2> "$TMP/hdr.err"
expect_outcome "a header without user_session" $? "$TMP/hdr.err" 1 "line 1" "lacks column 'user_session'"
# A line with no end: read up to 1 MiB, the rest dropped as it comes (memory stays bounded).
{ head -3 "$gap"; head -c 300000000 /dev/zero | tr '\0' a; echo; tail -n +4 "$gap"; } |
    /usr/bin/time -f "%M" -o "$TMP/long.rss" $CLICKMILL predict -q -m "$model" --stream \
    --session-timeout 0 > "$TMP/long.out" 2> "$TMP/long.err"
rss=$(tail -1 "$TMP/long.rss")
check "a 300 MB line: rejected as too long, the rest scored, peak memory $((rss / 1024)) MB" \
    sh -c "grep -q 'longer than 1 MiB' '$TMP/long.err' && [ $rss -lt 200000 ] && [ \$(tail -n +2 '$TMP/long.out' | wc -l) = 2 ]"
# Writing to a full disk: said, exit 1.
$CLICKMILL predict -q -m "$model" --stream < "$gap" > /dev/full 2> "$TMP/full.err"
expect_outcome "scores written to /dev/full" $? "$TMP/full.err" 1 "writing the scores failed"
$CLICKMILL predict -m "$model" --stream --session-timeout 0 --max-sessions 1 < "$gap" \
    > "$TMP/cap.out" 2> "$TMP/cap.err"
check "--max-sessions 1 with two sessions: the least recently active is forgotten, no crash" \
    grep -q "at the cap" "$TMP/cap.err"
bad=$TMP/bad.csv
{ head -3 "$gap"; echo "2019-10-01 10:01:30 UTC,view,nope,1,x,y,1.00,1,s"; echo; tail -n +4 "$gap"; } > "$bad"
$CLICKMILL predict -q -m "$model" --stream --session-timeout 0 < "$bad" > "$TMP/bad.out" 2> "$TMP/bad.err"
st=$?
check "bad lines: exit 0, the other lines scored as without them (2 carts)" \
    [ "$st" = 0 ] && [ "$(tail -n +2 "$TMP/bad.out" | wc -l)" = 2 ]
check "bad lines: stdin:4 and stdin:5 reported with their reasons" \
    grep -q "stdin:4: product_id" "$TMP/bad.err"
grep -q "stdin:5: " "$TMP/bad.err" && ok "an empty line is reported too" || notok "an empty line is reported too"
$CLICKMILL predict -q -m "$model" --stream --max-rejects 0 < "$bad" > /dev/null 2> "$TMP/max.err"
expect_outcome "--stream --max-rejects 0 with a bad line" $? "$TMP/max.err" 1 "more than 0 rows rejected"
$CLICKMILL predict -q -m "$model" --stream < /dev/null > "$TMP/empty.out" 2>&1
check "empty input: the header line only, exit 0" [ "$(cat "$TMP/empty.out")" = "event_time,user_session,product_id,probability" ]
for args in "--stream $sorted" "--stream -o $TMP/x.csv" "--stream --max-sessions 0" \
    "--stream --session-timeout -1" "--stream --threshold 0.3"; do
    # shellcheck disable=SC2086
    $CLICKMILL predict -m "$model" $args < /dev/null > /dev/null 2> "$TMP/usage.err"
    expect_outcome "predict $args" $? "$TMP/usage.err" 2
done
with_timeout mpirun --allow-run-as-root --oversubscribe -np 2 $CLICKMILL predict -m "$model" \
    --stream < /dev/null > /dev/null 2> "$TMP/np2.err"
expect_outcome "predict --stream under mpirun -np 2" $? "$TMP/np2.err" 2 "one process"
$CLICKMILL predict -m "$TMP/none.h5" --stream < /dev/null > /dev/null 2> "$TMP/nomodel.err"
expect_outcome "predict --stream with a missing model" $? "$TMP/nomodel.err" 1 "none.h5"

# --- 4. serve --------------------------------------------------------------------------------
# start_server LOG ARGS...: starts serve in the background, sets PID and PORT.
start_server() {
    local log=$1
    shift
    $CLICKMILL serve -m "$model" --port 0 "$@" > "$log" 2> "$log.err" &
    PID=$!
    SERVERS+=("$PID")
    PORT=""
    for _ in $(seq 50); do
        PORT=$(sed -n 's/.*:\([0-9][0-9]*\)\/ (model.*/\1/p' "$log")
        [ -n "$PORT" ] && return 0
        kill -0 "$PID" 2> /dev/null || return 1
        sleep 0.1
    done
    return 1
}

if start_server "$TMP/serve.log" --session-timeout 0 --max-connections 4 --max-body 65536; then
    ok "serve --port 0 starts and says where: $(head -1 "$TMP/serve.log")"
    URL=http://127.0.0.1:$PORT
    # /events refuses a body with a bad line whole: the fixture without its rejected rows
    $CLICKMILL analyze -q --out "$TMP/clean-analysis" --rejects "$TMP/rejects.csv" "$sorted" \
        > /dev/null 2>&1
    "$PY" - "$sorted" "$TMP/rejects.csv" > "$TMP/clean.csv" <<'EOF'
import csv, sys
bad = {int(r["line"]) for r in csv.DictReader(open(sys.argv[2], newline=""))}
for number, line in enumerate(open(sys.argv[1], newline=""), 1):
    if number not in bad:
        sys.stdout.write(line)
EOF
    $CLICKMILL predict -q -m "$model" --stream --session-timeout 0 < "$TMP/clean.csv" \
        > "$TMP/expected"
    with_timeout "$PY" test/serve_check.py "$URL" "$model" "$TMP/clean.csv" "$TMP/expected" 4 65536 \
        > "$TMP/serve.check" 2>&1
    sed -i 's/^\(ok\|not ok\) - /\1 - serve: /' "$TMP/serve.check"
    cat "$TMP/serve.check"
    PASSED=$((PASSED + $(grep -c '^ok - ' "$TMP/serve.check")))
    FAILED=$((FAILED + $(grep -c '^not ok - ' "$TMP/serve.check")))
    grep -q '^\(ok\|not ok\) - ' "$TMP/serve.check" || { notok "serve_check.py ran"; diag < "$TMP/serve.check"; }
    # curl, as a user would
    check "curl GET /health: 200 and status ok" \
        sh -c "curl -s -m 10 '$URL/health' | grep -q '\"status\":\"ok\"'"
    answer=$(curl -s -m 10 -H 'Content-Type: application/json' \
        -d '{"category":"electronics","brand":"samsung","price":199.99,"views_before":3}' "$URL/predict")
    check "curl POST /predict: a probability and a verdict ($answer)" \
        sh -c "echo '$answer' | grep -q '\"probability\":[0-9.e-]*,\"purchase\":\(true\|false\)'"
    code=$(head -c 200000 /dev/zero | tr '\0' ' ' | curl -s -m 10 -o /dev/null -w '%{http_code}' \
        --data-binary @- "$URL/predict")
    check "curl POST /predict with a 200 kB body over a 64 kB limit: 413 (got $code)" [ "$code" = 413 ]
    code=$(curl -s -m 10 -o "$TMP/page.html" -w '%{http_code}' "$URL/")
    check "curl GET /: 200 and the page (got $code)" \
        sh -c "[ '$code' = 200 ] && grep -q 'Will they buy' '$TMP/page.html'"
    if command -v ss > /dev/null; then
        check "it listens on 127.0.0.1 only by default" \
            sh -c "ss -ltn | grep -q '127.0.0.1:$PORT ' && ! ss -ltn | grep -q '0.0.0.0:$PORT '"
    fi
    # --- 5. the page in a browser
    if command -v chromium > /dev/null && command -v chromedriver > /dev/null; then
        (cd test && with_timeout "$PY" serve_browser.py "$URL/" electronics samsung \
            "$TMP/serve-page.png") > "$TMP/browser.log" 2>&1
        sed -i 's/^\(ok\|not ok\) - /\1 - serve page in Chromium: /' "$TMP/browser.log"
        cat "$TMP/browser.log"
        PASSED=$((PASSED + $(grep -c '^ok - ' "$TMP/browser.log")))
        FAILED=$((FAILED + $(grep -c '^not ok - ' "$TMP/browser.log")))
        grep -q '^\(ok\|not ok\) - ' "$TMP/browser.log" || { notok "serve_browser.py ran"; diag < "$TMP/browser.log"; }
    elif [ -n "${CI:-}" ]; then
        notok "serve page in Chromium: chromium and chromedriver are required in CI"
    else
        skip "serve page in Chromium: install chromium and chromium-driver"
    fi
    # a second server on the same port
    $CLICKMILL serve -m "$model" --port "$PORT" > /dev/null 2> "$TMP/inuse.err"
    expect_outcome "serve on a port in use" $? "$TMP/inuse.err" 1 "cannot listen" "$PORT"
    start=$(date +%s%N)
    kill -TERM "$PID"
    wait "$PID"
    st=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    check "SIGTERM: exit 0 in ${ms} ms, saying so" \
        sh -c "[ $st = 0 ] && [ $ms -lt 5000 ] && grep -q 'stopped by SIGTERM' '$TMP/serve.log.err'"
else
    notok "serve --port 0 starts and says where"
    diag < "$TMP/serve.log.err"
fi
if start_server "$TMP/serve2.log"; then
    kill -INT "$PID"
    wait "$PID"
    check "SIGINT: exit 0, saying so" sh -c "[ $? = 0 ] && grep -q 'stopped by SIGINT' '$TMP/serve2.log.err'"
fi
$CLICKMILL serve -m "$model" --bind 300.1.2.3 > /dev/null 2> "$TMP/bind.err"
expect_outcome "serve --bind 300.1.2.3" $? "$TMP/bind.err" 2 "300.1.2.3"
$CLICKMILL serve > /dev/null 2> "$TMP/nomodel.err"
expect_outcome "serve without --model" $? "$TMP/nomodel.err" 2 "--model"
$CLICKMILL serve -m "$sorted" > /dev/null 2> "$TMP/notmodel.err"
expect_outcome "serve with a CSV file as the model" $? "$TMP/notmodel.err" 1 "not a model"
$CLICKMILL serve -m "$model" --port 70000 > /dev/null 2> "$TMP/port.err"
expect_outcome "serve --port 70000" $? "$TMP/port.err" 2 "--port"
with_timeout mpirun --allow-run-as-root --oversubscribe -np 2 $CLICKMILL serve -m "$model" \
    > /dev/null 2> "$TMP/np2.err"
expect_outcome "serve under mpirun -np 2" $? "$TMP/np2.err" 2 "one process"

finish
