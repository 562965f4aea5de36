#!/usr/bin/env bash
# Error handling of clickmill: bad inputs, rejected rows, bad options and outputs, journey errors.
#
# Every run goes through mpirun with each rank count of RANKS and is wrapped in `timeout`, so a
# hang fails a check instead of the CI job. For every run it checks the exit status (0, 1 or 2),
# that no rank died on a signal or called MPI_Abort, and the key words of the message on stderr
# (file name, 1-based line number, reason). Where rows are rejected it checks the summary
# table's rows and rows_rejected against hand-counted values, and that every other table equals
# the one computed from the same file with the bad lines deleted (the file minus its bad lines
# is checked to be byte-identical to test/data/bad/clean.csv, whose tables are computed first,
# once per rank count): a bad row never changes an answer.
#
# Fixtures: test/data/bad/*.csv (small hand-made files); empty files, CRLF/BOM twins, NUL bytes
# and lines over 1 MiB are made here, in a scratch directory.
#
# The sections run concurrently (JOBS at a time): mpirun takes about 2 s to wind down a job
# whose process exits non-zero, and most runs here do. Each section's output is printed in
# order at the end.
#
# Overrides (environment): CLICKMILL (default bin/clickmill), MPIRUN (default
# `mpirun --allow-run-as-root --oversubscribe -np`; the rank count is appended), RANKS (default
# "1 3"), QN_RANKS (rank counts of the quoted-newline case, default "1 2 3 7"), RUN_TIMEOUT
# (seconds per run, default 60), JOBS (sections at a time, default 6), KEEP_TMP=1 (keep the
# scratch directory).
# Output: `ok - ...` / `not ok - ...` per check (`#` lines are diagnostics), then one line
# `N passed, N failed`; the exit status is non-zero when a check failed.
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source-path=SCRIPTDIR/..
. test/lib.sh

CLICKMILL=${CLICKMILL:-bin/clickmill}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe -np}
RANKS=${RANKS:-1 3}
QN_RANKS=${QN_RANKS:-1 2 3 7}
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
JOBS=${JOBS:-6}
D=test/data/bad
CLEAN=$D/clean.csv
CLEAN_ROWS=12 # hand-counted data rows of clean.csv
SESSION=72d76fde-8bb3-4e00-8c23-a032dfed738c
TABLES="funnel categories category_brands category_products brands days hours"
first_np=${RANKS%% *}

scratch_dir clickmill-errors
W=$TMP # the current section's work directory

if [ ! -x "$CLICKMILL" ] && [ "$CLICKMILL" = bin/clickmill ]; then
  make -s bin/clickmill >"$TMP/make.log" 2>&1 || diag 20 <"$TMP/make.log"
fi
if [ ! -x "$CLICKMILL" ]; then
  notok "the binary $CLICKMILL exists (run make)"
  finish
fi

# run NP ARG...: runs clickmill on NP ranks; sets $st; output in $W/stdout and $W/stderr.
run() {
  local np=$1
  shift
  # shellcheck disable=SC2086  # MPIRUN is a command line
  with_timeout $MPIRUN "$np" "$CLICKMILL" "$@" >"$W/stdout" 2>"$W/stderr" </dev/null
  st=$?
}

# expect_exit NAME WANT: the exit status, and that nothing crashed.
expect_exit() {
  local name=$1 want=$2
  if [ "$st" -eq "$want" ]; then
    ok "$name: exit $want"
  else
    local why="got $st"
    [ "$st" -eq 124 ] && why="timed out after ${RUN_TIMEOUT}s"
    notok "$name: exit $want ($why)"
    diag <"$W/stderr"
  fi
  if [ "$st" -lt 128 ] && [ "$st" -ne 124 ] &&
    ! grep -Eq 'exited on signal|Segmentation fault|core dumped|MPI_ABORT was invoked|Aborted|AddressSanitizer' "$W/stderr"; then
    ok "$name: no signal, core dump or abort"
  else
    notok "$name: no signal, core dump or abort (exit $st)"
    grep -E 'signal|Segmentation|core|MPI_ABORT|Abort|Sanitizer' "$W/stderr" | diag 4
  fi
}

# expect_err NAME TEXT...: stderr holds every TEXT (fixed strings).
expect_err() {
  local name=$1 text missing=""
  shift
  for text in "$@"; do
    grep -qF -- "$text" "$W/stderr" || missing="$missing '$text'"
  done
  if [ -z "$missing" ]; then
    ok "$name: stderr says $(printf "'%s' " "$@")"
  else
    notok "$name: stderr lacks$missing"
    diag 12 <"$W/stderr"
  fi
}

