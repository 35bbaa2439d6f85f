#!/bin/bash
# SPDX-License-Identifier: MIT
# test_ha.sh - an HA pair of fwd gateways on keepalived (VRRP) and conntrackd
# (FTFW state sync), with packaging/ha's configurations and notify script.
# e2e-timeout: 150
#
#   client 10.10.1.10 --[br-lan]-- lan0  gateway A  wan0 --[br-wan]-- server 10.10.2.10
#                               \- lan0  gateway B  wan0 -/
#                                  A and B: sync0 10.255.0.1 <-> .2 (conntrackd)
#   virtual addresses 10.10.1.1 (client's router) and 10.10.2.1 (server's)
#
# Both gateways run fwd (default: drop, inspect: new-connections), the same
# rules file. Two TCP streams cross A: one allowed (to the server's 8000),
# one forwarded (10.10.1.1:8080 -> DNAT 10.10.2.10:80). A is killed (kill -9
# of fwd and keepalived, then its links down); B must hold both virtual
# addresses within 5 s, both streams go on without a reset through B's
# kernel (no new verdict for them in B's log), new connections are judged
# by B's fwd, and port 9000 stays dropped throughout. Ordinary ARP: the
# client and server learn the new master from keepalived's gratuitous ARP.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

for t in keepalived conntrackd conntrack bridge; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed (packaging/deps.sh installs it)"
done
HA_DIR=$(cd "$E2E_DIR/../../packaging/ha" && pwd)
NS_A="fwd-e2e-ha-a-$$"
NS_B="fwd-e2e-ha-b-$$"
NS_W="fwd-e2e-ha-w-$$"
STREAM="$T/streams"
STOP="$T/stop"

# --- topology -------------------------------------------------------------

gw_links() {	# NS SIDE(a|b)
	local ns=$1 g=$2
	ip -n "$ns" link add lan0 type veth peer name "l-$g" netns "$NS_W" || exit 1
	ip -n "$ns" link add wan0 type veth peer name "w-$g" netns "$NS_W" || exit 1
	ip -n "$NS_W" link set "l-$g" master br-lan up
	ip -n "$NS_W" link set "w-$g" master br-wan up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
}

# Fresh namespaces with ordinary ARP: no permanent neighbours anywhere.
ha_ns() {
	ip netns add "$1" || { say "FAIL: ip netns add $1"; exit 1; }
	E2E_NS_MADE+=("$1")
	ip -n "$1" link set lo up
}

topo_ha() {
	for ns in "$NS_C" "$NS_S" "$NS_A" "$NS_B" "$NS_W"; do ha_ns "$ns"; done
	ip -n "$NS_W" link add br-lan type bridge
	ip -n "$NS_W" link add br-wan type bridge
	ip -n "$NS_W" link set br-lan up
	ip -n "$NS_W" link set br-wan up
	ip -n "$NS_C" link add c0 type veth peer name c-port netns "$NS_W" || exit 1
	ip -n "$NS_S" link add s0 type veth peer name s-port netns "$NS_W" || exit 1
	ip -n "$NS_W" link set c-port master br-lan up
	ip -n "$NS_W" link set s-port master br-wan up
	gw_links "$NS_A" a
	gw_links "$NS_B" b
	ip -n "$NS_A" link add sync0 type veth peer name sync0 netns "$NS_B" || exit 1
	nsx "$NS_C" ip addr add 10.10.1.10/24 dev c0
	nsx "$NS_S" ip addr add 10.10.2.10/24 dev s0
	nsx "$NS_A" ip addr add 10.10.1.2/24 dev lan0
	nsx "$NS_A" ip addr add 10.10.2.2/24 dev wan0
	nsx "$NS_A" ip addr add 10.255.0.1/30 dev sync0
	nsx "$NS_B" ip addr add 10.10.1.3/24 dev lan0
	nsx "$NS_B" ip addr add 10.10.2.3/24 dev wan0
	nsx "$NS_B" ip addr add 10.255.0.2/30 dev sync0
	for x in "$NS_C c0" "$NS_S s0" "$NS_A lan0" "$NS_A wan0" "$NS_A sync0" \
		 "$NS_B lan0" "$NS_B wan0" "$NS_B sync0"; do
		set -- $x
		ip -n "$1" link set "$2" up
	done
	nsx "$NS_C" ip route add default via 10.10.1.1
	nsx "$NS_S" ip route add default via 10.10.2.1
	topo_check
}

