#!/usr/bin/env bash
# Integration test of `clickmill train`, `predict` and `model-info`: the exported samples are
# compared with an independent computation by SQLite from the same input CSV file(s), under
# several MPI rank counts.
#
# What it checks (see test/README.md, "Models: test/train.sh"):
#  1. `train --export-features` on the hand-made fixture (test/data/train_fixture.csv +
#     train_fixture2.csv, columns in another order) with --test-days 2 and 3, and on the real
#     October head extract with --test-fraction 0.3: every sample (user_session, product_id,
#     event_time), every one of the 16 features, the label and the set equal SQLite's (integer
#     features exactly, price and price_vs_viewed to 1e-9 relative); the rows are sorted by
#     (event_time, session, product). SQLite's own rules are guarded by hand-computed samples.
#     The category/product/brand ids come from dictionaries counted over the training side
#     only (docs/model.md): with --test-days SQLite builds them and they must equal the
#     model's /dictionary_* datasets; with --test-fraction (a hash of the session SQL cannot
#     redo) the expected ids use the model's dictionaries, which are checked against bounds.
#  2. The exported features and predict's output are byte-identical for every rank count; two
#     trainings with the same seed and rank count give the same forest (the `nodes` dataset,
#     dumped by h5dump at full precision), another seed a different one.
#  3. predict: one row per sample, in the same order, `bought` = the label, probabilities in
#     [0, 1], `predicted` = probability >= 0.5; model-info's metrics (accuracy, precision,
#     recall, F1, ROC AUC, PR AUC, log loss on the train and test sets) recomputed by SQLite
#     from predict's probabilities and the exported sets.
#  4. No leak: a copy of the fixture whose events after the last cart of some sessions are
#     changed or added gives the same features for every sample, and labels that change
#     exactly where the changes say.
#  5. Errors: damaged, foreign, text, empty and missing model files (predict and model-info
#     exit 1 naming the file, no crash or abort), splits with an empty side, input without
#     carts, bad option values (exit 2).
#  6. model-info prints the parameters, the 16 features and the metrics.
#
# Usage: test/train.sh            (from anywhere; it cds to the repository root)
# Environment:
#   CLICKMILL    the binary                        (default: bin/clickmill)
#   MPIRUN       launcher; the rank count is appended to it
#                (default: "mpirun --allow-run-as-root --oversubscribe -np";
#                 e.g. MPIRUN="srun -n" also works)
#   RANKS        rank counts to run                 (default: "1 2 3")
#   SHARED       directory with the real REES46 extracts
#                (default: ../shared/data/rees46); missing data => skip
#   RUN_TIMEOUT  seconds allowed per clickmill run  (default: 120)
#   JOBS         error runs at a time (mpirun takes ~2 s to end a failed job; default 8)
#   KEEP_TMP     if set (and not 0), keep the scratch directory (databases, outputs, logs)
#
# Output: one line per check, "ok - ..." or "not ok - ..." (diagnostics after a failure are
# indented with "#"), "skip - ..." for unavailable data or tools, and at the end exactly one
# line "N passed, N failed". Exit status 1 if any failed.

# FIX_OPTS, MPIRUN and CLICKMILL are split into words on purpose.
# shellcheck disable=SC2086

set -u

cd "$(dirname "$0")/.." || exit 2
# shellcheck source-path=SCRIPTDIR/..
. test/lib.sh

CLICKMILL=${CLICKMILL:-bin/clickmill}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe -np}
RANKS=${RANKS:-1 2 3}
SHARED=${SHARED:-../shared/data/rees46}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
JOBS=${JOBS:-8}

