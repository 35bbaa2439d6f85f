#!/bin/sh
# demo.sh FWD_BINARY - fwd on a gateway between a client and a server.
#
# Three network namespaces, made here and removed on any exit:
#
#   client  veth-c 10.10.1.2 fd00:1::2
#      |
#   gateway veth-gw-c 10.10.1.1 fd00:1::1   veth-gw-s 10.10.2.1 fd00:2::1   (fwd runs here)
#      |
#   server  veth-s 10.10.2.2 fd00:2::2      (python listeners: tcp 22 23 80 3306, udp 53)
#
# fwd runs on the gateway with rules/demo.yaml. Each step sends real traffic
# from the client and compares what happened with what the rules say (`fwd
# explain` on the live file), and with which counter `fwd stats` moved. The
# last step edits the live file and sends SIGHUP. The host's own links,
# addresses and iptables are never touched: both ends of every veth are
# created inside the namespaces.
set -u

FWD=${1:?usage: demo.sh FWD_BINARY}
case $FWD in /*) ;; *) FWD=$(pwd)/$FWD ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
RULES=${DEMO_RULES:-$HERE/../rules/demo.yaml}
PY=/usr/bin/python3

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (it makes network namespaces)" >&2
	exit 2
fi
[ -x "$FWD" ] || { echo "demo: no fwd binary at $FWD" >&2; exit 2; }
[ -r "$RULES" ] || { echo "demo: no rules file $RULES" >&2; exit 2; }

# The name prefix is known to tests/e2e/test_demo.sh.
C=fwddemo-$$-client
G=fwddemo-$$-gateway
S=fwddemo-$$-server
TMP=$(mktemp -d /tmp/fwd-demo.XXXXXX)
SOCK=$TMP/fwd.sock
LIVE=$TMP/rules.yaml
FLOG=$TMP/fwd.log
FWD_PID=
SRV_PID=
CLEANED=

cleanup() {
	[ -n "$CLEANED" ] && return
	CLEANED=1
	if [ -n "$FWD_PID" ] && kill -0 "$FWD_PID" 2>/dev/null; then
		kill -TERM "$FWD_PID" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$FWD_PID" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$FWD_PID" 2>/dev/null
	fi
	[ -n "$SRV_PID" ] && kill -TERM "$SRV_PID" 2>/dev/null
	# Anything else still inside our namespaces was started by this script.
	for ns in $C $G $S; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT TERM HUP

die() {
	echo "demo: $*" >&2
	if [ -s "$FLOG" ]; then
		echo "--- fwd's log:" >&2
		cat "$FLOG" >&2
	fi
	echo "demo: 0 of $NSTEPS steps behaved as the rules say (setup failed)"
	exit 1
}

NSTEPS=7
inns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

# --- helpers run inside the namespaces --------------------------------------

cat >"$TMP/server.py" <<'EOF'
# Listeners for the demo: each answers "served by ADDR:PORT to PEER:PORT".
import selectors, socket, sys
sel = selectors.DefaultSelector()
def plain(a):
    return a[7:] if a.startswith("::ffff:") else a
def sock(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, kind)
for p in map(int, sys.argv[1].split(",")):
    sock(socket.SOCK_STREAM, p)
for p in map(int, sys.argv[2].split(",")):
    sock(socket.SOCK_DGRAM, p)
open(sys.argv[3], "w").write("ready\n")
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            if key.data == socket.SOCK_STREAM:
                c, peer = s.accept()
                me = c.getsockname()
                c.sendall(("served by %s:%d to %s:%d\n" % (plain(me[0]), me[1],
                           plain(peer[0]), peer[1])).encode())
                c.close()
            else:
                data, peer = s.recvfrom(2048)
                me = s.getsockname()
                s.sendto(("served by udp port %d to %s:%d\n" % (me[1],
                          plain(peer[0]), peer[1])).encode(), peer)
        except OSError:
            pass
EOF

cat >"$TMP/probe.py" <<'EOF'
# probe.py PROTO SRC SPORT DST DPORT: one connection attempt from a fixed
# source port; prints "reply TEXT", "timeout" or "refused".
import socket, sys
proto, src, sport, dst, dport = sys.argv[1:6]
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
s = socket.socket(fam, kind)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.settimeout(2.0)
try:
    s.bind((src, int(sport)))
    s.connect((dst, int(dport)))
    if kind == socket.SOCK_DGRAM:
        s.send(b"hello\n")
    print("reply " + s.recv(200).decode().strip())
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error " + str(e))
EOF

cat >"$TMP/counter.py" <<'EOF'
# counter.py STATS.json RULE: the packet counter of RULE (or "default").
import json, sys
st = json.load(open(sys.argv[1]))
if sys.argv[2] == "default":
    print(st["default"]["packets"])
else:
    print(sum(r["packets"] for r in st["rules"] if r["name"] == sys.argv[2]))
EOF

# The live file after the reload: one more rule in front, allowing telnet.
# The policy tests are left out because they still describe the old policy.
cat >"$TMP/edit.py" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
doc.pop("tests", None)
doc["rules"].insert(0, {"name": "telnet-after-reload", "proto": "tcp",
                        "dport": 23, "action": "allow", "log": True})
open(sys.argv[2], "w").write(yaml.safe_dump(doc, sort_keys=False))
EOF

# --- the three hosts ----------------------------------------------------------

# neigh NS DEV V4 V6 MAC
neigh() {
	inns "$1" ip neigh replace "$3" lladdr "$5" dev "$2" nud permanent
	inns "$1" ip -6 neigh replace "$4" lladdr "$5" dev "$2" nud permanent
}

setup() {
	# No router solicitations, duplicate address detection or link-local
	# addresses: fwd's log shows the demo's traffic, not IPv6 housekeeping.
	for ns in $C $G $S; do
		ip netns add "$ns" || die "cannot create network namespace $ns"
		inns "$ns" ip link set lo up
		inns "$ns" sysctl -qw net.ipv6.conf.default.router_solicitations=0 \
			net.ipv6.conf.all.router_solicitations=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	done
	ip link add veth-c netns "$C" type veth peer name veth-gw-c netns "$G" ||
		die "cannot create veth pair veth-c/veth-gw-c"
	ip link add veth-s netns "$S" type veth peer name veth-gw-s netns "$G" ||
		die "cannot create veth pair veth-s/veth-gw-s"
	# Fixed MACs and permanent neighbour entries: no ARP or neighbour
	# discovery runs through fwd, so its counters show only the demo's traffic.
	inns "$C" ip link set veth-c address 02:fd:00:01:00:02
	inns "$G" ip link set veth-gw-c address 02:fd:00:01:00:01
	inns "$G" ip link set veth-gw-s address 02:fd:00:02:00:01
	inns "$S" ip link set veth-s address 02:fd:00:02:00:02
	inns "$C" ip addr add 10.10.1.2/24 dev veth-c
	inns "$C" ip addr add fd00:1::2/64 dev veth-c nodad
	inns "$G" ip addr add 10.10.1.1/24 dev veth-gw-c
	inns "$G" ip addr add fd00:1::1/64 dev veth-gw-c nodad
	inns "$G" ip addr add 10.10.2.1/24 dev veth-gw-s
	inns "$G" ip addr add fd00:2::1/64 dev veth-gw-s nodad
	inns "$S" ip addr add 10.10.2.2/24 dev veth-s
	inns "$S" ip addr add fd00:2::2/64 dev veth-s nodad
	for l in "$C/veth-c" "$G/veth-gw-c" "$G/veth-gw-s" "$S/veth-s"; do
		inns "${l%/*}" ip link set "${l#*/}" addrgenmode none
		inns "${l%/*}" ip link set "${l#*/}" up
	done
	neigh "$C" veth-c 10.10.1.1 fd00:1::1 02:fd:00:01:00:01
	neigh "$G" veth-gw-c 10.10.1.2 fd00:1::2 02:fd:00:01:00:02
	neigh "$G" veth-gw-s 10.10.2.2 fd00:2::2 02:fd:00:02:00:02
	neigh "$S" veth-s 10.10.2.1 fd00:2::1 02:fd:00:02:00:01
	inns "$C" ip route add default via 10.10.1.1
	inns "$C" ip -6 route add default via fd00:1::1
	inns "$S" ip route add default via 10.10.2.1
	inns "$S" ip -6 route add default via fd00:2::1
	inns "$G" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
		die "cannot turn forwarding on in the gateway namespace"
}

