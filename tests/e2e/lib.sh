# SPDX-License-Identifier: MIT
# lib.sh - shared code of fwd's end-to-end tests (bash; sourced by test_*.sh).
#
# A test calls `e2e_init "$@"` (arguments: FWD_BINARY BUILD_DIR), then
# `topo_up`, starts servers and fwd, makes assertions and ends with
# `e2e_finish`. Exit codes: 0 pass, 1 fail, 77 skip.
#
# Topology, in three fresh namespaces named after this shell's pid:
#
#   client                  gateway (fwd runs here)                 server
#   veth-c 10.10.1.2/24 --- veth-gw-c 10.10.1.1  veth-gw-s 10.10.2.1 --- veth-s 10.10.2.2/24
#          fd00:1::2/64               fd00:1::1            fd00:2::1            fd00:2::2/64
#
# Nothing runs in the host's namespace except reading files; the host's
# iptables are never touched. An EXIT trap kills everything this test
# started and deletes the namespaces, on success, failure and Ctrl-C alike.

PY=/usr/bin/python3
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

NS_C="fwd-e2e-c-$$"
NS_G="fwd-e2e-g-$$"
NS_S="fwd-e2e-s-$$"
# Fixed MACs, so that captures and neighbour tables read the same in every
# run (the entries themselves are learnt by ARP and neighbour discovery).
MAC_C=02:fd:00:01:00:02
MAC_GC=02:fd:00:01:00:01
MAC_GS=02:fd:00:02:00:01
MAC_S=02:fd:00:02:00:02

E2E_FAILS=0
E2E_BG_PIDS=()
E2E_NS_MADE=()
E2E_QUICK_DAD=()
E2E_GW_INDEX=9		# the gateway's last veth index (gw_index)
FWD_PID=""
TEST_NAME=$(basename "$0" .sh)

say() { printf '%s: %s\n' "$TEST_NAME" "$*"; }

skip() {
	printf 'SKIP %s: %s\n' "$TEST_NAME" "$*"
	exit 77
}

# Why end-to-end tests cannot run here, or nothing when they can.
e2e_unavailable() {
	local probe="fwd-e2e-probe-$$" err
	[ "$(id -u)" = 0 ] || { echo "not root"; return; }
	for t in ip iptables ip6tables iptables-save ip6tables-save timeout; do
		command -v "$t" >/dev/null 2>&1 || { echo "$t not found"; return; }
	done
	[ -x "$PY" ] || { echo "$PY not found"; return; }
	if ! err=$(ip netns add "$probe" 2>&1); then
		echo "ip netns add failed: $err"
		return
	fi
	if ! err=$(ip netns exec "$probe" iptables -t mangle -A PREROUTING \
			-j NFQUEUE --queue-num 0 2>&1); then
		ip netns del "$probe" 2>/dev/null
		echo "NFQUEUE unavailable: $err"
		return
	fi
	if ! err=$(ip netns exec "$probe" ip6tables -t mangle -A PREROUTING \
			-j NFQUEUE --queue-num 0 2>&1); then
		ip netns del "$probe" 2>/dev/null
		echo "NFQUEUE unavailable for IPv6: $err"
		return
	fi
	ip netns del "$probe" 2>/dev/null
}

