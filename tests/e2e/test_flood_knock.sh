#!/bin/bash
# SPDX-License-Identifier: MIT
# test_flood_knock.sh FWD BUILD_DIR - a real knock completes during a flood of spoofed first knocks.
#
# The sequence of rules/knock.yaml (7000/tcp, 8000/udp, 9000/tcp, window
# 10 s) while first knocks (SYNs to 7000) from spoofed sources flood the
# gateway at FLOOD_PPS (default 20000/s) for 16 s, churning the progress
# table (65536 sources) every few seconds. Two real knocks from 10.10.1.2:
# one quick, and one that waits 5 s between its second and third knock,
# long enough for the flood to turn the whole table over. Both must open
# 2222. What must be quick is only the gap between a real first and second
# knock: under 65536 / (spoofed first knocks per second) (fwd-rules(5)).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/knock.yaml" "$RULES"
fwd_start "$RULES"
PPS=${FLOOD_PPS:-20000}

knock() {	# PROTO/PORT
	client "${1#*/}" 10.10.2.2 "${1%/*}" --timeout 0.05 >/dev/null
}

flood_start 10.10.2.2 7000 7000 "$PPS" 16000
sleep 2
knock 7000/tcp; knock 8000/udp; knock 9000/tcp
assert_eq "a quick knock opens 2222 during the flood" "fwd-e2e tcp 2222" \
	"$(client tcp 10.10.2.2 2222 --timeout 2)"
sleep 4.5	# the door (4 s) closes again
knock 7000/tcp; knock 8000/udp
sleep 5
knock 9000/tcp
assert_eq "a knock with 5 s before its last step opens 2222 during the flood" \
	"fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222 --timeout 2)"
flood_wait
stats "$T/s.json"
say "fwd: knock $(jget "$T/s.json" dynamic.knock)"
assert_ge "the flood turned the progress table over (evicted)" 65536 \
	"$(jget "$T/s.json" dynamic.knock.evicted)"
e2e_finish
