#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Send malformed packets from the client namespace (scapy).

  craft.py --iface veth-c --gw-mac MAC [CASE...]

With CASEs (CASE, or CASE*N for N copies) it sends them and exits; without,
it reads one CASE per line on stdin and answers "sent CASE" after each (so a
test can read fwd's counters between packets without paying scapy's
start-up time again); "list" prints the cases. Frames are sent with sendp()
straight onto the client's veth towards the gateway's MAC, so the client's
own IP stack cannot fix or refuse them. Every packet goes to port 7001, which the test's rules allow:
a packet fwd misparsed as ordinary TCP/UDP would be let through and seen at
the server.
"""
import argparse
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (IP, TCP, UDP, Ether, IPv6, IPv6ExtHdrDestOpt,  # noqa: E402
                       IPv6ExtHdrFragment, Raw, conf, sendp)

C4, S4 = "10.10.1.2", "10.10.2.2"
C6, S6 = "fd00:1::2", "fd00:2::2"
PORT = 7001
MARK = b"FWDMAL"


def tcp_doff(ip):
    # Data offset 4: the header claims to be shorter than the fixed 20 bytes.
    return ip / TCP(sport=40001, dport=PORT, flags="S", dataofs=4) / Raw(MARK)


def udp_len(ip, delta):
    # len 0 (below the 8-byte header) or longer than the datagram.
    n = 0 if delta is None else 8 + len(MARK) + delta
    return ip / UDP(sport=40002, dport=PORT, len=n) / Raw(MARK)


def frag_tiny4():
    # First fragment (MF, offset 0) carrying only 2 bytes of TCP: half the
    # port fields. IPv4 fragment data should be a multiple of 8; this one is
    # what an attacker sends to hide the destination port.
    return IP(src=C4, dst=S4, proto=6, flags="MF", frag=0, id=0xF0D) / Raw(b"\x9c\x41")


def frag_tiny6():
    # The same for IPv6: a first fragment whose TCP header is cut after 2
    # bytes (RFC 7112: the first fragment must hold the whole header chain).
    return (IPv6(src=C6, dst=S6) / IPv6ExtHdrFragment(nh=6, offset=0, m=1, id=0xF0D)
            / Raw(b"\x9c\x41"))


def long_chain6():
    # 100 empty destination-options headers (8 bytes each, length field 0)
    # before UDP: a bounded walker must give up; one that trusts the chain
    # finds UDP port 7001 and allows it.
    pkt = IPv6(src=C6, dst=S6)
    for _ in range(100):
        pkt = pkt / IPv6ExtHdrDestOpt()
    return pkt / UDP(sport=40003, dport=PORT) / Raw(MARK)


CASES = {
    "tcp-doff-4": lambda: tcp_doff(IP(src=C4, dst=S4)),
    "tcp-doff-6": lambda: tcp_doff(IPv6(src=C6, dst=S6)),
    "udp-len0-4": lambda: udp_len(IP(src=C4, dst=S4), None),
    "udp-lenbig-4": lambda: udp_len(IP(src=C4, dst=S4), 100),
    "udp-len0-6": lambda: udp_len(IPv6(src=C6, dst=S6), None),
    "udp-lenbig-6": lambda: udp_len(IPv6(src=C6, dst=S6), 100),
    "frag-tiny-4": frag_tiny4,
    "frag-tiny-6": frag_tiny6,
    "long-chain-6": long_chain6,
}


def send(a, spec):
    # "CASE" sends one packet, "CASE*N" sends N.
    name, _, count = spec.partition("*")
    if name not in CASES or (count and not count.isdigit()):
        return "unknown %s" % spec
    frame = Ether(dst=a.gw_mac) / CASES[name]()
    sendp(frame, iface=a.iface, count=int(count or 1), verbose=False)
    return "sent %s" % spec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--gw-mac", required=True)
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    conf.verb = 0
    if a.cases:
        for c in a.cases:
            print(send(a, c), flush=True)
        return 0
    for line in sys.stdin:
        name = line.strip()
        if name == "list":
            print(" ".join(CASES), flush=True)
        elif name:
            print(send(a, name), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
