# shellcheck shell=bash
# Helpers shared by the integration test scripts (test/integration.sh, errors.sh, generate.sh,
# train.sh), which source this file after changing to the repository root:
#
#   scratch_dir PREFIX   makes the scratch directory ${TMPDIR:-/tmp}/PREFIX.XXXXXX and sets TMP
#                        to it; it is removed at exit unless KEEP_TMP is set (and not 0), in
#                        which case its path is printed to stderr. INT and TERM exit with 130,
#                        so the directory is cleaned up on Ctrl-C too.
#   ok / notok / skip    print "ok - ...", "not ok - ..." or "skip - ..."; ok and notok count
#                        in PASSED and FAILED (a background subshell's counts are lost: such a
#                        script counts the lines of its logs instead and sets PASSED and FAILED)
#   check NAME CMD...    ok NAME when CMD succeeds, else notok NAME
#   check_empty DESCRIPTION OUTPUT
#                        ok when OUTPUT is empty, else not ok and OUTPUT as diagnostics
#   diag [N]             stdin as diagnostics: at most N lines (default 12), each cut to 240
#                        characters, control characters (but tabs) shown as '?', indented "#   "
#   sq ARG...            sqlite3 without ~/.sqliterc, stopping at the first error
#   with_timeout CMD...  CMD under `timeout -k 5 $RUN_TIMEOUT` (default 120 s), or plainly where
#                        there is no timeout command
#   expect_outcome LABEL STATUS ERRFILE WANT [TEXT...]
#                        a run that exited STATUS (stderr in ERRFILE) was to exit WANT, with
#                        no crash, abort or HDF5 error stack (CRASH_PATTERN), and to say each
#                        TEXT (case-insensitive): up to three checks
#   finish               prints the last line, "N passed, N failed", and exits 1 if any check
#                        failed (else returns 0: it is the last command of a script)
#
# test/run.sh adds up the last line of each script, and errors.sh counts the "ok - " and
# "not ok - " lines of its sections: keep these formats.

PASSED=0
FAILED=0

# scratch_dir PREFIX: sets TMP to a new scratch directory and the traps that remove it.
scratch_dir() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 2
    if [ "${KEEP_TMP:-0}" != 0 ]; then
        trap 'echo "# scratch kept in $TMP" >&2' EXIT
    else
        trap 'rm -rf "$TMP"' EXIT
    fi
    trap 'exit 130' INT TERM
}

ok()    { echo "ok - $*"; PASSED=$((PASSED + 1)); }
notok() { echo "not ok - $*"; FAILED=$((FAILED + 1)); }
skip()  { echo "skip - $*"; }

# check NAME COMMAND...: ok when the command succeeds.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else notok "$name"; fi
}

# Indent diagnostics, at most $1 lines (default 12), each cut to 240 characters; control
# characters (NUL, CR, escapes, ...; not tabs) are shown as '?'.
diag() {
    head -n "${1:-12}" | tr '\000-\010\013-\037\177' '[?*]' | cut -c1-240 | sed 's/^/#   /'
}

# check_empty DESCRIPTION OUTPUT: ok when OUTPUT is empty, else not ok + OUTPUT.
check_empty() {
    if [ -z "$2" ]; then
        ok "$1"
    else
        notok "$1"
        printf '%s\n' "$2" | diag 12
    fi
}

# sqlite3 without ~/.sqliterc, stopping at the first error.
sq() { sqlite3 -batch -bail -init /dev/null "$@"; }

# with_timeout COMMAND...: the command, where `timeout` is installed stopped after RUN_TIMEOUT
# seconds (exit status 124), and killed 5 s later if it ignores SIGTERM (137).
with_timeout() {
    if command -v timeout > /dev/null 2>&1; then
        timeout -k 5 "${RUN_TIMEOUT:-120}" "$@"
    else
        "$@"
    fi
}

# finish: prints the last line and exits 1 if any check failed; else it returns 0, so that as
# the script's last command it ends the script with status 0.
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] || exit 1
}

# What a crash, an abort or an HDF5 error stack leaves on stderr.
CRASH_PATTERN='exited on signal|Segmentation fault|core dumped|MPI_ABORT was invoked|Aborted'
CRASH_PATTERN="$CRASH_PATTERN|AddressSanitizer|HDF5-DIAG|H5[A-Z][a-z_]+\\(\\)"

# expect_outcome LABEL STATUS ERRFILE WANT [TEXT...]
expect_outcome() {
    local label=$1 st=$2 err=$3 want=$4 missing="" text
    shift 4
    if [ "$st" = "$want" ]; then
        ok "$label: exit $want"
    else
        [ "$st" = 124 ] && st="$st (timed out after ${RUN_TIMEOUT:-120}s)"
        notok "$label: exit $want (got $st)"
        diag 6 < "$err"
    fi
    if grep -Eq "$CRASH_PATTERN" "$err"; then
        notok "$label: no crash, abort or HDF5 error stack"
        grep -E "$CRASH_PATTERN" "$err" | diag 4
    else
        ok "$label: no crash, abort or HDF5 error stack"
    fi
    [ "$#" -eq 0 ] && return
    for text in "$@"; do
        grep -qiF -- "$text" "$err" || missing="$missing '$text'"
    done
    if [ -z "$missing" ]; then
        ok "$label: message says $(printf "'%s' " "$@")"
    else
        notok "$label: message lacks$missing"
        grep -v -e '^---' -e '^$' "$err" | diag 8
    fi
}
