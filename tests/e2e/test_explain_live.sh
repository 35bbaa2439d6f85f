#!/bin/bash
# SPDX-License-Identifier: MIT
# test_explain_live.sh FWD BUILD_DIR - `fwd explain --live` judges a packet
# against the table the daemon has in force, which a reload changes, and
# refuses a malformed packet line.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
RULES="$T/rules.yaml"
R="$E2E_DIR/rules"
rules_put "$R/reload-allow.yaml" "$RULES"
fwd_start "$RULES"

live() { nsx g "$FWD" explain --live --socket "$SOCK" "$@" 2>&1; }

assert_eq "live: 2222 under the first file" "allow rule=flip" \
	"$(live tcp 10.10.1.2:40000 10.10.2.2:2222)"
assert_eq "live: 2424" "allow rule=steady" "$(live tcp 10.10.1.2:40000 10.10.2.2:2424)"
assert_eq "live: file and live agree" "$("$FWD" explain "$RULES" tcp 10.10.1.2:40000 10.10.2.2:2222)" \
	"$(live tcp 10.10.1.2:40000 10.10.2.2:2222)"

rules_put "$R/reload-drop.yaml" "$RULES"
assert_eq "fwd reload" "ok: 3 rules" "$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)"
assert_eq "live: 2222 after the reload" "drop rule=flip" \
	"$(live tcp 10.10.1.2:40000 10.10.2.2:2222)"

out=$(live tcp 10.10.1.2 10.10.2.2:2222)
rc=$?
assert_eq "live: a packet without its source port exits 1" 1 "$rc"
assert_grep "live: the error names the problem" "^error: " <(echo "$out")

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
e2e_finish
