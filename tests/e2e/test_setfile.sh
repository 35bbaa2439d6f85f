#!/bin/bash
# SPDX-License-Identifier: MIT
# test_setfile.sh FWD BUILD_DIR - a set read from a blocklist file
# (`sets: {NAME: {file: PATH}}`) blocks its sources; the file is read again
# on every reload, and a bad line keeps the old rules.
#
# The list holds 50,000 other prefixes (IPv4 and IPv6, FireHOL and Spamhaus
# DROP comment styles); the client's own networks are added to it and taken
# out again. The rules file names the list by a relative path.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222
RULES="$T/rules.yaml"
LIST="$T/drop.netset"

cat >"$RULES" <<'YAML'
version: 1
default: allow
sets:
  drop-list: {file: drop.netset}
rules:
  - name: blocklist
    src: $drop-list
    action: drop
YAML

# The 50,000 others: 100.64.0.0/10 cut into /26s, and /48s of 2001:db8::/32.
others() {
	echo "# fwd e2e blocklist; FireHOL netset style"
	echo "; and a Spamhaus DROP style comment"
	awk 'BEGIN {
		for (i = 0; i < 40000; i++)
			printf "%d.%d.%d.%d/26\n", 100, 64 + int(i / 1024), int(i / 4) % 256, (i % 4) * 64
		for (i = 0; i < 10000; i++)
			printf "2001:db8:%x::/48 ; SBL%d\n", i, i
	}'
}

list_put() {	# extra lines on stdin
	{ others; cat; } >"$LIST.tmp" && mv -f "$LIST.tmp" "$LIST"
}

reloads() {	# -> "OK FAILED"
	stats "$T/s.json" >/dev/null && jget "$T/s.json" reloads.ok reloads.failed | tr '\n' ' ' | sed 's/ $//'
}
reloads_are() { [ "$(reloads)" = "$1" ]; }
hup_and_wait() {	# EXPECTED-"OK FAILED"
	fwd_hup
	wait_for 10 reloads_are "$1"
	assert_eq "reload counters after SIGHUP" "$1" "$(reloads)"
}

verdicts() {	# DESC answer|timeout
	local want=$2
	[ "$want" = answer ] && want="fwd-e2e tcp 2222"
	assert_eq "$1: IPv4 client" "$want" "$(client tcp 10.10.2.2 2222 --timeout 2)"
	assert_eq "$1: IPv6 client" "$want" "$(client tcp fd00:2::2 2222 --timeout 2)"
}

list_put </dev/null
fwd_start "$RULES"
assert_eq "fwd check on the rules and the list" "$RULES: ok, 1 rule" "$("$FWD" check "$RULES" 2>&1)"
verdicts "client not listed" answer

printf '10.10.1.0/24   # the client network\nfd00:1::/64 ; SBL-client\n' | list_put
hup_and_wait "1 0"
verdicts "client listed, after SIGHUP" timeout

# A bad line, with the client taken off the list: the reload fails, names
# the list's file, line and column, and the old rules (client listed) stay.
bad_line=$(($(others | wc -l) + 2))
printf 'fd00:1::/64\n  10.10.1.2/24\n' | list_put
hup_and_wait "1 1"
log_wait 1 'fwd: reload failed, keeping the old rules:'
assert_grep "log: the error is at the list's PATH:LINE:COL" \
	"$LIST:$bad_line:3: error: 10.10.1.2/24 has host bits set" "$FWD_LOG"
verdicts "bad line in the list" timeout
out=$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)
assert_eq "fwd reload with the bad line: exit status" 1 "$?"
if [[ $out == *"$LIST:$bad_line:3: error:"* ]]; then
	pass "fwd reload prints the list's PATH:LINE:COL"
else
	fail "fwd reload output: expected '$LIST:$bad_line:3: error: ...', got '$out'"
fi
verdicts "after fwd reload of the bad list" timeout

list_put </dev/null
hup_and_wait "2 2"
verdicts "client taken off the list" answer
assert_eq "server saw exactly the allowed connections" 4 "$(server_seen tcp 2222)"

assert_eq "fwd still running" yes "$(alive "$FWD_PID" && echo yes || echo no)"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
