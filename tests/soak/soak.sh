#!/bin/bash
# SPDX-License-Identifier: MIT
# soak.sh FWD [BUILD_DIR] - fwd under sustained load and churn (`make soak`;
# not part of `make check`). Runs SOAK_SECONDS (default 600) in the e2e
# namespaces (tests/e2e/lib.sh):
#   - SOAK_RATE (default 2000) UDP packets/s through the gateway, inspect
#     every-packet (build/*/bench/blast when built, else python);
#   - a reload every second (SIGHUP and `fwd reload` in turn);
#   - a log file rotation (mv + SIGUSR1) every 5 s;
#   - control clients that hang or send garbage every 3 s;
#   - the gateway's server-side link down and up every 20 s.
# At the end: RSS and descriptors flat (10% of the run against the end),
# no lost verdict (queue_dropped and user_dropped 0), every reload applied,
# fwd alive and answering. Then kill -9 with fail closed: nothing passes
# while fwd is down, and a restarted fwd passes traffic within 1 s.
# Prints the figures and PASS/FAIL; exit 0/1/77.
. "$(dirname "$0")/../e2e/lib.sh"
e2e_init "$@"
DUR=${SOAK_SECONDS:-600}
RATE=${SOAK_RATE:-2000}
ROOT=$(cd "$E2E_DIR/../.." && pwd)
BLAST=$(ls "$BUILD_DIR/bench/blast" "$ROOT"/build/*/bench/blast 2>/dev/null | head -1)
topo_up
servers_start --tcp 2222 --udp 9000
RULES="$T/rules.yaml"
FLOG="$T/fwd-file.log"
cat >"$RULES" <<YEOF
version: 1
default: drop
log: drops
daemon:
  inspect: every-packet
  fail: closed
  log: {sink: file, file: $FLOG}
rules:
  - {name: ssh, proto: tcp, dport: 2222, action: allow}
  - {name: ssh-back, proto: tcp, sport: 2222, action: allow}
  - {name: sink, proto: udp, dport: 9, action: allow}
  - {name: echo, proto: udp, dport: 9000, action: allow}
  - {name: icmp, proto: [icmp, icmpv6], action: allow}
YEOF
fwd_start "$RULES"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$FWD_PID/status"; }
fds() { ls "/proc/$FWD_PID/fd" | wc -l; }
# The fewest descriptors over 2.5 s: the hostile clients come and go.
fds_min() {
	local m=100000 n
	for _ in 1 2 3 4 5 6; do
		n=$(fds)
		[ "$n" -lt "$m" ] && m=$n
		sleep 0.5
	done
	echo "$m"
}

# Load: UDP to the discard port, answered by nobody (the server namespace
# has no listener on 9; its ICMP errors are rate-limited by the kernel).
if [ -n "$BLAST" ]; then
	say "load: $BLAST udp, $RATE packets/s for ${DUR}s"
	bg c "$T/blast.out" "$BLAST" udp 10.10.2.2 9 "$RATE" $((DUR * 1000)) 16
else
	say "load: python, $RATE packets/s for ${DUR}s (build/*/bench/blast not built)"
	bg c "$T/blast.out" "$PY" -c '
import socket, sys, time
rate, dur = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic(); n = 0
while time.monotonic() - t0 < dur:
    s.sendto(b"x" * 18, ("10.10.2.2", 9)); n += 1
    time.sleep(max(0, t0 + n / rate - time.monotonic()))
print("sent", n)' "$RATE" "$DUR"
fi
LOAD_PID=$BG_PID

abuse() {	# a few hostile control clients, each gone within 2 s
	"$PY" - "$SOCK" <<'PYEOF' &
import os, socket, sys, time
cs = []
for kind in ("hang", "hang", "garbage", "partial", "binary"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sys.argv[1])
        s.settimeout(1)
        if kind == "garbage":
            s.sendall(os.urandom(1 << 16))
        elif kind == "partial":
            s.sendall(b"stats")
        elif kind == "binary":
            s.sendall(os.urandom(300))
    except OSError:
        pass
    cs.append(s)
time.sleep(1.5)
PYEOF
}

