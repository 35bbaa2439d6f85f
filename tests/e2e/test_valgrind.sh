#!/bin/bash
# SPDX-License-Identifier: MIT
# test_valgrind.sh FWD BUILD_DIR - the daemon under valgrind memcheck.
#
# fwd (the normal build) runs under `valgrind --leak-check=full` through
# start-up, allowed, dropped and forwarded traffic, a reload, stats and a
# SIGTERM; any memcheck error or definite leak fails the test (valgrind's
# --error-exitcode). --no-seccomp: valgrind itself makes system calls that
# fwd's allow-list does not have. Skipped when valgrind is not installed.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
command -v valgrind >/dev/null 2>&1 || skip "valgrind not installed"
topo_up
servers_start --tcp 80,2222,2424
RULES="$T/rules.yaml"
cat >"$RULES" <<'YEOF'
version: 1
default: drop
log: drops
rules:
  - {name: ssh, proto: tcp, dport: 2222, action: allow}
  - {name: web, proto: tcp, dst: 10.10.1.1, dport: 8080, action: forward, to: "10.10.2.2:80"}
  - {name: icmpv6, proto: icmpv6, action: allow}
YEOF
VG_LOG="$T/valgrind.log"
REAL_FWD=$FWD
# The daemon under valgrind; the clients (`fwd stats`, ...) run as they are.
cat >"$T/fwd-vg" <<SEOF
#!/bin/sh
[ "\$1" = run ] || exec "$REAL_FWD" "\$@"
exec valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-fds=no --log-file="$VG_LOG" "$REAL_FWD" "\$@"
SEOF
chmod +x "$T/fwd-vg"
FWD="$T/fwd-vg"

echo "--- valgrind fwd run -c $RULES" >>"$FWD_LOG"
ip netns exec "$NS_G" "$FWD" run -c "$RULES" --foreground --socket "$SOCK" --no-seccomp \
	>>"$FWD_LOG" 2>&1 &
FWD_PID=$!
vg_ready() { nsx g "$REAL_FWD" stats --socket "$SOCK" >/dev/null 2>&1; }
if ! wait_for 40 vg_ready; then
	fail "fwd under valgrind did not answer within 40 s"
	cat "$VG_LOG" 2>/dev/null | tail -20
	e2e_finish
fi
pass "fwd under valgrind answers"

assert_eq "allowed: tcp 2222" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222 --timeout 5)"
assert_eq "dropped: tcp 2424" timeout "$(client tcp 10.10.2.2 2424 --timeout 2)"
assert_eq "forwarded: 10.10.1.1:8080 -> 10.10.2.2:80" "fwd-e2e tcp 80" "$(client tcp 10.10.1.1 8080 --timeout 5)"
log_wait 1 'fwd: drop rule=default .*dpt=2424' 10
assert_grep "the drop was logged" 'fwd: drop rule=default .*dpt=2424' "$FWD_LOG"

sed -i 's/dport: 2222, action: allow/dport: 2222, action: drop/' "$RULES"
assert_eq "fwd reload" "ok: 3 rules" "$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)"
assert_eq "after the reload: tcp 2222 dropped" timeout "$(client tcp 10.10.2.2 2222 --timeout 2)"
stats "$T/s.json"
# ssh: the allowed connection and the dropped SYN with its retransmits.
assert_ge "stats: ssh packets" 2 "$(jget "$T/s.json" rule:ssh.packets)"
assert_eq "stats: web packets" 1 "$(jget "$T/s.json" rule:web.packets)"
nsx g "$FWD" stats --socket "$SOCK" >/dev/null
nsx g "$FWD" stats --socket "$SOCK" --json >/dev/null
kill -HUP "$FWD_PID"
kill -USR1 "$FWD_PID"
wait_for 10 log_has 2 'fwd: reloaded rules from'

kill -TERM "$FWD_PID"
if wait_for 30 fwd_gone; then
	wait "$FWD_PID" 2>/dev/null
	FWD_STATUS=$?
else
	FWD_STATUS=hung
fi
FWD_PID=""
assert_eq "fwd under valgrind: exit status (99: memcheck errors)" 0 "$FWD_STATUS"
summary=$(grep -E 'ERROR SUMMARY|definitely lost' "$VG_LOG" | sed 's/^==[0-9]*== //' | tr '\n' ';')
say "valgrind: $summary"
assert_grep "valgrind: no errors" 'ERROR SUMMARY: 0 errors' "$VG_LOG"
assert_no_grep "valgrind: nothing definitely lost" 'definitely lost: [1-9]' "$VG_LOG"
if [ "$E2E_FAILS" -gt 0 ]; then
	say "valgrind log:"
	grep -v '^==[0-9]*== *$' "$VG_LOG" | tail -60 | sed 's/^/    | /'
fi
e2e_finish
