#!/bin/sh
# demo.sh FWD_BINARY - fwd on a gateway between a client and a server.
#
# Three network namespaces, made here and removed on any exit:
#
#   client  veth-c 10.10.1.2 fd00:1::2, and 10.10.1.3 (the port scanner)
#      |
#   gateway veth-gw-c 10.10.1.1 fd00:1::1   veth-gw-s 10.10.2.1 fd00:2::1   (fwd runs here)
#      |
#   server  veth-s 10.10.2.2 fd00:2::2      (python listeners: tcp 22 23 80 3306, udp 53)
#
# fwd runs on the gateway with rules/demo.yaml. Each step sends real traffic
# from the client and compares what happened with what the rules say, and
# with which counter `fwd stats` moved. What the rules say is `fwd explain`
# on the live file as it stands for that source at that moment: explain has
# no run-time state and reads every dynamic set as empty, so a rule with
# `src: $SET` is kept (without its src:) while the daemon reports the source
# as a member, on that port for a door (view.py). A knock
# opens ssh for the client; a scan from its second address gets that address
# blocked. The last steps edit the live file and send SIGHUP. The host's own
# links, addresses and iptables are never touched: both ends of every veth
# are created inside the namespaces.
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

NSTEPS=15
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
# probe.py PROTO SRC SPORT DST DPORT [TIMEOUT]: one connection attempt from a
# fixed source port; prints "reply TEXT", "timeout" or "refused".
import socket, sys
proto, src, sport, dst, dport = sys.argv[1:6]
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
s = socket.socket(fam, kind)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.settimeout(float(sys.argv[6]) if len(sys.argv) > 6 else 2.0)
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

