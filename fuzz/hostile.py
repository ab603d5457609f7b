#!/usr/bin/env python3
"""Writes the hand-made hostile inputs of tests/regression/<target>/hostile-*, in the
input layouts of probewatch::fuzzing (see src/fuzzing.rs). Run from the repo root."""
import os
import struct

R = "tests/regression"


def write(target, name, data):
    os.makedirs(f"{R}/{target}", exist_ok=True)
    with open(f"{R}/{target}/hostile-{name}", "wb") as f:
        f.write(data)


def record(sel, body):
    return bytes([sel]) + struct.pack(">H", len(body)) + body


def dns_header(qd=1, an=0):
    return struct.pack(">HHHHHH", 0x1234, 0x8180, qd, an, 0, 0)


# DNS: a name that points at itself, and two names pointing at each other.
write("dns", "compression-self-loop", dns_header() + b"\xc0\x0c" + b"\x00\x01\x00\x01")
write("dns", "compression-two-loop",
      dns_header(1, 1) + b"\x01a\xc0\x12\x00\x01\x00\x01" + b"\x01b\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x10\x00\x04\x01\x02\x03\x04")
# 65535 questions claimed in a 12-byte message.
write("dns", "count-65535", struct.pack(">HHHHHH", 1, 0x0100, 0xffff, 0xffff, 0xffff, 0xffff))

# TLS: a handshake message claiming 16 MB, a record of 65535 bytes, and a Certificate
# whose certificate_list length is 2^24-1 (TLS 1.2 and 1.3 forms).
write("tls", "handshake-16mb", b"\x16\x03\x01\x00\x04" + b"\x01\xff\xff\xff")
write("tls", "record-65535", b"\x16\x03\x03\xff\xff" + b"\x01\x00\x00\x10" + b"\x00" * 16)
cert12 = b"\x0b" + (10).to_bytes(3, "big") + b"\xff\xff\xff" + b"\xff\xff\xff" + b"\x30\x82\xff\xff"
write("tls", "chain-len-2-24", b"\x16\x03\x03" + struct.pack(">H", len(cert12)) + cert12)
cert13 = b"\x0b" + (12).to_bytes(3, "big") + b"\x00" + b"\xff\xff\xff" + b"\xff\xff\xff" + b"\x30\x82\x01\x00\x00"
write("tls", "chain-len-2-24-tls13", b"\x16\x03\x03" + struct.pack(">H", len(cert13)) + cert13)
# A certificate whose outer SEQUENCE claims 2^32-1 bytes.
write("cert", "der-length-4g", b"\x30\x84\xff\xff\xff\xff\x30\x00")

# QUIC: sealed client Initials with CRYPTO offsets near 2^62 (the largest varint).
def varint8(v):
    return struct.pack(">Q", v | (0xC0 << 56))


big = (1 << 62) - 1
write("quic", "crypto-offset-2-62", record(2, b"\x06" + varint8(big) + b"\x04abcd" + b"\x00" * 20))
write("quic", "crypto-offset-2-62-minus", record(2, b"\x06" + varint8(big - 2) + b"\x02ab" + b"\x00" * 20)
      + record(2, b"\x06\x00\x04\x01\xff\xff\xff" + b"\x00" * 20))
# An ACK frame claiming 2^62-1 ranges.
write("quic", "ack-ranges-2-62", record(2, b"\x02\x00\x00" + varint8(big) + b"\x00" + b"\x00" * 20))

# HTTP: a chunk size of 2^64-1 and a content length of 2^64-1.
write("http", "chunk-size-max", b"ffffffffffffffff\r\n")
write("http", "content-length-max", b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n")

# Pipeline: the DNS compression loop as a raw IPv4/UDP packet to port 53 (link 101).
dns = dns_header() + b"\xc0\x0c" + b"\x00\x01\x00\x01"
udp = struct.pack(">HHHH", 5353, 53, 8 + len(dns), 0) + dns
ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
write("pipeline", "dns-compression-loop", record(3, ip))


# Reassembly: sequence numbers that wrap inside the first segment, overlapping and
# duplicate copies, a hole, an ACK past the hole, a FIN, and a RST (layout: 8 bytes of
# initial sequence numbers, then 10-byte records ctl, op, seq u32, ack u16, len, tail).
def seg(ctl, rel, length, op=1, ack=0, tail=0):
    return bytes([ctl, op]) + struct.pack(">IHBB", rel, ack, length, tail)


wrap = struct.pack(">II", 0xFFFFFFF0, 0x7FFFFFFF)
wrap += seg(0x02, 0, 0)                      # SYN
wrap += seg(0x07, 0, 0, ack=1)               # SYN-ACK
wrap += seg(0x04, 1, 200, ack=1)             # bytes 0..200, across the wrap
wrap += seg(0x04, 51, 200, ack=1)            # overlap
wrap += seg(0x04, 1, 200, ack=1)             # duplicate
wrap += seg(0x04, 600, 100, ack=1)           # after a hole
wrap += seg(0x05, 1, 0, ack=700)             # the server acknowledges past the hole
wrap += seg(0x04, 300, 255, ack=1, tail=0x40 | 20)  # late, snaplen-cut, into the gap
wrap += seg(0x0C, 700, 10, ack=1)            # FIN
wrap += seg(0x11, 1, 0, op=0x11)             # RST, then expiry
write("reassemble", "seq-wrap-overlap-hole", wrap)

# Decode: five tunnels deep (IPv4 in GRE in IPv4 ...), an IPv4 header whose IHL is past
# the packet, and an IPv6 fragment chain that overlaps itself.
def ipv4(proto, payload, ihl=5, total=None, frag=0, ident=1):
    total = 20 + len(payload) if total is None else total
    return struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, total, ident, frag, 64, proto, 0,
                       bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + payload


inner = ipv4(17, struct.pack(">HHHH", 1000, 53, 8 + len(dns), 0) + dns)
for _ in range(6):
    inner = ipv4(47, b"\x00\x00\x08\x00" + inner)
frags = b""
body = struct.pack(">HHHH", 1000, 53, 8 + 64, 0) + b"A" * 64
frags += record(3, ipv4(17, body[:32], frag=0x2000, ident=7))
frags += record(3, ipv4(17, body[16:48], frag=0x2000 | 2, ident=7))
frags += record(3, ipv4(17, body[8:], frag=1, ident=7))
write("decode", "tunnels-and-fragments", record(3, inner) + record(3, ipv4(6, b"", ihl=15))
      + frags)
