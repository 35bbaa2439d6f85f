#!/bin/bash
# SPDX-License-Identifier: MIT
# test_flood_scan.sh FWD BUILD_DIR - a port scan is detected during a spoofed flood.
#
# While SYNs from spoofed sources (each nearly always a new one) flood the
# gateway at FLOOD_PPS (default 20000/s) for 10 s, churning the scan table
# (`max: 4096`) many times over, 10.10.1.2 tries 30 ports in 6 s. It must
# be detected (one `scan` line, in the set, `scan.detected` 1) and the flood
# must have evicted entries, or the test proved nothing. Prints the figures.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
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
  max: 4096
  block: {set: scanners}
rules:
  - {name: scanners, src: $scanners, action: drop}
  - {name: web, proto: tcp, dport: 80, action: allow}
  - {name: closed, proto: tcp, action: drop}
YAML
fwd_start "$RULES"
PPS=${FLOOD_PPS:-20000}

flood_start 10.10.2.2 1000 60000 "$PPS" 10000
sleep 2
# 30 ports, 0.2 s each: 6 s (every probe times out: `closed` drops them).
t0=$(now_ms)
nsx c "$PY" -c 'import socket
for p in range(2001, 2031):
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect(("10.10.2.2", p))
    except OSError:
        pass
    s.close()'
say "scan of 30 ports took $(($(now_ms) - t0)) ms"
flood_wait
stats "$T/s.json"
say "fwd: scan $(jget "$T/s.json" dynamic.scan)"
assert_eq "the scanner was detected during the flood" 1 "$(jget "$T/s.json" dynamic.scan.detected)"
log_wait 1 'fwd: scan src=10\.10\.1\.2 ' || fail "no scan line for 10.10.1.2"
assert_ge "the flood churned the table (evicted)" 4096 "$(jget "$T/s.json" dynamic.scan.evicted)"
assert_eq "80 blocked for the scanner" timeout "$(client tcp 10.10.2.2 80 --timeout 1 2>/dev/null)"
e2e_finish
