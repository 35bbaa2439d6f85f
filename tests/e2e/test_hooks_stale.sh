#!/bin/bash
# SPDX-License-Identifier: MIT
# test_hooks_stale.sh FWD BUILD_DIR - another tool puts back an old copy of
# fwd's chains, or adds a rule to one, and fwd puts its own back.
#
# The jumps into fwd's chains are not all that matters: what the chains
# hold decides as much. The operator saves the tables while 10.10.1.1:8022
# is forwarded to 10.10.2.2:2222 (netfilter-persistent save), then moves the
# forward to 10.10.2.2:2424 and stops allowing 2222; two reloads later the
# forward's mark is the old one again. A netfilter-persistent reload then
# restores the saved nat table, old FWD-DNAT and all: every jump is there,
# fwd judges the packet by its forward, and the stale DNAT line sends it to
# 10.10.2.2:2222, the port the rules drop (the saved FWD-EARLY is stale too,
# and fwd names the first line that differs). And a rule another tool puts
# into FWD-QUEUE (`ip6tables -t mangle -I FWD-QUEUE -p tcp --dport 2424 -j
# ACCEPT`) passes what the rules drop without fwd seeing it, and a rate
# line in FWD-GATE sheds what the rules allow. fwd looks at its chains every
# FWD_HOOKS_CHECK_MS (5 s), sees that a chain of its own is not as it
# left it, says which line, and installs its chains again: a moment after
# the change, which nf_tables reports to fwd (no more than 1.5 s here;
# without such events, at its next look).
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
assert_eq "10.10.1.1:8022 is forwarded" "fwd-e2e tcp 2222" "$(client tcp 10.10.1.1 8022)"
nsx g iptables-save >"$T/saved.v4"
assert_grep "the saved nat table holds the forward" '^-A FWD-DNAT .*--to-destination 10.10.2.2:2222' \
	"$T/saved.v4"

cat >"$RULES" <<'YAML'
version: 1
default: drop
rules:
  - {name: icmpv6, proto: icmpv6, action: allow}
  - {name: fwd-web, proto: tcp, in: veth-gw-c, dst: 10.10.1.1, dport: 8022, action: forward, to: "10.10.2.2:2424"}
YAML
assert_eq "fwd reload" "ok: 2 rules" "$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)"
assert_eq "fwd reload again" "ok: 2 rules" "$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)"
assert_grep "the forward has its old mark again" '^-A FWD-DNAT .*--mark 0xf000001 .*10\.10\.2\.2:2424$' \
	<(nsx g iptables-save -t nat)
assert_eq "tcp 2222 is dropped now" timeout "$(client tcp 10.10.2.2 2222 --timeout 1)"
assert_eq "10.10.1.1:8022 is forwarded to 2424" "fwd-e2e tcp 2424" "$(client tcp 10.10.1.1 8022)"
sleep 6
assert_eq "a quiet run: nothing restored" 0 "$(hooks_restored)"
assert_no_grep "... and no warning" 'fwd: hooks: ' "$FWD_LOG"

# netfilter-persistent reload: the saved file, each table replaced whole.
nsx g iptables-restore <"$T/saved.v4"
T0=$(now_ms)
log_when 1 "fwd: hooks: iptables -t (mangle|nat): FWD-[A-Z]+ is not as fwd left it \(-A FWD-.* is new\) \(another tool restored or flushed the table\?\); fwd.s hooks are back$" 8 \
	>"$T/back.ms" &
back=$!
hooks_hole "with the old FWD-DNAT back, 10.10.1.1:8022 reaches tcp 2222, which the rules drop" \
	"fwd-e2e tcp 2222" 1 10.10.1.1 8022
wait $back || fail "no line says the chain was put back: $(grep 'hooks:' "$FWD_LOG")"
assert_range "it is back within 1.5 s: nf_tables told fwd (ms)" 0 1500 "$(($(cat "$T/back.ms" 2>/dev/null || echo 0) - T0))"
assert_eq "10.10.1.1:8022 is forwarded to 2424 again" "fwd-e2e tcp 2424" "$(client tcp 10.10.1.1 8022)"
assert_no_grep "the stale DNAT is gone" '10\.10\.2\.2:2222' <(nsx g iptables-save -t nat)
assert_eq "fwd stats: one restore" 1 "$(hooks_restored)"

# A rule of another tool in fwd's own chain.
nsx g ip6tables -t mangle -I FWD-QUEUE -p tcp --dport 2424 -j ACCEPT
T0=$(now_ms)
log_when 1 "fwd: hooks: ip6tables -t mangle: FWD-QUEUE is not as fwd left it \(-A FWD-QUEUE -p tcp -m tcp --dport 2424 -j ACCEPT is new\)" 8 \
	>"$T/gone.ms" &
gone=$!
hooks_hole "with an ACCEPT in FWD-QUEUE, tcp 2424 gets through" "fwd-e2e tcp 2424" 2 fd00:2::2 2424
wait $gone || fail "no line names the rule: $(grep 'hooks:' "$FWD_LOG")"
assert_range "it is gone within 1.5 s (ms)" 0 1500 "$(($(cat "$T/gone.ms" 2>/dev/null || echo 0) - T0))"
assert_eq "tcp 2424 is dropped again" timeout "$(client tcp fd00:2::2 2424 --timeout 1)"
assert_no_grep "the rule is gone" 'dport 2424 -j ACCEPT' <(nsx g ip6tables-save -t mangle)

# A line of fwd's own taken out.
nsx g iptables -t mangle -D FWD-QUEUE 1
T0=$(now_ms)
log_wait 1 "fwd: hooks: iptables -t mangle: FWD-QUEUE is not as fwd left it \(-A FWD-QUEUE .* is gone\)" 8 ||
	fail "no line says a rule is gone: $(grep 'hooks:' "$FWD_LOG")"
assert_range "it is back within 1.5 s (ms)" 0 1500 "$(($(now_ms) - T0))"

# A rate line in FWD-GATE that fwd did not put there (a saved one, from a
# flood): it would shed what comes faster, flood or not. fwd takes no event
# of FWD-GATE for a cue (its gate changes the chain by itself), so the next
# look finds it: the one every 5 s, or one another change brought (here the
# look after fwd's own restore above may come first).
nsx g iptables -t raw -A FWD-GATE -m hashlimit --hashlimit-above 1/sec \
	--hashlimit-name fwd-gate-999 -j FWD-SHED
T0=$(now_ms)
log_wait 1 "fwd: hooks: iptables: FWD-GATE is not as fwd left it \(rate lines: 1, fwd left 0; one not of fwd's name\)" 8 ||
	fail "no line names the gate: $(grep 'hooks:' "$FWD_LOG")"
assert_range "it is gone within 5 s and a moment (ms)" 0 6500 "$(($(now_ms) - T0))"
assert_eq "the gate's line is gone" 0 "$(nsx g iptables -t raw -S FWD-GATE | grep -c hashlimit)"
assert_eq "fwd stats: four restores" 4 "$(hooks_restored)"
sleep 6
assert_eq "... and no more on the next look" 4 "$(hooks_restored)"
assert_eq "the forward works all along" "fwd-e2e tcp 2424" "$(client tcp 10.10.1.1 8022)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_grep "its chains are gone after the stop" 'FWD-' <(nsx g iptables-save; nsx g ip6tables-save)
assert_no_sanitizer_report
e2e_finish
