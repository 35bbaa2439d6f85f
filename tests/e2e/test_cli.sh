#!/bin/bash
# SPDX-License-Identifier: MIT
# test_cli.sh FWD BUILD_DIR - the command line as a new user meets it: every
# subcommand's --help is real help (exit 0), `fwd check` names an unknown
# option and reads - as standard input, `fwd run` exits 2 on a missing file.
# Needs no root and no namespace.
NAME=test_cli
FWD=${1:?usage: test_cli.sh FWD_BINARY BUILD_DIR}
fails=0
ok() { echo "$NAME: ok: $*"; }
bad() { echo "$NAME: FAIL: $*"; fails=$((fails + 1)); }
T=$(mktemp -d /tmp/fwd-test-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT

for c in run check explain stats reload top block unblock apply confirm version; do
	out=$("$FWD" $c --help 2>&1)
	rc=$?
	n=$(printf '%s\n' "$out" | wc -l)
	if [ $rc = 0 ] && [ "$n" -ge 4 ] && [[ $out == usage:* ]]; then
		ok "fwd $c --help: exit 0, $n lines"
	else
		bad "fwd $c --help: exit $rc, $n lines: $(printf '%s' "$out" | head -n 1)"
	fi
done

out=$("$FWD" check --json rules/basic.yaml 2>&1)
rc=$?
[ $rc = 2 ] && [[ $out == *"unknown option '--json'"* ]] &&
	ok "fwd check --json FILE names the option (exit 2)" || bad "fwd check --json: exit $rc: $out"

out=$("$FWD" check - <rules/basic.yaml 2>&1)
rc=$?
[ $rc = 0 ] && [[ $out == "<stdin>: ok,"* ]] && ok "fwd check - reads standard input: $out" ||
	bad "fwd check - <rules/basic.yaml: exit $rc: $out"
out=$(printf 'version: 1\nrules:\n  - {name: x, proto: tcp, dport: 99999, action: allow}\n' |
	"$FWD" check - 2>&1)
rc=$?
[ $rc = 1 ] && [[ $out == "<stdin>:3:34: error: "* ]] && ok "fwd check - reports <stdin>:LINE:COL (exit 1)" ||
	bad "fwd check - with a bad port: exit $rc: $out"

"$FWD" check "$T/missing.yaml" >/dev/null 2>&1
crc=$?
out=$("$FWD" run -c "$T/missing.yaml" --no-hooks 2>&1)
rc=$?
[ $rc = 2 ] && [ $crc = 2 ] && ok "fwd run -c MISSING exits 2 like check: $out" ||
	bad "fwd run -c MISSING: exit $rc (check: $crc): $out"

if [ $fails = 0 ]; then echo "PASS $NAME"; exit 0; fi
echo "FAIL $NAME: $fails"
exit 1
