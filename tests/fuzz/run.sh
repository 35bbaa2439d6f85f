#!/bin/sh
# Build every tests/fuzz/fuzz_NAME.c with clang -fsanitize=fuzzer,address,undefined
# against the library sources it needs into build/fuzz/, then run each for
# SECONDS (default 60) on a scratch copy of tests/fuzz/corpus/NAME/.
# Fails on any crash, leak or sanitizer report.
set -eu
SECONDS_EACH=${1:-60}
cd "$(dirname "$0")/../.."
OUT=build/fuzz
mkdir -p "$OUT"
# The packet-path and config stages only: no daemon, no kernel hooks, no main.
LIBSRC=""
for f in diag rules compile classify explain packet; do
	[ -f "fwd/$f.c" ] && LIBSRC="$LIBSRC fwd/$f.c"
done
PKGFLAGS=$(pkg-config --cflags --libs yaml-0.1 2>/dev/null || echo -lyaml)
CFLAGS="-std=c11 -g -O1 -fno-omit-frame-pointer -Iinclude -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
fail=0
for src in tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	bin="$OUT/fuzz_$name"
	echo "fuzz: building $bin"
	# shellcheck disable=SC2086
	clang $CFLAGS -o "$bin" "$src" $LIBSRC $PKGFLAGS
	work="$OUT/corpus-$name"
	rm -rf "$work"
	mkdir -p "$work"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -r "tests/fuzz/corpus/$name/." "$work/"
	fi
	echo "fuzz: running $bin for ${SECONDS_EACH}s"
	if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" -max_total_time="$SECONDS_EACH" -max_len=8192 -artifact_prefix="$OUT/$name-" \
		-print_final_stats=1 "$work" >"$OUT/$name.log" 2>&1; then
		echo "fuzz: $name FAILED, see $OUT/$name.log" >&2
		tail -40 "$OUT/$name.log" >&2
		fail=1
	else
		grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$OUT/$name.log" | tail -1
	fi
done
[ "$fail" -eq 0 ] && echo "fuzz: all targets passed"
exit "$fail"
