#!/bin/bash
# SPDX-License-Identifier: MIT
# test_reject_accept.sh FWD BUILD_DIR - reject holds whatever other tools do.
#
# docker and ufw insert ACCEPT rules at the top of filter FORWARD when they
# (re)start. A reject that depended on a filter chain of fwd's behind them
# turned into an allow. fwd drops the packet in its verdict and answers it
# itself, so with such an ACCEPT inserted (IPv4 and IPv6), a `reject` port
# is still refused at once and never reached, before and after a reload.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,2323 --udp 5454
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/reject.yaml" "$RULES"
fwd_start "$RULES"

for fam in iptables ip6tables; do
	nsx g $fam -I FORWARD -i veth-gw-c -o veth-gw-s -j ACCEPT
	nsx g $fam -I INPUT -i veth-gw-c -j ACCEPT
done

check() {	# WHEN
	for dst in 10.10.2.2 fd00:2::2; do
		assert_eq "$1: tcp $dst:2222 (allowed) answers" "fwd-e2e tcp 2222" \
			"$(client tcp $dst 2222)"
		assert_eq "$1: tcp $dst:2323 (reject) is refused" refused \
			"$(client tcp $dst 2323 --timeout 3)"
		assert_eq "$1: udp $dst:5454 (reject) is refused" refused \
			"$(client udp $dst 5454 --timeout 3)"
	done
}
check "ACCEPT above fwd"
nsx g "$FWD" reload --socket "$SOCK" >/dev/null 2>&1
check "after reload"
assert_eq "server never saw tcp 2323" 0 "$(server_seen tcp 2323)"
assert_eq "server never saw udp 5454" 0 "$(server_seen udp 5454)"

fwd_stop
assert_eq "fwd exit status" 0 "$FWD_STATUS"
for fam in iptables ip6tables; do
	assert_eq "$fam: the other tool's ACCEPT is left alone" 1 \
		"$(nsx g $fam-save -t filter | grep -c -- '-A FORWARD -i veth-gw-c -o veth-gw-s -j ACCEPT')"
done
assert_no_sanitizer_report
e2e_finish
