#!/usr/bin/python3
"""Write small pcap files of the EPICS troubles the pmie rules look for.

    troublecap.py storm OUT.pcap      CA and PVA clients searching, for 30 s,
                                      10 times a second for names no server
                                      has (two names and one client most)
    troublecap.py duplicate OUT.pcap  one CA name and one PVA name answered by
                                      two servers each, then 20 s of quiet
                                      beacons
    troublecap.py tcp OUT.pcap        a CA circuit to 10.0.0.1:5064 whose
                                      server resends a segment 5 times a
                                      second, and a PVA circuit to
                                      10.0.0.3:5075 whose client advertises
                                      a zero window 2 times a second, 20 s
    troublecap.py late OUT.pcap       beacons of a CA and PVA server for 10 s;
                                      a second server joins after 5 s
    troublecap.py jump OUT.pcap       25 s of a WRITE_NOTIFY every 0.5 s to
                                      CA servers 10.0.0.1:5064 and
                                      10.0.0.3:5064, completing in 800 us,
                                      and a PVA ECHO every 0.5 s to
                                      10.0.0.1:5075 and 10.0.0.3:5075,
                                      answered in 150 us; from 15 s on,
                                      10.0.0.1:5064's puts complete in
                                      100 ms and 10.0.0.3:5075's echoes take
                                      50 ms (jumps), the others stay steady

Frames are Ethernet + IPv4 + UDP (or TCP) on a private 10.0.0.0/24 network: clients
10.0.0.2 and 10.0.0.4, servers 10.0.0.1 and 10.0.0.3. Messages follow the
protocols as EPICS base and pvxs send them (Channel Access: caProto.h;
pvAccess: the little-endian message header, SEARCH and SEARCH_RESPONSE).
Each run writes the same bytes.
"""
import struct
import sys

T0 = 1_800_000_000.0
CLIENT, CLIENT2, SERVER, SERVER2 = "10.0.0.2", "10.0.0.4", "10.0.0.1", "10.0.0.3"
BROADCAST = "10.0.0.255"


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(src, sport, dst, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                      ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + hdr + udp


def tcp_frame(src, sport, dst, dport, seq, ack, flags, payload=b"", window=65535):
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, 20 + len(payload))
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, window, 0, 0) + payload
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                      ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + hdr + tcp


TCP_FIN, TCP_SYN, TCP_ACK = 0x01, 0x02, 0x10


class Circuit:
    """A TCP connection: handshake, segments, FINs; seq[0] is the client's"""
    def __init__(self, cap, client, cport, server, sport):
        self.cap, self.ends = cap, ((client, cport), (server, sport))
        self.seq = [1000, 900000]

    def seg(self, t, d, flags, payload=b"", seq=None, window=65535):
        (src, sp), (dst, dp) = self.ends[d], self.ends[1 - d]
        s = self.seq[d] if seq is None else seq
        self.cap.add(t, tcp_frame(src, sp, dst, dp, s, self.seq[1 - d], flags, payload, window))
        if seq is None:
            self.seq[d] += len(payload) + (1 if flags & (TCP_SYN | TCP_FIN) else 0)

    def open(self, t):
        self.seg(t, 0, TCP_SYN)
        self.seg(t + 0.00003, 1, TCP_SYN | TCP_ACK)
        self.seg(t + 0.00005, 0, TCP_ACK)

    def close(self, t):
        self.seg(t, 0, TCP_FIN | TCP_ACK)
        self.seg(t + 0.0001, 1, TCP_FIN | TCP_ACK)
        self.seg(t + 0.0002, 0, TCP_ACK)


class Pcap:
    """Frames are written in time order when the file is closed"""
    def __init__(self, path):
        self.path, self.frames = path, []

    def add(self, t, frame):
        self.frames.append((round(t * 1e6), len(self.frames), frame))

    def close(self):
        with open(self.path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for us, _, frame in sorted(self.frames):
                f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(frame), len(frame)) + frame)


