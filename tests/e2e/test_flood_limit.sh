#!/bin/bash
# SPDX-License-Identifier: MIT
# test_flood_limit.sh FWD BUILD_DIR - a per-source limit holds during a spoofed flood.
#
# `web` allows tcp 80 with limit {rate: 1/m, burst: 2}. While SYNs to port
# 80 from spoofed sources flood the gateway at FLOOD_PPS (default 20000/s)
# for 14 s, each taking a token in the limit's table of 16384 sources,
# 10.10.1.2 makes 100 connection attempts to port 80 (0.1 s each when
# dropped). At most 4 may connect (the burst, plus the one a flood may take
# from it before it comes back: see fwd-rules(5)); on a quiet link it is 2.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 80
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
rules:
  - name: web
    proto: tcp
    dport: 80
    action: allow
    limit: {rate: 1/m, burst: 2, per: src}
YAML
fwd_start "$RULES"
PPS=${FLOOD_PPS:-20000}

attempts() {	# N: connection attempts to 10.10.2.2:80; prints how many connected
	client connects 10.10.2.2 80 "$1" --timeout 0.1
}

flood_start 10.10.2.2 80 80 "$PPS" 14000
sleep 2
t0=$(now_ms)
got=$(attempts 100)
say "100 attempts took $(($(now_ms) - t0)) ms, $got connected"
flood_wait
stats "$T/s.json"
say "fwd: limited.web $(jget "$T/s.json" dynamic.limited.web)"
assert_range "connections of the limited source during the flood" 1 4 "$got"
assert_ge "the limited source's refusals counted" 96 "$(jget "$T/s.json" dynamic.limited.web)"
e2e_finish
