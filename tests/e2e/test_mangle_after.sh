#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mangle_after.sh FWD BUILD_DIR - the operator's mangle PREROUTING rules
# after fwd's jump see the packets fwd allowed.
#
# An accept verdict ends the hook, so a rule appended after fwd's jump (the
# usual start of policy routing: mark new connections) never saw a packet
# fwd judged. fwd answers allow and forward with a repeat verdict and a mark
# bit its own chain returns on (and clears): the rules after the jump count
# every packet fwd let through, with the mark they would have had, in both
# modes, and a forwarded connection still gets its DNAT.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222

# Packet count of the operator's rule with comment C in mangle PREROUTING.
rule_pkts() {	# iptables|ip6tables COMMENT
	nsx g "$1-save" -c -t mangle | awk -v c="$2" '$2 == "-A" && $3 == "PREROUTING" {
		for (i = 4; i < NF; i++) if ($i == "--comment" && $(i + 1) == c) {
			gsub(/[^0-9:]/, "", $1); split($1, a, ":"); print a[1] } }'
}

operator_rules() {
	for fam in iptables ip6tables; do
		nsx g $fam -t mangle -F PREROUTING
		# Leaves forwarded packets' marks alone: forward's DNAT is keyed on them.
		nsx g $fam -t mangle -A PREROUTING -m conntrack --ctstate NEW \
			-m mark ! --mark 0x0f000000/0x0f000000 \
			-m comment --comment op-new -j MARK --set-mark 7
		nsx g $fam -t mangle -A PREROUTING -p tcp --dport 2222 -m comment --comment op-fwd
		nsx g $fam -t mangle -A PREROUTING -p tcp --sport 2222 -m comment --comment op-rev
		nsx g $fam -t mangle -A PREROUTING -m mark --mark 0x10000000/0x10000000 \
			-m comment --comment op-fwdbit
		nsx g $fam -t mangle -A PREROUTING -p tcp --dport 8080 -m conntrack --ctstate NEW \
			-m comment --comment op-web
	done
}

connect5() {
	for i in 1 2 3 4 5; do
		client tcp 10.10.2.2 2222 >/dev/null
		client tcp fd00:2::2 2222 >/dev/null
	done
}

# new-connections: 5 connections per family, each one NEW packet after fwd.
operator_rules
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/mangle-new.yaml" "$RULES"
fwd_start "$RULES"
connect5
assert_eq "forward still DNATs (10.10.1.1:8080 -> server 2222)" "fwd-e2e tcp 2222" \
	"$(client tcp 10.10.1.1 8080)"
assert_eq "the rules after fwd saw the forwarded SYN" 1 "$(rule_pkts iptables op-web)"
for fam in iptables ip6tables; do
	assert_eq "new-connections, $fam: NEW mark rule after fwd saw 5 connections" 5 \
		"$(rule_pkts $fam op-new)"
	assert_eq "new-connections, $fam: fwd's mark bit never reaches them" 0 \
		"$(rule_pkts $fam op-fwdbit)"
done
fwd_stop

# every-packet: every packet of both directions still reaches the rules after fwd.
operator_rules
cp "$E2E_DIR/rules/mangle-every.yaml" "$RULES"
fwd_start "$RULES"
connect5
S="$T/stats.json"

# fwd's allows and what the rules after its jump counted, once both have
# stopped moving: a connection's last packets may still be on their way
# when the first is read, in either order.
allowed_and_after() {
	local fam n=0
	stats "$S"
	for fam in iptables ip6tables; do
		n=$((n + $(rule_pkts $fam op-fwd) + $(rule_pkts $fam op-rev)))
	done
	echo "$(( $(jget "$S" rule:ssh.packets) + $(jget "$S" rule:ssh-replies.packets) )) $n"
}
settled() {
	local now
	now=$(allowed_and_after)
	[ "$now" = "${last:-}" ] && [ "${now% *}" = "${now#* }" ] && return 0
	last=$now
	return 1
}
last=
wait_for 5 settled
for fam in iptables ip6tables; do
	fwdp=$(rule_pkts $fam op-fwd)
	revp=$(rule_pkts $fam op-rev)
	assert_ge "every-packet, $fam: client->server packets after fwd" 15 "$fwdp"
	assert_ge "every-packet, $fam: server->client packets after fwd" 10 "$revp"
	assert_eq "every-packet, $fam: NEW mark rule after fwd saw 5 connections" 5 \
		"$(rule_pkts $fam op-new)"
	assert_eq "every-packet, $fam: fwd's mark bit never reaches them" 0 \
		"$(rule_pkts $fam op-fwdbit)"
done
read -r judged total <<<"$(allowed_and_after)"
assert_eq "every packet fwd allowed went on, once (rules after fwd = fwd's allows)" \
	"$judged" "$total"
fwd_stop
assert_eq "fwd exit status" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