# expect_counts NAME DIR ROWS REJECTED: summary.csv's rows and rows_rejected.
expect_counts() {
  local name=$1 dir=$2 rows=$3 rejected=$4 got
  got=$(sed -n 2p "$dir/tables/summary.csv" 2>/dev/null | cut -d, -f1,2)
  if [ "$got" = "$rows,$rejected" ]; then
    ok "$name: summary rows=$rows rows_rejected=$rejected"
  else
    notok "$name: summary rows=$rows rows_rejected=$rejected (got '${got:-no summary.csv}')"
  fi
}

# expect_same_tables NAME DIR REFDIR: all tables equal, except summary's rows_rejected.
expect_same_tables() {
  local name=$1 dir=$2 ref=$3 t differ=""
  for t in $TABLES; do
    cmp -s "$dir/tables/$t.csv" "$ref/tables/$t.csv" || differ="$differ $t"
  done
  [ "$(sed -n 1p "$dir/tables/summary.csv" 2>/dev/null)" = "$(sed -n 1p "$ref/tables/summary.csv")" ] &&
    [ "$(sed -n 2p "$dir/tables/summary.csv" | cut -d, -f1,3-)" = "$(sed -n 2p "$ref/tables/summary.csv" | cut -d, -f1,3-)" ] ||
    differ="$differ summary"
  if [ -z "$differ" ]; then
    ok "$name: tables equal those of the file without its bad lines"
  else
    notok "$name: tables differ from those of the file without its bad lines:$differ"
    for t in $differ; do
      diff "$ref/tables/$t.csv" "$dir/tables/$t.csv" 2>&1 | diag 6
    done
  fi
}

# expect_no_tables NAME DIR: a failed run leaves no table behind.
expect_no_tables() {
  if [ -e "$2/tables/summary.csv" ] || [ -e "$2/results.h5" ]; then
    notok "$1: no tables written after the failure"
  else
    ok "$1: no tables written after the failure"
  fi
}

# same_as_clean NAME FILE SED_SCRIPT: a test-mistake guard: FILE minus its bad lines is clean.csv.
same_as_clean() {
  sed "$3" "$2" | cmp -s - "$CLEAN" || notok "$1: test mistake: the fixture minus its bad lines is not clean.csv"
}

offset_of_line() { head -n $(($2 - 1)) "$1" | wc -c | tr -d ' '; }

# long_line N: a row of exactly N bytes (plus LF) whose brand is N-43 'x' characters.
long_line() {
  local prefix='2019-10-01 10:00:00 UTC,view,1,2,,' suffix=',1.00,5,s'
  printf '%s' "$prefix"
  head -c $(($1 - ${#prefix} - ${#suffix})) /dev/zero | tr '\0' x
  printf '%s\n' "$suffix"
}
# emit TEXT: a line; "@LONG:N" makes a line of N bytes, "@LONGCR:N" the same followed by a CR
# (the CR is part of the line end, not of the line), other text goes through printf %b.
emit() {
  case $1 in
    @LONG:*) long_line "${1#@LONG:}" ;;
    @LONGCR:*) long_line "${1#@LONGCR:}" | sed 's/$/\r/' ;;
    *) printf '%b\n' "$1" ;;
  esac
}

V="2019-10-01 10:00:00 UTC" # a valid time for the made-up bad rows
ROW="$V,view,44600062,2103807459595387724,,shiseido,35.79,541312140,$SESSION"
row_with() { # row_with FIELD_NUMBER VALUE: ROW with one field replaced
  local IFS=, f
  read -r -a f <<<"$ROW"
  f[$1 - 1]=$2
  echo "${f[*]}"
}
B250=$(head -c 250 /dev/zero | tr '\0' b)
B251=$(head -c 251 /dev/zero | tr '\0' b)

# ================================================================ sections

# The clean file: the reference tables for every rank count.
sec_reference() {
  local np differ t
  for np in $RANKS; do
    run "$np" analyze --quiet --out "$TMP/ref.$np" "$CLEAN"
    expect_exit "clean.csv [np=$np]" 0
    expect_counts "clean.csv [np=$np]" "$TMP/ref.$np" "$CLEAN_ROWS" 0
  done
  for np in $RANKS; do
    [ "$np" = "$first_np" ] && continue
    differ=""
    for t in summary $TABLES; do cmp -s "$TMP/ref.$np/tables/$t.csv" "$TMP/ref.$first_np/tables/$t.csv" || differ="$differ $t"; done
    check "clean.csv: np=$np tables identical to np=$first_np's${differ:+ (differ:$differ)}" test -z "$differ"
  done
}

