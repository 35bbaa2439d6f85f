#!/bin/bash
# SPDX-License-Identifier: MIT
# test_priv.sh FWD BUILD_DIR - after start-up fwd keeps only CAP_NET_ADMIN and
# CAP_NET_RAW, runs under its seccomp filter with no_new_privs, and can still
# forward, reload changed hooks (iptables-restore as its child), answer stats,
# reopen its log and stop cleanly.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 80,81
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/forward.yaml" "$RULES"
fwd_start "$RULES"

# CAP_NET_ADMIN (12) and CAP_NET_RAW (13).
WANT=0000000000003000
status_field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$FWD_PID/status"; }
assert_eq "CapEff" $WANT "$(status_field CapEff)"
assert_eq "CapPrm" $WANT "$(status_field CapPrm)"
assert_eq "CapBnd" $WANT "$(status_field CapBnd)"
assert_eq "CapInh" 0000000000000000 "$(status_field CapInh)"
assert_eq "NoNewPrivs" 1 "$(status_field NoNewPrivs)"
assert_eq "Seccomp (2: filter)" 2 "$(status_field Seccomp)"
# Every thread, not only the main one: they start after the drop.
for task in /proc/$FWD_PID/task/*; do
	eff=$(awk '$1 == "CapEff:" { print $2 }' "$task/status")
	sc=$(awk '$1 == "Seccomp:" { print $2 }' "$task/status")
	[ "$eff" = $WANT ] && [ "$sc" = 2 ] || fail "thread $(basename "$task"): CapEff $eff Seccomp $sc"
done
# The logger yields to the workers: 5 nice levels below the process (at most
# 19), every other thread at the process's own.
nice_of() { awk '{ sub(/^.*\) /, ""); print $17 }' "$1/stat"; }
base=$(nice_of "/proc/$FWD_PID")
want_log=$((base + 5 > 19 ? 19 : base + 5))
for task in /proc/$FWD_PID/task/*; do
	name=$(cat "$task/comm")
	case $name in
	fwd-log) assert_eq "logger thread's nice value" "$want_log" "$(nice_of "$task")" ;;
	*) assert_eq "$name thread's nice value" "$base" "$(nice_of "$task")" ;;
	esac
done

assert_eq "forward before reload reaches port 80" "fwd-e2e tcp 80" "$(client tcp 10.10.1.1 8080)"

# A changed DNAT target: the hooks must be re-installed by the child.
sed 's/to: 10.10.2.2:80$/to: 10.10.2.2:81/' "$E2E_DIR/rules/forward.yaml" >"$T/r2.yaml"
grep -q '10.10.2.2:81' "$T/r2.yaml" || fail "could not make the changed rules file"
rules_put "$T/r2.yaml" "$RULES"
fwd_hup
log_wait 1 "fwd: reloaded rules from" 5
assert_no_grep "hooks re-installed on reload" "re-installing the kernel hooks failed" "$FWD_LOG"
assert_grep "DNAT now to port 81" '--to-destination 10.10.2.2:81' <(nsx g iptables-save -t nat)
assert_eq "forward after reload reaches port 81" "fwd-e2e tcp 81" "$(client tcp 10.10.1.1 8080)"
S="$T/s.json"
stats "$S" && assert_eq "reloads ok" 1 "$(jget "$S" reloads.ok)"
kill -USR1 "$FWD_PID"
kill -USR2 "$FWD_PID"
sleep 0.3
alive "$FWD_PID" || fail "fwd died after SIGUSR1/SIGUSR2"
assert_no_grep "no system call refused" "Operation not permitted" "$FWD_LOG"

fwd_stop
assert_eq "exit status after SIGTERM" 0 "$FWD_STATUS"
assert_grep "stopped line" '^fwd: stopped$' "$FWD_LOG"
left=$(nsx g iptables-save | grep -c -e 'FWD-' || true)
assert_eq "no fwd chain or jump left (IPv4)" 0 "$left"
left=$(nsx g ip6tables-save | grep -c -e 'FWD-' || true)
assert_eq "no fwd chain or jump left (IPv6)" 0 "$left"

# Started as fwd.service starts it: the bounding set already cut to the two
# (CapabilityBoundingSet=), so no CAP_SETPCAP to change it with. fwd drops
# its effective and permitted sets all the same and runs.
echo "--- setpriv --bounding-set=-all,+net_admin,+net_raw fwd run" >>"$FWD_LOG"
ip netns exec "$NS_G" setpriv --bounding-set=-all,+net_admin,+net_raw "$FWD" run -c "$RULES" \
	--foreground --socket "$SOCK" --pidfile "$PIDFILE" >>"$FWD_LOG" 2>&1 &
FWD_PID=$!
fwd_wait_ready 10 || fail "fwd without CAP_SETPCAP did not start"
assert_eq "without CAP_SETPCAP: CapEff" $WANT "$(status_field CapEff)"
assert_eq "without CAP_SETPCAP: CapPrm" $WANT "$(status_field CapPrm)"
assert_eq "without CAP_SETPCAP: CapBnd as given" $WANT "$(status_field CapBnd)"
assert_eq "without CAP_SETPCAP: the forward works" "fwd-e2e tcp 81" "$(client tcp 10.10.1.1 8080)"
fwd_stop
assert_eq "without CAP_SETPCAP: exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
