#!/bin/bash
# SPDX-License-Identifier: MIT
# test_hooks_taken.sh FWD BUILD_DIR - another tool takes fwd's hooks away,
# and fwd puts them back.
#
# What netfilter-persistent's reload does (iptables-restore of the
# operator's file, without --noflush: each table in the file is replaced
# whole) and `ip6tables -t mangle -F` both remove the rules that lead into
# fwd's chains. The gateway then passes what the rules drop: a connection to
# tcp 2424 (default: drop) gets through over IPv4 and IPv6, and the forward
# of 10.10.1.1:8022 is gone. nf_tables reports the change, and within 1.5 s
# (without such events, at its next look: every FWD_HOOKS_CHECK_MS, 5 s)
# fwd sees it, says so, and installs its hooks again, leaving the operator's own rule in
# place: 2424 is dropped again, the forward works, `fwd stats` and the
# metrics count one restore. A quiet run before counts none.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,2424
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
rules:
  - {name: ssh, proto: tcp, dport: 2222, action: allow}
  - {name: fwd-ssh, proto: tcp, in: veth-gw-c, dst: 10.10.1.1, dport: 8022, action: forward, to: "10.10.2.2:2222"}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML

fwd_start "$RULES"
assert_eq "tcp 2222 is allowed" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222)"
assert_eq "tcp 2424 is dropped" timeout "$(client tcp 10.10.2.2 2424 --timeout 1)"
assert_eq "10.10.1.1:8022 is forwarded" "fwd-e2e tcp 2222" "$(client tcp 10.10.1.1 8022)"
sleep 6
assert_eq "a quiet run: nothing restored" 0 "$(hooks_restored)"
assert_no_grep "... and no warning" 'fwd: hooks: ' "$FWD_LOG"

# The operator's own file, as netfilter-persistent restores it.
nsx g iptables-restore <<'RESTORE'
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 9 -j MARK --set-mark 0x7
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
RESTORE
nsx g ip6tables -t mangle -F
T0=$(now_ms)
log_when 1 'fwd: hooks: iptables -t mangle: no rule of PREROUTING jumps to FWD-QUEUE \(another tool restored or flushed the table\?\); fwd.s hooks are back$' 8 \
	>"$T/back.ms" &
back=$!
hooks_hole "with the hooks gone, tcp 2424 gets through (IPv4)" "fwd-e2e tcp 2424" 1 10.10.2.2 2424
hooks_hole "... and over IPv6" "fwd-e2e tcp 2424" 1 fd00:2::2 2424

wait $back || fail "no line says the hooks were put back: $(grep 'hooks:' "$FWD_LOG")"
assert_range "they are back within 1.5 s: nf_tables told fwd (ms)" 0 1500 "$(($(cat "$T/back.ms" 2>/dev/null || echo 0) - T0))"
assert_eq "tcp 2424 is dropped again (IPv4)" timeout "$(client tcp 10.10.2.2 2424 --timeout 1)"
assert_eq "... and over IPv6" timeout "$(client tcp fd00:2::2 2424 --timeout 1)"
assert_eq "tcp 2222 is still allowed" "fwd-e2e tcp 2222" "$(client tcp fd00:2::2 2222)"
assert_eq "10.10.1.1:8022 is forwarded again" "fwd-e2e tcp 2222" "$(client tcp 10.10.1.1 8022)"
assert_grep "the operator's own rule stays" '^-A PREROUTING -p tcp -m tcp --dport 9 -j MARK --set-xmark 0x7/0xffffffff$' \
	<(nsx g iptables-save -t mangle)
assert_eq "fwd stats: one restore" 1 "$(hooks_restored)"
nsx g "$FWD" stats --socket "$SOCK" >"$T/stats.txt"
assert_grep "the stats table says so" '^hooks: +restored 1 times after another tool took them away$' \
	"$T/stats.txt"
sleep 6
assert_eq "... and no more on the next look" 1 "$(hooks_restored)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_grep "its hooks are gone after the stop" 'FWD-' <(nsx g iptables-save; nsx g ip6tables-save)
assert_no_sanitizer_report
e2e_finish
