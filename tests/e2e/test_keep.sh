#!/bin/bash
# SPDX-License-Identifier: MIT
# test_keep.sh FWD BUILD_DIR - blocked sources across a restart and a crash.
#
# `fwd run --state-file PATH`: fwd writes the members of its dynamic sets
# within 5 s of a change and when it stops (SIGQUIT for a restart,
# SIGTERM), and the next fwd reads them back, less the time between.
# 10.10.1.3 and fd00:1::2 blocked by `fwd block`, and the range
# 10.10.9.0/24, stay blocked through a restart; an unblocked one stays
# unblocked; a block, and an unblock, outlive a kill -9 a few seconds
# later; rules without dynamic sets take the file away; a step of the
# wall clock between two fwds takes no time off; a file with a
# line that is not a member keeps the members it has and says which line,
# where.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
nsx c ip addr add 10.10.1.3/24 dev veth-c
servers_start --tcp 2222
RULES="$T/rules.yaml"
STATE="$T/sets.state"
cat >"$RULES" <<'YAML'
version: 1
default: drop
dynamic:
  blocked: {timeout: 10m}
rules:
  - {name: blocked, src: $blocked, action: drop}
  - {name: ssh, proto: tcp, dport: 2222, action: allow}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML

ssh_from() { client tcp "$1" 2222 --src "$2" --timeout 1; }
block() { nsx g "$FWD" block --socket "$SOCK" "$@" 2>&1; }
members() {	# what `fwd stats` says of set blocked, one "ADDR" a line
	nsx g "$FWD" stats --socket "$SOCK" | awk '/^set blocked:/ { on = 1; next }
		on && /^    / { print $1; next } { on = 0 }' | sort
}

fwd_start "$RULES" --state-file "$STATE"
assert_eq "block 10.10.1.3" "ok: 10.10.1.3/32 in blocked for 600 s" "$(block 10.10.1.3)"
assert_eq "block fd00:1::2" "ok: fd00:1::2/128 in blocked for 600 s" "$(block fd00:1::2)"
assert_eq "block 10.10.9.0/24" "ok: 10.10.9.0/24 in blocked for 600 s" "$(block 10.10.9.0/24)"
assert_eq "10.10.1.3 is blocked" timeout "$(ssh_from 10.10.2.2 10.10.1.3)"
assert_eq "10.10.1.2 is not" "fwd-e2e tcp 2222" "$(ssh_from 10.10.2.2 10.10.1.2)"

fwd_stop QUIT
assert_eq "exit status after SIGQUIT" 0 "$FWD_STATUS"
assert_grep "the stop saved three members" \
	"fwd: state: 3 members of dynamic sets saved to $STATE\$" "$FWD_LOG"
assert_eq "the state file is root's alone" 600 "$(stat -c %a "$STATE")"
assert_grep "its header" '^# fwd: members of the dynamic sets' "$STATE"
assert_grep "10.10.1.3, with its time left" '^blocked 10\.10\.1\.3 - (59[0-9]|600)[0-9]{3}$' "$STATE"
assert_grep "fd00:1::2" '^blocked fd00:1::2 - [0-9]+$' "$STATE"
assert_grep "the range, as a prefix" '^blocked 10\.10\.9\.0/24 - [0-9]+$' "$STATE"

fwd_start "$RULES" --state-file "$STATE"
assert_grep "the next fwd restored them" \
	"fwd: state: 3 members of dynamic sets restored from $STATE, saved [0-9]+ s ago \\(0 expired meanwhile, 0 of sets not kept, 0 without room\\)\$" "$FWD_LOG"
assert_grep "... and the file is still there (a crash now loses nothing)" \
	'^blocked 10\.10\.1\.3 - [0-9]+$' "$STATE"
assert_eq "fwd stats: the members" "10.10.1.3 10.10.9.0/24 fd00:1::2" "$(members | tr '\n' ' ' | sed 's/ $//')"
assert_eq "10.10.1.3 is still blocked" timeout "$(ssh_from 10.10.2.2 10.10.1.3)"
assert_eq "fd00:1::2 is still blocked" timeout "$(client tcp fd00:2::2 2222 --timeout 1)"
assert_eq "10.10.1.2 is still not" "fwd-e2e tcp 2222" "$(ssh_from 10.10.2.2 10.10.1.2)"

