#!/bin/bash
# SPDX-License-Identifier: MIT
# test_evasion.sh FWD BUILD_DIR - fragment and header-chain evasion does not
# get past a port rule.
#
# rules/evasion.yaml allows tcp 2222, drops tcp 2323 (rule `telnet`) and the
# rest by default. scapy (craft.py) sends, from the client straight onto its
# veth, fragment sequences that each carry a SYN to 2323 disguised or hidden:
#   overlap-4/6       Ptacek-Newsham: first fragment with dport 2222, a
#                     second fragment at offset 0 rewriting it to 2323, the
#                     tail (RFC 5722 forbids the overlap in IPv6);
#   overlap-late-4/6  the overlap at offset 8 (rewrites flags, not ports);
#   tiny-split-4/6    the TCP header split after 8 bytes (RFC 1858);
#   chain-copy-6      the header chain longer than fwd's 256-byte copy;
#   chain-split-6     the header chain cut by fragmentation (RFC 7112);
#   frag-ok-4/6       control: a plain fragmented SYN to 2222.
# The server (which listens on 2222 and 2323) runs a sniffer: an AF_PACKET
# socket on its veth logs every frame from the client (first fragment and
# its dport, later fragment, whole packet) and raw TCP sockets log every
# segment its stack reassembled. Nothing may arrive for 2323, in any form.
#
# Twice: `inspect: every-packet`, then `inspect: new-connections`. In both,
# the kernel reassembles before fwd's mangle hook (nf_defrag_ipv4/ipv6,
# priority -400): conntrack registers it in stateful mode, fwd's FWD-DEFRAG
# chain in every mode. The kernel discards a whole queue with overlapping
# fragments (IPv4 since 4.19, and IPv6 per RFC 5722) and ignores a fragment
# that only repeats one it has, so fwd sees one reassembled packet or nothing,
# and what it lets through is exactly what it judged (the gateway refragments
# the whole packet it was given back). The test measures which, requires that
# everything that reached fwd was judged (rule, default or malformed), that
# nothing of the attack cases was allowed in stateful mode, and that nothing
# for 2323 ever reached the server; the control must arrive reassembled.
# Seen on Linux 6.18, new-connections: the four overlap cases never reach fwd
# (the queue is discarded); tiny-split-4 is reassembled and dropped by
# `telnet`; tiny-split-6 and chain-split-6 never reach fwd (nf_defrag_ipv6
# drops a first fragment whose header chain is cut, RFC 7112); chain-copy-6
# is not fragmented and reaches fwd, malformed ipv6-header-chain.
# every-packet: the same, except that the overlap cases (whose rewriting
# fragment repeats the first one's offset and length, so the kernel keeps
# the first) arrive as one SYN to 2222, which `ssh` allows: no conntrack
# INVALID rule stands before the queue in that mode.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
"$PY" -c 'import scapy.all' 2>/dev/null || skip "scapy is not installed for $PY"
topo_up
servers_start --tcp 2222,2323

cat >"$T/fragsniff.py" <<'PYEOF'
import select, socket, sys
iface, events, ready, c4, c6 = sys.argv[1:6]
pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
pk.bind((iface, 0))
r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
out = open(events, "a", buffering=1)
open(ready, "w").close()

def dport(proto, l4):
    return "dport=%d" % int.from_bytes(l4[2:4], "big") if proto == 6 and len(l4) >= 4 else "dport=?"

def link(frame):
    et, ip = int.from_bytes(frame[12:14], "big"), frame[14:]
    if et == 0x800 and len(ip) >= 20 and socket.inet_ntop(socket.AF_INET, ip[12:16]) == c4:
        fo = int.from_bytes(ip[6:8], "big")
        if fo & 0x1fff:
            return "link4 later"
        return "link4 %s %s" % ("first" if fo & 0x2000 else "whole", dport(ip[9], ip[(ip[0] & 15) * 4:]))
    if et != 0x86DD or len(ip) < 40 or socket.inet_ntop(socket.AF_INET6, ip[8:24]) != c6:
        return None
    nh, p, kind = ip[6], 40, "whole"
    while nh in (0, 43, 44, 51, 60) and p + 8 <= len(ip):
        if nh == 44:
            fo = int.from_bytes(ip[p + 2:p + 4], "big")
            if fo & 0xfff8:
                return "link6 later"
            kind = "first" if fo & 1 else kind
            nh, p = ip[p], p + 8
        else:
            nh, p = ip[p], p + ((ip[p + 1] + 2) * 4 if nh == 51 else (ip[p + 1] + 1) * 8)
    if nh == 58:
        return None	# ICMPv6: neighbour discovery, MLD
    return "link6 %s nh=%d %s" % (kind, nh, dport(nh, ip[p:]))

while True:
    for s in select.select([pk, r4, r6], [], [])[0]:
        data, addr = s.recvfrom(65535)
        if s is pk:
            line = None if addr[2] == 4 else link(data)	# 4: outgoing
        elif s is r4:
            line = "raw4 " + dport(6, data[(data[0] & 15) * 4:]) if addr[0] == c4 else None
        else:
            line = "raw6 " + dport(6, data) if addr[0] == c6 else None
        if line:
            out.write(line + "\n")
PYEOF

# The controls last: in stateful mode their connection is then established.
CASES="overlap-4 overlap-6 overlap-late-4 overlap-late-6 tiny-split-4 tiny-split-6
	chain-copy-6 chain-split-6 frag-ok-4 frag-ok-6"