sec_input_files() {
  local np
  for np in $RANKS; do
    run "$np" analyze --quiet --out "$W/o.missing.$np" "$TMP/nosuch.csv"
    expect_exit "missing file [np=$np]" 1
    expect_err "missing file [np=$np]" "$TMP/nosuch.csv" "cannot open" "No such file"
    expect_no_tables "missing file [np=$np]" "$W/o.missing.$np"

    run "$np" analyze --quiet --out "$W/o.missing2.$np" "$CLEAN" "$TMP/nosuch2.csv"
    expect_exit "missing second file [np=$np]" 1
    expect_err "missing second file [np=$np]" "$TMP/nosuch2.csv" "cannot open"

    run "$np" analyze --quiet --out "$W/o.dir.$np" "$D"
    expect_exit "directory as input [np=$np]" 1
    expect_err "directory as input [np=$np]" "$D" "is a directory"

    run "$np" analyze --quiet --out "$W/o.empty.$np" "$TMP/empty.csv"
    expect_exit "empty file [np=$np]" 1
    expect_err "empty file [np=$np]" "$TMP/empty.csv" "empty"
    expect_no_tables "empty file [np=$np]" "$W/o.empty.$np"

    run "$np" analyze --quiet --out "$W/o.nocol.$np" "$D/no_price.csv"
    expect_exit "header lacks price [np=$np]" 1
    expect_err "header lacks price [np=$np]" "$D/no_price.csv: line 1:" "lacks column 'price'"

    run "$np" analyze --quiet --out "$W/o.nohead.$np" "$D/no_header.csv"
    expect_exit "no header, first line is data [np=$np]" 1
    expect_err "no header, first line is data [np=$np]" "$D/no_header.csv: line 1:" "lacks column 'event_time'"
  done
}

# A header and no rows, with and without the header's line feed.
sec_header_only() {
  local f name np
  printf '%s' "$(cat "$D/header_only.csv")" >"$W/header_only_nolf.csv"
  for f in "$D/header_only.csv" "$W/header_only_nolf.csv"; do
    name=$(basename "$f")
    for np in $RANKS; do
      run "$np" analyze --quiet --out "$W/o.$name.$np" "$f"
      expect_exit "$name [np=$np]" 0
      expect_counts "$name [np=$np]" "$W/o.$name.$np" 0 0
      check "$name [np=$np]: summary is '0,0,0,0,0,0.00,,', hours has 24 rows, funnel none" \
        test "$(sed -n 2p "$W/o.$name.$np/tables/summary.csv")|$(wc -l <"$W/o.$name.$np/tables/hours.csv")|$(wc -l <"$W/o.$name.$np/tables/funnel.csv")" = "0,0,0,0,0,0.00,,|25|1"
    done
  done
}

# BOM and CRLF twins of the clean file: the same tables, byte for byte.
sec_bom_crlf() {
  local f np
  printf '\xEF\xBB\xBF' >"$W/bom.csv"
  cat "$CLEAN" >>"$W/bom.csv"
  sed 's/$/\r/' "$CLEAN" >"$W/crlf.csv"
  for f in bom crlf; do
    for np in $RANKS; do
      run "$np" analyze --quiet --out "$W/o.$f.$np" "$W/$f.csv"
      expect_exit "$f.csv [np=$np]" 0
      expect_counts "$f.csv [np=$np]" "$W/o.$f.$np" "$CLEAN_ROWS" 0
      expect_same_tables "$f.csv [np=$np]" "$W/o.$f.$np" "$TMP/ref.$np"
    done
  done
}