# ---- Channel Access (big-endian 16-byte headers) ----
CA_VERSION, CA_SEARCH, CA_RSRV_IS_UP, CA_ECHO = 0, 6, 13, 23
CA_CREATE_CHAN, CA_WRITE_NOTIFY, CA_ACCESS_RIGHTS = 18, 19, 22
DBR_DOUBLE, ECA_NORMAL = 6, 1
CA_MINOR = 13
CA_DO_REPLY, CA_DONT_REPLY = 10, 5


def ca_msg(cmd, dtype, count, p1, p2, payload=b""):
    return struct.pack("!HHHHII", cmd, len(payload), dtype, count, p1, p2) + payload


def ca_padded(s):
    b = s.encode() + b"\0"
    return b + b"\0" * (-len(b) % 8)


def ca_search(names_cids):
    m = ca_msg(CA_VERSION, 0, CA_MINOR, 0, 0)
    for name, cid in names_cids:
        m += ca_msg(CA_SEARCH, CA_DONT_REPLY, CA_MINOR, cid, cid, ca_padded(name))
    return m


def ca_search_reply(port, cid):
    return ca_msg(CA_VERSION, 0, CA_MINOR, 0, 0) + \
        ca_msg(CA_SEARCH, port, 0, 0xFFFFFFFF, cid, struct.pack("!H", CA_MINOR) + b"\0" * 6)


def ca_beacon(seq, port, addr=0):
    # data type: protocol minor version, count: server port, p1: sequence,
    # p2: server address (0: the source address)
    return ca_msg(CA_RSRV_IS_UP, CA_MINOR, port, seq, addr)


# ---- pvAccess (little-endian; flags 0x40: from the server) ----
PVA_SEARCH, PVA_SEARCH_RESPONSE, PVA_BEACON, PVA_ECHO = 3, 4, 0, 2
PVA_SET_BYTE_ORDER = 2          # a control message (flags 0x01)


def pva_msg(cmd, from_server, payload):
    return struct.pack("<BBBBI", 0xCA, 2, 0x40 if from_server else 0, cmd, len(payload)) + payload


def pva_str(s):
    b = s.encode()
    return struct.pack("<B", len(b)) + b


def pva_addr(a):
    return b"\0" * 10 + b"\xff\xff" + ip4(a)


def pva_search(seq, names_cids, reply_port):
    p = struct.pack("<IB3x", seq, 0x81) + pva_addr("0.0.0.0") + struct.pack("<H", reply_port)
    p += struct.pack("<B", 1) + pva_str("tcp") + struct.pack("<H", len(names_cids))
    for name, cid in names_cids:
        p += struct.pack("<I", cid) + pva_str(name)
    return pva_msg(PVA_SEARCH, False, p)


def pva_search_response(guid, seq, server, port, cids):
    p = guid + struct.pack("<I", seq) + pva_addr(server) + struct.pack("<H", port)
    p += pva_str("tcp") + struct.pack("<BH", 1, len(cids)) + b"".join(struct.pack("<I", c) for c in cids)
    return pva_msg(PVA_SEARCH_RESPONSE, True, p)


def pva_beacon(guid, seq, server, port):
    p = guid + struct.pack("<BBH", 0, seq & 0xFF, 0) + pva_addr(server) + struct.pack("<H", port)
    return pva_msg(PVA_BEACON, True, p + pva_str("tcp") + b"\xff")


def beacons(cap, t, n):
    """CA and PVA beacons of both servers at t (n-th round)"""
    for k, (srv, guid) in enumerate(((SERVER, b"GUID-SERVER1"), (SERVER2, b"GUID-SERVER3"))):
        cap.add(t + 0.001 * k, udp_frame(srv, 5065, BROADCAST, 5065, ca_beacon(n, 5064)))
        cap.add(t + 0.002 + 0.001 * k, udp_frame(srv, 5076, BROADCAST, 5076, pva_beacon(guid, n, srv, 5075)))


