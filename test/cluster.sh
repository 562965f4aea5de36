#!/usr/bin/env bash
# The SLURM job scripts on a real scheduler: a one-node SLURM cluster (munged, slurmctld and
# slurmd from Debian's slurm-wlm and munge) started on loopback in a scratch directory, with a
# slurm.conf and a munge key of its own, as root; `make check-cluster` runs it.
#
# What it checks:
#  1. Every script in jobs/ submitted with sbatch (2 ranks) ends COMPLETED with exit 0, and
#     its outputs equal those of the same command run directly with mpirun: analyze's tables
#     (srun and mpirun launchers, REPORT=1's page), ingest's store (its columns and
#     dictionaries, and analyze's tables from it), train's forest (same seed and rank count),
#     and the pipeline's month, store, tables, model and reports.
#  2. mpirun --hostfile with localhost slots gives the same tables.
#  3. Failures end the job quickly with a non-zero exit and the reason in its log, leaving no
#     output and no temporary file: a missing input, too many rejected rows, a rank killed
#     while it reads.
#
# Usage: test/cluster.sh   (as root; from anywhere)
# Environment: KEEP_TMP as in test/train.sh; JOB_TIMEOUT (seconds a job may take, default 120).

set -u

cd "$(dirname "$0")/.." || exit 2
# shellcheck source-path=SCRIPTDIR/..
. test/lib.sh

ROOT=$PWD
JOB_TIMEOUT=${JOB_TIMEOUT:-120}
# The jobs get the binary by this absolute path (jobs/lib.sh), like a user's CLICKMILL.
CLICKMILL=$(realpath "${CLICKMILL:-bin/clickmill}")
export CLICKMILL
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

if [ "$(id -u)" != 0 ] || ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
    if [ -n "${CI:-}" ]; then
        notok "a SLURM cluster needs root, slurm-wlm and munge (make check-cluster installs them)"
        finish
    fi
    skip "SLURM cluster tests: run as root with slurm-wlm and munge (make check-cluster)"
    finish
    exit 0
fi

