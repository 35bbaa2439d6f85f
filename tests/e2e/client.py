#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Clients for fwd's end-to-end tests; run in the client namespace.

  client.py tcp HOST PORT [--timeout S] [--sport N] [--src ADDR]
  client.py udp HOST PORT [--timeout S] [--sport N] [--src ADDR]
      Print the server's answer (first line) and exit 0; print "timeout"
      and exit 3 when nothing came back in time, "refused" and exit 4 on a
      reset or ICMP unreachable, "error: ..." and exit 5 otherwise.
  client.py flood HOST PORT COUNT RATE
      Send COUNT UDP datagrams "seq N" at RATE per second; print "sent N".
  client.py connects HOST PORT COUNT [--timeout S] [--within S]
      COUNT TCP connection attempts one after another, each given --timeout
      seconds, none started after --within seconds (default: no limit);
      print how many were established.
"""
import argparse
import socket
import sys
import time


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bind_sport(s, host, sport, src=None):
    if sport or src:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        any_addr = "::" if family(host) == socket.AF_INET6 else "0.0.0.0"
        s.bind((src or any_addr, sport))


def tcp(a):
    s = socket.socket(family(a.host), socket.SOCK_STREAM)
    bind_sport(s, a.host, a.sport, a.src)
    s.settimeout(a.timeout)
    s.connect((a.host, a.port))
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(256)
        if not chunk:
            break
        data += chunk
    return data


def udp(a):
    s = socket.socket(family(a.host), socket.SOCK_DGRAM)
    bind_sport(s, a.host, a.sport, a.src)
    s.settimeout(a.timeout)
    s.connect((a.host, a.port))
    s.send(b"hello fwd\n")
    return s.recv(256)


def flood(a):
    s = socket.socket(family(a.host), socket.SOCK_DGRAM)
    s.connect((a.host, a.port))
    start = time.monotonic()
    sent = errors = 0
    for i in range(a.count):
        due = start + i / a.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            s.send(b"seq %d\n" % i)
            sent += 1
        except OSError:
            errors += 1
    print("sent %d errors %d" % (sent, errors))
    return 0 if errors == 0 else 1


def connects(a):
    end = time.monotonic() + a.within if a.within else None
    ok = 0
    for _ in range(a.count):
        if end is not None and time.monotonic() > end:
            break
        s = socket.socket(family(a.host), socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        try:
            s.connect((a.host, a.port))
            ok += 1
        except OSError:
            pass
        s.close()
    print(ok)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["tcp", "udp", "flood", "connects"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int, nargs="?", default=0)
    ap.add_argument("rate", type=float, nargs="?", default=1000.0)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--sport", type=int, default=0)
    ap.add_argument("--src", default=None)
    ap.add_argument("--within", type=float, default=0.0)
    a = ap.parse_args()
    if a.mode == "flood":
        return flood(a)
    if a.mode == "connects":
        return connects(a)
    try:
        data = tcp(a) if a.mode == "tcp" else udp(a)
    except socket.timeout:
        print("timeout")
        return 3
    except (ConnectionRefusedError, ConnectionResetError):
        print("refused")
        return 4
    except OSError as e:
        print("error: %s" % e)
        return 5
    print(data.decode(errors="replace").strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