DATA=test/data
FIX1=$DATA/train_fixture.csv
FIX2=$DATA/train_fixture2.csv
OCT=$SHARED/oct2019-head/2019-Oct-head.csv
FIRST_NP=${RANKS%% *}
LAST_NP=${RANKS##* }

# The exported columns (src/samples.c) and the features (src/features.c), in order.
FEATURES="price category product brand hour weekday events_before views_before products_viewed \
categories_viewed views_of_product carts_before purchases_before seconds_in_session \
seconds_since_last price_vs_viewed"
DOUBLES=" price price_vs_viewed "
EXPORT_HEADER="user_session,product_id,event_time,${FEATURES// /,},label,set"
PREDICT_HEADER="event_time,user_session,product_id,probability,predicted,bought"
INPUT_COLUMNS="event_time event_type product_id category_id category_code brand price user_id user_session"

# The fixture's forest parameters: none is a default, so model-info must read them back.
FIX_OPTS="--trees 30 --max-depth 10 --bins 64 --max-features 5 --min-leaf 1"
FIX_SEED=7

H='[0-9a-f]'
UUID_GLOB="$H$H$H$H$H$H$H$H-$H$H$H$H-$H$H$H$H-$H$H$H$H-$H$H$H$H$H$H$H$H$H$H$H$H"
HASH_GLOB="hash:$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H$H"
D='[0-9]'
TIME_GLOB="$D$D$D$D-$D$D-$D$D $D$D:$D$D:$D$D UTC"

scratch_dir clickmill-train

# run PREFIX NP ARG...: clickmill on NP ranks under timeout; PREFIX.out, PREFIX.err; sets $st.
run() {
    local prefix=$1 np=$2
    shift 2
    with_timeout $MPIRUN "$np" $CLICKMILL "$@" \
        > "$prefix.out" 2> "$prefix.err" < /dev/null
    st=$?
}

# ran_ok LABEL PREFIX: ok when the last run exited 0; returns its status.
ran_ok() {
    if [ "$st" -eq 0 ]; then
        ok "$1: exits 0"
        return 0
    fi
    local why="exit status $st"
    [ "$st" -eq 124 ] && why="timed out after ${RUN_TIMEOUT}s"
    notok "$1: exits 0 ($why)"
    tail -n 8 "$2.err" | diag
    return 1
}

# ------------------------------------------------------------------ expected samples (SQLite)

# The accepted rows, as analyze accepts them (src/row.c), for the kinds of bad rows the test
# inputs hold: event_time not a real 'YYYY-MM-DD HH:MM:SS UTC', an event_type that is not a
# lower-case word, ids that are not non-negative 64-bit integers, prices that are not
# non-negative numbers with at most 2 (non-zero) decimals.
id_ok() { echo "($1 <> '' AND $1 NOT GLOB '*[^0-9]*' AND (length($1) < 19 OR (length($1) = 19 AND $1 <= '9223372036854775807')))"; }
ACCEPTED="event_time GLOB '$TIME_GLOB'
  AND datetime(strftime('%s', substr(event_time, 1, 19)), 'unixepoch') = substr(event_time, 1, 19)
  AND substr(event_time, 1, 4) >= '1970'
  AND event_type <> '' AND length(event_type) <= 32 AND event_type NOT GLOB '*[^a-z0-9_]*'
  AND $(id_ok product_id) AND $(id_ok category_id) AND $(id_ok user_id)
  AND price GLOB '[0-9]*' AND price NOT GLOB '*[^0-9.]*' AND price NOT GLOB '*.*.*'
  AND price NOT GLOB '*.'
  AND (instr(price, '.') = 0 OR rtrim(substr(price, instr(price, '.') + 3), '0') = '')"

# A session's events strictly before sample s's cart event.
BEFORE="FROM sev b WHERE b.session = s.session AND b.seq < s.seq"

# samples_sql K: the expected sample table `samples` from the table `raw` (one row per input
# row: file index, line in file, the 9 columns as TEXT).
# K > 0 (--test-days K): the set of each sample, and the dictionaries from the training side:
# the events with a session before the first test day.
# K = 0 (--test-fraction, which hashes the session: SQL cannot redo it): no set, and the
# dictionaries are taken from a model (table mdict, see dict_sql), which check_fraction_dicts
# checks against bounds.
samples_sql() {
    local k=$1 set_expr=NULL d
    if [ "$k" -gt 0 ]; then
        set_expr="CASE WHEN s.ts >= (SELECT ts FROM cutoff) THEN 'test' ELSE 'train' END"
    fi
    cat <<EOF
-- Accepted events (with or without a session), times in seconds, prices in cents, and the
-- derived category (first segment of category_code, else brand, else 'unknown') and product
-- (last segment, same fallback).
CREATE TABLE ev AS
SELECT file, line, event_time, event_type,
       CAST(product_id AS INTEGER) AS product_id, category_code, brand,
       user_session AS session,
       CAST(strftime('%s', substr(event_time, 1, 19)) AS INTEGER) AS ts,
       CAST(round(CAST(price AS REAL) * 100) AS INTEGER) AS cents,
       CASE WHEN category_code <> '' AND instr(category_code, '.') > 0
                THEN substr(category_code, 1, instr(category_code, '.') - 1)
            WHEN category_code <> '' THEN category_code
            WHEN brand <> '' THEN brand
            ELSE 'unknown' END AS category,
       CASE WHEN category_code <> ''
                THEN substr(category_code,
                            length(rtrim(category_code, replace(category_code, '.', ''))) + 1)
            WHEN brand <> '' THEN brand
            ELSE 'unknown' END AS product
FROM raw
WHERE $ACCEPTED;

-- The first second of the test period: midnight UTC K - 1 days before the day of the last
-- accepted event (with or without a session).
CREATE TABLE cutoff AS
SELECT ((SELECT max(ts) FROM ev) / 86400 - ($k - 1)) * 86400 AS ts;
EOF
    for d in category product brand; do
        if [ "$k" -gt 0 ]; then
            cat <<EOF
-- Dictionary: the values of the training side's events with a session, ids by descending
-- number of events, ties in byte order.
CREATE TABLE dict_$d AS
SELECT $d AS value, row_number() OVER (ORDER BY count(*) DESC, $d) - 1 AS id,
       count(*) AS events
FROM ev WHERE session <> '' AND ts < (SELECT ts FROM cutoff) GROUP BY $d;
EOF
        else
            echo "CREATE TABLE dict_$d AS SELECT value, id, events FROM mdict WHERE dict = '$d';"
        fi
    done
    cat <<EOF

-- The events of sessions with a cart, numbered in session order: time, then file, then the
-- place in the file.
CREATE TABLE sev AS
SELECT *, row_number() OVER (PARTITION BY session ORDER BY ts, file, line) AS seq
FROM ev
WHERE session IN (SELECT session FROM ev WHERE event_type = 'cart' AND session <> '');
CREATE INDEX sev_order ON sev (session, seq);

-- One sample per first cart of a product in a session. A value missing from a dictionary is
-- "unseen": one past its last id.
CREATE TABLE samples AS
SELECT
    s.session,
    CASE WHEN length(s.session) = 36 AND s.session GLOB '$UUID_GLOB' THEN 0
         WHEN length(CAST(s.session AS BLOB)) <= 16 THEN 1
         ELSE 2 END AS kind,
    s.product_id,
    s.event_time,
    s.cents / 100.0 AS price,
    coalesce((SELECT id FROM dict_category d WHERE d.value = s.category),
             (SELECT count(*) FROM dict_category)) AS category,
    coalesce((SELECT id FROM dict_product d WHERE d.value = s.product),
             (SELECT count(*) FROM dict_product)) AS product,
    coalesce((SELECT id FROM dict_brand d WHERE d.value = s.brand),
             (SELECT count(*) FROM dict_brand)) AS brand,
    CAST(strftime('%H', s.ts, 'unixepoch') AS INTEGER) AS hour,
    (CAST(strftime('%w', s.ts, 'unixepoch') AS INTEGER) + 6) % 7 AS weekday,
    (SELECT count(*) $BEFORE) AS events_before,
    (SELECT count(*) $BEFORE AND b.event_type = 'view') AS views_before,
    (SELECT count(DISTINCT b.product_id) $BEFORE AND b.event_type = 'view') AS products_viewed,
    (SELECT count(DISTINCT b.category) $BEFORE AND b.event_type = 'view') AS categories_viewed,
    (SELECT count(*) $BEFORE AND b.event_type = 'view' AND b.product_id = s.product_id)
        AS views_of_product,
    (SELECT count(*) $BEFORE AND b.event_type = 'cart') AS carts_before,
    (SELECT count(*) $BEFORE AND b.event_type = 'purchase') AS purchases_before,
    coalesce(s.ts - (SELECT min(b.ts) $BEFORE), 0) AS seconds_in_session,
    coalesce(s.ts - (SELECT b.ts $BEFORE ORDER BY b.seq DESC LIMIT 1), -1) AS seconds_since_last,
    (SELECT CASE WHEN count(*) > 0 AND sum(b.cents) > 0
                 THEN (s.cents / 100.0) / (sum(b.cents) / 100.0 / count(*)) ELSE 0.0 END
     $BEFORE AND b.event_type = 'view') AS price_vs_viewed,
    EXISTS (SELECT 1 FROM sev b WHERE b.session = s.session AND b.seq > s.seq
            AND b.event_type = 'purchase' AND b.product_id = s.product_id) AS label,
    $set_expr AS dataset
FROM sev s
WHERE s.event_type = 'cart'
  AND NOT EXISTS (SELECT 1 $BEFORE AND b.event_type = 'cart' AND b.product_id = s.product_id);
EOF
}

# dict_sql MODEL: the model's three dictionaries (read with h5dump) as INSERTs into
# mdict (dict, id, value, events).
dict_sql() {
    local d
    echo "CREATE TABLE IF NOT EXISTS mdict (dict TEXT, id INTEGER, value TEXT, events INTEGER);"
    for d in category product brand; do
        h5dump -y -w 0 -d "/dictionary_$d" "$1" | LC_ALL=C awk -v dict="$d" '
            /^ *DATA \{/ { data = 1; next }
            !data { next }
            /^ *(\{|\}|\},|\}, \{) *$/ {
                if (n == 3) {
                    gsub(/\047/, "\047\047", f[2])
                    printf "INSERT INTO mdict VALUES (\047%s\047, %s, \047%s\047, %s);\n",
                           dict, f[1], f[2], f[3]
                }
                n = 0; next
            }
            {
                v = $0; sub(/^ +/, "", v); sub(/,$/, "", v)
                if (v ~ /^".*"$/) {
                    v = substr(v, 2, length(v) - 2); gsub(/\\"/, "\"", v); gsub(/\\\\/, "\\", v)
                    # h5dump writes bytes over 127 as sign-extended octal, \37777777703 for 0xC3.
                    while (match(v, /\\37777777[0-7][0-7][0-7]/)) {
                        o = substr(v, RSTART + RLENGTH - 3, 3)
                        b = (substr(o, 1, 1) * 64 + substr(o, 2, 1) * 8 + substr(o, 3, 1)) % 256
                        v = substr(v, 1, RSTART - 1) sprintf("%c", b) substr(v, RSTART + RLENGTH)
                    }
                }
                f[++n] = v
            }'
    done
}

# load_expected DB K MODEL FILE...: imports the input file(s) into DB (table raw: file index,
# line, the 9 columns mapped by the names in each file's header) and builds `samples`; with
# K = 0 the dictionaries are MODEL's (otherwise MODEL is "-").
load_expected() {
    local db=$1 k=$2 model=$3 i=0 f header col cols script res
    shift 3
    script=$db.sql
    rm -f "$db"
    echo "CREATE TABLE raw (file INTEGER, line INTEGER, ${INPUT_COLUMNS// / TEXT, } TEXT);" \
        > "$script"
    for f in "$@"; do
        i=$((i + 1))
        header=$(head -n 1 "$f" | tr -d '\r')
        cols=
        for col in ${header//,/ }; do
            case " $INPUT_COLUMNS " in
                *" $col "*) ;;
                *) echo "unexpected column '$col' in header of $f"; return 1 ;;
            esac
            cols=${cols:+$cols, }$col
        done
        {
            echo "CREATE TABLE stage_$i (${cols//,/ TEXT,} TEXT);"
            echo ".import --csv --skip 1 \"$f\" stage_$i"
            # The import numbers the rows in file order: rowid is the line among the data lines.
            echo "INSERT INTO raw SELECT $i, rowid,"
            echo "  $(for col in $INPUT_COLUMNS; do printf "coalesce(%s, ''), " "$col"; done | sed 's/, $//')"
            echo "FROM stage_$i;"
        } >> "$script"
    done
    [ "$model" != - ] && dict_sql "$model" >> "$script"
    samples_sql "$k" >> "$script"
    # sqlite3 may warn (e.g. a short row) without failing: any output is an error.
    if ! res=$(sq "$db" < "$script" 2>&1) || [ -n "$res" ]; then
        printf '%s\n' "$res"
        return 1
    fi
}

