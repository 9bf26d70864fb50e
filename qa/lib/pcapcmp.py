#!/usr/bin/python3
"""Compare the IP packets of two capture files, ignoring link-layer headers.

usage: pcapcmp.py REFERENCE.pcap OBSERVED.pcap [IFINDEX]

Counts how often each IP packet of REFERENCE appears in OBSERVED (byte for
byte from the IP header on), and on which interfaces and in which direction
(for LINUX_SLL2 captures). With IFINDEX, packets of OBSERVED on other
interfaces are reported separately. Exits 0 when every reference packet
appears exactly once and OBSERVED holds nothing else on IFINDEX.
"""
import collections
import struct
import sys

LINK_HDR = {1: 14, 113: 16, 276: 20, 0: 4, 101: 0, 228: 0}
PKTTYPE = {0: "In", 1: "In(bcast)", 2: "In(mcast)", 3: "In(other)", 4: "Out"}


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        sys.exit(f"{path}: not a pcap file (pcapng is not read here)")
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype not in LINK_HDR:
        sys.exit(f"{path}: link type {linktype} not handled")
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, origlen = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ifindex, direction = None, None
        if linktype == 276:
            ifindex = struct.unpack(">I", frame[4:8])[0]
            direction = PKTTYPE.get(frame[10], str(frame[10]))
        elif linktype == 113:
            direction = PKTTYPE.get(struct.unpack(">H", frame[0:2])[0], "?")
        yield frame[LINK_HDR[linktype]:], caplen == origlen, ifindex, direction


def main():
    ref_path, obs_path = sys.argv[1], sys.argv[2]
    want_if = int(sys.argv[3]) if len(sys.argv) > 3 else None
    ref = collections.Counter(p for p, _, _, _ in packets(ref_path))
    seen = collections.Counter()
    where = collections.Counter()
    other = 0
    truncated = 0
    for p, whole, ifindex, direction in packets(obs_path):
        if not whole:
            truncated += 1
        if p in ref:
            seen[p] += 1
            where[(ifindex, direction)] += 1
        elif want_if is None or ifindex == want_if:
            other += 1
    nref = sum(ref.values())
    once = sum(min(seen[p], n) for p, n in ref.items())
    extra = sum(max(0, seen[p] - n) for p, n in ref.items())
    missing = nref - once
    places = ", ".join(f"if{i} {d}: {n}" for (i, d), n in sorted(where.items(), key=str))
    print(f"reference {nref} packets; seen once {once}, missing {missing}, "
          f"duplicated {extra}, other packets {other}, truncated {truncated}; {places}")
    return 0 if missing == 0 and extra == 0 and other == 0 and truncated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
