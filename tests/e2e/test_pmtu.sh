#!/bin/bash
# SPDX-License-Identifier: MIT
# test_pmtu.sh FWD BUILD_DIR - path MTU discovery through fwd in
# every-packet mode.
#
# A fourth namespace, the far server, sits behind the server namespace,
# which routes to it over a link whose near end has MTU 1280; every other
# link has 1500 and the far server announces an MSS for 1500. The client
# sends 1 MB over TCP to the far server, over IPv4 and IPv6: its full-size
# segments stop at that link, whose router answers fragmentation-needed
# (ICMP 3/4) or packet-too-big (ICMPv6 2) through the gateway. The rules
# allow only the TCP port (and its replies), `default: drop`, `inspect:
# every-packet`: the errors pass because they belong to a connection fwd
# let through (conntrack RELATED in fwd's chain), and the transfer
# completes. Without that, every error is queued and dropped and the
# transfer stalls (no PLPMTUD by default).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
NS_F="fwd-e2e-f-$$"
ns_new "$NS_F"
ip -n "$NS_S" link add veth-s-f type veth peer name veth-f netns "$NS_F" || exit 1
nsx s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
nsx s ip link set veth-s-f mtu 1280
topo_if s veth-s-f 10.10.3.1/24 fd00:3::1/64
topo_if "$NS_F" veth-f 10.10.3.2/24 fd00:3::2/64
nsx "$NS_F" ip route add default via 10.10.3.1
nsx "$NS_F" ip -6 route add default via fd00:3::1
nsx g ip route add 10.10.3.0/24 via 10.10.2.2
nsx g ip -6 route add fd00:3::/64 via fd00:2::2
topo_settle "$NS_F"

cat >"$T/sink.py" <<'PYEOF'
import socket, sys, threading
def serve(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 5001))
    s.listen(4)
    while True:
        c, _ = s.accept()
        n = 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
        c.sendall(b"%d\n" % n)
        c.close()
threading.Thread(target=serve, args=(socket.AF_INET6, "fd00:3::2"), daemon=True).start()
open(sys.argv[1], "w").close()
serve(socket.AF_INET, "10.10.3.2")
PYEOF
bg "$NS_F" "$T/sink.log" "$PY" "$T/sink.py" "$T/sink.ready"
wait_for 5 test -e "$T/sink.ready" || { fail "sink did not start: $(cat "$T/sink.log")"; e2e_finish; }

RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
log: drops
daemon:
  inspect: every-packet
rules:
  - {name: upload, proto: tcp, dport: 5001, action: allow}
  - {name: upload-back, proto: tcp, sport: 5001, action: allow}
YAML
fwd_start "$RULES"
log_wait 1 "fwd: started: .*inspect every-packet"
assert_grep "every-packet chain returns related ICMP errors (IPv4)" \
	'-A FWD-QUEUE -p icmp -m conntrack --ctstate RELATED -j RETURN' <(nsx g iptables-save -t mangle)
assert_grep "every-packet chain returns related ICMPv6 errors (IPv6)" \
	'-A FWD-QUEUE -p ipv6-icmp -m conntrack --ctstate RELATED -j RETURN' <(nsx g ip6tables-save -t mangle)
assert_no_grep "the IPv6 hooks are installed" 'IPv6 unusable' "$FWD_LOG"

send() {	# ADDR: 1 MB to the far server; prints the byte count it read
	nsx c "$PY" -c 'import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(15)
try:
    s.connect((a, 5001))
    s.sendall(b"x" * 1048576)
    s.shutdown(socket.SHUT_WR)
    print(s.makefile().readline().strip() or "eof")
except OSError as e:
    print("error: %s" % e)' "$1"
}
for a in 10.10.3.2 fd00:3::2; do
	t0=$(now_ms)
	assert_eq "1 MB over tcp to $a across the 1280 link" 1048576 "$(send $a)"
	say "$a: $(($(now_ms) - t0)) ms"
done
assert_grep "the far server's route learned MTU 1280 (IPv4)" 'mtu 1280' <(nsx c ip route get 10.10.3.2)
assert_grep "the far server's route learned MTU 1280 (IPv6)" 'mtu 1280' <(nsx c ip -6 route get fd00:3::2)
assert_no_grep "no ICMP error was dropped" 'drop .*proto=icmp' "$FWD_LOG"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
