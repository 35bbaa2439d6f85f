#!/bin/bash
# SPDX-License-Identifier: MIT
# test_reject.sh FWD BUILD_DIR - `action: reject` answers at once.
#
# The server listens on every port used here, so a refusal can only come
# from fwd (the packet never reaches the server): fwd drops the packet and
# answers itself, TCP with a RST, UDP with an ICMP port-unreachable, and the
# client sees ECONNREFUSED well before its timeout.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,2323 --udp 5454
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/reject.yaml" "$RULES"
fwd_start "$RULES"

assert_eq "no filter chain: the answer is fwd's own" 0 \
	"$(nsx g iptables-save -t filter | grep -c FWD-)"
for dst in 10.10.2.2 fd00:2::2; do
	assert_eq "tcp $dst:2222 (allowed) answers" "fwd-e2e tcp 2222" "$(client tcp $dst 2222)"
	t0=$(now_ms)
	assert_eq "tcp $dst:2323 (reject) is refused" refused \
		"$(client tcp $dst 2323 --timeout 5 --sport 40023)"
	assert_range "tcp $dst:2323 refused fast (ms)" 0 1500 $(($(now_ms) - t0))
	t0=$(now_ms)
	assert_eq "udp $dst:5454 (reject) is refused" refused \
		"$(client udp $dst 5454 --timeout 5)"
	assert_range "udp $dst:5454 refused fast (ms)" 0 1500 $(($(now_ms) - t0))
done
assert_eq "server never saw tcp 2323" 0 "$(server_seen tcp 2323)"
assert_eq "server never saw udp 5454" 0 "$(server_seen udp 5454)"

log_wait 1 'fwd: reject rule=no-telnet in=veth-gw-c proto=tcp src=fd00:1::2 spt=40023 dst=fd00:2::2 dpt=2323$'
assert_grep "reject line over IPv4" \
	'fwd: reject rule=no-telnet in=veth-gw-c proto=tcp src=10\.10\.1\.2 spt=40023 dst=10\.10\.2\.2 dpt=2323$' "$FWD_LOG"
assert_grep "reject line for udp" 'fwd: reject rule=no-udp .*dpt=5454$' "$FWD_LOG"

S="$T/stats.json"
if stats "$S"; then
	read -r tp ta up < <(jget "$S" rule:no-telnet.packets rule:no-telnet.action \
		rule:no-udp.packets | tr '\n' ' ')
	assert_eq "stats: no-telnet action" reject "$ta"
	assert_eq "stats: no-telnet packets (one SYN per family, no retransmits)" 2 "$tp"
	assert_eq "stats: no-udp packets" 2 "$up"
	assert_eq "stats: every reject answered" 0 "$(jget "$S" queue.unanswered)"
fi

# Past FWD_REJECT_RATE (1,000 answers a second a queue, burst 200) a reject is
# dropped without an answer, and counted.
blast="$BUILD_DIR/bench/blast"
if [ -x "$blast" ]; then
	sent=$(nsx c "$blast" udp 10.10.2.2 5454 20000 1000 8 | awk '{ print $2 }')
	stats "$T/burst.json"
	un=$(jget "$T/burst.json" queue.unanswered)
	say "a burst of $sent rejected datagrams in 1 s: $un unanswered"
	assert_ge "over 1,000 answers/s: the rest counted as unanswered" $((sent - 3000)) "$un"
	assert_ge "unanswered are among the rule's packets" "$un" \
		"$(($(jget "$T/burst.json" rule:no-udp.packets) - 2))"
else
	say "SKIP the answer limit: $blast not built"
fi

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_eq "FWD-REJECT removed on exit" 0 "$(nsx g iptables-save -t filter | grep -c FWD-REJECT)"
assert_eq "FWD-REJECT removed on exit (IPv6)" 0 "$(nsx g ip6tables-save -t filter | grep -c FWD-REJECT)"
assert_no_sanitizer_report
e2e_finish
