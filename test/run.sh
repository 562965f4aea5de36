#!/usr/bin/env bash
# Runs the unit test binaries (Check) and the integration scripts, and prints one total line.
# usage: test/run.sh [--unit] UNIT_TEST_BINARY...
set -u
cd "$(dirname "$0")/.."
unit_only=0
if [ "${1:-}" = "--unit" ]; then unit_only=1; shift; fi

passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for test in "$@"; do
  # Check forks each test; CK_FORK stays on so a crash fails one test, not the run.
  "$test" >"$log" 2>&1
  status=$?
  cat "$log"
  line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "not ok - $test did not finish (exit $status)"
    failed=$((failed + 1))
    continue
  fi
  checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2/' <<<"$line")
  bad=$(( ${bad% *} + ${bad#* } ))
  passed=$((passed + checks - bad))
  failed=$((failed + bad))
  [ "$status" -eq 0 ] || [ "$bad" -gt 0 ] || failed=$((failed + 1))
done

if [ "$unit_only" -eq 0 ]; then
  scripts=${CHECK_SCRIPTS:-test/integration.sh test/errors.sh test/generate.sh test/train.sh test/store.sh test/report.sh test/serve.sh test/corpus.sh}
  for script in $scripts; do
    [ -x "$script" ] || continue
    echo "== $script"
    "$script" >"$log" 2>&1
    status=$?
    cat "$log"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
      echo "not ok - $script did not finish (exit $status)"
      failed=$((failed + 1))
      continue
    fi
    passed=$((passed + $(cut -d' ' -f1 <<<"$line")))
    failed=$((failed + $(cut -d' ' -f3 <<<"$line")))
    [ "$status" -eq 0 ] || [ "$(cut -d' ' -f3 <<<"$line")" -gt 0 ] || failed=$((failed + 1))
  done
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
