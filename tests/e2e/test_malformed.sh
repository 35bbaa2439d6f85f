#!/bin/bash
# SPDX-License-Identifier: MIT
# test_malformed.sh FWD BUILD_DIR - malformed packets never pass, fwd survives.
#
# `inspect: every-packet`; scapy (craft.py) sends from the client, straight
# onto its veth, malformed packets to the server's port 7001, which the rules
# allow both ways: only fwd's malformed verdict can stop them. A raw
# AF_PACKET sniffer on the server's veth (sniff.py) counts what arrives
# before the server's own stack validates it.
#
# What the gateway's kernel drops before PREROUTING, i.e. before NFQUEUE:
#  - IPv4 with a bad IHL, a bad header checksum or a total length beyond the
#    frame (ip_rcv_core); none of those is sent here, fwd never sees them.
#  - IPv4 fragments, when conntrack's defragmentation is registered in the
#    namespace (any `-m conntrack` rule, as in fwd's stateful chain):
#    nf_defrag_ipv4 runs at priority -400 and discards a non-last fragment
#    with fewer than 8 bytes of data (ip_frag_queue: end == offset). fwd's
#    every-packet chain has no conntrack match, and on the kernel this was
#    written on (6.18) the tiny IPv4 first fragment does reach fwd.
#  - nf_defrag_ipv6 hands a fragment it cannot queue (data not a multiple of
#    8 bytes) on unchanged, so the tiny IPv6 first fragment reaches fwd even
#    with conntrack; other kernels may drop it.
# Conntrack marks bad TCP/UDP headers INVALID but does not drop them, and
# fwd's every-packet chain queues INVALID packets too (its stateful chain
# drops them in the kernel), so the TCP data-offset and UDP length cases
# always reach NFQUEUE. For the two
# fragment cases the test measures whether the packet reached fwd (queue
# received minus packets judged by a rule or the default) and requires that
# whatever reached fwd was counted malformed. Overlapping fragments, the TCP
# header or the IPv6 header chain split across fragments, and a chain past
# the copy range are in test_evasion.sh, against a port rule.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
"$PY" -c 'import scapy.all' 2>/dev/null || skip "scapy is not installed for $PY"
topo_up
servers_start --tcp 7001 --udp 7001
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/malformed.yaml" "$RULES"
fwd_start "$RULES"
log_wait 1 'fwd: started: '
assert_grep "start-up line says every-packet" 'fwd: started: .*inspect every-packet' "$FWD_LOG"

bg s "$T/sniff.log" "$PY" "$E2E_DIR/sniff.py" veth-s "$T/sniff" "$T/sniff.ready" 10.10.1.2 fd00:1::2
wait_for 5 test -e "$T/sniff.ready" || { fail "sniffer did not start"; e2e_finish; }
: >>"$T/sniff"

coproc CRAFT { nsx c "$PY" "$E2E_DIR/craft.py" --iface veth-c --gw-mac "$MAC_GC" 2>&1; }
E2E_BG_PIDS+=("$CRAFT_PID")

craft() {	# SPEC: send and wait for scapy's acknowledgement
	local line
	echo "$1" >&"${CRAFT[1]}"
	if ! read -r -t 20 line <&"${CRAFT[0]}" || [ "$line" != "sent $1" ]; then
		fail "craft.py did not send $1 (said '$line')"
		e2e_finish
	fi
}

# Counters as "received judged malformed to7001 from7001 tcp-doff udp-length".
snap() {	# FILE
	stats "$1" || e2e_finish
	jget "$1" queue.received rules-sum default.packets malformed.total \
		rule:to-7001.packets rule:from-7001.packets \
		malformed.reasons.tcp-doff malformed.reasons.udp-length | tr '\n' ' '
}

delta() {	# BEFORE-ARRAY-NAME AFTER-ARRAY-NAME INDEX
	local -n b=$1 a=$2
	echo $((a[$3] - b[$3]))
}

# Cases whose packet certainly reaches NFQUEUE, with the reason fwd must give
# ("" where the contract names none).
declare -A REASON=([tcp-doff-4]=tcp-doff [tcp-doff-6]=tcp-doff
	[udp-len0-4]=udp-length [udp-lenbig-4]=udp-length
	[udp-len0-6]=udp-length [udp-lenbig-6]=udp-length [long-chain-6]="")
