#!/bin/bash
# SPDX-License-Identifier: MIT
# test_knock.sh FWD BUILD_DIR - port knocking opens tcp 2222 for a while.
#
# Before the knock 2222 is rejected (refused at once); the knocks themselves
# are dropped (timeouts); after tcp 7000, udp 8000, tcp 9000 the client's
# address is in the `doors` set for 4 s and 2222 answers; then it closes.
# A wrong order opens nothing.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,7000,9000 --udp 8000
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/knock.yaml" "$RULES"
fwd_start "$RULES"

knock_seq() {	# DST PROTO/PORT...
	local dst=$1 p
	shift
	for p in "$@"; do
		client "${p#*/}" "$dst" "${p%/*}" --timeout 0.3 >/dev/null
	done
}

dst=10.10.2.2
assert_eq "2222 closed before knocking" refused "$(client tcp $dst 2222 --timeout 3)"
knock_seq $dst 7000/tcp 9000/tcp 8000/udp
assert_eq "wrong order does not open" refused "$(client tcp $dst 2222 --timeout 3)"
knock_seq $dst 7000/tcp 8000/udp 9000/tcp
assert_eq "right sequence opens 2222" "fwd-e2e tcp 2222" "$(client tcp $dst 2222 --timeout 3)"
assert_eq "knock ports never reached the server" 0 \
	"$(( $(server_seen tcp 7000) + $(server_seen udp 8000) + $(server_seen tcp 9000) ))"
sleep 4.5
assert_eq "2222 closed again after the timeout" refused "$(client tcp $dst 2222 --timeout 3)"
# IPv6 sources have their own doors.
knock_seq fd00:2::2 7000/tcp 8000/udp 9000/tcp
assert_eq "IPv6 sequence opens 2222" "fwd-e2e tcp 2222" "$(client tcp fd00:2::2 2222 --timeout 3)"
assert_eq "IPv4 still closed" refused "$(client tcp $dst 2222 --timeout 3)"

# 300 sources knock the whole sequence at once (scapy, from the client's
# link, with sources of 10.10.3.0/24 and 10.10.4.0/24): each opens its
# door, and the log tells of the doors at the log rate (a burst of 50 a
# worker, then 10/s) and sums the rest.
stats "$T/k0.json"
opened0=$(jget "$T/k0.json" dynamic.knock.opened)
t0=$(date +%s)
nsx c "$PY" -c '
import logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, TCP, UDP, sendp
gw = sys.argv[1]
hits = []
for i in range(300):
    ip = IP(src="10.10.%d.%d" % (3 + i // 150, 1 + i % 150), dst="10.10.2.2")
    hits += [Ether(dst=gw) / ip / TCP(sport=40000, dport=7000, flags="S"),
             Ether(dst=gw) / ip / UDP(sport=40000, dport=8000) / b"k",
             Ether(dst=gw) / ip / TCP(sport=40000, dport=9000, flags="S")]
sendp(hits, iface="veth-c", verbose=False)
' "$MAC_GC" || fail "scapy could not send the knocks"
secs=$(($(date +%s) - t0 + 1))
sleep 1.5	# the suppressed events are summed every half second
stats "$T/k1.json"
opened=$(($(jget "$T/k1.json" dynamic.knock.opened) - opened0))
lines=$(log_count '^fwd: knock name=ssh src=10\.10\.[34]\.[0-9]+ dst=10\.10\.2\.2 open=2222/tcp timeout=4s$')
summed=$(grep -E '^fwd: suppressed [0-9]+ events rule=dynamic$' "$FWD_LOG" |
	sed -E 's/^fwd: suppressed ([0-9]+) .*/\1/' | awk '{ n += $1 } END { print n + 0 }')
say "300 knocking sources: $opened doors opened, $lines logged, $summed suppressed in $secs s"
assert_range "doors opened" 290 300 "$opened"
assert_eq "each door logged or summed" "$opened" $((lines + summed))
assert_range "logged at the log rate" 50 $((2 * (50 + 10 * secs))) "$lines"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
