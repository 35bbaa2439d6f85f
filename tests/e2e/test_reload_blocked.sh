#!/bin/bash
# SPDX-License-Identifier: MIT
# test_reload_blocked.sh FWD BUILD_DIR - a reload never opens a dynamic set.
#
# 10.10.1.2 goes over a limit whose on_exceed puts it in the set `blocked`;
# the first rule drops `src: $blocked`. The blocked client then floods the
# server's UDP sink (a port the rules allow to anyone else) while the test
# makes 200 reloads through `fwd reload`. Every packet is judged
# (`inspect: every-packet`). The new table must hold the set's members
# before it is published: the sink must count 0 datagrams, and the source
# must still be a member at the end.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
RELOADS=200
servers_start --udp 9 --sink 6000 --status "$T/sink.status"
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
daemon: {inspect: every-packet}
dynamic:
  blocked: {timeout: 10m, max: 1000}
rules:
  - {name: blocked, src: $blocked, action: drop}
  - {name: sink, proto: udp, dport: 6000, action: allow}
  - name: echo
    proto: udp
    dport: 9
    action: allow
    limit: {rate: 1/m, burst: 1, per: src}
    on_exceed: {add: blocked, timeout: 10m}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML
fwd_start "$RULES"

for i in 1 2 3; do client udp 10.10.2.2 9 --timeout 0.5 >/dev/null; done
members() {
	stats "$T/s.json" && "$PY" -c 'import json,sys; print(" ".join(m["addr"] for m in json.load(open(sys.argv[1]))["dynamic"]["sets"]["blocked"]["members"]))' "$T/s.json"
}
assert_eq "the client is blocked" 10.10.1.2 "$(members)"

bg c "$T/flood.log" "$PY" "$E2E_DIR/client.py" flood 10.10.2.2 6000 1000000 5000
FLOOD_PID=$BG_PID
sleep 0.3
ok=0
for i in $(seq 1 $RELOADS); do
	r=$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)
	case $r in ok*) ok=$((ok + 1)) ;; *) say "reload $i: $r" ;; esac
done
alive "$FLOOD_PID" || fail "the flood ended before the reloads did"
kill "$FLOOD_PID" 2>/dev/null
assert_eq "reloads that answered ok" $RELOADS "$ok"
stats "$T/s2.json"
assert_eq "stats: reloads ok" $RELOADS "$(jget "$T/s2.json" reloads.ok)"
assert_ge "the blocked rule dropped the flood" 10000 "$(jget "$T/s2.json" rule:blocked.packets)"
sleep 0.3
assert_eq "datagrams through while reloading" "received 0 unique 0" "$(cat "$T/sink.status" 2>/dev/null || echo 'received 0 unique 0')"
assert_eq "the client is still blocked" 10.10.1.2 "$(members)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
