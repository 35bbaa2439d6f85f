#!/bin/bash
# SPDX-License-Identifier: MIT
# test_scan_replies.sh FWD BUILD_DIR - in every-packet mode replies pass
# through fwd too; scan detection counts only packets that open a connection.
#
# The README's scan example with `inspect: every-packet`: 25 sequential
# HTTP-like connections from one client. Each SYN-ACK of the server goes to
# another ephemeral port of the client, so counting replies would make the
# server "scan" 25 ports and land it in `scanners`, cut off from everyone.
# Expected: every connection answered, no scan line, the set empty, and the
# server still answers. A real scan from a second client address is still
# caught, so detection is not simply off. The same for 25 UDP queries, each
# from a port of its own: the answers are replies, not a scan.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
nsx c ip addr add 10.10.1.3/24 dev veth-c
servers_start --tcp 80 --udp 53
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
daemon: {inspect: every-packet}
dynamic:
  scanners: {timeout: 10m, max: 10000}
scan:
  ports: 20
  window: 10s
  block: {set: scanners, timeout: 10m}
rules:
  - {name: scanners, src: $scanners, action: drop}
  - {name: web, proto: tcp, dport: [80, 443], action: allow}
  - {name: web-replies, proto: tcp, sport: [80, 443], action: allow}
  - {name: dns, proto: udp, dport: 53, action: allow}
  - {name: dns-replies, proto: udp, sport: 53, action: allow}
  - {name: closed, proto: tcp, action: reject}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML
fwd_start "$RULES"

from() {	# SRC PORT [TIMEOUT]: tcp to the server from SRC
	client tcp 10.10.2.2 "$2" --src "$1" --timeout "${3:-3}"
}

ok=0
for i in $(seq 1 25); do
	[ "$(from 10.10.1.2 80)" = "fwd-e2e tcp 80" ] && ok=$((ok + 1))
done
assert_eq "25 sequential connections to 80 answered" 25 "$ok"
sleep 0.5
assert_eq "no scan line after 25 connections" 0 "$(log_count 'fwd: scan ')"
stats "$T/s.json"
assert_eq "scanners is empty" 0 "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["dynamic"]["sets"]["scanners"]["members"]))' "$T/s.json")"
assert_eq "the server still answers .3" "fwd-e2e tcp 80" "$(from 10.10.1.3 80)"

# UDP: the headers cannot tell a reply from a new flow; fwd's hooks mark
# what conntrack calls NEW, so 25 answers to 25 client ports are no scan.
ok=0
for i in $(seq 1 25); do
	[ "$(client udp 10.10.2.2 53 --timeout 2)" = "fwd-e2e udp 53" ] && ok=$((ok + 1))
done
assert_eq "25 UDP queries to 53 from 25 ports answered" 25 "$ok"
sleep 0.5
assert_eq "no scan line after 25 UDP answers" 0 "$(log_count 'fwd: scan ')"
assert_eq "the server still answers .2 over UDP" "fwd-e2e udp 53" "$(client udp 10.10.2.2 53 --timeout 2)"

refused=0
for p in $(seq 1001 1025); do
	[ "$(from 10.10.1.3 $p 0.3)" = refused ] && refused=$((refused + 1))
done
log_wait 1 'fwd: scan src=10\.10\.1\.3 ports=21 window=10s set=scanners$'
assert_eq "a real scan from .3: 19 closed ports answered before the block" 19 "$refused"
assert_eq "the server is not logged as a scanner" 0 "$(log_count 'fwd: scan src=10\.10\.2\.2')"
assert_eq "80 still answered for .2" "fwd-e2e tcp 80" "$(from 10.10.1.2 80)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
