# Start and stop a pmcd of our own, install and remove the agent.
# No systemd: pmcd is started by hand as PCP-NOTES describes.
# shellcheck shell=bash

# shellcheck disable=SC1091
. /etc/pcp.env
export PCPQA_SYSTEMD=no
export PMCD_LOCAL=1
PMCD_STARTED_BY_US=0

pmcd_running() { pmprobe pmcd.numagents >/dev/null 2>&1; }

pmcd_start() {
    if pmcd_running; then
        return 0            # someone else's pmcd: use it, never stop it
    fi
    [ -f "$PCP_VAR_DIR/pmns/root" ] || (cd "$PCP_VAR_DIR/pmns" && ./Rebuild -u)
    "$PCP_RC_DIR/pmcd" start >"$WORK/pmcd-start.log" 2>&1
    if ! pmcd_wait -t 30; then
        echo "pmcd did not start:" >&2
        cat "$WORK/pmcd-start.log" >&2
        return 1
    fi
    PMCD_STARTED_BY_US=1
}

pmcd_stop() {
    [ "$PMCD_STARTED_BY_US" = 1 ] || return 0
    local pid
    pid=$(cat "${PCP_RUN_DIR:-/run/pcp}/pmcd.pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    PMCD_STARTED_BY_US=0
}

# Install the agent (make install, then its Install script); extra agent
# options in $1
agent_install() {
    (cd "$TOP" && make -s install >"$WORK/make-install.log" 2>&1) || { cat "$WORK/make-install.log" >&2; return 1; }
    (cd "$PCP_PMDAS_DIR/epics" && PMDA_EPICS_ARGS="${1:-}" ./Install </dev/null >"$WORK/install.log" 2>&1) \
        || { cat "$WORK/install.log" >&2; return 1; }
    grep -q "metrics and .* values" "$WORK/install.log" || { cat "$WORK/install.log" >&2; return 1; }
}

agent_remove() {
    [ -x "$PCP_PMDAS_DIR/epics/Remove" ] || return 0
    (cd "$PCP_PMDAS_DIR/epics" && ./Remove </dev/null >"$WORK/remove.log" 2>&1)
}

# Wait until a metric has a value (seconds in $2, default 20)
wait_for_metric() {
    local i
    for i in $(seq "$((${2:-20} * 10))"); do
        pmprobe -v "$1" 2>/dev/null | grep -qv " -[0-9]* " && return 0
        sleep 0.1
        : "$i"
    done
    return 1
}
