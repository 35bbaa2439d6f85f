#!/bin/bash
# SPDX-License-Identifier: MIT
# test_recheck.sh FWD BUILD_DIR - a blocked source loses its established
# connections too, in the stateful mode.
#
# The client keeps four TCP streams open, echoing a line every 0.1 s: from
# 10.10.1.2 to the server (routed) and to the gateway's forward (DNAT),
# from fd00:1::2 to the server, and from 10.10.1.3 to the server. Then
# 10.10.1.2 scans 30 ports and joins `scanners`, whose drop rule comes
# first: its two streams stop within a second, the others go on. The same
# for fd00:1::2. The kernel's conntrack entries of the blocked streams carry
# FWD_RECHECK_MARK beside the operator's own connmark bits. `fwd unblock`
# lets the same connections go on: they were judged again, not killed; the
# next look takes the mark off, and their packets no longer reach fwd.
# `fwd block --for 6s` does by hand what the scan did: 10.10.1.3's stream
# stops, goes on when the block expires, and loses its mark a look later.
# A reload that adds 10.10.1.3 to a blocklist file (a drop rule on a static
# src: alone) stops its stream too; one that takes it out lets it go on; a
# restart onto a file that lists it stops it again.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
command -v conntrack >/dev/null || skip "conntrack (the tool) is not installed"
topo_up
nsx c ip addr add 10.10.1.3/24 dev veth-c
bg s "$T/server.log" "$PY" "$E2E_DIR/stream.py" serve --ready "$T/server.ready" 7000
wait_for 5 test -e "$T/server.ready" || { fail "the stream server did not start"; e2e_finish; }
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
sets:
  droplist: {file: droplist.netset}
dynamic:
  scanners: {timeout: 60s, max: 100}
  banned: {timeout: 10m}
scan:
  ports: 20
  window: 10s
  block: {set: scanners}
rules:
  - {name: droplist, src: $droplist, action: drop}
  - {name: scanners, src: $scanners, action: drop}
  - {name: banned, src: $banned, action: reject}
  - {name: echo, proto: tcp, dport: 7000, action: allow}
  - {name: echo-fwd, proto: tcp, in: veth-gw-c, dst: 10.10.1.1, dport: 8000, action: forward, to: "10.10.2.2:7000"}
  - {name: closed, proto: tcp, action: reject}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML
echo 192.0.2.1 >"$T/droplist.netset"
fwd_start "$RULES"
# The operator's own connection mark, which fwd's bit must leave alone.
nsx g iptables -t mangle -A FORWARD -p tcp --dport 7000 -j CONNMARK --set-xmark 0x5/0xff
assert_grep "FWD-QUEUE queues marked connections from their source" \
	'-m connmark ! --mark 0x40000000/0x40000000 -j RETURN' \
	<(nsx g iptables-save -t mangle)

STREAM="$T/stream.out"
STOP="$T/stream.stop"
nsx c "$PY" "$E2E_DIR/stream.py" stream --out "$STREAM" --stop "$STOP" --interval 0.1 \
	bad=10.10.2.2:7000/10.10.1.2 badfwd=10.10.1.1:8000/10.10.1.2 \
	bad6=[fd00:2::2]:7000/fd00:1::2 good=10.10.2.2:7000/10.10.1.3 >>"$T/client.log" 2>&1 &
E2E_BG_PIDS+=("$!")
streams_up() { [ "$(grep -c '^up ' "$STREAM" 2>/dev/null)" = 4 ]; }
wait_for 5 streams_up || { fail "streams did not connect: $(cat "$STREAM" "$T/client.log")"; e2e_finish; }
sleep 1

scan() {	# SRC HOST: 30 ports
	local p
	for p in $(seq 1001 1030); do
		client tcp "$2" $p --src "$1" --timeout 0.3 >/dev/null
	done
}

