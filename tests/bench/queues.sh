#!/bin/sh
# queues.sh BUILD_DIR [--quick] - fwd's every-packet UDP rows with 1, 2, 4 and 8
# queues, in one run of the end-to-end benchmark (tests/bench/e2e.sh), for a
# machine with enough CPUs to show scaling across queues (the gateway gets
# CPUs 1..N-1; 8 queues want at least 9 CPUs). Only those rows run; the table
# goes to stdout and BUILD_DIR/bench/e2e.md, to be recorded in
# tests/bench/BENCHMARKS.md. QUEUES="1 2 4 8 16" overrides the counts.
set -u
[ $# -ge 1 ] || { echo "usage: queues.sh BUILD_DIR [--quick]" >&2; exit 2; }
B=$1
shift
QUEUES=${QUEUES:-1 2 4 8}
NCPU=$(nproc 2>/dev/null || echo 1)
for q in $QUEUES; do
	[ "$q" -lt "$NCPU" ] ||
		echo "queues.sh: $q queues on $((NCPU - 1)) gateway CPU(s): that row shows contention, not scaling" >&2
done
ROWS=""
for q in $QUEUES; do
	ROWS="$ROWS q$q"
done
E2E_QUEUES=$QUEUES E2E_ROWS=${ROWS# } exec sh "$(dirname "$0")/e2e.sh" "$B" "$@"
