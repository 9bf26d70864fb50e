# Several EPICS sniffing hosts and a central collector on one machine, as
# network namespaces (needs root). Used by qa/100-facility.
# shellcheck shell=bash
#
#   hosts_up N           namespaces "efac<PID>c" (central) and "efac<PID>h1..N";
#                        a bridge inside the central namespace joins them:
#                        central 198.18.0.100, host I 198.18.0.I (RFC 2544's
#                        benchmarking range, inside these namespaces only).
#                        Each host also gets a mirror port: a veth pair
#                        mir0 (the agent captures there) and mir0p (tcpreplay
#                        sends there), both inside the host, MTU 65535.
#   host_pmcd_start I NAME  in host I: a pmcd of its own (pmcd.conf, PMNS, run,
#                        log and instance cache directories under
#                        $WORK/hostI, listening on 198.18.0.I) in a UTS
#                        namespace whose hostname is NAME
#                        running only pmcd's own agent and this agent on mir0
#   in_host I CMD...     run CMD in host I's network namespace
#   in_central CMD...    run CMD in the central namespace
#   host_replay I PCAP [LOG]  every packet of PCAP onto host I's mirror port
#   hosts_down           stop every pmcd started here (by PID), remove the
#                        namespaces (also run at exit)
#
# The machine's own pmcd, its /run/pcp, /var/log/pcp and /var/lib/pcp are
# not touched: each host's pmcd gets private locations through PCP_*
# environment variables (PCP_PMCDCONF_PATH, PCP_RUN_DIR, PCP_LOG_DIR,
# PCP_TMP_DIR, PCP_VAR_DIR for the agent's instance cache) and options
# (-n, -l, -i, -s).

# shellcheck source=atexit.sh
. "$(dirname "${BASH_SOURCE[0]}")/atexit.sh"

HOSTS_PREFIX="efac$$"
HOSTS_N=0
HOSTS_PMCD_PIDS=()
HOSTS_NET=198.18.0

_hosts_remove_stale() {
    local ns pid
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        case "$ns" in
        efac*)
            pid=${ns#efac}
            pid=${pid%%[ch]*}
            pid_alive "$pid" || ip netns del "$ns" 2>/dev/null
            ;;
        esac
    done
}

in_central() { ip netns exec "${HOSTS_PREFIX}c" "$@"; }
in_host() { local i=$1; shift; ip netns exec "${HOSTS_PREFIX}h$i" "$@"; }

_hosts_no_ipv6() {   # namespace, interface
    ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" >/dev/null 2>&1 || true
}

hosts_up() {
    local n=$1 i c="${HOSTS_PREFIX}c" h
    [ "$(id -u)" = 0 ] || { echo "hosts_up: needs root" >&2; return 1; }
    _hosts_remove_stale
    qa_at_exit hosts_down
    ip netns add "$c" || return 1
    HOSTS_N=$n
    in_central ip link set lo up || return 1
    in_central ip link add br0 type bridge || return 1
    _hosts_no_ipv6 "$c" br0
    in_central ip addr add "$HOSTS_NET.100/24" dev br0 || return 1
    in_central ip link set br0 up || return 1
    for i in $(seq "$n"); do
        h="${HOSTS_PREFIX}h$i"
        ip netns add "$h" || return 1
        in_host "$i" ip link set lo up || return 1
        # the host's network port, its far end on the bridge
        ip link add "efac$$e$i" netns "$h" type veth peer name "b$i" netns "$c" || return 1
        in_host "$i" ip link set "efac$$e$i" name eth0 || return 1
        _hosts_no_ipv6 "$h" eth0
        _hosts_no_ipv6 "$c" "b$i"
        in_host "$i" ip addr add "$HOSTS_NET.$i/24" dev eth0 || return 1
        in_host "$i" ip link set eth0 up || return 1
        in_central ip link set "b$i" master br0 up || return 1
        # the mirror port the host sniffs
        ip link add "efac$$m$i" mtu 65535 netns "$h" type veth peer name "efac$$p$i" mtu 65535 netns "$h" || return 1
        in_host "$i" ip link set "efac$$m$i" name mir0 || return 1
        in_host "$i" ip link set "efac$$p$i" name mir0p || return 1
        _hosts_no_ipv6 "$h" mir0
        _hosts_no_ipv6 "$h" mir0p
        in_host "$i" ip link set mir0 up || return 1
        in_host "$i" ip link set mir0p up || return 1
    done
    # reachability is shown by host_pmcd_start: the central namespace asks
    # each host's pmcd over the bridge
}

