#!/usr/bin/python3
"""Turn the IPv4 EPICS traffic of a capture into IPv6, and its expected values alike.

usage:
  v4to6.py map IN.pcap OUT.pcap
  v4to6.py expected IN.json OUT.json

The mapping of an IPv4 address a.b.c.d:
  224.0.0.0/4 (multicast)   ff0e::a.b.c.d     (a global multicast group)
  255.255.255.255           ff02::1           (all nodes: IPv6 has no broadcast)
  anything else             2001:db8::a.b.c.d (the documentation prefix, RFC 3849)
so 127.0.0.1 becomes 2001:db8::7f00:1 and 10.0.0.5 2001:db8::a00:5.

Each IPv4 frame (Ethernet, 802.1Q tags, Linux cooked v1) gets a 40-byte IPv6
header (RFC 8200) in place of its IPv4 header: traffic class from the TOS,
hop limit from the TTL, the payload length from the total length, the
transport and ports untouched, the EtherType 0x86dd. Inside the payload:
the 16-byte addresses of pvAccess searches (reply-to), search responses,
beacons and origin tags (IPv4 mapped, ::ffff:a.b.c.d) are mapped the same
way (any, all zero or ::ffff:0.0.0.0, stays any). Channel Access carries
IPv4 only: a search reply or beacon naming its sender's address names
none instead (~0 in a reply, 0 in a beacon), which is how a reply over
IPv6 says "the sender". TCP and UDP checksums are recomputed over the IPv6
pseudo-header. Frames that are not IPv4 are kept as they are.

In an expected.json every IPv4 address in instance names and string values
follows the same mapping: "a.b.c.d:port" becomes "[v6]:port" (RFC 5952
text), a bare "a.b.c.d" (client instances) the v6 text alone.
"""
import ipaddress
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portmap import (CA_DONTREPLY, CA_DOREPLY, CA_RSRV_IS_UP, CA_SEARCH,  # noqa: E402
                     PVA_BEACON, PVA_SEARCH_RESPONSE, ca_messages, checksum, ip_offset,
                     pva_messages, read_pcap, write_pcap)

PVA_SEARCH, PVA_ORIGIN_TAG = 3, 22
DOC_PREFIX = bytes.fromhex("20010db8") + bytes(8)
MAPPED_PREFIX = bytes(10) + b"\xff\xff"


def map_v4(v4):
    """16 bytes of IPv6 for 4 bytes of IPv4"""
    if v4[0] >> 4 == 0xE:
        return b"\xff\x0e" + bytes(10) + v4
    if v4 == b"\xff\xff\xff\xff":
        return b"\xff\x02" + bytes(13) + b"\x01"
    return DOC_PREFIX + v4


def map_field(p, at):
    """A pvAccess 16-byte address field at p[at:at+16], IPv4 mapped, in place"""
    if at + 16 > len(p):
        return
    a = bytes(p[at:at + 16])
    if a[:12] == MAPPED_PREFIX and a[12:] != bytes(4):
        p[at:at + 16] = map_v4(a[12:])


def map_pva_messages(p):
    """The messages of a datagram, or of a segment that starts with one"""
    for body, _, cmd in pva_messages(p):
        at = {PVA_SEARCH: body + 4 + 1 + 3, PVA_SEARCH_RESPONSE: body + 12 + 4,
              PVA_BEACON: body + 12 + 1 + 1 + 2, PVA_ORIGIN_TAG: body}.get(cmd)
        if at is not None:
            map_field(p, at)


def map_ca_messages(p, sender):
    """The messages of a datagram, or of a segment (name servers reply over TCP)"""
    for off, (cmd, _, dtype, _, p1, p2) in ca_messages(p):
        if cmd == CA_SEARCH and dtype not in (CA_DOREPLY, CA_DONTREPLY) and p1 == sender:
            struct.pack_into("!I", p, off + 8, 0xFFFFFFFF)
        elif cmd == CA_RSRV_IS_UP and p2 == sender:
            struct.pack_into("!I", p, off + 12, 0)


def map_frame(linktype, frame, wirelen):
    """The frame as IPv6 (a new bytearray) and its wire length"""
    ip = ip_offset(linktype, frame)
    if ip is None or len(frame) < ip + 20 or frame[ip] >> 4 != 4:
        return frame, wirelen
    ihl = (frame[ip] & 0x0F) * 4
    total = struct.unpack("!H", frame[ip + 2:ip + 4])[0]
    proto, ttl, tos = frame[ip + 9], frame[ip + 8], frame[ip + 1]
    src4, dst4 = bytes(frame[ip + 12:ip + 16]), bytes(frame[ip + 16:ip + 20])
    src, dst = map_v4(src4), map_v4(dst4)
    l4 = bytearray(frame[ip + ihl:ip + total] if total else frame[ip + ihl:])
    whole = total and len(frame) >= ip + total
    sender = struct.unpack("!I", src4)[0]
    start = 8 if proto == 17 else (l4[12] >> 4) * 4 if proto == 6 and len(l4) >= 20 else None
    if start is not None:
        payload = memoryview(l4)[start:]
        if payload.nbytes >= 8 and payload[0] == 0xCA:
            map_pva_messages(payload)
        elif payload.nbytes >= 16:
            map_ca_messages(payload, sender)
        payload.release()
    plen = (total - ihl) if total else 0
    v6 = struct.pack("!IHBB", 6 << 28 | tos << 20, plen, proto, ttl) + src + dst
    if whole and proto in (6, 17) and len(l4) >= (20 if proto == 6 else 8):
        at = 16 if proto == 6 else 6
        struct.pack_into("!H", l4, at, 0)
        pseudo = src + dst + struct.pack("!IxxxB", len(l4), proto)
        c = checksum(pseudo + bytes(l4))
        struct.pack_into("!H", l4, at, 0xFFFF if proto == 17 and c == 0 else c)
    out = bytearray(frame[:ip]) + v6 + l4 + frame[ip + total:] if total else bytearray(frame[:ip]) + v6 + l4
    struct.pack_into("!H", out, ip - 2, 0x86DD)
    return out, wirelen - ihl + 40


def cmd_map(args):
    header, e, nano, linktype, frames = read_pcap(args[0])
    for f in frames:
        f[3], f[2] = map_frame(linktype, f[3], f[2])
    write_pcap(args[1], header, e, frames)


def v6_text(v4):
    return str(ipaddress.IPv6Address(map_v4(ipaddress.IPv4Address(v4).packed)))


ADDRESS = re.compile(r"(?<![\d.])(\d+\.\d+\.\d+\.\d+)(:\d+)?")


def map_text(s):
    return ADDRESS.sub(lambda m: f"[{v6_text(m.group(1))}]{m.group(2)}" if m.group(2)
                       else v6_text(m.group(1)), s)


def cmd_expected(args):
    with open(args[0]) as f:
        d = json.load(f)
    out = {}
    for metric, v in d["metrics"].items():
        if isinstance(v, dict):
            v = {map_text(k): map_text(x) if isinstance(x, str) else x for k, x in v.items()}
        elif isinstance(v, str) and not metric.startswith("epics.agent."):
            v = map_text(v)
        out[metric] = v
    with open(args[1], "w") as f:
        json.dump({"metrics": out}, f, indent=1, sort_keys=True)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("map", "expected"):
        raise SystemExit(__doc__)
    {"map": cmd_map, "expected": cmd_expected}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
