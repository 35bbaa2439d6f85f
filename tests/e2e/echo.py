#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Echo servers for fwd's end-to-end tests; runs in the server namespace.

Every TCP connection gets the banner "fwd-e2e tcp PORT" and is closed; every
UDP datagram gets "fwd-e2e udp PORT" back. Each arrival is appended to the
events file ("tcp PORT PEER" / "udp PORT PEER"), so a test can prove that a
packet fwd dropped never reached the server, not only that no answer came.

A UDP sink port (--sink) answers nothing: it counts datagrams and distinct
sequence numbers ("seq N" payloads) and rewrites --status with
"received R unique U" every 100 ms.

The file given with --ready is created once every socket is bound.
"""
import argparse
import os
import selectors
import signal
import socket
import sys
import time


def ports(text):
    return [int(p) for p in text.split(",") if p]


def listeners(kind, port, addrs):
    socks = []
    for fam, addr in addrs:
        s = socket.socket(fam, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
        if kind == socket.SOCK_STREAM:
            s.listen(128)
        s.setblocking(False)
        socks.append(s)
    return socks


def write_status(path, received, seqs):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("received %d unique %d\n" % (received, len(seqs)))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tcp", type=ports, default=[])
    ap.add_argument("--udp", type=ports, default=[])
    ap.add_argument("--sink", type=int, default=0)
    ap.add_argument("--status", default="")
    ap.add_argument("--events", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--addr4", default="0.0.0.0")
    ap.add_argument("--addr6", default="::")
    a = ap.parse_args()

    addrs = [(socket.AF_INET, a.addr4), (socket.AF_INET6, a.addr6)]
    sel = selectors.DefaultSelector()
    for p in a.tcp:
        for s in listeners(socket.SOCK_STREAM, p, addrs):
            sel.register(s, selectors.EVENT_READ, ("tcp", p))
    for p in a.udp:
        for s in listeners(socket.SOCK_DGRAM, p, addrs):
            sel.register(s, selectors.EVENT_READ, ("udp", p))
    if a.sink:
        for s in listeners(socket.SOCK_DGRAM, a.sink, addrs):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sel.register(s, selectors.EVENT_READ, ("sink", a.sink))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    events = open(a.events, "a", buffering=1)
    open(a.ready, "w").close()
    received, seqs, last = 0, set(), 0.0
    while True:
        for key, _ in sel.select(0.1):
            kind, port = key.data
            s = key.fileobj
            if kind == "tcp":
                try:
                    c, peer = s.accept()
                except OSError:
                    continue
                events.write("tcp %d %s\n" % (port, peer[0]))
                try:
                    c.sendall(b"fwd-e2e tcp %d\n" % port)
                except OSError:
                    pass
                c.close()
            elif kind == "udp":
                try:
                    data, peer = s.recvfrom(65535)
                except OSError:
                    continue
                events.write("udp %d %s\n" % (port, peer[0]))
                try:
                    s.sendto(b"fwd-e2e udp %d\n" % port, peer)
                except OSError:
                    pass
            else:
                while True:
                    try:
                        data = s.recv(2048)
                    except BlockingIOError:
                        break
                    received += 1
                    if data.startswith(b"seq "):
                        seqs.add(data[4:].strip())
        now = time.monotonic()
        if a.status and now - last >= 0.1:
            write_status(a.status, received, seqs)
            last = now


if __name__ == "__main__":
    main()