scratch_dir clickmill-cluster
cleanup() {
    if [ -n "${SLURM_CONF:-}" ]; then
        scontrol shutdown > /dev/null 2>&1
        sleep 1
    fi
    for pid in "$TMP"/slurmctld.pid "$TMP"/slurmd.pid "$TMP"/munge/munged.pid; do
        [ -s "$pid" ] && kill "$(cat "$pid")" 2> /dev/null
    done
    if [ "${KEEP_TMP:-0}" != 0 ]; then echo "# scratch kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# --- the cluster ------------------------------------------------------------------------------
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$TMP/munge" "$TMP/state" "$TMP/spool" "$TMP/log" "$TMP/jobs"
chmod 700 "$TMP/munge"
head -c 1024 /dev/urandom > "$TMP/munge/munge.key"
chmod 400 "$TMP/munge/munge.key"
/usr/sbin/munged --force --socket="$TMP/munge/socket" --key-file="$TMP/munge/munge.key" \
    --pid-file="$TMP/munge/munged.pid" --log-file="$TMP/munge/munged.log" \
    --seed-file="$TMP/munge/munged.seed" 2> "$TMP/munge/start.err"
node=$(hostname -s)
memory=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
cat > "$TMP/slurm.conf" << EOF
ClusterName=clickmill-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$TMP/munge/socket
CredType=cred/munge
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/log/slurmctld.log
SlurmdLogFile=$TMP/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
KillWait=5
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$TMP/slurm.conf
slurmctld -f "$SLURM_CONF" 2> "$TMP/log/slurmctld.err"
slurmd -f "$SLURM_CONF" 2> "$TMP/log/slurmd.err"
up=0
for _ in $(seq 100); do
    if sinfo -h -o %T 2> /dev/null | grep -q idle; then up=1; break; fi
    sleep 0.2
done
if [ "$up" = 1 ]; then
    ok "a one-node SLURM cluster is up on loopback ($(sinfo -h -o '%P %D %c %T'))"
else
    notok "a one-node SLURM cluster is up on loopback"
    cat "$TMP/munge/start.err" "$TMP/log/"*.err "$TMP/log/"*.log 2> /dev/null | diag 20
    finish
fi

# submit NAME SCRIPT [SBATCH_OPTIONS...] -- [SCRIPT_ARGS...]: sbatch with 2 ranks on the node,
# the log in $TMP/jobs/NAME.log, run from the repository (the submit directory); waits for the
# end and sets JOB_STATE, JOB_EXIT (the script's exit status) and JOB_SECONDS.
submit() {
    local name=$1 script=$2 options=() args=()
    shift 2
    while [ "$#" -gt 0 ] && [ "$1" != -- ]; do options+=("$1"); shift; done
    [ "$#" -gt 0 ] && shift
    args=("$@")
    local id start
    start=$(date +%s)
    id=$(sbatch --parsable --nodes=1 --ntasks=2 --ntasks-per-node=2 --mem-per-cpu=1G \
        --output="$TMP/jobs/$name.log" "${options[@]}" "$script" "${args[@]}") || {
        JOB_STATE=NOT_SUBMITTED JOB_EXIT=-1 JOB_SECONDS=0
        return
    }
    JOB_STATE=""
    for _ in $(seq $((JOB_TIMEOUT * 5))); do
        JOB_STATE=$(scontrol show job "$id" 2> /dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
        case $JOB_STATE in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;; esac
        sleep 0.2
    done
    JOB_EXIT=$(scontrol show job "$id" | sed -n 's/.* ExitCode=\([0-9]*\):.*/\1/p')
    JOB_SECONDS=$(($(date +%s) - start))
}

# job_ok NAME: the last submitted job completed with exit 0.
job_ok() {
    if [ "$JOB_STATE" = COMPLETED ] && [ "$JOB_EXIT" = 0 ]; then
        ok "$1: sbatch job COMPLETED, exit 0, in ${JOB_SECONDS} s"
        return 0
    fi
    notok "$1: sbatch job COMPLETED with exit 0 (got $JOB_STATE, exit $JOB_EXIT)"
    diag 15 < "$TMP/jobs/$1.log"
    return 1
}

same_tables() {
    if diff -r "$1/tables" "$2/tables" > "$TMP/diff" 2>&1; then
        ok "$3"
    else
        notok "$3"
        diag < "$TMP/diff"
    fi
}

data=$TMP/month.csv
mpirun --allow-run-as-root -np 2 "$CLICKMILL" generate --rows 200000 -o "$data" > /dev/null
direct=$TMP/direct
mpirun --allow-run-as-root -np 2 "$CLICKMILL" analyze -q --out "$direct/analysis" \
    --report "$direct/analysis/report.html" --car-min-carts 100 "$data" > /dev/null

# --- 1. every script, against mpirun -------------------------------------------------------------
submit analyze jobs/analyze.sbatch --export=ALL,OUT="$TMP/a-srun",REPORT=1,ANALYZE_OPTS="--car-min-carts 100" -- "$data"
if job_ok analyze; then
    grep -q "launched by srun" "$TMP/jobs/analyze.log" && ok "analyze: launched by srun (PMIx)" ||
        notok "analyze: launched by srun (PMIx)"
    same_tables "$TMP/a-srun" "$direct/analysis" "analyze.sbatch: tables equal mpirun's"
    if cmp -s <(grep -v '^<footer>' "$TMP/a-srun/report.html") \
        <(grep -v '^<footer>' "$direct/analysis/report.html"); then
        ok "analyze.sbatch REPORT=1: the page equals mpirun's (but for the run's time)"
    else
        notok "analyze.sbatch REPORT=1: the page equals mpirun's (but for the run's time)"
    fi
fi
submit analyze-mpirun jobs/analyze.sbatch --export=ALL,OUT="$TMP/a-mpirun",LAUNCHER=mpirun,ANALYZE_OPTS="--car-min-carts 100" -- "$data"
if job_ok analyze-mpirun; then
    same_tables "$TMP/a-mpirun" "$direct/analysis" "analyze.sbatch LAUNCHER=mpirun: tables equal mpirun's"
fi
submit analyze-input jobs/analyze.sbatch --export=ALL,OUT="$TMP/a-input",INPUT="$data",ANALYZE_OPTS="--car-min-carts 100"
if job_ok analyze-input; then
    same_tables "$TMP/a-input" "$direct/analysis" "analyze.sbatch with INPUT: tables equal mpirun's"
fi

mpirun --allow-run-as-root -np 2 "$CLICKMILL" ingest -q -o "$direct/events.h5" "$data" > /dev/null
submit ingest jobs/ingest.sbatch --export=ALL,STORE="$TMP/i.h5" -- "$data"
if job_ok ingest; then
    columns=0
    for dataset in $(h5ls -r "$direct/events.h5" | awk '$2 == "Dataset" {print $1}'); do
        cmp -s <(h5dump -d "$dataset" "$direct/events.h5" | tail -n +2) \
            <(h5dump -d "$dataset" "$TMP/i.h5" | tail -n +2) || columns=$((columns + 1))
    done
    check "ingest.sbatch: every column, dictionary and /sources equal mpirun's store ($columns differ)" \
        [ "$columns" = 0 ]
    mpirun --allow-run-as-root -np 2 "$CLICKMILL" analyze -q --out "$TMP/a-store" \
        --car-min-carts 100 "$TMP/i.h5" > /dev/null
    same_tables "$TMP/a-store" "$direct/analysis" "ingest.sbatch: analyze of its store equals analyze of the CSV"
fi

mpirun --allow-run-as-root -np 2 "$CLICKMILL" train -q --trees 20 --seed 7 -m "$direct/model.h5" "$data" > /dev/null
submit train jobs/train.sbatch --export=ALL,MODEL="$TMP/t.h5",TRAIN_OPTS="--trees 20 --seed 7" -- "$data"
if job_ok train; then
    if cmp -s <(h5dump -d /nodes "$direct/model.h5" | tail -n +2) \
        <(h5dump -d /nodes "$TMP/t.h5" | tail -n +2); then
        ok "train.sbatch: the forest equals mpirun's (same seed, 2 ranks)"
    else
        notok "train.sbatch: the forest equals mpirun's (same seed, 2 ranks)"
    fi
    grep -q "feature importance" "$TMP/jobs/train.log" && ok "train.sbatch: model-info in the log" ||
        notok "train.sbatch: model-info in the log"
fi

submit pipeline jobs/pipeline.sbatch --export=ALL,WORK="$TMP/p",ROWS=200000,SEED=46,ANALYZE_OPTS="--car-min-carts 100",TRAIN_OPTS="--trees 20",REPORT_OPTS="--car-min-carts 100"
if job_ok pipeline; then
    check "pipeline: the generated month equals generate's (same rows and seed)" cmp -s "$TMP/p/events.csv" "$data"
    same_tables "$TMP/p/analysis" "$direct/analysis" "pipeline: tables from its store equal mpirun's from the CSV"
    mpirun --allow-run-as-root -np 2 "$CLICKMILL" train -q --trees 20 --seed 46 -m "$direct/model46.h5" \
        "$direct/events.h5" > /dev/null
    if cmp -s <(h5dump -d /nodes "$direct/model46.h5" | tail -n +2) \
        <(h5dump -d /nodes "$TMP/p/model.h5" | tail -n +2); then
        ok "pipeline: the model equals mpirun's train of the same store"
    else
        notok "pipeline: the model equals mpirun's train of the same store"
    fi
    check "pipeline: the final report has the model's section" grep -q 'id="chart-roc"' "$TMP/p/report.html"
    check "pipeline: the analysis report is there" test -s "$TMP/p/analysis/report.html"
fi

# --- 2. a hostfile ---------------------------------------------------------------------------------
echo "localhost slots=2" > "$TMP/hosts"
if mpirun --allow-run-as-root --hostfile "$TMP/hosts" -np 2 "$CLICKMILL" analyze -q \
    --out "$TMP/a-hosts" --car-min-carts 100 "$data" > "$TMP/hosts.log" 2>&1; then
    same_tables "$TMP/a-hosts" "$direct/analysis" "mpirun --hostfile (localhost slots=2): tables equal"
else
    notok "mpirun --hostfile (localhost slots=2) runs"
    diag < "$TMP/hosts.log"
fi

# --- 3. failures -----------------------------------------------------------------------------------
# job_failed NAME TEXT OUTPUT: the job failed quickly with TEXT in its log and left no OUTPUT.
job_failed() {
    local name=$1 text=$2 output=$3
    if [ "$JOB_STATE" = FAILED ] && [ "$JOB_EXIT" != 0 ] && [ "$JOB_SECONDS" -lt 60 ]; then
        ok "$name: the job FAILED, exit $JOB_EXIT, in ${JOB_SECONDS} s"
    else
        notok "$name: the job FAILED quickly (got $JOB_STATE, exit $JOB_EXIT, ${JOB_SECONDS} s)"
    fi
    if grep -qF -- "$text" "$TMP/jobs/$name.log"; then
        ok "$name: the log says '$text'"
    else
        notok "$name: the log says '$text'"
        diag < "$TMP/jobs/$name.log"
    fi
    if [ -e "$output" ] || ls "$output".tmp.* "$output"/*.tmp.* "$output"/tables/*.tmp.* > /dev/null 2>&1; then
        notok "$name: no output and no temporary file left"
    else
        ok "$name: no output and no temporary file left"
    fi
}
submit missing jobs/analyze.sbatch --export=ALL,OUT="$TMP/f-missing/out" -- "$TMP/no-such-file.csv"
job_failed missing "no-such-file.csv" "$TMP/f-missing/out/results.h5"
submit rejects jobs/analyze.sbatch --export=ALL,OUT="$TMP/f-rejects",ANALYZE_OPTS="--max-rejects 0" -- test/data/bad/rows_bad.csv
job_failed rejects "rejected" "$TMP/f-rejects/results.h5"
submit noinput jobs/analyze.sbatch --export=ALL,OUT="$TMP/f-noinput"
job_failed noinput "no input files" "$TMP/f-noinput/results.h5"

# A rank killed while it reads: the job ends at once, non-zero, with no results.
big=$TMP/big.csv
mpirun --allow-run-as-root -np 2 "$CLICKMILL" generate --rows 3000000 -o "$big" > /dev/null
id=$(sbatch --parsable --nodes=1 --ntasks=2 --ntasks-per-node=2 --mem-per-cpu=1G \
    --output="$TMP/jobs/killed.log" --export=ALL,OUT="$TMP/f-killed" jobs/analyze.sbatch "$big")
victim=""
for _ in $(seq 100); do
    # a rank itself (its command line starts with the binary), not srun that started it
    victim=$(pgrep -f "^$CLICKMILL analyze --quiet --out $TMP/f-killed" | head -1)
    [ -n "$victim" ] && break
    sleep 0.1
done
start=$(date +%s)
if [ -n "$victim" ]; then
    sleep 0.3
    kill -9 "$victim"
fi
JOB_STATE=""
for _ in $(seq $((JOB_TIMEOUT * 5))); do
    JOB_STATE=$(scontrol show job "$id" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case $JOB_STATE in COMPLETED | FAILED | CANCELLED | TIMEOUT) break ;; esac
    sleep 0.2
done
JOB_EXIT=$(scontrol show job "$id" | sed -n 's/.* ExitCode=\([0-9]*\):.*/\1/p')
JOB_SECONDS=$(($(date +%s) - start))
check "a rank killed with SIGKILL while reading (pid ${victim:-none found}): the job FAILED in ${JOB_SECONDS} s (exit $JOB_EXIT)" \
    [ -n "$victim" ] && [ "$JOB_STATE" = FAILED ] && [ "$JOB_SECONDS" -lt 30 ]
if [ -e "$TMP/f-killed/results.h5" ] || ls "$TMP/f-killed"/*.tmp.* > /dev/null 2>&1; then
    notok "a rank killed: no results and no temporary file left"
else
    ok "a rank killed: no results and no temporary file left"
fi
grep -qiE "killed|signal|exited|terminated" "$TMP/jobs/killed.log" &&
    ok "a rank killed: the log says a task was killed" ||
    { notok "a rank killed: the log says a task was killed"; diag < "$TMP/jobs/killed.log"; }

finish
