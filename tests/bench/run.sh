#!/bin/sh
# Run the benchmarks the Makefile built into $1/bench/ (default build).
# Each prints a markdown table; classify_bench also writes $1/bench/classify.md,
# scale_bench $1/bench/scale.md.
# The machine, both tables and the run's duration are joined into
# $1/bench/BENCHMARKS.md (tests/bench/BENCHMARKS.md is the committed copy of one).
set -eu
B=${1:-build}
[ -x "$B/bench/classify_bench" ] || { echo "run.sh: $B/bench/classify_bench not built; run make bench" >&2; exit 2; }
start=$(date +%s)

# What the figures were measured on; the load says how much else was running.
machine() {
	echo "## Machine"
	echo
	echo "- CPUs: $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sort | uniq -c |
		awk '{ n = $1; $1 = ""; printf "%s%d x%s", sep, n, $0; sep = ", " }')"
	echo "- kernel: $(uname -r)"
	echo "- load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- run: $(date -u '+%Y-%m-%d %H:%M UTC'), make bench$([ -n "${BENCH_QUICK:-}" ] && echo " with BENCH_QUICK=1")"
	echo
}
machine >"$B/bench/machine.md"
cat "$B/bench/machine.md"

echo "## classify ($(nproc) CPUs, one core used)"
"$B/bench/classify_bench" "$B/bench/classify.md"
echo "table written to $B/bench/classify.md"

# 100,000 rules and a 1,000,000-prefix set file: `fwd check`'s time and peak
# memory, compile time, lookups/s. Writes $B/bench/scale.md.
echo
echo "## scale ($(nproc) CPUs, one core used)"
"$B/bench/scale_bench" "$B/bench/scale.md" "$B/fwd"

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
{
	cat "$B/bench/machine.md"
	echo "## Classifier (tests/bench/classify_bench.c, one core)"
	echo
	cat "$B/bench/classify.md"
	echo
	echo "## Scale: 100,000 rules, a 1,000,000-prefix set file (tests/bench/scale_bench.c)"
	echo
	cat "$B/bench/scale.md"
	echo
	cat "$B/bench/e2e.md"
	echo
	echo "make bench took $(($(date +%s) - start)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} >"$B/bench/BENCHMARKS.md" 2>/dev/null || true
echo "both tables written to $B/bench/BENCHMARKS.md"
