# Shared set-up for the numbered QA scripts: paths, captures, result lines.
# shellcheck shell=bash
#
# After sourcing:
#   $QA_DIR, $TOP          qa/ and the top of the repository
#   $CAPTURES              the reference captures: $TOP/../shared/captures,
#                          or $EPICS_QA_CAPTURES
#   $WORK                  qa/work/<script name>, emptied
#   $PY                    /usr/bin/python3 (Debian's, with the pcp module)
#   select_captures        fills CAPTURE_NAMES with the captures to run:
#                          NAME.pcap with a NAME.expected.json beside it, of the
#                          protocols in $EPICS_QA_PROTOCOLS ("ca pva" unless
#                          set; the protocol is the name up to the first "_");
#                          prints one line naming those not run and why
#   expected_files NAME    the expected values of a capture, one file a line
#   pass NAME / fail NAME  one result line: "PASS NAME" / "FAIL NAME"
#   finish                 the script's last line, "SCRIPT: N passed, N failed",
#                          read by qa/run-all; returns non-zero on any failure
#   run_sub SCRIPT DIR TAG another numbered test over the captures in DIR, its
#                          PASS/FAIL lines repeated as TAG/NAME

QA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOP=$(cd "$QA_DIR/.." && pwd)
CAPTURES=${EPICS_QA_CAPTURES:-$TOP/../shared/captures}
if [ -d "$CAPTURES" ]; then
    CAPTURES=$(cd "$CAPTURES" && pwd)
fi
PROTOCOLS=${EPICS_QA_PROTOCOLS:-ca pva}
WORK="$QA_DIR/work/$(basename "$0")"
export PY=/usr/bin/python3
export PCP_PYTHON_PROG=/usr/bin/python3
passed=0
failed=0
CAPTURE_NAMES=()

rm -rf "$WORK"
mkdir -p "$WORK"

select_captures() {
    local pcap name proto skipped=() noexp=()
    CAPTURE_NAMES=()
    for pcap in "$CAPTURES"/*.pcap; do
        [ -f "$pcap" ] || continue
        name=$(basename "$pcap" .pcap)
        if [ ! -f "$CAPTURES/$name.expected.json" ]; then
            noexp+=("$name")
            continue
        fi
        proto=${name%%_*}
        case " $PROTOCOLS " in
        *" $proto "*) CAPTURE_NAMES+=("$name") ;;
        *) skipped+=("$name") ;;
        esac
    done
    if [ ${#skipped[@]} -gt 0 ]; then
        echo "NOT RUN (EPICS_QA_PROTOCOLS=\"$PROTOCOLS\"): ${skipped[*]}"
    fi
    if [ ${#noexp[@]} -gt 0 ]; then
        echo "NOT RUN (no expected.json): ${noexp[*]}"
    fi
}

# Older name: the selected captures, one per line (the "not run" line on stderr)
captures() {
    select_captures >&2
    [ ${#CAPTURE_NAMES[@]} -gt 0 ] && printf '%s\n' "${CAPTURE_NAMES[@]}"
}

# The expected values of capture $1: NAME.expected.json, and
# NAME.expected2.json (latency, TCP health, update age) when there is one
expected_files() {
    echo "$CAPTURES/$1.expected.json"
    [ -f "$CAPTURES/$1.expected2.json" ] && echo "$CAPTURES/$1.expected2.json"
    return 0
}

pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# Indent a file (the details under a FAIL line): at most $2 lines (default
# 15), then the last line (compare.py's summary) when some were left out
show() {
    local file=$1 max=${2:-15} n
    [ -s "$file" ] || return 0
    n=$(wc -l <"$file")
    if [ "$n" -le $((max + 1)) ]; then
        sed 's/^/    /' "$file"
    else
        sed -n "1,${max}p" "$file" | sed 's/^/    /'
        echo "    ... $((n - max - 1)) more lines in ${file#"$TOP"/}"
        tail -1 "$file" | sed 's/^/    /'
    fi
}

# run_sub SCRIPT DIR TAG: a numbered test over the captures in DIR, its
# results (and the indented details of failures) as TAG/NAME
run_sub() {
    local script=$1 dir=$2 tag=$3 line
    EPICS_QA_CAPTURES="$dir" EPICS_QA_PROTOCOLS="ca pva" "$QA_DIR/$script" >"$WORK/$tag.log" 2>&1
    local found=false
    while IFS= read -r line; do
        case $line in
        "PASS "*) pass "$tag/${line#PASS }"; found=true ;;
        "FAIL "*) fail "$tag/${line#FAIL }"; found=true ;;
        "    "*) echo "$line" ;;
        esac
    done <"$WORK/$tag.log"
    $found || { fail "$tag (no result)"; show "$WORK/$tag.log"; }
}

finish() {
    echo "$(basename "$0"): $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

require_captures() {
    if [ ! -d "$CAPTURES" ] || ! ls "$CAPTURES"/*.pcap >/dev/null 2>&1; then
        fail "captures (none found in ${EPICS_QA_CAPTURES:-../shared/captures beside the repository})"
        finish
        exit 1
    fi
}

# A failure (and the end of the script) when command $1 is not installed
require_command() {
    command -v "$1" >/dev/null 2>&1 && return 0
    fail "$(basename "$0") needs $1, not installed"
    finish
    exit 1
}

# qa_lock: one test at a time on this machine for what is shared machine-
# wide (pmcd, pmcd.conf, and Install, which stops every pmdaepics process,
# including those dbpmda runs). Held until the script exits.
# EPICS_QA_LOCK_HELD=1: a parent process holds it already (for example
# `EPICS_QA_LOCK_HELD=1 flock /tmp/epics-qa.lock make check`); taking it
# again from here would wait for that parent forever.
qa_lock() {
    [ -n "${QA_LOCK_FD:-}" ] && return 0
    [ "${EPICS_QA_LOCK_HELD:-0}" = 1 ] && return 0
    exec {QA_LOCK_FD}>"${TMPDIR:-/tmp}/epics-qa.lock"
    if ! flock -w 900 "$QA_LOCK_FD"; then
        echo "qa_lock: another test run held the lock for 15 minutes" >&2
        return 1
    fi
}