def storm(path):
    """10 unanswered searches a second: client 10.0.0.2 asks for STORM:HOT1 and
    STORM:HOT2 four times each and STORM:COLD1 once, 10.0.0.4 for STORM:COLD2
    once; each request is a new transaction (a new cid), as from clients
    started again and again"""
    cap = Pcap(path)
    cid = 1
    plan = [(CLIENT, "STORM:HOT1")] * 4 + [(CLIENT, "STORM:HOT2")] * 4 + \
        [(CLIENT, "STORM:COLD1"), (CLIENT2, "STORM:COLD2")]
    for sec in range(30):
        t = T0 + sec
        beacons(cap, t, sec)
        for k, (client, name) in enumerate(plan):
            ts = t + 0.05 + 0.09 * k
            cap.add(ts, udp_frame(client, 40000, BROADCAST, 5064, ca_search([(name, cid)])))
            cap.add(ts + 0.01, udp_frame(client, 40001, BROADCAST, 5076,
                                         pva_search(cid, [(name, cid)], 40001)))
            cid += 1
    cap.close()


def late(path):
    """beacons of CA and PVA server 10.0.0.1 for 10 s; 10.0.0.3 joins after 5 s"""
    cap = Pcap(path)
    for sec in range(10):
        t = T0 + sec
        # as an IOC sends them: from a port of its own (5065 is the
        # repeater's, whose copies are not counted), naming its address
        cap.add(t, udp_frame(SERVER, 45001, BROADCAST, 5065, ca_beacon(sec, 5064, struct.unpack("!I", ip4(SERVER))[0])))
        cap.add(t + 0.001, udp_frame(SERVER, 5076, BROADCAST, 5076,
                                     pva_beacon(b"GUID-SERVER1", sec, SERVER, 5075)))
        if sec >= 5:
            cap.add(t + 0.002, udp_frame(SERVER2, 45003, BROADCAST, 5065,
                                         ca_beacon(sec - 5, 5064, struct.unpack("!I", ip4(SERVER2))[0])))
            cap.add(t + 0.003, udp_frame(SERVER2, 5076, BROADCAST, 5076,
                                         pva_beacon(b"GUID-SERVER3", sec - 5, SERVER2, 5075)))
    cap.close()


def duplicate(path):
    cap = Pcap(path)
    t = T0
    beacons(cap, t, 0)
    cap.add(t + 0.1, udp_frame(CLIENT, 40000, BROADCAST, 5064, ca_search([("DUP:CA", 1), ("ONE:CA", 2)])))
    cap.add(t + 0.101, udp_frame(SERVER, 5064, CLIENT, 40000, ca_search_reply(5064, 1)))
    cap.add(t + 0.102, udp_frame(SERVER2, 5064, CLIENT, 40000, ca_search_reply(5064, 1)))
    cap.add(t + 0.103, udp_frame(SERVER, 5064, CLIENT, 40000, ca_search_reply(5064, 2)))
    cap.add(t + 0.2, udp_frame(CLIENT2, 40001, BROADCAST, 5076,
                               pva_search(7, [("DUP:PVA", 11), ("ONE:PVA", 12)], 40001)))
    cap.add(t + 0.201, udp_frame(SERVER, 5076, CLIENT2, 40001,
                                 pva_search_response(b"GUID-SERVER1", 7, SERVER, 5075, [11, 12])))
    cap.add(t + 0.202, udp_frame(SERVER2, 5076, CLIENT2, 40001,
                                 pva_search_response(b"GUID-SERVER3", 7, SERVER2, 5075, [11])))
    for sec in range(1, 21):
        beacons(cap, t + sec, sec)
    cap.close()


