#!/usr/bin/env bash
# Trains clickmill's forest with 1 and 2 ranks, and scikit-learn's RandomForestClassifier and
# XGBoost on the very samples clickmill exported (same split), one after the other on the same
# machine, for one or more seeds, and prints training times and test metrics side by side with
# the mean over the seeds.
#
# usage: bench/train.sh [ROWS]      (default 1000000; 42448764 is the full October size)
# Environment: DATA (directory for the generated file, default bench-data), SEEDS (default
#   "46"), TREES (100), DEPTH (12), MPIRUN (default
#   "mpirun --allow-run-as-root --oversubscribe -np").
set -eu
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
DATA=${DATA:-bench-data}
SEEDS=${SEEDS:-46}
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
cat "$input" >/dev/null # into the page cache, so no run is the only one to read the disk

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
     "$(bin/clickmill --version); input $input ($ROWS rows); $TREES trees, depth $DEPTH;" \
     "seeds $SEEDS"
export_opt=(--export-features "$out/features.csv")
for seed in $SEEDS; do
    for ranks in 1 2; do
        log="$out/clickmill-$ranks-$seed.log"
        /usr/bin/time -f "peak_rss_kb %M" -o "$out/time-$ranks-$seed" \
            $MPIRUN "$ranks" bin/clickmill train "$input" --trees "$TREES" --max-depth "$DEPTH" \
            --seed "$seed" --model "$out/model.h5" "${export_opt[@]}" >"$log"
        export_opt=()
    done
    $PYTHON bench/train_peers.py "$out/features.csv" --trees "$TREES" --max-depth "$DEPTH" \
        --jobs 2 --seed "$seed" --json "$out/peers-$seed.json" >/dev/null
done
$PYTHON - "$out" $SEEDS <<'PY'
import glob, json, re, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
rows = {}  # trainer -> list of metric dicts

def clickmill(path):
    text = open(path).read()
    m = {"train_seconds": float(re.search(r"grown on .* in ([0-9.]+) s", text).group(1)),
         "whole_seconds": float(re.search(r"\(([0-9.]+) s in all", text).group(1))}
    for name, key, col in (("ROC AUC", "roc_auc", 1), ("PR AUC", "pr_auc", 1),
                           ("accuracy", "accuracy", 0), ("F1", "f1", 0),
                           ("log loss", "log_loss", 1)):
        line = re.search(r"^  %s +(\S+)" % re.escape(name), text, re.M)
        m[key] = float(line.group(1))
    return m

for seed in seeds:
    for ranks in (1, 2):
        m = clickmill(f"{out}/clickmill-{ranks}-{seed}.log")
        rss = open(f"{out}/time-{ranks}-{seed}").read().split()[-1]
        m["peak_rss_mb"] = int(rss) / 1024
        rows.setdefault(f"clickmill, {ranks} rank{'s' if ranks > 1 else ''}", []).append(m)
    peers = json.load(open(f"{out}/peers-{seed}.json"))
    for key, name in (("sklearn", "scikit-learn RF, n_jobs=2"), ("xgboost", "XGBoost hist, n_jobs=2")):
        rows.setdefault(name, []).append(peers[key])

cols = ("train_seconds", "roc_auc", "pr_auc", "accuracy", "f1", "log_loss")
print(f"{'trainer (mean over seeds)':<28} {'train s':>8} {'ROC AUC':>8} {'PR AUC':>8} "
      f"{'accuracy':>8} {'F1':>8} {'log loss':>8}  ROC AUC per seed")
for name, runs in rows.items():
    mean = {c: statistics.mean(r[c] for r in runs) for c in cols}
    per_seed = " ".join(f"{r['roc_auc']:.4f}" for r in runs)
    print(f"{name:<28} {mean['train_seconds']:8.2f} {mean['roc_auc']:8.4f} {mean['pr_auc']:8.4f} "
          f"{mean['accuracy']:8.4f} {mean['f1']:8.4f} {mean['log_loss']:8.4f}  {per_seed}")
sk = statistics.mean(r["train_seconds"] for r in rows["scikit-learn RF, n_jobs=2"])
sk_auc = statistics.mean(r["roc_auc"] for r in rows["scikit-learn RF, n_jobs=2"])
for ranks in (1, 2):
    name = f"clickmill, {ranks} rank{'s' if ranks > 1 else ''}"
    runs = rows[name]
    t = statistics.mean(r["train_seconds"] for r in runs)
    auc = statistics.mean(r["roc_auc"] for r in runs)
    whole = statistics.mean(r["whole_seconds"] for r in runs)
    rss = max(r["peak_rss_mb"] for r in runs)
    print(f"{name}: trees {sk / t:.1f}x faster than scikit-learn, ROC AUC {auc - sk_auc:+.4f} "
          f"against it; whole run (read, samples, trees, scoring) {whole:.1f} s, peak RSS "
          f"{rss:.0f} MB per process")
peers = json.load(open(f"{out}/peers-{seeds[0]}.json"))
print(f"samples: {peers['train_samples']} train, {peers['test_samples']} test, "
      f"{peers['features']} features; scikit-learn {peers['sklearn']['version']}, "
      f"XGBoost {peers['xgboost']['version']} (max_depth 6, its default)")
PY
