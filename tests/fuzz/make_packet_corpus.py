#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz_packet.c into tests/fuzz/corpus/packet/.

Each file is two bytes of lengths and then a packet (see fuzz_packet.c):
byte 0 = bytes the copy range cut off the end, byte 1 = extra wire length
in 256-byte steps. Run from anywhere: /usr/bin/python3 make_packet_corpus.py
"""
import os
import sys

from scapy.all import (AH, ESP, ICMP, IP, TCP, UDP, ICMPv6DestUnreach,
                       ICMPv6EchoRequest, IPOption_NOP, IPOption_RR, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw, fragment,
                       fragment6)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "packet")
S4, D4 = "192.0.2.1", "198.51.100.7"
S6, D6 = "2001:db8::1", "2001:db8::2"


def seed(name, pkt, cut=0, extra=0):
    data = bytes(pkt)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([cut, extra]) + data)


def v4_seeds():
    seed("v4-tcp-syn", IP(src=S4, dst=D4) / TCP(sport=51515, dport=22, flags="S"))
    seed("v4-options-tcp", IP(src=S4, dst=D4, options=[IPOption_RR(routers=["0.0.0.0"] * 3),
                                                       IPOption_NOP()])
         / TCP(sport=1000, dport=443, options=[("MSS", 1460), ("SAckOK", b"")]))
    seed("v4-udp-dns", IP(src=S4, dst=D4) / UDP(sport=5353, dport=53) / Raw(b"\x12\x34" * 6))
    seed("v4-icmp-echo", IP(src=S4, dst=D4) / ICMP(type=8) / Raw(b"ping"))
    seed("v4-icmp-error", IP(src=D4, dst=S4) / ICMP(type=3, code=4, nexthopmtu=1400)
         / IP(src=S4, dst=D4) / UDP(sport=4000, dport=53))
    seed("v4-gre", IP(src=S4, dst=D4, proto=47) / Raw(b"\x00\x00\x08\x00"))
    frags = fragment(IP(src=S4, dst=D4) / UDP(sport=500, dport=4500) / Raw(b"x" * 200),
                     fragsize=64)
    seed("v4-frag-first", frags[0])
    seed("v4-frag-later", frags[1])
    tiny = IP(src=S4, dst=D4, flags="MF", proto=6) / Raw(bytes(TCP(sport=1, dport=2))[:8])
    seed("v4-frag-tiny-tcp", tiny)
    tcp = IP(src=S4, dst=D4) / TCP(sport=40000, dport=80, flags="A") / Raw(b"y" * 40)
    seed("v4-tcp-copy-cut", tcp, cut=len(tcp) - 30)
    gso = bytearray(bytes(IP(src=S4, dst=D4) / TCP(sport=40000, dport=80, flags="A")
                          / Raw(b"g" * 300)))
    gso[2:4] = b"\x00\x00"               # BIG TCP: total length 0, wire > 64k
    seed("v4-gso-totlen0", bytes(gso), extra=0xff)


def v6_seeds():
    seed("v6-tcp-syn", IPv6(src=S6, dst=D6) / TCP(sport=40000, dport=443, flags="S"))
    chain = (IPv6(src=S6, dst=D6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
             / IPv6ExtHdrRouting(addresses=["2001:db8::9"])
             / IPv6ExtHdrFragment(offset=0, m=0, id=7)
             / AH(nh=60, payloadlen=4, spi=1, seq=1, icv=b"\x00" * 12) / IPv6ExtHdrDestOpt()
             / TCP(sport=8080, dport=9090, flags="S"))
    seed("v6-chain-tcp", chain)
    seed("v6-chain-copy-cut", chain, cut=len(chain) - 60)
    big = IPv6(src=S6, dst=D6) / IPv6ExtHdrFragment() / UDP(sport=547, dport=546) / Raw(b"z" * 300)
    frags = fragment6(big, 120)
    seed("v6-frag-first", frags[0])
    seed("v6-frag-later", frags[1])
    tiny = (IPv6(src=S6, dst=D6) / IPv6ExtHdrFragment(m=1, nh=6)
            / Raw(bytes(TCP(sport=1, dport=2))[:10]))
    seed("v6-frag-tiny-tcp", tiny)
    seed("v6-esp", IPv6(src=S6, dst=D6) / ESP(spi=42, seq=1, data=b"\x00" * 16))
    seed("v6-no-next", IPv6(src=S6, dst=D6, nh=59))
    seed("v6-icmp-echo", IPv6(src=S6, dst=D6) / ICMPv6EchoRequest(id=1, seq=1))
    seed("v6-icmp-error", IPv6(src=D6, dst=S6) / ICMPv6DestUnreach(code=1)
         / IPv6(src=S6, dst=D6) / UDP(sport=4000, dport=53))
    udp = IPv6(src=S6, dst=D6) / UDP(sport=1, dport=2) / Raw(b"q" * 8)
    seed("v6-udp-truncated", bytes(udp)[:45])
    seed("v6-udp-copy-cut", udp, cut=len(udp) - 45)


def main():
    os.makedirs(OUT, exist_ok=True)
    v4_seeds()
    v6_seeds()
    print("wrote %d seeds to %s" % (len(os.listdir(OUT)), OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
