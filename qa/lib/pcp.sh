# A pmcd of our own and the agent installed into it, without systemd.
# shellcheck shell=bash
#
#   pmcd_start           start pmcd by hand (PMCD_LOCAL=1: loopback only) and
#                        wait until it answers; a pmcd these tests started
#                        earlier (its PID in qa/work/pmcd.pid) is reused
#   pmcd_stop            stop the pmcd this shell started or reused, by PID;
#                        never one started by someone else (registered to run
#                        at exit unless EPICS_QA_KEEP_PMCD=1)
#   agent_install [ARGS] make install, then Install in $PCP_PMDAS_DIR/epics
#                        (PCPQA_SYSTEMD=no, stdin /dev/null); ARGS become the
#                        agent's options on its pmcd.conf line
#   agent_remove         Remove, when the agent is installed
#   agent_reinstall [ARGS]   Remove then Install: a fresh agent, counters at 0
#   wait_for_metric METRIC [SECONDS] [VALUE]
#                        until METRIC has a value (VALUE, if given)
#   metric_value METRIC  its first value, as pmprobe -v prints it
#
# A pmcd that these tests did not start is not touched: pmcd_start then
# fails, unless EPICS_QA_FOREIGN_PMCD=use, in which case it is used as it is
# (and still never stopped). Logs go to $WORK (or qa/work) and pmcd's own to
# $PCP_LOG_DIR/pmcd as usual.
#
# Note: Install and Remove (pmdaproc.sh) end every process named pmdaepics,
# including agents that dbpmda started, so do not run the dbpmda and live
# tests at the same time on one machine.

# shellcheck source=atexit.sh
. "$(dirname "${BASH_SOURCE[0]}")/atexit.sh"

# shellcheck disable=SC1091
. /etc/pcp.env
export PCPQA_SYSTEMD=no
export PMCD_LOCAL=1
export PCP_PYTHON_PROG=/usr/bin/python3

_PCP_QA_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PMCD_QA_PIDFILE=${PMCD_QA_PIDFILE:-$_PCP_QA_TOP/qa/work/pmcd.pid}
PMCD_PID=""          # the pmcd in use
PMCD_OURS=0          # 1: we started it (or it is the one our PID file names)
_pcp_log() { echo "${WORK:-$_PCP_QA_TOP/qa/work}/$1"; }

_pid_is_pmcd() {
    pid_alive "$1" && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = pmcd ]
}