cat >"$TMP/scan.py" <<'EOF'
# scan.py SRC DST FIRST LAST: a connect scan of ports FIRST..LAST, every
# connection opened at once as scanners do; after 0.8 s (before the first
# SYN retransmission) prints "OPEN REFUSED SILENT", counts of ports.
import select, socket, sys, time
src, dst, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pending = []
for port in range(first, last + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((src, 0))
    s.connect_ex((dst, port))
    pending.append(s)
opened = refused = 0
end = time.monotonic() + 0.8
while pending and time.monotonic() < end:
    _, done, _ = select.select([], pending, [], max(0, end - time.monotonic()))
    for s in done:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            opened += 1
        else:
            refused += 1
        pending.remove(s)
        s.close()
print(opened, refused, len(pending))
EOF

# view.py LIVE STATS.json SRC PROTO DPORT OUT: the live rules as they stand
# for one packet from SRC now. Offline `fwd explain` reads every dynamic set
# as empty and its member= has no port; here a `src: $SET` rule keeps matching
# (without its src:) only while fwd's stats list SRC as a member of SET (a
# member with a port counts for that port alone), and is left out otherwise.
cat >"$TMP/view.py" <<'EOF'
import ipaddress, json, sys, yaml
live, stats, src, proto, dport, out = sys.argv[1:7]
doc = yaml.safe_load(open(live))
dynamic = doc.get("dynamic") or {}
sets = json.load(open(stats)).get("dynamic", {}).get("sets", {})
me = ipaddress.ip_address(src)
def member(name):
    return any(ipaddress.ip_address(m["addr"]) == me and
               m.get("port") in (None, "%s/%s" % (dport, proto))
               for m in sets.get(name, {}).get("members", []))
rules = []
for r in doc["rules"]:
    s = r.get("src")
    if isinstance(s, str) and s[:1] == "$" and s[1:] in dynamic:
        if not member(s[1:]):
            continue
        r = {k: v for k, v in r.items() if k != "src"}
    rules.append(r)
doc["rules"] = rules
doc.pop("tests", None)
open(out, "w").write(yaml.safe_dump(doc, sort_keys=False))
EOF

# dyn.py STATS.json count KEY: a counter under "dynamic" (knock.opened,
# scan.detected). dyn.py STATS.json member SET ADDR: "PORT NNs" ("any NNs"
# for a member without a port) when ADDR is in SET, nothing otherwise.
cat >"$TMP/dyn.py" <<'EOF'
import ipaddress, json, sys
d = json.load(open(sys.argv[1])).get("dynamic", {})
if sys.argv[2] == "count":
    for k in sys.argv[3].split("."):
        d = d.get(k, {})
    print(d if isinstance(d, int) else 0)
else:
    me = ipaddress.ip_address(sys.argv[4])
    for m in d.get("sets", {}).get(sys.argv[3], {}).get("members", []):
        if ipaddress.ip_address(m["addr"]) == me:
            print("%s %ds" % (m.get("port", "any"), m["remaining"]))
EOF

# The live file after the reload: one more rule, allowing telnet, right
# after the rule that blocks scanners (which stay blocked). The policy tests
# are left out because they still describe the old policy.
cat >"$TMP/edit.py" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
doc.pop("tests", None)
block = "$" + str(((doc.get("scan") or {}).get("block") or {}).get("set"))
at = next((i + 1 for i, r in enumerate(doc["rules"]) if r.get("src") == block), 0)
doc["rules"].insert(at, {"name": "telnet-after-reload", "proto": "tcp",
                         "dport": 23, "action": "allow", "log": True})
open(sys.argv[2], "w").write(yaml.safe_dump(doc, sort_keys=False))
EOF

# --- the three hosts ----------------------------------------------------------

# Addresses still tentative: duplicate address detection under way.
tentative() {
	for ns in $C $G $S; do
		[ -z "$(ip -n "$ns" -6 addr show tentative)" ] || return 0
	done
	return 1
}

setup() {
	# An ordinary network: ARP, neighbour discovery, duplicate address
	# detection and router solicitations, which fwd's kernel hooks let pass
	# whatever the rules say.
	for ns in $C $G $S; do
		ip netns add "$ns" || die "cannot create network namespace $ns"
		inns "$ns" ip link set lo up
	done
	ip link add veth-c netns "$C" type veth peer name veth-gw-c netns "$G" ||
		die "cannot create veth pair veth-c/veth-gw-c"
	ip link add veth-s netns "$S" type veth peer name veth-gw-s netns "$G" ||
		die "cannot create veth pair veth-s/veth-gw-s"
	# Fixed MACs, so a capture reads the same every time.
	inns "$C" ip link set veth-c address 02:fd:00:01:00:02
	inns "$G" ip link set veth-gw-c address 02:fd:00:01:00:01
	inns "$G" ip link set veth-gw-s address 02:fd:00:02:00:01
	inns "$S" ip link set veth-s address 02:fd:00:02:00:02
	inns "$C" ip addr add 10.10.1.2/24 dev veth-c
	inns "$C" ip addr add fd00:1::2/64 dev veth-c
	inns "$C" ip addr add 10.10.1.3/24 dev veth-c
	inns "$G" ip addr add 10.10.1.1/24 dev veth-gw-c
	inns "$G" ip addr add fd00:1::1/64 dev veth-gw-c
	inns "$G" ip addr add 10.10.2.1/24 dev veth-gw-s
	inns "$G" ip addr add fd00:2::1/64 dev veth-gw-s
	inns "$S" ip addr add 10.10.2.2/24 dev veth-s
	inns "$S" ip addr add fd00:2::2/64 dev veth-s
	for l in "$C/veth-c" "$G/veth-gw-c" "$G/veth-gw-s" "$S/veth-s"; do
		inns "${l%/*}" ip link set "${l#*/}" up
	done
	i=0
	while tentative; do
		i=$((i + 1))
		[ $i -le 100 ] || die "IPv6 addresses stay tentative"
		sleep 0.1
	done
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

# What the rules say the verdict is, e.g. "allow rule=ssh": `fwd explain` on
# the live file as it stands for SRC by the dynamic sets in STATS.json.
expected() {
	proto=$1 src=$2 sport=$3 dst=$4 dport=$5 stats=$6
	$PY "$TMP/view.py" "$LIVE" "$stats" "$src" "$proto" "$dport" "$TMP/view.yaml" ||
		{ echo "error: view.py failed"; return; }
	case $src in *:*) src="[$src]" ;; esac
	case $dst in *:*) dst="[$dst]" ;; esac
	"$FWD" explain --in veth-gw-c "$TMP/view.yaml" "$proto" "$src:$sport" "$dst:$dport" 2>&1 |
		head -n1
}

# What the traffic shows: allow, drop, forward to=ADDR:PORT, or reject (the
# connection was refused: a TCP reset or an ICMP port-unreachable).
observed() {
	want_dst=$1 want_dport=$2 out=$3
	case $out in
	timeout) echo drop ;;
	refused) echo reject ;;
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
	stats_json "$TMP/before.json" || echo "  (fwd stats failed)"
	want=$(expected "$proto" "$src" "$sport" "$dst" "$dport" "$TMP/before.json")
	verdict=${want% rule=*}
	rule=${want##* rule=}
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
	reject) word=refused ;;
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

