#!/usr/bin/python3
"""Move the EPICS traffic of a capture to other ports, or merge captures.

usage:
  portmap.py map IN.pcap OUT.pcap MAP [--shift-to US]
  portmap.py expected IN.json OUT.json MAP
  portmap.py merge OUT.pcap IN.pcap... (frames in time order)
  portmap.py merge-expected OUT.json IN.json...

MAP is "5064=5070,5065=5071": every TCP and UDP port in the map is changed,
and so are the ports inside the messages that name them: the server port of
CA search replies (data type field) and beacons (count field), and of PVA
search responses and beacons. IP, UDP and TCP checksums are recomputed.
Captures are classic pcap (either timestamp resolution) on Ethernet or Linux
cooked v1 links, IPv4. --shift-to moves the first frame to that time
(microseconds) and the rest with it.

In an expected.json, "IP:PORT" in instance names and string values (server
instances, PV servers, per-server histogram buckets, <unknown>@ PV names)
follows the map. Merged expected files are the union of their instances;
numbers are added up (and left out unless every file states them), strings
must agree.
"""
import json
import re
import struct
import sys

CA_SEARCH, CA_RSRV_IS_UP = 6, 13
CA_DOREPLY, CA_DONTREPLY = 10, 5
PVA_BEACON, PVA_SEARCH_RESPONSE = 0, 4


def parse_map(text):
    m = {}
    for pair in text.split(","):
        a, b = pair.split("=")
        m[int(a)] = int(b)
    return m


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    else:
        e = ">"
        magic = struct.unpack(">I", data[:4])[0]
    nano = magic == 0xA1B23C4D
    linktype = struct.unpack(e + "I", data[20:24])[0]
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack(e + "IIII", data[off:off + 16])
        frames.append([sec, frac, wirelen, bytearray(data[off + 16:off + 16 + caplen])])
        off += 16 + caplen
    return data[:24], e, nano, linktype, frames


def write_pcap(path, header, e, frames):
    with open(path, "wb") as f:
        f.write(header)
        for sec, frac, wirelen, frame in frames:
            f.write(struct.pack(e + "IIII", sec, frac, len(frame), wirelen))
            f.write(frame)


def checksum(data):
    if len(data) % 2:
        data = bytes(data) + b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_offset(linktype, frame):
    if linktype == 1:                   # Ethernet, 802.1Q tags skipped
        off, etype = 14, struct.unpack("!H", frame[12:14])[0]
        while etype == 0x8100:
            etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
            off += 4
        return off if etype == 0x0800 else None
    if linktype == 113:                 # Linux cooked v1
        return 16 if struct.unpack("!H", frame[14:16])[0] == 0x0800 else None
    raise SystemExit(f"link type {linktype} not supported")


def ca_messages(p):
    """(offset, (cmd, size, dtype, count, p1, p2)) of each CA message in p,
    up to the first extended header (large data, never an address or port)"""
    off = 0
    while off + 16 <= len(p):
        hdr = struct.unpack("!HHHHII", p[off:off + 16])
        if hdr[1] == 0xFFFF:
            return
        yield off, hdr
        off += 16 + hdr[1]


def pva_messages(p):
    """(body offset, byte order, cmd) of each pvAccess application message in p"""
    off = 0
    while off + 8 <= len(p) and p[off] == 0xCA:
        flags, cmd = p[off + 2], p[off + 3]
        e = ">" if flags & 0x80 else "<"
        size = struct.unpack(e + "I", p[off + 4:off + 8])[0]
        if flags & 0x01:
            off += 8                    # control: the size field is a value
            continue
        yield off + 8, e, cmd
        off += 8 + size


def remap_ca_datagram(p, pmap):
    for off, (cmd, _, dtype, count, _, _) in ca_messages(p):
        if cmd == CA_SEARCH and dtype not in (CA_DOREPLY, CA_DONTREPLY) and dtype in pmap:
            struct.pack_into("!H", p, off + 4, pmap[dtype])
        elif cmd == CA_RSRV_IS_UP and count in pmap:
            struct.pack_into("!H", p, off + 6, pmap[count])


def pva_string_end(p, off, e):
    """Offset after a pvData string (size, then bytes) at off"""
    n = p[off]
    off += 1
    if n == 0xFF:
        return off
    if n == 0xFE:
        n = struct.unpack(e + "I", p[off:off + 4])[0]
        off += 4
    return off + n


def remap_pva_datagram(p, pmap):
    for body, e, cmd in pva_messages(p):
        # GUID, then sequence (response) or flags, sequence, change count (beacon)
        port_at = {PVA_SEARCH_RESPONSE: body + 12 + 4 + 16, PVA_BEACON: body + 12 + 1 + 1 + 2 + 16}.get(cmd)
        if port_at is not None and port_at + 2 <= len(p):
            port = struct.unpack(e + "H", p[port_at:port_at + 2])[0]
            if port in pmap:
                struct.pack_into(e + "H", p, port_at, pmap[port])