# expect_db LABEL DB K MODEL FILE...: load_expected as a check, with the row count guard.
expect_db() {
    local label=$1 db=$2 k=$3 model=$4 res expected=0 f
    shift 4
    if ! res=$(load_expected "$db" "$k" "$model" "$@"); then
        notok "$label: SQLite computes the expected samples"
        printf '%s\n' "$res" | diag
        return 1
    fi
    for f in "$@"; do expected=$((expected + $(awk 'END { print NR - 1 }' "$f"))); done
    res=$(sq "$db" "SELECT count(*) FROM raw;")
    if [ "$res" = "$expected" ]; then
        ok "$label: SQLite loaded all $expected input rows"
    else
        notok "$label: SQLite loaded all $expected input rows (loaded $res)"
        return 1
    fi
}

# check_model_dicts LABEL MODEL DB: the model's dictionaries (value, id, training events) equal
# SQLite's (days split).
check_model_dicts() {
    local label=$1 model=$2 db=$3 res
    res=$({ dict_sql "$model"
            echo "ATTACH '$db' AS x;"
            cat <<'EOF'
CREATE TEMP TABLE want AS
SELECT 'category' AS dict, id, value, events FROM x.dict_category UNION ALL
SELECT 'product', id, value, events FROM x.dict_product UNION ALL
SELECT 'brand', id, value, events FROM x.dict_brand;
SELECT 'model has ' || dict || ' ' || id || ' = ' || quote(value) || ' (' || events
       || ' events), SQLite has not'
FROM (SELECT * FROM mdict EXCEPT SELECT * FROM want);
SELECT 'SQLite has ' || dict || ' ' || id || ' = ' || quote(value) || ' (' || events
       || ' events), the model has not'
FROM (SELECT * FROM want EXCEPT SELECT * FROM mdict);
EOF
          } | sq :memory: 2>&1)
    check_empty "$label: model dictionaries (id, value, training events) equal SQLite's" "$res"
}

