#!/bin/bash
# SPDX-License-Identifier: MIT
# test_instance_squat.sh FWD BUILD_DIR - an unprivileged user cannot keep fwd
# from starting, nor write to its terminal through it.
#
# User nobody binds fwd's abstract socket name (@fwd/instance) in the
# gateway's namespace first and answers every connection with escape
# sequences. fwd must still start, install its hooks and filter (an allowed
# port answers, a dropped one does not), and say who holds the name. A
# second fwd is then refused by the real lock, its message naming the first
# fwd's pid, with no escape byte from the squatter in it.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
command -v setpriv >/dev/null || skip "setpriv is not installed (util-linux)"
topo_up
servers_start --tcp 2222,2323
cp "$E2E_DIR/rules/reload-allow.yaml" "$T/rules.yaml"
chmod 755 "$T"
cat >"$T/squat.py" <<'PY'
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(b"\0fwd/instance")
s.listen(8)
print("squatting as uid", os.getuid(), flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"/run/x.sock'\x1b[2J\x1b[31m fake\r\n")
    c.close()
PY
bg g "$T/squat.out" setpriv --reuid=65534 --regid=65534 --clear-groups "$PY" "$T/squat.py"
SQUAT_PID=$BG_PID
wait_for 5 grep -q squatting "$T/squat.out" || { fail "the squatter did not start"; e2e_finish; }

fwd_start "$T/rules.yaml"
pass "fwd starts with @fwd/instance held by nobody"
assert_grep "it names the squatter" "'@fwd/instance' is held by uid 65534, pid $SQUAT_PID, not by fwd" "$FWD_LOG"
assert_eq "tcp 2222 (allowed) answers" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222 --timeout 3)"
assert_eq "tcp 2323 (default drop) is dropped" timeout "$(client tcp 10.10.2.2 2323 --timeout 2)"

nsx g "$FWD" run -c "$T/rules.yaml" --foreground --socket "$T/b.sock" >"$T/b.log" 2>&1
assert_eq "a second fwd is refused" 1 "$?"
assert_grep "the refusal comes from the lock" 'another fwd runs in this network namespace' "$T/b.log"
assert_no_grep "no escape byte from the squatter" $'\x1b|\r' "$T/b.log"
assert_no_grep "the squatter's answer is not believed" 'fake' "$T/b.log"
assert_ge "fwd's chains stand" 1 "$(nsx g iptables-save -t mangle | grep -c FWD-QUEUE)"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_eq "chains gone with fwd" 0 "$(nsx g iptables-save | grep -c FWD-)"
assert_no_sanitizer_report
e2e_finish
