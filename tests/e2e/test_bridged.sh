#!/bin/bash
# SPDX-License-Identifier: MIT
# test_bridged.sh FWD BUILD_DIR - two hosts of one LAN behind a bridge of
# the gateway, and `daemon: {bridged: pass}`.
#
# The gateway's LAN is a bridge, br-lan (10.10.5.1/24, fd00:5::1/64), with
# host A (.2, ::2) and host B (.3, ::3) on ports of their own; B serves TCP
# 80 and UDP 5300. br_netfilter hands the bridge's frames to iptables (the
# namespace's bridge-nf-call-ip{,6}tables, 1 wherever the module is loaded
# unless set otherwise; Docker loads it), so fwd's hooks see A's frames to
# B although nothing routes them:
# - the default, `bridged: judge`: under `default: drop` A cannot reach B,
#   and fwd says so at start, naming the bridge;
# - a reload to `bridged: pass`: A reaches B over IPv4 and IPv6, TCP and
#   UDP, and the rules count none of it, while A's traffic to the gateway
#   itself (dropped) and through it to the server (allowed by `web`) is
#   judged as before; a rule of the operator's after fwd's jump still sees
#   the switched frames, and none of them with fwd's mark bit; frames for
#   B's MAC but the gateway's address, which a port forward of Docker's form
#   (DNAT in nat PREROUTING) turns into routed ones, are judged (scapy); the
#   same in every-packet mode; after another tool flushes the bridge's nat
#   table, fwd's look at its hooks (every 5 s) puts its rules back;
# - a reload back to judge takes fwd's two bridge rules out; a fwd killed
#   with pass leaves them, and the next one to start takes them out.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
[ -d /proc/sys/net/bridge ] ||
	skip "no br_netfilter in this kernel: bridges keep their frames from iptables"
EBT=$(command -v ebtables-nft || command -v ebtables) || skip "no ebtables-nft"
topo_up
NS_A="fwd-e2e-a-$$"
NS_B="fwd-e2e-b-$$"
topo_attach "$NS_A" a
topo_attach "$NS_B" b
nsx g sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
nsx g ip link add br-lan type bridge
nsx g ip link set veth-gw-a master br-lan up
nsx g ip link set veth-gw-b master br-lan up
topo_if g br-lan 10.10.5.1/24 fd00:5::1/64
topo_if "$NS_A" veth-a 10.10.5.2/24 fd00:5::2/64
topo_if "$NS_B" veth-b 10.10.5.3/24 fd00:5::3/64
nsx "$NS_A" ip route add default via 10.10.5.1
nsx "$NS_A" ip -6 route add default via fd00:5::1
topo_settle "$NS_A" "$NS_B"
servers_start --tcp 80 --udp 7300
bg "$NS_B" "$T/echo-b.log" "$PY" "$E2E_DIR/echo.py" --tcp 80 --udp 5300 \
	--events "$T/b.events" --ready "$T/b.ready"
bg g "$T/echo-g.log" "$PY" "$E2E_DIR/echo.py" --tcp 8080 \
	--events "$T/g.events" --ready "$T/g.ready"
wait_for 10 test -e "$T/b.ready" -a -e "$T/g.ready" || fail "echo servers not ready"
# The operator's own rules after fwd's jump (fwd inserts its jump first),
# and port forwards of the form Docker uses (to any address of the gateway).
nsx g iptables -t mangle -A PREROUTING -i br-lan -d 10.10.5.3 -m comment --comment e2e-seen
nsx g iptables -t mangle -A PREROUTING -m mark --mark 0x80000000/0x80000000 \
	-m comment --comment e2e-mark
for p in 8081 8082; do
	nsx g iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -p udp --dport $p \
		-j DNAT --to-destination 10.10.2.2:7300
done
MAC_B=$(nsx "$NS_B" cat /sys/class/net/veth-b/address)

rules() {	# DAEMON-LINE
	cat >"$T/rules.new" <<YAML
version: 1
default: drop
$1
rules:
  - {name: web, proto: tcp, dst: [10.10.2.2, "fd00:2::2"], dport: 80, action: allow}
  - {name: fwd-8082, proto: udp, dport: 8082, action: allow}
YAML
	rules_put "$T/rules.new" "$T/rules.yaml"
}

