#!/usr/bin/env bash
# Tests of `clickmill generate`: exact row counts, the format, time order, the same bytes for
# any number of ranks and for the same seed, options, and the fidelity check at a small size.
#
# Overrides (environment): CLICKMILL (default bin/clickmill), MPIRUN (default
# `mpirun --allow-run-as-root --oversubscribe -np`; the rank count is appended), RANKS (default
# "1 2 3 7"), FIDELITY_ROWS (rows of the fidelity check, default 400000), RUN_TIMEOUT (seconds
# per run, default 120), KEEP_TMP=1 (keep the scratch directory).
# Output: `ok - ...` / `not ok - ...` per check (`#` lines are diagnostics), then one line
# `N passed, N failed`; the exit status is non-zero when a check failed.
set -u
cd "$(dirname "$0")/.." || exit 2
# shellcheck source-path=SCRIPTDIR/..
. test/lib.sh
CLICKMILL=${CLICKMILL:-bin/clickmill}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe -np}
RANKS=${RANKS:-1 2 3 7}
FIDELITY_ROWS=${FIDELITY_ROWS:-400000}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
scratch_dir clickmill-generate
W=$TMP # the scratch directory
# gen NP ARG...: runs generate; sets $st
gen() {
  local np=$1; shift
  # shellcheck disable=SC2086
  with_timeout $MPIRUN "$np" "$CLICKMILL" generate --quiet "$@" >"$W/stdout" 2>"$W/stderr" </dev/null
  st=$?
}

rows=30011
first=''
for np in $RANKS; do
  gen "$np" --rows $rows --seed 7 -o "$W/g.$np.csv"
  check "generate --rows $rows on $np ranks exits 0" test "$st" -eq 0
  if [ -z "$first" ]; then
    first=$np
    f="$W/g.$np.csv"
    check "exactly $rows data rows" test "$(($(wc -l <"$f") - 1))" -eq $rows
    check "the REES46 header" test "$(head -n 1 "$f")" = \
      "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
    check "every row has 9 fields, a UTC time, a known event type, ids, a 2-decimal price and a UUID or empty session" \
      test "$(tail -n +2 "$f" | grep -cvE '^20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC,(view|cart|purchase),[0-9]+,[0-9]+,[a-z_.]*,[a-z]*,[0-9]+\.[0-9]{2},[0-9]+,([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})?$')" -eq 0
    check "rows sorted by event_time" bash -c "tail -n +2 '$f' | cut -c1-19 | LC_ALL=C sort -c"
    check "all rows in October 2019" test "$(tail -n +2 "$f" | grep -vc '^2019-10-')" -eq 0
    check "clickmill analyze accepts every row" bash -c "'$CLICKMILL' analyze -q --format csv --out '$W/a' '$f' | sed -n 3p | cut -d, -f1,2 | grep -qx '$rows,0'"
  else
    check "the $np-rank file is byte-identical to the $first-rank one" cmp -s "$W/g.$first.csv" "$W/g.$np.csv"
  fi
done

gen 1 --rows $rows --seed 7 -o "$W/again.csv"
check "the same seed gives the same file" cmp -s "$W/g.$first.csv" "$W/again.csv"
gen 1 --rows $rows --seed 8 -o "$W/other.csv"
check "another seed gives another file" bash -c "! cmp -s '$W/g.$first.csv' '$W/other.csv'"
gen 2 --rows 1 -o "$W/one.csv"
check "--rows 1 on 2 ranks: a header and one row" test "$(wc -l <"$W/one.csv")" -eq 2
gen 1 --size 2M --month 2019-11 -o "$W/size.csv"
bytes=$(wc -c <"$W/size.csv")
check "--size 2M gives about 2 MB (got $bytes bytes)" test "$bytes" -gt 1900000 -a "$bytes" -lt 2100000
check "--month 2019-11 writes November" test "$(tail -n +2 "$W/size.csv" | grep -vc '^2019-11-')" -eq 0
gen 1 --rows 100 --month 2020-02 -o "$W/feb.csv"
check "--month 2020-02 (29 days) exits 0" test "$st" -eq 0

for bad in "--rows 0 -o $W/x.csv" "--rows 10" "--rows 10 --size 1M -o $W/x.csv" "--month 2019-13 --rows 5 -o $W/x.csv" "--size 12Q -o $W/x.csv" "--bogus"; do
  # shellcheck disable=SC2086
  gen 1 $bad
  check "generate $bad: usage error (exit 2)" test "$st" -eq 2
done
gen 1 --rows 10 -o /proc/forbidden/x.csv
check "an output that cannot be created: exit 1 with a message" bash -c "[ $st -eq 1 ] && grep -q 'cannot create' '$W/stderr'"
mkdir -p "$W/dir"
gen 2 --rows 10 -o "$W/dir"
check "an output that is a directory: exit 1 before generating" bash -c "[ $st -eq 1 ] && grep -q 'is a directory' '$W/stderr'"
check "no temporary file is left behind" bash -c "! ls -a '$W' '$W/dir' | grep -q '\.tmp\.'"
for bad in 2019-1x "2019- 3" 2019-+4; do
  gen 1 --rows 10 --month "$bad" -o "$W/x.csv"
  check "--month '$bad': usage error (exit 2)" test "$st" -eq 2
done
gen 1 --rows 100000000000 -o "$W/x.csv"
check "--rows beyond 4 billion: refused at once (exit 2)" test "$st" -eq 2

# Several slices per rank (2.5 million rows each): 1 rank makes 3 slices, 2 ranks 4, 3 ranks 3.
big=5000001
for np in 1 2 3; do
  gen "$np" --rows $big -o "$W/big.$np.csv"
done
check "$big rows: exactly $big data rows" test "$(($(wc -l <"$W/big.1.csv") - 1))" -eq $big
check "$big rows in several slices: 1, 2 and 3 ranks byte-identical" \
  bash -c "cmp -s '$W/big.1.csv' '$W/big.2.csv' && cmp -s '$W/big.1.csv' '$W/big.3.csv'"
rm -f "$W"/big.*.csv

# Fidelity at a small size: the shape figures of docs/generator.md within their tolerances.
gen 2 --rows "$FIDELITY_ROWS" -o "$W/fidelity.csv"
if test/fidelity.sh "$W/fidelity.csv" >"$W/fidelity.txt" 2>&1; then
  ok "fidelity at $FIDELITY_ROWS rows: $(tail -n 1 "$W/fidelity.txt")"
else
  notok "fidelity at $FIDELITY_ROWS rows: $(tail -n 1 "$W/fidelity.txt")"
  grep -E 'OUT' "$W/fidelity.txt" | diag 40
fi

finish
