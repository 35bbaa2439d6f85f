#!/bin/bash
# SPDX-License-Identifier: MIT
# test_limit.sh FWD BUILD_DIR - a per-source limit on a rule.
#
# `web` allows tcp 80 with limit {rate: 5/30s, burst: 5}: from one source
# the first 5 new connections pass and the 6th..10th are dropped (counted
# as limited in `fwd stats --json`); `ssh` (tcp 22) has on_exceed: {add:
# abusers}: its 4th connection puts the source into `abusers` (logged as
# a `limit` line), whose drop rule comes first, so even tcp 80 from there
# is dropped afterwards. A
# reload in between keeps the buckets.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 80,22
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
dynamic:
  abusers: {timeout: 60s, max: 100}
rules:
  - {name: abusers, src: $abusers, action: drop}
  - {name: web, proto: tcp, dport: 80, action: allow,
     limit: {rate: 5/30s, burst: 5, per: src}}
  - {name: ssh, proto: tcp, dport: 22, action: allow,
     limit: {rate: 3/m, per: src}, on_exceed: {add: abusers, timeout: 1m}}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML
fwd_start "$RULES"

tries() {	# PORT N: the answers of N connections, one word each
	local i out=""
	for i in $(seq 1 "$2"); do
		r=$(client tcp 10.10.2.2 "$1" --timeout 0.5)
		case $r in "fwd-e2e tcp $1") out+="ok " ;; *) out+="$r " ;; esac
	done
	echo "${out% }"
}

assert_eq "5 pass, the 6th..10th are dropped" \
	"ok ok ok ok ok timeout timeout timeout timeout timeout" "$(tries 80 10)"
stats "$T/s1.json"
assert_eq "web: 5 limited" 5 "$(jget "$T/s1.json" dynamic.limited.web)"
assert_eq "web: 5 counted as the rule's" 5 "$(jget "$T/s1.json" rule:web.packets)"
# A reload of the same file keeps the spent bucket: it gave every source a
# fresh burst.
assert_eq "fwd reload" "ok: 4 rules" "$(nsx g timeout 10 "$FWD" reload --socket "$SOCK" 2>&1)"
assert_eq "after a reload the 11th is dropped too" "timeout" "$(tries 80 1)"
assert_eq "ipv6 is another source" "ok" "$(r=$(client tcp fd00:2::2 80 --timeout 2); [ "$r" = "fwd-e2e tcp 80" ] && echo ok || echo "$r")"

assert_eq "ssh: 3 pass, the 4th is dropped" "ok ok ok timeout" "$(tries 22 4)"
stats "$T/s2.json"
members=$("$PY" -c 'import json,sys; print(" ".join(m["addr"] for m in json.load(open(sys.argv[1]))["dynamic"]["sets"]["abusers"]["members"]))' "$T/s2.json")
assert_eq "on_exceed added the source to abusers" 10.10.1.2 "$members"
assert_eq "ssh: 1 limited" 1 "$(jget "$T/s2.json" dynamic.limited.ssh)"
line='^fwd: limit rule=ssh src=10\.10\.1\.2 dst=10\.10\.2\.2 proto=tcp dpt=22 timeout=60s$'
log_wait 1 "$line" 3
assert_eq "the log tells that the source joined abusers, once" 1 "$(log_count "$line")"
assert_eq "and nothing of web's limit (no on_exceed: add)" 0 "$(log_count '^fwd: limit rule=web ')"
# Once the source is in the set, fwd/recheck.c queues its old connections'
# packets too, and the abusers rule drops and counts them: count up from s2.
assert_eq "the abuser is now dropped everywhere (ipv6 is not)" "timeout" \
	"$(client tcp 10.10.2.2 80 --timeout 0.5)"
stats "$T/s3.json"
assert_ge "abusers rule counted it" $(($(jget "$T/s2.json" rule:abusers.packets) + 1)) \
	"$(jget "$T/s3.json" rule:abusers.packets)"
assert_eq "web's limit never saw it" "$(jget "$T/s2.json" dynamic.limited.web)" \
	"$(jget "$T/s3.json" dynamic.limited.web)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