# `ip link add ... netns X` has been seen to print an error and go on while
# other tests add and delete namespaces: say so plainly rather than later.
topo_check() {
	local n
	for ns in "$NS_A" "$NS_B"; do
		for i in lan0 wan0 sync0; do
			ip -n "$ns" link show "$i" >/dev/null 2>&1 ||
				{ fail "topology: $i missing in $ns"; e2e_finish; }
		done
	done
	n=$(ip -n "$NS_W" -o link show master br-lan | wc -l)
	n=$((n + $(ip -n "$NS_W" -o link show master br-wan | wc -l)))
	[ "$n" = 6 ] || { fail "topology: $n of 6 bridge ports"; e2e_finish; }
}

# --- the configurations, from packaging/ha --------------------------------

# The example network's addresses become the test's; "# gateway B: X"
# comments say what differs on B; paths go under $T/GW.
render() {	# SOURCE GW(a|b) DEST
	local gw=$2 dir="$T/$2" b_sed=""
	[ "$gw" = b ] && b_sed='s/^\([[:space:]]*[A-Za-z_0-9]*[[:space:]]\{1,\}\)[^#]*#[[:space:]]*gateway B: \([^[:space:]]*\).*$/\1\2/'
	sed -e "$b_sed" \
	    -e 's/192\.168\.1\./10.10.1./g; s/198\.51\.100\./10.10.2./g' \
	    -e "s|/etc/keepalived/fwd-ha-notify|$dir/fwd-ha-notify|" \
	    -e "s|/etc/conntrackd/conntrackd.conf|$dir/conntrackd.conf|" \
	    -e "s|LockFile .*|LockFile $dir/conntrackd.lock|" \
	    -e "s|Path /var/run/conntrackd.ctl|Path $dir/conntrackd.ctl|" \
	    -e "s|LogFile on|LogFile $dir/conntrackd.log|" "$1" >"$3"
}

gw_configs() {	# GW
	local dir="$T/$1"
	mkdir -p "$dir"
	chmod 755 "$T"
	render "$HA_DIR/keepalived.conf" "$1" "$dir/keepalived.conf"
	render "$HA_DIR/conntrackd.conf" "$1" "$dir/conntrackd.conf"
	# The notify script's output lands in the test's log, not in syslog.
	install -m 0755 "$HA_DIR/fwd-ha-notify" "$dir/fwd-ha-notify"
}

cat >"$T/rules.yaml" <<'YAML'
version: 1
default: drop
log: all
daemon:
  inspect: new-connections
  queues: 1
rules:
  - name: web
    proto: tcp
    dst: 10.10.2.10
    dport: 8000
    action: allow
  - name: web-fwd
    proto: tcp
    dst: 10.10.1.1
    dport: 8080
    action: forward
    to: 10.10.2.10:80
YAML

# --- the daemons ------------------------------------------------------------

gw_ns() { [ "$1" = a ] && echo "$NS_A" || echo "$NS_B"; }

fwd_gw() {	# GW
	local ns dir="$T/$1"
	ns=$(gw_ns "$1")
	ip netns exec "$ns" "$FWD" run -c "$T/rules.yaml" --foreground \
		--socket "$dir/fwd.sock" --pidfile "$dir/fwd.pid" >>"$dir/fwd.log" 2>&1 &
	eval "FWD_$1=\$!"
	E2E_BG_PIDS+=("$!")
	wait_for 10 ip netns exec "$ns" "$FWD" stats --socket "$dir/fwd.sock" >/dev/null 2>&1 ||
		{ fail "fwd on gateway $1 did not start"; cat "$dir/fwd.log"; e2e_finish; }
}

conntrackd_gw() {	# GW
	local ns dir="$T/$1"
	ns=$(gw_ns "$1")
	bg "$ns" "$dir/conntrackd.out" conntrackd -C "$dir/conntrackd.conf"
	wait_for 5 ip netns exec "$ns" conntrackd -C "$dir/conntrackd.conf" -s >/dev/null 2>&1 ||
		skip "conntrackd cannot run here: $(tail -n 3 "$dir/conntrackd.log" "$dir/conntrackd.out" 2>/dev/null | tr '\n' ' ')"
}

