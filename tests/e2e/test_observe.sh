#!/bin/bash
# SPDX-License-Identifier: MIT
# test_observe.sh FWD BUILD_DIR - what fwd tells about itself: a logged flood
# stays within its rate limit and every event is accounted for; JSON lines
# carry Suricata EVE fields; `fwd stats --json` and the Prometheus metrics
# file count exactly what was sent; a hostile interface name is escaped.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up

# The gateway's client-side interface gets a name with a quote, '=', a
# backslash and a non-ASCII byte (the kernel refuses spaces, '/' and ':').
HOSTILE=$'x"y=z\\\xc3\xa9'
HOSTILE_KV='x\\x22y\\x3dz\\x5c\\xc3\\xa9'
nsx g ip link set veth-gw-c down
nsx g ip link set veth-gw-c name "$HOSTILE" || fail "cannot rename the interface"
nsx g ip link set "$HOSTILE" up
topo_settle	# the link went down: its IPv6 addresses pass DAD again

RATE=200
BURST=30
rules() {	# FORMAT
	cat <<-YAML
	version: 1
	default: allow
	log: drops
	daemon:
	  inspect: every-packet
	  queues: 1
	  early_drop: off  # fwd itself must see each packet: its last-hit stamps
	  log: {format: $1, rate: $RATE/s, burst: $BURST}
	  metrics: {file: $T/fwd.prom, interval: 1}
	rules:
	  - name: flood
	    proto: udp
	    dport: 9999
	    action: drop
	  - name: counted
	    proto: udp
	    dport: 7777
	    action: drop
	    log: false
	  - name: tcp-drop
	    proto: tcp
	    dport: 23
	    action: drop
	YAML
}

# N UDP datagrams from the client to 10.10.2.2:PORT, as fast as python goes.
send_udp() {	# PORT N
	nsx c "$PY" - "$1" "$2" <<-'PYEOF'
	import socket, sys
	port, n = int(sys.argv[1]), int(sys.argv[2])
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("10.10.1.2", 40000))
	sent = 0
	for i in range(n):
	    try:
	        s.sendto(b"x" * 18, ("10.10.2.2", port))
	        sent += 1
	    except OSError:
	        pass
	print(sent)
	PYEOF
}

rules kv >"$T/rules.yaml"
fwd_start "$T/rules.yaml"

# --- exact counts: stats JSON and metrics ---------------------------------
assert_eq "37 datagrams sent" 37 "$(send_udp 7777 37)"
S="$T/s.json"
wait_for 3 sh -c "'$FWD' stats --socket '$SOCK' --json 2>/dev/null | grep -q '\"counted\",\"action\":\"drop\",\"packets\":37'" 2>/dev/null
stats "$S" && assert_eq "stats: rule counted packets" 37 "$(jget "$S" rule:counted.packets)"
assert_eq "stats: rule counted bytes (37 x 46)" $((37 * 46)) "$(jget "$S" rule:counted.bytes)"
now=$(date +%s)
assert_range "stats: last_hit of counted is now" $((now - 5)) $((now + 1)) "$(jget "$S" rule:counted.last_hit)"
assert_eq "stats: last_hit of an unused rule" 0 "$(jget "$S" rule:tcp-drop.last_hit)"

# --- a flood of logged drops ------------------------------------------------
N=100000
t0=$(now_ms)
sent=$(send_udp 9999 $N)
assert_eq "flood datagrams sent" $N "$sent"
# After the flood, wait for a token and send one more: it carries the count
# of events suppressed since the last line.
sleep 0.5
send_udp 9999 1 >/dev/null
t1=$(now_ms)
flood_done() {
	stats "$S" >/dev/null || return 1
	local p w s d
	p=$(jget "$S" rule:flood.packets) w=$(jget "$S" log.written)
	s=$(jget "$S" log.suppressed) d=$(jget "$S" log.dropped)
	[ "$p" -gt 0 ] && [ $((w + s + d)) -eq "$p" ]
}
wait_for 10 flood_done
stats "$S"
p=$(jget "$S" rule:flood.packets)
w=$(jget "$S" log.written)
s=$(jget "$S" log.suppressed)
d=$(jget "$S" log.dropped)
qd=$(jget "$S" queue.queue_dropped)
ud=$(jget "$S" queue.user_dropped)
say "flood: judged $p written $w suppressed $s ring-dropped $d queue_dropped $qd user_dropped $ud"
assert_eq "every flood datagram judged or dropped by the kernel" $((N + 1)) $((p + qd + ud))
assert_eq "written + suppressed + ring-dropped == packets logged" "$p" $((w + s + d))
lines=$(log_count '^fwd: drop rule=flood ')
assert_eq "verdict lines == log.written" "$w" "$lines"
secs=$(((t1 - t0 + 999) / 1000 + 1))
assert_range "verdict lines within rate*duration+burst" 1 $((RATE * secs + BURST)) "$lines"
summ=$(grep -E '^fwd: suppressed [0-9]+ events rule=flood$' "$FWD_LOG" |
	sed -E 's/^fwd: suppressed ([0-9]+) .*/\1/' | awk '{ n += $1 } END { print n + 0 }')
