#!/bin/bash
# SPDX-License-Identifier: MIT
# test_protos.sh FWD BUILD_DIR - rules for protocols besides TCP, UDP and ICMP.
#
# A gateway carries IPsec (ESP, IP protocol 50) and tunnels (GRE, 47). The
# client sends datagrams of both protocols, over IPv4 and IPv6, through the
# gateway to raw sockets on the server; the rules allow ESP by name from the
# client's IPv4 address and GRE over IPv6 by number, and drop the rest. The
# kernel delivers to a raw socket only what fwd let through.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
cat >"$T/rules.yaml" <<'YAML'
version: 1
default: drop
log: drops
rules:
  - {name: ipsec, proto: esp, src: 10.10.1.2, action: allow}
  - {name: gre6, proto: 47, src: "fd00:1::/64", action: allow}
YAML
fwd_start "$T/rules.yaml"

# On the server: count what each (family, protocol) raw socket receives for 3 s.
bg s "$T/raw.log" "$PY" -c '
import select, socket, time
socks = {}
for fam, name in ((socket.AF_INET, "v4"), (socket.AF_INET6, "v6")):
    for proto in (47, 50):
        socks[socket.socket(fam, socket.SOCK_RAW, proto)] = "%s/%d" % (name, proto)
open("'"$T/raw.ready"'", "w").close()
seen = {v: 0 for v in socks.values()}
end = time.time() + 3
while time.time() < end:
    for s in select.select(list(socks), [], [], 0.1)[0]:
        s.recv(2048)
        seen[socks[s]] += 1
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))'
wait_for 5 test -e "$T/raw.ready"
nsx c "$PY" -c '
import socket
for fam, dst in ((socket.AF_INET, "10.10.2.2"), (socket.AF_INET6, "fd00:2::2")):
    for proto in (47, 50):
        s = socket.socket(fam, socket.SOCK_RAW, proto)
        for i in range(5):
            s.sendto(b"\0\0\1\0" + bytes(12), (dst, 0))'
wait "$BG_PID"
got=$(cat "$T/raw.log")
say "server's raw sockets: $got"
assert_eq "esp over IPv4 allowed, gre over IPv6 allowed by number, the rest dropped" \
	"v4/47=0 v4/50=5 v6/47=5 v6/50=0" "$got"
assert_grep "gre over IPv4 dropped, named in the log" \
	'fwd: drop rule=default in=veth-gw-c proto=gre src=10\.10\.1\.2 dst=10\.10\.2\.2$' "$FWD_LOG"
assert_grep "esp over IPv6 dropped, named in the log" \
	'fwd: drop rule=default in=veth-gw-c proto=esp src=fd00:1::2 dst=fd00:2::2$' "$FWD_LOG"
stats "$T/s.json"
assert_eq "stats: ipsec" 5 "$(jget "$T/s.json" rule:ipsec.packets)"
assert_eq "stats: gre6" 5 "$(jget "$T/s.json" rule:gre6.packets)"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
