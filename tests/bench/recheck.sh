#!/bin/bash
# SPDX-License-Identifier: MIT
# recheck.sh BUILD_DIR [N...] - what a look at the conntrack table costs
# (fwd/recheck.c), with N connections in it (default 10000 100000 250000).
#
# Two namespaces on a veth: fwd in G (stateful, default allow, a blocking
# set filled by scan detection), the client in A. 10.77.0.3 (under the
# scan's ignore:) opens N UDP flows to G; 10.77.0.2 holds one TCP
# connection to G, then scans 21 ports and joins the set. fwd's log line
# for the look says how many connections it read and how long it took;
# one markdown row per N. Root only; loopback and its own namespaces only.
set -u
B=${1:-build}
shift
SIZES=${*:-10000 100000 250000}
FWD=$B/fwd
PY=/usr/bin/python3
[ "$(id -u)" = 0 ] || { echo "recheck.sh: needs root (network namespaces)" >&2; exit 77; }
[ -x "$FWD" ] || { echo "recheck.sh: $FWD not built" >&2; exit 2; }
T=$(mktemp -d /tmp/fwd-recheck.XXXXXX)
A=fwd-rb-a-$$
G=fwd-rb-g-$$
cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	ip netns del "$A" 2>/dev/null
	ip netns del "$G" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

cat >"$T/rules.yaml" <<'YAML'
version: 1
default: allow
dynamic:
  scanners: {timeout: 10m}
scan: {ports: 20, window: 60s, block: {set: scanners}, ignore: [10.77.0.3]}
rules:
  - {name: scanners, src: $scanners, action: drop}
YAML

one() {	# N: prints "| N | read | ms |"
	local n=$1 fp line
	ip netns add "$A" && ip netns add "$G" || return 1
	ip -n "$G" link add vg type veth peer name va netns "$A"
	ip -n "$A" addr add 10.77.0.2/24 dev va
	ip -n "$A" addr add 10.77.0.3/24 dev va
	ip -n "$G" addr add 10.77.0.1/24 dev vg
	for ns in "$A" "$G"; do ip -n "$ns" link set lo up; done
	ip -n "$A" link set va up
	ip -n "$G" link set vg up
	: >"$T/fwd.log"
	ip netns exec "$G" "$FWD" run -c "$T/rules.yaml" --foreground --socket "$T/s.sock" \
		--pidfile "$T/fwd.pid" >>"$T/fwd.log" 2>&1 &
	fp=$!
	for _ in $(seq 50); do ip netns exec "$G" "$FWD" stats --socket "$T/s.sock" >/dev/null 2>&1 && break; sleep 0.1; done
	# One connection from the source to be blocked, held open.
	ip netns exec "$G" "$PY" -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.1", 7000)); s.listen(1); c = s.accept(); time.sleep(120)' &
	sleep 0.3
	ip netns exec "$A" bash -c 'exec 3<>/dev/tcp/10.77.0.1/7000; sleep 120' &
	# N UDP flows from another source: 60000 ports per local port.
	ip netns exec "$A" "$PY" -c 'import socket, sys
n = int(sys.argv[1])
socks = []
for i in range(n // 60000 + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.77.0.3", 20000 + i)); socks.append(s)
for i in range(n):
    socks[i // 60000].sendto(b"x", ("10.77.0.1", 1024 + i % 60000))' "$n"
	sleep 1
	for p in $(seq 1001 1021); do
		ip netns exec "$A" timeout 0.2 bash -c "exec 3<>/dev/tcp/10.77.0.1/$p" 2>/dev/null
	done
	for _ in $(seq 100); do grep -q 'recheck: ' "$T/fwd.log" && break; sleep 0.1; done
	line=$(sed -n 's/.*recheck: \([0-9]*\) established.*(\([0-9]*\) read in \([0-9]*\) ms).*/\2 | \3 | \1/p' "$T/fwd.log")
	echo "| $n | ${line:-no look logged | - | -} |"
	kill "$fp"
	wait "$fp" 2>/dev/null
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	ip netns del "$A"
	ip netns del "$G"
}

echo "| UDP flows opened | connections read | look (ms) | marked |"
echo "|---:|---:|---:|---:|"
for n in $SIZES; do
	one "$n"
done