# One kind of bad row per file: clean.csv with a bad line 4 and a bad line 13.
# name|reason|reason text on stderr|line 4|line 13
cases=(
  "more fields|field_count|wrong number of fields|$ROW,extra|$ROW,,"
  "fewer fields|field_count|wrong number of fields|${ROW%,*}|$V"
  "unterminated quote|quoting|unterminated or misplaced quote|$(row_with 6 '"shiseido')|$(row_with 9 "\"$SESSION")"
  "misplaced quote|quoting|unterminated or misplaced quote|$(row_with 6 'shi"seido')|$(row_with 6 '"shi"seido')"
  "bad timestamp|bad_time|event_time is not 'YYYY-MM-DD HH:MM:SS UTC'|$(row_with 1 '2019-10-01T10:00:00Z')|$(row_with 1 '2019-02-29 10:00:00 UTC')"
  "bad event_type|bad_event_type|event_type is empty or not a word|$(row_with 2 View)|$(row_with 2 '')"
  "non-numeric id|bad_id|product_id, category_id or user_id is not a non-negative integer|$(row_with 3 44600062x)|$(row_with 8 -541312140)"
  "negative price|bad_price|price is not a non-negative number with at most 2 decimals|$(row_with 7 -35.79)|$(row_with 7 -0.01)"
  "NaN price|bad_price|price is not a non-negative number|$(row_with 7 NaN)|$(row_with 7 nan)"
  "price with 3 decimals|bad_price|price is not a non-negative number|$(row_with 7 35.795)|$(row_with 7 0.001)"
  "NUL byte|nul_byte|the line contains a NUL byte|$(row_with 6 'shi\0seido')|$ROW\\0"
  "empty line|empty_line|the line is empty||"
  "line over 1 MiB|long_line|the line is longer than 1 MiB|@LONG:1048577|@LONG:3145733"
  "line of exactly 1 MiB|long_field|a field is longer than 250 bytes|@LONG:1048576|@LONG:1048576"
  "line of 1 MiB before a CR|long_field|a field is longer than 250 bytes|@LONGCR:1048576|@LONGCR:1048576"
  "price over the 1e9 cap|bad_price|price is not a non-negative number|$(row_with 7 1000000000.01)|$(row_with 7 99999999999)"
  "field over 250 bytes|long_field|a field is longer than 250 bytes|$(row_with 6 "$B251")|$(row_with 5 "$B251")"
)
sec_bad_row() {
  local name reason text line_a line_b f off4 off13 np
  IFS='|' read -r name reason text line_a line_b <<<"${cases[$1]}"
  f="$W/case$1.csv"
  { head -n 3 "$CLEAN"; emit "$line_a"; sed -n '4,11p' "$CLEAN"; emit "$line_b"; tail -n +12 "$CLEAN"; } >"$f"
  same_as_clean "$name" "$f" '4d;13d'
  off4=$(offset_of_line "$f" 4)
  off13=$(offset_of_line "$f" 13)
  for np in $RANKS; do
    run "$np" analyze --quiet --out "$W/o.$np" "$f"
    expect_exit "$name [np=$np]" 0
    expect_err "$name [np=$np]" "clickmill: 2 rows rejected: $reason 2"
    expect_err "$name [np=$np]" "$f:4 (byte $off4): $text"
    expect_err "$name [np=$np]" "$f:13 (byte $off13): $text"
    expect_counts "$name [np=$np]" "$W/o.$np" "$CLEAN_ROWS" 2
    expect_same_tables "$name [np=$np]" "$W/o.$np" "$TMP/ref.$np"
  done
}

# A field of exactly 250 bytes is accepted.
sec_field_250() {
  local np
  { head -n 3 "$CLEAN"; row_with 6 "$B250"; tail -n +4 "$CLEAN"; } >"$W/field250.csv"
  for np in $RANKS; do
    run "$np" analyze --quiet --out "$W/o.$np" "$W/field250.csv"
    expect_exit "field of exactly 250 bytes [np=$np]" 0
    expect_counts "field of exactly 250 bytes [np=$np]" "$W/o.$np" $((CLEAN_ROWS + 1)) 0
    check "field of exactly 250 bytes [np=$np]: the brand is in brands.csv with 1 view" \
      grep -qx "$B250,1,0,0,0.00" "$W/o.$np/tables/brands.csv"
  done
}