def remap_frame(linktype, frame, wirelen, pmap):
    ip = ip_offset(linktype, frame)
    if ip is None or len(frame) < ip + 20:
        return
    ihl = (frame[ip] & 0x0F) * 4
    proto = frame[ip + 9]
    total = struct.unpack("!H", frame[ip + 2:ip + 4])[0]
    l4 = ip + ihl
    if proto not in (6, 17) or len(frame) < l4 + 8:
        return
    sport, dport = struct.unpack("!HH", frame[l4:l4 + 4])
    struct.pack_into("!HH", frame, l4, pmap.get(sport, sport), pmap.get(dport, dport))
    whole = len(frame) >= ip + total
    if proto == 17:
        payload = memoryview(frame)[l4 + 8:ip + total]
        if payload.nbytes >= 8 and payload[0] == 0xCA:
            remap_pva_datagram(payload, pmap)
        elif payload.nbytes >= 16:
            remap_ca_datagram(payload, pmap)
        payload.release()
        csum_at = l4 + 6
    else:
        csum_at = l4 + 16
    if not whole:
        return                          # cut by the snapshot length: checksum left as is
    struct.pack_into("!H", frame, csum_at, 0)
    pseudo = frame[ip + 12:ip + 20] + struct.pack("!BBH", 0, proto, total - ihl)
    c = checksum(bytes(pseudo) + bytes(frame[l4:ip + total]))
    if proto == 17 and c == 0:
        c = 0xFFFF
    struct.pack_into("!H", frame, csum_at, c)


def frame_us(f, nano):
    return f[0] * 1000000 + (f[1] // 1000 if nano else f[1])


def cmd_map(args):
    src, dst, pmap = args[0], args[1], parse_map(args[2])
    header, e, nano, linktype, frames = read_pcap(src)
    if len(args) > 4 and args[3] == "--shift-to" and frames:
        shift = int(args[4]) - frame_us(frames[0], nano)
        for f in frames:
            us = frame_us(f, nano) + shift
            sub = (f[1] % 1000) if nano else 0
            f[0], f[1] = us // 1000000, (us % 1000000) * (1000 if nano else 1) + sub
    for f in frames:
        remap_frame(linktype, f[3], f[2], pmap)
    write_pcap(dst, header, e, frames)


ENDPOINT = re.compile(r"(\d+\.\d+\.\d+\.\d+):(\d+)")


def remap_text(s, pmap):
    return ENDPOINT.sub(lambda m: f"{m.group(1)}:{pmap.get(int(m.group(2)), int(m.group(2)))}", s)


def cmd_expected(args):
    src, dst, pmap = args[0], args[1], parse_map(args[2])
    with open(src) as f:
        d = json.load(f)
    out = {}
    for metric, v in d["metrics"].items():
        if isinstance(v, dict):
            v = {remap_text(k, pmap): remap_text(x, pmap) if isinstance(x, str) else x for k, x in v.items()}
        elif isinstance(v, str):
            v = remap_text(v, pmap)
        out[metric] = v
    with open(dst, "w") as f:
        json.dump({"metrics": out}, f, indent=1, sort_keys=True)


def cmd_merge(args):
    dst, srcs = args[0], args[1:]
    merged, first = [], None
    for s in srcs:
        header, e, nano, linktype, frames = read_pcap(s)
        if first is None:
            first = (header, e, nano, linktype)
        elif (e, nano, linktype) != first[1:]:
            raise SystemExit(f"{s}: another byte order, resolution or link type")
        merged.extend(frames)
    merged.sort(key=lambda f: frame_us(f, first[2]))
    write_pcap(dst, first[0], first[1], merged)


def cmd_merge_expected(args):
    dst, srcs = args[0], args[1:]
    out, stated = {}, {}
    for s in srcs:
        with open(s) as f:
            for metric, v in json.load(f)["metrics"].items():
                stated[metric] = stated.get(metric, 0) + 1
                if isinstance(v, dict):
                    both = out.setdefault(metric, {})
                    clash = set(both) & set(v)
                    if clash:
                        raise SystemExit(f"{metric}: instances in several files: {sorted(clash)[:3]}")
                    both.update(v)
                elif isinstance(v, str):
                    if out.setdefault(metric, v) != v:
                        raise SystemExit(f"{metric}: different values in several files")
                else:
                    out[metric] = out.get(metric, 0) + v
    # a total is known only when every part states its share
    out = {m: v for m, v in out.items()
           if isinstance(v, (dict, str)) or stated[m] == len(srcs)}
    with open(dst, "w") as f:
        json.dump({"metrics": out}, f, indent=1, sort_keys=True)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    {"map": cmd_map, "expected": cmd_expected, "merge": cmd_merge,
     "merge-expected": cmd_merge_expected}[cmd](args)


if __name__ == "__main__":
    main()
