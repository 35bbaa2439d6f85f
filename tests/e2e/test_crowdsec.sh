#!/bin/bash
# SPDX-License-Identifier: MIT
# test_crowdsec.sh FWD BUILD_DIR - two gateways and the real CrowdSec Local API.
# e2e-timeout: 300
#
# crowdsec 1.4.6 from Debian, unpacked (never installed: its postinst wants
# the internet) into build/debs/crowdsec, runs with a config of this test's
# own (sqlite in $T, no online client, no hub) in namespace L:
#
#   client .2 .3 .4 ---- gateway 1 (fwd) ---- server          L: crowdsec LAPI
#       |                    `------ 10.10.9.2 ----- 10.10.9.1 :8080 ---.
#       `--- 10.10.6.2 ---- gateway 2 (fwd) 10.10.6.1:80 ---- 10.10.9.6 -'
#
# 1. `cscli decisions add --ip 10.10.1.2 --duration 2m` blocks .2 at gateway
#    1 within two pull intervals (the time from add to the first dropped
#    packet is printed); `cscli decisions delete` lets it back; a range and
#    an IPv6 address work the same way. A TCP stream that .2 keeps open
#    stops under the range's ban (fwd/recheck.c) while .4's goes on, and
#    goes on again once the range is deleted.
# 2. .3 scans gateway 1: its alert shows in `cscli decisions list -a`, and
#    gateway 2, pulling the same LAPI, drops .3 (while .4 still passes).
# 3. The LAPI is killed: fwd keeps judging (the ban holds, the rest passes),
#    logs the outage at most once per interval; restarted, fwd catches up.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

why=$(deb_fetch crowdsec) || skip "$why"
CS_ROOT=$(deb_root crowdsec)
CROWDSEC="$CS_ROOT/usr/bin/crowdsec"
INTERVAL_MS=1000

# ---- topology: the usual three, gateway 2 and the LAPI's namespace ---------
topo_up
NS_G2="fwd-e2e-g2-$$"
NS_L="fwd-e2e-l-$$"
ns_new "$NS_G2"
ns_new "$NS_L"
ip -n "$NS_L" link add veth-l1 type veth peer name veth-g-l netns "$NS_G" || exit 1
ip -n "$NS_L" link add veth-l2 type veth peer name veth-g2-l netns "$NS_G2" || exit 1
ip -n "$NS_C" link add veth-c2 type veth peer name veth-g2-c netns "$NS_G2" || exit 1
nsx "$NS_L" ip addr add 10.10.9.1/30 dev veth-l1
nsx "$NS_L" ip addr add 10.10.9.5/30 dev veth-l2
nsx g ip addr add 10.10.9.2/30 dev veth-g-l
nsx "$NS_G2" ip addr add 10.10.9.6/30 dev veth-g2-l
nsx "$NS_G2" ip addr add 10.10.6.1/24 dev veth-g2-c
nsx c ip addr add 10.10.6.2/24 dev veth-c2
for l in "$NS_L veth-l1" "$NS_L veth-l2" "$NS_G veth-g-l" "$NS_G2 veth-g2-l" \
	 "$NS_G2 veth-g2-c" "$NS_C veth-c2"; do
	set -- $l
	nsx "$1" ip link set "$2" up
done
for a in 10.10.1.3 10.10.1.4 10.10.1.5; do
	nsx c ip addr add $a/24 dev veth-c
done
# The client reaches gateway 2 from its 10.10.1.x addresses too: the same
# sources at both gateways.
nsx "$NS_G2" ip route add 10.10.1.0/24 dev veth-g2-c
nsx c ip addr add fd00:1::3/64 dev veth-c
topo_settle

# ---- the LAPI ------------------------------------------------------------------
CS="$T/cs"
. "$E2E_DIR/crowdsec_lapi.sh"
crowdsec_lapi_dir "$CS" "$CS_ROOT" || { say "FAIL: cannot make the LAPI's directory"; exit 1; }
cscli() { nsx "$NS_L" "$CS_ROOT/usr/bin/cscli" -c "$CS/config.yaml" "$@"; }

