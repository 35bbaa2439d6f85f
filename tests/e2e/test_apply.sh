#!/bin/bash
# SPDX-License-Identifier: MIT
# test_apply.sh FWD BUILD_DIR - `fwd apply` installs a new rules file and
# rolls it back unless `fwd confirm` comes in time; the rollback does not
# need the applying session; invalid files are refused and change nothing.
#
# The rule "flip" allows (apply-allow.yaml) or drops (apply-drop.yaml) tcp
# 2222; "steady" always allows 2424.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,2424
RULES="$T/rules.yaml"
R="$E2E_DIR/rules"
rules_put "$R/apply-allow.yaml" "$RULES"
fwd_start "$RULES"

reloads_ok() { stats "$T/s.json" >/dev/null && jget "$T/s.json" reloads.ok; }

port() {	# -> "answer" or what client.py printed
	local a
	a=$(client tcp 10.10.2.2 2222 --timeout "${1:-2}")
	[ "$a" = "fwd-e2e tcp 2222" ] && echo answer || echo "$a"
}

port_answers() { [ "$(port 0.5)" = answer ]; }

apply() {	# NEWFILE [ARGS...] -> APPLY_OUT, APPLY_RC
	APPLY_OUT=$(nsx g "$FWD" apply --socket "$SOCK" -c "$RULES" "$@" 2>&1)
	APPLY_RC=$?
}

confirm() {	# -> CONFIRM_OUT, CONFIRM_RC
	CONFIRM_OUT=$(nsx g "$FWD" confirm --socket "$SOCK" 2>&1)
	CONFIRM_RC=$?
}

same_file() {	# DESC EXPECTED-FILE ACTUAL-FILE
	if cmp -s "$2" "$3"; then pass "$1"; else fail "$1: $3 differs from $2"; fi
}

# The watcher of the pending apply (the only process with our socket's name
# and "apply" on its command line).
watcher_pid() { pgrep -f -- "apply --socket $SOCK " | head -n1; }

assert_eq "2222 answers at start" answer "$(port)"

# ---- 1. unconfirmed: rolled back after the confirm time ----------------------
ok0=$(reloads_ok)
t0=$(now_ms)
apply "$R/apply-drop.yaml" --confirm 2s
assert_eq "apply (unconfirmed) exit status" 0 "$APPLY_RC"
assert_eq "apply prints what happens" \
	"applied $R/apply-drop.yaml; confirm within 2s with \`fwd confirm --socket $SOCK\` or it is rolled back" \
	"$APPLY_OUT"
same_file "live file is the new one" "$R/apply-drop.yaml" "$RULES"
same_file "the old one is kept as .prev" "$R/apply-allow.yaml" "$RULES.prev"
assert_eq "daemon reloaded once" $((ok0 + 1)) "$(reloads_ok)"
assert_eq "2222 dropped after apply" timeout "$(port 1)"

# The applying command has exited; the watcher lives on in a session of its
# own and shrugs off the hang-up a dying SSH session sends.
wpid=$(watcher_pid)
if [ -n "$wpid" ]; then
	assert_eq "watcher runs in its own session" "$wpid" "$(ps -o sid= -p "$wpid" | tr -d ' ')"
	kill -HUP "$wpid" 2>/dev/null
	sleep 0.2
	assert_eq "watcher survives SIGHUP" yes "$(alive "$wpid" && echo yes || echo no)"
else
	fail "no watcher process found for the pending apply"
fi

if wait_for 8 port_answers; then
	assert_range "2222 answers again after the rollback (ms after apply)" 1800 8000 \
		$(($(now_ms) - t0))
else
	fail "2222 still dropped 8 s after an unconfirmed 2 s apply"
fi
same_file "live file is the old one again" "$R/apply-allow.yaml" "$RULES"
log_wait 1 "fwd: apply not confirmed in 2s, rolled back to $RULES.prev\$"
assert_grep "log says rolled back" "fwd: apply not confirmed in 2s, rolled back to $RULES.prev\$" \
	"$FWD_LOG"
assert_eq "daemon reloaded the old file" $((ok0 + 2)) "$(reloads_ok)"
[ -n "$wpid" ] && wait_for 3 eval '! alive '"$wpid"
assert_eq "watcher gone after the rollback" "" "$(watcher_pid)"
confirm
assert_eq "late confirm exit status" 1 "$CONFIRM_RC"
assert_eq "late confirm output" "nothing to confirm" "$CONFIRM_OUT"

