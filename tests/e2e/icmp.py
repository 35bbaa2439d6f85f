#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""icmp.py DST TYPE [--timeout S]: send one ICMP (IPv4 DST) or ICMPv6 (IPv6
DST) message of TYPE, code 0, over a raw socket, and print "reply N" for the
answer from DST (echo-request 8/128 -> 0/129, timestamp-request 13 -> 14),
or "timeout". For tests: ping without iputils."""
import argparse
import os
import select
import socket
import struct
import time

REPLY = {8: 0, 13: 14, 128: 129}


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dst")
    ap.add_argument("type", type=int)
    ap.add_argument("--timeout", type=float, default=3.0)
    a = ap.parse_args()
    v6 = ":" in a.dst
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    body = struct.pack("!HH", ident, 1) + (b"\0" * 12 if a.type == 13 else b"fwd-e2e")
    msg = struct.pack("!BBH", a.type, 0, 0) + body
    if not v6:  # the kernel sums ICMPv6 itself
        msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
    s.sendto(msg, (a.dst, 0))
    want = REPLY.get(a.type)
    end = time.monotonic() + a.timeout
    while time.monotonic() < end:
        if not select.select([s], [], [], max(0.0, end - time.monotonic()))[0]:
            break
        data, addr = s.recvfrom(2048)
        if not v6:
            data = data[(data[0] & 15) * 4:]
        if addr[0] != socket.inet_ntop(fam, socket.inet_pton(fam, a.dst)) or len(data) < 8:
            continue
        t, = struct.unpack("!B", data[:1])
        if t == want and struct.unpack("!H", data[4:6])[0] == ident:
            print("reply %d" % t)
            return
    print("timeout")


if __name__ == "__main__":
    main()
