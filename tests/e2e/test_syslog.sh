#!/bin/bash
# SPDX-License-Identifier: MIT
# test_syslog.sh FWD BUILD_DIR - the syslog sink when the syslog daemon
# misbehaves. /dev/log is a datagram socket of this test's own (a python
# "syslog daemon"), bind-mounted over /dev in a mount namespace that only fwd
# runs in.
#
# 1. The daemon reads: fwd's lines arrive as "<PRI>TIMESTAMP fwd[PID]: MSG".
#    It goes away: the lines fwd could not send are counted dropped, not
#    written. It comes back: fwd connects again and its lines arrive.
# 2. The daemon reads nothing (its queue full): `fwd stats`, SIGHUP,
#    `fwd reload` and SIGTERM each take well under 2 s, and the lines the
#    daemon did not take are counted dropped.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 80

mkdir -p "$T/dev"
chmod 755 "$T" "$T/dev"
for f in null zero urandom random full; do touch "$T/dev/$f"; done
cat >"$T/syslogd.py" <<'PY'
import os, socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("listening", flush=True)
while mode == "stall":
    time.sleep(1000)
while True:
    print(s.recv(65536).decode(errors="replace"), flush=True)
PY
cat >"$T/rules.yaml" <<YAML
version: 1
default: drop
log: all
daemon:
  log: {sink: syslog}
rules:
  - {name: web, proto: tcp, dport: 80, action: allow}
  - {name: icmpv6, proto: icmpv6, action: allow, log: false}
YAML

syslogd() {	# MODE OUTFILE  (pid in SYSLOGD)
	: >"$2"
	bg g "$2" "$PY" "$T/syslogd.py" "$T/dev/log" "$1"
	SYSLOGD=$BG_PID
	wait_for 5 grep -q listening "$2" || fail "the test's syslog daemon did not start"
}

fwd_start_devlog() {
	echo "--- fwd run (syslog sink, the test's /dev/log)" >>"$FWD_LOG"
	ip netns exec "$NS_G" unshare -m --propagation private sh -c '
		for f in null zero urandom random full; do mount --bind /dev/$f "$1/dev/$f"; done
		mount --bind "$1/dev" /dev
		exec "$2" run -c "$1/rules.yaml" --socket "$3" --pidfile "$4"' \
		sh "$T" "$FWD" "$SOCK" "$PIDFILE" >>"$FWD_LOG" 2>&1 &
	FWD_PID=$!
	fwd_wait_ready 10 || { fail "fwd did not start"; e2e_finish; }
}

connects() {	# N
	for _ in $(seq 1 "$1"); do client tcp 10.10.2.2 80 --timeout 1 >/dev/null; done
}

web_lines() { grep -c 'allow rule=web' "$1"; }

S=$T/s.json
dropped_ge() { stats "$S" >/dev/null && [ "$(jget "$S" log.dropped)" -ge "$1" ]; }

# --- 1. the daemon goes away and comes back ---------------------------------
syslogd read "$T/syslog1.out"
fwd_start_devlog
connects 3
wait_for 3 eval '[ "$(web_lines "$T/syslog1.out")" -ge 3 ]'
assert_eq "the daemon got the 3 verdict lines" 3 "$(web_lines "$T/syslog1.out")"
assert_grep "in glibc's form: <daemon.notice>TIMESTAMP fwd[PID]: MSG" \
	"^<29>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} fwd\\[$FWD_PID\\]: allow rule=web in=" \
	"$T/syslog1.out"
stats "$S"
w0=$(jget "$S" log.written) d0=$(jget "$S" log.dropped)
assert_eq "3 lines written, none dropped" "3 0" "$w0 $d0"

kill "$SYSLOGD"
wait "$SYSLOGD" 2>/dev/null
connects 5
wait_for 3 dropped_ge 5
stats "$S"
say "daemon gone: written $(jget "$S" log.written) dropped $(jget "$S" log.dropped)"
assert_eq "lines nobody took are not counted written" "$w0" "$(jget "$S" log.written)"
assert_ge "the 5 lost lines are counted dropped" 5 "$(jget "$S" log.dropped)"

syslogd read "$T/syslog2.out"
connects 2
wait_for 3 eval '[ "$(web_lines "$T/syslog2.out")" -ge 2 ]'
assert_eq "the daemon back: fwd connects again and its lines arrive" 2 \
	"$(web_lines "$T/syslog2.out")"
fwd_stop
assert_eq "fwd stopped cleanly" 0 "$FWD_STATUS"

# --- 2. the daemon reads nothing ---------------------------------------------
nsx g sysctl -qw net.unix.max_dgram_qlen=8
syslogd stall "$T/syslog3.out"
fwd_start_devlog
connects 20
sleep 1
sink_stalled_checks "the syslog daemon" 10
e2e_finish
