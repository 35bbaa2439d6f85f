#!/bin/bash
# SPDX-License-Identifier: MIT
# test_vrrp_unicast.sh FWD BUILD_DIR - keepalived's unicast_peer adverts go
# to the rules, and `proto: vrrp` lets the peer's through.
#
# Two gateways share a link: the gateway of the topology (fwd, every-packet
# mode, `default: drop`) and a peer namespace, each running keepalived
# (Debian package keepalived) with one VRRPv3 instance in unicast_peer mode
# and a virtual address; the peer has the higher priority. Unicast adverts
# go to the gateway's own address, where any host could send one, so fwd
# does not pass them by itself: without a rule the gateway never hears the
# peer and keeps the address too (both are master). After a reload with
# {proto: vrrp, src: PEER}, it hears the peer and gives the address up.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
command -v keepalived >/dev/null || skip "keepalived is not installed (apt-get install keepalived)"
topo_up
NS_P="fwd-e2e-p-$$"
topo_attach "$NS_P" p
nsx g ip addr add 10.10.7.1/24 dev veth-gw-p
nsx "$NS_P" ip addr add 10.10.7.2/24 dev veth-p
nsx g ip link set veth-gw-p up
nsx "$NS_P" ip link set veth-p up
topo_settle "$NS_P"

# keepalived for NS on IFACE: its own address, the peer's, and a priority.
keepalived_in() {	# NS IFACE SELF PEER PRIORITY DIR
	local ns=$1 dir=$6
	mkdir -p "$dir"
	cat >"$dir/keepalived.conf" <<CONF
global_defs {
	router_id fwd-e2e-$5
	vrrp_version 3
}
vrrp_instance V {
	state BACKUP
	interface $2
	virtual_router_id 61
	priority $5
	advert_int 0.5
	unicast_src_ip $3
	unicast_peer {
		$4
	}
	virtual_ipaddress {
		10.10.7.100/24 dev $2
	}
}
CONF
	bg "$ns" "$dir/keepalived.log" keepalived --dont-fork --log-console --log-detail --vrrp \
		-f "$dir/keepalived.conf" -p "$dir/keepalived.pid" -r "$dir/vrrp.pid" \
		-c "$dir/checkers.pid"
}
vip() { ip -n "$(ns_name "$1")" -4 addr show | grep -q ' 10\.10\.7\.100/'; }
no_vip() { ! vip "$1"; }

rules() {	# EXTRA-RULE
	cat >"$T/rules.yaml" <<YAML
version: 1
default: drop
log: drops
daemon: {inspect: every-packet}
rules:
  - {name: ssh, proto: tcp, dport: 22, action: allow}
$1
YAML
}
rules ""
fwd_start "$T/rules.yaml"
keepalived_in "$NS_P" veth-p 10.10.7.2 10.10.7.1 200 "$T/peer"
keepalived_in g veth-gw-p 10.10.7.1 10.10.7.2 100 "$T/gw"
wait_for 10 vip "$NS_P" || { fail "the peer never became master"; tail "$T/peer/keepalived.log"; e2e_finish; }
wait_for 10 vip g
sleep 2
assert_eq "without a rule: the gateway keeps the address too (both master)" yes \
	"$(vip g && vip "$NS_P" && echo yes)"
assert_grep "the peer's adverts were dropped by the rules" \
	'fwd: drop rule=default in=veth-gw-p proto=vrrp src=10\.10\.7\.2 dst=10\.10\.7\.1$' "$FWD_LOG"

rules "  - {name: vrrp-peer, proto: vrrp, src: 10.10.7.2, action: allow}"
fwd_hup
log_wait 1 'fwd: reloaded rules from '
t0=$(now_ms)
wait_for 10 no_vip g
say "the gateway gave the address up $(($(now_ms) - t0)) ms after the reload"
assert_eq "with {proto: vrrp, src: PEER}: the gateway is backup" yes "$(no_vip g && echo yes)"
assert_eq "and the peer master" yes "$(vip "$NS_P" && echo yes)"
stats "$T/s.json"
assert_ge "the rule counts the peer's adverts" 1 "$(jget "$T/s.json" rule:vrrp-peer.packets)"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
