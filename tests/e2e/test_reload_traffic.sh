#!/bin/bash
# SPDX-License-Identifier: MIT
# test_reload_traffic.sh FWD BUILD_DIR - no packet is lost across reloads.
#
# Every packet is judged (`inspect: every-packet`). The client sends 20,000
# numbered UDP datagrams at 1,500/s to the server's sink while the test
# makes 100 SIGHUP reloads, alternating two valid files that both allow the
# port, each reload waited for before the next. At the end the sink must
# have every sequence number once, and neither the kernel (queue_dropped:
# queue full; user_dropped: netlink send to fwd failed) nor fwd lost any.
# Nor may the reloads cost the queue workers page faults: each runs the
# iptables tools, and a fork() for them would leave every page the workers
# write next copy-on-write (about 125 minor faults a reload, measured);
# posix_spawn shares fwd's memory until the exec and costs them none.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
COUNT=20000
RATE=1500
RELOADS=100
servers_start --sink 6000 --status "$T/sink.status"
RULES="$T/rules.yaml"
rules_put "$E2E_DIR/rules/traffic-a.yaml" "$RULES"
fwd_start "$RULES"

bg c "$T/flood.log" "$PY" "$E2E_DIR/client.py" flood 10.10.2.2 6000 $COUNT $RATE
FLOOD_PID=$BG_PID

reloaded() { [ "$(log_count 'fwd: reloaded rules from ')" -ge "$1" ]; }

worker_faults() {	# the queue workers' minor page faults so far
	local t n=0
	for t in /proc/"$FWD_PID"/task/*; do
		case $(cat "$t/comm") in
		fwd-q*) n=$((n + $(awk '{ print $10 }' "$t/stat"))) ;;
		esac
	done
	echo "$n"
}

sleep 0.5	# the workers have touched their buffers
assert_ge "queue worker threads to count the faults of" 1 \
	"$(grep -l '^fwd-q' /proc/"$FWD_PID"/task/*/comm | wc -l)"
faults=$(worker_faults)

during=0
for i in $(seq 1 $RELOADS); do
	if [ $((i % 2)) = 1 ]; then f=traffic-b.yaml; else f=traffic-a.yaml; fi
	rules_put "$E2E_DIR/rules/$f" "$RULES"
	fwd_hup
	deadline=$(($(now_ms) + 5000))
	until reloaded "$i"; do
		if [ "$(now_ms)" -gt "$deadline" ]; then
			fail "reload $i not logged within 5 s"
			break 2
		fi
		sleep 0.02
	done
	alive "$FLOOD_PID" && during=$i
done
say "$during of $RELOADS reloads completed while the generator ran"
faults=$(($(worker_faults) - faults))
say "the queue workers' minor faults over the reloads: $faults"
assert_range "fewer worker page faults than reloads" 0 $((RELOADS - 1)) "$faults"
assert_ge "reloads overlapped the traffic" 20 "$during"

wait_for 60 eval '! alive "$FLOOD_PID"' || fail "generator still running after 60 s"
assert_eq "generator sent every datagram" "sent $COUNT errors 0" "$(cat "$T/flood.log")"

sink_done() { [ "$(cat "$T/sink.status" 2>/dev/null)" = "received $COUNT unique $COUNT" ]; }
wait_for 10 sink_done
assert_eq "server received every datagram once" "received $COUNT unique $COUNT" \
	"$(cat "$T/sink.status" 2>/dev/null)"

S="$T/stats.json"
if stats "$S"; then
	assert_eq "stats: reloads ok" $RELOADS "$(jget "$S" reloads.ok)"
	assert_eq "stats: reloads failed" 0 "$(jget "$S" reloads.failed)"
	assert_eq "stats: queue_dropped" 0 "$(jget "$S" queue.queue_dropped)"
	assert_eq "stats: user_dropped" 0 "$(jget "$S" queue.user_dropped)"
	assert_eq "stats: enobufs" 0 "$(jget "$S" queue.enobufs)"
	assert_ge "stats: queue received every datagram" $COUNT "$(jget "$S" queue.received)"
fi
# The kernel's own view: queue_dropped and user_dropped are columns 6 and 7.
Q="$T/nfqueue"
nsx g cat /proc/net/netfilter/nfnetlink_queue >"$Q"
say "nfnetlink_queue: $(tr '\n' ';' <"$Q")"
assert_ge "fwd's queues are listed in /proc" 1 "$(wc -l <"$Q")"
assert_eq "kernel: queue_dropped + user_dropped" 0 "$(awk '{ s += $6 + $7 } END { print s + 0 }' "$Q")"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
