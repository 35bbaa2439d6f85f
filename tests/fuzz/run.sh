#!/bin/sh
# run.sh [SECONDS] [NAME...] - build every tests/fuzz/fuzz_NAME.c (or only the
# NAMEs given) with clang -fsanitize=fuzzer,address,undefined against the
# library sources it needs into build/fuzz/, then run each for SECONDS
# (default 60) on a scratch copy of tests/fuzz/corpus/NAME/.
# Fails on any crash, leak or sanitizer report. FUZZ_JOBS=N runs up to N
# targets at once (default 1); FUZZ_OUT overrides build/fuzz.
set -eu
SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/../.."
OUT=${FUZZ_OUT:-build/fuzz}
JOBS=${FUZZ_JOBS:-1}
mkdir -p "$OUT"
# The library: every file of fwd/ but main.c. The loader and the compiler
# are spread over many files; naming them here went stale as they grew.
LIB=$(ls fwd/*.c | grep -v '^fwd/main\.c$' | tr '\n' ' ')
# Its packages, as the Makefile names them.
PKGS=$(sed -n 's/^PKGS *:= *//p' Makefile)
[ -n "$PKGS" ] || { echo "fuzz: no PKGS line in the Makefile" >&2; exit 1; }
CFLAGS="-std=c11 -g -O1 -fno-omit-frame-pointer -Iinclude -Itests/lib -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

targets=""
if [ $# -gt 0 ]; then
	targets="$*"
else
	for src in tests/fuzz/fuzz_*.c; do
		[ -e "$src" ] || continue
		name=$(basename "$src" .c)
		targets="$targets ${name#fuzz_}"
	done
fi

build() {	# NAME
	bin="$OUT/fuzz_$1"
	srcs="$LIB" libs="$(pkg-config --cflags --libs $PKGS) -lpthread"
	[ "$1" = diff ] && srcs="$srcs tests/lib/oracle.c"
	echo "fuzz: building $bin"
	# shellcheck disable=SC2086
	clang $CFLAGS -o "$bin" "tests/fuzz/fuzz_$1.c" $srcs $libs
}

# Run NAME; the last stats line on success, the log's tail on failure.
run() {	# NAME
	bin="$OUT/fuzz_$1"
	work="$OUT/corpus-$1"
	rm -rf "$work"
	mkdir -p "$work"
	if [ -d "tests/fuzz/corpus/$1" ]; then
		cp -r "tests/fuzz/corpus/$1/." "$work/"
	fi
	echo "fuzz: running $bin for ${SECONDS_EACH}s"
	if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" -max_total_time="$SECONDS_EACH" -max_len=8192 -timeout=25 \
		-artifact_prefix="$OUT/$1-" -print_final_stats=1 "$work" >"$OUT/$1.log" 2>&1; then
		echo "fuzz: $1 FAILED, see $OUT/$1.log" >&2
		tail -40 "$OUT/$1.log" >&2
		return 1
	fi
	printf 'fuzz: %s: ' "$1"
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE' "$OUT/$1.log" |
		tr '\n' ' '
	echo
}

for t in $targets; do
	build "$t"
done
fail=0
running=0
pids=""
for t in $targets; do
	run "$t" &
	pids="$pids $!"
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		for p in $pids; do wait "$p" || fail=1; done
		pids=""
		running=0
	fi
done
for p in $pids; do wait "$p" || fail=1; done
[ "$fail" -eq 0 ] && echo "fuzz: all targets passed"
exit "$fail"