from_a() {	# PROTO HOST PORT: ok, or what client.py said
	local r
	r=$(nsx "$NS_A" "$PY" "$E2E_DIR/client.py" "$1" "$2" "$3" --timeout 1)
	case $r in "fwd-e2e $1 $3") echo ok ;; *) echo "$r" ;; esac
}
# A to B: TCP and UDP over IPv4, TCP over IPv6.
lan() { echo "$(from_a tcp 10.10.5.3 80) $(from_a udp 10.10.5.3 5300) $(from_a tcp fd00:5::3 80)"; }
bridge_rules() { nsx g "$EBT" -t nat -L PREROUTING | grep -c -- "--mark-or 0x80000000"; }
counted() {	# COMMENT: packets of the operator's rule
	nsx g iptables-save -c -t mangle | sed -n "s/^\[\([0-9]*\):.*--comment $1\$/\1/p"
}
# From A, 3 datagrams addressed to the gateway's br-lan address at PORT in a
# frame for B's MAC address: the bridge would switch it, but a DNAT turns it
# into one that the gateway routes.
to_b_mac() {	# PORT
	nsx "$NS_A" "$PY" -c '
import logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, UDP, sendp
f = Ether(dst=sys.argv[1]) / IP(src="10.10.5.2", dst="10.10.5.1") / UDP(sport=40000, dport=int(sys.argv[2])) / b"x"
sendp([f] * 3, iface="veth-a", verbose=False)
' "$MAC_B" "$1"
}
reload() {
	assert_eq "fwd reload" "ok: 2 rules" "$(nsx g timeout 10 "$FWD" reload --socket "$SOCK" 2>&1)"
}

rules ""
fwd_start "$T/rules.yaml"
assert_grep "the start names the bridge whose frames the rules judge" \
	"start: br_netfilter hands the frames that bridge br-lan switches between its ports to iptables" \
	"$FWD_LOG"
assert_eq "judge: A cannot reach B" "timeout timeout timeout" "$(lan)"
assert_eq "judge: no bridge rules" 0 "$(bridge_rules)"

rules "daemon: {bridged: pass}"
reload
assert_eq "pass: two bridge rules" 2 "$(bridge_rules)"
stats "$T/s1.json"
assert_eq "pass: A reaches B" "ok ok ok" "$(lan)"
assert_eq "pass: A to the gateway is judged" timeout "$(from_a tcp 10.10.5.1 8080)"
assert_eq "pass: A through the gateway is judged" "ok ok" \
	"$(from_a tcp 10.10.2.2 80) $(from_a tcp fd00:2::2 80)"
stats "$T/s2.json"
d1=$(jget "$T/s1.json" default.packets)
assert_range "the default counted the gateway's port alone (a SYN, perhaps resent)" \
	$((d1 + 1)) $((d1 + 2)) "$(jget "$T/s2.json" default.packets)"
assert_eq "web counted the routed connections" \
	$(($(jget "$T/s1.json" rule:web.packets) + 2)) "$(jget "$T/s2.json" rule:web.packets)"
assert_ge "the operator's rule after fwd's jump saw the switched frames" 1 "$(counted e2e-seen)"
assert_eq "none of them with fwd's mark bit" 0 "$(counted e2e-mark)"
to_b_mac 8082
wait_for 5 eval '[ "$(server_seen udp 7300 10.10.5.2)" -ge 3 ]'
to_b_mac 8081
sleep 1
assert_eq "pass: frames for B's MAC that a DNAT routes are judged (8082 allowed, 8081 not)" \
	3 "$(server_seen udp 7300 10.10.5.2)"

rules "daemon: {bridged: pass, inspect: every-packet}"
reload
assert_eq "pass, every packet: A reaches B" "ok ok ok" "$(lan)"
assert_eq "pass, every packet: A to the gateway is judged" timeout \
	"$(from_a tcp 10.10.5.1 8080)"
assert_eq "still none with fwd's mark bit" 0 "$(counted e2e-mark)"
# Another tool flushes the bridge's nat table: fwd's look at its hooks
# (every 5 s) puts the rules back, and says why.
nsx g "$EBT" -t nat -F
GONE="ebtables -t nat: fwd's rule of PREROUTING that marks IPv4 frames for other hosts is gone .*; fwd's hooks are back"
wait_for 8 grep -Eq -- "$GONE" "$FWD_LOG"
assert_grep "fwd names the bridge rule that went, and puts it back" "$GONE" "$FWD_LOG"
assert_eq "both bridge rules are back" 2 "$(bridge_rules)"
assert_eq "after the flush, A reaches B again" "ok ok ok" "$(lan)"

rules ""
reload
assert_eq "judge again: the bridge rules are out" 0 "$(bridge_rules)"
assert_eq "judge again: A cannot reach B" "timeout timeout timeout" "$(lan)"

rules "daemon: {bridged: pass}"
reload
fwd_stop KILL
assert_eq "a killed fwd leaves its bridge rules" 2 "$(bridge_rules)"
rules ""
fwd_start "$T/rules.yaml"
assert_eq "the next fwd takes them out" 0 "$(bridge_rules)"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
