#!/bin/bash
# SPDX-License-Identifier: MIT
# test_failmode.sh FWD BUILD_DIR - traffic while fwd is down; clean stop.
#
# `fail: closed`: kill -9 leaves fwd's NFQUEUE rule without a listener, so
# the kernel drops new connections; a restarted fwd (finding its old chains,
# socket and pidfile) lets them through again at once. `fail: open`: the
# queue rule has --queue-bypass, so with fwd dead everything queued flows,
# even what the rules would drop (tcp 2525); what fwd's hooks drop before
# the queue (early drops: tcp 2424, default drop) stays dropped. SIGTERM
# removes every FWD- chain and jump.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,2424,2525
RULES="$T/rules.yaml"

ssh_answer() { [ "$(client tcp 10.10.2.2 2222 --timeout 0.5)" = "fwd-e2e tcp 2222" ]; }

hooks_present() {	# DESC
	assert_grep "$1: mangle PREROUTING jumps to FWD-QUEUE (IPv4)" \
		'^-A PREROUTING .*-j FWD-QUEUE' <(nsx g iptables-save -t mangle)
	assert_grep "$1: mangle PREROUTING jumps to FWD-QUEUE (IPv6)" \
		'^-A PREROUTING .*-j FWD-QUEUE' <(nsx g ip6tables-save -t mangle)
}

hooks_gone() {	# DESC
	assert_no_grep "$1: no FWD- chain or jump (iptables-save)" 'FWD-' <(nsx g iptables-save)
	assert_no_grep "$1: no FWD- chain or jump (ip6tables-save)" 'FWD-' <(nsx g ip6tables-save)
}

# --- fail: closed ---
rules_put "$E2E_DIR/rules/failmode-closed.yaml" "$RULES"
fwd_start "$RULES"
log_wait 1 'fwd: started: '
assert_grep "start-up line says fail closed" 'fwd: started: .*fail closed$' "$FWD_LOG"
assert_eq "closed: tcp 2222 answers while fwd runs" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222)"
hooks_present "closed, running"
fwd_kill9
assert_eq "closed: tcp 2222 after kill -9 gets nothing" timeout "$(client tcp 10.10.2.2 2222 --timeout 2)"
assert_eq "closed: tcp [fd00:2::2]:2222 after kill -9 gets nothing" timeout "$(client tcp fd00:2::2 2222 --timeout 2)"
assert_eq "closed: server saw only the first connection" 1 "$(server_seen tcp 2222)"

fwd_start "$RULES"
if wait_for 5 ssh_answer; then
	elapsed=$(($(now_ms) - FWD_START_MS))
	assert_range "closed: traffic flows again after restart (ms from launch)" 0 1500 "$elapsed"
else
	fail "closed: tcp 2222 still blocked 5 s after fwd was restarted"
fi
hooks_present "closed, restarted"
fwd_stop
assert_eq "closed: fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_grep "closed: stop line" 'fwd: stopped$' "$FWD_LOG"
hooks_gone "closed, after SIGTERM"

# --- fail: open ---
rules_put "$E2E_DIR/rules/failmode-open.yaml" "$RULES"
fwd_start "$RULES"
log_wait 3 'fwd: started: '
assert_grep "start-up line says fail open" 'fwd: started: .*fail open$' "$FWD_LOG"
assert_eq "open: tcp 2222 answers while fwd runs" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222)"
assert_eq "open: tcp 2424 (default drop) times out while fwd runs" timeout \
	"$(client tcp 10.10.2.2 2424 --timeout 2)"
assert_eq "open: tcp 2525 (not the partner) times out while fwd runs" timeout \
	"$(client tcp 10.10.2.2 2525 --timeout 2)"
hooks_present "open, running"
fwd_kill9
assert_eq "open: tcp 2222 answers after kill -9" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222)"
assert_eq "open: tcp 2222 answers after kill -9 (IPv6)" "fwd-e2e tcp 2222" "$(client tcp fd00:2::2 2222)"
assert_eq "open: even tcp 2525 passes with fwd dead (queue bypass)" "fwd-e2e tcp 2525" \
	"$(client tcp 10.10.2.2 2525)"
assert_eq "open: tcp 2424 stays dropped with fwd dead (dropped before the queue)" timeout \
	"$(client tcp 10.10.2.2 2424 --timeout 2)"
fwd_start "$RULES"
assert_eq "open: tcp 2424 dropped again after restart" timeout "$(client tcp 10.10.2.2 2424 --timeout 2)"
fwd_stop
assert_eq "open: fwd exit status after SIGTERM" 0 "$FWD_STATUS"
hooks_gone "open, after SIGTERM"
assert_eq "open: tcp 2424 flows with no hooks at all" "fwd-e2e tcp 2424" "$(client tcp 10.10.2.2 2424)"
assert_no_sanitizer_report
e2e_finish