# The PMNS of a host's pmcd: pmcd's own metrics and this agent's
_hosts_pmns() {
    local top=$1 out=$2
    {
        echo "root {"
        echo "    pmcd"
        echo "    epics"
        echo "}"
        echo "#define EPICS 510"
        # pmcd's own subtree, without its root node
        awk '/^root \{/ { skip = 1 } !skip { print } skip && /^\}/ { skip = 0 }' "$PCP_VAR_DIR/pmns/root_pmcd"
        grep -v '^#include' "$top/pmns"
    } >"$out"
}

host_pmcd_start() {
    local i=$1 name=$2 top dir pid n
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    dir="$WORK/host$i"
    mkdir -p "$dir/run" "$dir/log" "$dir/tmp" "$dir/var/config/pmda"
    _hosts_pmns "$top" "$dir/root" || return 1
    sed -e '/^@ EPICS\./s/EPICS\./510./' "$top/help" | "$PCP_BINADM_DIR/newhelp" -n "$dir/root" -o "$dir/help" \
        || return 1
    # pmdaroot starts the agent as root (to open its capture), as on a
    # real host; no [access] section: everything is allowed in the namespace
    cat >"$dir/pmcd.conf" <<CONF
root	1	pipe	binary	$PCP_PMDAS_DIR/root/pmdaroot
pmcd	2	dso	pmcd_init	$PCP_PMDAS_DIR/pmcd/pmda_pmcd.so
epics	510	pipe	binary	$top/pmda/pmdaepics -d 510 -l $dir/log/epics.log -h $dir/help -i mir0
CONF
    chown -R "$PCP_USER:$PCP_GROUP" "$dir"
    (
        cd "$dir/log" || exit 1
        unset PCP_STDERR PMCD_LOCAL
        export PCP_PMCDCONF_PATH="$dir/pmcd.conf" PCP_RUN_DIR="$dir/run" PCP_LOG_DIR="$dir/log" \
            PCP_VAR_DIR="$dir/var" PCP_TMP_DIR="$dir/tmp" PMCD_SOCKET="$dir/run/pmcd.socket"
        # its own UTS namespace: pmcd's hostname label is the host's name
        exec ip netns exec "${HOSTS_PREFIX}h$i" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$name" \
            "$PCP_BINADM_DIR/pmcd" -f -H "$name" -i "$HOSTS_NET.$i" \
            -n "$dir/root" -l "$dir/log/pmcd.log" -s "$dir/run/pmcd.socket"
    ) </dev/null >"$dir/log/pmcd.out" 2>&1 &
    pid=$!
    HOSTS_PMCD_PIDS+=("$pid")
    for n in $(seq 100); do
        in_central pmprobe -h "$HOSTS_NET.$i" -v epics.capture.packets 2>/dev/null | grep -q ' 1 ' && return 0
        pid_alive "$pid" || break
        sleep 0.2
        : "$n"
    done
    echo "host $i: pmcd did not serve epics.* on $HOSTS_NET.$i" >&2
    tail -20 "$dir/log/pmcd.log" "$dir/log/epics.log" >&2 2>/dev/null
    return 1
}

host_replay() {
    local i=$1 pcap=$2 log=${3:-/dev/null} want sent
    want=$(tcpdump -r "$pcap" -nn 2>/dev/null | wc -l)
    in_host "$i" tcpreplay -i mir0p "$pcap" >"$log" 2>&1 </dev/null || return 1
    sent=$(sed -n 's/^[[:space:]]*Successful packets:[[:space:]]*\([0-9]*\).*/\1/p' "$log" | tail -1)
    [ "${sent:-0}" = "$want" ] || { echo "host $i: tcpreplay sent ${sent:-?} of $want packets" >&2; return 1; }
}

hosts_down() {
    local pid i
    for pid in "${HOSTS_PMCD_PIDS[@]}"; do
        pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${HOSTS_PMCD_PIDS[@]}"; do
        for i in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; : "$i"; done
        pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    done
    HOSTS_PMCD_PIDS=()
    for i in $(seq "$HOSTS_N"); do
        ip netns del "${HOSTS_PREFIX}h$i" 2>/dev/null
    done
    ip netns del "${HOSTS_PREFIX}c" 2>/dev/null
    HOSTS_N=0
    return 0
}

# ---- the central collector: redis-server, the pmlogger farm, pmproxy ----
#
#   central_redis_start      redis-server on 127.0.0.1:$REDIS_PORT in the
#                            central namespace, no persistence, its files in
#                            $WORK/central/redis
#   central_farm_start CONTROL   pmlogger_check -c CONTROL: one pmlogger per
#                            control line, as a pmlogger farm runs (private
#                            PCP_TMP_DIR and PCP_LOG_DIR under $WORK/central)
#   central_farm_stop CONTROL    pmlogger_check -s -c CONTROL, then any
#                            pmlogger it left, by the PID it registered
#   central_pmproxy_start    pmproxy on 127.0.0.1:$PMPROXY_PORT with the
#                            time series on (archives discovered under
#                            $FARM_DIR, series in that redis-server)
# All are stopped by PID at exit.

