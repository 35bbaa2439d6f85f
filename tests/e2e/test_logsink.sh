#!/bin/bash
# SPDX-License-Identifier: MIT
# test_logsink.sh FWD BUILD_DIR - where fwd's lines go when things go wrong.
#
# 1. Without --foreground the sink is syslog; where /dev/log takes nothing
#    (absent here, or replaced by a plain file in a mount namespace of fwd's
#    own), fwd says so at start and logs to stderr instead.
# 2. 500 logged drops at once at the default limit (burst 50): 50 lines, and
#    within about a second of the flood's end, with no packet after it,
#    `fwd stats` log.suppressed, the metric and a summary line say 450.
# 3. SIGUSR2 with format: json writes one JSON object with the stats.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up

rules() {	# FORMAT
	cat <<-YAML
	version: 1
	default: allow
	log: drops
	daemon:
	  inspect: every-packet
	  queues: 1
	  log: {format: $1}
	  metrics: {file: $T/fwd.prom, interval: 1}
	rules:
	  - name: flood
	    proto: udp
	    dport: 9999
	    action: drop
	YAML
}

send_udp() {	# PORT N
	nsx c "$PY" - "$1" "$2" <<-'PYEOF'
	import socket, sys
	port, n = int(sys.argv[1]), int(sys.argv[2])
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("10.10.1.2", 40000))
	for i in range(n):
	    s.sendto(b"x" * 18, ("10.10.2.2", port))
	print(n)
	PYEOF
}

# --- 1. syslog without a listener ------------------------------------------
rules kv >"$T/rules.yaml"
: >"$T/not-a-socket"
echo "--- fwd run (syslog sink, no /dev/log)" >>"$FWD_LOG"
ip netns exec "$NS_G" unshare -m sh -c \
	'[ -e /dev/log ] && mount --bind "$1" /dev/log; exec "$2" run -c "$3" --socket "$4" --pidfile "$5"' \
	sh "$T/not-a-socket" "$FWD" "$T/rules.yaml" "$SOCK" "$PIDFILE" >>"$FWD_LOG" 2>&1 &
FWD_PID=$!
fwd_wait_ready 10 || { fail "fwd did not start without /dev/log"; e2e_finish; }
assert_grep "the unreachable syslog is reported at start" \
	'^fwd: cannot log to syslog: /dev/log: .*; logging to stderr$' "$FWD_LOG"
log_wait 1 '^fwd: started: ' 3
assert_grep "the start line reaches stderr instead" '^fwd: started: ' "$FWD_LOG"

# --- 2. a flood's suppressed events, counted when it ends -------------------
assert_eq "flood sent" 500 "$(send_udp 9999 500)"
t_end=$(now_ms)
S=$T/s.json
counted() {
	stats "$S" >/dev/null || return 1
	[ "$(jget "$S" rule:flood.packets)" = 500 ] &&
		[ $(($(jget "$S" log.written) + $(jget "$S" log.suppressed))) = 500 ]
}
wait_for 3 counted
t_seen=$(now_ms)
stats "$S"
w=$(jget "$S" log.written) s=$(jget "$S" log.suppressed)
say "flood: packets $(jget "$S" rule:flood.packets) written $w suppressed $s after $((t_seen - t_end)) ms"
assert_eq "the flood was judged" 500 "$(jget "$S" rule:flood.packets)"
assert_range "lines written at burst 50 (10/s)" 50 52 "$w"
assert_eq "log.suppressed counts the rest, with no packet after the flood" $((500 - w)) "$s"
assert_range "counted within about a second of the flood's end (ms)" 0 1600 $((t_seen - t_end))
assert_eq "the log has $w verdict lines" "$w" "$(log_count '^fwd: drop rule=flood ')"
summ=$(grep -E '^fwd: suppressed [0-9]+ events rule=flood$' "$FWD_LOG" |
	sed -E 's/^fwd: suppressed ([0-9]+) .*/\1/' | awk '{ n += $1 } END { print n + 0 }')
assert_eq "summary lines add up to log.suppressed" "$s" "$summ"
wait_for 3 grep -qx "fwd_log_events_suppressed_total $s" "$T/fwd.prom"
assert_grep "the metric says $s" "^fwd_log_events_suppressed_total $s\$" "$T/fwd.prom"
fwd_stop

# --- 3. SIGUSR2 with format: json --------------------------------------------
rules json >"$T/rules.yaml"
fwd_start "$T/rules.yaml"
kill -USR2 "$FWD_PID"
log_wait 1 '"event_type":"stats"' 3
line=$(grep '"event_type":"stats"' "$FWD_LOG" | tail -n 1)
if printf '%s' "$line" | "$PY" -c '
import json, sys
o = json.loads(sys.stdin.read())
assert o["event_type"] == "stats", o
assert o["stats"]["rules"][0]["name"] == "flood", o["stats"]["rules"]
assert "suppressed" in o["stats"]["log"]
' 2>"$T/py.err"; then
	pass "SIGUSR2 writes one JSON object with the stats"
else
	fail "SIGUSR2 line is not the stats as JSON: $line ($(cat "$T/py.err" | tail -n 1))"
fi
assert_no_grep "no stats table inside message fields" '"message":"stats' "$FWD_LOG"
fwd_stop
e2e_finish
