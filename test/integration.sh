#!/usr/bin/env bash
# Integration test of `clickmill analyze`: runs it under several MPI rank counts
# and compares its CSV tables (docs/data-contract.md) with an independent
# computation by SQLite (test/sql/*.sql) from the same input CSV file(s).
#
# Usage: test/integration.sh            (from anywhere; it cds to the repo root)
# Environment:
#   CLICKMILL    the binary                        (default: bin/clickmill)
#   MPIRUN       launcher; the rank count is appended to it
#                (default: "mpirun --allow-run-as-root --oversubscribe -np";
#                 e.g. MPIRUN="srun -n" also works)
#   RANKS        rank counts to run                 (default: "1 2 3 7")
#   SHARED       directory with the real REES46 extracts
#                (default: ../shared/data/rees46); missing data => skip
#   RUN_TIMEOUT  seconds allowed per clickmill run  (default: 120)
#   KEEP_TMP     if set (and not 0), keep the scratch directory (expected.db, outputs, logs)
#
# Output: one line per check, "ok - ..." or "not ok - ..." (diagnostics after
# a failure are indented with "#"), "skip - ..." for unavailable data, and at
# the end exactly one line "N passed, N failed". Exit status 1 if any failed.

set -u

cd "$(dirname "$0")/.." || exit 2
# shellcheck source-path=SCRIPTDIR/..
. test/lib.sh

CLICKMILL=${CLICKMILL:-bin/clickmill}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe -np}
RANKS=${RANKS:-1 2 3 7}
SHARED=${SHARED:-../shared/data/rees46}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}

SQL=test/sql
DATA=test/data

TABLES="summary funnel categories category_brands category_products brands days hours"

# The contract's column lists (docs/data-contract.md, "Tables").
declare -A HEADER=(
    [summary]="rows,rows_rejected,users,sessions,products,revenue,first_event,last_event"
    [funnel]="event_type,events,users,sessions"
    [categories]="category,views,carts,purchases,revenue"
    [category_brands]="category,brand,views,carts,purchases,revenue"
    [category_products]="category,product,views,carts,purchases,revenue"
    [brands]="brand,views,carts,purchases,revenue"
    [days]="date,views,carts,purchases,revenue,users,sessions"
    [hours]="hour,views,carts,purchases,revenue,users,users_cumulative"
)

INPUT_COLUMNS="event_time event_type product_id category_id category_code brand price user_id user_session"

scratch_dir clickmill-it