# All reasons in one file, and the --rejects file.
# rows_bad.csv is clean.csv with these 12 bad lines (line:reason), hand-listed.
BAD_LINES="3:field_count 6:field_count 7:bad_time 9:bad_event_type 11:empty_line 13:bad_id
15:bad_price 17:bad_price 19:bad_price 20:quoting 22:long_field 25:quoting"
RB=$D/rows_bad.csv
sec_rows_bad() {
  local e line t np o want
  same_as_clean "rows_bad.csv" "$RB" "$(for e in $BAD_LINES; do printf '%sd;' "${e%%:*}"; done)"
  check "rows_bad.csv: test sanity: grep -b puts line 7 at byte 696" \
    test "$(grep -b -n 'T09:16:02Z' "$RB" | cut -d: -f1,2)" = "7:696"
  {
    echo "file,line,byte_offset,reason,text"
    for e in $BAD_LINES; do
      line=${e%%:*}
      t=$(sed -n "${line}p" "$RB")
      case $t in *[,\"]*) t="\"${t//\"/\"\"}\"" ;; esac
      echo "$RB,$line,$(offset_of_line "$RB" "$line"),${e#*:},$t"
    done
  } >"$W/rejects.expected"
  for np in $RANKS; do
    o="$W/o.$np"
    run "$np" analyze --quiet --out "$o" --rejects "$W/rejects.$np.csv" "$RB"
    expect_exit "rows_bad.csv [np=$np]" 0
    expect_err "rows_bad.csv [np=$np]" "clickmill: 12 rows rejected: field_count 2 quoting 2 long_field 1 empty_line 1 bad_time 1 bad_event_type 1 bad_id 1 bad_price 3" \
      "... and 2 more"
    # the first 10 rejected rows are reported on stderr with their line and byte offset
    want=()
    for e in $BAD_LINES; do
      line=${e%%:*}
      [ "$line" -gt 20 ] && continue
      want+=("$RB:$line (byte $(offset_of_line "$RB" "$line")): ")
    done
    expect_err "rows_bad.csv [np=$np]: first 10 reports" "${want[@]}"
    expect_counts "rows_bad.csv [np=$np]" "$o" "$CLEAN_ROWS" 12
    expect_same_tables "rows_bad.csv [np=$np]" "$o" "$TMP/ref.$np"
    if cmp -s "$W/rejects.$np.csv" "$W/rejects.expected"; then
      ok "rows_bad.csv [np=$np]: --rejects file lists every bad line (file, line, offset, reason, text)"
    else
      notok "rows_bad.csv [np=$np]: --rejects file lists every bad line (file, line, offset, reason, text)"
      diff "$W/rejects.expected" "$W/rejects.$np.csv" 2>&1 | diag 10
    fi
    check "rows_bad.csv [np=$np]: --rejects hand-checked row '$RB,7,696,bad_time,\"2019-10-01T09:16:02Z,...'" \
      grep -qF "$RB,7,696,bad_time,\"2019-10-01T09:16:02Z,view," "$W/rejects.$np.csv"
    check "rows_bad.csv [np=$np]: --rejects file identical to np=$first_np's" \
      cmp -s "$W/rejects.$np.csv" "$W/rejects.$first_np.csv"
  done

  # the CRLF twin: the same lines rejected for the same reasons, the same tables
  sed 's/$/\r/' "$RB" >"$W/rows_bad_crlf.csv"
  for np in $RANKS; do
    o="$W/o.crlf.$np"
    run "$np" analyze --quiet --out "$o" --rejects "$W/rejects.crlf.$np.csv" "$W/rows_bad_crlf.csv"
    expect_exit "rows_bad.csv CRLF [np=$np]" 0
    expect_counts "rows_bad.csv CRLF [np=$np]" "$o" "$CLEAN_ROWS" 12
    expect_same_tables "rows_bad.csv CRLF [np=$np]" "$o" "$TMP/ref.$np"
    check "rows_bad.csv CRLF [np=$np]: --rejects has the LF file's lines and reasons" \
      test "$(cut -d, -f2,4 "$W/rejects.crlf.$np.csv")" = "$(cut -d, -f2,4 "$W/rejects.expected")"
  done

  # a clean file gives a --rejects file with only its header
  for np in $RANKS; do
    run "$np" analyze --quiet --out "$W/o.clean.$np" --rejects "$W/rejects.clean.$np.csv" "$CLEAN"
    expect_exit "clean.csv with --rejects [np=$np]" 0
    check "clean.csv with --rejects [np=$np]: the rejects file is only its header" \
      test "$(cat "$W/rejects.clean.$np.csv" 2>/dev/null)" = "file,line,byte_offset,reason,text"
  done
}

# --max-rejects; one_bad.csv has a bad line 8, three_bad.csv bad lines 3, 9 and 14.
sec_max_rejects() {
  local np
  same_as_clean "one_bad.csv" "$D/one_bad.csv" '8d'
  same_as_clean "three_bad.csv" "$D/three_bad.csv" '3d;9d;14d'
  for np in $RANKS; do
    run "$np" analyze --quiet --max-rejects 0 --out "$W/o.mr0.$np" "$D/one_bad.csv"
    expect_exit "one bad row, --max-rejects 0 [np=$np]" 1
    expect_err "one bad row, --max-rejects 0 [np=$np]" "max-rejects"
    expect_no_tables "one bad row, --max-rejects 0 [np=$np]" "$W/o.mr0.$np"

    run "$np" analyze --quiet --max-rejects 1 --out "$W/o.mr1.$np" "$D/one_bad.csv"
    expect_exit "one bad row, --max-rejects 1 [np=$np]" 0
    expect_err "one bad row, --max-rejects 1 [np=$np]" "$D/one_bad.csv:8 (byte 854): product_id, category_id or user_id"
    expect_counts "one bad row, --max-rejects 1 [np=$np]" "$W/o.mr1.$np" "$CLEAN_ROWS" 1
    expect_same_tables "one bad row, --max-rejects 1 [np=$np]" "$W/o.mr1.$np" "$TMP/ref.$np"

    run "$np" analyze --quiet --max-rejects 5 --out "$W/o.mr5.$np" "$D/three_bad.csv"
    expect_exit "three bad rows, --max-rejects 5 [np=$np]" 0
    expect_err "three bad rows, --max-rejects 5 [np=$np]" "clickmill: 3 rows rejected: field_count 1 bad_time 1 bad_price 1" \
      "$D/three_bad.csv:3 (byte 213): price" "$D/three_bad.csv:9 (byte 980): event_time" "$D/three_bad.csv:14 (byte 1660): wrong number"
    expect_counts "three bad rows, --max-rejects 5 [np=$np]" "$W/o.mr5.$np" "$CLEAN_ROWS" 3
    expect_same_tables "three bad rows, --max-rejects 5 [np=$np]" "$W/o.mr5.$np" "$TMP/ref.$np"

    run "$np" analyze --quiet --max-rejects 3 --out "$W/o.mr3.$np" "$D/three_bad.csv"
    expect_exit "three bad rows, --max-rejects 3 [np=$np]" 0

    run "$np" analyze --quiet --max-rejects 2 --out "$W/o.mr2.$np" "$D/three_bad.csv"
    expect_exit "three bad rows, --max-rejects 2 [np=$np]" 1
    expect_err "three bad rows, --max-rejects 2 [np=$np]" "max-rejects"
    expect_no_tables "three bad rows, --max-rejects 2 [np=$np]" "$W/o.mr2.$np"

    # The rejects file keeps what was found before the stop: at least the 3 rows of a 2 limit.
    run "$np" analyze --quiet --max-rejects 2 --rejects "$W/mr2.rejects.$np" --out "$W/o.mr2r.$np" "$D/three_bad.csv"
    expect_exit "three bad rows, --max-rejects 2 --rejects [np=$np]" 1
    check "three bad rows, --max-rejects 2 keeps the rejects file [np=$np]" \
      test "$(tail -n +2 "$W/mr2.rejects.$np" 2>/dev/null | cut -d, -f2 | tr '\n' ' ')" = "3 9 14 "
  done
}

# Two files: line numbers count within each file.
sec_two_files() {
  local np
  cat "$CLEAN" "$CLEAN" | sed '1,13!{/^event_time,/d}' >"$W/clean_twice.csv"
  for np in $RANKS; do
    run "$np" analyze --quiet --out "$W/o.twice.$np" "$W/clean_twice.csv"
    run "$np" analyze --quiet --out "$W/o.two.$np" "$CLEAN" "$D/three_bad.csv"
    expect_exit "clean.csv + three_bad.csv [np=$np]" 0
    expect_err "clean.csv + three_bad.csv [np=$np]" "clickmill: 3 rows rejected" \
      "$D/three_bad.csv:3 (byte 213)" "$D/three_bad.csv:9 (byte 980)" "$D/three_bad.csv:14 (byte 1660)"
    expect_counts "clean.csv + three_bad.csv [np=$np]" "$W/o.two.$np" $((2 * CLEAN_ROWS)) 3
    expect_same_tables "clean.csv + three_bad.csv [np=$np]" "$W/o.two.$np" "$W/o.twice.$np"
  done
}

# A quoted field with a newline: lines 6-7 of quoted_newline.csv are one record whose brand
# "acme<LF>inc" spans two lines (3 ranks cut the file between them). clickmill reads line by
# line and does not support this: both lines must be rejected for their quoting, the same way
# on every rank count.
sec_quoted_newline() {
  local QN=$D/quoted_newline.csv qn_first=${QN_RANKS%% *} np o t differ
  same_as_clean "quoted_newline.csv" "$QN" '6d;7d'
  for np in $QN_RANKS; do
    o="$W/o.$np"
    run "$np" analyze --quiet --out "$o" --rejects "$W/rejects.$np.csv" "$QN"
    expect_exit "quoted newline [np=$np]" 0
    expect_err "quoted newline [np=$np]" "clickmill: 2 rows rejected: quoting 2" \
      "$QN:6 (byte 625): unterminated or misplaced quote" "$QN:7 (byte 690): unterminated or misplaced quote"
    expect_counts "quoted newline [np=$np]" "$o" "$CLEAN_ROWS" 2
    expect_same_tables "quoted newline [np=$np]" "$o" "$TMP/ref.$first_np"
    if [ "$np" != "$qn_first" ]; then
      differ=""
      for t in summary $TABLES; do cmp -s "$o/tables/$t.csv" "$W/o.$qn_first/tables/$t.csv" || differ="$differ $t"; done
      cmp -s "$W/rejects.$np.csv" "$W/rejects.$qn_first.csv" || differ="$differ rejects-file"
      check "quoted newline [np=$np]: tables and rejects file identical to np=$qn_first's${differ:+ (differ:$differ)}" test -z "$differ"
      [ -z "$differ" ] || diff "$W/rejects.$qn_first.csv" "$W/rejects.$np.csv" 2>&1 | diag 6
    fi
  done
}

sec_options() {
  local np args
  for np in $RANKS; do
    run "$np" analyze --bogus "$CLEAN"
    expect_exit "analyze --bogus [np=$np]" 2
    expect_err "analyze --bogus [np=$np]" "--bogus"
    run "$np" analyze -x "$CLEAN"
    expect_exit "analyze -x [np=$np]" 2
    expect_err "analyze -x [np=$np]" "-x"
    run "$np" analyze --out
    expect_exit "analyze --out without its value [np=$np]" 2
    run "$np" analyze --quiet --format xml --out "$W/o.xml.$np" "$CLEAN"
    expect_exit "analyze --format xml [np=$np]" 2
    expect_err "analyze --format xml [np=$np]" "--format" "xml"
    run "$np" analyze --quiet --out "$W/o.nofile.$np"
    expect_exit "analyze without input files [np=$np]" 2
    expect_err "analyze without input files [np=$np]" "no input files"
    run "$np" analyze --quiet --max-rejects abc --out "$W/o.mra.$np" "$CLEAN"
    expect_exit "analyze --max-rejects abc [np=$np]" 2
    expect_err "analyze --max-rejects abc [np=$np]" "--max-rejects" "abc"
    run "$np" analyze --quiet --max-rejects -1 --out "$W/o.mrn.$np" "$CLEAN"
    expect_exit "analyze --max-rejects -1 [np=$np]" 2
    run "$np" nosuchcommand "$CLEAN"
    expect_exit "clickmill nosuchcommand [np=$np]" 2
    expect_err "clickmill nosuchcommand [np=$np]" "unknown command" "nosuchcommand"
    run "$np"
    expect_exit "clickmill without a command [np=$np]" 2
    expect_err "clickmill without a command [np=$np]" "usage"
    for args in "--help" "analyze --help" "journey --help"; do
      # shellcheck disable=SC2086
      run "$np" $args
      expect_exit "clickmill $args [np=$np]" 0
      check "clickmill $args [np=$np]: one usage text on stdout" test "$(grep -c '^usage:' "$W/stdout")" = 1
    done
  done
}

sec_outputs() {
  local np
  for np in $RANKS; do
    run "$np" analyze --quiet --out /proc/forbidden/x "$CLEAN"
    expect_exit "--out /proc/forbidden/x [np=$np]" 1
    expect_err "--out /proc/forbidden/x [np=$np]" "/proc/forbidden" "cannot create directory"
    run "$np" analyze --quiet --out "$TMP/regular.txt/x" "$CLEAN"
    expect_exit "--out below a regular file [np=$np]" 1
    expect_err "--out below a regular file [np=$np]" "$TMP/regular.txt" "not a directory"
    run "$np" analyze --quiet --out "$TMP/regular.txt" "$CLEAN"
    expect_exit "--out is a regular file [np=$np]" 1
    expect_err "--out is a regular file [np=$np]" "$TMP/regular.txt" "not a directory"
    run "$np" analyze --quiet --out "$W/o.rj.$np" --rejects "$W/nodir/rejects.csv" "$D/one_bad.csv"
    expect_exit "--rejects in a missing directory [np=$np]" 1
    expect_err "--rejects in a missing directory [np=$np]" "$W/nodir/rejects.csv" "rejects file"
    run "$np" analyze --quiet --out "" "$CLEAN"
    expect_exit "--out '' [np=$np]" 1
    expect_err "--out '' [np=$np]" "output directory name is empty"
  done
}

sec_journey() {
  local np f name
  {
    head -n 1 "$CLEAN"
    awk -F, -v s="$SESSION" 'NR > 1 && $9 == s' "$CLEAN" | sort -s -t, -k1,1
  } >"$W/journey.expected"
  {
    head -n 1 "$CLEAN"
    awk -F, 'NR > 1 && $8 == "541312140"' "$CLEAN" | sort -s -t, -k1,1
  } >"$W/journey_user.expected"
  for np in $RANKS; do
    for f in "$CLEAN" "$RB"; do
      name="journey --session ($(basename "$f"))"
      run "$np" journey --quiet --session "$SESSION" --format csv "$f"
      expect_exit "$name [np=$np]" 0
      if cmp -s "$W/stdout" "$W/journey.expected"; then
        ok "$name [np=$np]: the session's 5 events in time order"
      else
        notok "$name [np=$np]: the session's 5 events in time order"
        diff "$W/journey.expected" "$W/stdout" 2>&1 | diag 10
      fi
    done
    expect_err "journey --session (rows_bad.csv) [np=$np]" "clickmill: 12 rows rejected"
    run "$np" journey --quiet --session "$SESSION" "$CLEAN"
    expect_exit "journey --session, text [np=$np]" 0
    check "journey --session, text [np=$np]: first line counts 5 events" \
      test "$(head -n 1 "$W/stdout")" = "session $SESSION: 5 events from 2019-10-01 09:14:59 UTC to 2019-10-01 09:25:00 UTC, user 541312140"
    run "$np" journey --quiet --user 541312140 --format csv "$CLEAN"
    expect_exit "journey --user 541312140 [np=$np]" 0
    check "journey --user 541312140 [np=$np]: the user's events in time order" cmp -s "$W/stdout" "$W/journey_user.expected"
    run "$np" journey --quiet --session no-such-session "$CLEAN"
    expect_exit "journey, absent session [np=$np]" 1
    expect_err "journey, absent session [np=$np]" "no events" "no-such-session"
    run "$np" journey --quiet --user abc "$CLEAN"
    expect_exit "journey --user abc [np=$np]" 2
    expect_err "journey --user abc [np=$np]" "--user" "abc"
    run "$np" journey --quiet --session "$SESSION" --user 541312140 "$CLEAN"
    expect_exit "journey with --session and --user [np=$np]" 2
    expect_err "journey with --session and --user [np=$np]" "exactly one"
    run "$np" journey --quiet "$CLEAN"
    expect_exit "journey with neither --session nor --user [np=$np]" 2
    run "$np" journey --quiet --session "$SESSION" "$TMP/nosuch.csv"
    expect_exit "journey, missing file [np=$np]" 1
    expect_err "journey, missing file [np=$np]" "$TMP/nosuch.csv" "cannot open"
  done
}

# ================================================================ driver
: >"$TMP/empty.csv"
echo "not a csv" >"$TMP/regular.txt"

nsec=0
# start NAME FUNCTION ARG...: runs a section in the background, at most JOBS at a time.
start() {
  local name=$1
  shift
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n 2>/dev/null || sleep 0.2; done
  nsec=$((nsec + 1))
  mkdir -p "$TMP/w.$name"
  (W="$TMP/w.$name" && "$@") >"$TMP/log.$(printf %03d $nsec)" 2>&1 &
}

start reference sec_reference
wait # every other section compares with the reference tables
start inputs sec_input_files
start header_only sec_header_only
start bom_crlf sec_bom_crlf
for i in "${!cases[@]}"; do start "case$i" sec_bad_row "$i"; done
start field_250 sec_field_250
start rows_bad sec_rows_bad
start max_rejects sec_max_rejects
start two_files sec_two_files
start quoted_newline sec_quoted_newline
start options sec_options
start outputs sec_outputs
start journey sec_journey
wait

cat "$TMP"/log.*
# The sections ran in subshells: count their lines.
PASSED=$(cat "$TMP"/log.* | grep -c '^ok - ')
FAILED=$(cat "$TMP"/log.* | grep -c '^not ok - ')
finish
