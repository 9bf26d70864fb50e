# Run a dbpmda script as printed by `qa/compare.py --dbpmda-script`, but stop
# polling epics.capture.eof as soon as it is 1 instead of waiting the whole
# timeout the script allows.
# shellcheck shell=bash
#
#   dbpmda_run SCRIPT OUTPUT [NAMESPACE]
#
# dbpmda reads the script line by line through a FIFO, so this shell sees its
# output (it writes each command's output at once, even to a file) before it
# sends the next line. Between the lines "# poll METRIC: begin" and
# "# poll METRIC: end" (METRIC is epics.capture.eof, or what compare.py's
# --eof-metric named) the script's own lines are replaced by: fetch METRIC,
# wait for the answer, stop when it is 1, otherwise sleep 0.2 s, for at most
# as many seconds as the script's "wait" lines add up to. Everything else is
# sent as it is. Returns non-zero when dbpmda could not be run or the agent
# never reported the end of the file; the caller checks the output anyway
# (dbpmda itself exits 0 whatever happens).

# shellcheck source=atexit.sh
. "$(dirname "${BASH_SOURCE[0]}")/atexit.sh"

DBPMDA_PID=""
DBPMDA_AGENT_PID=""
DBPMDA_FIFO=""

# How many answers for metric $2 are in output $1 so far (errors included:
# a dead agent gives "Error: ..." instead), and the last value
_dbpmda_eof_state() {
    awk -v metric="$2" '
        /^[ \t]+[0-9]+\.[0-9]+\.[0-9]+ \(.*\): / {
            names = $0
            sub(/^[ \t]+[0-9.]+ \(/, "", names)
            sub(/\): .*$/, "", names)
            want = 0
            if (index(" or " names " or ", " or " metric " or ") == 0) next
            n++; want = ($0 ~ /numval: [1-9]/); if (!want) last = "none"; next }
        want && /^[ \t]+value / { last = $2; want = 0; next }
        /^Error|^Warning: No PMDA/ { n++; last = "error" }
        { want = 0 }
        END { printf "%d %s\n", n, (last == "" ? "none" : last) }
    ' "$1"
}

_dbpmda_cleanup() {
    local i
    if [ -n "$DBPMDA_PID" ] && pid_alive "$DBPMDA_PID"; then
        kill -TERM "$DBPMDA_PID" 2>/dev/null
        for i in $(seq 20); do pid_alive "$DBPMDA_PID" || break; sleep 0.1; : "$i"; done
    fi
    # the agent exits when dbpmda closes its pipe; make sure of it
    if [ -n "$DBPMDA_AGENT_PID" ] && pid_alive "$DBPMDA_AGENT_PID"; then
        for i in $(seq 30); do pid_alive "$DBPMDA_AGENT_PID" || break; sleep 0.1; : "$i"; done
        pid_alive "$DBPMDA_AGENT_PID" && kill -TERM "$DBPMDA_AGENT_PID" 2>/dev/null
    fi
    [ -n "$DBPMDA_FIFO" ] && rm -f "$DBPMDA_FIFO"
    DBPMDA_PID=""
    DBPMDA_AGENT_PID=""
    DBPMDA_FIFO=""
}

# Wait until output $1 holds more than $2 answers for $4 (at most $3 seconds)
_dbpmda_wait_answer() {
    local out=$1 before=$2 limit=$3 metric=$4 i n
    for i in $(seq $((limit * 20))); do
        read -r n _ < <(_dbpmda_eof_state "$out" "$metric")
        [ "$n" -gt "$before" ] && return 0
        pid_alive "$DBPMDA_PID" || return 1
        sleep 0.05
        : "$i"
    done
    return 1
}

# Send one line to dbpmda; a subshell, so that a dbpmda that has died costs
# an error here rather than a SIGPIPE that would end the calling script
_dbpmda_send() {
    pid_alive "$DBPMDA_PID" || return 1
    (printf '%s\n' "$2" >&"$1") 2>/dev/null
}

dbpmda_run() {
    local script=$1 out=$2 ns=${3:-root} fd line in_poll=0 budget=0 status=0
    local n value deadline metric=""
    qa_at_exit _dbpmda_cleanup
    DBPMDA_FIFO=$(mktemp -u "${TMPDIR:-/tmp}/dbpmda.XXXXXX")
    mkfifo -m 600 "$DBPMDA_FIFO" || return 1
    : >"$out"
    # the agent's instance cache in a PCP_VAR_DIR of this test's own: a
    # replay must not add its names to the cache of an agent installed in
    # pmcd (026 keeps its cache there across runs); the machine's PMNS and
    # agents' directories stay visible through it
    mkdir -p "$WORK/var/config/pmda" || return 1
    local real_var
    real_var=$(. /etc/pcp.env && echo "$PCP_VAR_DIR")
    if [ "$real_var" != "$WORK/var" ]; then
        ln -sfn "$real_var/pmns" "$WORK/var/pmns" && ln -sfn "$real_var/pmdas" "$WORK/var/pmdas" || return 1
    fi
    PCP_VAR_DIR="$WORK/var" dbpmda -n "$ns" -e <"$DBPMDA_FIFO" >"$out" 2>&1 &
    DBPMDA_PID=$!
    exec {fd}>"$DBPMDA_FIFO"
    while IFS= read -r line; do
        case "$line" in
        "# poll "*": begin")
            metric=${line#\# poll }
            metric=${metric%: begin}
            in_poll=1; budget=0; continue ;;
        "# poll "*": end")
            in_poll=0
            # ask, then ask again every 0.2 s until it says 1
            deadline=$((SECONDS + (budget > 0 ? budget : 30)))
            while :; do
                read -r n value < <(_dbpmda_eof_state "$out" "$metric")
                _dbpmda_send "$fd" "fetch $metric" || { status=1; break; }
                if ! _dbpmda_wait_answer "$out" "$n" 15 "$metric"; then
                    status=1; break
                fi
                read -r n value < <(_dbpmda_eof_state "$out" "$metric")
                [ "$value" = 1 ] && break
                [ "$value" = error ] && { status=1; break; }
                if [ "$SECONDS" -ge "$deadline" ]; then
                    status=1; break
                fi
                sleep 0.2
            done
            continue ;;
        esac
        if [ "$in_poll" = 1 ]; then
            case "$line" in
            wait\ *) budget=$((budget + ${line#wait })) ;;
            esac
            continue
        fi
        _dbpmda_send "$fd" "$line" || { status=1; break; }
        case "$line" in
        open\ *)
            # the agent's PID, to be sure it is gone at the end
            _dbpmda_send "$fd" status || { status=1; break; }
            for n in $(seq 100); do
                DBPMDA_AGENT_PID=$(sed -n 's/^Connection:.*(pid: \([0-9]*\)).*/\1/p' "$out" | tail -1)
                [ -n "$DBPMDA_AGENT_PID" ] && break
                grep -q '^Namespace:' "$out" && grep -q '^Dump Instance Profile' "$out" && break
                pid_alive "$DBPMDA_PID" || break
                sleep 0.05
            done ;;
        esac
    done <"$script"
    exec {fd}>&-
    # dbpmda ends at end of input ("quit" too); give it time to stop the agent
    for n in $(seq 100); do
        pid_alive "$DBPMDA_PID" || break
        sleep 0.1
    done
    _dbpmda_cleanup
    return "$status"
}
