#!/bin/bash
# SPDX-License-Identifier: MIT
# run.sh FWD_BINARY [BUILD_DIR] - run every tests/e2e/test_*.sh against FWD.
#
# Each test runs with a time limit and its own namespaces; exit 0 is a pass,
# 77 a skip, anything else a failure. Ends with exactly one summary line
# "e2e: N passed, N failed, N skipped" and exits 1 if any test failed. When
# the machine cannot run them (not root, no network namespaces, no NFQUEUE)
# every test is reported as SKIP with the reason; none passes silently.
# E2E_TIMEOUT overrides the per-test limit (seconds; a test that runs others,
# like test_asan.sh, declares its own in a line "# e2e-timeout: SECONDS"),
# E2E_ONLY runs the tests whose names match a bash regex ('^test_(top|reload)$'),
# E2E_VERBOSE=1 shows passing tests' output.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

if [ $# -lt 1 ]; then
	echo "usage: $0 FWD_BINARY [BUILD_DIR]" >&2
	exit 2
fi
FWD=$1
BUILD_DIR=${2:-$(dirname "$1")}
case $FWD in /*) ;; *) FWD="$PWD/$FWD" ;; esac
case $BUILD_DIR in /*) ;; *) BUILD_DIR="$PWD/$BUILD_DIR" ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
LIMIT=${E2E_TIMEOUT:-120}

# e2e_unavailable() lives in lib.sh; sourcing it defines functions only.
TEST_NAME=run
. "$HERE/lib.sh"
why=$(e2e_unavailable)

passed=0 failed=0 skipped=0
out=$(mktemp /tmp/fwd-e2e-run.XXXXXX)
# The failed assertions again at the end, where a log's tail shows them.
summary=$(mktemp /tmp/fwd-e2e-sum.XXXXXX)
trap 'rm -f "$out" "$summary"' EXIT

for t in "$HERE"/test_*.sh; do
	name=$(basename "$t" .sh)
	if [ -n "${E2E_ONLY:-}" ] && [[ ! $name =~ $E2E_ONLY ]]; then
		continue
	fi
	if [ -n "$why" ]; then
		echo "SKIP $name: $why"
		skipped=$((skipped + 1))
		continue
	fi
	start=$(date +%s)
	limit=$(sed -n 's/^# e2e-timeout: \([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
	limit=${limit:-$LIMIT}
	E2E_PREFLIGHT_OK=1 timeout -k 10 "$limit" bash "$t" "$FWD" "$BUILD_DIR" >"$out" 2>&1 </dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	# A helper that no longer exists does not stop a test: catch it here.
	if [ $rc = 0 ] && grep -q ': command not found$' "$out"; then
		echo "run.sh: a command the test runs does not exist (above)" >>"$out"
		rc=1
	fi
	case $rc in
	0)
		echo "PASS $name (${secs}s)"
		[ -z "${E2E_VERBOSE:-}" ] || sed 's/^/    /' "$out"
		passed=$((passed + 1))
		;;
	77)
		reason=$(grep -m1 '^SKIP' "$out" | sed 's/^SKIP [^:]*: //')
		echo "SKIP $name: ${reason:-no reason given}"
		skipped=$((skipped + 1))
		;;
	*)
		[ $rc = 124 ] && note="timed out after ${limit}s" || note="exit $rc"
		echo "FAIL $name (${secs}s, $note)"
		sed 's/^/    /' "$out"
		failed=$((failed + 1))
		{
			echo "FAIL $name ($note):"
			grep -E ': FAIL: |terminated|sanitizer report|exit [0-9]+ \(' "$out" |
				grep -v ': exit 0 (' | head -n 12 | sed 's/^ */    /'
		} >>"$summary"
		;;
	esac
done

cat "$summary"
echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