# load_expected DIR FILE...: import the input CSV file(s) into DIR/expected.db
# (table `events`, columns mapped by the NAMES in each file's header) and build
# the expected tables and their expected CSV lines. Returns non-zero on error.
load_expected() {
    local dir=$1; shift
    local db=$dir/expected.db i=0 f header col cols last script res t
    script=$dir/load.sql
    cat "$SQL/events.sql" > "$script"
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
            last=$col
        done
        if [ "$(echo "$header" | tr ',' '\n' | sort -u | wc -l)" -ne 9 ]; then
            echo "header of $f does not have the 9 input columns: $header"
            return 1
        fi
        {
            echo "CREATE TABLE stage_$i (${cols//,/ TEXT,} TEXT);"
            echo ".import --csv --skip 1 \"$f\" stage_$i"
            # A file ending in an empty last field and no newline gives NULL
            # for that field; a CRLF line end must not leave a CR behind.
            echo "UPDATE stage_$i SET $last = rtrim($last, char(13));"
            echo "INSERT INTO events ($INPUT_COLUMNS_SQL)"
            echo "SELECT $(for col in $INPUT_COLUMNS; do printf "coalesce(%s, ''), " "$col"; done | sed 's/, $//')"
            echo "FROM stage_$i;"
        } >> "$script"
    done
    cat "$SQL/tables.sql" "$SQL/expected_csv.sql" >> "$script"
    # sqlite3 may warn (e.g. a short row) without failing: any output is an error.
    if ! res=$(sq "$db" < "$script" 2>&1) || [ -n "$res" ]; then
        printf '%s\n' "$res"
        return 1
    fi
    for t in $TABLES; do
        echo "${HEADER[$t]}" > "$dir/expected.$t.csv"
        sq "$db" "SELECT line FROM exp_csv_$t ORDER BY seq;" \
            >> "$dir/expected.$t.csv" 2>&1 || { cat "$dir/expected.$t.csv"; return 1; }
    done
}
INPUT_COLUMNS_SQL=${INPUT_COLUMNS// /, }

# Number of data records in FILE, counted independently of SQLite (the test
# inputs have no line breaks inside fields; a last line without newline counts).
data_lines() { awk 'END { print NR - 1 }' "$1"; }

# check_tables LABEL DIR OUTDIR: compare the 8 tables in OUTDIR/tables with
# DIR/expected.db.
check_tables() {
    local label=$1 dir=$2 out=$3 t f got gotdb res
    gotdb=$out.check.db
    rm -f "$gotdb"
    if ! res=$(sq "$gotdb" < "$SQL/clickmill_tables.sql" 2>&1); then
        notok "$label: create the check database"
        printf '%s\n' "$res" | diag
        return
    fi
    for t in $TABLES; do
        f=$out/tables/$t.csv
        if [ ! -f "$f" ]; then
            notok "$label $t.csv: exists"
            continue
        fi

        got=$(head -n 1 "$f")
        if [ "$got" = "${HEADER[$t]}" ]; then
            ok "$label $t.csv: header is the contract's column list"
        else
            notok "$label $t.csv: header is the contract's column list"
            printf 'expected: %s\ngot:      %s\n' "${HEADER[$t]}" "$got" | cat -v | diag
        fi

        res=$({ echo ".import --csv --skip 1 \"$f\" csv_$t"
                echo "INSERT INTO typed_$t SELECT * FROM csv_$t;"
                echo "ATTACH '$dir/expected.db' AS x;"
                sed "s/@T@/$t/g" "$SQL/compare.sql"
              } | sq "$gotdb" 2>&1)
        check_empty "$label $t.csv: rows equal SQLite's" "$res"

        res=$(sq "$gotdb" "SELECT problem FROM bad_order_$t LIMIT 5;" 2>&1)
        check_empty "$label $t.csv: rows sorted by key, keys unique" "$res"

        if cmp -s "$dir/expected.$t.csv" "$f"; then
            ok "$label $t.csv: exact bytes (RFC 4180 quoting, 2-decimal revenue, LF)"
        else
            notok "$label $t.csv: exact bytes (RFC 4180 quoting, 2-decimal revenue, LF)"
            { if grep -q $'\r' "$f"; then echo "(the file contains CR bytes)"; fi
              if [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ]; then
                  echo "(the file does not end with a newline)"
              fi
              diff "$dir/expected.$t.csv" "$f" | head -n 10
            } | diag
        fi
    done
}

# h5_rows RESULTS TABLE: the dataset's rows, one per line, fields joined by tabs.
h5_rows() {
    h5dump -m '%.2f' -d "/$2" -y -w 0 "$1" | awk '
        /^ *DATA \{/ { data = 1; next }
        !data { next }
        /^ *(\{|\}|\},|\}, \{) *$/ { if (n) print row; row = ""; n = 0; next }
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
            row = n ? row "\t" v : v; n++
        }'
}

# csv_rows CSV: the same rows read from a CSV table by SQLite, fields joined by tabs.
csv_rows() {
    sq :memory: ".mode csv" ".import $1 t" ".mode tabs" ".headers off" "SELECT * FROM t;"
}

# check_h5 LABEL OUT: every dataset of results.h5 holds the rows of its CSV table.
check_h5() {
    local label=$1 out=$2 t
    if ! command -v h5dump >/dev/null 2>&1; then
        skip "$label results.h5: h5dump not installed"
        return
    fi
    for t in $TABLES; do
        if diff <(h5_rows "$out/results.h5" "$t") <(csv_rows "$out/tables/$t.csv") > "$out/h5.$t.diff" 2>&1; then
            ok "$label results.h5 /$t: same rows as $t.csv"
        else
            notok "$label results.h5 /$t: same rows as $t.csv"
            diag 10 < "$out/h5.$t.diff"
        fi
    done
}

