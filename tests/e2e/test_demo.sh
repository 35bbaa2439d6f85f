#!/bin/bash
# SPDX-License-Identifier: MIT
# test_demo.sh FWD_BINARY BUILD_DIR - `make demo` works and leaves no trace.
#
# Runs tests/demo.sh and requires its summary line to say every one of its
# 15 steps behaved as the rules say, and its exit status to agree; among
# them a knock that opened ssh and a scan that got its source blocked, each
# with its own line in the output. Then compares the
# host's network namespaces, links and iptables/ip6tables rule sets from
# before and after (sorted, counters and comments removed): the demo must
# leave the host exactly as it found it.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

NAME=test_demo
FWD=${1:?usage: test_demo.sh FWD_BINARY BUILD_DIR}
case $FWD in /*) ;; *) FWD="$PWD/$FWD" ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

skip() { echo "SKIP $NAME: $*"; exit 77; }
fail() { echo "FAIL $NAME: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "not root"
probe=fwd-demo-probe-$$
ip netns add "$probe" 2>/dev/null || skip "network namespaces unavailable (ip netns add failed)"
ip netns del "$probe"
[ -x "$FWD" ] || fail "fwd binary '$FWD' not found or not executable"

T=$(mktemp -d /tmp/fwd-test-demo.XXXXXX)
trap 'rm -rf "$T"' EXIT

# The host's state, normalised: sorted lines; no iptables-save comments
# (they carry timestamps) and no packet counters.
snapshot() {
	ip netns list | sed 's/ (id: [0-9]*)//' | sort >"$1.netns"
	ip -o link | sed 's/^[0-9]*: //' | sort >"$1.link"
	iptables-save 2>&1 | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]/[0:0]/' | sort >"$1.ipt"
	ip6tables-save 2>&1 | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]/[0:0]/' | sort >"$1.ip6t"
}

snapshot "$T/before"
sh "$ROOT/tests/demo.sh" "$FWD" >"$T/out" 2>&1 </dev/null
rc=$?
snapshot "$T/after"

show_out() { sed 's/^/    | /' "$T/out"; }
last=$(tail -n1 "$T/out")
if ! [[ $last =~ ^demo:\ ([0-9]+)\ of\ ([0-9]+)\ steps\ behaved\ as\ the\ rules\ say$ ]]; then
	show_out
	fail "the demo's last line is not its summary: '$last'"
fi
ok=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
if [ "$ok" != "$total" ] || [ "$total" != 15 ]; then
	show_out
	fail "$last (15 steps expected)"
fi
# The steps that passed must include the knock and the scan: a door opened
# and then used, a scan logged, and the scanner dropped by its set's rule.
for want in 'knock .* no answer, door opened ' '10\.10\.1\.2 -> .*:22 +allowed +\(rule ssh-knocked\)' \
	'logged: fwd: scan src=10\.10\.1\.3 ' 'set scanners holds 10\.10\.1\.3' \
	'tcp 10\.10\.1\.3 -> .*:8080 +dropped +\(rule scanners\)'; do
	if ! grep -qE -- "$want" "$T/out"; then
		show_out
		fail "the demo's output has no '$want'"
	fi
done
if [ "$rc" != 0 ]; then
	show_out
	fail "the summary says '$last' but demo.sh exited $rc"
fi

# The demo names its namespaces on its first line; none may be left. Other
# tests' namespaces may come and go meanwhile, so they are not compared.
mine=$(sed -n '1s/^demo: client \([^ ,]*\), gateway \([^ ,]*\), server \([^ ,]*\)$/\1 \2 \3/p' "$T/out")
[ -n "$mine" ] || fail "the demo did not name its namespaces on its first line"
for ns in $mine; do
	grep -qx "$ns" "$T/after.netns" && fail "namespace $ns left behind"
done
for what in link ipt ip6t; do
	if ! diff -u "$T/before.$what" "$T/after.$what" >"$T/diff"; then
		sed 's/^/    | /' "$T/diff"
		fail "the host's $what changed across the demo"
	fi
done
# Pre-existing namespaces must all still be there.
missing=$(comm -23 "$T/before.netns" "$T/after.netns" | grep -v '^fwd')
[ -z "$missing" ] || fail "namespaces gone after the demo: ${missing//$'\n'/ }"

echo "PASS $NAME: $last; host netns, links and iptables unchanged"
exit 0
