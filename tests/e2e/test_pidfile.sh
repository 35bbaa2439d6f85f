#!/bin/bash
# SPDX-License-Identifier: MIT
# test_pidfile.sh FWD BUILD_DIR - the pidfile is never written through a link.
#
# --pidfile may name a directory others can write (/tmp): a link planted
# there must not make fwd, as root, overwrite the file it points at. fwd
# still starts, says it could not write the pidfile, and leaves the link
# and its target as they were.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/mangle-new.yaml" "$RULES"

echo keep >"$T/victim"
ln -s "$T/victim" "$PIDFILE"
fwd_start "$RULES"
assert_eq "the link's target is untouched" keep "$(cat "$T/victim")"
log_wait 1 "cannot write the pidfile"
assert_grep "fwd says why there is no pidfile" "cannot write the pidfile '$PIDFILE': " "$FWD_LOG"
fwd_stop
assert_eq "fwd exit status" 0 "$FWD_STATUS"
assert_eq "the link is still there" yes "$(test -L "$PIDFILE" && echo yes)"

rm -f "$PIDFILE"
fwd_start "$RULES"
assert_eq "a plain pidfile holds fwd's pid" "$FWD_PID" "$(cat "$PIDFILE")"
fwd_stop
assert_eq "the pidfile is removed at exit" no "$(test -e "$PIDFILE" && echo yes || echo no)"
assert_no_sanitizer_report
e2e_finish