# knock SRC SPORT DST PROTO/PORT...: the knock sequence from SRC, one probe
# per knock with source ports from SPORT on. Every knock must go unanswered
# (fwd drops knocks), fwd must count one more door opened, and SRC must be in
# the set doors.
knock() {
	src=$1 sport=$2 dst=$3
	shift 3
	N=$((N + 1))
	stats_json "$TMP/before.json" || echo "  (fwd stats failed)"
	seq='' outs='' silent=1
	for k in "$@"; do
		out=$(inns "$C" $PY "$TMP/probe.py" "${k#*/}" "$src" "$sport" "$dst" "${k%/*}" 0.3)
		[ "$out" = timeout ] || silent=
		seq="$seq${seq:+, }${k#*/} ${k%/*}"
		outs="$outs${outs:+, }$out"
		sport=$((sport + 1))
	done
	sleep 0.2
	stats_json "$TMP/after.json"
	before=$($PY "$TMP/dyn.py" "$TMP/before.json" count knock.opened 2>/dev/null || echo 0)
	after=$($PY "$TMP/dyn.py" "$TMP/after.json" count knock.opened 2>/dev/null || echo 0)
	door=$($PY "$TMP/dyn.py" "$TMP/after.json" member doors "$src" 2>/dev/null)
	if [ -n "$silent" ] && [ "$after" -gt "$before" ] && [ -n "$door" ]; then
		OK=$((OK + 1))
		printf '  %-40s %-26s (knock ssh)\n' "knock $seq" "no answer, door opened"
		echo "      fwd stats: set doors holds $src for ${door% *}, ${door#* } left"
	else
		printf '  %-40s UNEXPECTED: probes said "%s", doors opened %s -> %s, %s\n' \
			"knock $seq" "$outs" "$before" "$after" "${door:-$src not in doors}"
	fi
}

# scan SRC DST FIRST LAST: a connect scan from SRC. fwd must log one "fwd:
# scan" line for SRC, count one more scan detected, and put SRC in the set
# scanners.
scan() {
	src=$1 dst=$2 first=$3 last=$4
	N=$((N + 1))
	stats_json "$TMP/before.json" || echo "  (fwd stats failed)"
	n0=$(grep -c "fwd: scan src=$src " "$FLOG")
	res=$(inns "$C" $PY "$TMP/scan.py" "$src" "$dst" "$first" "$last")
	for _ in $(seq 20); do
		[ "$(grep -c "fwd: scan src=$src " "$FLOG")" -gt "$n0" ] && break
		sleep 0.1
	done
	stats_json "$TMP/after.json"
	before=$($PY "$TMP/dyn.py" "$TMP/before.json" count scan.detected 2>/dev/null || echo 0)
	after=$($PY "$TMP/dyn.py" "$TMP/after.json" count scan.detected 2>/dev/null || echo 0)
	blocked=$($PY "$TMP/dyn.py" "$TMP/after.json" member scanners "$src" 2>/dev/null)
	logged=$(grep "fwd: scan src=$src " "$FLOG" | tail -n1)
	# shellcheck disable=SC2086 # three numbers, split on purpose
	set -- $res
	word="${3:-?} silent, ${2:-?} refused"
	case ${1:-0} in 0) ;; *) word="$1 open, $word" ;; esac
	if [ $# -eq 3 ] && [ -n "$logged" ] && [ "$after" -gt "$before" ] && [ -n "$blocked" ]; then
		OK=$((OK + 1))
		printf '  %-40s %-26s (scan detected)\n' "tcp $src -> $dst:$first-$last" "$word"
	else
		printf '  %-40s %-26s UNEXPECTED: scans detected %s -> %s, %s\n' \
			"tcp $src -> $dst:$first-$last" "$word" "$before" "$after" \
			"${blocked:-$src not in scanners}"
	fi
	[ -n "$logged" ] && echo "      logged: $logged"
	[ -n "$blocked" ] && echo "      fwd stats: set scanners holds $src, ${blocked#* } left"
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
step udp 10.10.1.2 40001 10.10.2.2 53
step udp fd00:1::2 40002 fd00:2::2 53
step tcp 10.10.1.2 40003 10.10.2.2 23
step tcp 10.10.1.2 40004 10.10.2.2 3306
step tcp 10.10.1.2 40005 10.10.1.1 8080
echo
echo "Knocking: ssh is closed until the client knocks tcp 7000, udp 8000, tcp 9000:"
step tcp 10.10.1.2 40011 10.10.2.2 22
knock 10.10.1.2 40012 10.10.2.2 7000/tcp 8000/udp 9000/tcp
step tcp 10.10.1.2 40015 10.10.2.2 22
echo "  (the door is for that source alone: the client's IPv6 address did not knock)"
step tcp fd00:1::2 40016 fd00:2::2 22
echo
echo "A port scan from the client's second address, 10.10.1.3:"
step tcp 10.10.1.3 40021 10.10.1.1 8080
scan 10.10.1.3 10.10.2.2 10 39
echo "  (the scanner is blocked, even where it was allowed; the client is not)"
step tcp 10.10.1.3 40022 10.10.1.1 8080
step tcp 10.10.1.2 40023 10.10.1.1 8080
echo
echo "fwd stats, its dynamic part, before the reload:"
"$FWD" stats --socket "$SOCK" 2>&1 | sed -n '/^set /,$s/^./  &/p'
echo
echo "Reload: the live rules file gets a rule allowing tcp 23; SIGHUP:"
reload
step tcp 10.10.1.2 40031 10.10.2.2 23
echo "  (dynamic sets keep their members across a reload: the scanner stays blocked)"
step tcp 10.10.1.3 40032 10.10.2.2 23

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
