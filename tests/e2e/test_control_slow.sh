#!/bin/bash
# SPDX-License-Identifier: MIT
# test_control_slow.sh FWD BUILD_DIR - clients that never read their answer
# do not hold up the control socket.
#
# With 20,000 rules `fwd stats` is some 2 MB, more than a socket buffer
# takes. Five clients ask for it and never read: the control thread used to
# wait in send() on each of them in turn (some 4 s each), so a real `fwd
# stats` or `fwd reload` behind them took 20 s. It now sends an answer as
# its client reads it, and the silent ones are cut off at their deadline.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
ns_new "$NS_G"
RULES="$T/rules.yaml"
"$PY" - "$RULES" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("version: 1\ndefault: drop\nlog: none\nrules:\n")
    for i in range(20000):
        f.write("  - {name: r%d, proto: tcp, dport: %d, action: allow}\n" % (i, 1 + i))
PYEOF
fwd_start "$RULES" --no-hooks
size=$(nsx g "$FWD" stats --socket "$SOCK" | wc -c)
assert_ge "the stats answer outgrows a socket buffer" 1000000 "$size"

cat >"$T/noread.py" <<'PYEOF'
import socket, sys, time
socks = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(sys.argv[1])
    s.sendall(b"stats\n")	# and never read the answer
    socks.append(s)
print("sent", flush=True)
time.sleep(float(sys.argv[3]))
PYEOF
bg g "$T/noread.out" "$PY" "$T/noread.py" "$SOCK" 5 30
wait_for 10 grep -q '^sent' "$T/noread.out"
sleep 0.2
t0=$(now_ms)
got=$(nsx g timeout 30 "$FWD" stats --socket "$SOCK" | wc -c)
ms=$(($(now_ms) - t0))
say "fwd stats behind 5 silent readers: $ms ms, $got bytes"
assert_eq "fwd stats behind silent readers: the whole answer" "$size" "$got"
assert_range "fwd stats behind silent readers answers at once (ms)" 0 1500 "$ms"
t0=$(now_ms)
out=$(nsx g timeout 30 "$FWD" reload --socket "$SOCK" 2>&1)
ms=$(($(now_ms) - t0))
assert_eq "fwd reload behind them" "ok: 20000 rules" "$out"
assert_range "fwd reload behind them is not held up (ms)" 0 5000 "$ms"
fwd_stop
assert_eq "fwd exit status" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