# run_dataset NAME FILE...: run clickmill for each rank count and check.
run_dataset() {
    local name=$1; shift
    local dir=$TMP/$name f n rc first='' res expected
    mkdir -p "$dir"

    for f in "$@"; do
        if [ ! -r "$f" ]; then
            skip "$name: input $f not found"
            return
        fi
    done

    if ! res=$(load_expected "$dir" "$@"); then
        notok "$name: SQLite computes the expected tables"
        printf '%s\n' "$res" | diag
        return
    fi
    expected=0
    for f in "$@"; do expected=$((expected + $(data_lines "$f"))); done
    res=$(sq "$dir/expected.db" "SELECT count(*) FROM events;")
    if [ "$res" = "$expected" ]; then
        ok "$name: SQLite loaded all $expected input rows"
    else
        notok "$name: SQLite loaded all $expected input rows (loaded $res)"
    fi

    for n in $RANKS; do
        local out=$dir/out.$n label="$name np=$n"
        # MPIRUN and CLICKMILL are split into words on purpose.
        # shellcheck disable=SC2086
        with_timeout $MPIRUN $n $CLICKMILL analyze --quiet --out "$out" "$@" \
            > "$dir/run.$n.log" 2>&1
        rc=$?
        if [ $rc -ne 0 ]; then
            notok "$label: clickmill exits 0 (exit status $rc)"
            tail -n 8 "$dir/run.$n.log" | diag
            continue
        fi
        ok "$label: clickmill exits 0"
        check_tables "$label" "$dir" "$out"
        check_h5 "$label" "$out"

        if [ -z "$first" ]; then
            first=$n
            continue
        fi
        for t in $TABLES; do
            if [ ! -f "$dir/out.$first/tables/$t.csv" ] || [ ! -f "$out/tables/$t.csv" ]; then
                notok "$label $t.csv: byte-identical to np=$first (file missing)"
            elif cmp -s "$dir/out.$first/tables/$t.csv" "$out/tables/$t.csv"; then
                ok "$label $t.csv: byte-identical to np=$first"
            else
                notok "$label $t.csv: byte-identical to np=$first"
                diff "$dir/out.$first/tables/$t.csv" "$out/tables/$t.csv" | diag 10
            fi
        done
    done
}

# Known figures of the October head extract, as a guard on the SQLite side.
check_oct_reference() {
    local db=$TMP/oct-head/expected.db res
    [ -f "$db" ] || return
    res=$(sq "$db" "SELECT rows, users, sessions, products FROM exp_summary;
                    SELECT group_concat(event_type || '=' || events, ' ')
                    FROM (SELECT * FROM exp_funnel ORDER BY event_type);")
    if [ "$res" = $'17434|4504|5066|6493\ncart=165 purchase=214 view=17055' ]; then
        ok "oct-head: SQLite reproduces the known figures (17434 rows, 4504 users, ...)"
    else
        notok "oct-head: SQLite reproduces the known figures (17434 rows, 4504 users, ...)"
        printf '%s\n' "$res" | diag
    fi
}

if [ -z "$(command -v sqlite3)" ]; then
    notok "sqlite3 is installed"
    finish
fi
if [ -z "$(command -v "${CLICKMILL%% *}")" ]; then
    notok "clickmill binary $CLICKMILL exists (build it first: make)"
    finish
fi

# (a) hand-made fixtures
run_dataset edge      "$DATA/fixture_edge.csv"
run_dataset crlf-nonl "$DATA/fixture_crlf_nonl.csv"
run_dataset parts     "$DATA/fixture_part1.csv" "$DATA/fixture_part2.csv"
# Users and sessions active on days of different 64-day windows (the distinct counts keep 64
# days per entity as bits and the rest as facts), in shuffled order.
run_dataset window    "$DATA/fixture_window.csv"

# (b) the real October head; (c) October and November heads in one run
OCT=$SHARED/oct2019-head/2019-Oct-head.csv
NOV=$SHARED/nov2019-head/2019-Nov-head.csv
run_dataset oct-head "$OCT"
check_oct_reference
run_dataset oct+nov-head "$OCT" "$NOV"

# (d) the same with entity caches of one slot: every event of another user, session or product
# evicts a record, so an entity has many records, merged at the end (and across windows).
CLICKMILL_ENTITY_CACHE=1 run_dataset window-cache1 "$DATA/fixture_window.csv"
CLICKMILL_ENTITY_CACHE=1 run_dataset oct+nov-head-cache1 "$OCT" "$NOV"

finish
