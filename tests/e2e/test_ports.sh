#!/bin/bash
# SPDX-License-Identifier: MIT
# test_ports.sh FWD BUILD_DIR - port rules, stateful mode, IPv4 and IPv6.
#
# rules/ports.yaml allows tcp 2222 and udp 5353 to the server, drops tcp 2323
# with `log: true`, and drops everything else by default. The server listens
# on every port used here, so a drop shows as a timeout (no RST, no answer)
# and as no arrival in the server's event file.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,2323,2424 --udp 5353,5454
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/ports.yaml" "$RULES"
fwd_start "$RULES"

log_wait 1 'fwd: started: '
assert_grep "start-up line" \
	'fwd: started: [0-9]+ queues from 0, inspect new-connections, fail (closed|open)$' "$FWD_LOG"

for dst in 10.10.2.2 fd00:2::2; do
	assert_eq "tcp $dst:2222 (allowed) answers" "fwd-e2e tcp 2222" "$(client tcp $dst 2222)"
	assert_eq "udp $dst:5353 (allowed) answers" "fwd-e2e udp 5353" "$(client udp $dst 5353)"
	# Fixed source port: the drop log line must carry it.
	assert_eq "tcp $dst:2323 (dropped, logged) times out" timeout \
		"$(client tcp $dst 2323 --timeout 2 --sport 40023)"
	assert_eq "tcp $dst:2424 (default drop) times out" timeout "$(client tcp $dst 2424 --timeout 2)"
	assert_eq "udp $dst:5454 (default drop) gets no answer" timeout "$(client udp $dst 5454 --timeout 1)"
done

# What reached the server: exactly the allowed connections, once per family.
assert_eq "server saw tcp 2222 from 10.10.1.2" 1 "$(server_seen tcp 2222 10.10.1.2)"
assert_eq "server saw tcp 2222 from fd00:1::2" 1 "$(server_seen tcp 2222 fd00:1::2)"
assert_eq "server saw udp 5353 twice" 2 "$(server_seen udp 5353)"
assert_eq "server never saw tcp 2323" 0 "$(server_seen tcp 2323)"
assert_eq "server never saw tcp 2424" 0 "$(server_seen tcp 2424)"
assert_eq "server never saw udp 5454" 0 "$(server_seen udp 5454)"

# The contract's log line for the logged drop, per family.
log_wait 1 'fwd: drop rule=no-telnet in=veth-gw-c proto=tcp src=fd00:1::2 spt=40023 dst=fd00:2::2 dpt=2323$'
assert_grep "drop line for 2323 over IPv4" \
	'fwd: drop rule=no-telnet in=veth-gw-c proto=tcp src=10\.10\.1\.2 spt=40023 dst=10\.10\.2\.2 dpt=2323$' "$FWD_LOG"
assert_grep "drop line for 2323 over IPv6" \
	'fwd: drop rule=no-telnet in=veth-gw-c proto=tcp src=fd00:1::2 spt=40023 dst=fd00:2::2 dpt=2323$' "$FWD_LOG"
# `log: none` at the top: neither allows nor default drops are logged.
assert_no_grep "no log line for allowed traffic" 'fwd: allow ' "$FWD_LOG"
assert_no_grep "no log line for the default drop" 'rule=default' "$FWD_LOG"

# Counters. Stateful mode queues one NEW packet per TCP connection (the SYN)
# and per UDP exchange (a fresh source port each time); answers are
# ESTABLISHED and stay in the kernel. A dropped SYN leaves no conntrack
# entry, so each retransmission (after 1 s) is NEW again: 1..3 per attempt
# within the 2 s client timeout.
S="$T/stats.json"
if stats "$S"; then
	read -r ssh ssh_b ssh_a mdns telnet telnet_a def def_a mal recv rsum < <(jget "$S" \
		rule:ssh.packets rule:ssh.bytes rule:ssh.action rule:mdns.packets \
		rule:no-telnet.packets rule:no-telnet.action default.packets default.action \
		malformed.total queue.received rules-sum | tr '\n' ' ')
	assert_eq "stats: ssh packets (2 connections)" 2 "$ssh"
	assert_range "stats: ssh bytes (2 SYNs of 40..100 bytes)" 80 200 "$ssh_b"
	assert_eq "stats: ssh action" allow "$ssh_a"
	assert_eq "stats: mdns packets (2 exchanges)" 2 "$mdns"
	assert_range "stats: no-telnet packets (2 attempts with retransmits)" 2 6 "$telnet"
	assert_eq "stats: no-telnet action" drop "$telnet_a"
	# tcp 2424 twice (with retransmits) and udp 5454 twice.
	assert_range "stats: default packets" 6 10 "$def"
	assert_eq "stats: default action" drop "$def_a"
	assert_eq "stats: malformed total" 0 "$mal"
	# The default's drops (no rule takes 2424, 5454) happen before the queue
	# (early drops): counted in default.packets, never received by fwd.
	early=$(jget "$S" default.early)
	assert_range "stats: the default's drops were early" 6 10 "$early"
	if [[ $rsum =~ ^[0-9]+$ && $def =~ ^[0-9]+$ && $early =~ ^[0-9]+$ ]]; then
		assert_ge "stats: queue received covers every packet fwd judged" \
			$((rsum + def - early)) "$recv"
	else
		fail "stats: rule sums not numeric: rules-sum=$rsum default=$def"
	fi
fi

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_grep "stop line" 'fwd: stopped$' "$FWD_LOG"
assert_no_sanitizer_report
e2e_finish
