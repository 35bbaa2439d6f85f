#!/bin/bash
# SPDX-License-Identifier: MIT
# test_rpfilter.sh FWD BUILD_DIR - `daemon: {rpfilter: strict}` drops what
# comes from the outside claiming an address of the inside, which a rule
# that trusts that address in `src:` would let through.
#
# A third namespace, the admin LAN (10.10.3.0/24, fd00:3::/64), hangs off
# the gateway; the gateway's default routes lead out over the client's link
# (its WAN), and the kernel's own IPv4 rp_filter is off there (IPv6 has
# none). The rules allow UDP 7100 at the server from the admin LAN only.
# From the client, datagrams with a source inside the admin LAN reach the
# server while the file says nothing of rpfilter (the default, off), and
# none does after a reload with `rpfilter: strict`; `fwd stats` counts them
# as spoofed, and keeps the count over a reload that reinstalls the hooks.
# Throughout, the admin host's own datagrams arrive, and so do the client's
# own to an open port (its source routes back by the default route).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
NS_A="fwd-e2e-a-$$"
topo_attach "$NS_A" a
topo_if g veth-gw-a 10.10.3.1/24 fd00:3::1/64
topo_if "$NS_A" veth-a 10.10.3.2/24 fd00:3::2/64
nsx "$NS_A" ip route add default via 10.10.3.1
nsx "$NS_A" ip -6 route add default via fd00:3::1
nsx g ip route add default via 10.10.1.2
nsx g ip -6 route add default via fd00:1::2
nsx g sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
	net.ipv4.conf.veth-gw-c.rp_filter=0
# The forged sources: addresses of the admin LAN, on the client's loopback.
nsx c ip addr add 10.10.3.99/32 dev lo
nsx c ip addr add fd00:3::99/128 dev lo
topo_settle "$NS_A"
servers_start --udp 7100,7200

rules() {	# DAEMON-LINE
	cat >"$T/rules.new" <<YAML
version: 1
default: drop
$1
rules:
  - {name: from-admins, proto: udp, src: [10.10.3.0/24, "fd00:3::/64"], dport: 7100, action: allow}
  - {name: open, proto: udp, dport: 7200, action: allow}
YAML
	rules_put "$T/rules.new" "$T/rules.yaml"
}

# Three datagrams from NS, from address SRC (a new socket: a new flow), to DST PORT.
send3() {	# NS SRC DST PORT
	nsx "$1" "$PY" -c '
import socket, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
for _ in range(3):
    s.sendto(b"rpfilter", (dst, port))
' "$2" "$3" "$4"
}

# One round from everyone: forged, admin, and the client's own; then the
# arrivals at the server, "forged4 forged6 admin4 admin6 open4 open6".
round() {
	send3 c 10.10.3.99 10.10.2.2 7100
	send3 c fd00:3::99 fd00:2::2 7100
	send3 "$NS_A" 10.10.3.2 10.10.2.2 7100
	send3 "$NS_A" fd00:3::2 fd00:2::2 7100
	send3 c 10.10.1.2 10.10.2.2 7200
	send3 c fd00:1::2 fd00:2::2 7200
	sleep 1
	echo "$(server_seen udp 7100 10.10.3.99) $(server_seen udp 7100 fd00:3::99)" \
		"$(server_seen udp 7100 10.10.3.2) $(server_seen udp 7100 fd00:3::2)" \
		"$(server_seen udp 7200 10.10.1.2) $(server_seen udp 7200 fd00:1::2)"
}

reloads_ok() {
	stats "$T/r.json" >/dev/null && [ "$(jget "$T/r.json" reloads.ok)" = "$1" ]
}

rules ""
fwd_start "$T/rules.yaml"
read -r f4 f6 a4 a6 o4 o6 <<<"$(round)"
say "rpfilter off: forged $f4/$f6, admin $a4/$a6, open $o4/$o6 (IPv4/IPv6)"
assert_ge "off: a forged IPv4 admin source passes the src: rule (the hole)" 1 "$f4"
assert_ge "off: a forged IPv6 admin source passes the src: rule (the hole)" 1 "$f6"
stats "$T/s0.json"
assert_eq "off: nothing counted as spoofed" 0 "$(jget "$T/s0.json" queue.spoofed)"
nsx g "$FWD" stats --socket "$SOCK" >"$T/s0.txt"
assert_no_grep "off: no spoofed line in fwd stats" '^spoofed:' "$T/s0.txt"

rules "daemon: {rpfilter: strict}"
fwd_hup
wait_for 10 reloads_ok 1 || fail "the reload to rpfilter: strict did not succeed"
read -r g4 g6 b4 b6 p4 p6 <<<"$(round)"
say "rpfilter strict: forged $g4/$g6, admin $b4/$b6, open $p4/$p6 (IPv4/IPv6, in all)"
assert_eq "strict: no forged IPv4 admin source arrives" "$f4" "$g4"
assert_eq "strict: no forged IPv6 admin source arrives" "$f6" "$g6"
assert_eq "strict: the admin host's IPv4 datagrams arrive" $((a4 + 3)) "$b4"
assert_eq "strict: the admin host's IPv6 datagrams arrive" $((a6 + 3)) "$b6"
assert_eq "strict: the client's own IPv4 datagrams to an open port arrive" $((o4 + 3)) "$p4"
assert_eq "strict: the client's own IPv6 datagrams to an open port arrive" $((o6 + 3)) "$p6"
stats "$T/s1.json"
assert_eq "strict: the 6 forged datagrams are counted as spoofed" 6 \
	"$(jget "$T/s1.json" queue.spoofed)"
nsx g "$FWD" stats --socket "$SOCK" >"$T/s1.txt"
assert_grep "strict: fwd stats says so" \
	'^spoofed: +6 dropped before the queue: no route back to the source through its interface \(rpfilter: strict\)' \
	"$T/s1.txt"

# A reload reinstalls the hooks, and the kernel's counter starts again.
out=$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)
assert_eq "fwd reload: exit status ($out)" 0 "$?"
send3 c 10.10.3.99 10.10.2.2 7100
sleep 0.5
stats "$T/s2.json"
assert_eq "after a reload: the count goes on from 6" 9 "$(jget "$T/s2.json" queue.spoofed)"
assert_eq "after a reload: still no forged source arrives" "$f4" "$(server_seen udp 7100 10.10.3.99)"
assert_no_sanitizer_report
e2e_finish