lapi_up() {
	nsx "$NS_L" "$PY" -c 'import urllib.request, urllib.error, sys
try:
    urllib.request.urlopen("http://127.0.0.1:8080/v1/decisions", timeout=1)
except urllib.error.HTTPError:
    sys.exit(0)
except Exception:
    sys.exit(1)'
}
lapi_start() {
	bg "$NS_L" "$T/crowdsec.log" "$CROWDSEC" -c "$CS/config.yaml" -no-cs
	LAPI_PID=$BG_PID
	wait_for 30 lapi_up || { say "FAIL: the LAPI did not start"; tail "$T/crowdsec.log"; exit 1; }
}
lapi_start
say "crowdsec: $("$CROWDSEC" -version 2>&1 | grep -m1 -i version)"
cscli machines add cli --password cli-password-12345 -f "$CS/local_api_credentials.yaml" \
	>>"$T/cscli.log" 2>&1 || { say "FAIL: cscli machines add"; exit 1; }
cscli bouncers add gw1 -o raw >"$T/gw1.key" 2>>"$T/cscli.log"
cscli bouncers add gw2 -o raw >"$T/gw2.key" 2>>"$T/cscli.log"
cscli machines add gw1 --password gw1-password-12345 -f "$T/gw1-machine.yaml" >>"$T/cscli.log" 2>&1
[ -s "$T/gw1.key" ] && [ -s "$T/gw2.key" ] && [ -s "$T/gw1-machine.yaml" ] ||
	{ say "FAIL: cscli could not make the keys"; cat "$T/cscli.log"; exit 1; }

# ---- the gateways ----------------------------------------------------------------
rules() {	# URL KEY [MACHINE_FILE]
	cat <<EOF
version: 1
default: drop
dynamic:
  crowdsec: {timeout: 1h, max: 1000}
  scanners: {timeout: 10m, max: 100}
crowdsec:
  url: $1
  key_file: $2
  set: crowdsec
  interval: ${INTERVAL_MS}ms
${3:+  machine_file: $3}
scan:
  ports: 20
  window: 60s   # 25 probes of up to 0.3 s each, under ASan too
  block: {set: scanners}
rules:
  - {name: crowdsec, src: \$crowdsec, action: drop}
  - {name: scanners, src: \$scanners, action: drop}
  - {name: web, proto: tcp, dport: 80, action: allow}
  - {name: stream, proto: tcp, dport: 7000, action: allow}
  - name: limited
    proto: tcp
    dport: 81
    action: allow
    limit: {rate: 1/1m, burst: 2, per: src}
    on_exceed: {add: scanners, timeout: 5m}
  - {name: closed, proto: tcp, action: reject}
  - {name: icmpv6, proto: icmpv6, action: allow}
EOF
}
rules http://10.10.9.1:8080 "$T/gw1.key" "$T/gw1-machine.yaml" >"$T/gw1.yaml"
rules http://10.10.9.5:8080/ "$T/gw2.key" >"$T/gw2.yaml"
servers_start --tcp 80
bg s "$T/stream-server.log" "$PY" "$E2E_DIR/stream.py" serve --ready "$T/stream.ready" 7000
fwd_start "$T/gw1.yaml"
G2_LOG="$T/fwd2.log"
bg "$NS_G2" "$G2_LOG" "$FWD" run -c "$T/gw2.yaml" --foreground --socket "$T/fwd2.sock" \
	--pidfile "$T/fwd2.pid"
G2_PID=$BG_PID
bg "$NS_G2" "$T/web2.log" "$PY" -c 'import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.10.6.1", 80)); s.listen(64)
while True:
    c, a = s.accept(); c.sendall(b"gw2 web\n"); c.close()'
wait_for 10 nsx "$NS_G2" "$FWD" stats --socket "$T/fwd2.sock" >/dev/null 2>&1 ||
	{ fail "gateway 2's fwd did not start"; cat "$G2_LOG"; e2e_finish; }

