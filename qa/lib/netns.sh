# A veth pair to replay captures onto, for the live tests (needs root).
# shellcheck shell=bash
#
#   netns_up                 create the pair: $QA_VETH stays in the root
#                            namespace (where the agent captures on "any"),
#                            its peer $QA_VETH_PEER lives in the private
#                            namespace $QA_NETNS; both up, MTU 65535
#   netns_replay PCAP [LOG]  send PCAP out of $QA_VETH with tcpreplay; fails
#                            unless every packet was sent
#   netns_down               remove both (also run automatically at exit)
#
# Names carry the PID of the shell ("eqa<PID>r", "eqa<PID>p", "epicsqa-<PID>",
# at most 15 characters), so parallel runs do not collide; leftovers of runs
# that were killed with SIGKILL are removed by the next netns_up.
#
# What was found on Debian 12 (kernel 6.x, tcpreplay 4.4.3, tcpdump 4.99.3),
# replaying every reference capture (see qa/025-replay):
# - The captures are EN10MB frames taken on a loopback interface: all-zero
#   MAC addresses, 127.0.0.1 at both ends. Replayed onto the root-side end,
#   each frame is captured exactly once by a capture on "any" in the root
#   namespace: as an outgoing packet of $QA_VETH (direction "Out", link type
#   LINUX_SLL; it is not seen on "lo" nor a second time on the way in).
#   The agent must therefore keep outgoing packets (no PCAP_D_IN) and must
#   not filter on the interface's addresses (the root-side end has none).
#   Counted per capture, the packets seen on "any" (IP layer and payload
#   compared byte for byte) equal the packets of `tcpdump -r`, and the
#   agent's epics.capture.packets grows by exactly that count too.
# - Nothing answers: in the private namespace the frames reach the peer,
#   which has no address and no route, with a destination MAC that is not
#   its own (dropped as PACKET_OTHERHOST) and 127.0.0.1 addresses that are
#   martian on a non-loopback interface. No packet leaves the peer and
#   nothing but the replayed packets enters the root-side end. IPv6 is
#   switched off on both ends so that no router solicitation or DAD packet
#   appears on the wire either.
# - Frame sizes: loopback's MTU is 65536 but an IPv4 packet is at most 65535
#   bytes, so the largest frames (ca_waveform) are 65549 bytes: 14 bytes of
#   Ethernet header plus 65535. veth accepts an MTU of at most 65535
#   (ETH_MAX_MTU), which is exactly enough: tcpreplay sends every frame with
#   MTU 65535 on the sending end. With the default MTU of 1500 tcpreplay
#   reports "Message too long" for every frame over 1514 bytes and counts it
#   as failed (41 of ca_waveform's 137; it neither fragments nor truncates),
#   so those never reach the wire. netns_replay checks tcpreplay's counters
#   to catch exactly that.
# - Speed: the default replays at the capture's own pace (about 48 s for all
#   eight captures). Timing matters to what is checked: searches that are
#   never answered count as unanswered only after the agent's search timeout,
#   retries are spread over seconds, beacons and their anomalies are about
#   intervals, and a burst at top speed overruns capture buffers: tcpdump
#   on "any" with a 32 MiB buffer (-B 32768) in immediate mode lost tens to
#   hundreds of ca_monitor's 1646 packets at --topspeed, none at the
#   capture's pace or at 2000 packets/s. EPICS_QA_REPLAY_SPEED=topspeed, a
#   number (a multiplier) or pps:N (packets per second) replays faster.

# shellcheck source=atexit.sh
. "$(dirname "${BASH_SOURCE[0]}")/atexit.sh"

QA_VETH=""
QA_VETH_PEER=""
QA_NETNS=""

