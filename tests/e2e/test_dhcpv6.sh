#!/bin/bash
# SPDX-License-Identifier: MIT
# test_dhcpv6.sh FWD BUILD_DIR - the gateway gets its upstream IPv6 address
# by DHCPv6 through fwd, in either inspect mode.
#
# An upstream namespace runs dnsmasq (Debian package dnsmasq-base) as a
# DHCPv6 server on a link to the gateway; the gateway runs ISC dhclient -6
# (isc-dhcp-client) on that link, behind fwd with `default: drop` and no
# rule for DHCPv6. The client solicits from its link-local address to the
# multicast group ff02::1:2 and the server answers to that link-local
# address, so conntrack never takes an answer for a reply: each one is a
# new flow to the gateway. They pass fwd's hooks before the queue (UDP 547
# to 546, link-local to link-local), or the gateway would get no address
# (and would lose a delegated prefix at its first renewal, which goes to
# the group too). With `daemon: {dhcpv6_client: rules}` they go to the
# rules, which drop them.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
command -v dnsmasq >/dev/null || skip "dnsmasq is not installed (apt-get install dnsmasq-base)"
command -v dhclient >/dev/null || skip "dhclient is not installed (apt-get install isc-dhcp-client)"
topo_up
NS_U="fwd-e2e-u-$$"
topo_attach "$NS_U" u
nsx g ip link set veth-gw-u up
nsx "$NS_U" ip addr add fd00:98::1/64 dev veth-u
nsx "$NS_U" ip link set veth-u up
topo_settle "$NS_U"

bg "$NS_U" "$T/dnsmasq.log" dnsmasq --keep-in-foreground --no-daemon --conf-file=/dev/null \
	--port=0 --user=root --interface=veth-u --bind-interfaces --log-dhcp \
	--dhcp-range=fd00:98::100,fd00:98::1ff,64,1h --dhcp-leasefile="$T/dnsmasq.leases" \
	--pid-file="$T/dnsmasq.pid"

# dhclient's own script would write the host's /etc/resolv.conf: this one
# only adds the address it was given, and says so.
cat >"$T/dhclient-script" <<'SH'
#!/bin/sh
case $reason in
BOUND6|RENEW6|REBIND6)
	ip -6 addr replace "$new_ip6_address/$new_ip6_prefixlen" dev "$interface"
	echo "$reason $new_ip6_address" >>"${0%/*}/dhclient.bound" ;;
esac
SH
chmod +x "$T/dhclient-script"

# One phase: fwd with RULES, dhclient for at most SECONDS; the address it got.
lease() {	# RULES SECONDS
	local got=""
	rm -f "$T/dhclient.bound" "$T/dhclient.leases"
	fwd_start "$1"
	bg g "$T/dhclient.log" dhclient -6 -d -v -lf "$T/dhclient.leases" -pf "$T/dhclient.pid" \
		-sf "$T/dhclient-script" veth-gw-u
	if wait_for "$2" test -s "$T/dhclient.bound"; then
		got=$(awk '{ print $2; exit }' "$T/dhclient.bound")
	fi
	kill "$BG_PID" 2>/dev/null
	wait "$BG_PID" 2>/dev/null
	nsx g ip -6 addr flush dev veth-gw-u scope global
	fwd_stop
	LEASE=$got
}

for mode in new-connections every-packet; do
	cat >"$T/rules.yaml" <<YAML
version: 1
default: drop
log: drops
daemon: {inspect: $mode}
rules:
  - {name: ssh, proto: tcp, dport: 22, action: allow}
YAML
	lease "$T/rules.yaml" 20
	say "$mode: address from DHCPv6: ${LEASE:-none}"
	assert_grep "$mode: the gateway got an address from the range" \
		'^fd00:98::1[0-9a-f]{2}$' <(echo "$LEASE")
	assert_no_grep "$mode: no DHCPv6 answer reached the rules" 'spt=547 dpt=546' "$FWD_LOG"
	assert_eq "$mode: fwd exit status after SIGTERM" 0 "$FWD_STATUS"
done

# The operator takes them to the rules: the file drops them, and logs each.
cat >"$T/rules.yaml" <<'YAML'
version: 1
default: drop
log: drops
daemon: {dhcpv6_client: rules}
rules:
  - {name: ssh, proto: tcp, dport: 22, action: allow}
YAML
lease "$T/rules.yaml" 6
assert_eq "with dhcpv6_client: rules, no address" "" "$LEASE"
assert_grep "the answers reached the rules and were dropped" 'drop rule=default in=veth-gw-u proto=udp src=fe80::.* spt=547 dst=fe80::.* dpt=546' "$FWD_LOG"
assert_grep "the server answered" 'DHCPADVERTISE' "$T/dnsmasq.log"
assert_no_sanitizer_report
e2e_finish