t_start=$(date +%s)
t10=$((t_start + DUR / 10))
rss10="" fd10="" reloads=0 rot=0 flaps=0 abuses=0 stats_bad=0
while :; do
	now=$(date +%s)
	el=$((now - t_start))
	[ "$el" -ge "$DUR" ] && break
	alive "$FWD_PID" || { fail "fwd died after ${el}s"; break; }
	if [ $((reloads % 2)) = 0 ]; then
		fwd_hup
	else
		out=$(nsx g timeout 10 "$FWD" reload --socket "$SOCK" 2>&1)
		[[ $out =~ ^ok: ]] || { fail "fwd reload at ${el}s: '$out'"; }
	fi
	reloads=$((reloads + 1))
	if [ $((el % 5)) = 0 ]; then
		mv -f "$FLOG" "$FLOG.1" 2>/dev/null
		kill -USR1 "$FWD_PID"
		rot=$((rot + 1))
	fi
	if [ $((el % 3)) = 0 ]; then
		ip netns exec "$NS_G" bash -c "$(declare -f abuse); PY=$PY SOCK=$SOCK; abuse"
		abuses=$((abuses + 1))
	fi
	if [ $((el % 20)) = 10 ]; then
		nsx g ip link set veth-gw-s down
		sleep 0.5
		nsx g ip link set veth-gw-s up	# ARP and neighbour discovery find the server again
		flaps=$((flaps + 1))
	fi
	nsx g timeout 5 "$FWD" stats --socket "$SOCK" >/dev/null 2>&1 || stats_bad=$((stats_bad + 1))
	if [ -z "$rss10" ] && [ "$now" -ge "$t10" ]; then
		rss10=$(rss_kb) fd10=$(fds_min)
		say "at ${el}s: VmRSS $rss10 kB, $fd10 descriptors"
	fi
	sleep 0.6
done
sleep 3	# the last abusers leave, the last reload settles
rss_end=$(rss_kb) fd_end=$(fds_min)
stats "$T/end.json"
read -r received qd ud rok rfail lw ldrop sinkp hooksr <<<"$(jget "$T/end.json" queue.received \
	queue.queue_dropped queue.user_dropped reloads.ok reloads.failed log.written log.dropped \
	rule:sink.packets hooks.restored | tr '\n' ' ')"
say "figures: ${DUR}s, rate $RATE/s, received $received, sink packets $sinkp, queue_dropped $qd, user_dropped $ud"
say "figures: reloads ok $rok failed $rfail (sent $reloads), log rotations $rot, link flaps $flaps, abuse rounds $abuses, stats failures $stats_bad"
say "figures: VmRSS ${rss10:-?} kB at 10%, $rss_end kB at the end; descriptors ${fd10:-?} at 10%, $fd_end at the end"
say "figures: log written $lw, dropped $ldrop; rotated files: $(ls "$T" | grep -c 'fwd-file.log')"
[ -n "$BLAST" ] && say "load: $(cat "$T/blast.out")"

assert_eq "fwd alive at the end" yes "$(alive "$FWD_PID" && echo yes || echo no)"
assert_eq "queue_dropped" 0 "$qd"
assert_eq "user_dropped" 0 "$ud"
assert_eq "reloads failed" 0 "$rfail"
assert_ge "reloads applied" $((reloads - 1)) "$rok"
assert_eq "fwd stats failures during the run" 0 "$stats_bad"
assert_ge "packets judged (80% of the offered load)" $((RATE * DUR * 8 / 10)) "$sinkp"
assert_range "RSS growth from 10% to the end (kB)" -4096 2048 $((rss_end - ${rss10:-0}))
assert_range "descriptors from 10% to the end" -2 2 $((fd_end - ${fd10:-0}))
assert_grep "the current log file is written after the rotations" 'fwd: ' "$FLOG"
# Each reload and link flap changes fwd's chains and brings a look at them
# (nf_tables reports it): none may take fwd's own change for another tool's.
assert_eq "hooks put back after another tool's change" 0 "$hooksr"

# kill -9, fail closed: nothing passes while fwd is down; a restarted fwd
# passes traffic within 1 s of its launch.
assert_eq "verdicts flow at the end: tcp 2222" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222 --timeout 2)"
if [ "$E2E_FAILS" -gt 0 ]; then
	nsx g ip -br link; nsx g ip route; nsx g ip neigh
fi
kill -KILL "$LOAD_PID" 2>/dev/null
fwd_kill9
assert_eq "fwd down: tcp 2222 gets nothing" timeout "$(client tcp 10.10.2.2 2222 --timeout 1)"
before=$(server_seen tcp 2222)
ssh_ok() { [ "$(client tcp 10.10.2.2 2222 --timeout 0.2)" = "fwd-e2e tcp 2222" ]; }
fwd_start "$RULES"
if wait_for 5 ssh_ok; then
	assert_range "traffic resumes after the restart (ms from launch)" 0 1000 $(($(now_ms) - FWD_START_MS))
else
	fail "tcp 2222 still blocked 5 s after the restart"
fi
assert_eq "the server saw nothing while fwd was down" 1 $(($(server_seen tcp 2222) - before))
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
