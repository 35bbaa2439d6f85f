#!/bin/bash
# SPDX-License-Identifier: MIT
# test_instance.sh FWD BUILD_DIR - one fwd per network namespace.
#
# fwd's chain names are global to a namespace. A second `fwd run` there, even
# with its own socket and queue, must refuse to start, name the first (pid and
# control socket), and leave the first one's chains, socket and pidfile as
# they were: the first goes on inspecting. A start that fails for another
# reason (a --no-hooks instance finding the queue bound) leaves the pidfile
# it never wrote alone. Once the first stops, a new one starts normally.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,2323
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/instance.yaml" "$RULES"
fwd_start "$RULES"
first=$FWD_PID

# The second instance: its own socket, another queue, the same pidfile.
second() {	# LOG ARGS...
	local log=$1
	shift
	timeout 20 ip netns exec "$NS_G" "$FWD" run -c "$RULES" --foreground \
		--pidfile "$PIDFILE" "$@" >"$log" 2>&1
}
# --no-hooks claims no namespace, but its queue is taken: it fails, and must
# leave the pidfile it never wrote alone.
second "$T/d.log" --socket "$T/d.sock" --no-hooks
assert_eq "--no-hooks instance on the same queue fails" 1 "$?"
assert_grep "... because the queue is bound" "queue 0 is already bound" "$T/d.log"
assert_eq "a failed start left the first one's pidfile alone" "$first" "$(cat "$PIDFILE" 2>/dev/null)"
second "$T/b.log" --socket "$T/b.sock" --queue-num 5
rc=$?
sed 's/^/    b| /' "$T/b.log"
assert_eq "second instance (other socket, queue 5) refuses to start" 1 "$rc"
assert_grep "it names the first one's pid and socket" \
	"another fwd runs in this network namespace: pid $first, control socket '$SOCK'" "$T/b.log"
second "$T/c.log" --socket "$SOCK"
assert_eq "second instance (same socket, same queue) refuses to start" 1 "$?"

assert_eq "FWD-QUEUE still queues to 0" 1 \
	"$(nsx g iptables-save -t mangle | grep -Ec -- '-A FWD-QUEUE -j NFQUEUE --queue-(num 0|balance 0:)')"
assert_eq "FWD-QUEUE never saw queue 5" 0 \
	"$(nsx g iptables-save -t mangle | grep -Ec -- '--queue-(num|balance) 5')"
assert_eq "the first one's pidfile is intact" "$first" "$(cat "$PIDFILE" 2>/dev/null)"
assert_eq "the first one's socket is there" yes "$(test -S "$SOCK" && echo yes)"
assert_eq "the second one left no socket" no "$(test -e "$T/b.sock" && echo yes || echo no)"
nsx g "$FWD" stats --socket "$SOCK" >/dev/null 2>&1
assert_eq "the first one answers 'fwd stats'" 0 "$?"
assert_eq "tcp 2222 (allowed) answers" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222)"
assert_eq "tcp 2323 (default drop) is still dropped" timeout \
	"$(client tcp 10.10.2.2 2323 --timeout 2)"
assert_eq "server never saw tcp 2323" 0 "$(server_seen tcp 2323)"

fwd_stop
assert_eq "first fwd exit status" 0 "$FWD_STATUS"
assert_eq "chains gone with the first" 0 "$(nsx g iptables-save -t mangle | grep -c FWD-QUEUE)"
fwd_start "$RULES" --queue-num 5
assert_eq "a new instance starts once the first is gone" 1 \
	"$(nsx g iptables-save -t mangle | grep -Ec -- '-A FWD-QUEUE -j NFQUEUE --queue-(num 5|balance 5:)')"
fwd_stop
assert_eq "new fwd exit status" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