scan 10.10.1.2 10.10.2.2
log_wait 1 'fwd: scan src=10\.10\.1\.2 '
log_wait 1 'recheck: 2 established connections of blocked sources go to the rules again \([0-9]+ read in [0-9]+ ms\)' 3
CUT_MS=$(($(now_ms) + 500))
sleep 2
assert_eq "the scanner's routed stream stopped" 0 "$(stream_after bad $CUT_MS)"
assert_eq "the scanner's forwarded stream stopped" 0 "$(stream_after badfwd $CUT_MS)"
assert_ge "another source's stream goes on" 10 "$(stream_after good $CUT_MS)"
assert_ge "the scanner's IPv6 stream goes on (another source)" 10 "$(stream_after bad6 $CUT_MS)"
assert_eq "no stream failed" "" "$(grep '^error ' "$STREAM")"
marks=$(nsx g conntrack -L -p tcp --orig-src 10.10.1.2 2>/dev/null | grep -c 'mark=1073741829 ')
assert_eq "both marked, the operator's bits kept (0x40000005)" 2 "$marks"
assert_eq "the other source's connection is not marked" 0 \
	"$(nsx g conntrack -L -p tcp --orig-src 10.10.1.3 2>/dev/null | grep -c 'mark=10737')"

scan fd00:1::2 fd00:2::2
log_wait 1 'fwd: scan src=fd00:1::2 '
log_wait 1 'recheck: 1 established connections of blocked sources go to the rules again \([0-9]+ read in [0-9]+ ms\)' 3
CUT6_MS=$(($(now_ms) + 500))
sleep 2
assert_eq "the IPv6 scanner's stream stopped" 0 "$(stream_after bad6 $CUT6_MS)"
assert_ge "the other source's stream still goes on" 10 "$(stream_after good $CUT6_MS)"
stats "$T/s.json"
assert_eq "fwd stats: queue.rechecked" 3 "$(jget "$T/s.json" queue.rechecked)"

# Unblocked, the same connections pass again (TCP retransmits what waited).
UNBLOCK_MS=$(now_ms)
assert_eq "fwd unblock" "ok: 1 entries removed" "$(nsx g "$FWD" unblock --socket "$SOCK" 10.10.1.2)"
resumed() { [ "$(stream_after bad $UNBLOCK_MS)" -gt 0 ] && [ "$(stream_after badfwd $UNBLOCK_MS)" -gt 0 ]; }
wait_for 20 resumed && pass "both streams go on after unblock" ||
	fail "after unblock: bad $(stream_after bad $UNBLOCK_MS), badfwd $(stream_after badfwd $UNBLOCK_MS) echoes"
assert_eq "the IPv6 stream stays stopped" 0 "$(stream_after bad6 $CUT6_MS)"
# ... and the marks come off: their packets go by in the kernel again.
log_wait 1 'recheck: 2 connections of sources no longer blocked leave the queue \([0-9]+ read in [0-9]+ ms\)' 3
assert_eq "both marks off, the operator's bits kept (0x5)" 2 \
	"$(nsx g conntrack -L -p tcp --orig-src 10.10.1.2 2>/dev/null | grep -c 'mark=5 ')"
stats "$T/s1.json"
RELEASE_MS=$(now_ms)
sleep 1
stats "$T/s2.json"
assert_ge "the forwarded stream goes on after the release" 5 "$(stream_after badfwd $RELEASE_MS)"
assert_eq "... and none of its packets reach fwd (echo-fwd's count stays)" \
	"$(jget "$T/s1.json" rule:echo-fwd.packets)" "$(jget "$T/s2.json" rule:echo-fwd.packets)"

