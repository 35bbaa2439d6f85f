#!/bin/bash
# SPDX-License-Identifier: MIT
# test_knock_client.sh FWD BUILD_DIR - the `knock` client of Debian's knockd
# package opens what fwd's `knock:` guards.
#
# The client (unpacked from the package, never installed: the package would
# start knockd) hits tcp 7000, udp 8000, tcp 9000 of the server as an
# operator types it, `knock HOST 7000:tcp 8000:udp 9000:tcp`; fwd drops each
# hit and opens tcp 2222 to the client's address for 4 s, and to no other.
# A wrong order and a sequence sent too slowly (-d) open nothing; the
# client's IPv6 knock (-6) opens the door of its IPv6 address only. Each
# door opened is logged once (`fwd: knock name=ssh src=...`), with `log: none`.
# Hits less than 50 ms apart count in any order (fwd-rules(5), KNOCKING):
# knock's default, no delay, reversed, opens too.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
why=$(deb_fetch knockd) || skip "$why"
KNOCK="$(deb_root knockd)/usr/bin/knock"
[ -x "$KNOCK" ] || skip "knockd's package holds no $KNOCK"

topo_up
nsx c ip addr add 10.10.1.3/24 dev veth-c
servers_start --tcp 2222,7000,9000 --udp 8000
RULES="$T/rules.yaml"
sed 's/window: 10s/window: 2s/' "$E2E_DIR/rules/knock.yaml" >"$RULES"
fwd_start "$RULES"

knock() {	# knock's own arguments
	nsx c "$KNOCK" "$@" >>"$T/knock.out" 2>&1 || fail "knock $* exited $?"
}
ssh_port() {	# HOST [SRC]
	client tcp "$1" 2222 --timeout 3 ${2:+--src "$2"}
}

dst=10.10.2.2
assert_eq "2222 closed before knocking" refused "$(ssh_port $dst)"
knock -d 100 $dst 7000:tcp 9000:tcp 8000:udp
assert_eq "a wrong order, hits 100 ms apart, opens nothing" refused "$(ssh_port $dst)"
knock -d 1500 $dst 7000:tcp 8000:udp 9000:tcp
assert_eq "hits 3 s apart, window 2 s: nothing opens" refused "$(ssh_port $dst)"
knock $dst 7000:tcp 8000:udp 9000:tcp
assert_eq "knock opens 2222" "fwd-e2e tcp 2222" "$(ssh_port $dst)"
assert_eq "only to the address that knocked" refused "$(ssh_port $dst 10.10.1.3)"
assert_eq "the hits never reached the server" 0 \
	"$(( $(server_seen tcp 7000) + $(server_seen udp 8000) + $(server_seen tcp 9000) ))"
line='^fwd: knock name=ssh src=10\.10\.1\.2 dst=10\.10\.2\.2 open=2222/tcp timeout=4s$'
log_wait 1 "$line" 3
assert_eq "fwd logs the door it opened, once" 1 "$(log_count "$line")"
assert_eq "and no other knock line" 1 "$(log_count '^fwd: knock ')"
sleep 4.5
assert_eq "2222 closed again after the door's timeout" refused "$(ssh_port $dst)"

knock -6 -d 100 fd00:2::2 7000:tcp 8000:udp 9000:tcp
assert_eq "knock -6 opens 2222 over IPv6" "fwd-e2e tcp 2222" "$(ssh_port fd00:2::2)"
assert_eq "and not for the client's IPv4 address" refused "$(ssh_port $dst)"
assert_grep "the IPv6 door is logged" \
	'^fwd: knock name=ssh src=fd00:1::2 dst=fd00:2::2 open=2222/tcp timeout=4s$' "$FWD_LOG"

# Hits sent back to back may reach fwd out of order where they take several
# queues; within 50 ms they count in order: even all three reversed.
sleep 4.5
knock $dst 9000:tcp 8000:udp 7000:tcp
assert_eq "hits back to back, reversed, open 2222" "fwd-e2e tcp 2222" "$(ssh_port $dst)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
