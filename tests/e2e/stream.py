#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Long-lived TCP streams: across a failover (test_ha.sh), across a block
(test_recheck.sh).

  stream.py serve --ready FILE PORT...
      echo every line back, on each PORT (IPv4 and IPv6), for as long as
      the peer stays.

  stream.py stream --out FILE --stop FILE [--probe HOST:PORT] [--wake FILE]
                     NAME=HOST:PORT...
      one connection per NAME; every --interval seconds send "NAME SEQ" and
      wait for its echo. HOST:PORT may end in "/SRC", the local address to
      connect from; an IPv6 HOST is written in brackets. Lines appended to
      --out (times in ms since the epoch):
        up NAME SPORT T          connected, from local port SPORT
        data NAME SEQ T          the echo of SEQ arrived
        error NAME TEXT T        the connection failed (a reset, a close)
        probe-open HOST:PORT T   the --probe port accepted a connection
      The --probe port is tried every 0.3 s (it must stay closed). A NAME
      that starts with "idle" sends one line, then waits for the --wake file
      before it goes on. Runs until the --stop file exists.
"""
import os
import socket
import sys
import threading
import time


def now_ms():
    return int(time.time() * 1000)


class Out:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def put(self, *words):
        with self.lock:
            self.f.write(" ".join(str(w) for w in words + (now_ms(),)) + "\n")


def echo(conn):
    with conn:
        while True:
            try:
                b = conn.recv(4096)
            except OSError:
                return
            if not b:
                return
            conn.sendall(b)


def listener(port):
    """Both families on one socket where the namespace has IPv6, else IPv4."""
    try:
        s = socket.socket(socket.AF_INET6)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        addr = "::"
    except OSError:
        s, addr = socket.socket(), "0.0.0.0"
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    return s


def serve(args):
    ready, ports = args[1], [int(p) for p in args[2:]]
    for p in ports:
        s = listener(p)
        s.listen(16)
        threading.Thread(target=accept, args=(s,), daemon=True).start()
    open(ready, "w").close()
    while True:
        time.sleep(3600)


def accept(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def hostport(text):
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)


def target_src(text):
    """HOST:PORT[/SRC] -> ((HOST, PORT), (SRC, 0) or None)"""
    hp, _, src = text.partition("/")
    return hostport(hp), (src, 0) if src else None


def stream(out, stop, name, target, interval, wake):
    target, src = target_src(target)
    try:
        s = socket.create_connection(target, timeout=5, source_address=src)
    except OSError as e:
        out.put("error", name, "connect:" + type(e).__name__)
        return
    s.settimeout(0.2)
    out.put("up", name, s.getsockname()[1])
    seq, buf = 0, b""
    while not os.path.exists(stop):
        try:
            s.sendall(b"%s %d\n" % (name.encode(), seq))
            while b"\n" not in buf:
                try:
                    b = s.recv(4096)
                except socket.timeout:
                    if os.path.exists(stop):
                        return
                    continue
                if not b:
                    raise ConnectionError("closed")
                buf += b
        except OSError as e:
            out.put("error", name, type(e).__name__)
            return
        line, buf = buf.split(b"\n", 1)
        if line.split()[-1] != str(seq).encode():
            out.put("error", name, "out-of-order")
            return
        out.put("data", name, seq)
        seq += 1
        time.sleep(interval)
        while name.startswith("idle") and not os.path.exists(wake or stop):
            time.sleep(0.05)


def probe(out, stop, target):
    while not os.path.exists(stop):
        try:
            socket.create_connection(target, timeout=0.25).close()
            out.put("probe-open", "%s:%d" % target)
        except OSError:
            pass
        time.sleep(0.3)


def main():
    a = sys.argv[1:]
    if a and a[0] == "serve" and len(a) >= 3 and a[1] == "--ready":
        return serve(a[1:])
    opts = {"--out": None, "--stop": None, "--probe": None, "--interval": "0.05", "--wake": None}
    names = []
    i = 1
    while i < len(a):
        if a[i] in opts and i + 1 < len(a):
            opts[a[i]] = a[i + 1]
            i += 2
        else:
            names.append(a[i])
            i += 1
    if not a or a[0] != "stream" or not opts["--out"] or not opts["--stop"] or not names:
        sys.exit(__doc__)
    out, stop = Out(opts["--out"]), opts["--stop"]
    ts = []
    for n in names:
        name, target = n.split("=", 1)
        ts.append(threading.Thread(target=stream,
                                   args=(out, stop, name, target, float(opts["--interval"]),
                                         opts["--wake"])))
    if opts["--probe"]:
        ts.append(threading.Thread(target=probe, args=(out, stop, hostport(opts["--probe"])),
                                   daemon=True))
    for t in ts:
        t.start()
    for t in ts:
        t.join()


if __name__ == "__main__":
    main()
