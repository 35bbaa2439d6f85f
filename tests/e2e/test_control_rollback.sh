#!/bin/bash
# SPDX-License-Identifier: MIT
# test_control_rollback.sh FWD BUILD_DIR - the control socket takes
# `rollback` only from fwd apply's watcher, and never logs a rollback that
# did not happen; `confirmed` likewise.
#
# A forged "rollback 5 /etc/shadow" (as root) and a well-formed one from a
# member of the socket's group (uid nobody) are refused: no "rolled back"
# line in the log, no reload. The request the watcher makes, after it copied
# RULES.prev back over RULES, is taken: logged and reloaded.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: allow
rules:
  - {name: ssh, proto: tcp, dport: 22, action: allow}
YAML
fwd_start "$RULES"

ask() {	# [setpriv options] -- REQUEST: one request line, prints the answer
	local who=()
	while [ "$1" != -- ]; do who+=("$1"); shift; done
	shift
	nsx g "${who[@]}" "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    out += d
print(out.decode().strip())' "$SOCK" "$1" 2>&1
}
reloads() { stats "$T/s.json" && jget "$T/s.json" reloads.ok; }

r=$(ask -- "rollback 5 /etc/shadow")
case $r in "error: rollback refused:"*) pass "forged rollback naming /etc/shadow refused ($r)" ;;
	*) fail "forged rollback naming /etc/shadow: expected a refusal, got '$r'" ;; esac
sleep 0.3
assert_eq "nothing logged as rolled back" 0 "$(log_count 'rolled back')"
assert_eq "nothing reloaded" 0 "$(reloads)"
assert_eq "the refusal is logged" 1 "$(log_count 'refused a rollback request naming /etc/shadow')"

# The socket's group may read stats; it may not claim a rollback, even a true one.
cp "$RULES" "$RULES.prev"
chmod 711 "$T"
chgrp nogroup "$SOCK"
r=$(ask setpriv --reuid=65534 --regid=65534 --clear-groups -- "rollback 5 $RULES.prev")
case $r in "error: rollback refused: only fwd apply"*) pass "rollback from uid nobody refused ($r)" ;;
	*) fail "rollback from uid nobody: expected a refusal, got '$r'" ;; esac
r=$(ask setpriv --reuid=65534 --regid=65534 --clear-groups -- "stats")
case $r in queue:*|*received*) pass "uid nobody in the socket's group still reads stats" ;;
	*) fail "stats as nobody: got '$r'" ;; esac
sleep 0.3
assert_eq "still nothing logged as rolled back" 0 "$(log_count 'rolled back')"
assert_eq "still nothing reloaded" 0 "$(reloads)"

# A confirmation is logged on the same terms: forged ones are refused.
r=$(ask -- "confirmed 5 /etc/shadow")
case $r in "error: confirmation refused:"*) pass "forged confirmation naming /etc/shadow refused ($r)" ;;
	*) fail "forged confirmation naming /etc/shadow: expected a refusal, got '$r'" ;; esac
r=$(ask setpriv --reuid=65534 --regid=65534 --clear-groups -- "confirmed 5 $RULES")
case $r in "error: confirmation refused: only fwd apply"*) pass "confirmation from uid nobody refused ($r)" ;;
	*) fail "confirmation from uid nobody: expected a refusal, got '$r'" ;; esac
sleep 0.3
assert_eq "nothing logged as confirmed" 0 "$(log_count 'apply confirmed')"
r=$(ask -- "confirmed 5 $RULES")
assert_eq "the watcher's confirmation is taken" "ok" "$r"
log_wait 1 "fwd: apply confirmed within 5s: $RULES stays in force"

# What the watcher of fwd apply asks, once RULES.prev is back in place.
r=$(ask -- "rollback 5 $RULES.prev")
assert_eq "the watcher's rollback is taken" "ok: 1 rules" "$r"
log_wait 1 "fwd: apply not confirmed in 5s, rolled back to $RULES\\.prev"
assert_eq "one reload" 1 "$(reloads)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
