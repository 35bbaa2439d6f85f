#!/bin/bash
# SPDX-License-Identifier: MIT
# test_forward_reload.sh FWD BUILD_DIR - a reload that moves the forward
# rules keeps every forward on its own target.
#
# Forward marks are the rule's index; the daemon flips FWD_MARK_GEN with
# each table, installs the old and the new DNAT rules side by side before
# the swap, and drops the old ones after it. So after the reload the nat
# chain holds only the new table's marks (with the other generation bit,
# 0x00800000; iptables-save prints them without the leading zero),
# and the moved rules still reach their targets.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 80,8081
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/forward.yaml" "$RULES"
fwd_start "$RULES"

dnat_marks() {	# FAMILY -> the marks in FWD-DNAT, sorted, one line
	local save=iptables-save
	[ "$1" = 6 ] && save=ip6tables-save
	nsx g $save -t nat | sed -n 's/^-A FWD-DNAT .*--mark \(0x[0-9a-f]*\).*/\1/p' | sort -u | tr '\n' ' '
}

assert_eq "first table: IPv4 DNAT mark of rule 0" "0xf000000 " "$(dnat_marks 4)"
assert_eq "first table: IPv6 DNAT mark of rule 1" "0xf000001 " "$(dnat_marks 6)"
assert_eq "before: 10.10.1.1:8080 reaches port 80" "fwd-e2e tcp 80" "$(client tcp 10.10.1.1 8080)"

cp "$E2E_DIR/rules/forward-shifted.yaml" "$RULES"
assert_eq "fwd reload" "ok: 4 rules" "$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)"
assert_eq "second table: IPv4 marks of rules 0 and 1, generation bit set" \
	"0xf800000 0xf800001 " "$(dnat_marks 4)"
assert_eq "second table: IPv6 mark of rule 2, generation bit set" "0xf800002 " "$(dnat_marks 6)"
assert_eq "after: 10.10.1.1:8080 still reaches port 80" "fwd-e2e tcp 80" "$(client tcp 10.10.1.1 8080)"
assert_eq "after: [fd00:1::1]:8080 still reaches port 80" "fwd-e2e tcp 80" "$(client tcp fd00:1::1 8080)"
assert_eq "after: 10.10.1.1:8081 reaches port 8081" "fwd-e2e tcp 8081" "$(client tcp 10.10.1.1 8081)"

cp "$E2E_DIR/rules/forward.yaml" "$RULES"
assert_eq "fwd reload back" "ok: 3 rules" "$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)"
assert_eq "third table: generation bit clear again" "0xf000000 " "$(dnat_marks 4)"
assert_eq "third table: 10.10.1.1:8080 reaches port 80" "fwd-e2e tcp 80" "$(client tcp 10.10.1.1 8080)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
e2e_finish
