#!/usr/bin/env bash
# The bad-input corpus: every file of test/corpus/ analysed on 1 and 3 ranks must get the outcome
# test/corpus/EXPECTED.tsv gives it (written by hand from how each file was made):
#   - exit status, and for a refused file the words of its message;
#   - for an accepted file, the rows read and rejected (summary.csv), and exactly the rejected
#     line numbers and reasons listed (the --rejects file);
#   - "unchanged other results": where a twin is named (same_as), the file with its listed bad
#     lines deleted by this script must be byte-identical to the twin, and every table but the
#     summary must equal the twin's: a bad row changes no answer, and CRLF, a BOM, another
#     column order, extra columns or quoting change nothing.
# Then cases made here: a line over 1 MiB, a directory, a missing file, a file the user may not
# read (run as nobody), a file that grows or shrinks while it is read, and a job whose ranks
# run out of memory (ulimit -v).
#
# Usage: test/corpus.sh   (from anywhere)
# Environment: CLICKMILL, MPIRUN (default "mpirun --allow-run-as-root --oversubscribe -np"),
#   RANKS (default "1 3"), RUN_TIMEOUT, KEEP_TMP as in test/train.sh.

# MPIRUN is a command line.
# shellcheck disable=SC2086

set -u

cd "$(dirname "$0")/.." || exit 2
# shellcheck source-path=SCRIPTDIR/..
. test/lib.sh

CLICKMILL=${CLICKMILL:-bin/clickmill}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe -np}
RANKS=${RANKS:-1 3}
C=test/corpus
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

scratch_dir clickmill-corpus

# analyze_file NP FILE OUT: analyze with --rejects; sets st; stderr in OUT.err.
analyze_file() {
    rm -rf "$3"
    with_timeout $MPIRUN "$1" $CLICKMILL analyze -q --format csv --out "$3" \
        --rejects "$3.rejects" "$2" < /dev/null > "$3.out" 2> "$3.err"
    st=$?
}

tables_but_summary() {
    local a=$1 b=$2 t
    for t in funnel categories category_brands category_products brands days hours; do
        cmp -s "$a/tables/$t.csv" "$b/tables/$t.csv" || return 1
    done
}

