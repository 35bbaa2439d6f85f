#!/bin/bash
# SPDX-License-Identifier: MIT
# test_hairpin.sh FWD BUILD_DIR - a forward reached from inside by the
# gateway's own address (NAT loopback, or reflection).
#
# The server's link becomes a LAN of two hosts behind a bridge in the
# server's namespace: the server (10.10.2.2, fd00:2::2) and a host H
# (10.10.2.3, fd00:2::3). tests/e2e/rules/forward.yaml forwards the
# gateway's 10.10.1.1:8080 and [fd00:1::1]:8080 (dst:, no in:) to the
# server's port 80. H reaches them by that address, through the gateway:
# DNAT alone leaves the server answering H directly, from an address H
# never spoke to, and the connection never opens. fwd's FWD-HAIRPIN gives
# such forwards the gateway's address as their source; the client on the
# other subnet keeps its own. A prefix added or removed while fwd runs
# changes FWD-HAIRPIN without a reload. In every-packet mode, after a
# reload, the same holds with a rule that allows the server's answers;
# `daemon: nat_loopback: off` empties the chain.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
NS_H="fwd-e2e-h-$$"
ns_new "$NS_H"
nsx s ip link add br0 type bridge
nsx s ip addr flush dev veth-s
nsx s ip link set veth-s master br0
topo_if s br0 10.10.2.2/24 fd00:2::2/64
ip -n "$NS_S" link add veth-sh type veth peer name veth-h netns "$NS_H" || exit 1
nsx s ip link set veth-sh master br0 up
topo_if "$NS_H" veth-h 10.10.2.3/24 fd00:2::3/64
for ns in s "$NS_H"; do
	nsx "$ns" ip route replace default via 10.10.2.1
	nsx "$ns" ip -6 route replace default via fd00:2::1
done
topo_settle "$NS_H"
servers_start --tcp 80
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/forward.yaml" "$RULES"
fwd_start "$RULES"

h_client() { nsx "$NS_H" "$PY" "$E2E_DIR/client.py" "$@"; }
s_client() { nsx s "$PY" "$E2E_DIR/client.py" "$@"; }

assert_eq "the client's subnet: tcp 10.10.1.1:8080 reaches the server" "fwd-e2e tcp 80" \
	"$(client tcp 10.10.1.1 8080 --timeout 3)"
assert_eq "... and the server sees the client's own address" 1 "$(server_seen tcp 80 10.10.1.2)"
assert_eq "the server's LAN: tcp 10.10.1.1:8080 from H reaches the server" "fwd-e2e tcp 80" \
	"$(h_client tcp 10.10.1.1 8080 --timeout 3)"
assert_eq "... which sees the gateway's 10.10.2.1 as the client" 1 \
	"$(server_seen tcp 80 10.10.2.1)"
assert_eq "the server's LAN: tcp [fd00:1::1]:8080 from H reaches the server" "fwd-e2e tcp 80" \
	"$(h_client tcp fd00:1::1 8080 --timeout 3)"
assert_eq "... which sees the gateway's fd00:2::1 as the client" 1 \
	"$(server_seen tcp 80 fd00:2::1)"
assert_eq "the server reaches itself by the gateway's address" "fwd-e2e tcp 80" \
	"$(s_client tcp 10.10.1.1 8080 --timeout 3)"
assert_eq "H's own address never reached the server" 0 "$(server_seen tcp 80 10.10.2.3)"

NAT4="$T/nat4"
nsx g iptables-save -t nat >"$NAT4"
assert_grep "nat POSTROUTING jumps to FWD-HAIRPIN" \
	'^-A POSTROUTING -m comment --comment fwd -j FWD-HAIRPIN$' "$NAT4"
assert_grep "FWD-HAIRPIN: the server's LAN" \
	'^-A FWD-HAIRPIN -s 10\.10\.2\.0/24 -d 10\.10\.2\.0/24 -m mark --mark 0xf000000/0xf000000 -m comment --comment fwd -j MASQUERADE$' \
	"$NAT4"
assert_grep "FWD-HAIRPIN: the client's LAN" '^-A FWD-HAIRPIN -s 10\.10\.1\.0/24 ' "$NAT4"
assert_grep "FWD-HAIRPIN (IPv6): the server's LAN" \
	'^-A FWD-HAIRPIN -s fd00:2::/64 -d fd00:2::/64 ' <(nsx g ip6tables-save -t nat)
