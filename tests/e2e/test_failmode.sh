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
# removes every FWD- chain and jump. SIGQUIT (systemd's RestartKillSignal)
# stops for a restart: the hooks stay, so until the next fwd new connections
# are dropped while established ones go on; the next fwd takes the hooks
# over. `fwd unhook` removes what a dead fwd left, and refuses a live one's.
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

# A stop for a restart, with two established connections through the gateway.
bg s "$T/stream-server.log" "$PY" "$E2E_DIR/stream.py" serve --ready "$T/stream.ready" 7000
wait_for 5 test -e "$T/stream.ready" || { fail "the stream server did not start"; e2e_finish; }
STREAM="$T/stream.out"
nsx c "$PY" "$E2E_DIR/stream.py" stream --out "$STREAM" --stop "$T/stream.stop" --interval 0.1 \
	v4=10.10.2.2:7000 v6=[fd00:2::2]:7000 >>"$T/stream-client.log" 2>&1 &
E2E_BG_PIDS+=("$!")
streams_up() { [ "$(grep -c '^up ' "$STREAM" 2>/dev/null)" = 2 ]; }
wait_for 5 streams_up || { fail "streams did not connect: $(cat "$STREAM" "$T/stream-client.log")"; e2e_finish; }
seen=$(server_seen tcp 2222)
fwd_stop QUIT
QUIT_MS=$(now_ms)
assert_eq "restart: fwd exit status after SIGQUIT" 0 "$FWD_STATUS"
assert_grep "restart: the stop line says the hooks stay" \
	'fwd: stopped for a restart: the hooks stay, and until the next fwd reads queue 0 the kernel drops new connections \(fail: closed\)$' "$FWD_LOG"
hooks_present "restart, between the two"
assert_eq "restart: tcp 2222 gets nothing between the two" timeout "$(client tcp 10.10.2.2 2222 --timeout 1)"
assert_eq "restart: tcp [fd00:2::2]:2222 gets nothing between the two" timeout \
	"$(client tcp fd00:2::2 2222 --timeout 1)"
assert_eq "restart: the server saw no new connection" "$seen" "$(server_seen tcp 2222)"
assert_ge "restart: the IPv4 stream goes on between the two" 10 "$(stream_after v4 $QUIT_MS)"
assert_ge "restart: the IPv6 stream goes on between the two" 10 "$(stream_after v6 $QUIT_MS)"
fwd_start "$RULES"
assert_eq "restart: tcp 2222 answers the next fwd" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222)"
assert_eq "restart: one jump to FWD-QUEUE (IPv4)" 1 \
	"$(nsx g iptables-save -t mangle | grep -c -- '^-A PREROUTING .*-j FWD-QUEUE')"
assert_eq "restart: one jump to FWD-QUEUE (IPv6)" 1 \
	"$(nsx g ip6tables-save -t mangle | grep -c -- '^-A PREROUTING .*-j FWD-QUEUE')"
NEXT_MS=$(now_ms)
sleep 1
assert_ge "restart: the IPv4 stream goes on under the next fwd" 5 "$(stream_after v4 $NEXT_MS)"
assert_eq "restart: no stream failed" "" "$(grep '^error ' "$STREAM")"
touch "$T/stream.stop"

# What a dead fwd left: `fwd unhook` takes it out; a live fwd's it refuses.
nsx g "$FWD" unhook >"$T/unhook.out" 2>&1
assert_eq "unhook: refused while fwd runs (exit 1)" 1 "$?"
assert_grep "unhook: says who runs" 'another fwd runs in this network namespace: pid [0-9]+' "$T/unhook.out"
hooks_present "unhook refused"
fwd_kill9
nsx g "$FWD" unhook >"$T/unhook.out" 2>&1
assert_eq "unhook: after kill -9 (exit 0)" 0 "$?"
hooks_gone "unhook after kill -9"
assert_eq "unhook: tcp 2222 passes by the host's rules again" "fwd-e2e tcp 2222" \
	"$(client tcp 10.10.2.2 2222)"
fwd_start "$RULES"
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