CERTAIN="tcp-doff-4 tcp-doff-6 udp-len0-4 udp-lenbig-4 udp-len0-6 udp-lenbig-6 long-chain-6"
MAYBE="frag-tiny-4 frag-tiny-6"
declare -A REACHED

sleep 1		# let MLD reports of the fresh links pass
for c in $CERTAIN $MAYBE; do
	read -ra B <<<"$(snap "$T/b.json")"
	craft "$c"
	sleep 0.3
	read -ra A <<<"$(snap "$T/a.json")"
	[ "${#B[@]}" = 8 ] && [ "${#A[@]}" = 8 ] && [[ "${A[*]} ${B[*]}" =~ ^[0-9\ ]+$ ]] || {
		fail "$c: stats incomplete: before '${B[*]}' after '${A[*]}'"
		continue
	}
	dmal=$(delta B A 3)
	# Packets fwd received but did not judge by a rule or the default.
	reached=$(($(delta B A 0) - $(delta B A 1) - $(delta B A 2)))
	grown=$(jget --reasons-grown "$T/b.json" "$T/a.json")
	assert_eq "$c: not judged by the allow rule" 0 "$(delta B A 4)"
	if [[ " $CERTAIN " == *" $c "* ]]; then
		REACHED[$c]=1
		assert_eq "$c: malformed total +1 (reasons grown: $grown)" 1 "$dmal"
		case ${REASON[$c]} in
		tcp-doff) assert_eq "$c: reason tcp-doff +1" 1 "$(delta B A 6)" ;;
		udp-length) assert_eq "$c: reason udp-length +1" 1 "$(delta B A 7)" ;;
		*)
			if [ "$grown" != none ]; then
				pass "$c: a reason grew ($grown)"
			else
				fail "$c: no malformed reason grew"
			fi
			;;
		esac
	else
		REACHED[$c]=$reached
		[ "$reached" = 0 ] && say "$c: the kernel dropped it before NFQUEUE"
		assert_range "$c: reached fwd at most once" 0 1 "$reached"
		assert_eq "$c: malformed total grew by what reached fwd (reasons grown: $grown)" \
			"$reached" "$dmal"
	fi
done

# The contract's malformed log lines.
log_wait 1 'fwd: malformed reason=tcp-doff in=veth-gw-c proto=tcp src=fd00:1::2 dst=fd00:2::2$'
assert_grep "malformed log line, IPv4" \
	'fwd: malformed reason=tcp-doff in=veth-gw-c proto=tcp src=10\.10\.1\.2 dst=10\.10\.2\.2$' "$FWD_LOG"
assert_grep "malformed log line, IPv6" \
	'fwd: malformed reason=tcp-doff in=veth-gw-c proto=tcp src=fd00:1::2 dst=fd00:2::2$' "$FWD_LOG"

# The barrage: 50 of each case back to back.
N=50
read -ra B <<<"$(snap "$T/b.json")"
expect=0
for c in $CERTAIN $MAYBE; do
	craft "$c*$N"
	expect=$((expect + N * ${REACHED[$c]:-0}))
done
sleep 1
assert_eq "fwd alive after the barrage" yes "$(alive "$FWD_PID" && echo yes || echo no)"
read -ra A <<<"$(snap "$T/a.json")"
assert_eq "barrage: malformed total grew by every packet that reached fwd" "$expect" "$(delta B A 3)"
assert_eq "barrage: nothing judged by the allow rule" 0 "$(delta B A 4)"
assert_eq "no malformed packet reached the server's link" 0 "$(wc -l <"$T/sniff")"
[ -s "$T/sniff" ] && sed 's/^/    seen: /' "$T/sniff" | head -n 20
assert_eq "the server's TCP/UDP stack saw nothing" 0 "$(wc -l <"$T/events")"

# Legit traffic still flows, and the sniffer does see what fwd lets through.
for dst in 10.10.2.2 fd00:2::2; do
	assert_eq "tcp $dst:7001 answers after the barrage" "fwd-e2e tcp 7001" "$(client tcp $dst 7001)"
	assert_eq "udp $dst:7001 answers after the barrage" "fwd-e2e udp 7001" "$(client udp $dst 7001)"
done
sleep 0.2
assert_ge "the sniffer saw the legit packets" 4 "$(wc -l <"$T/sniff")"

stats "$T/end.json" && assert_eq "queue dropped nothing" "0 0" \
	"$(jget "$T/end.json" queue.queue_dropped queue.user_dropped | tr '\n' ' ' | sed 's/ $//')"
eval "exec ${CRAFT[1]}>&-"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
