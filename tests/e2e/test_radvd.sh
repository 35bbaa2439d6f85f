#!/bin/bash
# SPDX-License-Identifier: MIT
# test_radvd.sh FWD BUILD_DIR - the gateway learns its IPv6 default route
# from an upstream router through fwd.
#
# An upstream namespace runs radvd (Debian package radvd) on a link to the
# gateway, advertising fd00:99::/64 and itself as default router every few
# seconds. The gateway forwards (so it takes router advertisements only
# with accept_ra=2) and runs fwd with `default: drop` and no ICMPv6 rule:
# the advertisements (ICMPv6 134, hop limit 255, link-local source) pass
# fwd's hooks before the queue, and the gateway gets a default route via
# the router's link-local address and an fd00:99:: address of its own.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
command -v radvd >/dev/null || skip "radvd is not installed (apt-get install radvd)"
topo_up
NS_U="fwd-e2e-u-$$"
topo_attach "$NS_U" u
nsx g sysctl -qw net.ipv6.conf.veth-gw-u.accept_ra=2 net.ipv6.conf.veth-gw-u.autoconf=1
nsx "$NS_U" sysctl -qw net.ipv6.conf.all.forwarding=1
nsx g ip link set veth-gw-u up
nsx "$NS_U" ip addr add fd00:99::1/64 dev veth-u
nsx "$NS_U" ip link set veth-u up
topo_settle "$NS_U"

RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
log: drops
rules:
  - {name: ssh, proto: tcp, dport: 22, action: allow}
YAML
fwd_start "$RULES"
assert_eq "no default route before radvd" "" "$(nsx g ip -6 route show default)"

cat >"$T/radvd.conf" <<'CONF'
interface veth-u {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 4;
	AdvDefaultLifetime 600;
	prefix fd00:99::/64 {
		AdvOnLink on;
		AdvAutonomous on;
	};
};
CONF
bg "$NS_U" "$T/radvd.log" radvd -n -C "$T/radvd.conf" -p "$T/radvd.pid" -m stderr -d 1
wait_for 15 eval '[ -n "$(nsx g ip -6 route show default dev veth-gw-u)" ]'
r=$(nsx g ip -6 route show default)
say "gateway's default route: $r"
assert_grep "default route learned from the advertisement" '^default via fe80::[0-9a-f:]+ dev veth-gw-u proto ra' <(echo "$r")
wait_for 5 eval '[ -n "$(nsx g ip -6 addr show dev veth-gw-u scope global)" ]'
assert_grep "SLAAC address in fd00:99::/64" 'inet6 fd00:99::' <(nsx g ip -6 addr show dev veth-gw-u scope global)
assert_no_grep "no advertisement reached the rules" 'proto=icmpv6' "$FWD_LOG"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
