#!/bin/bash
# SPDX-License-Identifier: MIT
# test_forward.sh FWD BUILD_DIR - port forwarding (forward verdict + DNAT).
#
# rules/forward.yaml sends the gateway's own tcp 8080 (10.10.1.1 and
# fd00:1::1) to the server's port 80. The server answers on 80 and on 8080
# with different banners, so the answer proves which port was reached.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 80,8080,8081
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/forward.yaml" "$RULES"
fwd_start "$RULES"

# Nothing listens on the gateway, so without DNAT the client gets a RST.
assert_eq "tcp 10.10.1.1:8080 reaches the server's port 80" "fwd-e2e tcp 80" \
	"$(client tcp 10.10.1.1 8080 --sport 41080)"
assert_eq "tcp [fd00:1::1]:8080 reaches the server's port 80" "fwd-e2e tcp 80" \
	"$(client tcp fd00:1::1 8080 --sport 41080)"
# DNAT only, no SNAT: the server sees the real client.
assert_eq "server saw port 80 from 10.10.1.2" 1 "$(server_seen tcp 80 10.10.1.2)"
assert_eq "server saw port 80 from fd00:1::2" 1 "$(server_seen tcp 80 fd00:1::2)"
# No rule for the gateway's 8081 nor the server's own 8080: default drop.
assert_eq "tcp 10.10.1.1:8081 (default drop) times out" timeout "$(client tcp 10.10.1.1 8081 --timeout 2)"
assert_eq "tcp 10.10.2.2:8080 (not the forward rule's dst) times out" timeout \
	"$(client tcp 10.10.2.2 8080 --timeout 2)"
assert_eq "server never saw port 8080" 0 "$(server_seen tcp 8080)"
# A second connection on the same forward rule works too (mark reused).
assert_eq "second tcp 10.10.1.1:8080 connection" "fwd-e2e tcp 80" "$(client tcp 10.10.1.1 8080)"

log_wait 3 'fwd: forward rule=web'
assert_grep "forward log line, IPv4" \
	'fwd: forward rule=web4 to=10\.10\.2\.2:80 in=veth-gw-c proto=tcp src=10\.10\.1\.2 spt=41080 dst=10\.10\.1\.1 dpt=8080$' "$FWD_LOG"
assert_grep "forward log line, IPv6" \
	'fwd: forward rule=web6 to=\[fd00:2::2\]:80 in=veth-gw-c proto=tcp src=fd00:1::2 spt=41080 dst=fd00:1::1 dpt=8080$' "$FWD_LOG"

S="$T/stats.json"
if stats "$S"; then
	assert_eq "stats: web4 packets (2 connections)" 2 "$(jget "$S" rule:web4.packets)"
	assert_eq "stats: web6 packets (1 connection)" 1 "$(jget "$S" rule:web6.packets)"
	assert_eq "stats: web4 action" forward "$(jget "$S" rule:web4.action)"
	assert_range "stats: default packets (2 attempts with retransmits)" 2 6 "$(jget "$S" default.packets)"
fi

# The DNAT hook is in place while fwd runs and gone after it stops.
assert_grep "nat FWD-DNAT jumped from PREROUTING (IPv4)" '^-A PREROUTING .*-j FWD-DNAT' \
	<(nsx g iptables-save -t nat)
assert_grep "nat FWD-DNAT jumped from PREROUTING (IPv6)" '^-A PREROUTING .*-j FWD-DNAT' \
	<(nsx g ip6tables-save -t nat)
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_grep "no FWD chains left in nat (IPv4)" 'FWD-' <(nsx g iptables-save)
assert_no_grep "no FWD chains left in nat (IPv6)" 'FWD-' <(nsx g ip6tables-save)
assert_no_sanitizer_report
e2e_finish