assert_eq "suppression summaries add up to log.suppressed" "$s" "$summ"
assert_ge "some events were suppressed" 1 "$s"
assert_grep "hostile interface name escaped in kv lines" \
	"^fwd: drop rule=flood in=$HOSTILE_KV proto=udp src=10\\.10\\.1\\.2 spt=40000 dst=10\\.10\\.2\\.2 dpt=9999\$" \
	"$FWD_LOG"
assert_no_grep "no raw quote in any line" '"' "$FWD_LOG"

# --- the metrics file ----------------------------------------------------------
sleep 1.5
P="$T/fwd.prom"
if [ -s "$P" ]; then
	if "$PY" "$E2E_DIR/promcheck.py" "$P" \
		"fwd_rule_packets_total{rule=\"counted\",action=\"drop\"}=37" \
		"fwd_rule_bytes_total{rule=\"counted\",action=\"drop\"}=$((37 * 46))" \
		"fwd_rule_packets_total{rule=\"flood\",action=\"drop\"}=$p" \
		"fwd_rule_packets_total{rule=\"tcp-drop\",action=\"drop\"}=0" \
		"fwd_rule_last_hit_seconds{rule=\"tcp-drop\",action=\"drop\"}=0" \
		"fwd_log_events_suppressed_total=$s" "fwd_log_events_dropped_total=$d" \
		'fwd_reloads_total{result="ok"}=0' 'fwd_reloads_total{result="failed"}=0' \
		"fwd_queue_dropped_total=$qd" 'fwd_rules=3' 2>"$T/promcheck.err"; then
		pass "metrics file is valid exposition format with the sent counts"
	else
		fail "promcheck: $(cat "$T/promcheck.err")"
	fi
	# Prometheus' own linter, as an operator's CI runs it on what it scrapes.
	if why=$(deb_fetch prometheus); then
		if "$(deb_root prometheus)/usr/bin/promtool" check metrics <"$P" >"$T/promtool.out" 2>&1; then
			pass "promtool check metrics finds nothing"
		else
			fail "promtool check metrics: $(tr '\n' ' ' <"$T/promtool.out")"
		fi
	else
		say "SKIP promtool check metrics: $why"
	fi
	last=$(grep '^fwd_rule_last_hit_seconds{rule="flood"' "$P" | awk '{ print $2 }')
	now=$(date +%s)
	assert_range "metrics: last hit of flood is now" $((now - 10)) "$now" "$last"
else
	fail "no metrics file at $P"
fi
assert_eq "no metrics .tmp file left" "" "$(ls "$T" | grep 'fwd.prom.tmp' || true)"
fwd_stop
assert_eq "exit status" 0 "$FWD_STATUS"

# --- JSON lines ------------------------------------------------------------------
: >"$FWD_LOG"
rules json >"$T/rules.yaml"
fwd_start "$T/rules.yaml"
send_udp 9999 5 >/dev/null
# Half a second: the SYN's first retransmission (at 1 s) would be a seventh verdict.
client tcp 10.10.2.2 23 --timeout 0.5 >/dev/null
log_wait 6 '"event_type":"verdict"' 5
fwd_stop
"$PY" - "$FWD_LOG" "$HOSTILE" >"$T/json.out" 2>&1 <<-'PYEOF'
import json, sys
want = {"timestamp", "event_type", "src_ip", "src_port", "dest_ip", "dest_port",
        "proto", "action", "rule", "in_iface"}
# fwd escapes every byte outside printable ASCII as \u00XX: one code point per byte.
hostile = sys.argv[2].encode("utf-8", "surrogateescape").decode("latin-1")
verdicts = bad = 0
for no, line in enumerate(open(sys.argv[1], encoding="utf-8", errors="strict"), 1):
    if line.startswith("--- "):
        continue
    try:
        o = json.loads(line)
    except ValueError as e:
        print(f"line {no} is not JSON ({e}): {line!r}")
        bad += 1
        continue
    if o.get("event_type") != "verdict":
        continue
    verdicts += 1
    missing = want - set(o)
    if missing:
        print(f"line {no} lacks {sorted(missing)}: {line!r}")
        bad += 1
    elif o["in_iface"] != hostile or o["src_ip"] != "10.10.1.2" or o["action"] != "drop":
        print(f"line {no}: unexpected values: {line!r}")
        bad += 1
print(f"verdicts {verdicts} bad {bad}")
PYEOF
assert_eq "JSON log: every line parses with EVE fields" "verdicts 6 bad 0" "$(tail -n 1 "$T/json.out")"
[ "$(tail -n 1 "$T/json.out")" = "verdicts 6 bad 0" ] || sed 's/^/    /' "$T/json.out" | head -20
assert_grep "JSON log: tcp-drop rule with ports" \
	'"src_ip":"10\.10\.1\.2","src_port":[0-9]+,"dest_ip":"10\.10\.2\.2","dest_port":23,"proto":"tcp","action":"drop","rule":"tcp-drop"' "$FWD_LOG"
assert_no_sanitizer_report
e2e_finish