block() { nsx g "$FWD" block --socket "$SOCK" "$@" 2>&1; }
assert_eq "fwd block: two sets block" "error: 2 sets block: name one with --set" "$(block 10.10.1.3)"
assert_eq "fwd block: no such set" "error: no dynamic set 'nosuch'" "$(block --set nosuch 10.10.1.3)"
block --set nosuch 10.10.1.3 >/dev/null
assert_eq "fwd block refused: exit 1" 1 "$?"
assert_eq "fwd block" "ok: 10.10.1.3/32 in scanners for 6 s" "$(block --set scanners --for 6s 10.10.1.3)"
EXPIRES_MS=$(($(now_ms) + 6000))
log_wait 1 'block: 10\.10\.1\.3/32 in scanners for 6 s \(fwd block\)'
log_wait 2 'recheck: 1 established connections of blocked sources go to the rules again' 3
BLOCK_MS=$(($(now_ms) + 500))
sleep 2
assert_eq "the blocked source's stream stopped" 0 "$(stream_after good $BLOCK_MS)"
assert_ge "the scanner's routed stream still goes on" 10 "$(stream_after bad $BLOCK_MS)"
assert_ge "the scanner's forwarded stream still goes on" 10 "$(stream_after badfwd $BLOCK_MS)"
# The block expires: the stream goes on, and a later look takes the mark off.
log_wait 1 'recheck: 1 connections of sources no longer blocked leave the queue' 15
assert_ge "the stream goes on after the block expired" 10 "$(stream_after good $EXPIRES_MS)"
assert_eq "its mark is off, the operator's bits kept (0x5)" 1 \
	"$(nsx g conntrack -L -p tcp --orig-src 10.10.1.3 2>/dev/null | grep -c 'mark=5 ')"

# A blocklist that a reload changes (a drop rule on a static src: alone).
echo 10.10.1.3 >>"$T/droplist.netset"
fwd_hup
log_wait 3 'recheck: 1 established connections of blocked sources go to the rules again' 5
assert_eq "the reload marked its connection" 1 \
	"$(nsx g conntrack -L -p tcp --orig-src 10.10.1.3 2>/dev/null | grep -c 'mark=1073741829 ')"
LIST_MS=$(($(now_ms) + 500))
sleep 2
assert_eq "a reload that lists 10.10.1.3 stops its stream" 0 "$(stream_after good $LIST_MS)"
assert_ge "the scanner's unlisted stream goes on" 10 "$(stream_after bad $LIST_MS)"
echo 192.0.2.1 >"$T/droplist.netset"
UNLIST_MS=$(now_ms)
fwd_hup
log_wait 2 'recheck: 1 connections of sources no longer blocked leave the queue' 5
assert_eq "... and the next look takes its mark off" 1 \
	"$(nsx g conntrack -L -p tcp --orig-src 10.10.1.3 2>/dev/null | grep -c 'mark=5 ')"
good_goes_on() { [ "$(stream_after good $UNLIST_MS)" -ge 5 ]; }
wait_for 10 good_goes_on && pass "a reload that unlists it lets its stream go on" ||
	fail "after the unlisting reload: $(stream_after good $UNLIST_MS) echoes of good"

# A restart onto a file that lists 10.10.1.3 and has no dynamic set (the
# hooks stay between the two processes): the new fwd's first look judges
# its connection again, as a reload's would.
echo 10.10.1.3 >>"$T/droplist.netset"
grep -v -e '^dynamic:' -e '^  scanners:' -e '^  banned:' -e '^scan:' -e '^  ports:' \
	-e '^  window:' -e '^  block:' -e 'src: \$scanners' -e 'src: \$banned' "$RULES" >"$T/static.yaml"
fwd_stop QUIT
fwd_start "$T/static.yaml"
log_wait 4 'recheck: 1 established connections of blocked sources go to the rules again' 5 ||
	fail "no recheck at the start of a fwd with a blocklist"
RESTART_MS=$(($(now_ms) + 500))
sleep 2
assert_eq "a restart onto a file that lists 10.10.1.3 stops its stream" 0 \
	"$(stream_after good $RESTART_MS)"
assert_ge "the scanner's unlisted stream goes on after the restart" 10 "$(stream_after bad $RESTART_MS)"
touch "$STOP"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
