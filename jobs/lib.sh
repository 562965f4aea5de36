# shellcheck shell=bash
# Shared by the SLURM batch scripts in jobs/: where clickmill is, how to launch its ranks, and a
# log header. Sourced; not a job itself.
#
# Environment (all optional):
#   CLICKMILL_HOME  the clickmill checkout (default: the directory sbatch was run from)
#   CLICKMILL       the binary (default: $CLICKMILL_HOME/bin/clickmill)
#   LAUNCHER        srun or mpirun (default: srun when SLURM's PMIx plugin is there, which lets
#                   srun start MPI ranks itself; otherwise Open MPI's mpirun, which finds the
#                   allocation on its own)

CLICKMILL_HOME=${CLICKMILL_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}
CLICKMILL=${CLICKMILL:-$CLICKMILL_HOME/bin/clickmill}
if [ ! -x "$CLICKMILL" ]; then
    echo "clickmill job: no clickmill binary at $CLICKMILL; run 'make' in the checkout, submit" \
         "from it, or set CLICKMILL_HOME or CLICKMILL" >&2
    exit 2
fi
if [ -z "${LAUNCHER:-}" ]; then
    if srun --mpi=list 2>&1 | grep -qw pmix; then LAUNCHER=srun; else LAUNCHER=mpirun; fi
fi
case $LAUNCHER in
    srun | mpirun) ;;
    *) echo "clickmill job: LAUNCHER must be srun or mpirun, not '$LAUNCHER'" >&2; exit 2 ;;
esac

echo "clickmill job ${SLURM_JOB_ID:-?} (${SLURM_JOB_NAME:-?}): ${SLURM_NTASKS:-?} ranks on" \
     "${SLURM_JOB_NUM_NODES:-?} node(s) ${SLURM_JOB_NODELIST:-?}, launched by $LAUNCHER;" \
     "$("$CLICKMILL" --version); started $(date -u '+%Y-%m-%d %H:%M:%S UTC')"

# clickmill_run COMMAND ARGS...: one clickmill command on every rank of the job. A rank that
# fails ends the whole step (srun --kill-on-bad-exit; mpirun does so by itself), and the step's
# exit status is the job's when the script stops on it (set -e).
clickmill_run() {
    echo "clickmill job: $* ($(date -u '+%H:%M:%S'))"
    if [ "$LAUNCHER" = srun ]; then
        srun --mpi=pmix --kill-on-bad-exit=1 "$CLICKMILL" "$@"
    else
        mpirun -np "${SLURM_NTASKS:?mpirun outside a SLURM job needs SLURM_NTASKS}" "$CLICKMILL" "$@"
    fi
}

# clickmill_one COMMAND ARGS...: a command that runs on one process (report, model-info).
clickmill_one() {
    echo "clickmill job: $* ($(date -u '+%H:%M:%S'))"
    "$CLICKMILL" "$@"
}

# clickmill_inputs VAR ARGS...: the script's arguments, or else the words of $INPUT, into the
# array named VAR; none at all is an error.
clickmill_inputs() {
    local -n into=$1
    shift
    if [ "$#" -gt 0 ]; then
        into=("$@")
    else
        # shellcheck disable=SC2206
        into=(${INPUT:-})
    fi
    if [ "${#into[@]}" -eq 0 ]; then
        echo "clickmill job: no input files: give them after the script (sbatch $0 FILE...)" \
             "or in INPUT" >&2
        exit 2
    fi
}
