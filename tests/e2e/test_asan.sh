#!/bin/bash
# SPDX-License-Identifier: MIT
# test_asan.sh FWD BUILD_DIR - the end-to-end suite again with the ASan/UBSan
# build of fwd.
#
# Uses build/asan/fwd (made by `make asan`), or FWD_ASAN if set; SKIP when
# it is absent. Every test_*.sh runs with it except those listed in SKIP_ASAN
# below, each with its reason. The sanitizers write their reports to files
# (log_path) in a directory of this test rather than to fwd's stderr, so a
# report is caught whether it came from the daemon or from a client command
# (`fwd stats`, `fwd reload`, ...), and whether or not the test itself
# searches its log: any report file fails this test and is printed.
# exitcode=99 also fails a test's check of fwd's exit status after SIGTERM
# when LeakSanitizer finds a leak. ASAN_E2E_ONLY runs only the tests whose
# names match a pattern. About 7 minutes on 2 CPUs (the suite is about 5 with the
# normal build); run.sh reads the limit below.
# e2e-timeout: 900
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
HERE=$(cd "$(dirname "$0")" && pwd)
ASAN_FWD=${FWD_ASAN:-"$(cd "$HERE/../.." && pwd)/build/asan/fwd"}
LIMIT=${E2E_TIMEOUT:-120}
if [ ! -x "$ASAN_FWD" ]; then
	echo "SKIP test_asan: $ASAN_FWD not built (make asan)"
	exit 77
fi

# Tests that cannot work with the ASan binary, and why.
declare -A SKIP_ASAN=(
	[test_asan]="this test"
	[test_priv]="expects Seccomp: 2; a sanitizer build never loads the seccomp filter (LeakSanitizer's ptrace-attached clone is outside the allow-list, fwd/priv.c FWD_SANITIZED)"
	[test_valgrind]="runs fwd under valgrind memcheck, which cannot run an ASan binary (shadow memory); it is the other memory checker"
	[test_deb]="packages BUILD_DIR's binary with \`make B=BUILD_DIR deb\`: a release artifact, not a sanitizer build, and make could rebuild build/asan without the sanitizer flags"
)

REPORTS=$(mktemp -d /tmp/fwd-e2e-asan.XXXXXX)
trap 'rm -rf "$REPORTS"' EXIT
# Reports go to $REPORTS/asan.PID and $REPORTS/ubsan.PID. A 4 MiB quarantine
# (default 256 MiB) for the tests that bound fwd's RSS (test_config_safety:
# 8 MiB over ten refused reloads): freed memory held back to catch a late use
# stays resident, and with the default the bound measures ASan, not fwd.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99:quarantine_size_mb=4}:log_path=$REPORTS/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}:log_path=$REPORTS/ubsan"

rc=0 n=0 failed=()
for t in "$HERE"/test_*.sh; do
	name=$(basename "$t" .sh)
	if [ -n "${SKIP_ASAN[$name]:-}" ]; then
		[ "$name" = test_asan ] || echo "test_asan: $name not run: ${SKIP_ASAN[$name]}"
		continue
	fi
	if [ -n "${ASAN_E2E_ONLY:-}" ] && [[ ! $name =~ $ASAN_E2E_ONLY ]]; then
		continue
	fi
	start=$(date +%s)
	timeout -k 10 "$LIMIT" bash "$t" "$ASAN_FWD" "$(dirname "$ASAN_FWD")" \
		>"$REPORTS/out" 2>&1 </dev/null
	r=$?
	secs=$(($(date +%s) - start))
	found=$(find "$REPORTS" -name 'asan.*' -o -name 'ubsan.*' | sort)
	if [ -n "$found" ]; then
		echo "test_asan: $name: sanitizer report(s):"
		for f in $found; do
			sed 's/^/    | /' "$f" | head -n 60
			mv "$f" "$REPORTS/seen.$(basename "$f")"
		done
		[ "$r" = 0 ] && r="0 but sanitizer reports"
	fi
	echo "test_asan: $name with $ASAN_FWD: exit $r (${secs}s)"
	case $r in
	0) n=$((n + 1)) ;;
	77) grep -m1 '^SKIP' "$REPORTS/out" | sed 's/^/    /' ;;
	*)
		sed 's/^/    /' "$REPORTS/out"
		rc=1
		failed+=("$name")
		;;
	esac
done
echo "test_asan: $n passed with $ASAN_FWD${failed[*]:+, failed: ${failed[*]}}"
[ "$rc" = 0 ] && [ "$n" = 0 ] && rc=77
exit $rc
