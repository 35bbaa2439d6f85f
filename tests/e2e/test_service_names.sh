#!/bin/bash
# SPDX-License-Identifier: MIT
# test_service_names.sh FWD BUILD_DIR - a service name means the same
# written inline and through a set, on the real packet path.
#
# http is 80/tcp in /etc/services. `{proto: udp, dport: $web}` with
# `web: [http]` is refused by `fwd run` and by a reload, with the same
# error the inline `dport: http` gets (it used to load and never match).
# In a rule for tcp and udp, `$web` and `http` both stand for port 80:
# a UDP datagram to the server's port 80 gets through either way.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --udp 80 --tcp 80
BAD="$T/bad.yaml"
cat >"$BAD" <<'YAML'
version: 1
default: drop
sets:
  web: [http]
rules:
  - {name: web, proto: udp, dport: $web, action: allow}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML
out=$(nsx g timeout 5 "$FWD" run -c "$BAD" --foreground --socket "$T/bad.sock" \
	--pidfile "$T/bad.pid" 2>&1)
rc=$?
assert_eq "fwd run refuses the set that names a tcp-only service for udp: exit" 1 "$rc"
case $out in *"6:36: error: unknown service 'http' for udp, in set '\$web' (line 4)"*)
	pass "fwd run says why, at the rule's line and column" ;;
	*) fail "fwd run: expected the unknown-service error, got '$out'" ;; esac

RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
sets:
  web: [http]
rules:
  - {name: web, proto: [tcp, udp], dport: $web, action: allow}
  - {name: icmpv6, proto: icmpv6, action: allow}
YAML
fwd_start "$RULES"
assert_eq "udp 80 through the set" "fwd-e2e udp 80" "$(client udp 10.10.2.2 80)"
assert_eq "tcp 80 through the set" "fwd-e2e tcp 80" "$(client tcp 10.10.2.2 80)"
stats "$T/s1.json"
assert_eq "rule web counted both" 2 "$(jget "$T/s1.json" rule:web.packets)"

sed -i 's/dport: \$web/dport: http/' "$RULES"
assert_eq "reload with the name inline" "ok: 2 rules" "$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)"
assert_eq "udp 80 with the name inline" "fwd-e2e udp 80" "$(client udp 10.10.2.2 80 --sport 40001)"

cp "$BAD" "$RULES"
r=$(nsx g "$FWD" reload --socket "$SOCK" 2>&1)
case $r in *"unknown service 'http' for udp, in set '\$web' (line 4)"*)
	pass "reload refuses the set naming a tcp-only service for udp" ;;
	*) fail "reload of the bad file: expected the unknown-service error, got '$r'" ;; esac
assert_eq "the old rules stay: udp 80 still through" "fwd-e2e udp 80" "$(client udp 10.10.2.2 80 --sport 40002)"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
