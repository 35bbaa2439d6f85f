#!/bin/sh
# Run the benchmarks the Makefile built into $1/bench/ (default build).
# Each prints a markdown table; classify_bench also writes $1/bench/classify.md.
set -eu
B=${1:-build}
[ -x "$B/bench/classify_bench" ] || { echo "run.sh: $B/bench/classify_bench not built; run make bench" >&2; exit 2; }
echo "## classify ($(nproc) CPUs, one core used)"
"$B/bench/classify_bench" "$B/bench/classify.md"
echo "table written to $B/bench/classify.md"

# End to end through the kernel's NFQUEUE path in namespaces: fwd against the
# bare one-verdict-per-packet program and the kernel alone. BENCH_QUICK=1 for
# a short run; it writes $B/bench/e2e.md.
echo
echo "## end to end ($(nproc) CPUs)"
if [ -n "${BENCH_QUICK:-}" ]; then
	sh tests/bench/e2e.sh "$B" --quick
else
	sh tests/bench/e2e.sh "$B"
fi
cat "$B/bench/classify.md" "$B/bench/e2e.md" > "$B/bench/BENCHMARKS.md" 2>/dev/null || true
echo "both tables written to $B/bench/BENCHMARKS.md"
