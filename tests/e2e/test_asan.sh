#!/bin/bash
# SPDX-License-Identifier: MIT
# test_asan.sh FWD BUILD_DIR - test_ports.sh again with the ASan/UBSan build.
#
# Uses build/asan/fwd (made by `make asan`); SKIP when it is absent. The
# sanitizers write to fwd's stderr, which is the log file test_ports.sh
# checks for reports; exitcode makes a leak or error also fail the exit
# status check.
HERE=$(cd "$(dirname "$0")" && pwd)
ASAN_FWD="$HERE/../../build/asan/fwd"
if [ ! -x "$ASAN_FWD" ]; then
	echo "SKIP test_asan: $ASAN_FWD not built (make asan)"
	exit 77
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec bash "$HERE/test_ports.sh" "$ASAN_FWD" "$(dirname "$ASAN_FWD")"
