#!/usr/bin/python3
"""seeds.py - fuzz corpora from capture files (pcap, Ethernet or any link
type libpcap writes with an IPv4 or IPv6 packet after a known header).

    seeds.py OUTDIR CAPTURE.pcap...

writes OUTDIR/frames/ (input of fuzz_frames) and OUTDIR/circuit/ (input of
fuzz_circuit), in the formats described at the top of fuzz/fuzz_frames.c and
fuzz/fuzz_circuit.c:

  frames:  records [u8 link][u8 time step][u16 length, big-endian][bytes]
           link bits 0-2 pick the link type the target writes in front of
           the IP packet, bit 3 says the bytes are a whole frame already
  circuit: [u8 protocol: 0 CA, 1 PVA] then records [u8 direction][u16 length][bytes],
           the TCP payload of one circuit as the capture carried it
"""
import os
import struct
import sys

MAX_SEED = 60000           # bytes per corpus file (libFuzzer runs with -max_len above it)
FRAMES_PER_SEED = 24
LINKS = 6                  # link types the frames target knows (see fuzz_frames.c)


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    linktype = struct.unpack(order + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(order + "IIII", data[off:off + 16])
        off += 16
        yield linktype, data[off:off + caplen]
        off += caplen


IP_TYPES = (b"\x08\x00", b"\x86\xdd")    # IPv4, IPv6


def ip_of(linktype, frame):
    """The IP packet in a frame, or None"""
    if linktype == 1:                       # Ethernet, with VLAN tags
        off = 12
        while off + 2 <= len(frame) and frame[off:off + 2] in (b"\x81\x00", b"\x88\xa8"):
            off += 4
        if frame[off:off + 2] not in IP_TYPES:
            return None
        return frame[off + 2:]
    if linktype == 113:                     # Linux cooked v1
        return frame[16:] if frame[14:16] in IP_TYPES else None
    if linktype == 276:                     # Linux cooked v2
        return frame[20:] if frame[0:2] in IP_TYPES else None
    if linktype in (0, 108):                # NULL, LOOP
        return frame[4:]
    if linktype in (12, 101, 228):          # RAW, IPV4
        return frame
    return None


def tcp_of(ip):
    """(src, sport, dst, dport, payload) of a TCP segment, or None"""
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
        return None
    ihl = (ip[0] & 15) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    tcp = ip[ihl:total]
    if len(tcp) < 20:
        return None
    doff = (tcp[12] >> 4) * 4
    sport, dport = struct.unpack(">HH", tcp[0:4])
    return ip[12:16], sport, ip[16:20], dport, tcp[doff:]


def write(path, blob):
    with open(path, "wb") as f:
        f.write(blob)


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "frames"), exist_ok=True)
    os.makedirs(os.path.join(out, "circuit"), exist_ok=True)
    nframes = ncircuit = 0
    for cap in sys.argv[2:]:
        base = os.path.splitext(os.path.basename(cap))[0]
        chunk, count, k = bytearray(), 0, 0
        circuits = {}
        for linktype, frame in packets(cap):
            ip = ip_of(linktype, frame)
            if ip is None:
                continue
            link = k % LINKS
            body = ip
            if k % 7 == 6 and linktype == 1:
                link, body = 8, frame       # some frames whole, Ethernet header and all
            k += 1
            rec = struct.pack(">BBH", link, k % 3, len(body)) + body
            if count == FRAMES_PER_SEED or len(chunk) + len(rec) > MAX_SEED:
                write(os.path.join(out, "frames", "%s-%04d" % (base, nframes)), chunk)
                nframes += 1
                chunk, count = bytearray(), 0
            if len(rec) <= MAX_SEED:
                chunk += rec
                count += 1
            seg = tcp_of(ip)
            if seg is None or not seg[4]:
                continue
            src, sport, dst, dport, payload = seg
            for port, proto in ((5064, 0), (5075, 1)):
                if dport == port:
                    key, d = (src, sport, dst, dport), 0
                elif sport == port:
                    key, d = (dst, dport, src, sport), 1
                else:
                    continue
                blob = circuits.setdefault(key, bytearray([proto]))
                if len(blob) + 3 + len(payload) <= MAX_SEED:
                    blob += struct.pack(">BH", d, len(payload)) + payload
        if chunk:
            write(os.path.join(out, "frames", "%s-%04d" % (base, nframes)), chunk)
            nframes += 1
        for i, blob in enumerate(circuits.values()):
            if len(blob) > 1 and i < 8:     # a few circuits per capture are enough
                write(os.path.join(out, "circuit", "%s-%d" % (base, i)), blob)
                ncircuit += 1
    print("seeds: %d frames inputs, %d circuit inputs" % (nframes, ncircuit))


main()
