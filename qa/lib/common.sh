# Shared set-up for the numbered QA scripts: paths, captures, result lines.
# shellcheck shell=bash

QA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOP=$(cd "$QA_DIR/.." && pwd)
CAPTURES=${EPICS_QA_CAPTURES:-$(cd "$TOP/../shared/captures" 2>/dev/null && pwd)}
PROTOCOLS=${EPICS_QA_PROTOCOLS:-"ca pva"}
WORK="$QA_DIR/work/$(basename "$0")"
export PY=/usr/bin/python3
export PCP_PYTHON_PROG=/usr/bin/python3
passed=0
failed=0

rm -rf "$WORK"
mkdir -p "$WORK"

# The captures to replay: those with an expected.json, of the selected protocols
captures() {
    local pcap name proto
    for pcap in "$CAPTURES"/*.pcap; do
        name=$(basename "$pcap" .pcap)
        [ -f "$CAPTURES/$name.expected.json" ] || continue
        proto=${name%%_*}
        case " $PROTOCOLS " in
        *" $proto "*) echo "$name" ;;
        *) echo "not run (protocol $proto not selected by EPICS_QA_PROTOCOLS): $name" >&2 ;;
        esac
    done
}

pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# Last line of every script: its tally, read by qa/run-all
finish() {
    echo "$(basename "$0"): $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

require_captures() {
    if [ -z "$CAPTURES" ] || ! ls "$CAPTURES"/*.pcap >/dev/null 2>&1; then
        fail "no captures found (expected ../shared/captures beside the repository)"
        finish
        exit 1
    fi
}