keepalived_gw() {	# GW
	local ns dir="$T/$1"
	ns=$(gw_ns "$1")
	bg "$ns" "$dir/keepalived.log" keepalived --dont-fork --log-console --log-detail --vrrp \
		-f "$dir/keepalived.conf" -p "$dir/keepalived.pid" -r "$dir/vrrp.pid" \
		-c "$dir/checkers.pid"
	eval "KA_$1=\$BG_PID"
}

has_vip() {	# GW
	local ns
	ns=$(gw_ns "$1")
	ip -n "$ns" -4 addr show dev lan0 | grep -q ' 10\.10\.1\.1/' &&
		ip -n "$ns" -4 addr show dev wan0 | grep -q ' 10\.10\.2\.1/'
}

no_vip() {
	local ns
	ns=$(gw_ns "$1")
	! ip -n "$ns" -4 addr show | grep -Eq ' 10\.10\.[12]\.1/'
}

# --- run ------------------------------------------------------------------------

topo_ha
gw_configs a
gw_configs b
bg "$NS_S" "$T/server.log" "$PY" "$E2E_DIR/stream.py" serve --ready "$T/server.ready" 8000 80 9000
wait_for 5 test -e "$T/server.ready" || { fail "server did not start"; e2e_finish; }
fwd_gw a
fwd_gw b
conntrackd_gw a
conntrackd_gw b
keepalived_gw a
keepalived_gw b
wait_for 10 has_vip a || { fail "gateway A never became master"; tail "$T/a/keepalived.log"; e2e_finish; }
sleep 1.5
if no_vip b; then pass "A is master, B backup (VRRP passes fwd on both)"; else fail "both gateways hold a virtual address"; fi

nsx "$NS_C" "$PY" "$E2E_DIR/stream.py" stream --out "$STREAM" --stop "$STOP" \
	--probe 10.10.2.10:9000 --wake "$T/wake" web=10.10.2.10:8000 fwd=10.10.1.1:8080 \
	idleweb=10.10.2.10:8000 idlefwd=10.10.1.1:8080 >>"$T/client.log" 2>&1 &
E2E_BG_PIDS+=("$!")
CLIENT=$!
streams_up() { [ "$(grep -c '^up ' "$STREAM" 2>/dev/null)" = 4 ]; }
wait_for 5 streams_up ||
	{ fail "streams did not connect through A: $(cat "$STREAM" "$T/client.log" 2>/dev/null)"; e2e_finish; }
sleep 2
assert_ge "data through A before failover (web)" 10 "$(grep -c '^data web ' "$STREAM")"
assert_ge "data through A before failover (fwd, DNAT)" 10 "$(grep -c '^data fwd ' "$STREAM")"
SPORT_WEB=$(awk '$1 == "up" && $2 == "web" { print $3 }' "$STREAM")
SPORT_FWD=$(awk '$1 == "up" && $2 == "fwd" { print $3 }' "$STREAM")
SPORT_IWEB=$(awk '$1 == "up" && $2 == "idleweb" { print $3 }' "$STREAM")
SPORT_IFWD=$(awk '$1 == "up" && $2 == "idlefwd" { print $3 }' "$STREAM")
assert_grep "A's fwd judged the allowed stream" "allow rule=web .*spt=$SPORT_WEB " "$T/a/fwd.log"
assert_grep "A's fwd judged the forwarded stream" "forward rule=web-fwd .*spt=$SPORT_FWD " "$T/a/fwd.log"
# conntrackd on B holds A's connections in its external cache.
wait_for 5 sh -c "ip netns exec $NS_B conntrackd -C $T/b/conntrackd.conf -e | grep -q 'dport=8000'" &&
	pass "B's conntrackd holds the synced connections" ||
	fail "B's external cache lacks the streams: $(ip netns exec "$NS_B" conntrackd -C "$T/b/conntrackd.conf" -e 2>&1 | head -5)"

# --- the failover ---------------------------------------------------------------