# PID of the pmcd that is running now, if any
_pmcd_running_pid() {
    local pid
    pid=$(cat "$PCP_RUN_DIR/pmcd.pid" 2>/dev/null)
    if _pid_is_pmcd "$pid"; then
        echo "$pid"
        return 0
    fi
    # a pmcd without its PID file (started with -f, or the file removed)
    for pid in $(pgrep -x pmcd 2>/dev/null); do
        if _pid_is_pmcd "$pid"; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

pmcd_start() {
    local pid ours log
    qa_lock || return 1
    mkdir -p "$(dirname "$PMCD_QA_PIDFILE")"
    ours=$(cat "$PMCD_QA_PIDFILE" 2>/dev/null)
    if pid=$(_pmcd_running_pid); then
        if [ -n "$ours" ] && [ "$pid" = "$ours" ]; then
            PMCD_PID=$pid
            PMCD_OURS=1
        elif [ "${EPICS_QA_FOREIGN_PMCD:-}" = use ]; then
            echo "using the pmcd already running (PID $pid), which these tests did not start" >&2
            PMCD_PID=$pid
            PMCD_OURS=0
        else
            echo "a pmcd these tests did not start is running (PID $pid): stop it," \
                 "or set EPICS_QA_FOREIGN_PMCD=use to test with it" >&2
            return 1
        fi
        pmcd_wait -t 30 || return 1
        [ "$PMCD_OURS" = 1 ] && [ "${EPICS_QA_KEEP_PMCD:-0}" != 1 ] && qa_at_exit pmcd_stop
        return 0
    fi
    rm -f "$PMCD_QA_PIDFILE"

    # what /etc/init.d/pmcd would do, without stopping anyone's pmcd and
    # without its background auto-install of agents
    [ -f "$PCP_PMCDCONF_PATH" ] || { echo "no $PCP_PMCDCONF_PATH: is pcp installed?" >&2; return 1; }
    if [ ! -f "$PCP_VAR_DIR/pmns/root" ]; then
        (cd "$PCP_VAR_DIR/pmns" && ./Rebuild -u) || return 1
    fi
    if [ ! -d "$PCP_RUN_DIR" ]; then
        mkdir -p "$PCP_RUN_DIR"
        chmod 775 "$PCP_RUN_DIR"
        chown "$PCP_USER:$PCP_GROUP" "$PCP_RUN_DIR"
    fi
    mkdir -p "$PCP_LOG_DIR/pmcd"
    log=$(_pcp_log pmcd-start.log)
    mkdir -p "$(dirname "$log")"
    # pmcd and the agents it starts write their logs into the current directory
    (
        cd "$PCP_LOG_DIR/pmcd" || exit 1
        unset PCP_STDERR PCP_SECURE_SOCKETS
        exec "$PCP_BINADM_DIR/pmcd"
    ) </dev/null >"$log" 2>&1
    # the launcher returns 0 even when pmcd dies at once: ask it
    if ! pmcd_wait -t 30 >>"$log" 2>&1 || ! pid=$(_pmcd_running_pid); then
        echo "pmcd did not start:" >&2
        cat "$log" >&2
        tail -20 "$PCP_LOG_DIR/pmcd/pmcd.log" >&2 2>/dev/null
        return 1
    fi
    echo "$pid" >"$PMCD_QA_PIDFILE"
    PMCD_PID=$pid
    PMCD_OURS=1
    [ "${EPICS_QA_KEEP_PMCD:-0}" != 1 ] && qa_at_exit pmcd_stop
    return 0
}

# After Install/Remove: if pmdaproc.sh had to restart pmcd, that one is ours
_pmcd_follow() {
    local pid
    [ "$PMCD_OURS" = 1 ] || return 0
    _pid_is_pmcd "$PMCD_PID" && return 0
    if pid=$(_pmcd_running_pid); then
        PMCD_PID=$pid
        echo "$pid" >"$PMCD_QA_PIDFILE"
    fi
}

pmcd_stop() {
    local pid i
    [ "$PMCD_OURS" = 1 ] || return 0
    _pmcd_follow
    pid=$PMCD_PID
    PMCD_OURS=0
    PMCD_PID=""
    if _pid_is_pmcd "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 100); do
            pid_alive "$pid" || break
            sleep 0.1
            : "$i"
        done
        if pid_alive "$pid"; then
            echo "pmcd (PID $pid) ignored SIGTERM for 10 s: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -f "$PMCD_QA_PIDFILE"
}

# The agent's line in pmcd.conf
agent_configured() {
    grep -q '^epics[[:space:]]' "$PCP_PMCDCONF_PATH" 2>/dev/null
}

agent_install() {
    local log
    log=$(_pcp_log install.log)
    if ! make -s -C "$_PCP_QA_TOP" install >"$(_pcp_log make-install.log)" 2>&1; then
        echo "make install failed:" >&2
        cat "$(_pcp_log make-install.log)" >&2
        return 1
    fi
    (cd "$PCP_PMDAS_DIR/epics" && PMDA_EPICS_ARGS="${1:-}" ./Install) </dev/null >"$log" 2>&1
    local status=$?
    _pmcd_follow
    # pmdaproc.sh prints "Check epics metrics have appeared ... N metrics and M values"
    if [ $status -ne 0 ] || ! agent_configured \
       || ! grep -q 'Check epics metrics have appeared \.\.\. [0-9]* metrics' "$log"; then
        echo "Install failed:" >&2
        cat "$log" >&2
        tail -20 "$PCP_LOG_DIR/pmcd/epics.log" >&2 2>/dev/null
        return 1
    fi
    wait_for_metric epics.capture.packets 20
}

agent_remove() {
    local log
    log=$(_pcp_log remove.log)
    [ -x "$PCP_PMDAS_DIR/epics/Remove" ] || return 0
    agent_configured || return 0
    (cd "$PCP_PMDAS_DIR/epics" && ./Remove) </dev/null >"$log" 2>&1
    _pmcd_follow
    if agent_configured; then
        echo "Remove failed:" >&2
        cat "$log" >&2
        return 1
    fi
}

agent_reinstall() {
    agent_remove || return 1
    agent_install "$@"
}

# First value of METRIC: a number or a string; empty when it has none
metric_value() {
    pmprobe -v "$1" 2>/dev/null | awk '$2 > 0 { print $3; exit }'
}

wait_for_metric() {
    local metric=$1 secs=${2:-20} want=${3:-} i v
    for i in $(seq $((secs * 10))); do
        v=$(metric_value "$metric")
        if [ -n "$v" ] && { [ -z "$want" ] || [ "$v" = "$want" ]; }; then
            return 0
        fi
        sleep 0.1
        : "$i"
    done
    echo "$metric: no ${want:+value $want}${want:-value} after $secs s (last: ${v:-none})" >&2
    return 1
}