assert_no_grep "FWD-HAIRPIN: no loopback" '^-A FWD-HAIRPIN -s 127\.' "$NAT4"
assert_no_grep "FWD-HAIRPIN (IPv6): no link-local" '^-A FWD-HAIRPIN -s fe80:' \
	<(nsx g ip6tables-save -t nat)

# A prefix that comes or goes while fwd runs: its line follows, no reload.
hairpin_has() { nsx g "$1" -t nat | grep -q -- "^-A FWD-HAIRPIN -s $2 "; }
hairpin_lacks() { ! hairpin_has "$@"; }
nsx g ip addr add 10.10.3.1/24 dev veth-gw-s
nsx g ip addr add fd00:3::1/64 dev veth-gw-s
assert_eq "an added IPv4 prefix gets its line" yes \
	"$(wait_for 5 hairpin_has iptables-save 10.10.3.0/24 && echo yes || echo no)"
assert_eq "an added IPv6 prefix gets its line" yes \
	"$(wait_for 5 hairpin_has ip6tables-save fd00:3::/64 && echo yes || echo no)"
nsx g ip addr del 10.10.3.1/24 dev veth-gw-s
assert_eq "a removed IPv4 prefix loses its line" yes \
	"$(wait_for 5 hairpin_lacks iptables-save 10.10.3.0/24 && echo yes || echo no)"
assert_grep "the other lines stay" '^-A FWD-HAIRPIN -s 10\.10\.2\.0/24 ' \
	<(nsx g iptables-save -t nat)
assert_eq "H reaches the forward again afterwards" "fwd-e2e tcp 80" \
	"$(h_client tcp 10.10.1.1 8080 --timeout 3)"

# Every-packet mode: the server's answers go through fwd too, addressed to
# the gateway's 10.10.2.1 until conntrack gives them back H's address.
{
	cat "$E2E_DIR/rules/forward.yaml"
	cat <<'YAML'
  - name: web-answers
    proto: tcp
    src: [10.10.2.2, "fd00:2::2"]
    sport: 80
    action: allow
daemon:
  inspect: every-packet
YAML
} >"$T/every.yaml"
rules_put "$T/every.yaml" "$RULES"
fwd_hup
log_wait 1 'reloaded rules from'
assert_eq "every packet: tcp 10.10.1.1:8080 from H reaches the server" "fwd-e2e tcp 80" \
	"$(h_client tcp 10.10.1.1 8080 --timeout 3)"
assert_eq "every packet: tcp [fd00:1::1]:8080 from H reaches the server" "fwd-e2e tcp 80" \
	"$(h_client tcp fd00:1::1 8080 --timeout 3)"
assert_eq "every packet: the client's subnet still reaches it" "fwd-e2e tcp 80" \
	"$(client tcp 10.10.1.1 8080 --timeout 3)"
assert_eq "... the server saw the gateway's 10.10.2.1 four times in all" 4 \
	"$(server_seen tcp 80 10.10.2.1)"
assert_eq "... and the client's own address twice" 2 "$(server_seen tcp 80 10.10.1.2)"

# daemon: nat_loopback: off empties FWD-HAIRPIN, also for a prefix that
# comes later, and the LAN's connections by the gateway's address no
# longer open; the client's subnet is not concerned.
sed 's/^  inspect: every-packet$/&\n  nat_loopback: off/' "$T/every.yaml" >"$T/off.yaml"
rules_put "$T/off.yaml" "$RULES"
fwd_hup
log_wait 2 'reloaded rules from'
nsx g ip addr add 10.10.4.1/24 dev veth-gw-s
assert_eq "nat_loopback: off: H's connection by the gateway's address does not open" timeout \
	"$(h_client tcp 10.10.1.1 8080 --timeout 2)"
assert_eq "... while the client's subnet still reaches the server" "fwd-e2e tcp 80" \
	"$(client tcp 10.10.1.1 8080 --timeout 3)"
# Checked after the two connections above, seconds after the address came.
assert_no_grep "... FWD-HAIRPIN has no line, also for the prefix added since" '^-A FWD-HAIRPIN' \
	<(nsx g iptables-save -t nat)
assert_grep "... but stays, with its jump" '^-A POSTROUTING -m comment --comment fwd -j FWD-HAIRPIN$' \
	<(nsx g iptables-save -t nat)

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_grep "no FWD chains or jumps left (IPv4)" 'FWD-' <(nsx g iptables-save)
assert_no_grep "no FWD chains or jumps left (IPv6)" 'FWD-' <(nsx g ip6tables-save)
assert_no_sanitizer_report
e2e_finish