KILL_MS=$(now_ms)
{
	kill -KILL "$FWD_a" $(cat "$T/a/vrrp.pid" 2>/dev/null) "$KA_a"
	wait "$FWD_a" "$KA_a"
} 2>/dev/null
ip -n "$NS_A" link set lan0 down
ip -n "$NS_A" link set wan0 down
DOWN_MS=$(now_ms)
say "killed A's fwd and keepalived at +0 ms, its links down at +$((DOWN_MS - KILL_MS)) ms"
if wait_for 5 has_vip b; then
	pass "B holds both virtual addresses $(($(now_ms) - KILL_MS)) ms after the kill (<= 5000)"
else
	fail "B does not hold the virtual addresses 5 s after the kill"
fi
sleep 6
for n in web fwd; do
	first=$(awk -v n="$n" -v t="$DOWN_MS" '$1 == "data" && $2 == n && $4 > t { print $4; exit }' "$STREAM")
	if [ -n "$first" ]; then
		say "failover gap ($n): $((first - KILL_MS)) ms from the kill to the first data through B"
		after=$(awk -v n="$n" -v t="$first" '$1 == "data" && $2 == n && $4 >= t' "$STREAM" | wc -l)
		assert_ge "$n stream carries data through B" 10 "$after"
	else
		fail "$n stream: no data after the failover"
	fi
done
# A packet that reaches B between its taking the addresses and the commit
# (keepalived runs the notify script after its gratuitous ARP, and the
# client's ARP queue is flushed by it) finds no entry yet: B's fwd judges it,
# with the same rules, to the same verdict. Never a drop.
assert_no_grep "B's fwd never dropped a synced stream" \
	"^fwd: drop .*spt=($SPORT_WEB|$SPORT_FWD|$SPORT_IWEB|$SPORT_IFWD) " "$T/b/fwd.log"
say "streams judged again by B before its commit: $(grep -Ec "spt=($SPORT_WEB|$SPORT_FWD) " "$T/b/fwd.log") of 2"
# Two connections were idle during the failover: after the commit they pass
# B without a new verdict, the forwarded one with its translation.
assert_grep "B committed the synced connections" "Committed [1-9][0-9]* new entries" "$T/b/conntrackd.log"
touch "$T/wake"
sleep 2
assert_ge "idle allowed connection carries data through B" 10 "$(grep -c '^data idleweb ' "$STREAM")"
assert_ge "idle forwarded connection carries data through B (DNAT kept)" 10 \
	"$(grep -c '^data idlefwd ' "$STREAM")"
assert_no_grep "B's fwd gave no verdict to the connections committed to it" \
	"spt=($SPORT_IWEB|$SPORT_IFWD) " "$T/b/fwd.log"
assert_no_grep "no stream was reset or closed" '^error ' "$STREAM"

# New connections: judged by B's fwd.
out=$(nsx "$NS_C" "$PY" "$E2E_DIR/stream.py" stream --out "$T/new" --stop "$T/new.stop" \
	--interval 0.1 new=10.10.2.10:8000 newfwd=10.10.1.1:8080 >/dev/null 2>&1 &
      sleep 1.5; touch "$T/new.stop"; wait)
assert_ge "a new connection through B carries data" 3 "$(grep -c '^data new ' "$T/new")"
assert_ge "a new forwarded connection through B carries data" 3 "$(grep -c '^data newfwd ' "$T/new")"
sp=$(awk '$1 == "up" && $2 == "new" { print $3 }' "$T/new")
spf=$(awk '$1 == "up" && $2 == "newfwd" { print $3 }' "$T/new")
wait_for 3 grep -q "allow rule=web .*spt=$sp " "$T/b/fwd.log"
assert_grep "B's fwd judged the new connection" "allow rule=web .*spt=$sp " "$T/b/fwd.log"
assert_grep "B's fwd judged the new forwarded connection" "forward rule=web-fwd .*spt=$spf " "$T/b/fwd.log"

# The dropped port: dropped before, during and after, and by B now.
assert_no_grep "port 9000 stayed dropped throughout" '^probe-open ' "$STREAM"
assert_grep "B's fwd drops port 9000" "drop rule=default .*dpt=9000" "$T/b/fwd.log"
assert_grep "A's fwd dropped port 9000 before" "drop rule=default .*dpt=9000" "$T/a/fwd.log"

touch "$STOP"
wait "$CLIENT" 2>/dev/null
e2e_finish