e2e_init() {
	FWD=${1:?usage: $0 FWD_BINARY [BUILD_DIR]}
	BUILD_DIR=${2:-$(dirname "$FWD")}
	case $FWD in /*) ;; *) FWD="$PWD/$FWD" ;; esac
	local why
	if [ -z "${E2E_PREFLIGHT_OK:-}" ]; then
		why=$(e2e_unavailable)
		[ -z "$why" ] || skip "$why"
	fi
	if [ ! -x "$FWD" ]; then
		say "FAIL: fwd binary '$FWD' not found or not executable"
		exit 1
	fi
	T=$(mktemp -d "/tmp/fwd-e2e-$TEST_NAME.XXXXXX")
	SOCK="$T/fwd.sock"
	PIDFILE="$T/fwd.pid"
	FWD_LOG="$T/fwd.log"
	: >"$FWD_LOG"
	trap e2e_cleanup EXIT
	trap 'say "interrupted"; exit 130' INT
	trap 'say "terminated (timeout?)"; exit 143' TERM
}

e2e_cleanup() {
	local rc=$? pid ns
	trap - EXIT INT TERM
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -s "${FWD_LOG:-/nonexistent}" ]; then
		say "fwd log (last 40 lines):"
		tail -n 40 "$FWD_LOG" | sed 's/^/    | /'
	fi
	for pid in $FWD_PID "${E2E_BG_PIDS[@]}"; do
		{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null
	done
	# Anything else still running inside our own namespaces was started by
	# this test (ip netns exec children); end it by pid.
	for ns in "${E2E_NS_MADE[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	for ns in "${E2E_NS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		if [ -n "${E2E_KEEP:-}" ]; then say "kept $T"; else rm -rf "$T"; fi
	fi
	exit "$rc"
}

e2e_finish() {
	if [ "$E2E_FAILS" -gt 0 ]; then
		say "FAILED: $E2E_FAILS assertion(s)"
		exit 1
	fi
	say "ok"
	exit 0
}

# --- programs taken from Debian's packages without installing them -----

# A package whose install would start a daemon on the host (crowdsec,
# knockd, prometheus) or run a script that needs the internet is unpacked
# instead: `apt-get download` and `dpkg-deb -x` into the repository's
# build/debs/PKG/root, once for every build of fwd that runs the tests.
DEB_DIR="$(cd "$E2E_DIR/../.." && pwd)/build/debs"
deb_root() { echo "$DEB_DIR/$1/root"; }	# PKG
deb_fetch() {	# PKG: prints why and fails when it cannot
	local d="$DEB_DIR/$1" tmp deb
	[ -d "$d/root" ] && return 0
	mkdir -p "$DEB_DIR" && tmp=$(mktemp -d "$DEB_DIR/.$1.XXXXXX") || {
		echo "cannot make a directory under $DEB_DIR"
		return 1
	}
	(cd "$tmp" && apt-get download "$1" >"$tmp/download.log" 2>&1) || {
		echo "apt-get download $1 failed: $(tail -n 1 "$tmp/download.log")"
		rm -rf "$tmp"
		return 1
	}
	deb=$(ls "$tmp/$1"_*.deb 2>/dev/null | head -n 1)
	if ! dpkg-deb -x "$deb" "$tmp/root" 2>"$tmp/x.log"; then
		echo "dpkg-deb -x $deb failed: $(tail -n 1 "$tmp/x.log")"
		rm -rf "$tmp"
		return 1
	fi
	rm -f "$deb"
	mv -T "$tmp" "$d" 2>/dev/null || rm -rf "$tmp"	# another run was first
	[ -d "$d/root" ]
}

# --- assertions: each prints what it expected and what it got ---------

fail() {
	say "FAIL: $*"
	E2E_FAILS=$((E2E_FAILS + 1))
}

pass() { say "ok: $*"; }

assert_eq() {	# DESC EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then pass "$1 (= $3)"; else fail "$1: expected '$2', got '$3'"; fi
}

assert_ge() {	# DESC MIN ACTUAL
	if [[ "$3" =~ ^[0-9]+$ ]] && [ "$3" -ge "$2" ]; then
		pass "$1 ($3 >= $2)"
	else
		fail "$1: expected >= $2, got '$3'"
	fi
}

assert_range() {	# DESC MIN MAX ACTUAL
	if [[ "$4" =~ ^[0-9]+$ ]] && [ "$4" -ge "$2" ] && [ "$4" -le "$3" ]; then
		pass "$1 ($4 in $2..$3)"
	else
		fail "$1: expected $2..$3, got '$4'"
	fi
}

assert_grep() {	# DESC ERE FILE
	if grep -Eq -- "$2" "$3"; then
		pass "$1"
	else
		fail "$1: no line of $(basename "$3") matches /$2/"
	fi
}

assert_no_grep() {	# DESC ERE FILE
	local hit
	if hit=$(grep -Em1 -- "$2" "$3"); then
		fail "$1: expected no line matching /$2/, got '$hit'"
	else
		pass "$1"
	fi
}

# Poll COMMAND... every 0.1 s until it succeeds or SECONDS pass.
wait_for() {	# SECONDS COMMAND...
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while ! "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- topology -----------------------------------------------------------

ns_name() {	# c|g|s
	case $1 in c) echo "$NS_C" ;; g) echo "$NS_G" ;; s) echo "$NS_S" ;; *) echo "$1" ;; esac
}

nsx() {	# c|g|s COMMAND...
	local ns
	ns=$(ns_name "$1")
	shift
	ip netns exec "$ns" "$@"
}

ns_new() {
	ip netns add "$1" || { say "FAIL: ip netns add $1"; exit 1; }
	E2E_NS_MADE+=("$1")
	ip netns exec "$1" ip link set lo up
}

# Addresses still tentative (DAD under way) in any of the topology's namespaces.
topo_tentative() {
	local ns
	for ns in "$NS_C" "$NS_G" "$NS_S" "$@"; do
		[ -z "$(ip -n "$ns" -6 addr show tentative 2>/dev/null)" ] || return 0
	done
	return 1
}

# An ordinary network: ARP, neighbour discovery, DAD and router solicitations
# as every host has them; nothing is written into the neighbour tables.
# While topo_if's interfaces come up, DAD waits 100 ms for an answer to its
# solicitation rather than 1 s, after no random delay (up to 1 s): it is
# still sent, and a duplicate still fails. topo_settle puts the namespaces'
# own timers back once the addresses are no longer tentative.
topo_settled() { ! topo_tentative "$@"; }
topo_settle() {	# [EXTRA_NS...]
	local q
	wait_for 10 topo_settled "$@" || { say "FAIL: IPv6 addresses stay tentative"; exit 1; }
	for q in "${E2E_QUICK_DAD[@]}"; do
		set -- $q	# NS IFACE RETRANS_MS DELAY
		nsx "$1" sysctl -qw "net/ipv6/neigh/$2/retrans_time_ms=$3" \
			"net/ipv6/conf/$2/router_solicitation_delay=$4" 2>/dev/null
	done
	E2E_QUICK_DAD=()
}

# Short DAD timers for IFACE in NS until topo_settle (above).
quick_dad() {	# NS IFACE
	local rt delay
	rt=$(nsx "$1" sysctl -n "net/ipv6/neigh/$2/retrans_time_ms" 2>/dev/null) || return 0
	delay=$(nsx "$1" sysctl -n "net/ipv6/conf/$2/router_solicitation_delay" 2>/dev/null) ||
		return 0
	nsx "$1" sysctl -qw "net/ipv6/neigh/$2/retrans_time_ms=100" \
		"net/ipv6/conf/$2/router_solicitation_delay=0" 2>/dev/null || return 0
	E2E_QUICK_DAD+=("$1 $2 $rt $delay")
}

# The next index for a veth of the gateway, into E2E_GW_INDEX: from 10 up.
# Both ends of a veth pair at the same index (2, the first link of each
# namespace) make the kernel's link watch treat the carrier change as not
# urgent and hold it for up to a second, and DAD with it.
gw_index() { E2E_GW_INDEX=$((E2E_GW_INDEX + 1)); }

topo_up() {
	ns_new "$NS_C"
	ns_new "$NS_G"
	ns_new "$NS_S"
	gw_index
	ip -n "$NS_G" link add veth-gw-c index $E2E_GW_INDEX address $MAC_GC type veth \
		peer name veth-c address $MAC_C netns "$NS_C" || exit 1
	gw_index
	ip -n "$NS_G" link add veth-gw-s index $E2E_GW_INDEX address $MAC_GS type veth \
		peer name veth-s address $MAC_S netns "$NS_S" || exit 1
	nsx g sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

	topo_if c veth-c 10.10.1.2/24 fd00:1::2/64
	topo_if g veth-gw-c 10.10.1.1/24 fd00:1::1/64
	topo_if g veth-gw-s 10.10.2.1/24 fd00:2::1/64
	topo_if s veth-s 10.10.2.2/24 fd00:2::2/64
	nsx c ip route add default via 10.10.1.1
	nsx c ip -6 route add default via fd00:1::1
	nsx s ip route add default via 10.10.2.1
	nsx s ip -6 route add default via fd00:2::1
	topo_settle
}

# One more namespace NS on a link of its own to the gateway: veth-gw-NAME
# in the gateway, veth-NAME in NS, both down and without addresses.
topo_attach() {	# NS NAME
	ns_new "$1"
	gw_index
	ip -n "$NS_G" link add "veth-gw-$2" index $E2E_GW_INDEX type veth \
		peer name "veth-$2" netns "$1" || exit 1
}

topo_if() {	# NS IFACE V4 V6
	nsx "$1" ip addr add "$3" dev "$2"
	nsx "$1" ip addr add "$4" dev "$2"
	quick_dad "$1" "$2"
	nsx "$1" ip link set "$2" up
}

# --- background processes in the namespaces -------------------------------

# A simple command put in the background is exec'd by the forked shell, and
# `ip netns exec` execs its command too, so $! is the process itself (a
# function in the background would leave a subshell in between).
bg() {	# NS LOGFILE COMMAND...  (pid in BG_PID)
	local ns log=$2
	ns=$(ns_name "$1")
	shift 2
	ip netns exec "$ns" "$@" >>"$log" 2>&1 &
	BG_PID=$!
	E2E_BG_PIDS+=("$BG_PID")
}

# From the client, in the background: COUNT datagrams to each PORT of the
# server every 0.1 s, for SECONDS.
udp_trickle() {	# SECONDS COUNT PORT...
	bg c "$T/trickle.log" "$PY" -c '
import socket, sys, time
secs, count, ports = float(sys.argv[1]), int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + secs
while time.time() < end:
    for _ in range(count):
        for p in ports:
            s.sendto(b"x", ("10.10.2.2", p))
    time.sleep(0.1)
' "$@"
}

# PID runs and is not a zombie. kill -0 decides existence (it also succeeds
# for a zombie this shell has not reaped yet, hence the state check); an
# unreadable or odd /proc entry never counts as dead, so a glitch there
# cannot make a test `wait` for a process that is still running.
alive() {	# PID
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -n 's/.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ "$state" != Z ] && [ "$state" != X ]
}

# Echo servers in the server namespace; arrivals go to $T/events.
servers_start() {	# echo.py options (--tcp P,P --udp P ...)
	local ready="$T/echo.ready"
	rm -f "$ready"
	: >>"$T/events"
	bg s "$T/echo.log" "$PY" "$E2E_DIR/echo.py" --events "$T/events" --ready "$ready" "$@"
	wait_for 10 test -e "$ready" || { say "FAIL: echo server did not start"; cat "$T/echo.log"; exit 1; }
}

# Arrivals at the server for PROTO PORT (from any client address).
server_seen() {	# PROTO PORT [PEER]
	grep -c "^$1 $2 ${3:-}" "$T/events"
}

# Echoes of stream NAME that arrived after MS, in the --out file of
# stream.py's stream mode that $STREAM names.
stream_after() {	# NAME MS
	awk -v n="$1" -v t="$2" '$1 == "data" && $2 == n && $4 > t' "$STREAM" | wc -l
}

# Client in the client namespace; prints the answer or timeout/refused.
client() {	# tcp|udp|connects HOST PORT [client.py options]
	nsx c "$PY" "$E2E_DIR/client.py" "$@"
}

# --- fwd ------------------------------------------------------------------

# Start fwd in the gateway namespace and wait until its control socket
# answers. Extra arguments go to `fwd run`.
fwd_start() {	# RULES [ARGS...]
	local rules=$1
	shift
	echo "--- fwd run -c $rules $* ($(date +%T.%N))" >>"$FWD_LOG"
	ip netns exec "$NS_G" "$FWD" run -c "$rules" --foreground --socket "$SOCK" \
		--pidfile "$PIDFILE" "$@" >>"$FWD_LOG" 2>&1 &
	FWD_PID=$!
	FWD_START_MS=$(now_ms)
	if ! fwd_wait_ready 10; then
		fail "fwd did not answer 'fwd stats' within 10 s (pid $FWD_PID)"
		e2e_finish
	fi
}

# 0: the socket answers; 1: not yet; 2: fwd is gone. (`fwd stats` itself
# exits 2 when it cannot connect, so its status is not passed on.)
fwd_ready() {
	alive "$FWD_PID" || return 2
	nsx g "$FWD" stats --socket "$SOCK" >/dev/null 2>&1 || return 1
}

fwd_wait_ready() {	# SECONDS
	local deadline=$(($(now_ms) + $1 * 1000)) rc
	while :; do
		fwd_ready
		rc=$?
		[ $rc = 0 ] && return 0
		if [ $rc = 2 ]; then
			wait "$FWD_PID" 2>/dev/null
			rc=$?
			[ $rc -gt 128 ] && rc="$rc (signal $(kill -l $((rc - 128)) 2>/dev/null))"
			say "fwd exited during start-up, status $rc"
			return 1
		fi
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# SIGTERM (or SIG) and wait; FWD_STATUS is fwd's exit status (or "hung").
fwd_stop() {	# [SIG]
	FWD_STATUS=none
	[ -n "$FWD_PID" ] || return 0
	kill -"${1:-TERM}" "$FWD_PID" 2>/dev/null
	if wait_for 10 fwd_gone; then
		wait "$FWD_PID" 2>/dev/null
		FWD_STATUS=$?
	else
		FWD_STATUS=hung
		kill -KILL "$FWD_PID" 2>/dev/null
		wait "$FWD_PID" 2>/dev/null
	fi
	FWD_PID=""
}

fwd_gone() { ! alive "$FWD_PID"; }

fwd_kill9() {
	kill -KILL "$FWD_PID" 2>/dev/null
	wait "$FWD_PID" 2>/dev/null
	FWD_PID=""
}

fwd_hup() { kill -HUP "$FWD_PID"; }

# `fwd stats --json` into FILE; fails the test when it is not JSON.
stats() {	# FILE
	if ! nsx g "$FWD" stats --socket "$SOCK" --json >"$1" 2>"$1.err"; then
		fail "fwd stats --json failed: $(cat "$1.err")"
		return 1
	fi
	"$PY" "$E2E_DIR/jget.py" "$1" >/dev/null || { fail "fwd stats --json is not a JSON object: $(head -c 300 "$1")"; return 1; }
}

jget() {	# FILE PATH...
	"$PY" "$E2E_DIR/jget.py" "$@"
}

# Another tool's change to the tables (test_hooks_*.sh): how often fwd put
# its hooks back, and a hole the change opened. fwd looks every 5 s, so it
# may have closed the hole before the client tried: the client gets
# EXPECTED, or fwd has said its Nth "hooks are back".
hooks_restored() { stats "$T/s.json" && jget "$T/s.json" hooks.restored; }
hooks_hole() {	# DESC EXPECTED N HOST PORT
	local got
	got=$(client tcp "$4" "$5" --timeout 1)
	if [ "$got" != "$2" ] && log_has "$3" "fwd's hooks are back"; then
		pass "$1: fwd put its hooks back before the client tried"
	else
		assert_eq "$1" "$2" "$got"
	fi
}

# `fwd SUBCOMMAND` exits 0 and answers within 2 s: a control plane held up
# by a stalled log reader fails it.
fwd_timed() {	# DESC SUBCOMMAND
	local t0 rc
	t0=$(now_ms)
	timeout 5 ip netns exec "$NS_G" "$FWD" "$2" --socket "$SOCK" >"$T/timed.out" 2>&1
	rc=$?
	assert_eq "$1: exit status" 0 "$rc"
	assert_range "$1: answered within 2 s (ms)" 0 2000 $(($(now_ms) - t0))
}

# With fwd's log sink stalled (WHAT), `fwd stats`, SIGHUP, `fwd reload` and
# SIGTERM each go through within 2 s, and at least MIN lines are counted
# dropped. Ends with fwd stopped.
sink_stalled_checks() {	# WHAT MIN
	local s=$T/stalled.json t0
	fwd_timed "fwd stats, $1 stalled" stats
	kill -HUP "$FWD_PID"
	sleep 1
	fwd_timed "fwd stats after SIGHUP" stats
	fwd_timed "fwd reload" reload
	stats "$s"
	say "$1 stalled: written $(jget "$s" log.written) dropped $(jget "$s" log.dropped)"
	assert_ge "the lines $1 did not take are counted dropped" "$2" "$(jget "$s" log.dropped)"
	t0=$(now_ms)
	fwd_stop
	assert_eq "SIGTERM ends fwd cleanly" 0 "$FWD_STATUS"
	assert_range "within 2 s (ms)" 0 2000 $(($(now_ms) - t0))
}

# Wait until fwd's log has at least N lines matching ERE (logging is
# asynchronous).
log_wait() {	# N ERE [SECONDS]
	wait_for "${3:-3}" log_has "$1" "$2"
}

log_has() { [ "$(grep -Ec -- "$2" "$FWD_LOG")" -ge "$1" ]; }

# The time (now_ms) at which fwd's log first held N lines matching ERE,
# looked at every 20 ms for up to SECONDS; fails when it never did. Run it in
# the background right after a change, so that what the test does meanwhile
# (a client that waits out its timeout) is not counted as fwd's time.
log_when() {	# N ERE SECONDS
	local deadline=$(($(now_ms) + $3 * 1000))

	while [ "$(now_ms)" -lt "$deadline" ]; do
		log_has "$1" "$2" && { now_ms; return 0; }
		sleep 0.02
	done
	return 1
}

log_count() { grep -Ec -- "$1" "$FWD_LOG"; }

# Sanitizer reports in fwd's log fail any test (the ASan build runs the same
# tests).
assert_no_sanitizer_report() {
	assert_no_grep "no sanitizer report in fwd's log" \
		'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' \
		"$FWD_LOG"
}

# Write a rules file atomically (fwd may read it at any moment on reload).
rules_put() {	# SOURCE DEST
	cp "$1" "$2.tmp" && mv -f "$2.tmp" "$2"
}

# --- floods ------------------------------------------------------------------

# A bounded flood of TCP SYNs from spoofed sources (tests/bench/spoof), from
# the client namespace into the gateway only: RATE packets/s for MS ms, each
# from a random address of 10.128.0.0/9. Runs in the background (FLOOD_PID);
# its summary line goes to $T/flood.out.
flood_start() {	# DST PORTLO PORTHI RATE MS
	local spoof="$BUILD_DIR/bench/spoof"
	[ -x "$spoof" ] || skip "$spoof not built (make $BUILD_DIR/bench/spoof)"
	# The sources have no route back: the gateway must not drop them for that.
	nsx g sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-gw-c.rp_filter=0
	bg c "$T/flood.out" "$spoof" "$@" 10.128.0.0/9
	FLOOD_PID=$BG_PID
}

# Wait for the flood to end; prints what it sent and what fwd judged meanwhile.
flood_wait() {
	wait "$FLOOD_PID" 2>/dev/null
	say "flood: $(cat "$T/flood.out")"
}
