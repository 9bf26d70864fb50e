# pmcd and the agent installed into it, without systemd, leaving the machine
# as it was found.
# shellcheck shell=bash
#
#   pmcd_start           use the pmcd that is running, or start one by hand
#                        (PMCD_LOCAL=1: loopback only) and wait until it
#                        answers; then snapshot what the tests may change
#                        (machine_snapshot) and put it back at exit
#   pmcd_stop            stop the pmcd this shell started, by PID; never one
#                        it found running (registered to run at exit unless
#                        EPICS_QA_KEEP_PMCD=1)
#   agent_install [ARGS] make install, then Install in $PCP_PMDAS_DIR/epics
#                        (PCPQA_SYSTEMD=no, stdin /dev/null); ARGS become the
#                        agent's options on its pmcd.conf line
#   agent_remove         Remove, when the agent is installed
#   agent_reinstall [ARGS]   Remove then Install: a fresh agent, counters at 0
#   wait_for_metric METRIC [SECONDS] [VALUE]
#                        until METRIC has a value (VALUE, if given)
#   metric_value METRIC  its first value, as pmprobe -v prints it
#   metric_sum METRIC    the sum of its values over its instances (0: none)
#   agent_pid            PID of the pmdaepics our pmcd runs (started through
#                        pmdaroot: a grandchild of pmcd); empty when none
#
# Why the running pmcd, and not one of our own on a private port (see
# qa/README.md): Install and Remove (pmdaproc.sh) send SIGHUP to every pmcd
# on the machine (pmsignal -a) and TERM then KILL to every process named
# pmdaepics, so they cannot be aimed at a private pmcd without disturbing the
# machine's. Instead the tests use the machine's pmcd and put back, at exit,
# every file that make install, Install and the agent write (pmcd.conf, the
# PMNS, the agent's directory, its instance cache, the installed man pages,
# epics2pcp, pmlogconf, pmrep and pmie files), then signal that pmcd so it
# runs again exactly the agents of the restored pmcd.conf.
#
# Logs go to $WORK (or qa/work) and pmcd's own to $PCP_LOG_DIR/pmcd as usual.
#
# Note: Install and Remove end every process named pmdaepics, including
# agents that dbpmda started, so the live tests and 020-dbpmda take the qa
# lock (qa_lock in common.sh).

# shellcheck source=atexit.sh
. "$(dirname "${BASH_SOURCE[0]}")/atexit.sh"

# pcp.env reads variables it may not have set: not under set -u
_pcp_nounset=$-
set +u
# shellcheck disable=SC1091
. /etc/pcp.env
case $_pcp_nounset in *u*) set -u ;; esac
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
        PMCD_PID=$pid
        PMCD_OURS=0
        [ -n "$ours" ] && [ "$pid" = "$ours" ] && PMCD_OURS=1
        pmcd_wait -t 30 || return 1
        [ "$PMCD_OURS" = 1 ] && [ "${EPICS_QA_KEEP_PMCD:-0}" != 1 ] && qa_at_exit pmcd_stop
        machine_snapshot
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
        # pmcd and its agents must not inherit the qa lock: it would stay
        # held for as long as they run
        if [ -n "${QA_LOCK_FD:-}" ]; then exec {QA_LOCK_FD}>&-; fi
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
    machine_snapshot
    return 0
}

# What make install, Install, Remove and the agent change on the machine
_machine_paths() {
    local d
    d=$(sed -n 's/^#define[[:space:]]*EPICS[[:space:]]*\([0-9]*\).*/\1/p' "$_PCP_QA_TOP/domain.h" 2>/dev/null)
    echo "$PCP_PMCDCONF_PATH"
    echo "$PCP_VAR_DIR/pmns/root"
    echo "$PCP_PMDAS_DIR/epics"
    [ -n "$d" ] && ls -d "$PCP_VAR_DIR/config/pmda/$d".* 2>/dev/null
    echo "$PCP_VAR_DIR/config/pmlogconf/epics"
    echo "$PCP_SYSCONF_DIR/pmrep/epics.conf"
    echo "$PCP_SYSCONF_DIR/pmie/epics.rules"
    echo /usr/bin/epics2pcp
    ls -d "$PCP_MAN_DIR"/man1/pmdaepics.1* "$PCP_MAN_DIR"/man1/epics2pcp.1* 2>/dev/null
    : # status 0 whatever ls found
}

# machine_snapshot: once per script, keep a copy of those files (and note
# which did not exist) and put them back at exit (machine_restore)
MACHINE_SNAPSHOT=""
machine_snapshot() {
    local dir list p
    [ -n "$MACHINE_SNAPSHOT" ] && return 0
    dir="${WORK:-$_PCP_QA_TOP/qa/work}/machine-snapshot"
    rm -rf "$dir"
    mkdir -p "$dir"
    list="$dir/paths"
    : >"$dir/absent"
    _machine_paths | while read -r p; do
        if [ -e "$p" ]; then echo "${p#/}"; else echo "$p" >>"$dir/absent"; fi
    done >"$list"
    grep -q '^epics[[:space:]]' "$PCP_PMCDCONF_PATH" 2>/dev/null && touch "$dir/agent-was-configured"
    tar -C / -cpf "$dir/files.tar" -T "$list" || return 1
    MACHINE_SNAPSHOT=$dir
    qa_at_exit machine_restore
}

# machine_restore: Remove the agent the tests installed, put every file back
# as machine_snapshot found it, and have pmcd read its configuration again
# (SIGHUP, to that pmcd alone), so it runs the agents of the restored
# pmcd.conf: the machine's own epics agent, with its own options, binary and
# instance cache, if there was one
machine_restore() {
    local dir=$MACHINE_SNAPSHOT p
    [ -n "$dir" ] || return 0
    MACHINE_SNAPSHOT=""
    agent_remove >/dev/null 2>&1
    while read -r p; do
        rm -rf "$p"
    done <"$dir/absent"
    while read -r p; do
        rm -rf "/${p:?}"
    done <"$dir/paths"
    if ! tar -C / -xpmf "$dir/files.tar"; then
        echo "machine_restore: could not put back the files kept in $dir" >&2
        return 1
    fi
    _pmcd_follow
    if _pid_is_pmcd "$PMCD_PID"; then
        kill -HUP "$PMCD_PID"
        if [ -e "$dir/agent-was-configured" ] && ! wait_for_metric epics.capture.packets 20 2>/dev/null; then
            echo "machine_restore: the machine's epics agent did not come back" >&2
            return 1
        fi
    fi
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

metric_sum() {
    pmprobe -v "$1" 2>/dev/null | awk '$2 > 0 { s = 0; for (i = 3; i <= NF; i++) s += $i; print s; exit }
                                      { print 0; exit }'
}

_descends_from() {   # _descends_from PID ANCESTOR
    local pid=$1 k
    for k in 1 2 3 4; do
        pid=$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null)
        [ -n "$pid" ] && [ "$pid" != 0 ] || return 1
        [ "$pid" = "$2" ] && return 0
        : "$k"
    done
    return 1
}

agent_pid() {
    local pid
    for pid in $(pgrep -x pmdaepics); do
        _descends_from "$pid" "$PMCD_PID" && { echo "$pid"; return 0; }
    done
    return 1
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