# Remove namespaces and veth ends left by runs whose shell no longer exists
_netns_remove_stale() {
    local ns pid link
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        case "$ns" in
        epicsqa-*)
            pid=${ns#epicsqa-}
            pid_alive "$pid" || ip netns del "$ns" 2>/dev/null
            ;;
        esac
    done
    for link in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'); do
        case "$link" in
        eqa*r)
            pid=${link#eqa}
            pid=${pid%r}
            pid_alive "$pid" || ip link del "$link" 2>/dev/null
            ;;
        esac
    done
}

_netns_no_ipv6() {   # $1 interface, $2... optional "ip netns exec NS" prefix
    local ifc=$1
    shift
    [ -d /proc/sys/net/ipv6 ] || return 0
    "$@" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1" >/dev/null 2>&1 || true
}

netns_up() {
    local id=$$
    [ "$(id -u)" = 0 ] || { echo "netns_up: needs root" >&2; return 1; }
    command -v ip >/dev/null || { echo "netns_up: ip (iproute2) not found" >&2; return 1; }
    _netns_remove_stale
    QA_NETNS="epicsqa-$id"
    QA_VETH="eqa${id}r"
    QA_VETH_PEER="eqa${id}p"
    qa_at_exit netns_down
    ip netns add "$QA_NETNS" || return 1
    ip link add "$QA_VETH" mtu 65535 type veth peer name "$QA_VETH_PEER" mtu 65535 || return 1
    ip link set "$QA_VETH_PEER" netns "$QA_NETNS" || return 1
    _netns_no_ipv6 "$QA_VETH"
    _netns_no_ipv6 "$QA_VETH_PEER" ip netns exec "$QA_NETNS"
    ip netns exec "$QA_NETNS" ip link set "$QA_VETH_PEER" mtu 65535 up || return 1
    ip link set "$QA_VETH" mtu 65535 up || return 1
    # veth reports carrier once both ends are up; give it a moment
    local i
    for i in $(seq 50); do
        [ "$(cat "/sys/class/net/$QA_VETH/operstate" 2>/dev/null)" = up ] && return 0
        sleep 0.1
        : "$i"
    done
    echo "netns_up: $QA_VETH did not come up" >&2
    return 1
}

netns_down() {
    if [ -n "$QA_VETH" ]; then
        ip link del "$QA_VETH" 2>/dev/null || true     # takes the peer with it
    fi
    if [ -n "$QA_NETNS" ]; then
        ip netns del "$QA_NETNS" 2>/dev/null || true
    fi
    QA_VETH=""
    QA_VETH_PEER=""
    QA_NETNS=""
}

# Packets in a capture file
pcap_count() {
    tcpdump -r "$1" -nn 2>/dev/null | wc -l
}

# netns_replay PCAP [LOG]: every packet of PCAP out of $QA_VETH
netns_replay() {
    local pcap=$1 log=${2:-/dev/null} want sent failed
    local speed=()
    [ -n "$QA_VETH" ] || { echo "netns_replay: netns_up first" >&2; return 1; }
    case "${EPICS_QA_REPLAY_SPEED:-capture}" in
    capture) ;;
    topspeed) speed=(--topspeed) ;;
    pps:*) speed=("--pps=${EPICS_QA_REPLAY_SPEED#pps:}") ;;
    *) speed=("--multiplier=$EPICS_QA_REPLAY_SPEED") ;;
    esac
    want=$(pcap_count "$pcap")
    tcpreplay -i "$QA_VETH" "${speed[@]}" "$pcap" >"$log" 2>&1 </dev/null || {
        echo "tcpreplay failed, see $log" >&2
        return 1
    }
    sent=$(sed -n 's/^[[:space:]]*Successful packets:[[:space:]]*\([0-9]*\).*/\1/p' "$log" | tail -1)
    failed=$(sed -n 's/^[[:space:]]*Failed packets:[[:space:]]*\([0-9]*\).*/\1/p' "$log" | tail -1)
    if [ "${sent:-0}" != "$want" ] || [ "${failed:-1}" != 0 ]; then
        echo "tcpreplay sent ${sent:-?} of $want packets (${failed:-?} failed), see $log" >&2
        return 1
    fi
}
