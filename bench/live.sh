#!/usr/bin/env bash
# Live scoring speed: `predict --stream` events per second on one process, and `serve`'s
# POST /predict latency under load on loopback (wrk at full speed, and a client holding 1,000
# requests per second), with a model trained on 1M generated rows.
#
# usage: bench/live.sh [ROWS]   (events streamed; default 10000000)
# Environment: DATA (default bench-data), SECONDS_LOAD (wrk's run, default 10),
#   MPIRUN (default "mpirun --allow-run-as-root --oversubscribe -np").
# Targets (issue 8): streaming at least 500,000 events/s on one core; /predict p99 under 1 ms
# at 1,000 requests/s.
set -eu
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}
DATA=${DATA:-bench-data}
SECONDS_LOAD=${SECONDS_LOAD:-10}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe -np}
PYTHON=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

if ! command -v wrk > /dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk > /dev/null
    else
        echo "bench/live.sh: wrk is missing: sudo apt-get install wrk" >&2
        exit 1
    fi
fi
mkdir -p "$DATA"
for rows in 1000000 "$ROWS"; do
    if [ ! -s "$DATA/events-$rows.csv" ]; then
        echo "generating $rows rows into $DATA/events-$rows.csv" >&2
        $MPIRUN 2 bin/clickmill generate --rows "$rows" -o "$DATA/events-$rows.csv" >&2
    fi
done
out=$(mktemp -d "${TMPDIR:-/tmp}/clickmill-bench-live.XXXXXX")
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT
model=$out/model.h5
$MPIRUN 2 bin/clickmill train -q -m "$model" "$DATA/events-1000000.csv" > /dev/null
input=$DATA/events-$ROWS.csv
cat "$input" > /dev/null

echo "machine: $(nproc) cores; $(bin/clickmill --version); model: 100 trees of depth 12 from 1M rows"
echo
echo "predict --stream, $ROWS events ($(du -m "$input" | cut -f1) MB), one process:"
for how in file pipe; do
    start=$(date +%s.%N)
    if [ "$how" = file ]; then
        /usr/bin/time -f "%M" -o "$out/rss" bin/clickmill predict -q -m "$model" --stream \
            < "$input" > "$out/scored.csv"
    else
        cat "$input" | /usr/bin/time -f "%M" -o "$out/rss" bin/clickmill predict -q -m "$model" \
            --stream > "$out/scored.csv"
    fi
    end=$(date +%s.%N)
    "$PYTHON" -c "
import sys
rows, seconds, scored, rss = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]), int(sys.argv[4]) - 1, int(sys.argv[5])
print(f'  from a {sys.argv[6]:4}: {seconds:6.2f} s, {rows / seconds:,.0f} events/s, {scored:,} carts scored, peak RSS {rss / 1024:,.0f} MB')
" "$ROWS" "$start" "$end" "$(wc -l < "$out/scored.csv")" "$(cat "$out/rss")" "$how"
done

bin/clickmill serve -m "$model" --port 0 > "$out/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do
    port=$(sed -n 's/.*:\([0-9][0-9]*\)\/ (model.*/\1/p' "$out/serve.log")
    [ -n "$port" ] && break
    sleep 0.1
done
url=http://127.0.0.1:$port
body='{"category":"electronics","product":"smartphone","brand":"samsung","price":199.99,"hour":14,"weekday":2,"events_before":6,"views_before":5,"products_viewed":3,"categories_viewed":1,"views_of_product":2,"seconds_in_session":420,"seconds_since_last":35,"price_vs_viewed":1.2}'
cat > "$out/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
EOF
echo
echo "serve, POST /predict on loopback:"
for connections in 1 4; do
    wrk -t1 -c"$connections" -d"${SECONDS_LOAD}s" --latency -s "$out/post.lua" "$url/predict" \
        > "$out/wrk.txt"
    rate=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$out/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$out/wrk.txt")
    errors=$(grep -c "Non-2xx\|Socket errors" "$out/wrk.txt" || true)
    echo "  wrk, $connections connection(s), as fast as it answers: $rate requests/s, p50 $p50, p99 $p99$( [ "$errors" = 0 ] || echo ", ERRORS: $(grep -E 'Non-2xx|Socket errors' "$out/wrk.txt")")"
done
"$PYTHON" - "$url" "$body" "$SECONDS_LOAD" <<'EOF'
# 1,000 requests a second, each sent on time (a steady clock, not after the last answer), on
# one keep-alive connection; the latency of each from send to the end of its answer.
import http.client, sys, time, urllib.parse
url, body, seconds = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3])
parts = urllib.parse.urlsplit(url)
connection = http.client.HTTPConnection(parts.hostname, parts.port)
headers = {"Content-Type": "application/json"}
latencies, start, late = [], time.perf_counter(), 0
n = int(1000 * seconds)
for i in range(n):
    due = start + i / 1000
    now = time.perf_counter()
    if now < due:
        time.sleep(due - now)
    elif now - due > 0.001:
        late += 1
    sent = time.perf_counter()
    connection.request("POST", "/predict", body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 200
    latencies.append(time.perf_counter() - sent)
elapsed = time.perf_counter() - start
latencies.sort()
q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
print(f"  a client at 1,000 requests/s for {seconds:.0f} s ({n / elapsed:,.0f}/s held; "
      f"{late} sent over 1 ms late): p50 {q(0.5):.3f} ms, p99 {q(0.99):.3f} ms, "
      f"max {latencies[-1] * 1000:.3f} ms (measured in Python: its own time included)")
EOF
kill -TERM "$server"
wait "$server" 2> /dev/null || true
server=""
