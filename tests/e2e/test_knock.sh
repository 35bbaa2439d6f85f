#!/bin/bash
# SPDX-License-Identifier: MIT
# test_knock.sh FWD BUILD_DIR - port knocking opens tcp 2222 for a while.
#
# Before the knock 2222 is rejected (refused at once); the knocks themselves
# are dropped (timeouts); after tcp 7000, udp 8000, tcp 9000 the client's
# address is in the `doors` set for 4 s and 2222 answers; then it closes.
# A wrong order opens nothing.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,7000,9000 --udp 8000
RULES="$T/rules.yaml"
cp "$E2E_DIR/rules/knock.yaml" "$RULES"
fwd_start "$RULES"

knock_seq() {	# DST PROTO/PORT...
	local dst=$1 p
	shift
	for p in "$@"; do
		client "${p#*/}" "$dst" "${p%/*}" --timeout 0.3 >/dev/null
	done
}

dst=10.10.2.2
assert_eq "2222 closed before knocking" refused "$(client tcp $dst 2222 --timeout 3)"
knock_seq $dst 7000/tcp 9000/tcp 8000/udp
assert_eq "wrong order does not open" refused "$(client tcp $dst 2222 --timeout 3)"
knock_seq $dst 7000/tcp 8000/udp 9000/tcp
assert_eq "right sequence opens 2222" "fwd-e2e tcp 2222" "$(client tcp $dst 2222 --timeout 3)"
assert_eq "knock ports never reached the server" 0 \
	"$(( $(server_seen tcp 7000) + $(server_seen udp 8000) + $(server_seen tcp 9000) ))"
sleep 4.5
assert_eq "2222 closed again after the timeout" refused "$(client tcp $dst 2222 --timeout 3)"
# IPv6 sources have their own doors.
knock_seq fd00:2::2 7000/tcp 8000/udp 9000/tcp
assert_eq "IPv6 sequence opens 2222" "fwd-e2e tcp 2222" "$(client tcp fd00:2::2 2222 --timeout 3)"
assert_eq "IPv4 still closed" refused "$(client tcp $dst 2222 --timeout 3)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
