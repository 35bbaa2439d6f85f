#!/bin/bash
# SPDX-License-Identifier: MIT
# test_readme_v6.sh FWD BUILD_DIR - the README's first example over IPv6 on
# an ordinary network.
#
# The README's first rules file (default: drop, no ICMPv6 rule) with its
# admin networks pointed at the client's (10.10.1.0/24, fd00:1::/48):
# nothing in the topology writes a neighbour entry, DAD runs, so IPv6 works
# only if neighbour discovery passes fwd. ssh from the client to the server
# works over IPv6 and IPv4, and the client's and the gateway's neighbour
# entries resolve (never FAILED or INCOMPLETE). With `neighbor_discovery:
# rules` the same file cuts IPv6 off, and `fwd check` warns about it.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 22
RULES="$T/rules.yaml"
awk '/^```yaml/ { n++; next } /^```/ { if (n == 1) exit } n == 1' "$E2E_DIR/../../README.md" |
	sed -e 's|10\.0\.0\.0/24|10.10.1.0/24|' -e 's|10\.0\.0\.7|10.10.1.7|' -e 's|2001:db8:1::/48|fd00:1::/48|' >"$RULES"
assert_grep "the README's example has no ICMPv6 rule" '^default: drop' "$RULES"
assert_no_grep "the README's example names no icmpv6" 'icmpv6' "$RULES"
fwd_start "$RULES"

assert_eq "tcp [fd00:2::2]:22 from the client (ssh-admins)" "fwd-e2e tcp 22" "$(client tcp fd00:2::2 22)"
assert_eq "tcp 10.10.2.2:22 from the client (ssh-admins)" "fwd-e2e tcp 22" "$(client tcp 10.10.2.2 22)"
neigh_ok() {	# NS IFACE ADDR
	local st
	st=$(nsx "$1" ip neigh show "$3" dev "$2")
	if [[ $st =~ (REACHABLE|STALE|DELAY|PROBE) ]]; then
		pass "$1 $2: neighbour $3 resolved ($st)"
	else
		fail "$1 $2: neighbour $3 not resolved: '$st'"
	fi
}
neigh_ok c veth-c fd00:1::1
neigh_ok c veth-c 10.10.1.1
neigh_ok g veth-gw-c fd00:1::2
neigh_ok g veth-gw-s fd00:2::2
assert_no_grep "no neighbour solicitation was dropped" 'drop .*proto=icmpv6 .*dst=ff02::1:ff' "$FWD_LOG"
assert_grep "the hooks let ND to the gateway pass before the queue" 'icmpv6-type 135 -m hl --hl-eq 255 -m addrtype --dst-type LOCAL -j RETURN' \
	<(nsx g ip6tables-save -t mangle)
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"

# Handed to the rules, the same file drops neighbour discovery: fwd check
# says so, and once the neighbour entries are gone IPv6 stops working.
sed 's/^rules:/daemon:\n  neighbor_discovery: rules\nrules:/' "$RULES" >"$T/nd-rules.yaml"
"$FWD" check "$T/nd-rules.yaml" >"$T/check.out" 2>&1
cat "$T/check.out"
assert_grep "fwd check warns that neighbour solicitations are dropped" \
	'nd-rules\.yaml:[0-9]+:[0-9]+: warning: .*nd-neighbor-solicit' "$T/check.out"
fwd_start "$T/nd-rules.yaml"
assert_no_grep "no ND return rules with neighbor_discovery: rules" 'icmpv6-type 135' \
	<(nsx g ip6tables-save -t mangle)
nsx c ip -6 neigh flush dev veth-c
nsx g ip -6 neigh flush dev veth-gw-c
r=$(client tcp fd00:2::2 22 --timeout 4)
[ "$r" != "fwd-e2e tcp 22" ] && pass "tcp [fd00:2::2]:22 fails without ND ($r)" ||
	fail "tcp [fd00:2::2]:22 answered with ND handed to a rules file that drops it"
log_wait 1 'drop rule=default .*proto=icmpv6 .*type=13[56] code=0$'
assert_grep "the solicitations were judged and dropped" 'drop rule=default .*proto=icmpv6 .*type=13[56] code=0$' "$FWD_LOG"
fwd_stop
assert_no_sanitizer_report
e2e_finish
