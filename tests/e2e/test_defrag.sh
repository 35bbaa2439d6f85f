#!/bin/bash
# SPDX-License-Identifier: MIT
# test_defrag.sh FWD BUILD_DIR - fragments are reassembled before the queue.
#
# Every-packet mode and nothing else in the gateway namespace that loads
# conntrack: without defragmentation registered, the later fragments of a
# datagram carry no ports and fall to `default: drop`. fwd's hooks register
# it (FWD-DEFRAG), so a 3000-byte datagram to an allowed port arrives whole
# over IPv4 and IPv6, and one to another port does not arrive at all.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --udp 161,162
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/defrag.yaml" "$RULES"
fwd_start "$RULES"

for fam in iptables ip6tables; do
	assert_eq "$fam: FWD-DEFRAG registers defragmentation" 1 \
		"$(nsx g $fam-save -t mangle | grep -c -- '-A FWD-DEFRAG -m socket')"
done

# One datagram of SIZE bytes from the client; the kernel fragments it (MTU 1500).
send_dgram() {	# HOST PORT SIZE
	nsx c "$PY" -c '
import socket, sys
h, p, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x" * n, (h, p))' "$@"
}

send_dgram 10.10.2.2 161 1000
send_dgram 10.10.2.2 161 3000
send_dgram fd00:2::2 161 3000
send_dgram 10.10.2.2 162 3000
send_dgram fd00:2::2 162 3000
wait_for 3 eval '[ "$(server_seen udp 161)" -ge 3 ]'
assert_eq "udp 161: 1000 B, 3000 B over IPv4, 3000 B over IPv6 all arrived" 3 \
	"$(server_seen udp 161)"
assert_eq "udp 162 (default drop): nothing arrived" 0 "$(server_seen udp 162)"
S="$T/stats.json"
if stats "$S"; then
	assert_eq "fwd judged 3 whole datagrams to 161 (no fragments)" 3 \
		"$(jget "$S" rule:snmp.packets)"
fi

fwd_stop
assert_eq "fwd exit status" 0 "$FWD_STATUS"
assert_eq "FWD-DEFRAG removed on exit" 0 "$(nsx g iptables-save -t mangle | grep -c FWD-DEFRAG)"
assert_no_sanitizer_report
e2e_finish
