#!/usr/bin/env bash
# Fidelity of generated data: computes the shape figures of a REES46-format CSV with SQLite and
# compares them with the published October 2019 figures, within stated tolerances.
# usage: test/fidelity.sh FILE.csv        (any size; SQLite needs about 1 minute per 10M rows)
# Prints one row per figure (reference, generated, tolerance, ok) and ends with
# "N passed, N failed"; exits non-zero when a figure is out of tolerance.
set -u
file=${1:?usage: test/fidelity.sh FILE.csv}
db=$(mktemp -d)/fidelity.db
trap 'rm -rf "$(dirname "$db")"' EXIT

sqlite3 -batch -bail "$db" <<SQL || exit 2
CREATE TABLE e(event_time TEXT, event_type TEXT, product_id INTEGER, category_id INTEGER,
               category_code TEXT, brand TEXT, price REAL, user_id INTEGER, user_session TEXT);
.import --csv --skip 1 "$file" e
CREATE INDEX e_session ON e(user_session);
CREATE TABLE s AS
  SELECT user_session, count(*) AS n,
         (julianday(substr(max(event_time),1,19)) - julianday(substr(min(event_time),1,19))) * 1440 AS minutes
  FROM e WHERE user_session <> '' GROUP BY user_session;
CREATE TABLE u AS SELECT user_id, count(*) AS n, count(DISTINCT user_session) AS sessions FROM e GROUP BY user_id;
SQL

q() { sqlite3 -batch "$db" "$1"; }
# pct TABLE COLUMN P [WHERE]: the P-th percentile (nearest rank).
pct() {
  local where=${4:-1}
  q "SELECT $2 FROM $1 WHERE $where ORDER BY $2 LIMIT 1 OFFSET
     (SELECT CAST(($3 / 100.0) * (count(*) - 1) AS INTEGER) FROM $1 WHERE $where);"
}

passed=0 failed=0
# figure NAME REFERENCE VALUE LOW HIGH: ok when LOW <= VALUE <= HIGH.
figure() {
  local name=$1 ref=$2 value=$3 low=$4 high=$5 verdict
  if awk -v v="$value" -v lo="$low" -v hi="$high" 'BEGIN { exit !(v + 0 >= lo + 0 && v + 0 <= hi + 0) }'; then
    verdict=ok; passed=$((passed + 1))
  else
    verdict="OUT"; failed=$((failed + 1))
  fi
  printf '| %-48s | %12s | %12s | %-17s | %-3s |\n' "$name" "$ref" "$value" "$low .. $high" "$verdict"
}

