#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Count the client's packets that reach an interface (no tcpdump needed).

  sniff.py IFACE EVENTS READY SRC...

Listens on IFACE with an AF_PACKET socket, so it sees a frame before the
receiving kernel validates it: a malformed packet fwd wrongly let through is
seen here even though the server's TCP/UDP stack would discard it. Every
incoming IPv4/IPv6 frame whose source address is one of SRC is appended to
EVENTS as "v4|v6 proto=P len=L"; IPv6 neighbour discovery is ignored.
READY is created once the socket is bound.
"""
import socket
import sys

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
ND_TYPES = range(133, 138)


def describe(frame, srcs):
    ethertype = int.from_bytes(frame[12:14], "big")
    ip = frame[14:]
    if ethertype == 0x0800 and len(ip) >= 20:
        if socket.inet_ntop(socket.AF_INET, ip[12:16]) in srcs:
            return "v4 proto=%d len=%d" % (ip[9], len(ip))
    elif ethertype == 0x86DD and len(ip) >= 40:
        if socket.inet_ntop(socket.AF_INET6, ip[8:24]) not in srcs:
            return None
        if ip[6] == 58 and len(ip) > 40 and ip[40] in ND_TYPES:
            return None
        return "v6 nh=%d len=%d" % (ip[6], len(ip))
    return None


def main():
    iface, events, ready = sys.argv[1:4]
    srcs = set(sys.argv[4:])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    out = open(events, "a", buffering=1)
    open(ready, "w").close()
    while True:
        frame, addr = s.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:
            continue
        line = describe(frame, srcs)
        if line:
            out.write(line + "\n")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
