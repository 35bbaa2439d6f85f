#!/bin/bash
# SPDX-License-Identifier: MIT
# test_top_tty.sh FWD BUILD_DIR - `fwd top` puts its terminal back however
# it ends: ended with Ctrl-C (a key while the terminal is raw) or SIGTERM,
# it exits 0 and the terminal has echo, line editing and signal keys again.
# A fake daemon (top_tty.py) answers "top"; no network is needed.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

for how in ctrl-c term; do
	got=$(timeout 20 "$PY" "$E2E_DIR/top_tty.py" "$FWD" "$T/top.sock" "$how")
	assert_eq "fwd top ended by $how: exits 0, terminal restored" \
		"ended=exit0 ECHO=1 ICANON=1 ISIG=1" "$got"
done
e2e_finish