rows=$(q "SELECT count(*) FROM e;")
echo "fidelity of $file ($rows rows)"
echo
printf '| %-48s | %12s | %12s | %-17s | %-3s |\n' figure reference generated tolerance ""
echo "|--------------------------------------------------|--------------|--------------|-------------------|-----|"
share() { q "SELECT round(100.0 * sum($1) / count(*), 2) FROM e;"; }
figure "view events, % of events" 96.07 "$(share "event_type = 'view'")" 95.5 96.6
figure "cart events, % of events" 2.18 "$(share "event_type = 'cart'")" 1.9 2.5
figure "purchase events, % of events" 1.75 "$(share "event_type = 'purchase'")" 1.5 2.0
figure "events per session, median" 2 "$(pct s n 50)" 2 2
figure "events per session, mean" 4.59 "$(q "SELECT round(avg(n), 2) FROM s;")" 4.1 5.1
figure "events per session, p90" 10 "$(pct s n 90)" 8 12
figure "events per session, p99" 32 "$(pct s n 99)" 26 38
figure "sessions per user" 3.06 "$(q "SELECT round(avg(sessions), 2) FROM u;")" 2.6 3.5
figure "events per user" 14.05 "$(q "SELECT round(avg(n), 2) FROM u;")" 11 17
figure "session minutes (>1 event), median" 3.02 "$(pct s minutes 50 'n > 1' | xargs printf '%.2f')" 2 4.5
figure "session minutes (>1 event), p99" 111.5 "$(pct s minutes 99 'n > 1' | xargs printf '%.1f')" 60 200
figure "sessions spanning over 24 h, % of sessions" 0.185 "$(q "SELECT round(100.0 * sum(minutes > 1440) / count(*), 3) FROM s;")" 0.05 0.6
figure "category_code missing, % of events" 31.84 "$(share "category_code = ''")" 30 33.5
figure "brand missing, % of events" 14.40 "$(share "brand = ''")" 12.5 16.5
figure "electronics.smartphone, % of events" 27.0 "$(share "category_code = 'electronics.smartphone'")" 25 29
figure "electronics.smartphone, % of purchases" 45.5 "$(q "SELECT round(100.0 * sum(category_code = 'electronics.smartphone') / count(*), 1) FROM e WHERE event_type = 'purchase';")" 41 50
top3=$(q "SELECT group_concat(brand, ' ') FROM (SELECT brand FROM e WHERE brand <> '' GROUP BY brand ORDER BY count(*) DESC LIMIT 3);")
figure "top brands by events are samsung apple xiaomi" 1 "$([ "$top3" = "samsung apple xiaomi" ] && echo 1 || echo 0)" 1 1
figure "price, median" 162.93 "$(pct e price 50)" 140 185
figure "price, mean" 290.32 "$(q "SELECT round(avg(price), 2) FROM e;")" 260 320
figure "price, maximum" 2574.07 "$(q "SELECT max(price) FROM e;")" 2574.07 2574.07
figure "zero-price rows, % of events" 0.16 "$(share "price = 0")" 0.03 0.6
figure "zero-price purchases" 0 "$(q "SELECT count(*) FROM e WHERE price = 0 AND event_type = 'purchase';")" 0 0
figure "purchases per 100 carts" 80.2 "$(q "SELECT round(100.0 * sum(event_type = 'purchase') / sum(event_type = 'cart'), 1) FROM e;")" 74 86
figure "purchases without a cart of it in the session, %" 54.7 "$(q "SELECT round(100.0 * sum(NOT EXISTS (SELECT 1 FROM e c WHERE c.user_session = p.user_session AND c.product_id = p.product_id AND c.event_type = 'cart')) / count(*), 1) FROM e p WHERE p.event_type = 'purchase';")" 48 61
figure "busiest hour of day (UTC)" 16 "$(q "SELECT substr(event_time, 12, 2) + 0 FROM e GROUP BY 1 ORDER BY count(*) DESC LIMIT 1;")" 14 17
figure "quietest hour of day (UTC)" 23 "$(q "SELECT substr(event_time, 12, 2) + 0 FROM e GROUP BY 1 ORDER BY count(*) LIMIT 1;")" 22 23.5
figure "duplicate rows, surplus per 100,000 rows" 71 "$(q "SELECT round(100000.0 * (SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM e)) FROM e) / count(*), 1) FROM e;")" 20 200
figure "rows with an empty user_session" 2 "$(q "SELECT count(*) FROM e WHERE user_session = '';")" 2 2
# Cart sessions per day: the regime of days 4-6 and 14-27 against the other days.
figure "cart sessions per day, regime days / other days" 2.07 "$(q "SELECT round(avg(CASE WHEN d IN (4,5,6) OR d BETWEEN 14 AND 27 THEN c END) / avg(CASE WHEN d IN (4,5,6) OR d BETWEEN 14 AND 27 THEN NULL ELSE c END), 2) FROM (SELECT substr(event_time, 9, 2) + 0 AS d, count(DISTINCT user_session) AS c FROM e WHERE event_type = 'cart' GROUP BY 1);")" 1.7 2.5
# Purchases per day against the original study's chart (thousands per day, October 2019).
ref_days="19.3 19.5 19.2 27.0 23.5 22.2 21.4 23.1 22.7 22.0 26.2 25.4 29.5 28.4 26.4 31.4 28.3 25.8 24.6 25.1 25.2 25.4 24.7 24.0 23.9 22.7 23.4 21.1 20.4 20.8 20.1"
values=$(q "SELECT group_concat(c, ' ') FROM (SELECT substr(event_time, 9, 2) + 0 AS d, count(*) AS c FROM e WHERE event_type = 'purchase' AND substr(event_time, 1, 7) = (SELECT substr(min(event_time), 1, 7) FROM e) GROUP BY 1 ORDER BY 1);")
correlation=$(awk -v a="$ref_days" -v b="$values" 'BEGIN {
  n = split(a, x, " "); m = split(b, y, " "); if (m < n) n = m
  for (i = 1; i <= n; i++) { sx += x[i]; sy += y[i] }
  mx = sx / n; my = sy / n
  for (i = 1; i <= n; i++) { cxy += (x[i] - mx) * (y[i] - my); cxx += (x[i] - mx) ^ 2; cyy += (y[i] - my) ^ 2 }
  printf "%.2f", (cxx > 0 && cyy > 0) ? cxy / sqrt(cxx * cyy) : 0 }')
figure "purchases per day, correlation with the study's" 1 "$correlation" 0.6 1

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
