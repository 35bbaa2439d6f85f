#!/bin/bash
# SPDX-License-Identifier: MIT
# test_reload.sh FWD BUILD_DIR - SIGHUP and `fwd reload` change verdicts;
# broken files keep the old ones.
#
# The rule "flip" allows or drops tcp 2222; "steady" always allows 2424. The
# broken files drop 2222 before their error, so applying one even partly
# would show as a drop.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,2424
RULES="$T/rules.yaml"
R="$E2E_DIR/rules"
rules_put "$R/reload-allow.yaml" "$RULES"
fwd_start "$RULES"

reloads() {	# -> "OK FAILED"
	stats "$T/s.json" >/dev/null && jget "$T/s.json" reloads.ok reloads.failed | tr '\n' ' ' | sed 's/ $//'
}

reloads_are() { [ "$(reloads)" = "$1" ]; }

hup_and_wait() {	# EXPECTED-"OK FAILED"
	fwd_hup
	wait_for 5 reloads_are "$1"
	assert_eq "reload counters after SIGHUP" "$1" "$(reloads)"
}

verdicts() {	# DESC EXPECT-2222 (answer|timeout)
	local want=$2
	[ "$want" = answer ] && want="fwd-e2e tcp 2222"
	assert_eq "$1: tcp 2222" "$want" "$(client tcp 10.10.2.2 2222 --timeout 2)"
	assert_eq "$1: tcp 2424" "fwd-e2e tcp 2424" "$(client tcp 10.10.2.2 2424)"
}

ctl_reload() {	# -> output; RELOAD_RC
	RELOAD_OUT=$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)
	RELOAD_RC=$?
}

assert_eq "reload counters at start" "0 0" "$(reloads)"
verdicts "initial file" answer

rules_put "$R/reload-drop.yaml" "$RULES"
hup_and_wait "1 0"
log_wait 1 "fwd: reloaded rules from $RULES: 3 rules\$"
assert_grep "log: reloaded line" "fwd: reloaded rules from $RULES: 3 rules\$" "$FWD_LOG"
verdicts "after SIGHUP with 2222 dropped" timeout

rules_put "$R/reload-allow.yaml" "$RULES"
ctl_reload
assert_eq "fwd reload (valid file) exit status" 0 "$RELOAD_RC"
assert_eq "fwd reload (valid file) output" "ok: 3 rules" "$RELOAD_OUT"
assert_eq "reload counters after fwd reload" "2 0" "$(reloads)"
verdicts "after fwd reload with 2222 allowed" answer

rules_put "$R/reload-bad-syntax.yaml" "$RULES"
hup_and_wait "2 1"
log_wait 1 'fwd: reload failed, keeping the old rules:'
assert_eq "log: reload failed lines" 1 "$(log_count 'fwd: reload failed, keeping the old rules:')"
verdicts "after SIGHUP with a syntax error" answer

rules_put "$R/reload-bad-semantic.yaml" "$RULES"
hup_and_wait "2 2"
log_wait 2 'fwd: reload failed, keeping the old rules:'
assert_eq "log: reload failed lines" 2 "$(log_count 'fwd: reload failed, keeping the old rules:')"
assert_grep "log: the diagnostic quotes file, line and value" \
	"$RULES:12:[0-9]+: error: .*70000" "$FWD_LOG"
verdicts "after SIGHUP with a semantic error" answer

ctl_reload
assert_eq "fwd reload (semantic error) exit status" 1 "$RELOAD_RC"
if [[ $RELOAD_OUT =~ $RULES:12:[0-9]+:\ error:\ .*70000 ]]; then
	pass "fwd reload (semantic error) prints the diagnostic"
else
	fail "fwd reload (semantic error) output: expected '$RULES:12:C: error: ...70000...', got '$RELOAD_OUT'"
fi
rules_put "$R/reload-bad-syntax.yaml" "$RULES"
ctl_reload
assert_eq "fwd reload (syntax error) exit status" 1 "$RELOAD_RC"
if [[ $RELOAD_OUT =~ $RULES:[0-9]+:[0-9]+:\ error: ]]; then
	pass "fwd reload (syntax error) prints a diagnostic"
else
	fail "fwd reload (syntax error) output: expected '$RULES:L:C: error: ...', got '$RELOAD_OUT'"
fi
assert_eq "reload counters after failed fwd reloads" "2 4" "$(reloads)"
verdicts "after failed fwd reloads" answer

# A valid file whose policy test fails is refused like a broken one.
rules_put "$R/reload-test-fails.yaml" "$RULES"
ctl_reload
assert_eq "fwd reload (failing test) exit status" 1 "$RELOAD_RC"
if [[ $RELOAD_OUT =~ $RULES:20:[0-9]+:\ error:\ test\ failed:\ .*2222.*expected\ \'allow\ flip\' ]]; then
	pass "fwd reload (failing test) prints the failed test"
else
	fail "fwd reload (failing test) output: expected '$RULES:20:C: error: test failed: ...', got '$RELOAD_OUT'"
fi
assert_eq "reload counters after the failing test" "2 5" "$(reloads)"
verdicts "after a file whose test fails" answer

# A good file after the failures still takes effect.
rules_put "$R/reload-drop.yaml" "$RULES"
ctl_reload
assert_eq "fwd reload after failures exit status" 0 "$RELOAD_RC"
assert_eq "reload counters at the end" "3 5" "$(reloads)"
verdicts "after the final reload" timeout
assert_eq "server saw 2222 exactly when allowed" 6 "$(server_seen tcp 2222)"

# On a host that forwards no IPv4 a reload says so, naming a rule of the new
# file (read before the compile frees the rules).
nsx g sh -c 'echo 0 >/proc/sys/net/ipv4/ip_forward'
ctl_reload
nsx g sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
assert_eq "fwd reload with ip_forward 0 exit status" 0 "$RELOAD_RC"
log_wait 1 "fwd: reload: net.ipv4.ip_forward is 0"
assert_grep "log: a reload warns that the host forwards no IPv4" \
	"fwd: reload: net.ipv4.ip_forward is 0: .* rules such as 'flip' " "$FWD_LOG"

# daemon: fail and queue_num wait for a restart: the reload takes the rules,
# keeps the running values (no --queue-bypass appears) and says so, in its
# answer and in the log, naming the old and the new value.
sed 's/^log: none$/log: none\ndaemon: {fail: open, queue_num: 7}/' \
	"$R/reload-allow.yaml" >"$T/restart.yaml"
rules_put "$T/restart.yaml" "$RULES"
ctl_reload
assert_eq "fwd reload (fail, queue_num changed) exit status" 0 "$RELOAD_RC"
assert_eq "fwd reload (fail, queue_num changed) output" "ok: 3 rules
$RULES: warning: daemon: fail: closed -> open takes effect at the next restart; the old value stays in force until then
$RULES: warning: daemon: queue_num: 0 -> 7 takes effect at the next restart; the old value stays in force until then" \
	"$RELOAD_OUT"
log_wait 1 "fwd: reload: daemon: fail: closed -> open takes effect at the next restart"
assert_grep "log: the reload names fail's change" \
	"fwd: reload: daemon: fail: closed -> open takes effect at the next restart" "$FWD_LOG"
assert_eq "the jump still fails closed" 0 \
	"$(nsx g iptables-save -t mangle | grep -c -- '--queue-bypass')"
verdicts "after the reload with fail: open" answer

assert_eq "fwd still running" yes "$(alive "$FWD_PID" && echo yes || echo no)"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
