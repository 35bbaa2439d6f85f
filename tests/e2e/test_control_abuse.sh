#!/bin/bash
# SPDX-License-Identifier: MIT
# test_control_abuse.sh FWD BUILD_DIR - hostile control socket clients.
#
# Clients that connect and hang, send 1 MiB of garbage, send a request
# without its newline and hold, or send binary, 150 at once (more than the
# server's 64 pending slots): a legitimate `fwd stats` is still answered at
# once, verdicts keep flowing, and once the abusers are gone fwd holds as
# many descriptors as before. A user outside the socket's group is refused.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222
RULES="$T/rules.yaml"
rules_put "$E2E_DIR/rules/reload-allow.yaml" "$RULES"
fwd_start "$RULES"

fds() { ls "/proc/$FWD_PID/fd" | wc -l; }
# No more than N: the main thread holds one or two more for a moment while
# it reads the tables (its look at the hooks, every 5 s).
fds_at_most() { [ "$(fds)" -le "$1" ]; }

# The abusers, in python (one thread each).
cat >"$T/abuse.py" <<'PYEOF'
import os, socket, sys, threading, time
"""Abusive clients of fwd's control socket (test_control_abuse.sh).

  abuse.py SOCKET HOLD_SECONDS HANG GARBAGE PARTIAL BINARY

Opens HANG connections that never send, GARBAGE that send 1 MiB of junk,
PARTIAL that send "stats" without its newline, BINARY that send 512 random
bytes; all of them then hold their connection open for HOLD_SECONDS and
close. Prints "connected N" once every connection is made.
"""


def client(path, kind, hold, made):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        made.append(1)
        if kind == "garbage":
            s.settimeout(hold)
            try:
                s.sendall(os.urandom(1 << 20))
            except OSError:
                pass	# fwd answered and closed after 257 bytes
        elif kind == "partial":
            s.sendall(b"stats")
        elif kind == "binary":
            s.sendall(os.urandom(512))
        time.sleep(hold)
    except OSError:
        pass
    finally:
        s.close()


def main():
    path, hold = sys.argv[1], float(sys.argv[2])
    counts = dict(zip(("hang", "garbage", "partial", "binary"), map(int, sys.argv[3:7])))
    made, threads = [], []
    for kind, n in counts.items():
        for _ in range(n):
            t = threading.Thread(target=client, args=(path, kind, hold, made))
            t.start()
            threads.append(t)
    time.sleep(0.5)
    print("connected", len(made), flush=True)
    for t in threads:
        t.join()


main()
PYEOF

fd0=$(fds)
for i in 1 2 3 4 5; do	# the fewest of a few looks, over half a second
	sleep 0.1
	n=$(fds)
	[ "$n" -lt "$fd0" ] && fd0=$n
done
say "fwd holds $fd0 descriptors before the abuse"
# Its own answer first: the abusers' threads may still be connecting.
bg g "$T/abuse.out" "$PY" "$T/abuse.py" "$SOCK" 6 100 10 20 20
ABUSE_PID=$BG_PID
wait_for 10 grep -q '^connected' "$T/abuse.out"
say "abusers: $(cat "$T/abuse.out")"

worst=0 bad=0
for i in $(seq 1 10); do
	t0=$(now_ms)
	if ! out=$(nsx g timeout 5 "$FWD" stats --socket "$SOCK" 2>&1) || [[ ! $out =~ reloads: ]]; then
		bad=$((bad + 1))
		say "fwd stats #$i failed: ${out:0:200}"
	fi
	dt=$(($(now_ms) - t0))
	[ "$dt" -gt "$worst" ] && worst=$dt
	sleep 0.2
done
assert_eq "fwd stats answered under abuse (failures of 10)" 0 "$bad"
assert_range "slowest fwd stats under abuse (ms)" 0 1500 "$worst"
assert_eq "verdicts flow under abuse: tcp 2222" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222 --timeout 2)"
assert_eq "fwd still running" yes "$(alive "$FWD_PID" && echo yes || echo no)"

wait "$ABUSE_PID" 2>/dev/null
if wait_for 5 fds_at_most "$fd0"; then
	pass "descriptors back to $fd0 after the abuse"
else
	fail "descriptors: expected $fd0 after the abuse, got $(fds)"
fi
stats "$T/s.json"
assert_eq "stats json still answers" 0 "$(jget "$T/s.json" reloads.failed)"

# Permission: the socket is 0660 root:root. The test directory is made
# traversable, so that only the socket's mode stands in the way.
assert_eq "socket mode" "660 root root" "$(stat -c '%a %U %G' "$SOCK")"
chmod 0711 "$T"
out=$(nsx g setpriv --reuid=65534 --regid=65534 --clear-groups "$FWD" stats --socket "$SOCK" 2>&1)
rc=$?
assert_eq "fwd stats as nobody: exit status" 2 "$rc"
if [[ $out =~ Permission\ denied ]]; then pass "fwd stats as nobody: permission denied"
else fail "fwd stats as nobody: expected 'Permission denied', got '$out'"; fi
out=$(nsx g setpriv --reuid=65534 --regid=65534 --clear-groups "$FWD" reload --socket "$SOCK" 2>&1)
assert_eq "fwd reload as nobody: exit status" 2 "$?"
stats "$T/s.json"
assert_eq "no reload happened" "0 0" "$(jget "$T/s.json" reloads.ok reloads.failed | tr '\n' ' ' | sed 's/ $//')"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
