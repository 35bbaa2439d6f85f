#!/bin/bash
# SPDX-License-Identifier: MIT
# test_scan.sh FWD BUILD_DIR - port-scan detection feeds a dynamic set.
#
# 10.10.1.2 tries 30 tcp ports (refused: a reject rule); past the 20th it is
# in the set `scanners`, whose drop rule comes first: tcp 80, allowed
# before, now times out. Exactly one `scan` line is logged. 10.10.1.3 (a
# second address of the client) still reaches 80; 10.10.1.4 is under
# `ignore:` and may try 30 ports unblocked. `fwd unblock` lets .2 in again.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
for a in 10.10.1.3 10.10.1.4; do
	nsx c ip addr add $a/24 dev veth-c
done
servers_start --tcp 80
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
dynamic:
  scanners: {timeout: 60s, max: 100}
scan:
  ports: 20
  window: 10s
  block: {set: scanners}
  ignore: [10.10.1.4]
rules:
  - {name: scanners, src: $scanners, action: drop}
  - {name: web, proto: tcp, dport: 80, action: allow}
  - {name: closed, proto: tcp, action: reject}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML
fwd_start "$RULES"

from() {	# SRC PORT [TIMEOUT]: tcp to the server from SRC
	client tcp 10.10.2.2 "$2" --src "$1" --timeout "${3:-3}"
}

probe() {	# SRC: 30 ports; prints how many were refused and how many timed out
	local p r refused=0 timeout=0
	for p in $(seq 1001 1030); do
		r=$(from "$1" $p 0.3)
		case $r in refused) refused=$((refused + 1)) ;; timeout) timeout=$((timeout + 1)) ;; esac
	done
	echo "refused=$refused timeout=$timeout"
}

assert_eq "80 open for .2 before" "fwd-e2e tcp 80" "$(from 10.10.1.2 80)"
assert_eq "80 open for .3 before" "fwd-e2e tcp 80" "$(from 10.10.1.3 80)"
# Port 80 above was the first distinct port; 1001..1019 make 20, and 1020,
# the 21st, is the scan: it and every later probe are dropped.
assert_eq "the scan: 19 ports answered, then silence" "refused=19 timeout=11" "$(probe 10.10.1.2)"
assert_eq "80 blocked for the scanner" timeout "$(from 10.10.1.2 80 1)"
assert_eq "80 still open for .3" "fwd-e2e tcp 80" "$(from 10.10.1.3 80)"
log_wait 1 'fwd: scan src=10\.10\.1\.2 ports=21 window=10s set=scanners$'
sleep 0.5
assert_eq "exactly one scan line" 1 "$(log_count 'fwd: scan ')"

assert_eq "an ignored source is never blocked" "refused=30 timeout=0" "$(probe 10.10.1.4)"
assert_eq "80 open for the ignored source" "fwd-e2e tcp 80" "$(from 10.10.1.4 80)"
assert_eq "still one scan line" 1 "$(log_count 'fwd: scan ')"

stats "$T/s.json"
assert_eq "scan.detected" 1 "$(jget "$T/s.json" dynamic.scan.detected)"
members=$("$PY" -c 'import json,sys; print(" ".join(m["addr"] for m in json.load(open(sys.argv[1]))["dynamic"]["sets"]["scanners"]["members"]))' "$T/s.json")
assert_eq "the scanner is the set's one member" 10.10.1.2 "$members"

# A reload keeps the set's members and the counts, which are totals since start.
assert_eq "fwd reload" ok "$(nsx g "$FWD" reload --socket "$SOCK" 2>&1 | cut -d: -f1)"
stats "$T/s.json"
assert_eq "scan.detected after a reload" 1 "$(jget "$T/s.json" dynamic.scan.detected)"
assert_eq "80 still blocked for the scanner after a reload" timeout "$(from 10.10.1.2 80 1)"

assert_eq "fwd unblock" "ok: 1 entries removed" "$(nsx g "$FWD" unblock --socket "$SOCK" 10.10.1.2)"
assert_eq "80 open again after unblock" "fwd-e2e tcp 80" "$(from 10.10.1.2 80)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