start_server() {
	# ip netns exec execs the command: $! is the server's pid (a shell
	# function in the background would be a subshell instead).
	ip netns exec "$S" $PY "$TMP/server.py" 22,23,80,3306 53 "$TMP/server.ready" \
		>/dev/null 2>"$TMP/server.err" &
	SRV_PID=$!
	for _ in $(seq 50); do
		[ -s "$TMP/server.ready" ] && return
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMP/server.err" >&2
	die "the server's listeners did not start"
}

start_fwd() {
	cp "$RULES" "$LIVE"
	"$FWD" check "$LIVE" >/dev/null || die "$RULES does not pass fwd check"
	ip netns exec "$G" "$FWD" run -c "$LIVE" --foreground --queues 1 --socket "$SOCK" \
		--pidfile "$TMP/fwd.pid" </dev/null >"$TMP/fwd.out" 2>"$FLOG" &
	FWD_PID=$!
	for _ in $(seq 50); do
		grep -q 'fwd: started' "$FLOG" 2>/dev/null && [ -S "$SOCK" ] && return
		kill -0 "$FWD_PID" 2>/dev/null || die "fwd run exited during start-up"
		sleep 0.1
	done
	die "fwd did not log 'fwd: started' within 5 seconds"
}

# --- one step -----------------------------------------------------------------

