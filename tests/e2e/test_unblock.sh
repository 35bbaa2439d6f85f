#!/bin/bash
# SPDX-License-Identifier: MIT
# test_unblock.sh FWD BUILD_DIR - `fwd unblock ADDR` closes a knocked door at once.
#
# The knock opens tcp 2222 for 60 s; `fwd stats --json` lists the client in
# the set `doors`; `fwd unblock 10.10.1.2` removes it: 2222 is refused again
# and the member is gone from the JSON and from the text `fwd stats`; the
# log says so, as it says what `fwd block` did. A block that has run out is
# not counted as removed: the answer would call a free source blocked.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,7000,9000 --udp 8000
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
dynamic:
  doors: {timeout: 60s, max: 100}
  banned: {timeout: 1h, max: 100}
knock:
  - name: ssh
    sequence: [7000/tcp, 8000/udp, 9000/tcp]
    window: 10s
    open: {set: doors, port: 2222/tcp}
rules:
  - {name: banned, src: $banned, action: drop}
  - {name: ssh-knocked, proto: tcp, src: $doors, dport: 2222, action: allow}
  - {name: ssh-closed, dport: 2222, action: reject}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML
fwd_start "$RULES"

members() {	# FILE: the addresses in set doors, space-separated
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(" ".join(m["addr"] + ":" + m.get("port","") for m in d["dynamic"]["sets"]["doors"]["members"]) or "none")' "$1"
}

dst=10.10.2.2
assert_eq "2222 closed before knocking" refused "$(client tcp $dst 2222 --timeout 3)"
for p in 7000/tcp 8000/udp 9000/tcp; do
	client "${p#*/}" $dst "${p%/*}" --timeout 0.3 >/dev/null
done
assert_eq "the knock opens 2222" "fwd-e2e tcp 2222" "$(client tcp $dst 2222 --timeout 3)"
stats "$T/s1.json"
assert_eq "stats JSON lists the member" "10.10.1.2:2222/tcp" "$(members "$T/s1.json")"
rem=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["dynamic"]["sets"]["doors"]["members"][0]["remaining"])' "$T/s1.json")
assert_range "remaining seconds of the member" 50 60 "$rem"
nsx g "$FWD" stats --socket "$SOCK" >"$T/s1.txt"
assert_grep "text stats show the member" '^    10\.10\.1\.2 2222/tcp +[0-9]+s left' "$T/s1.txt"

out=$(nsx g "$FWD" unblock --socket "$SOCK" 10.10.1.2)
assert_eq "fwd unblock exit status" 0 $?
assert_eq "fwd unblock answer" "ok: 1 entries removed" "$out"
assert_eq "2222 closed at once after unblock" refused "$(client tcp $dst 2222 --timeout 3)"
assert_grep "the log tells of the unblock" \
	'^fwd: unblock: 10\.10\.1\.2: 1 entries removed \(fwd unblock\)$' "$FWD_LOG"
stats "$T/s2.json"
assert_eq "stats JSON no longer lists it" none "$(members "$T/s2.json")"
nsx g "$FWD" stats --socket "$SOCK" >"$T/s2.txt"
assert_no_grep "text stats no longer show it" '10\.10\.1\.2' "$T/s2.txt"

nsx g "$FWD" block --socket "$SOCK" --set banned --for 1s 10.10.1.3 >/dev/null ||
	fail "fwd block --for 1s exited $?"
sleep 1.5
assert_eq "a block that ran out is not counted" "ok: 0 entries removed" \
	"$(nsx g "$FWD" unblock --socket "$SOCK" 10.10.1.3)"

nsx g "$FWD" unblock --socket "$SOCK" not-an-address 2>"$T/bad.err"
assert_eq "a bad address exits 1" 1 $?
assert_grep "a bad address is quoted" "invalid address 'not-an-address'" "$T/bad.err"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
