#!/bin/sh
# Run the benchmarks the Makefile built into $1/bench/ (default build).
# Each prints a markdown table; classify_bench also writes $1/bench/classify.md.
set -eu
B=${1:-build}
[ -x "$B/bench/classify_bench" ] || { echo "run.sh: $B/bench/classify_bench not built; run make bench" >&2; exit 2; }
echo "## classify ($(nproc) CPUs, one core used)"
"$B/bench/classify_bench" "$B/bench/classify.md"
echo "table written to $B/bench/classify.md"
