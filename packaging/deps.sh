#!/bin/sh
# Install the Debian packages fwd needs to build, test, package (make deb,
# make lintian) and run under systemd (make check-system), skipping those
# already present. Idempotent; needs root (or sudo) only when something is missing.
set -eu

# keepalived, conntrackd, conntrack: the HA pair of packaging/ha/ and
# tests/e2e/test_ha.sh (which runs them in namespaces of its own).
# dnsmasq-base, isc-dhcp-client: a DHCPv6 server and client for
# tests/e2e/test_dhcpv6.sh (neither package starts a service).
# nmap: the scanner of tests/e2e/test_scan_nmap.sh. (knockd's `knock` client,
# prometheus' promtool and crowdsec are unpacked by the tests themselves,
# never installed: their packages would start daemons.)
PKGS="build-essential pkg-config
libnetfilter-queue-dev libmnl-dev libyaml-dev liburcu-dev
libcap-ng-dev libseccomp-dev libcmocka-dev
libcurl4-openssl-dev libjson-c-dev
iptables iproute2 netbase python3 python3-scapy python3-yaml
clang libclang-rt-dev valgrind strace tmux procps iperf3 radvd
man-db
debhelper dpkg-dev lintian
debootstrap systemd-container
keepalived conntrackd conntrack
dnsmasq-base isc-dhcp-client
nmap"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
