#!/bin/bash
# SPDX-License-Identifier: MIT
# test_top_many.sh FWD BUILD_DIR - `fwd top` at the size of a big table:
# the busiest rule shows wherever it is in the file, and a rule whose drops
# the kernel makes before the queue (FWD-EARLY) shows its rate too.
#
# 5,000 TCP rules come first; then `late` (UDP 9999, allowed: judged by
# fwd) and `quiet-drop` (UDP 9998, an unlogged drop by port alone: dropped
# in FWD-EARLY, never queued). The client sends some 300 datagrams a second
# to each. Expected, in `fwd top --once`: both rules with a non-zero rate,
# and `fwd stats` counting quiet-drop's packets as early drops (so the
# second line is the kernel's count, not fwd's). fwd top before: it read the
# first 4,096 rules of the answer only, and left the kernel's drops out.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
RULES="$T/rules.yaml"
{
	printf 'version: 1\ndefault: allow\nrules:\n'
	seq 0 4999 | awk '{ printf "  - {name: filler-%d, proto: tcp, dport: %d, action: allow}\n", $1, 20000 + $1 }'
	printf '  - {name: late, proto: udp, dport: 9999, action: allow}\n'
	printf '  - {name: quiet-drop, proto: udp, dport: 9998, action: drop}\n'
} >"$RULES"
fwd_start "$RULES"

# About 300 datagrams a second to each port for 8 s, in the background.
udp_trickle 8 30 9999 9998
sleep 2

nsx g "$FWD" top --socket "$SOCK" --once >"$T/top.txt" 2>&1
sed 's/^/    top| /' "$T/top.txt"
assert_grep "rule 5,001 of 5,002 (late) with a non-zero rate" '^late +allow +[1-9][0-9]* +[1-9][0-9]*$' \
	"$T/top.txt"
assert_grep "quiet-drop, dropped in the kernel, with a non-zero rate" \
	'^quiet-drop +drop +[1-9][0-9]* +[1-9][0-9]*$' "$T/top.txt"
stats "$T/s.json"
assert_ge "fwd stats: quiet-drop's packets are early drops" 1 "$(jget "$T/s.json" rule:quiet-drop.early)"
assert_eq "fwd stats: late's are judged by fwd" 0 "$(jget "$T/s.json" rule:late.early)"
fwd_stop
assert_eq "exit status" 0 "$FWD_STATUS"
e2e_finish