# check_fraction_dicts LABEL DB EXPORT: with --test-fraction the dictionaries count the events
# of the training sessions, which SQL cannot tell from the test sessions when they have no
# cart. So: ids in (events desc, byte) order, and each value's count between the events of
# the cart sessions the export puts in the training set and all its events minus those of the
# cart sessions in the test set (sessions are compared as text: lower-case UUIDs only).
check_fraction_dicts() {
    local label=$1 db=$2 export=$3 res
    res=$(sq :memory: \
        "CREATE TABLE got (session TEXT, product_id TEXT, event_time TEXT,
                           ${FEATURES// / TEXT, } TEXT, label TEXT, dataset TEXT);" \
        ".import --csv --skip 1 \"$export\" got" \
        "ATTACH '$db' AS x;" \
        "CREATE TEMP TABLE sset AS SELECT session, max(dataset) AS dataset FROM got GROUP BY session;
         CREATE TEMP TABLE per_value AS
         SELECT dict, value, count(*) AS all_n, sum(coalesce(dataset = 'train', 0)) AS train_n,
                sum(coalesce(dataset = 'test', 0)) AS test_n
         FROM (SELECT 'category' AS dict, category AS value, session FROM x.ev WHERE session <> ''
               UNION ALL SELECT 'product', product, session FROM x.ev WHERE session <> ''
               UNION ALL SELECT 'brand', brand, session FROM x.ev WHERE session <> '')
         LEFT JOIN sset USING (session)
         GROUP BY dict, value;
         SELECT 'model ' || m.dict || ' ' || quote(m.value) || ': ' || m.events
                || ' events, outside [' || coalesce(v.train_n, 0) || ', '
                || coalesce(v.all_n - v.test_n, 0) || ']'
         FROM x.mdict m LEFT JOIN per_value v USING (dict, value)
         WHERE v.dict IS NULL OR m.events < v.train_n OR m.events > v.all_n - v.test_n;
         SELECT v.dict || ' ' || quote(v.value) || ' has ' || v.train_n
                || ' training events but is not in the model'
         FROM per_value v WHERE v.train_n > 0
           AND NOT EXISTS (SELECT 1 FROM x.mdict m WHERE m.dict = v.dict AND m.value = v.value);
         SELECT 'model ' || dict || ' ' || quote(value) || ' has id ' || id || ', not ' || want
         FROM (SELECT *, row_number() OVER (PARTITION BY dict ORDER BY events DESC, value) - 1
                         AS want FROM x.mdict)
         WHERE id <> want;
         SELECT 'the dictionaries count ' || group_concat(dict || ' ' || n, ', ')
                || ' events: not one number'
         FROM (SELECT dict, sum(events) AS n FROM x.mdict GROUP BY dict)
         HAVING count(DISTINCT n) > 1;" 2>&1)
    check_empty "$label: model dictionaries ordered by events and counting only training sessions' events" "$res"
}

# ------------------------------------------------------------------ comparisons

# import_export DB CSV: the exported CSV as table got (TEXT columns, in file order).
import_export() {
    rm -f "$1"
    sq "$1" "CREATE TABLE got (session TEXT, product_id TEXT, event_time TEXT,
                               ${FEATURES// / TEXT, } TEXT, label TEXT, dataset TEXT);" \
            ".import --csv --skip 1 \"$2\" got"
}

# compare_sql WITH_SET: the problems of `got` against x.samples, one per line.
compare_sql() {
    local with_set=$1 f cols=""
    for f in $FEATURES; do
        case $DOUBLES in
            *" $f "*)
                cols="$cols UNION ALL SELECT g.session, g.product_id, '$f', quote(e.$f), g.$f,
                       g.$f GLOB '*[0-9]*' AND g.$f NOT GLOB '*[^0-9eE.+-]*'
                       AND abs(CAST(g.$f AS REAL) - e.$f) <= 1e-9 * abs(e.$f)
                       FROM got g JOIN e ON e.shown = g.session AND e.product_id = CAST(g.product_id AS INTEGER)" ;;
            *)
                cols="$cols UNION ALL SELECT g.session, g.product_id, '$f', quote(e.$f), g.$f,
                       g.$f GLOB '*[0-9]*' AND g.$f NOT GLOB '*[^0-9eE.+-]*'
                       AND CAST(g.$f AS REAL) = e.$f
                       FROM got g JOIN e ON e.shown = g.session AND e.product_id = CAST(g.product_id AS INTEGER)" ;;
        esac
    done
    for f in event_time label dataset; do
        [ "$f" = dataset ] && [ "$with_set" = 0 ] && continue
        cols="$cols UNION ALL SELECT g.session, g.product_id, '$f', e.$f, g.$f, g.$f = CAST(e.$f AS TEXT)
               FROM got g JOIN e ON e.shown = g.session AND e.product_id = CAST(g.product_id AS INTEGER)"
    done
    cat <<EOF
-- Hash-named sessions (texts over 16 bytes that are not lower-case UUIDs) are matched by the
-- (product, time) list of their samples, which the fixtures keep unique.
CREATE TEMP TABLE gsig AS
SELECT session, group_concat(product_id || '@' || event_time, ';') AS sig
FROM (SELECT * FROM got WHERE session GLOB 'hash:*'
      ORDER BY session, event_time, CAST(product_id AS INTEGER))
GROUP BY session;
CREATE TEMP TABLE esig AS
SELECT session, group_concat(product_id || '@' || event_time, ';') AS sig
FROM (SELECT * FROM x.samples WHERE kind = 2 ORDER BY session, event_time, product_id)
GROUP BY session;
CREATE TEMP TABLE hmap AS SELECT e.session AS raw, g.session AS shown FROM esig e JOIN gsig g USING (sig);
CREATE TEMP TABLE e AS
SELECT CASE WHEN kind = 2 THEN coalesce((SELECT shown FROM hmap WHERE raw = s.session),
                                        'hash of ' || s.session)
            ELSE s.session END AS shown, s.*
FROM x.samples s;
SELECT 'session ' || session || ': not printed as hash:<32 hex digits>'
FROM gsig WHERE session NOT GLOB '$HASH_GLOB';
SELECT 'no single hash session in the export has the samples of session ' || quote(session)
FROM esig WHERE (SELECT count(*) FROM hmap WHERE raw = esig.session) <> 1;
SELECT 'missing sample: ' || shown || ',' || product_id || ' at ' || event_time FROM e
WHERE NOT EXISTS (SELECT 1 FROM got g WHERE g.session = e.shown
                  AND CAST(g.product_id AS INTEGER) = e.product_id);
SELECT 'unexpected sample: ' || session || ',' || product_id || ' at ' || event_time FROM got g
WHERE NOT EXISTS (SELECT 1 FROM e WHERE g.session = e.shown
                  AND CAST(g.product_id AS INTEGER) = e.product_id);
SELECT 'sample ' || session || ',' || product_id || ' appears ' || count(*) || ' times'
FROM got GROUP BY session, product_id HAVING count(*) > 1;
SELECT session || ',' || product_id || ': ' || col || ' expected ' || coalesce(want, 'NULL')
       || ', got ' || coalesce(have, 'NULL')
FROM (SELECT NULL AS session, NULL AS product_id, NULL AS col, NULL AS want, NULL AS have, 1 AS same
      $cols)
WHERE NOT coalesce(same, 0);
EOF
}

# order_sql: rows of `got` not after the row before in (event_time, session, product) order,
# sessions compared as clickmill does (lower-case UUIDs, then short texts, then hashes; byte
# order within a kind; hashes of the same second may come in any order).
order_sql() {
    cat <<EOF
WITH r AS (
    SELECT rowid AS n, session, CAST(product_id AS INTEGER) AS p, event_time AS t,
           CASE WHEN session GLOB '$HASH_GLOB' THEN 2
                WHEN length(session) = 36 AND session GLOB '$UUID_GLOB' THEN 0
                ELSE 1 END AS k
    FROM got),
w AS (
    SELECT *, lag(t) OVER (ORDER BY n) AS pt, lag(k) OVER (ORDER BY n) AS pk,
           lag(session) OVER (ORDER BY n) AS ps, lag(p) OVER (ORDER BY n) AS pp
    FROM r)
SELECT 'line ' || (n + 1) || ' (' || t || ',' || session || ',' || p || ') comes after ('
       || pt || ',' || ps || ',' || pp || ')'
FROM w
WHERE pt IS NOT NULL
  AND NOT (pt < t OR (pt = t AND (pk < k OR (pk = k AND (
        (ps = session AND pp < p) OR (ps <> session AND (k = 2 OR ps < session)))))));
EOF
}

# check_export LABEL CSV DB WITH_SET: the exported samples against SQLite's.
check_export() {
    local label=$1 csv=$2 db=$3 with_set=$4 got res
    got=$csv.db
    if [ ! -f "$csv" ]; then
        notok "$label: the features CSV was written"
        return 1
    fi
    res=$(head -n 1 "$csv")
    if [ "$res" = "$EXPORT_HEADER" ]; then
        ok "$label: features CSV header is the 21 columns"
    else
        notok "$label: features CSV header is the 21 columns"
        printf 'expected: %s\ngot:      %s\n' "$EXPORT_HEADER" "$res" | diag
    fi
    if ! res=$(import_export "$got" "$csv" 2>&1) || [ -n "$res" ]; then
        notok "$label: SQLite imports the features CSV"
        printf '%s\n' "$res" | diag
        return 1
    fi
    res=$({ echo "ATTACH '$db' AS x;"; compare_sql "$with_set"; } | sq "$got" 2>&1)
    local n
    n=$(sq "$db" "SELECT count(*) || ' samples, ' || sum(label) || ' bought' FROM samples;")
    check_empty "$label: every sample, feature, label$([ "$with_set" = 1 ] && echo ' and set') equals SQLite's ($n)" "$res"
    res=$(order_sql | sq "$got" 2>&1)
    check_empty "$label: rows sorted by (event_time, session, product)" "$res"
}

# nodes MODEL: the forest's nodes at full precision, without the file name.
nodes() { h5dump -m '%.17g' -d /nodes "$1" 2>&1 | tail -n +2; }

# check_predict LABEL PRED EXPORT: predict's rows against the exported samples.
check_predict() {
    local label=$1 pred=$2 export=$3 db res
    db=$pred.db
    if [ "$(head -n 1 "$pred")" = "$PREDICT_HEADER" ]; then
        ok "$label: predict header is $PREDICT_HEADER"
    else
        notok "$label: predict header is $PREDICT_HEADER"
        head -n 1 "$pred" | diag
    fi
    rm -f "$db"
    res=$(sq "$db" \
        "CREATE TABLE p (event_time TEXT, session TEXT, product_id TEXT, probability TEXT,
                         predicted TEXT, bought TEXT);" \
        ".import --csv --skip 1 \"$pred\" p" \
        "CREATE TABLE s (session TEXT, product_id TEXT, event_time TEXT,
                         ${FEATURES// / TEXT, } TEXT, label TEXT, dataset TEXT);" \
        ".import --csv --skip 1 \"$export\" s" \
        "SELECT 'predict has ' || (SELECT count(*) FROM p) || ' rows, the export '
                || (SELECT count(*) FROM s) || ' samples'
         WHERE (SELECT count(*) FROM p) <> (SELECT count(*) FROM s);
         SELECT 'row ' || p.rowid || ': predict (' || p.event_time || ',' || p.session || ','
                || p.product_id || ') vs sample (' || s.event_time || ',' || s.session || ','
                || s.product_id || ')'
         FROM p JOIN s ON s.rowid = p.rowid
         WHERE p.event_time <> s.event_time OR p.session <> s.session
            OR p.product_id <> s.product_id;
         SELECT 'row ' || p.rowid || ': bought ' || p.bought || ' but label ' || s.label
         FROM p JOIN s ON s.rowid = p.rowid WHERE p.bought <> s.label;" 2>&1)
    check_empty "$label: predict rows are the samples, in order, bought = label" "$res"
    res=$(sq "$db" \
        "SELECT 'row ' || rowid || ': probability ' || probability || ', predicted ' || predicted
         FROM p
         WHERE probability NOT GLOB '*[0-9]*' OR probability GLOB '*[^0-9eE.+-]*'
            OR NOT (CAST(probability AS REAL) BETWEEN 0 AND 1)
            OR predicted <> (CASE WHEN CAST(probability AS REAL) >= 0.5 THEN '1' ELSE '0' END);" 2>&1)
    check_empty "$label: probabilities in [0, 1], predicted = (probability >= 0.5)" "$res"
}

# metrics_sql: per set, the metrics of src/metrics.c recomputed from predict's probabilities
# (table p) and the exported sets (table s), one line "set metric value" each.
metrics_sql() {
    cat <<'EOF'
CREATE TEMP TABLE sc AS
SELECT s.dataset AS dataset, CAST(p.probability AS REAL) AS score, CAST(s.label AS INTEGER) AS y
FROM p JOIN s ON s.rowid = p.rowid;
CREATE TEMP TABLE cm AS
SELECT dataset, count(*) AS n, sum(y) AS pos, count(*) - sum(y) AS neg,
       sum(y = 1 AND score >= 0.5) AS tp, sum(y = 0 AND score >= 0.5) AS fp,
       sum(y = 0 AND score < 0.5) AS tn,
       avg(-CASE WHEN y = 1 THEN ln(min(max(score, 1e-15), 1 - 1e-15))
                 ELSE ln(min(max(1 - score, 1e-15), 1 - 1e-15)) END) AS log_loss
FROM sc GROUP BY dataset;
-- ROC AUC: the share of (positive, negative) pairs ranked right, ties counting half.
CREATE TEMP TABLE auc AS
SELECT a.dataset, (sum(a.score > b.score) + 0.5 * sum(a.score = b.score)) AS wins
FROM sc a JOIN sc b ON a.dataset = b.dataset AND a.y = 1 AND b.y = 0 GROUP BY a.dataset;
-- PR AUC: average precision, the scores taken one group of equal scores at a time.
CREATE TEMP TABLE groups AS
SELECT dataset, score, sum(y) AS gtp, count(*) AS gn FROM sc GROUP BY dataset, score;
CREATE TEMP TABLE ap AS
SELECT dataset, sum(gtp * ctp / cn) AS ap FROM (
    SELECT dataset, gtp,
           sum(gtp) OVER (PARTITION BY dataset ORDER BY score DESC) * 1.0 AS ctp,
           sum(gn) OVER (PARTITION BY dataset ORDER BY score DESC) * 1.0 AS cn
    FROM groups)
GROUP BY dataset;
CREATE TEMP TABLE m AS
SELECT cm.dataset AS dataset,
       (tp + tn) * 1.0 / n AS accuracy,
       CASE WHEN tp + fp > 0 THEN tp * 1.0 / (tp + fp) ELSE 0 END AS precision,
       CASE WHEN pos > 0 THEN tp * 1.0 / pos ELSE 0 END AS recall,
       CASE WHEN pos > 0 AND neg > 0 THEN coalesce(auc.wins, 0) / (pos * 1.0 * neg) ELSE 0.5 END
           AS roc_auc,
       CASE WHEN pos > 0 THEN coalesce(ap.ap, 0) / pos ELSE 0 END AS pr_auc,
       log_loss
FROM cm LEFT JOIN auc USING (dataset) LEFT JOIN ap USING (dataset);
SELECT dataset || ' accuracy ' || accuracy FROM m;
SELECT dataset || ' precision ' || precision FROM m;
SELECT dataset || ' recall ' || recall FROM m;
SELECT dataset || ' F1 ' || CASE WHEN precision + recall > 0
                                 THEN 2 * precision * recall / (precision + recall) ELSE 0 END
FROM m;
SELECT dataset || ' ROC_AUC ' || roc_auc FROM m;
SELECT dataset || ' PR_AUC ' || pr_auc FROM m;
SELECT dataset || ' log_loss ' || log_loss FROM m;
SELECT dataset || ' samples ' || n || ' ' || pos FROM cm;
EOF
}

# check_model_info LABEL INFO PRED EXPORT: model-info's counts and metrics (printed with 4
# decimals) against those recomputed from predict's probabilities on the training input.
check_model_info() {
    local label=$1 info=$2 pred=$3 export=$4 want res
    want=$(metrics_sql | sq "$pred.db" 2>&1)
    res=$(printf '%s\n' "$want" | awk -v info="$info" '
        BEGIN {
            while ((getline line < info) > 0) {
                n = split(line, f, " ")
                if (line ~ /^samples: train /) {
                    # samples: train N (P bought, x %), test N (P bought, x %)
                    gsub(/[(),]/, "", line); split(line, g, " ")
                    printed["train samples"] = g[3] " " g[4]
                    printed["test samples"] = g[9] " " g[10]
                }
                if (n < 4 || f[n] !~ /^-?[0-9]+\.[0-9]+$/ || f[n - 2] !~ /^-?[0-9]+\.[0-9]+$/) continue
                name = f[1]; for (i = 2; i <= n - 3; i++) name = name "_" f[i]
                printed["test " name] = f[n - 2]; printed["train " name] = f[n]
            }
        }
        $2 == "samples" {
            key = $1 " samples"
            if (!(key in printed)) { print "model-info shows no " $1 " sample counts"; next }
            if (printed[key] != $3 " " $4)
                print $1 " samples: model-info says " printed[key] ", the export has " $3 " " $4
            next
        }
        {
            key = $1 " " $2
            if (!(key in printed)) { print "model-info shows no " key; next }
            d = printed[key] - $3; if (d < 0) d = -d
            if (d > 0.00005 + 1e-9) print key ": model-info says " printed[key] ", recomputed " $3
        }')
    check_empty "$label: model-info's sample counts and train/test metrics match predict's scores" "$res"
}

# ------------------------------------------------------------------ preconditions

for tool in sqlite3 timeout; do
    if [ -z "$(command -v $tool)" ]; then
        notok "$tool is installed"
        finish
    fi
done
if [ -z "$(command -v "${CLICKMILL%% *}")" ]; then
    notok "clickmill binary $CLICKMILL exists (build it first: make)"
    finish
fi
HAVE_H5DUMP=1
command -v h5dump > /dev/null 2>&1 || HAVE_H5DUMP=0

# ------------------------------------------------------------------ 1-4: the fixture

FX=$TMP/fixture
mkdir -p "$FX"

# Hand-computed samples of the fixture, a guard on the SQL: session product events_before
# views_before views_of_product carts_before purchases_before seconds_in_session
# seconds_since_last label set (--test-days 2).
HAND="c0000002-aaaa-4bbb-8ccc-000000000002 1000003 2 1 1 0 1 5 0 0 train
c0000003-aaaa-4bbb-8ccc-000000000003 1000004 1 1 1 0 0 7 7 1 train
c0000004-aaaa-4bbb-8ccc-000000000004 1000005 2 1 1 0 1 300 180 0 train
c0000006-aaaa-4bbb-8ccc-000000000006 1000009 4 2 1 2 0 240 60 0 train
c0000007-aaaa-4bbb-8ccc-000000000007 1000011 4 1 0 1 0 40 10 1 train
c0000008-aaaa-4bbb-8ccc-000000000008 1000012 0 0 0 0 0 0 -1 0 train
c0000010-aaaa-4bbb-8ccc-000000000010 1000016 2 2 2 0 0 60 50 0 train
c0000011-aaaa-4bbb-8ccc-000000000011 1000018 3 2 1 1 0 20 7 0 train
c0000012-aaaa-4bbb-8ccc-000000000012 1000020 3 2 1 1 0 1230 30 1 test
c0000016-aaaa-4bbb-8ccc-000000000016 1000027 1 1 1 0 0 20 20 0 train
c0000019-aaaa-4bbb-8ccc-000000000019 1000036 2 2 1 0 0 30 10 1 train
c0000019-aaaa-4bbb-8ccc-000000000019 1000037 5 3 1 1 1 60 30 0 train
c0000020-aaaa-4bbb-8ccc-000000000020 1000038 2 1 1 0 1 10 0 0 train
c0000020-aaaa-4bbb-8ccc-000000000020 1000039 3 1 0 1 1 20 10 1 train
c0000021-aaaa-4bbb-8ccc-000000000021 1000040 0 0 0 0 0 0 -1 1 train
c0000021-aaaa-4bbb-8ccc-000000000021 1000041 4 2 1 1 1 5 0 0 train
c0000022-aaaa-4bbb-8ccc-000000000022 1000042 1 1 1 0 0 300 300 1 train
c0000026-aaaa-4bbb-8ccc-000000000026 1000047 1 1 1 0 0 600 600 0 train
c0000030-aaaa-4bbb-8ccc-000000000030 1000061 4 4 1 0 0 240 60 0 test
sess-13 1000021 1 1 1 0 0 30 30 0 test
sixteen-bytes-ok 1000022 0 0 0 0 0 0 -1 1 train"
# Totals: 39 samples, 16 bought, 2 hash-named sessions; 6 test samples with --test-days 2
# (the last accepted event is 2019-11-03 01:00, a row without a session), 14 with 3.
HAND_TOTALS="39 16 2 6"

check_hand() {
    local db=$1 keys res
    keys=$(printf '%s\n' "$HAND" | awk '{ printf "%s(\x27%s\x27, %s)", (NR > 1 ? ", " : ""), $1, $2 }')
    res=$(diff <(printf '%s\n' "$HAND" "$HAND_TOTALS") <(sq -separator ' ' "$db" \
        "SELECT session, product_id, events_before, views_before, views_of_product, carts_before,
                purchases_before, seconds_in_session, seconds_since_last, label, dataset
         FROM samples WHERE (session, product_id) IN (VALUES $keys)
         ORDER BY session, product_id;
         SELECT count(*), sum(label), count(DISTINCT CASE WHEN kind = 2 THEN session END),
                sum(dataset = 'test') FROM samples;" 2>&1))
    check_empty "fixture: SQLite reproduces the hand-computed samples and totals ($HAND_TOTALS)" "$res"
}

# make_leak_copy SRC DST: SRC with events after the last cart of some sessions changed or
# added. Every added event is of the most frequent item (electronics.smartphone, samsung:
# id 0 in all three dictionaries), so no dictionary id moves, and none is later than the last
# event of the data, so the split does not move. Prints what failed to apply.
LEAK_SED=(
    # c..01: the purchase of 1000001 becomes a view: label 1 -> 0.
    -e 's/^\(2019-10-30 08:05:00 UTC,\)purchase\(,1000001,.*,c0000001-\)/\1view\2/'
    # c..06: the purchase after both carts is of 1000009, not 1000008: labels swap.
    -e 's/^\(2019-10-30 12:05:00 UTC,purchase,\)1000008\(,.*,\)1200.00\(,.*c0000006-\)/\11000009\21100.00\3/'
    # c..17: the purchase of 1000030 becomes a remove_from_cart: label 1 -> 0.
    -e 's/^\(2019-10-31 15:03:00 UTC,\)purchase\(,1000030,.*,c0000017-\)/\1remove_from_cart\2/'
    # c..11: a later purchase at another price: nothing changes.
    -e 's/^\(2019-11-01 00:05:00 UTC,purchase,1000017,.*\),209.99,/\1,1.00,/'
)
LEAK_ADDED="2019-10-30 11:03:00 UTC,purchase,1000006,2053013555631882655,electronics.smartphone,samsung,150.00,510000005,c0000005-aaaa-4bbb-8ccc-000000000005
2019-10-30 14:00:00 UTC,purchase,1000012,2053013555631882655,electronics.smartphone,samsung,59.90,510000008,c0000008-aaaa-4bbb-8ccc-000000000008
2019-10-30 14:05:00 UTC,view,1000012,2053013555631882655,electronics.smartphone,samsung,9999.99,510000008,c0000008-aaaa-4bbb-8ccc-000000000008
2019-11-02 08:03:00 UTC,view,1000046,2053013555631882655,electronics.smartphone,samsung,1.00,510000024,c0000024-aaaa-4bbb-8ccc-000000000024
2019-11-02 08:04:00 UTC,cart,1000044,2053013555631882655,electronics.smartphone,samsung,880.00,510000024,c0000024-aaaa-4bbb-8ccc-000000000024
2019-11-01 12:00:06 UTC,purchase,1000041,2053013555631882655,electronics.smartphone,samsung,70.00,510000021,c0000021-aaaa-4bbb-8ccc-000000000021"
# The labels that must change: session,product,old,new.
LEAK_FLIPS="c0000001-aaaa-4bbb-8ccc-000000000001,1000001,1,0
c0000005-aaaa-4bbb-8ccc-000000000005,1000006,0,1
c0000006-aaaa-4bbb-8ccc-000000000006,1000008,1,0
c0000006-aaaa-4bbb-8ccc-000000000006,1000009,0,1
c0000008-aaaa-4bbb-8ccc-000000000008,1000012,0,1
c0000017-aaaa-4bbb-8ccc-000000000017,1000030,1,0
c0000021-aaaa-4bbb-8ccc-000000000021,1000041,0,1"

make_leak_copy() {
    local src=$1 dst=$2 changed
    { sed "${LEAK_SED[@]}" "$src"; printf '%s\n' "$LEAK_ADDED"; } > "$dst"
    changed=$(diff "$src" "$dst" | grep -c '^>')
    if [ "$changed" -ne $((4 + $(printf '%s\n' "$LEAK_ADDED" | wc -l))) ]; then
        echo "the copy differs from the fixture in $changed lines, not 4 changed + the added ones"
        diff "$src" "$dst"
    fi
}

# check_no_leak LABEL ORIG MODIFIED: same samples and features, labels changed as LEAK_FLIPS.
check_no_leak() {
    local label=$1 orig=$2 mod=$3 res
    res=$(sq :memory: \
        "CREATE TABLE a (session TEXT, product_id TEXT, event_time TEXT,
                         ${FEATURES// / TEXT, } TEXT, label TEXT, dataset TEXT);" \
        "CREATE TABLE b AS SELECT * FROM a WHERE 0;" \
        ".import --csv --skip 1 \"$orig\" a" \
        ".import --csv --skip 1 \"$mod\" b" \
        "SELECT 'sample only in the original: ' || session || ',' || product_id FROM a
         WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.session = a.session AND b.product_id = a.product_id);
         SELECT 'sample only in the copy: ' || session || ',' || product_id FROM b
         WHERE NOT EXISTS (SELECT 1 FROM a WHERE b.session = a.session AND b.product_id = a.product_id);
         SELECT 'features of ' || a.session || ',' || a.product_id || ' changed'
         FROM a JOIN b USING (session, product_id)
         WHERE $(for f in event_time $FEATURES dataset; do printf 'a.%s IS NOT b.%s OR ' "$f" "$f"; done) 0;" 2>&1)
    check_empty "$label: later events changed or added: every sample's features unchanged" "$res"
    res=$(diff <(printf '%s\n' "$LEAK_FLIPS") <(sq -csv :memory: \
        "CREATE TABLE a (session TEXT, product_id TEXT, event_time TEXT,
                         ${FEATURES// / TEXT, } TEXT, label TEXT, dataset TEXT);" \
        "CREATE TABLE b AS SELECT * FROM a WHERE 0;" \
        ".import --csv --skip 1 \"$orig\" a" \
        ".import --csv --skip 1 \"$mod\" b" \
        "SELECT a.session, a.product_id, a.label, b.label FROM a JOIN b USING (session, product_id)
         WHERE a.label IS NOT b.label ORDER BY a.session, CAST(a.product_id AS INTEGER);" 2>&1))
    check_empty "$label: labels change exactly for the $(printf '%s\n' "$LEAK_FLIPS" | wc -l) samples whose later purchases changed" "$res"
}

if [ -r "$FIX1" ] && [ -r "$FIX2" ]; then
    FIX_OK=1
    expect_db "fixture --test-days 2" "$FX/expected2.db" 2 - "$FIX1" "$FIX2" || FIX_OK=0
    [ "$FIX_OK" = 1 ] && check_hand "$FX/expected2.db"
    expect_db "fixture --test-days 3" "$FX/expected3.db" 3 - "$FIX1" "$FIX2" || FIX_OK=0
    res=$(make_leak_copy "$FIX1" "$FX/leak.csv")
    check_empty "fixture: the no-leak copy has exactly the intended changes" "$res"
    expect_db "no-leak copy" "$FX/expected_leak.db" 2 - "$FX/leak.csv" "$FIX2" || FIX_OK=0
else
    notok "fixture files $FIX1 and $FIX2 exist"
    FIX_OK=0
fi

if [ "$FIX_OK" = 1 ]; then
    for n in $RANKS; do
        label="fixture np=$n"
        p=$FX/np$n
        run "$p.train" "$n" train --quiet $FIX_OPTS --seed $FIX_SEED --test-days 2 \
            --model "$p.h5" --export-features "$p.features.csv" "$FIX1" "$FIX2"
        if ran_ok "$label train --test-days 2" "$p.train"; then
            check_export "$label --test-days 2" "$p.features.csv" "$FX/expected2.db" 1
            [ "$HAVE_H5DUMP" = 1 ] && check_model_dicts "$label --test-days 2" "$p.h5" "$FX/expected2.db"
        fi

        run "$p.train3" "$n" train --quiet $FIX_OPTS --seed $FIX_SEED --test-days 3 \
            --model "$p.3.h5" --export-features "$p.features3.csv" "$FIX1" "$FIX2"
        if ran_ok "$label train --test-days 3" "$p.train3"; then
            check_export "$label --test-days 3" "$p.features3.csv" "$FX/expected3.db" 1
            [ "$HAVE_H5DUMP" = 1 ] && check_model_dicts "$label --test-days 3" "$p.3.h5" "$FX/expected3.db"
        fi

        # The same seed and rank count: the same forest.
        run "$p.again" "$n" train --quiet $FIX_OPTS --seed $FIX_SEED --test-days 2 \
            --model "$p.again.h5" "$FIX1" "$FIX2"
        if ran_ok "$label train again with the same seed" "$p.again"; then
            if [ "$HAVE_H5DUMP" = 0 ]; then
                skip "$label: same forest (h5dump not installed)"
            elif nodes "$p.h5" > "$p.nodes" && nodes "$p.again.h5" > "$p.again.nodes" &&
                 grep -q 'DATA {' "$p.nodes" && cmp -s "$p.nodes" "$p.again.nodes"; then
                ok "$label: the same seed and rank count give the same forest (/nodes, $(grep -c '^   ([0-9]*): {' "$p.nodes") nodes)"
            else
                notok "$label: the same seed and rank count give the same forest (/nodes)"
                diff "$p.nodes" "$p.again.nodes" | diag 6
            fi
        fi

        # predict with this rank count's model, and with the first rank count's model.
        run "$p.predict" "$n" predict --quiet --model "$p.h5" -o "$p.pred.csv" "$FIX1" "$FIX2"
        if ran_ok "$label predict" "$p.predict"; then
            check_predict "$label predict" "$p.pred.csv" "$p.features.csv"
        fi
        run "$p.predict1" "$n" predict --quiet --model "$FX/np$FIRST_NP.h5" \
            -o "$p.pred1.csv" "$FIX1" "$FIX2"
        ran_ok "$label predict with the np=$FIRST_NP model" "$p.predict1" || true

        # No leak.
        run "$p.leak" "$n" train --quiet $FIX_OPTS --seed $FIX_SEED --test-days 2 \
            --model "$p.leak.h5" --export-features "$p.leak.csv" "$FX/leak.csv" "$FIX2"
        if ran_ok "$label train on the no-leak copy" "$p.leak"; then
            check_export "$label no-leak copy" "$p.leak.csv" "$FX/expected_leak.db" 1
            check_no_leak "$label" "$p.features.csv" "$p.leak.csv"
        fi

        if [ "$n" != "$FIRST_NP" ]; then
            for f in features.csv features3.csv leak.csv pred1.csv; do
                what=$f
                [ "$f" = pred1.csv ] && what="predict output (np=$FIRST_NP model)"
                if [ -f "$p.$f" ] && cmp -s "$FX/np$FIRST_NP.$f" "$p.$f"; then
                    ok "$label: $what byte-identical to np=$FIRST_NP"
                else
                    notok "$label: $what byte-identical to np=$FIRST_NP"
                    diff "$FX/np$FIRST_NP.$f" "$p.$f" 2>&1 | diag 6
                fi
            done
        fi
    done

    # Another seed: another forest.
    p=$FX/np$FIRST_NP
    run "$p.seed" "$FIRST_NP" train --quiet $FIX_OPTS --seed $((FIX_SEED + 1)) --test-days 2 \
        --model "$p.seed.h5" "$FIX1" "$FIX2"
    if ran_ok "fixture np=$FIRST_NP train with --seed $((FIX_SEED + 1))" "$p.seed"; then
        if [ "$HAVE_H5DUMP" = 0 ]; then
            skip "fixture: another seed gives another forest (h5dump not installed)"
        elif nodes "$p.seed.h5" > "$p.seed.nodes" && grep -q 'DATA {' "$p.seed.nodes" &&
             ! cmp -s "$p.nodes" "$p.seed.nodes"; then
            ok "fixture np=$FIRST_NP: --seed $((FIX_SEED + 1)) gives another forest than --seed $FIX_SEED"
        else
            notok "fixture np=$FIRST_NP: --seed $((FIX_SEED + 1)) gives another forest than --seed $FIX_SEED"
        fi
    fi

    # 6. model-info: parameters, features, metrics.
    run "$p.info" "$FIRST_NP" model-info "$p.h5"
    if ran_ok "fixture model-info" "$p.info"; then
        missing=
        for want in "30 trees" "depth at most 10" "at least 1 sample per leaf" \
                    "5 of 16 features" "64 bins" "seed $FIX_SEED" "last 2 days" \
                    "grown on $FIRST_NP rank" "score >= 0.50"; do
            grep -qF -- "$want" "$p.info.out" || missing="$missing '$want'"
        done
        check_empty "fixture model-info: prints the parameters (trees, depth, leaf, features, bins, seed, split, ranks, threshold)" \
            "${missing:+missing:$missing}"
        missing=
        for want in $FEATURES; do
            grep -qE "^ +$want +[0-9.]+ " "$p.info.out" || missing="$missing $want"
        done
        check_empty "fixture model-info: lists the 16 features with their importance" \
            "${missing:+missing:$missing}"
        missing=
        for want in accuracy "balanced accuracy" precision recall F1 "ROC AUC" "PR AUC" "log loss"; do
            grep -qE "^ +$want +[0-9.]+ +[0-9.]+ +[0-9.]+$" "$p.info.out" || missing="$missing '$want'"
        done
        check_empty "fixture model-info: prints test, baseline and train metrics" \
            "${missing:+missing:$missing}"
        if [ -f "$p.pred.csv.db" ]; then
            check_model_info "fixture np=$FIRST_NP" "$p.info.out" "$p.pred.csv" "$p.features.csv"
        fi
    fi
fi

# ------------------------------------------------------------------ 1-3: the real extract

OX=$TMP/oct
mkdir -p "$OX"
OCT_OK=0
if [ ! -r "$OCT" ]; then
    skip "oct-head: input $OCT not found"
elif [ "$HAVE_H5DUMP" = 0 ]; then
    skip "oct-head: h5dump not installed (the expected ids need the model's dictionaries)"
else
    # The expected samples use the dictionaries of the first rank count's model (a hashed
    # split: see check_fraction_dicts), so that training runs first.
    p=$OX/np$FIRST_NP
    run "$p.train" "$FIRST_NP" train --quiet --trees 40 --seed 46 --test-fraction 0.3 \
        --model "$p.h5" --export-features "$p.features.csv" "$OCT"
    if ran_ok "oct-head np=$FIRST_NP train --test-fraction 0.3" "$p.train" &&
       expect_db "oct-head" "$OX/expected.db" 0 "$p.h5" "$OCT"; then
        OCT_OK=1
        # A guard on the SQL side: the extract's known counts.
        res=$(sq "$OX/expected.db" "SELECT count(*) FROM ev; SELECT count(DISTINCT session) FROM sev;
                                    SELECT count(*) FROM sev;")
        if [ "$res" = $'17434\n118\n750' ]; then
            ok "oct-head: SQLite finds 17434 accepted rows, 118 sessions with a cart, 750 of their events"
        else
            notok "oct-head: SQLite finds 17434 accepted rows, 118 sessions with a cart, 750 of their events"
            printf '%s\n' "$res" | diag
        fi
        check_fraction_dicts "oct-head np=$FIRST_NP" "$OX/expected.db" "$p.features.csv"
    fi
fi

if [ "$OCT_OK" = 1 ]; then
    dict_sql "$OX/np$FIRST_NP.h5" > "$OX/np$FIRST_NP.dicts"
    for n in $RANKS; do
        label="oct-head np=$n"
        p=$OX/np$n
        if [ "$n" != "$FIRST_NP" ]; then
            run "$p.train" "$n" train --quiet --trees 40 --seed 46 --test-fraction 0.3 \
                --model "$p.h5" --export-features "$p.features.csv" "$OCT"
            ran_ok "$label train --test-fraction 0.3" "$p.train" || continue
            if dict_sql "$p.h5" > "$p.dicts" && cmp -s "$OX/np$FIRST_NP.dicts" "$p.dicts"; then
                ok "$label: model dictionaries identical to np=$FIRST_NP's"
            else
                notok "$label: model dictionaries identical to np=$FIRST_NP's"
                diff "$OX/np$FIRST_NP.dicts" "$p.dicts" | diag 6
            fi
        fi
        check_export "$label" "$p.features.csv" "$OX/expected.db" 0

        # The split: whole sessions, about 30 % of them.
        res=$(sq :memory: \
            "CREATE TABLE s (session TEXT, product_id TEXT, event_time TEXT,
                             ${FEATURES// / TEXT, } TEXT, label TEXT, dataset TEXT);" \
            ".import --csv --skip 1 \"$p.features.csv\" s" \
            "SELECT 'session ' || session || ' is in both sets' FROM s GROUP BY session
             HAVING count(DISTINCT dataset) > 1;
             SELECT 'set ' || quote(dataset) || ' is neither train nor test' FROM s
             WHERE dataset NOT IN ('train', 'test') LIMIT 3;
             SELECT 'test sessions: ' || t || ' of ' || a || ', not 15-45 %' FROM
             (SELECT count(DISTINCT CASE WHEN dataset = 'test' THEN session END) AS t,
                     count(DISTINCT session) AS a FROM s)
             WHERE t * 100 < a * 15 OR t * 100 > a * 45;" 2>&1)
        check_empty "$label: --test-fraction 0.3 puts whole sessions in the test set, 15-45 % of them" "$res"

        run "$p.again" "$n" train --quiet --trees 40 --seed 46 --test-fraction 0.3 \
            --model "$p.again.h5" "$OCT"
        if ran_ok "$label train again with the same seed" "$p.again"; then
            if nodes "$p.h5" > "$p.nodes" && nodes "$p.again.h5" > "$p.again.nodes" &&
               grep -q 'DATA {' "$p.nodes" && cmp -s "$p.nodes" "$p.again.nodes"; then
                ok "$label: the same seed and rank count give the same forest (/nodes)"
            else
                notok "$label: the same seed and rank count give the same forest (/nodes)"
                diff "$p.nodes" "$p.again.nodes" | diag 6
            fi
        fi

        run "$p.predict" "$n" predict --quiet --model "$OX/np$FIRST_NP.h5" -o "$p.pred.csv" "$OCT"
        if ran_ok "$label predict with the np=$FIRST_NP model" "$p.predict"; then
            check_predict "$label predict" "$p.pred.csv" "$OX/np$FIRST_NP.features.csv"
        fi

        if [ "$n" = "$FIRST_NP" ]; then
            run "$p.info" "$n" model-info "$p.h5"
            if ran_ok "$label model-info" "$p.info" && [ -f "$p.pred.csv.db" ]; then
                check_model_info "$label" "$p.info.out" "$p.pred.csv" "$p.features.csv"
            fi
        else
            for f in features.csv pred.csv; do
                what=$f
                [ "$f" = pred.csv ] && what="predict output (np=$FIRST_NP model)"
                if [ -f "$p.$f" ] && cmp -s "$OX/np$FIRST_NP.$f" "$p.$f"; then
                    ok "$label: $what byte-identical to np=$FIRST_NP"
                else
                    notok "$label: $what byte-identical to np=$FIRST_NP"
                    diff "$OX/np$FIRST_NP.$f" "$p.$f" 2>&1 | diag 6
                fi
            done
        fi
    done
fi

# ------------------------------------------------------------------ 5: errors

EX=$TMP/errors
mkdir -p "$EX"
MODEL=$FX/np$FIRST_NP.h5

# launch NAME NP ARG...: starts a clickmill run in the background.
launch() {
    local name=$1 np=$2
    shift 2
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
        wait -n 2> /dev/null || sleep 0.2
    done
    (run "$EX/$name" "$np" "$@"; echo "$st" > "$EX/$name.rc") &
}

# expect NAME WANT TEXT...: the run NAME exited WANT without a crash, its stderr holds each TEXT.
expect() {
    local name=$1 want=$2
    shift 2
    expect_outcome "$name" "$(cat "$EX/$name.rc" 2>/dev/null || echo missing)" "$EX/$name.err" \
        "$want" "$@"
}

# expect_not NAME REGEX DESCRIPTION: the run NAME's messages do not match REGEX.
expect_not() {
    if grep -Eq -- "$2" "$EX/$1.err"; then
        notok "$1: message $3"
        grep -E -- "$2" "$EX/$1.err" | diag 4
    else
        ok "$1: message $3"
    fi
}

if [ ! -f "$MODEL" ]; then
    notok "errors: a fixture model to damage (np=$FIRST_NP training failed)"
else
    # Damaged and foreign model files.
    size=$(wc -c < "$MODEL")
    head -c $((size / 2)) "$MODEL" > "$EX/truncated.h5"
    head -c 600 "$MODEL" > "$EX/short.h5"
    cp "$FIX1" "$EX/text.h5"
    : > "$EX/empty.h5"
    run "$EX/analyze" "$FIRST_NP" analyze --quiet --out "$EX/analyze" "$FIX1"
    FOREIGN="truncated short text empty missing"
    if [ -f "$EX/analyze/results.h5" ]; then
        FOREIGN="$FOREIGN analyze"
        cp "$EX/analyze/results.h5" "$EX/analyze.h5"
    else
        notok "errors: clickmill analyze writes results.h5 (a foreign HDF5 file)"
    fi
    if command -v h5import > /dev/null 2>&1; then
        printf '1 2 3 4 5 6\n' > "$EX/numbers.txt"
        printf 'PATH numbers\nINPUT-CLASS TEXTIN\nRANK 1\nDIMENSION-SIZES 6\nOUTPUT-CLASS IN\nOUTPUT-SIZE 32\n' \
            > "$EX/numbers.conf"
        if h5import "$EX/numbers.txt" -c "$EX/numbers.conf" -o "$EX/h5import.h5" > /dev/null 2>&1 &&
           [ -s "$EX/h5import.h5" ]; then
            FOREIGN="$FOREIGN h5import"
        else
            skip "errors: h5import could not make an HDF5 file"
        fi
    else
        skip "errors: h5import not installed (foreign HDF5 file from analyze only)"
    fi
    for kind in $FOREIGN; do
        for n in $FIRST_NP $([ "$LAST_NP" != "$FIRST_NP" ] && echo "$LAST_NP"); do
            launch "predict-$kind-model-np$n" "$n" predict --quiet --model "$EX/$kind.h5" "$FIX1"
        done
        launch "model-info-$kind-model" "$FIRST_NP" model-info "$EX/$kind.h5"
    done
fi

# Splits with an empty side, inputs without carts.
printf '%s\n' "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session" \
    "2019-10-01 10:00:00 UTC,view,1,2,a.b,c,1.00,3,c0000099-aaaa-4bbb-8ccc-000000000099" \
    "2019-10-01 10:01:00 UTC,purchase,1,2,a.b,c,1.00,3,c0000099-aaaa-4bbb-8ccc-000000000099" \
    "2019-10-01 10:02:00 UTC,remove_from_cart,1,2,a.b,c,1.00,3,c0000099-aaaa-4bbb-8ccc-000000000099" \
    > "$EX/no-carts.csv"
{ cat "$EX/no-carts.csv"; echo "2019-10-01 10:03:00 UTC,cart,1,2,a.b,c,1.00,3,"; } \
    > "$EX/carts-without-session.csv"
for n in $FIRST_NP $([ "$LAST_NP" != "$FIRST_NP" ] && echo "$LAST_NP"); do
    launch "train-test-days-30-np$n" "$n" train --quiet --trees 5 --test-days 30 \
        --model "$EX/x.h5" "$FIX1" "$FIX2"
    launch "train-no-carts-np$n" "$n" train --quiet --trees 5 --test-fraction 0.3 \
        --model "$EX/x.h5" "$EX/no-carts.csv"
done
launch "train-test-days-1" "$FIRST_NP" train --quiet --trees 5 --test-days 1 \
    --model "$EX/x.h5" "$FIX1" "$FIX2"
launch "train-test-fraction-1" "$FIRST_NP" train --quiet --trees 5 --test-fraction 1 \
    --model "$EX/x.h5" "$FIX1" "$FIX2"
launch "train-carts-without-session" "$FIRST_NP" train --quiet --trees 5 --test-fraction 0.3 \
    --model "$EX/x.h5" "$EX/carts-without-session.csv"

# Bad option values: exit 2 before any work.
BAD_TRAIN=("--trees 0" "--trees many" "--max-depth 0" "--max-depth 65" "--bins 1"
           "--bins 257" "--max-features 0" "--max-features 17" "--min-leaf 0"
           "--test-days 0" "--test-days -2" "--test-fraction 1.5" "--test-fraction -0.1"
           "--test-fraction x" "--threshold 2" "--seed abc" "--max-rejects -1"
           "--test-days 2 --test-fraction 0.3" "--frobnicate")
for opt in "${BAD_TRAIN[@]}"; do
    launch "train_${opt// /_}" "$FIRST_NP" train --quiet $opt --model "$EX/x.h5" "$FIX1"
done
launch "train-no-input" "$FIRST_NP" train --quiet --model "$EX/x.h5"
launch "predict-bad-threshold" "$FIRST_NP" predict --threshold 1.5 --model "$MODEL" "$FIX1"
launch "predict-no-model-option" "$FIRST_NP" predict "$FIX1"
launch "predict-no-input" "$FIRST_NP" predict --model "$MODEL"
launch "model-info-no-file" "$FIRST_NP" model-info
launch "model-info-two-files" "$FIRST_NP" model-info "$MODEL" "$MODEL"
wait

if [ -f "$MODEL" ]; then
    for kind in $FOREIGN; do
        for n in $FIRST_NP $([ "$LAST_NP" != "$FIRST_NP" ] && echo "$LAST_NP"); do
            expect "predict-$kind-model-np$n" 1 "$EX/$kind.h5"
            if [ -s "$EX/predict-$kind-model-np$n.out" ]; then
                notok "predict-$kind-model-np$n: no predictions on stdout"
            else
                ok "predict-$kind-model-np$n: no predictions on stdout"
            fi
        done
        expect "model-info-$kind-model" 1 "$EX/$kind.h5"
    done
fi
for n in $FIRST_NP $([ "$LAST_NP" != "$FIRST_NP" ] && echo "$LAST_NP"); do
    expect "train-test-days-30-np$n" 1 "--test-days" "no earlier samples to train on"
    expect "train-no-carts-np$n" 1 "no cart events"
done
expect "train-test-days-1" 1 "--test-days" "no cart event to test on"
expect "train-test-days-1" 1 "larger --test-days"
# An empty test set needs more days, not fewer.
expect_not "train-test-days-1" "smaller --test-days" "does not advise a smaller --test-days"
expect "train-test-fraction-1" 1 "--test-fraction" "training set empty"
expect_not "train-test-fraction-1" "between$" "is not cut short ('... choose a fraction between')"
expect "train-carts-without-session" 1 "no cart events"
if [ -e "$EX/x.h5" ]; then
    notok "errors: no model written by the failed trainings"
else
    ok "errors: no model written by the failed trainings"
fi
for opt in "${BAD_TRAIN[@]}"; do
    expect "train_${opt// /_}" 2 "${opt%% *}"
done
expect "train-no-input" 2
expect "predict-bad-threshold" 2 "--threshold"
expect "predict-no-model-option" 2 "--model"
expect "predict-no-input" 2
expect "model-info-no-file" 2
expect "model-info-two-files" 2

finish
