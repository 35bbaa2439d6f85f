#!/bin/bash
# SPDX-License-Identifier: MIT
# test_metrics_link.sh FWD BUILD_DIR - fwd never writes through a link
# another user planted, and sets its files' modes itself.
#
# The metrics file and the log file live in a world-writable sticky
# directory (as /tmp is). Before fwd starts, uid nobody plants
# fwd.prom.tmp -> victim (a root-owned file): the victim must stay as it
# was and the metrics must still be written, mode 0644, although fwd runs
# under umask 077. The log file fwd creates is mode 0640. Then the log is
# rotated away (mv), nobody plants fwd.log -> victim2, and SIGUSR1 reopens
# the log: victim2 must stay untouched.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
PUB="$T/pub"
mkdir "$PUB"
chmod 1777 "$PUB"
chmod 711 "$T"
printf 'precious\n' >"$T/victim"
printf 'precious too\n' >"$T/victim2"
chmod 644 "$T/victim" "$T/victim2"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as_nobody ln -s "$T/victim" "$PUB/fwd.prom.tmp"
RULES="$T/rules.yaml"
cat >"$RULES" <<YAML
version: 1
default: allow
daemon:
  log: {sink: file, file: $PUB/fwd.log}
  metrics: {file: $PUB/fwd.prom, interval: 1}
rules:
  - {name: ssh, proto: tcp, dport: 22, action: allow}
YAML
umask 077
fwd_start "$RULES"
umask 022

wait_for 5 test -s "$PUB/fwd.prom" || fail "no metrics file within 5 s"
sleep 1.5	# at least one more interval
assert_eq "the victim is untouched" precious "$(cat "$T/victim")"
assert_eq "the planted link is still a link to the victim" "$T/victim" "$(readlink "$PUB/fwd.prom.tmp")"
assert_grep "the metrics are written" '^fwd_rules 1$' "$PUB/fwd.prom"
assert_eq "metrics file mode (umask 077)" 644 "$(stat -c %a "$PUB/fwd.prom")"
assert_eq "metrics file is a regular file" "regular file" "$(stat -c %F "$PUB/fwd.prom")"
assert_eq "log file mode (umask 077)" 640 "$(stat -c %a "$PUB/fwd.log")"
assert_eq "no temporary file left behind" 0 "$(find "$PUB" -name 'fwd.prom.tmp.*' | wc -l)"

mv "$PUB/fwd.log" "$T/fwd.log.1"
as_nobody ln -s "$T/victim2" "$PUB/fwd.log"
kill -USR1 "$FWD_PID"
sleep 0.3
nsx g "$FWD" reload --socket "$SOCK" >/dev/null 2>&1	# logs a line
sleep 0.5
assert_eq "victim2 untouched after SIGUSR1" "precious too" "$(cat "$T/victim2")"
assert_grep "fwd still logs, to the file it had" 'reloaded rules from' "$T/fwd.log.1"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_eq "the victim is untouched at the end" precious "$(cat "$T/victim")"
e2e_finish
