#!/bin/bash
# SPDX-License-Identifier: MIT
# test_reject_broadcast.sh FWD BUILD_DIR - `reject` never answers a broadcast.
#
# Hosts on a LAN broadcast to their subnet's broadcast address all day
# (NetBIOS, LAN discovery). A rule that rejects such a datagram must drop
# it silently, as the kernel's own stack does (RFC 1122 3.2.2): an answer
# would come from the broadcast address itself, a source no host may use.
# fwd learns the gateway's broadcast addresses from the kernel, and follows
# an address added while it runs. A datagram to the gateway's own address
# is answered, so the test sees answers when there are any. Datagrams to a
# group get no answer either, and do not use up the answers' rate.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
cat >"$T/rules.yaml" <<'YAML'
version: 1
default: allow
log: drops
rules:
  - {name: no-udp, proto: udp, dport: 5454, action: reject}
YAML
fwd_start "$T/rules.yaml"

# Send one datagram to DST:5454 from the client; print the ICMP messages
# that reach the client in the next second: "SRC TYPE/CODE", one a line.
icmp_answers() {	# DST
	nsx c "$PY" - "$1" <<'PY'
import select, socket, sys, time
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
udp.sendto(b"x", (sys.argv[1], 5454))
end = time.time() + 1.0
while time.time() < end:
    if not select.select([icmp], [], [], max(0, end - time.time()))[0]:
        break
    pkt, (src, _) = icmp.recvfrom(2048)
    hl = (pkt[0] & 15) * 4
    print("%s %d/%d" % (src, pkt[hl], pkt[hl + 1]))
PY
}

assert_eq "to the gateway's address: answered" "10.10.1.1 3/3" "$(icmp_answers 10.10.1.1)"
assert_eq "to the subnet's broadcast: no answer" "" "$(icmp_answers 10.10.1.255)"
assert_eq "to the limited broadcast: no answer" "" "$(icmp_answers 255.255.255.255)"

# An address added while fwd runs brings its broadcast address with it.
nsx g ip addr add 10.10.7.1/24 dev veth-gw-c
nsx c ip addr add 10.10.7.2/24 dev veth-c
sleep 0.5
assert_eq "a new address is answered" "10.10.7.1 3/3" "$(icmp_answers 10.10.7.1)"
assert_eq "its subnet's broadcast is not" "" "$(icmp_answers 10.10.7.255)"

# mDNS, SSDP and the like send to groups all day. A burst of 1,000 datagrams
# to a group (IPv4 and IPv6) gets no answer, and spends none of the answer
# rate (1,000/s, burst 200): nothing is counted unanswered.
nsx c "$PY" - <<'PY'
import socket, time
v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v4.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.10.1.2"))
v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex("veth-c"))
for i in range(500):
    v4.sendto(b"x", ("239.1.2.3", 5454))
    v6.sendto(b"x", ("ff0e::1:3", 5454))
    if i % 50 == 49:
        time.sleep(0.002)   # 100 at a time: no queue near full, 20 ms in all
PY
assert_eq "after the groups' burst: the gateway's address still answered" \
	"10.10.1.1 3/3" "$(icmp_answers 10.10.1.1)"
stats "$T/s.json"
assert_eq "every datagram was rejected: in the rule's count" 1006 \
	"$(jget "$T/s.json" rule:no-udp.packets)"
assert_eq "the groups spent no answers: none unanswered" 0 \
	"$(jget "$T/s.json" queue.unanswered)"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
