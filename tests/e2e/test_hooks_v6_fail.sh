#!/bin/bash
# SPDX-License-Identifier: MIT
# test_hooks_v6_fail.sh FWD BUILD_DIR - a host with IPv6 never runs fwd with
# IPv6 unfiltered.
# e2e-timeout: 90
#
# fwd runs in a private mount namespace whose /usr/sbin has an
# ip6tables-restore that fails while the file $T/fail6 exists (as a missing
# ip6tables module or table would), else runs the real one.
#   1. Failing from the start: fwd refuses to start (status not 0, a message
#      naming IPv6), and no FWD chain is left in either family: the IPv4
#      chains it had installed are gone again.
#   2. Started with IPv6, then a reload while it fails: the reload fails,
#      fwd runs on with the old rules and both families' chains.
#   3. With IPv6 disabled in every entry of the gateway's conf/: fwd starts
#      with IPv4 chains alone and says so.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
rules:
  - {name: web, proto: tcp, dport: 8000, action: allow}
YAML
FLAG="$T/fail6"
mkdir -p "$T/real" "$T/sbin"
chmod 755 "$T"
for f in /usr/sbin/*; do ln -s "$T/real/${f##*/}" "$T/sbin/"; done
rm "$T/sbin/ip6tables-restore"
cat >"$T/sbin/ip6tables-restore" <<EOF
#!/bin/sh
if [ -e "$FLAG" ]; then
	echo "ip6tables-restore: simulated failure" >&2
	exit 1
fi
exec "$T/real/ip6tables-restore" "\$@"
EOF
chmod 755 "$T/sbin/ip6tables-restore"

# fwd_start's work, in a mount namespace with $T/sbin as /usr/sbin.
fwd_start_wrapped() {	# RULES
	echo "--- fwd run -c $1 (ip6tables-restore wrapped) ($(date +%T.%N))" >>"$FWD_LOG"
	unshare -m --propagation private bash -c '
		mount --bind /usr/sbin "$1/real" && mount --bind "$1/sbin" /usr/sbin || exit 99
		exec ip netns exec "$2" "$3" run -c "$4" --foreground --socket "$5" --pidfile "$6"
	' - "$T" "$NS_G" "$FWD" "$1" "$SOCK" "$PIDFILE" >>"$FWD_LOG" 2>&1 &
	FWD_PID=$!
}

fwd_lines() {	# FAMILY(iptables|ip6tables)
	nsx g "$1-save" | grep -c -- 'FWD-'
}

fwd_text() {	# FAMILY: fwd's lines, as the kernel holds them
	nsx g "$1-save" | grep -- 'FWD-'
}

# 1. failing from the start
touch "$FLAG"
fwd_start_wrapped "$RULES"
if wait_for 10 fwd_gone; then
	wait "$FWD_PID"
	st=$?
	FWD_PID=""
	assert_eq "fwd refuses to start (status)" 1 "$st"
else
	fail "fwd started although its IPv6 chains failed to install"
	fwd_stop
fi
assert_grep "the refusal names IPv6" 'installing IPv6 chains failed .*IPv6.*unfiltered' "$FWD_LOG"
assert_eq "no IPv4 FWD chains left after the refused start" 0 "$(fwd_lines iptables)"
assert_eq "no IPv6 FWD chains left after the refused start" 0 "$(fwd_lines ip6tables)"

# 2. a reload that cannot install the IPv6 chains keeps the old state
rm -f "$FLAG"
fwd_start_wrapped "$RULES"
fwd_wait_ready 10 || { fail "fwd did not start with a working ip6tables-restore"; e2e_finish; }
v4=$(fwd_text iptables)
v6=$(fwd_text ip6tables)
assert_ge "IPv6 FWD lines installed" 1 "$(fwd_lines ip6tables)"
touch "$FLAG"
sed 's/dport: 8000/dport: 8001/' "$RULES" >"$T/rules2.yaml"
cp "$T/rules2.yaml" "$RULES.new"
mv "$RULES.new" "$RULES"
out=$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)
say "fwd reload: $out"
assert_grep "the reload failed" 'cannot install the kernel hooks|reload failed' <(echo "$out"; cat "$FWD_LOG")
alive "$FWD_PID" || fail "fwd died on the failed reload"
[ "$v4" = "$(fwd_text iptables)" ] && pass "IPv4 FWD lines as before" ||
	fail "IPv4 FWD lines changed by the failed reload"
[ "$v6" = "$(fwd_text ip6tables)" ] && pass "IPv6 FWD lines as before" ||
	fail "IPv6 FWD lines changed by the failed reload"
rm -f "$FLAG"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"

# 3. no IPv6 in the namespace: IPv4 alone, said so
nsx g sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
touch "$FLAG"
fwd_start_wrapped "$RULES"
if fwd_wait_ready 10; then
	pass "fwd starts in a namespace without IPv6"
	assert_grep "it says IPv4 only" 'no IPv6 in this network namespace' "$FWD_LOG"
	assert_ge "IPv4 FWD lines installed" 1 "$(fwd_lines iptables)"
	fwd_stop
else
	fail "fwd did not start in a namespace without IPv6"
fi
assert_no_sanitizer_report
e2e_finish
