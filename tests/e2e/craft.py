#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Send malformed packets from the client namespace (scapy).

  craft.py --iface veth-c --gw-mac MAC [CASE...]

With CASEs (CASE, or CASE*N for N copies) it sends them and exits; without,
it reads one CASE per line on stdin and answers "sent CASE" after each (so a
test can read fwd's counters between packets without paying scapy's
start-up time again); "list" prints the cases. Frames are sent with sendp()
straight onto the client's veth towards the gateway's MAC, so the client's
own IP stack cannot fix or refuse them. The malformed cases go to port
7001, which test_malformed's rules allow: a packet fwd misparsed as ordinary
TCP/UDP would be let through and seen at the server. The evasion cases
(test_evasion.sh) are fragment sequences, sent in order: overlapping
fragments, a split TCP header or header chain, each carrying a SYN to 2323
(dropped by a rule) disguised or hidden behind 2222 (allowed).
"""
import argparse
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (IP, TCP, UDP, Ether, IPv6, IPv6ExtHdrDestOpt,  # noqa: E402
                       IPv6ExtHdrFragment, PadN, Raw, conf, sendp)

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


# --- evasion (test_evasion.sh): the rules allow tcp 2222 and drop tcp 2323 ---
#
# Each case is a list of fragments of one TCP SYN with 16 bytes of data
# (36 bytes of TCP). The segments carry a valid checksum for their own
# destination port, so whatever a receiver reassembles is a well-formed SYN.
ALLOWED, DENIED = 2222, 2323
ID_BASE = 0	# --frag-id: keeps runs apart in the receivers' reassembly queues


def segment(family, dport, chain=None):
    # The TCP segment's bytes as they follow the IP header (and CHAIN, an
    # extension header placed before TCP), checksum computed for dport.
    tcp = TCP(sport=40010, dport=dport, flags="S", seq=1000) / Raw(b"EVASION-%d...." % dport)
    if family == 4:
        return bytes(IP(src=C4, dst=S4) / tcp)[20:]
    ip = IPv6(src=C6, dst=S6)
    return bytes(ip / chain / tcp if chain is not None else ip / tcp)[40:]


def frags(family, parts, fid, proto=6):
    # parts: (offset in bytes, data, more fragments) in sending order.
    out = []
    fid += ID_BASE
    for off, data, mf in parts:
        if family == 4:
            out.append(IP(src=C4, dst=S4, proto=proto, id=fid, frag=off // 8,
                          flags="MF" if mf else 0) / Raw(data))
        else:
            out.append(IPv6(src=C6, dst=S6)
                       / IPv6ExtHdrFragment(nh=proto, offset=off // 8, m=int(mf), id=fid)
                       / Raw(data))
    return out


def overlap(family):
    # Ptacek-Newsham: a first fragment with the whole TCP header, dport
    # 2222, then a second fragment at offset 0 (the only offset that reaches
    # the port fields, bytes 2-3) with dport 2323, then the tail. A
    # reassembler that lets the later copy win delivers a SYN to 2323; a
    # filter that judged only the first copy would have let it in.
    good, bad = segment(family, ALLOWED), segment(family, DENIED)
    return frags(family, [(0, good[:24], True), (0, bad[:24], True),
                          (24, bad[24:], False)], 0xE01)


def overlap_late(family):
    # The overlap at offset 8: the second fragment rewrites the rest of the
    # TCP header (sequence number on, data offset, flags) but cannot reach
    # the ports; fwd sees only a non-first fragment.
    good, bad = segment(family, ALLOWED), segment(family, DENIED)
    return frags(family, [(0, good[:24], True), (8, bad[8:24], True),
                          (24, bad[24:], False)], 0xE02)


def tiny_split(family):
    # The TCP header of a SYN to 2323 split across two fragments: the first
    # holds 8 bytes (ports, sequence number), the flags come later (RFC 1858).
    bad = segment(family, DENIED)
    return frags(family, [(0, bad[:8], True), (8, bad[8:], False)], 0xE03)


def frag_ok(family):
    # Control: an ordinary fragmented SYN to 2222, first fragment with the
    # whole TCP header.
    good = segment(family, ALLOWED)
    return frags(family, [(0, good[:24], True), (24, good[24:], False)], 0xE04)


def chain_copy6():
    # An unfragmented SYN to 2323 behind a 224-byte destination-options
    # header: the chain goes past fwd's copy range (256 bytes of packet), so
    # fwd cannot see the TCP header at all (RFC 7112's concern, without
    # fragmentation).
    opts = IPv6ExtHdrDestOpt(nh=6, len=27, autopad=0, options=[PadN(optdata=b"\0" * 220)])
    return [IPv6(src=C6, dst=S6, nh=60) / Raw(bytes(opts) + segment(6, DENIED, opts)[224:])]


def chain_split6():
    # RFC 7112: the first fragment must hold the whole header chain. Here it
    # holds the first 16 bytes of a 32-byte destination-options header; the
    # rest of it and the TCP header (SYN to 2323) are in the second fragment.
    opts = IPv6ExtHdrDestOpt(nh=6, len=3, autopad=0, options=[PadN(optdata=b"\0" * 28)])
    data = segment(6, DENIED, opts)
    return frags(6, [(0, data[:16], True), (16, data[16:], False)], 0xE05, proto=60)


EVASION = {
    "overlap-4": lambda: overlap(4),
    "overlap-6": lambda: overlap(6),
    "overlap-late-4": lambda: overlap_late(4),
    "overlap-late-6": lambda: overlap_late(6),
    "tiny-split-4": lambda: tiny_split(4),
    "tiny-split-6": lambda: tiny_split(6),
    "chain-copy-6": chain_copy6,
    "chain-split-6": chain_split6,
    "frag-ok-4": lambda: frag_ok(4),
    "frag-ok-6": lambda: frag_ok(6),
}

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
CASES.update(EVASION)


def send(a, spec):
    # "CASE" sends one packet, "CASE*N" sends N.
    name, _, count = spec.partition("*")
    if name not in CASES or (count and not count.isdigit()):
        return "unknown %s" % spec
    pkts = CASES[name]()
    if not isinstance(pkts, list):
        pkts = [pkts]
    frames = [Ether(dst=a.gw_mac) / p for p in pkts]
    sendp(frames * int(count or 1), iface=a.iface, verbose=False)
    return "sent %s" % spec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--gw-mac", required=True)
    ap.add_argument("--frag-id", type=int, default=0,
                    help="added to the evasion cases' fragment ids")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    global ID_BASE
    ID_BASE = a.frag_id
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