files=0
for np in $RANKS; do
    # the twins first, for the comparisons
    analyze_file "$np" "$C/base.csv" "$TMP/base-$np"
    while IFS=$'\t' read -r file want rows rejected bad same message; do
        case $file in '#'* | '') continue ;; esac
        [ "$np" = "${RANKS%% *}" ] && files=$((files + 1))
        label="$file, $np rank$([ "$np" = 1 ] || echo s)"
        out=$TMP/${file%.csv}-$np
        analyze_file "$np" "$C/$file" "$out"
        texts=()
        [ "$message" != - ] && texts=("$message")
        expect_outcome "$label" "$st" "$out.err" "$want" "${texts[@]}"
        if [ "$want" != 0 ]; then
            [ -e "$out/results.h5" ] && notok "$label: no results written" || ok "$label: no results written"
            continue
        fi
        got=$(sed -n 2p "$out/tables/summary.csv" | cut -d, -f1,2)
        check "$label: $rows rows read, $rejected rejected (got $got)" [ "$got" = "$rows,$rejected" ]
        want_lines=""
        [ "$bad" != - ] && want_lines=$(tr ',' '\n' <<< "$bad" | sort)
        got_lines=$(/usr/bin/python3 -c '
import csv, sys
rows = csv.DictReader(open(sys.argv[1], newline=""))
print("\n".join(sorted("%s:%s" % (r["line"], r["reason"]) for r in rows)))' "$out.rejects")
        if [ "$got_lines" = "$want_lines" ]; then
            ok "$label: the rejected lines and reasons are exactly ${bad}"
        else
            notok "$label: the rejected lines and reasons are exactly ${bad}"
            printf 'got: %s\n' "$got_lines" | diag 6
        fi
        if [ "$same" != - ]; then
            if [ "$bad" != - ]; then
                # the file with its bad lines deleted (by number) is the twin, byte for byte
                lines=$(tr ',' '\n' <<< "$bad" | cut -d: -f1 | sed 's/$/d/' | paste -sd';')
                if sed "$lines" "$C/$file" | cmp -s - "$C/$same"; then
                    ok "$label: deleting lines $(tr ',' '\n' <<< "$bad" | cut -d: -f1 | paste -sd' ') leaves $same"
                else
                    notok "$label: deleting the listed lines leaves $same"
                fi
            fi
            if tables_but_summary "$out" "$TMP/${same%.csv}-$np"; then
                ok "$label: every other table equals $same's"
            else
                notok "$label: every other table equals $same's"
                diff -r "$out/tables" "$TMP/${same%.csv}-$np/tables" | diag 8
            fi
        fi
    done < "$C/EXPECTED.tsv"

    # A line over 1 MiB: rejected, the rest read.
    long=$TMP/long-line.csv
    { head -3 "$C/base.csv"; printf '2019-10-01 10:00:00 UTC,view,1,2,x,'; head -c 1100000 /dev/zero | tr '\0' b
      printf ',1.00,3,s\n'; tail -n +4 "$C/base.csv"; } > "$long"
    analyze_file "$np" "$long" "$TMP/long-$np"
    expect_outcome "a line over 1 MiB, $np ranks" "$st" "$TMP/long-$np.err" 0 "long_line"
    tables_but_summary "$TMP/long-$np" "$TMP/base-$np" && ok "a line over 1 MiB, $np ranks: other tables unchanged" ||
        notok "a line over 1 MiB, $np ranks: other tables unchanged"

    analyze_file "$np" "$TMP" "$TMP/dir-$np"
    expect_outcome "a directory as input, $np ranks" "$st" "$TMP/dir-$np.err" 1 "is a directory"
    analyze_file "$np" "$TMP/no-such.csv" "$TMP/missing-$np"
    expect_outcome "a missing file, $np ranks" "$st" "$TMP/missing-$np.err" 1 "no-such.csv" "No such file"
done

# A file its user may not read (root reads everything: the run is made as nobody).
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null && id nobody > /dev/null 2>&1; then
    secret=$TMP/secret.csv
    cp "$C/base.csv" "$secret"
    chmod 600 "$secret"
    chmod 755 "$TMP"
    setpriv --reuid=nobody --regid=nogroup --clear-groups $CLICKMILL analyze -q \
        --out "$TMP/nobody-out" "$secret" > /dev/null 2> "$TMP/secret.err"
    expect_outcome "a file the user may not read" $? "$TMP/secret.err" 1 "secret.csv" "Permission denied"
elif [ "$(id -u)" != 0 ]; then
    secret=$TMP/secret.csv
    cp "$C/base.csv" "$secret"
    chmod 000 "$secret"
    $CLICKMILL analyze -q --out "$TMP/secret-out" "$secret" > /dev/null 2> "$TMP/secret.err"
    expect_outcome "a file the user may not read" $? "$TMP/secret.err" 1 "Permission denied"
else
    skip "a file the user may not read (needs setpriv and a user nobody)"
fi

# A file that grows or shrinks while it is read: it is planned by its size at the start; rows
# added later are not read (the answer is that of the file as it was), and a file that ends
# before its planned size is an error naming the byte where it ended.
big=$TMP/big.csv
with_timeout $MPIRUN 2 $CLICKMILL generate --rows 3000000 -o "$big" > /dev/null 2>&1
cp "$big" "$TMP/big-original.csv"
with_timeout $MPIRUN 1 $CLICKMILL analyze -q --out "$TMP/big-reference" "$big" > /dev/null 2>&1
for np in $RANKS; do
    for change in grows shrinks; do
        cp "$TMP/big-original.csv" "$big"
        rm -rf "$TMP/big-$change-$np"
        $MPIRUN "$np" $CLICKMILL analyze --progress --out "$TMP/big-$change-$np" "$big" \
            > /dev/null 2> "$TMP/big-$change-$np.err" &
        pid=$!
        # the first progress line: the file is planned and being read
        for _ in $(seq 200); do
            [ -s "$TMP/big-$change-$np.err" ] && break
            sleep 0.02
        done
        if [ "$change" = grows ]; then
            tail -n 100000 "$TMP/big-original.csv" >> "$big"
        else
            truncate -s 40000000 "$big"
        fi
        wait "$pid"
        st=$?
        if [ "$change" = grows ]; then
            expect_outcome "a file that grows while read, $np ranks" "$st" "$TMP/big-$change-$np.err" 0
            if diff -r "$TMP/big-reference/tables" "$TMP/big-$change-$np/tables" > /dev/null; then
                ok "a file that grows while read, $np ranks: the tables of the file as it was"
            else
                notok "a file that grows while read, $np ranks: the tables of the file as it was"
            fi
        else
            expect_outcome "a file that shrinks while read, $np ranks" "$st" "$TMP/big-$change-$np.err" 1 \
                "shrank while it was read"
            [ -e "$TMP/big-$change-$np/results.h5" ] &&
                notok "a file that shrinks while read, $np ranks: no results written" ||
                ok "a file that shrinks while read, $np ranks: no results written"
        fi
    done
done
# Out of memory: a rank that cannot allocate says so once and the whole job stops, quickly,
# with no results. (Not under AddressSanitizer, which reserves more address space than any
# such limit leaves.)
if [ -z "${ASAN_OPTIONS:-}" ]; then
    for np in $RANKS; do
        start=$(date +%s)
        (ulimit -v 300000; exec $MPIRUN "$np" $CLICKMILL analyze -q --out "$TMP/oom-$np" \
            "$TMP/big-original.csv" \
            < /dev/null > /dev/null 2> "$TMP/oom-$np.err")
        st=$?
        seconds=$(($(date +%s) - start))
        if [ "$st" != 0 ] && grep -q "clickmill: out of memory" "$TMP/oom-$np.err" && [ "$seconds" -lt 60 ]; then
            ok "out of memory (ulimit -v 300 MB), $np ranks: exit $st in $seconds s, saying 'out of memory'"
        else
            notok "out of memory (ulimit -v 300 MB), $np ranks: a non-zero exit saying 'out of memory' (got $st in $seconds s)"
            diag < "$TMP/oom-$np.err"
        fi
        [ -e "$TMP/oom-$np/results.h5" ] && notok "out of memory, $np ranks: no results written" ||
            ok "out of memory, $np ranks: no results written"
    done
else
    skip "out of memory under ulimit -v (not with AddressSanitizer)"
fi
echo "# corpus: $files files in test/corpus, and 8 cases made here, on ranks $RANKS"
finish