# SNAP (an array) := "reached ssh telnet default malformed tiny chain":
# reached is what fwd received minus the icmpv6 and ssh-back rules' packets
# (MLD, replies). Not in a subshell, so a failure counts.
snap() {	# FILE
	local v
	stats "$1" || e2e_finish
	read -ra v <<<"$(jget "$1" queue.received rule:icmpv6.packets rule:ssh-back.packets \
		rule:ssh.packets rule:telnet.packets default.packets malformed.total \
		malformed.reasons.tiny-fragment malformed.reasons.ipv6-header-chain | tr '\n' ' ')"
	if [ "${#v[@]}" != 9 ] || [[ ! "${v[*]}" =~ ^[0-9\ ]+$ ]]; then
		fail "stats incomplete: ${v[*]}"
		e2e_finish
	fi
	SNAP=($((v[0] - v[1] - v[2])) "${v[@]:3}")
}

run_mode() {	# every-packet|new-connections FRAG-ID-BASE
	local mode=$1 c b a d line k
	local sniff="$T/sniff.$mode"
	sed "s/inspect: every-packet/inspect: $mode/" "$E2E_DIR/rules/evasion.yaml" >"$T/rules.yaml"
	fwd_start "$T/rules.yaml"
	log_wait 1 "fwd: started: .*inspect $mode"
	assert_grep "$mode: start-up line names the mode" "fwd: started: .*inspect $mode" "$FWD_LOG"
	rm -f "$T/sniff.ready"
	: >"$sniff"
	bg s "$T/sniff.log" "$PY" "$T/fragsniff.py" veth-s "$sniff" "$T/sniff.ready" 10.10.1.2 fd00:1::2
	local spid=$BG_PID
	wait_for 5 test -e "$T/sniff.ready" || { fail "sniffer did not start: $(cat "$T/sniff.log")"; e2e_finish; }
	coproc CRAFT { nsx c "$PY" "$E2E_DIR/craft.py" --iface veth-c --gw-mac "$MAC_GC" --frag-id "$2" 2>&1; }
	E2E_BG_PIDS+=("$CRAFT_PID")
	sleep 1		# MLD reports of the fresh links

	for c in $CASES; do
		snap "$T/b.json"
		b=("${SNAP[@]}")
		echo "$c" >&"${CRAFT[1]}"
		if ! read -r -t 20 line <&"${CRAFT[0]}" || [ "$line" != "sent $c" ]; then
			fail "craft.py did not send $c (said '$line')"
			e2e_finish
		fi
		sleep 0.3
		snap "$T/a.json"
		a=("${SNAP[@]}")
		d=()
		for k in 0 1 2 3 4 5 6; do d[k]=$((a[k] - b[k])); done
		say "$mode $c: reached fwd ${d[0]}, ssh ${d[1]}, telnet ${d[2]}, default ${d[3]}, malformed ${d[4]} ($(jget --reasons-grown "$T/b.json" "$T/a.json"))"
		[ "${d[0]}" = 0 ] && say "$c: the kernel (defragmentation) dropped it before NFQUEUE"
		# every-packet also queues the client's RST to the server's SYN-ACK.
		[ "$mode" = every-packet ] ||
			assert_range "$c: reached fwd at most once (reassembled)" 0 1 "${d[0]}"
		if [[ $c == frag-ok-* ]] && [ "$mode" = every-packet ]; then
			assert_ge "$c: reassembled SYN to 2222 allowed" 1 "${d[1]}"
			assert_eq "$c: nothing but 2222 reached fwd" "${d[0]}" "${d[1]}"
		elif [[ $c == frag-ok-* ]]; then
			assert_eq "$c: reassembled SYN to 2222 allowed" "1 1" "${d[0]} ${d[1]}"
		elif [ "$mode" = every-packet ]; then
			assert_eq "$c: all that reached fwd was judged (ssh+telnet+default+malformed)" \
				"${d[0]}" $((d[1] + d[2] + d[3] + d[4]))
		else
			assert_eq "$c: nothing allowed" 0 "${d[1]}"
			assert_eq "$c: all that reached fwd was judged (telnet+default+malformed)" \
				"${d[0]}" $((d[2] + d[3] + d[4]))
		fi
	done
	eval "exec ${CRAFT[1]}>&-"
	wait "$CRAFT_PID" 2>/dev/null
	sleep 0.5

	# What the server saw.
	say "$mode: at the server: $(sort "$sniff" | uniq -c | tr -s ' ' | tr '\n' ';')"
	assert_eq "$mode: nothing for 2323 on the server's link or in its stack" 0 "$(grep -c 'dport=2323' "$sniff")"
	assert_eq "$mode: no first fragment or segment without visible ports" 0 "$(grep -c 'dport=?' "$sniff")"
	assert_ge "$mode: the control arrived reassembled (raw4 dport=2222)" 1 "$(grep -c '^raw4 dport=2222' "$sniff")"
	assert_ge "$mode: the control arrived reassembled (raw6 dport=2222)" 1 "$(grep -c '^raw6 dport=2222' "$sniff")"
	stats "$T/end.json" && assert_eq "$mode: queue dropped nothing" "0 0" \
		"$(jget "$T/end.json" queue.queue_dropped queue.user_dropped | tr '\n' ' ' | sed 's/ $//')"
	kill "$spid" 2>/dev/null
	fwd_stop
	assert_eq "$mode: fwd exit status after SIGTERM" 0 "$FWD_STATUS"
}

run_mode every-packet 0
run_mode new-connections 16
assert_no_sanitizer_report
e2e_finish