from() {	# SRC HOST PORT [TIMEOUT]
	client tcp "$2" "$3" --src "$1" --timeout "${4:-2}"
}
# Try SRC -> server:80 every 50 ms until one is dropped; print the epoch ms
# that attempt started at (or "never").
first_drop() {	# SRC SECONDS
	nsx c "$PY" -c 'import socket, sys, time
end = time.time() + float(sys.argv[2])
while time.time() < end:
    t = time.time()
    s = socket.socket(); s.bind((sys.argv[1], 0)); s.settimeout(0.25)
    try:
        s.connect(("10.10.2.2", 80)); s.close(); time.sleep(0.05)
    except socket.timeout:
        print(int(t * 1000)); sys.exit(0)
    except OSError:
        time.sleep(0.05)
print("never")' "$1" "$2"
}

assert_eq ".2 reaches the server before" "fwd-e2e tcp 80" "$(from 10.10.1.2 10.10.2.2 80)"
log_wait 1 'crowdsec: startup: 0 decisions from http://10\.10\.9\.1:8080' 5 ||
	fail "gateway 1 logged no startup pull"

# ---- 1. a decision added with cscli ---------------------------------------------
first_drop 10.10.1.2 10 >"$T/drop.ms" &
DROP_PID=$!
t_add=$(now_ms)
cscli decisions add --ip 10.10.1.2 --duration 2m >>"$T/cscli.log" 2>&1
t_added=$(now_ms)
wait "$DROP_PID"
t_drop=$(cat "$T/drop.ms")
if [ "$t_drop" = never ]; then
	fail ".2 was never dropped after cscli decisions add"
else
	say "cscli decisions add -> first dropped packet: $((t_drop - t_add)) ms" \
	    "(cscli itself took $((t_added - t_add)) ms; pull interval $INTERVAL_MS ms)"
	assert_range "add -> drop within two pull intervals of cscli's return (ms)" 0 \
		$((2 * INTERVAL_MS)) $((t_drop > t_added ? t_drop - t_added : 0))
fi
assert_eq ".3 still passes" "fwd-e2e tcp 80" "$(from 10.10.1.3 10.10.2.2 80)"
stats "$T/s1.json"
assert_eq "stats: one decision held" 1 "$(jget "$T/s1.json" crowdsec.decisions)"
cscli decisions delete --ip 10.10.1.2 >>"$T/cscli.log" 2>&1
sleep $((2 * INTERVAL_MS / 1000)).2
assert_eq ".2 passes again after cscli decisions delete" "fwd-e2e tcp 80" \
	"$(from 10.10.1.2 10.10.2.2 80)"

STREAM="$T/stream.out"
wait_for 5 test -e "$T/stream.ready" || fail "the stream server did not start"
nsx c "$PY" "$E2E_DIR/stream.py" stream --out "$STREAM" --stop "$T/stream.stop" --interval 0.1 \
	banned=10.10.2.2:7000/10.10.1.2 free=10.10.2.2:7000/10.10.1.4 >>"$T/stream.log" 2>&1 &
E2E_BG_PIDS+=("$!")
wait_for 5 sh -c "[ \$(grep -c '^up ' '$STREAM' 2>/dev/null) = 2 ]" ||
	fail "the streams did not connect: $(cat "$STREAM" "$T/stream.log" 2>/dev/null)"
n_recheck=$(log_count 'recheck: [0-9]+ established connections')
cscli decisions add --range 10.10.1.0/30 --duration 2m >>"$T/cscli.log" 2>&1
cscli decisions add --ip fd00:1::3 --duration 2m >>"$T/cscli.log" 2>&1
sleep $((2 * INTERVAL_MS / 1000)).2
log_wait $((n_recheck + 1)) 'recheck: [0-9]+ established connections' 3 ||
	fail "no recheck after the range's ban"
