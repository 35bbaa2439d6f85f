#!/bin/bash
# SPDX-License-Identifier: MIT
# test_asan.sh FWD BUILD_DIR - test_ports.sh and test_malformed.sh again with
# the ASan/UBSan build.
#
# Uses build/asan/fwd (made by `make asan`), or FWD_ASAN if set; SKIP when
# it is absent. The sanitizers write to fwd's stderr, which is the log file
# both tests search for reports; exitcode=99 also fails their check of fwd's
# exit status after SIGTERM when LeakSanitizer finds a leak.
HERE=$(cd "$(dirname "$0")" && pwd)
ASAN_FWD=${FWD_ASAN:-"$(cd "$HERE/../.." && pwd)/build/asan/fwd"}
if [ ! -x "$ASAN_FWD" ]; then
	echo "SKIP test_asan: $ASAN_FWD not built (make asan)"
	exit 77
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
rc=0
for t in test_ports test_malformed; do
	bash "$HERE/$t.sh" "$ASAN_FWD" "$(dirname "$ASAN_FWD")"
	r=$?
	echo "test_asan: $t with $ASAN_FWD: exit $r"
	case $r in 0) ;; 77) [ $rc != 0 ] || rc=77 ;; *) rc=1 ;; esac
done
exit $rc