# ---- 2. confirmed: stays past the deadline -----------------------------------
apply "$R/apply-drop.yaml" --confirm 2s
assert_eq "apply (to confirm) exit status" 0 "$APPLY_RC"
assert_eq "2222 dropped after apply" timeout "$(port 1)"
confirm
assert_eq "confirm exit status" 0 "$CONFIRM_RC"
assert_eq "confirm output" "confirmed" "$CONFIRM_OUT"
log_wait 1 "fwd: apply confirmed within 2s: $RULES stays in force\$"
assert_grep "log says confirmed" "fwd: apply confirmed within 2s: $RULES stays in force\$" "$FWD_LOG"
sleep 3
assert_eq "2222 still dropped past the deadline" timeout "$(port 1)"
same_file "live file is still the new one" "$R/apply-drop.yaml" "$RULES"
assert_eq "only the first apply was rolled back" 1 "$(log_count 'rolled back to')"
assert_eq "no watcher left" "" "$(watcher_pid)"
confirm
assert_eq "second confirm says nothing to confirm" "nothing to confirm" "$CONFIRM_OUT"
assert_eq "second confirm exit status" 1 "$CONFIRM_RC"

# ---- 3. invalid files are refused; nothing changes ---------------------------
ok1=$(reloads_ok)
cp "$RULES" "$T/live.before"
cp "$RULES.prev" "$T/prev.before"
apply "$R/apply-bad.yaml" --confirm 2s
assert_eq "apply (bad port) exit status" 1 "$APPLY_RC"
if [[ $APPLY_OUT =~ apply-bad.yaml:13:[0-9]+:\ error:\ .*70000 ]]; then
	pass "apply prints the diagnostic"
else
	fail "apply (bad port) output: expected 'apply-bad.yaml:13:C: error: ...70000', got '$APPLY_OUT'"
fi
apply "$R/apply-badtest.yaml"
assert_eq "apply (failing policy test) exit status" 1 "$APPLY_RC"
if [[ $APPLY_OUT =~ apply-badtest.yaml:[0-9]+:[0-9]+:\ error:\ test\ failed ]]; then
	pass "apply prints the failed policy test"
else
	fail "apply (failing test) output: expected '...: error: test failed ...', got '$APPLY_OUT'"
fi
same_file "live file unchanged after refusals" "$T/live.before" "$RULES"
same_file ".prev unchanged after refusals" "$T/prev.before" "$RULES.prev"
assert_eq "no reload after refusals" "$ok1" "$(reloads_ok)"
assert_eq "no watcher after refusals" "" "$(watcher_pid)"
assert_eq "nothing to confirm after refusals" "nothing to confirm" "$(nsx g "$FWD" confirm --socket "$SOCK")"
assert_eq "2222 still dropped" timeout "$(port 1)"

# ---- 4. one apply at a time ---------------------------------------------------
apply "$R/apply-allow.yaml" --confirm 20s
assert_eq "apply (allow) exit status" 0 "$APPLY_RC"
apply "$R/apply-drop.yaml"
assert_eq "second apply while one is pending is refused" 1 "$APPLY_RC"
same_file "live file is the pending apply's" "$R/apply-allow.yaml" "$RULES"
confirm
assert_eq "confirm the pending apply" "confirmed" "$CONFIRM_OUT"
assert_eq "2222 answers after the confirmed apply" answer "$(port)"

# ---- 5. set files are checked where the daemon will read them -----------------
# NEWFILE names its blocklist by a relative path. The daemon reads it next to
# the live file, so the policy tests must pass against that list, not the
# one next to NEWFILE: here the live directory's list blocks the tested
# source, and the apply is refused.
mkdir -p "$T/work"
cat > "$T/work/apply-set.yaml" <<'EOF2'
version: 1
default: drop
log: none
sets:
  bl: {file: apply-bl.netset}
rules:
  - {name: blocked, src: $bl, action: drop}
  - {name: flip, proto: tcp, dport: 2222, action: allow}
  - {name: steady, proto: tcp, dport: 2424, action: allow}
  - {name: icmpv6, proto: icmpv6, action: allow}
tests:
  - {packet: "tcp 192.0.2.7:40000 10.10.2.2:2222", expect: allow flip}
EOF2
echo "198.51.100.0/24" > "$T/work/apply-bl.netset"
echo "192.0.2.0/24" > "$T/apply-bl.netset"
ok2=$(reloads_ok)
cp "$RULES" "$T/live.before"
apply "$T/work/apply-set.yaml" --confirm 2s
assert_eq "apply (test fails against the live directory's set file) exit status" 1 "$APPLY_RC"
if [[ $APPLY_OUT =~ apply-set.yaml:[0-9]+:[0-9]+:\ error:\ test\ failed ]]; then
	pass "apply prints the test that fails against the live set file"
else
	fail "apply (live set file) output: expected '...: error: test failed ...', got '$APPLY_OUT'"
fi
same_file "live file unchanged after the set-file refusal" "$T/live.before" "$RULES"
assert_eq "no reload after the set-file refusal" "$ok2" "$(reloads_ok)"
echo "198.51.100.0/24" > "$T/apply-bl.netset"
apply "$T/work/apply-set.yaml" --confirm 20s
assert_eq "apply (live set file lets the test pass) exit status" 0 "$APPLY_RC"
confirm
assert_eq "confirm the set-file apply" "confirmed" "$CONFIRM_OUT"
assert_eq "2222 answers after the set-file apply" answer "$(port)"

assert_eq "fwd still running" yes "$(alive "$FWD_PID" && echo yes || echo no)"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
