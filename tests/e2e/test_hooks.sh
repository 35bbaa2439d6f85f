#!/bin/sh
# SPDX-License-Identifier: MIT
# test_hooks.sh FWD BUILDDIR - fwd's iptables chains, installed and removed
# inside a network namespace this script makes (never the host's firewall).
# Drives BUILDDIR/tests/test_hooks --install FILE / --remove and reads the
# result back with iptables-save / ip6tables-save.
# Prints PASS/FAIL/SKIP and exits 0/1/77.
set -u
name=hooks
build=${2:-build}
drv=$build/tests/test_hooks
ns=fwdt-hooks-$$
tmp=

skip() { echo "SKIP $name: $*"; exit 77; }
fail() { echo "FAIL $name: $*"; exit 1; }
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	ip netns del "$ns" 2>/dev/null
	if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
nsx() { ip netns exec "$ns" "$@"; }

[ -x "$drv" ] || skip "$drv not built (make B=$build $drv)"
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null 2>&1 || skip "no ip command"
[ -x /usr/sbin/iptables-restore ] || [ -x /sbin/iptables-restore ] || skip "no iptables-restore"

# The driver runs only in a namespace other than this one.
FWD_TEST_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net) || skip "cannot stat /proc/self/ns/net"
export FWD_TEST_HOST_NETNS

trap cleanup EXIT
trap 'exit 1' INT TERM
err=$(ip netns add "$ns" 2>&1) || skip "ip netns add failed: $err"
tmp=$(mktemp -d) || fail "mktemp"

cat > "$tmp/rules.yaml" <<'YAML'
version: 1
default: drop
rules:
  - name: ssh
    proto: tcp
    dport: 22
    action: allow
  - name: web4
    proto: tcp
    dport: 8080
    action: forward
    to: 192.168.10.5:80
  - name: web6
    proto: tcp
    dport: 8443
    action: forward
    to: "[2001:db8::5]:443"
YAML

# The operator's own rules, which fwd must leave exactly as they are.
nsx iptables -t mangle -N OPERATOR || fail "cannot create operator chain"
nsx iptables -t mangle -A OPERATOR -p tcp --dport 9 -j MARK --set-mark 7
nsx iptables -t mangle -A PREROUTING -j OPERATOR
nsx iptables -t filter -A INPUT -p tcp --dport 2222 -j DROP
nsx iptables -t nat -A PREROUTING -p tcp --dport 2323 -j REDIRECT --to-ports 23
operator() { nsx iptables-save | grep -v '^#' | grep -E 'OPERATOR|2222|2323'; }
before=$(operator)
[ -n "$before" ] || fail "operator rules not visible in iptables-save"

count() { printf '%s\n' "$1" | grep -c -x -e "$2"; }

# $1: iptables-save output, $2: family label; checks chains and jumps
check_installed() {
	save=$1
	for chain in FWD-QUEUE FWD-DNAT FWD-HAIRPIN; do
		printf '%s\n' "$save" | grep -q "^:$chain " || fail "$2: chain $chain missing"
	done
	n=$(count "$save" '-A PREROUTING -m comment --comment fwd -j FWD-QUEUE')
	[ "$n" -eq 1 ] || fail "$2: $n jump rules to FWD-QUEUE, want 1"
	n=$(count "$save" '-A PREROUTING -m comment --comment fwd -j FWD-DNAT')
	[ "$n" -eq 1 ] || fail "$2: $n jump rules to FWD-DNAT, want 1"
	n=$(count "$save" '-A PREROUTING -m comment --comment fwd -j FWD-GATE')
	[ "$n" -eq 1 ] || fail "$2: $n jump rules to FWD-GATE (raw), want 1"
	n=$(count "$save" '-A POSTROUTING -m comment --comment fwd -j FWD-HAIRPIN')
	[ "$n" -eq 1 ] || fail "$2: $n jump rules to FWD-HAIRPIN (nat POSTROUTING), want 1"
	n=$(count "$save" '-A FWD-QUEUE -j NFQUEUE --queue-num 0')
	[ "$n" -eq 1 ] || fail "$2: $n NFQUEUE rules, want 1"
	n=$(count "$save" '-A FWD-QUEUE -i lo -j RETURN')
	[ "$n" -eq 1 ] || fail "$2: $n loopback rules, want 1"
}

out=$(nsx "$drv" --install "$tmp/rules.yaml" 2>&1) || fail "install: $out"
out=$(nsx "$drv" --install "$tmp/rules.yaml" 2>&1) || fail "second install: $out"
save4=$(nsx iptables-save)
check_installed "$save4" IPv4
printf '%s\n' "$save4" | grep -q -e '-j DNAT --to-destination 192.168.10.5:80$' ||
	fail "IPv4: DNAT for web4 missing"
n=$(printf '%s\n' "$save4" | grep -c -e '-A FWD-DNAT ')
[ "$n" -eq 3 ] || fail "IPv4: $n DNAT rules after two installs, want 3 (tcp, udp, other)"
printf '%s\n' "$save4" | grep -q '2001:db8' && fail "IPv4: an IPv6 target in iptables"

if nsx ip6tables-save >/dev/null 2>&1; then
	save6=$(nsx ip6tables-save)
	check_installed "$save6" IPv6
	printf '%s\n' "$save6" | grep -q -e '-j DNAT --to-destination \[2001:db8::5\]:443$' ||
		fail "IPv6: DNAT for web6 missing"
fi

# The jump comes first in PREROUTING, before the operator's rule.
first=$(printf '%s\n' "$save4" | sed -n '/^\*mangle/,/^COMMIT/p' | grep -m1 '^-A PREROUTING')
[ "$first" = "-A PREROUTING -m comment --comment fwd -j FWD-QUEUE" ] ||
	fail "first mangle PREROUTING rule is '$first'"
[ "$(operator)" = "$before" ] || fail "operator rules changed by install"

out=$(nsx "$drv" --remove 2>&1) || fail "remove: $out"
left=$(nsx iptables-save; nsx ip6tables-save 2>/dev/null)
printf '%s\n' "$left" | grep -q -e 'FWD-' -e 'comment fwd' && fail "left after remove: $(printf '%s\n' "$left" | grep -e FWD- -e 'comment fwd' | head -3)"
[ "$(operator)" = "$before" ] || fail "operator rules changed by remove"
out=$(nsx "$drv" --remove 2>&1) || fail "remove when absent: $out"

echo "PASS $name"
exit 0
