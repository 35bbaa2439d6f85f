#!/bin/bash
# SPDX-License-Identifier: MIT
# test_top.sh FWD BUILD_DIR - `fwd top` in a terminal (tmux) shows the live
# rule names with non-zero rates, the top dropped port and source, and quits
# on 'q'; `fwd top --once` prints one frame.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
command -v tmux >/dev/null 2>&1 || skip "tmux not found"
topo_up
cat >"$T/rules.yaml" <<YAML
version: 1
default: allow
log: drops
daemon:
  inspect: every-packet
rules:
  - name: noisy-drop
    proto: udp
    dport: 9999
    action: drop
  - name: quiet-rule
    proto: tcp
    dport: 2222
    action: allow
YAML
fwd_start "$T/rules.yaml"

# About 500 datagrams a second for 8 s, in the background.
udp_trickle 8 50 9999
sleep 1

ONCE=$(nsx g "$FWD" top --socket "$SOCK" --once)
printf '%s\n' "$ONCE" | grep -Eq '^noisy-drop +drop +[1-9][0-9]* ' &&
	pass "--once: noisy-drop with a non-zero rate" ||
	fail "--once: no non-zero noisy-drop line in: $ONCE"

SESSION="fwd-top-$$"
tmux new-session -d -s "$SESSION" -x 120 -y 40 \
	"ip netns exec $NS_G $FWD top --socket $SOCK"
sleep 3
SCREEN=$(tmux capture-pane -p -t "$SESSION")
printf '%s\n' "$SCREEN" >"$T/screen.txt"
assert_grep "screen: title with a non-zero verdict rate" '^fwd top - [1-9][0-9]* verdicts/s' "$T/screen.txt"
assert_grep "screen: noisy-drop with a non-zero rate" '^noisy-drop +drop +[1-9][0-9]* +[1-9][0-9]*$' "$T/screen.txt"
assert_grep "screen: quiet-rule listed" '^quiet-rule +allow +0 +0$' "$T/screen.txt"
assert_grep "screen: top dropped port and source, labelled by protocol and family" \
	'^udp4/9999 +[1-9][0-9]* +10\.10\.1\.2 +udp +[1-9][0-9]*$' "$T/screen.txt"
assert_grep "screen: queue health" '^queue: [0-9]+ queues, received [1-9][0-9]*, enobufs 0' "$T/screen.txt"
tmux send-keys -t "$SESSION" q
gone() { ! tmux has-session -t "$SESSION" 2>/dev/null; }
if wait_for 3 gone; then pass "'q' quits fwd top"; else
	fail "fwd top still running after 'q'"
	tmux kill-session -t "$SESSION" 2>/dev/null
fi
[ "$E2E_FAILS" = 0 ] || sed 's/^/    screen| /' "$T/screen.txt"
fwd_stop
assert_eq "exit status" 0 "$FWD_STATUS"
e2e_finish
