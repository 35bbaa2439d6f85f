#!/bin/bash
# SPDX-License-Identifier: MIT
# test_exempt_local.sh FWD BUILD_DIR - what passes fwd's hooks without the
# rules (HA sync, IPv6 neighbour discovery) passes only to the gateway itself.
#
# fwd runs with `default: drop`, one TCP rule and the default `ha: on`. From
# the client, through the gateway to the server: UDP to port 3780 (IPv4 and
# IPv6) and ICMPv6 neighbour solicitations and advertisements with hop limit
# 255 must not arrive, since a forwarded packet is neither conntrackd's sync
# nor neighbour discovery. Addressed to the gateway itself, the same UDP
# reaches a listener there, and neighbour discovery works: after both sides
# forget their neighbours, an allowed IPv6 connection crosses the gateway.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
log: drops
rules:
  - {name: web, proto: tcp, dport: 8000, action: allow}
YAML
servers_start --tcp 8000 --udp 3780,3781

# ICMPv6 from the client that reaches the server's stack, by type.
bg s "$T/icmp6.log" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.settimeout(8)
open(sys.argv[1], "w").close()
try:
    while True:
        d, a = s.recvfrom(2000)
        if a[0] == "fd00:1::2":
            print("type %d" % d[0], flush=True)
except socket.timeout:
    pass' "$T/icmp6.ready"
wait_for 5 test -e "$T/icmp6.ready"
# Sync addressed to the gateway: a listener on each family there.
bg g "$T/gwsync.log" "$PY" -c '
import socket, sys, selectors
sel = selectors.DefaultSelector()
for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    u = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    u.bind((addr, 3780))
    sel.register(u, selectors.EVENT_READ)
open(sys.argv[1], "w").close()
for _ in range(2):
    for key, _ in sel.select(8):
        d, a = key.fileobj.recvfrom(100)
        print("got %s from %s" % (d.decode(), a[0]), flush=True)' "$T/gwsync.ready"
wait_for 5 test -e "$T/gwsync.ready"

fwd_start "$RULES"
nsx c "$PY" -c '
import socket
for fam, host in ((socket.AF_INET, "10.10.2.2"), (socket.AF_INET6, "fd00:2::2")):
    u = socket.socket(fam, socket.SOCK_DGRAM)
    for port in (3780, 3781):
        u.sendto(b"through %d" % port, (host, port))
for fam, host in ((socket.AF_INET, "10.10.1.1"), (socket.AF_INET6, "fd00:1::1")):
    socket.socket(fam, socket.SOCK_DGRAM).sendto(b"sync-" + host.encode(), (host, 3780))
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
tgt = socket.inet_pton(socket.AF_INET6, "fd00:2::2")
for t, flags in ((135, 0), (136, 0x20), (137, 0)):
    s.sendto(bytes([t, 0, 0, 0, flags, 0, 0, 0]) + tgt + (tgt if t == 137 else b""),
             ("fd00:2::2", 0))'
sleep 1
assert_eq "UDP 3780 forwarded to the server (v4, v6)" 0 "$(server_seen udp 3780)"
assert_eq "UDP 3781 forwarded to the server (v4, v6)" 0 "$(server_seen udp 3781)"
wait_for 5 eval '[ "$(grep -c "^got sync-" "$T/gwsync.log")" = 2 ]'
assert_grep "sync to the gateway's IPv4 address passes" '^got sync-10\.10\.1\.1 from 10\.10\.1\.2$' "$T/gwsync.log"
assert_grep "sync to the gateway's IPv6 address passes" '^got sync-fd00:1::1 from fd00:1::2$' "$T/gwsync.log"

# Neighbour discovery to the gateway: both links relearn their neighbours.
nsx c ip -6 neigh flush dev veth-c
nsx s ip -6 neigh flush dev veth-s
nsx g ip -6 neigh flush all
r=$(client tcp fd00:2::2 8000 --timeout 5)
assert_eq "allowed IPv6 connection after neighbour discovery" "fwd-e2e tcp 8000" "$r"
assert_grep "the gateway learned the client by neighbour discovery" 'fd00:1::2 dev veth-gw-c lladdr' <(nsx g ip -6 neigh show)
for t in 135 136 137; do
	assert_eq "ICMPv6 type $t, hop limit 255, forwarded to the server" 0 "$(grep -c "^type $t$" "$T/icmp6.log")"
done
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
