#!/bin/bash
# SPDX-License-Identifier: MIT
# test_new_iface.sh FWD BUILD_DIR - a link that comes up while fwd is busy
# is not let through as "no interface": until fwd knows the link's name its
# packets get the verdict `fail:` names, and after that `in:` judges them.
#
# fwd learns an interface's name from the kernel's link events, which its
# main thread reads, and a reload holds that thread. A rule drops what comes
# in on late0; late0 is made while fwd reloads a 1,000,000-line blocklist,
# and a host behind it sends a datagram from a new port every 5 ms. fwd
# used to class those packets as from no named interface until the reload
# was done, and the server got some 40 of them. Now, with `fail: closed`,
# none reaches it; with `fail: open` those of the reload's moment do; both
# are counted, and the log says so once.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
NS_L="fwd-e2e-l-$$"
ns_new "$NS_L"
servers_start --udp 5353
RULES="$T/rules.yaml"

rules() {	# closed|open
	cat <<YAML
version: 1
default: allow
daemon: {fail: $1}
sets:
  drop-list: {file: drop.netset}
rules:
  - {name: blocklist, src: \$drop-list, action: drop}
  - {name: late-link, in: late0, action: drop}
YAML
}
# 1,000,000 /64s of 2001:db8::/32: a reload of some hundreds of ms.
awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "2001:db8:%x:%x::/64\n", i / 65536, i % 65536 }' \
	>"$T/drop.netset"

reloads() {	# -> "OK FAILED"
	stats "$T/r.json" >/dev/null && jget "$T/r.json" reloads.ok reloads.failed | tr '\n' ' ' | sed 's/ $//'
}
reloads_done() { [ "$(reloads)" != "0 0" ]; }
late_seen() { server_seen udp 5353 10.10.3.2; }

# From the late host: one datagram every 5 ms, each from a port of its own,
# so each is a new connection (a port used again could join a flow the
# server answered, which conntrack passes without asking fwd).
late_sender() {
	bg "$NS_L" "$T/late.log" "$PY" -c '
import socket, time
end, port = time.time() + 3, 20000
while time.time() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("0.0.0.0", port))
        s.sendto(b"late", ("10.10.2.2", 5353))
    except OSError:
        pass
    s.close()
    port += 1
    time.sleep(0.005)
'
}

# late0 comes up during a reload; the late host sends through it.
late_link() {	# closed|open
	local start up_ms reload_ms sender seen0 verdict=dropped
	[ "$1" = open ] && verdict=accepted
	rules "$1" >"$RULES"
	fwd_start "$RULES"
	assert_eq "fail: $1: client on a known link" "fwd-e2e udp 5353" \
		"$(client udp 10.10.2.2 5353 --timeout 2)"
	seen0=$(late_seen)
	start=$(now_ms)
	fwd_hup
	ip -n "$NS_G" link add late0 type veth peer name late-h netns "$NS_L" || exit 1
	nsx g ip addr add 10.10.3.1/24 dev late0
	nsx g ip link set late0 up
	nsx "$NS_L" ip addr add 10.10.3.2/24 dev late-h
	nsx "$NS_L" ip link set late-h up
	nsx "$NS_L" ip route add default via 10.10.3.1
	up_ms=$(($(now_ms) - start))
	late_sender
	sender=$BG_PID
	wait_for 15 reloads_done
	reload_ms=$(($(now_ms) - start))
	wait "$sender"
	say "fail: $1: late0 up $up_ms ms after SIGHUP; reload done after about $reload_ms ms"
	assert_eq "fail: $1: reload of the large list succeeded" "1 0" "$(reloads)"
	if [ "$up_ms" -ge "$reload_ms" ]; then
		[ "$E2E_FAILS" -eq 0 ] || e2e_finish	# a skip must not hide a failure
		skip "late0 came up only after the reload ($up_ms ms >= $reload_ms ms): nothing to show"
	fi
	stats "$T/s.json" >/dev/null
	assert_ge "fail: $1: packets counted as from a link fwd had not seen yet" 1 \
		"$(jget "$T/s.json" queue.unseen_iface)"
	log_wait 1 "fwd: [0-9]+ packets came in on a link fwd had not read the name of yet .*: $verdict, as fail: $1 says"
	assert_eq "fail: $1: the log says so" 1 \
		"$(log_count "packets came in on a link .*: $verdict, as fail: $1 says")"
	if [ "$1" = closed ]; then
		assert_eq "fail: closed: datagrams from late0 that reached the server" 0 \
			"$(($(late_seen) - seen0))"
	else
		assert_eq "fail: open: datagrams from late0 that reached the server: the unseen ones" \
			"$(jget "$T/s.json" queue.unseen_iface)" "$(($(late_seen) - seen0))"
	fi
	assert_eq "fail: $1: client on a known link, after" "fwd-e2e udp 5353" \
		"$(client udp 10.10.2.2 5353 --timeout 2)"
	fwd_stop
	assert_eq "fail: $1: fwd exit status after SIGTERM" 0 "$FWD_STATUS"
	nsx g ip link del late0
}

late_link closed
late_link open
assert_no_sanitizer_report
e2e_finish
