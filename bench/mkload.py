#!/usr/bin/python3
"""A large capture for the live benchmark, made from the reference captures.

    mkload.py OUT.pcap SET COPIES IN.pcap...

Writes COPIES copies of each input capture (Ethernet, IPv4, as the reference
captures are), one after the other, each with its IPv4 addresses rewritten to
127.SET.(k / 256).(k % 256) for copy k (from 1) (SET 1-255: one set per replayer), so
every copy is a circuit, server and client of its own and the monitor-update
totals of the output are exactly COPIES times those of the inputs. IPv4
header, TCP and UDP checksums are recomputed. Prints the frame count.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qa", "lib"))
from troublecap import checksum as csum  # noqa: E402  (the Internet checksum)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        sys.exit(f"mkload: {path}: not a little-endian pcap file")
    if struct.unpack("<I", data[20:24])[0] != 1:
        sys.exit(f"mkload: {path}: not Ethernet")
    off, frames = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        frames.append((sec, frac, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return data[:24], frames


def rewrite(frame, addr):
    """The frame with both IPv4 addresses set to addr, checksums redone"""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return frame
    ihl = (frame[14] & 0x0F) * 4
    total = struct.unpack("!H", frame[16:18])[0]
    ip = bytearray(frame[14:14 + ihl])
    ip[12:16] = addr
    ip[16:20] = addr
    ip[10:12] = b"\0\0"
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    proto = ip[9]
    l4 = bytearray(frame[14 + ihl:14 + total])
    at = {6: 16, 17: 6}.get(proto)
    whole = len(frame) >= 14 + total
    if at is not None and whole and len(l4) >= at + 2:
        l4[at:at + 2] = b"\0\0"
        pseudo = addr + addr + struct.pack("!BBH", 0, proto, len(l4))
        c = csum(pseudo + bytes(l4))
        if proto == 17 and c == 0:
            c = 0xFFFF
        l4[at:at + 2] = struct.pack("!H", c)
    return frame[:14] + bytes(ip) + bytes(l4) + frame[14 + total:]


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    out, group, copies = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if not 1 <= group <= 255 or not 1 <= copies <= 65535:
        sys.exit("mkload: SET 1-255, COPIES 1-65535")
    inputs = [read_pcap(p) for p in sys.argv[4:]]
    n = 0
    with open(out, "wb") as f:
        f.write(inputs[0][0])
        for k in range(copies):
            addr = bytes((127, group, (k + 1) >> 8, (k + 1) & 0xFF))
            for _, frames in inputs:
                for sec, frac, orig, frame in frames:
                    data = rewrite(frame, addr)
                    f.write(struct.pack("<IIII", sec, frac, len(data), orig))
                    f.write(data)
                    n += 1
    print(n)


main()
