#!/bin/bash
# SPDX-License-Identifier: MIT
# test_scan_nmap.sh FWD BUILD_DIR - nmap's scans against scan detection.
# e2e-timeout: 240
#
# The server's tcp 80 and udp 53 are allowed, other TCP ports rejected (a
# reset: nmap reports them closed), everything else from the client's side
# dropped. `scan:` blocks
# a source past 20 ports in 10 s. Each scan comes from an address of its own
# on the client, 100 ports, nmap's -T4 with one retry:
#
#   SYN scan (-sS, with nmap's host discovery)   10.10.1.2
#   connect scan (-sT)                           10.10.1.3
#   UDP scan (-sU)                               10.10.1.4
#   SYN scan over IPv6                           fd00:1::2
#   SYN scan, `inspect: every-packet`            10.10.1.7
#
# Each is logged once, and nmap finds at most 20 ports answering: the rest
# of the scan meets the block and shows filtered. The scanner's own tcp 80
# then times out while 10.10.1.6, which scanned nothing, still reaches it.
# An ACK scan (-sA, 10.10.1.8) finds every port unfiltered: conntrack picks
# up the probe as new, and the rules allow or reject each TCP port here.
# A FIN scan (-sF, 10.10.1.5) learns nothing in the stateful mode: conntrack
# calls a FIN without a connection invalid and fwd's hooks drop it, so every
# port shows open|filtered. In every-packet mode the rules judge it, and the
# reject rule answers it: the rejected ports show closed. Either way it is
# not counted as a scan: only packets that open a connection are
# (fwd-rules(5), WHAT COUNTS AS OPENING A CONNECTION).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
command -v nmap >/dev/null 2>&1 || skip "nmap not installed (packaging/deps.sh installs it)"
topo_up
for a in 10.10.1.3 10.10.1.4 10.10.1.5 10.10.1.6 10.10.1.7 10.10.1.8; do
	nsx c ip addr add $a/24 dev veth-c
done
servers_start --tcp 80 --udp 53
rules() {	# INSPECT
	cat <<YAML
version: 1
default: drop
daemon: {inspect: $1}
dynamic:
  scanners: {timeout: 60s, max: 100}
scan:
  ports: 20
  window: 10s
  block: {set: scanners}
rules:
  - {name: server-side, in: veth-gw-s, action: allow}   # replies, in every-packet mode
  - {name: scanners, src: \$scanners, action: drop}
  - {name: web, proto: tcp, dport: 80, action: allow}
  - {name: dns, proto: udp, dport: 53, action: allow}
  - {name: closed, proto: tcp, action: reject}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML
}
RULES="$T/rules.yaml"
rules new-connections >"$RULES"
fwd_start "$RULES"

# nmap OPTIONS... HOST: ports by the state nmap reports, as "STATE N" lines
# (its grepable output lists some ports and sums the rest as ignored).
scan() {
	local out="$T/nmap.$N_SCANS"
	N_SCANS=$((N_SCANS + 1))
	nsx c timeout 90 nmap -n -T4 --max-retries 1 -p 1-100 -oG "$out" "$@" \
		>"$out.log" 2>&1 || fail "nmap $* exited $?: $(tail -n 2 "$out.log")"
	"$PY" - "$out" <<'PYX'
import collections, re, sys
n = collections.Counter()
for line in open(sys.argv[1]):
    if '\tPorts: ' not in line:
        continue
    ports = line.split('\tPorts: ', 1)[1]
    for m in re.finditer(r'(\d+)/([a-z|]+)/', ports):
        n[m.group(2)] += 1
    for m in re.finditer(r'Ignored State: ([a-z|]+) \((\d+)\)', ports):
        n[m.group(1)] += int(m.group(2))
for state, count in sorted(n.items()):
    print(state, count)
PYX
}
N_SCANS=0
state() { awk -v s="$1" '$1 == s { n = $2 } END { print n + 0 }' <<<"$2"; }
answered() { echo $(($(state open "$1") + $(state closed "$1"))); }

checks() {	# WHAT SRC NMAP_RESULT
	local what=$1 src=$2 r=$3
	say "$what from $src: $(tr '\n' ' ' <<<"$r")"
	assert_eq "$what: fwd logs the scanner once" 1 \
		"$(log_count "^fwd: scan src=${src//./\\.} ports=21 window=10s set=scanners\$")"
	assert_range "$what: ports that answered nmap" 1 20 "$(answered "$r")"
	assert_range "$what: ports nmap found filtered" 80 100 \
		"$(( $(state filtered "$r") + $(state 'open|filtered' "$r") ))"
}

r=$(scan -sS 10.10.2.2)
checks "SYN scan" 10.10.1.2 "$r"
assert_eq "the scanner's tcp 80 now times out" timeout \
	"$(client tcp 10.10.2.2 80 --src 10.10.1.2 --timeout 2)"
assert_eq "a bystander's tcp 80 answers" "fwd-e2e tcp 80" \
	"$(client tcp 10.10.2.2 80 --src 10.10.1.6 --timeout 3)"

r=$(scan -Pn -sT -S 10.10.1.3 -e veth-c 10.10.2.2)
checks "connect scan" 10.10.1.3 "$r"

r=$(scan -Pn -sU -S 10.10.1.4 -e veth-c 10.10.2.2)
say "UDP scan from 10.10.1.4: $(tr '\n' ' ' <<<"$r")"
assert_eq "UDP scan: fwd logs the scanner once" 1 \
	"$(log_count '^fwd: scan src=10\.10\.1\.4 ports=21 ')"
assert_eq "UDP scan: the scanner's udp 53 is blocked now" timeout \
	"$(client udp 10.10.2.2 53 --src 10.10.1.4 --timeout 2)"

r=$(scan -6 -sS fd00:2::2)
checks "SYN scan over IPv6" fd00:1::2 "$r"

r=$(scan -Pn -sF -S 10.10.1.5 -e veth-c 10.10.2.2)
say "FIN scan from 10.10.1.5: $(tr '\n' ' ' <<<"$r")"
assert_eq "FIN scan: every port open|filtered" 100 "$(state 'open|filtered' "$r")"

# An ACK scan maps the rules: every TCP port here is allowed (the server's
# stack answers a reset) or rejected (fwd does), none dropped.
r=$(scan -Pn -sA -S 10.10.1.8 -e veth-c 10.10.2.2)
say "ACK scan from 10.10.1.8: $(tr '\n' ' ' <<<"$r")"
assert_eq "ACK scan: every port unfiltered" 100 "$(state unfiltered "$r")"
assert_eq "ACK scan: not counted as a scan" 0 "$(log_count '^fwd: scan src=10\.10\.1\.8 ')"

rules every-packet >"$RULES"
fwd_stop
fwd_start "$RULES"
r=$(scan -Pn -sS -S 10.10.1.7 -e veth-c 10.10.2.2)
checks "SYN scan, every-packet mode" 10.10.1.7 "$r"
assert_eq "a bystander's tcp 80 answers in every-packet mode" "fwd-e2e tcp 80" \
	"$(client tcp 10.10.2.2 80 --src 10.10.1.6 --timeout 3)"
r=$(scan -Pn -sF -S 10.10.1.5 -e veth-c 10.10.2.2)
say "FIN scan, every-packet mode, from 10.10.1.5: $(tr '\n' ' ' <<<"$r")"
assert_eq "FIN scan, every-packet mode: the rejected ports answer (closed)" 99 "$(state closed "$r")"
assert_eq "FIN scan, every-packet mode: not counted as a scan" 0 "$(log_count '^fwd: scan src=10\.10\.1\.5 ')"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