REDIS_PORT=""
REDIS_PID=""
PMPROXY_PORT=""
PMPROXY_PID=""
FARM_DIR=""

_central_env() {
    local c="$WORK/central"
    echo "PCP_TMP_DIR=$c/tmp PCP_LOG_DIR=$c/log PCP_RUN_DIR=$c/run PCP_ARCHIVE_DIR=$FARM_DIR"
}

_free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

central_redis_start() {
    local i
    mkdir -p "$WORK/central/redis"
    REDIS_PORT=$(_free_port)
    # not through in_central: a function in the background is a subshell,
    # and $! must be the daemon's own PID (ip netns exec execs it)
    ip netns exec "${HOSTS_PREFIX}c" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/central/redis" \
        --save "" --appendonly no --daemonize no --logfile "$WORK/central/redis/redis.log" \
        </dev/null >/dev/null 2>&1 &
    REDIS_PID=$!
    qa_at_exit central_down
    for i in $(seq 50); do
        in_central redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
        pid_alive "$REDIS_PID" || break
        sleep 0.1
        : "$i"
    done
    echo "redis-server did not answer on 127.0.0.1:$REDIS_PORT" >&2
    cat "$WORK/central/redis/redis.log" >&2 2>/dev/null
    return 1
}

central_farm_start() {
    local control=$1 c="$WORK/central"
    mkdir -p "$c/tmp" "$c/log/pmlogger" "$c/run" "$FARM_DIR"
    chown -R "$PCP_USER:$PCP_GROUP" "$c/tmp" "$c/log" "$c/run" "$FARM_DIR"
    qa_at_exit central_down
    # shellcheck disable=SC2046
    in_central env $(_central_env) "$PCP_BINADM_DIR/pmlogger_check" -q -c "$control" \
        -l "$c/log/pmlogger_check.log"
}

# PIDs of the pmloggers the farm registered
_farm_pids() {
    local f
    for f in "$WORK/central/tmp/pmlogger"/[0-9]*; do
        [ -f "$f" ] && basename "$f"
    done
}

central_farm_stop() {
    local control=$1 pid i
    [ -n "$FARM_DIR" ] || return 0
    # shellcheck disable=SC2046
    in_central env $(_central_env) "$PCP_BINADM_DIR/pmlogger_check" -s -c "$control" \
        -l "$WORK/central/log/pmlogger_check-stop.log" || true
    for pid in $(_farm_pids); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = pmlogger ] || continue
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; : "$i"; done
    done
}

central_pmproxy_start() {
    local c="$WORK/central" i
    PMPROXY_PORT=$(_free_port)
    mkdir -p "$c/run" "$c/log"
    cat >"$c/pmproxy.conf" <<CONF
[pmproxy]
pcp.enabled = true
http.enabled = true
redis.enabled = true
secure.enabled = false

[redis]
enabled = true
servers = 127.0.0.1:$REDIS_PORT

[keys]
enabled = true
servers = 127.0.0.1:$REDIS_PORT

[discover]
enabled = true
path = $FARM_DIR

[pmseries]
enabled = true

[pmsearch]
enabled = false
CONF
    # shellcheck disable=SC2046
    ip netns exec "${HOSTS_PREFIX}c" env $(_central_env) "$PCP_BINADM_DIR/pmproxy" -f -c "$c/pmproxy.conf" -i 127.0.0.1 -p "$PMPROXY_PORT" \
        -s "$c/run/pmproxy.socket" -l "$c/log/pmproxy.log" -x "$c/log/pmproxy.fatal" \
        </dev/null >/dev/null 2>&1 &
    PMPROXY_PID=$!
    qa_at_exit central_down
    for i in $(seq 100); do
        in_central curl -s -m 2 -o /dev/null "http://127.0.0.1:$PMPROXY_PORT/series/ping" && return 0
        pid_alive "$PMPROXY_PID" || break
        sleep 0.1
        : "$i"
    done
    echo "pmproxy did not answer on 127.0.0.1:$PMPROXY_PORT" >&2
    return 1
}

_stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] && pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do pid_alive "$pid" || return 0; sleep 0.1; : "$i"; done
    kill -KILL "$pid" 2>/dev/null
}

central_down() {
    [ -n "${FARM_CONTROL:-}" ] && central_farm_stop "$FARM_CONTROL"
    _stop_pid "$PMPROXY_PID"
    PMPROXY_PID=""
    _stop_pid "$REDIS_PID"
    REDIS_PID=""
    return 0
}
