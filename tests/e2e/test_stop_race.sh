#!/bin/bash
# SPDX-License-Identifier: MIT
# test_stop_race.sh FWD BUILD_DIR - a clean stop leaves no chains behind,
# even with reloads on the control socket under way when SIGTERM comes.
# e2e-timeout: 120
#
# A reload reinstalls fwd's chains; one that ran on past the removal of the
# hooks would leave FWD-QUEUE's NFQUEUE jump with nobody reading the queue,
# and a fail-closed gateway would drop everything after fwd exited 0. Each
# round starts fwd, sends several `fwd reload`s, SIGTERMs fwd after a short
# delay (0 to 20 ms, where the reloads are still running) and asserts: exit
# status 0, no FWD chain and no jump to one in any table of either family,
# and an allowed port that works without fwd. The race is timing-dependent:
# several rounds at several delays make a leftover likely to be seen.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222
cp "$E2E_DIR/rules/reload-allow.yaml" "$T/rules.yaml"

leftovers() {	# the FWD lines of every table, both families
	local tool
	for tool in iptables-save ip6tables-save; do
		nsx g "$tool" | grep -E '^(-N|-A|:).*FWD-'
	done
}

rounds=0
for delay in 0 0.005 0.01 0.02 0 0.005 0.01 0.02; do
	rounds=$((rounds + 1))
	fwd_start "$T/rules.yaml"
	reloads=()
	for i in 1 2 3 4; do
		nsx g "$FWD" reload --socket "$SOCK" >>"$T/reload.out" 2>&1 &
		reloads+=($!)
	done
	sleep "$delay"
	fwd_stop
	wait "${reloads[@]}"
	if [ "$FWD_STATUS" != 0 ]; then
		fail "round $rounds (delay $delay s): fwd exit status $FWD_STATUS"
		break
	fi
	left=$(leftovers)
	if [ -n "$left" ]; then
		fail "round $rounds (delay $delay s): $(echo "$left" | wc -l) FWD lines left after fwd exited, $(echo "$left" | grep -c -- '-A PREROUTING') jumps"
		break
	fi
done
[ "$E2E_FAILS" = 0 ] && pass "$rounds rounds: exit status 0, no FWD chains left"
r=$(client tcp 10.10.2.2 2222 --timeout 3)
assert_eq "tcp 2222 after fwd exited" "fwd-e2e tcp 2222" "$r"
assert_no_sanitizer_report
e2e_finish
