#!/bin/bash
# SPDX-License-Identifier: MIT
# test_icmp_type.sh FWD BUILD_DIR - `icmp_type:` on a real network.
#
# `default: drop` and one rule allowing echo-request for icmp and icmpv6 (by
# name, resolved for each): ping and ping6 through the gateway work; an ICMP
# timestamp request (type 13) is dropped by the default and logged with
# type=13 code=0, and `fwd top` lists it where it lists dropped ports. The
# topology has no static neighbours: neighbour discovery passes fwd's hooks.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
log: drops
rules:
  - name: ping
    proto: [icmp, icmpv6]
    icmp_type: echo-request
    action: allow
tests:
  - {packet: "icmp 10.10.1.2 10.10.2.2 type=echo-request", expect: allow ping}
  - {packet: "icmp 10.10.1.2 10.10.2.2 type=timestamp-request", expect: drop}
YAML
assert_eq "fwd check passes the file's tests" "$RULES: ok, 1 rule, 2 tests passed" "$("$FWD" check "$RULES" 2>&1)"
fwd_start "$RULES"
icmp() { nsx c "$PY" "$E2E_DIR/icmp.py" "$@"; }

assert_eq "ping 10.10.2.2 (echo-request allowed)" "reply 0" "$(icmp 10.10.2.2 8)"
assert_eq "ping6 fd00:2::2 (echo-request allowed)" "reply 129" "$(icmp fd00:2::2 128)"
assert_eq "timestamp request to 10.10.2.2 dropped" timeout "$(icmp 10.10.2.2 13 --timeout 2)"
log_wait 1 'fwd: drop rule=default in=veth-gw-c proto=icmp src=10\.10\.1\.2 dst=10\.10\.2\.2 type=13 code=0$'
assert_grep "drop line names type=13" \
	'fwd: drop rule=default in=veth-gw-c proto=icmp src=10\.10\.1\.2 dst=10\.10\.2\.2 type=13 code=0$' "$FWD_LOG"
assert_grep "fwd top shows the dropped ICMP type where it shows ports" '^icmp type=13 code=0 +[1-9]' \
	<(nsx g "$FWD" top --socket "$SOCK" --once)
assert_no_grep "no drop line for the echo requests" 'drop .*type=(8|128) ' "$FWD_LOG"
assert_no_grep "no neighbour discovery reached the rules" 'type=13[3-7] ' "$FWD_LOG"
for a in 10.10.1.1 fd00:1::1; do
	st=$(nsx c ip neigh show "$a" dev veth-c)
	[[ $st =~ (REACHABLE|STALE|DELAY|PROBE) ]] && pass "client's neighbour $a resolved ($st)" ||
		fail "client's neighbour $a not resolved: '$st'"
done
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