t_cut=$(($(now_ms) + 500))
sleep 2
assert_eq "the range's ban stops .2's established stream" 0 "$(stream_after banned $t_cut)"
assert_ge ".4's stream goes on" 10 "$(stream_after free $t_cut)"
assert_eq "range 10.10.1.0/30 drops .2" timeout "$(from 10.10.1.2 10.10.2.2 80 1)"
assert_eq "range 10.10.1.0/30 leaves .4" "fwd-e2e tcp 80" "$(from 10.10.1.4 10.10.2.2 80)"
assert_eq "IPv6 decision drops fd00:1::3" timeout "$(from fd00:1::3 fd00:2::2 80 1)"
nsx g "$FWD" stats --socket "$SOCK" >"$T/s1.txt"
assert_grep "fwd stats shows the range" '^    10\.10\.1\.0/30 ' "$T/s1.txt"
cscli decisions delete --range 10.10.1.0/30 >>"$T/cscli.log" 2>&1
cscli decisions delete --ip fd00:1::3 >>"$T/cscli.log" 2>&1
t_del=$(now_ms)
sleep $((2 * INTERVAL_MS / 1000)).2
assert_eq ".2 passes once the range is deleted" "fwd-e2e tcp 80" "$(from 10.10.1.2 10.10.2.2 80)"
resumed() { [ "$(stream_after banned $t_del)" -gt 0 ]; }
wait_for 20 resumed &&
	pass ".2's stream goes on once the range is deleted" ||
	fail ".2's stream did not go on after the range was deleted"
assert_eq "no stream failed" "" "$(grep '^error ' "$STREAM")"
touch "$T/stream.stop"

# ---- 2. a scan at gateway 1 is blocked at gateway 2 ----------------------------------
assert_eq "gateway 2 answers .3 before" "gw2 web" "$(from 10.10.1.3 10.10.6.1 80)"
for p in $(seq 1001 1025); do from 10.10.1.3 10.10.2.2 $p 0.3 >/dev/null; done
log_wait 1 'fwd: scan src=10\.10\.1\.3 ' 3 || fail "gateway 1 logged no scan"
wait_for 5 sh -c "'$CS_ROOT/usr/bin/cscli' -c '$CS/config.yaml' decisions list -a -o raw 2>/dev/null | grep -q 'fwd/port-scan'" \
	2>/dev/null || true
cscli decisions list -a >"$T/list.txt" 2>&1
sed 's/^/    | /' "$T/list.txt" | grep -E '10\.10\.1\.3|ID' || true
assert_grep "cscli decisions list -a shows gateway 1's scan alert" \
	'Ip:10\.10\.1\.3 .*fwd/port-scan.*ban' "$T/list.txt"
wait_for $((3 * INTERVAL_MS / 1000)) sh -c "[ \"\$(ip netns exec $NS_G2 '$FWD' stats --socket '$T/fwd2.sock' --json | '$PY' '$E2E_DIR/jget.py' /dev/stdin crowdsec.decisions 2>/dev/null)\" = 1 ]" ||
	true
assert_eq "gateway 2 drops the scanner .3" timeout "$(from 10.10.1.3 10.10.6.1 80 1)"
assert_eq "gateway 2 still answers .4" "gw2 web" "$(from 10.10.1.4 10.10.6.1 80)"
nsx c true
alerts=$(nsx g "$FWD" stats --socket "$SOCK" --json | "$PY" "$E2E_DIR/jget.py" /dev/stdin crowdsec.alerts_pushed)
assert_eq "gateway 1 pushed one alert" 1 "$alerts"

# A limit's on_exceed: add is pushed the same way (port 81: two, then over).
assert_eq ".5 within its limit (1)" refused "$(from 10.10.1.5 10.10.2.2 81)"
assert_eq ".5 within its limit (2)" refused "$(from 10.10.1.5 10.10.2.2 81)"
assert_eq ".5 over its limit" timeout "$(from 10.10.1.5 10.10.2.2 81 1)"
sleep 1
cscli decisions list -a >"$T/list2.txt" 2>&1
assert_grep "cscli decisions list -a shows the limit's alert" \
	'Ip:10\.10\.1\.5 .*fwd/rate-limit.*ban' "$T/list2.txt"