# Unblocked before a stop (SIGTERM this time): not in the file.
assert_eq "unblock 10.10.1.3" "ok: 1 entries removed" "$(nsx g "$FWD" unblock --socket "$SOCK" 10.10.1.3)"
fwd_stop
assert_grep "the stop saved two" "fwd: state: 2 members of dynamic sets saved to $STATE\$" "$FWD_LOG"
fwd_start "$RULES" --state-file "$STATE"
assert_eq "10.10.1.3 stays unblocked" "fwd-e2e tcp 2222" "$(ssh_from 10.10.2.2 10.10.1.3)"
assert_eq "fwd stats: the members" "10.10.9.0/24 fd00:1::2" "$(members | tr '\n' ' ' | sed 's/ $//')"

# A crash: what changed more than 5 s before it is not lost.
in_file() { grep -q "^blocked $1 " "$STATE"; }
assert_eq "block 10.10.1.3 again" "ok: 10.10.1.3/32 in blocked for 600 s" "$(block 10.10.1.3)"
t0=$(now_ms)
wait_for 8 in_file 10.10.1.3 || fail "10.10.1.3 is not in the state file 8 s after its block"
assert_range "the file has the block within 5 s (ms)" 0 6500 "$(($(now_ms) - t0))"
fwd_kill9
fwd_start "$RULES" --state-file "$STATE"
assert_grep "after kill -9, the next fwd restored three" \
	"fwd: state: 3 members of dynamic sets restored from $STATE" "$FWD_LOG"
assert_eq "10.10.1.3 is blocked after the crash" timeout "$(ssh_from 10.10.2.2 10.10.1.3)"
assert_eq "unblock 10.10.1.3" "ok: 1 entries removed" "$(nsx g "$FWD" unblock --socket "$SOCK" 10.10.1.3)"
wait_for 8 eval '! in_file 10.10.1.3' || fail "10.10.1.3 is still in the state file 8 s after its unblock"
fwd_kill9
fwd_start "$RULES" --state-file "$STATE"
assert_eq "10.10.1.3 stays unblocked after a crash" "fwd-e2e tcp 2222" "$(ssh_from 10.10.2.2 10.10.1.3)"
assert_eq "fwd stats: the members after the crash" "10.10.9.0/24 fd00:1::2" \
	"$(members | tr '\n' ' ' | sed 's/ $//')"
fwd_stop

# Rules without dynamic sets: no member is left to keep, and the file goes.
cp "$STATE" "$T/sets.kept"
grep -v -e '^dynamic:' -e '^  blocked:' -e 'src: \$blocked' "$RULES" >"$T/plain.yaml"
fwd_start "$T/plain.yaml" --state-file "$STATE"
wait_for 8 eval '! test -e "$STATE"' || fail "the state file is still there 8 s after a start without dynamic sets"
fwd_stop
mv "$T/sets.kept" "$STATE"

# The wall clock stepped 10 days forward since the file was written (the
# first NTP sync of a gateway without a battery-backed clock): the file
# says which boot wrote it and when by the boot clock, so the blocks stay.
assert_grep "the file names this boot" "^boot $(cat /proc/sys/kernel/random/boot_id) [0-9]+\$" "$STATE"
sed "s/^saved .*/saved $(($(now_ms) - 10 * 86400000))/" "$STATE" >"$STATE.new"
mv "$STATE.new" "$STATE"
fwd_start "$RULES" --state-file "$STATE"
grep 'members of dynamic sets restored' "$FWD_LOG" | tail -1 >"$T/restored"
assert_grep "a step of the wall clock is no time gone" \
	"fwd: state: 2 members of dynamic sets restored from $STATE, saved [0-9] s ago \\(0 expired meanwhile" "$T/restored"
assert_eq "fwd stats: the members after the step" "10.10.9.0/24 fd00:1::2" \
	"$(members | tr '\n' ' ' | sed 's/ $//')"
fwd_stop

# A line that is not a member: the others still come back.
{
	sed -n '1,2p' "$STATE"
	echo "blocked 10.10.1.300 - 60000"
	echo "blocked 10.10.1.3 - 60000"
} >"$STATE.new"
mv "$STATE.new" "$STATE"
fwd_start "$RULES" --state-file "$STATE"
assert_grep "the bad line, with its line and column" \
	"fwd: state: $STATE:3:9: '10.10.1.300': not an address or prefix; 1 lines that are not members skipped\$" "$FWD_LOG"
assert_grep "the good one restored" "fwd: state: 1 members of dynamic sets restored from $STATE" "$FWD_LOG"
assert_eq "10.10.1.3 is blocked again" timeout "$(ssh_from 10.10.2.2 10.10.1.3)"
fwd_stop
assert_no_sanitizer_report
e2e_finish
