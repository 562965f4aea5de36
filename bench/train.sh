#!/usr/bin/env bash
# Trains clickmill's forest with 1 and 2 ranks and scikit-learn's RandomForestClassifier and
# XGBoost on the very samples clickmill exported (same split), one after the other on the same
# machine, and prints their training times and test metrics side by side.
#
# usage: bench/train.sh [ROWS]      (default 1000000; 42448764 is the full October size)
# Environment: DATA (directory for the generated file, default bench-data), TREES (100),
#   DEPTH (12), MPIRUN (default "mpirun --allow-run-as-root --oversubscribe -np").
set -eu
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
DATA=${DATA:-bench-data}
TREES=${TREES:-100}
DEPTH=${DEPTH:-12}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe -np}
PYTHON=/usr/bin/python3

mkdir -p "$DATA"
input="$DATA/events-$ROWS.csv"
if [ ! -s "$input" ]; then
    echo "generating $ROWS rows into $input" >&2
    $MPIRUN 2 bin/clickmill generate --rows "$ROWS" -o "$input" >&2
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/clickmill-bench-train.XXXXXX")
trap 'rm -rf "$out"' EXIT
# Warm the page cache so the first timed run is not the only one that reads the disk.
cat "$input" >/dev/null

summary() { # ranks logfile
    local grown auc ap f1 acc logloss total
    grown=$(sed -n 's/.* in \([0-9.]*\) s$/\1/p' "$2" | head -1)
    read -r auc ap f1 acc logloss < <(awk '
        /^  ROC AUC/ {a=$3} /^  PR AUC/ {p=$3} /^  F1/ {f=$2} /^  accuracy/ {c=$2}
        /^  log loss/ {l=$3} END {print a, p, f, c, l}' "$2")
    total=$(sed -n 's/.*(\([0-9.]*\) s in all)$/\1/p' "$2")
    printf '%-28s %9s %8s %8s %8s %8s %8s  (whole run %s s)\n' "$1" "$grown" "$auc" "$ap" \
        "$acc" "$f1" "$logloss" "$total"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
     "$(bin/clickmill --version); input $input ($ROWS rows); $TREES trees, depth $DEPTH"
for ranks in 1 2; do
    $MPIRUN "$ranks" bin/clickmill train "$input" --trees "$TREES" --max-depth "$DEPTH" \
        --model "$out/model-$ranks.h5" --export-features "$out/features.csv" >"$out/train-$ranks.log"
done
printf '%-28s %9s %8s %8s %8s %8s %8s\n' "trainer" "train s" "ROC AUC" "PR AUC" "accuracy" "F1" \
    "log loss"
summary "clickmill, 1 rank" "$out/train-1.log"
summary "clickmill, 2 ranks" "$out/train-2.log"
$PYTHON bench/train_peers.py "$out/features.csv" --trees "$TREES" --max-depth "$DEPTH" --jobs 2 \
    --json "$out/peers.json" >/dev/null
$PYTHON - "$out/peers.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
names = {"sklearn": "scikit-learn RF, n_jobs=2", "xgboost": "XGBoost hist, n_jobs=2"}
for peer in ("sklearn", "xgboost"):
    m = r[peer]
    print(f"{names[peer]:<28} {m['train_seconds']:9.2f} {m['roc_auc']:8.4f} {m['pr_auc']:8.4f} "
          f"{m['accuracy']:8.4f} {m['f1']:8.4f} {m['log_loss']:8.4f}  (version {m['version']})")
print(f"samples: {r['train_samples']} train, {r['test_samples']} test, {r['features']} features")
PY