sleep $((2 * INTERVAL_MS / 1000)).2
assert_eq "gateway 2 drops .5 too" timeout "$(from 10.10.1.5 10.10.6.1 80 1)"

# ---- 3. the LAPI goes away and comes back ---------------------------------------------------
cscli decisions add --ip 10.10.1.2 --duration 5m >>"$T/cscli.log" 2>&1
sleep $((2 * INTERVAL_MS / 1000)).2
assert_eq ".2 banned before the outage" timeout "$(from 10.10.1.2 10.10.2.2 80 1)"
kill -KILL "$LAPI_PID"
wait "$LAPI_PID" 2>/dev/null
t_down=$(now_ms)
sleep 6
assert_eq "LAPI down: .2 still dropped" timeout "$(from 10.10.1.2 10.10.2.2 80 1)"
assert_eq "LAPI down: .4 still passes" "fwd-e2e tcp 80" "$(from 10.10.1.4 10.10.2.2 80)"
down_s=$((($(now_ms) - t_down) / 1000 + 1))
n=$(log_count 'crowdsec: pull from http://10\.10\.9\.1:8080 failed')
say "outage of ${down_s} s: $n 'pull failed' lines"
grep -m2 'crowdsec: pull from' "$FWD_LOG" | sed 's/^/    | /'
assert_range "outage logged, at most once per interval" 1 "$down_s" "$n"
stats "$T/s3.json"
assert_ge "stats: pull errors counted" 1 "$(jget "$T/s3.json" crowdsec.pull_errors)"
lapi_start
t_up=$(now_ms)
cscli decisions add --ip 10.10.1.4 --duration 2m >>"$T/cscli.log" 2>&1
wait_for 12 sh -c "[ \"\$(ip netns exec $NS_C '$PY' -c 'import socket
s = socket.socket(); s.bind((\"10.10.1.4\", 0)); s.settimeout(0.3)
try:
    s.connect((\"10.10.2.2\", 80)); print(\"ok\")
except socket.timeout:
    print(\"timeout\")')\" = timeout ]" ||
	fail "fwd did not catch up with the LAPI within 12 s of its restart"
say "LAPI back -> decision for .4 applied after $(($(now_ms) - t_up)) ms"
assert_eq "after the outage .4 is banned" timeout "$(from 10.10.1.4 10.10.2.2 80 1)"
log_wait 1 'crowdsec: http://10\.10\.9\.1:8080 answers again after [0-9]+ failed pulls' 3 ||
	fail "no 'answers again' line"
assert_eq "after the outage .2 is still banned" timeout "$(from 10.10.1.2 10.10.2.2 80 1)"

# ---- a reload keeps the thread and the set; its changes take effect -------------------------
INTERVAL_MS=500
rules http://10.10.9.1:8080 "$T/gw1.key" "$T/gw1-machine.yaml" >"$T/gw1.new"
rules_put "$T/gw1.new" "$T/gw1.yaml"
fwd_hup
log_wait 1 'crowdsec: decisions from http://10\.10\.9\.1:8080 into set crowdsec every 500 ms' 3 ||
	fail "the reload's new interval was not taken"
assert_eq "after a reload .2 is still banned" timeout "$(from 10.10.1.2 10.10.2.2 80 1)"
cscli decisions delete --ip 10.10.1.2 >>"$T/cscli.log" 2>&1
sleep $((2 * INTERVAL_MS / 1000)).2
assert_eq "after a reload deletes still arrive" "fwd-e2e tcp 80" "$(from 10.10.1.2 10.10.2.2 80)"

assert_no_sanitizer_report
fwd_stop
assert_eq "fwd exits cleanly" 0 "$FWD_STATUS"
e2e_finish