def tcp(path):
    cap = Pcap(path)
    ca = Circuit(cap, CLIENT, 41000, SERVER, 5064)
    pva = Circuit(cap, CLIENT2, 41001, SERVER2, 5075)
    ca.open(T0)
    pva.open(T0 + 0.01)
    echo = ca_msg(CA_ECHO, 0, 0, 0, 0)
    pecho = struct.pack("<BBBBI", 0xCA, 2, 0x40, PVA_ECHO, 0)
    for k in range(200):            # 20 s, a segment from each server every 0.1 s
        t = T0 + 0.1 + 0.1 * k
        first = ca.seq[1]
        ca.seg(t, 1, TCP_ACK, echo)
        ca.seg(t + 0.001, 0, TCP_ACK)
        if k % 2:                   # resent: the peer's ACK was not seen in time
            ca.seg(t + 0.05, 1, TCP_ACK, echo, seq=first)
        pva.seg(t + 0.01, 1, TCP_ACK, pecho)
        # the client's buffer is full every 0.5 s, then opens again
        pva.seg(t + 0.011, 0, TCP_ACK, window=0 if k % 5 == 0 else 65535)
    ca.close(T0 + 20.5)
    pva.close(T0 + 20.6)
    cap.close()


JUMP_AT, JUMP_END, JUMP_EVERY = 15.0, 25.0, 0.5


def jump(path):
    """puts of a CA client and echoes of a PVA client, each to two servers,
    one of which slows down at JUMP_AT"""
    cap = Pcap(path)
    for k, (client, server, slow) in enumerate(((CLIENT, SERVER, True), (CLIENT2, SERVER2, False))):
        t = T0 + 0.01 * k
        ca = Circuit(cap, client, 42000 + k, server, 5064)
        ca.open(t)
        # as libca and rsrv begin a circuit: VERSION both ways, then the
        # channel (CREATE_CHAN, ACCESS_RIGHTS and the reply giving the sid)
        ca.seg(t + 0.001, 0, TCP_ACK, ca_msg(CA_VERSION, 0, CA_MINOR, 0, 0) +
               ca_msg(CA_CREATE_CHAN, 0, 0, 1, CA_MINOR, ca_padded(f"JUMP:{k}:SETPOINT")))
        ca.seg(t + 0.0012, 1, TCP_ACK, ca_msg(CA_VERSION, 0, CA_MINOR, 0, 0) +
               ca_msg(CA_ACCESS_RIGHTS, 0, 0, 1, 3) + ca_msg(CA_CREATE_CHAN, DBR_DOUBLE, 1, 1, 100 + k))
        ioid = 1
        t += JUMP_EVERY
        while t < T0 + JUMP_END:
            ca.seg(t, 0, TCP_ACK, ca_msg(CA_WRITE_NOTIFY, DBR_DOUBLE, 1, 100 + k, ioid,
                                         struct.pack("!d", ioid * 0.5)))
            late = slow and t >= T0 + JUMP_AT
            ca.seg(t + (0.1 if late else 0.0008), 1, TCP_ACK,
                   ca_msg(CA_WRITE_NOTIFY, DBR_DOUBLE, 1, ECA_NORMAL, ioid))
            ioid += 1
            t += JUMP_EVERY
        ca.close(t)
    for k, (client, server, slow) in enumerate(((CLIENT, SERVER, False), (CLIENT2, SERVER2, True))):
        t = T0 + 0.02 + 0.01 * k
        pva = Circuit(cap, client, 43000 + k, server, 5075)
        pva.open(t)
        # the server's first message: its byte order (little-endian)
        pva.seg(t + 0.001, 1, TCP_ACK, struct.pack("<BBBBI", 0xCA, 2, 0x41, PVA_SET_BYTE_ORDER, 0))
        t += JUMP_EVERY + 0.1
        while t < T0 + JUMP_END:
            pva.seg(t, 0, TCP_ACK, pva_msg(PVA_ECHO, False, b"ping"))
            late = slow and t >= T0 + JUMP_AT
            pva.seg(t + (0.05 if late else 0.00015), 1, TCP_ACK, pva_msg(PVA_ECHO, True, b"ping"))
            t += JUMP_EVERY
        pva.close(t)
    cap.close()


if __name__ == "__main__":
    scenarios = {"storm": storm, "duplicate": duplicate, "tcp": tcp, "late": late, "jump": jump}
    if len(sys.argv) != 3 or sys.argv[1] not in scenarios:
        sys.exit(__doc__)
    scenarios[sys.argv[1]](sys.argv[2])