OK=0
N=0

stats_json() {
	"$FWD" stats --socket "$SOCK" --json >"$1" 2>/dev/null
}

# What `fwd explain` says the verdict is, e.g. "allow rule=ssh".
expected() {
	proto=$1 src=$2 sport=$3 dst=$4 dport=$5
	case $src in *:*) src="[$src]" ;; esac
	case $dst in *:*) dst="[$dst]" ;; esac
	"$FWD" explain --in veth-gw-c "$LIVE" "$proto" "$src:$sport" "$dst:$dport" 2>&1 | head -n1
}

# What the traffic shows: allow, drop, forward to=ADDR:PORT, or refused.
observed() {
	want_dst=$1 want_dport=$2 out=$3
	case $out in
	timeout) echo drop ;;
	refused) echo refused ;;
	"reply served by udp port $want_dport "*) echo allow ;;
	"reply served by $want_dst:$want_dport "*) echo allow ;;
	"reply served by "*)
		to=${out#reply served by }
		echo "forward to=${to%% *}" ;;
	*) echo "error" ;;
	esac
}

# step PROTO SRC SPORT DST DPORT
step() {
	proto=$1 src=$2 sport=$3 dst=$4 dport=$5
	N=$((N + 1))
	want=$(expected "$proto" "$src" "$sport" "$dst" "$dport")
	verdict=${want% rule=*}
	rule=${want##* rule=}
	stats_json "$TMP/before.json" || echo "  (fwd stats failed)"
	out=$(inns "$C" $PY "$TMP/probe.py" "$proto" "$src" "$sport" "$dst" "$dport")
	got=$(observed "$dst" "$dport" "$out")
	sleep 0.2
	stats_json "$TMP/after.json"
	before=$($PY "$TMP/counter.py" "$TMP/before.json" "$rule" 2>/dev/null || echo 0)
	after=$($PY "$TMP/counter.py" "$TMP/after.json" "$rule" 2>/dev/null || echo 0)

	case $dst in *:*) shown="[$dst]:$dport" ;; *) shown="$dst:$dport" ;; esac
	case $got in
	allow) word=allowed ;;
	drop) word=dropped ;;
	forward*) word="forwarded ${got#forward }" ;;
	*) word="$got" ;;
	esac
	if [ "$got" = "$verdict" ] && [ "$after" -gt "$before" ]; then
		OK=$((OK + 1))
		printf '  %-40s %-26s (rule %s)\n' "$proto $src -> $shown" "$word" "$rule"
	else
		printf '  %-40s %-26s UNEXPECTED: the rules say "%s", counter %s -> %s\n' \
			"$proto $src -> $shown" "$word" "$want" "$before" "$after"
		echo "      probe said: $out"
	fi
	logged=$(grep -F "spt=$sport " "$FLOG" | grep -E "dpt=$dport( |$)" | tail -n1)
	[ -n "$logged" ] && echo "      logged: $logged"
}

reload() {
	n0=$(grep -c 'reloaded rules from' "$FLOG")
	$PY "$TMP/edit.py" "$RULES" "$TMP/next.yaml" || die "cannot write the edited rules"
	mv "$TMP/next.yaml" "$LIVE"
	kill -HUP "$FWD_PID"
	for _ in $(seq 30); do
		[ "$(grep -c 'reloaded rules from' "$FLOG")" -gt "$n0" ] && break
		sleep 0.1
	done
	grep 'reloaded rules from\|reload failed' "$FLOG" | tail -n1 | sed 's/^/  /'
}

# --- the story ----------------------------------------------------------------

echo "demo: client $C, gateway $G, server $S"
setup
start_server
start_fwd
echo "demo: fwd runs on the gateway with $(basename "$RULES")"
echo
echo "Traffic from the client:"
step tcp 10.10.1.2 40001 10.10.2.2 22
step udp 10.10.1.2 40002 10.10.2.2 53
step tcp 10.10.1.2 40003 10.10.2.2 23
step tcp fd00:1::2 40004 fd00:2::2 22
step tcp 10.10.1.2 40005 10.10.2.2 3306
step tcp 10.10.1.2 40006 10.10.1.1 8080
echo
echo "Reload: the live rules file gets a rule allowing tcp 23; SIGHUP:"
reload
step tcp 10.10.1.2 40007 10.10.2.2 23

sleep 0.3
echo
echo "fwd's log:"
sed 's/^/  /' "$FLOG"
echo
echo "fwd stats:"
"$FWD" stats --socket "$SOCK" 2>&1 | sed 's/^./  &/'

cleanup
echo
echo "demo: $OK of $N steps behaved as the rules say"
[ "$OK" -eq "$N" ] && [ "$N" -eq "$NSTEPS" ]
