#!/bin/sh
# SPDX-License-Identifier: MIT
# reload_mem.sh [BUILD_DIR] - the memory of a daemon reload at 100,000 rules.
#
# Writes scale_bench's 100,000-rule file, starts `fwd run --no-hooks` on it
# in a network namespace of its own, reads VmHWM and VmRSS from
# /proc/PID/status once it has started, resets the peak (clear_refs 5),
# sends SIGHUP, waits for the reload's log line and reads them again. Also
# `fwd check`'s CPU time and peak RSS on the file and the compiled table's
# memory, and the daemon's VmRSS on a one-rule file (what it holds without
# the rules: its libraries' pages, the queue's buffers). Prints one markdown
# row; needs root (the namespace) and a kernel with nfnetlink_queue. Target
# (issue 18): the reload's peak under twice the table plus the file; and
# the same for what the reload adds to a daemon without rules, against two
# rule sets at rest and the file.
set -u
B=${1:-build}
FWD=$(cd "$B" && pwd)/fwd
SB=$B/bench/scale_bench
NS=fwd-mem-$$
T=$(mktemp -d /tmp/fwd-reload-mem.XXXXXX)
PID=

cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "${KEEPLOG:-}" ] && cp "$T/log" "$KEEPLOG"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "SKIP reload_mem: needs root"; exit 77; }
[ -x "$FWD" ] && [ -x "$SB" ] || { echo "reload_mem: build $B/fwd and $SB first" >&2; exit 1; }

kib() {	# FIELD: its value in /proc/$PID/status, KiB
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$PID/status"
}
wait_log() {	# TEXT: wait up to 120 s for it in the daemon's log
	i=0
	while ! grep -q "$1" "$T/log"; do
		i=$((i + 1))
		[ $i -gt 1200 ] && { echo "reload_mem: no '$1' in the log:" >&2; cat "$T/log" >&2; exit 1; }
		kill -0 "$PID" 2>/dev/null || { echo "reload_mem: fwd died:" >&2; cat "$T/log" >&2; exit 1; }
		sleep 0.1
	done
}

"$SB" --rules "$T/rules.yaml" || exit 1
file=$(stat -c %s "$T/rules.yaml")
table=$("$SB" --table "$T/rules.yaml") || exit 1
/usr/bin/time -f '%U %S %M' -o "$T/time" "$FWD" check "$T/rules.yaml" >/dev/null 2>&1 ||
	{ echo "reload_mem: fwd check failed" >&2; exit 1; }
read -r cu cs cm <"$T/time"

start() {	# FILE: fwd run on it, in the namespace; waits until it has started
	ip netns exec "$NS" "$FWD" run -c "$1" --foreground --no-hooks \
		--socket "$T/sock" >"$T/log" 2>&1 &
	PID=$!
	wait_log "started:"
}

ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
printf 'version: 1\nrules:\n  - {name: one, dport: 22, action: allow}\n' >"$T/one.yaml"
start "$T/one.yaml"
base=$(kib VmRSS)
kill "$PID" && wait "$PID" 2>/dev/null
start "$T/rules.yaml"
hwm0=$(kib VmHWM)
rss0=$(kib VmRSS)
echo 5 >"/proc/$PID/clear_refs"	# VmHWM := VmRSS
kill -HUP "$PID"
wait_log "reloaded rules"
hwm1=$(kib VmHWM)
rss1=$(kib VmRSS)

target=$(awk -v t="$table" -v f="$file" 'BEGIN { printf "%.0f", 2 * t + f / 1048576 }')
echo "| rules | file | table | \`fwd check\` CPU, peak RSS | one-rule daemon | after start: VmHWM, VmRSS | reload: VmHWM, then VmRSS | target |"
echo "|------:|-----:|------:|----------:|----------:|----------:|----------:|-------:|"
awk -v f="$file" -v t="$table" -v cu="$cu" -v cs="$cs" -v cm="$cm" -v h0="$hwm0" -v r0="$rss0" \
    -v h1="$hwm1" -v r1="$rss1" -v g="$target" -v b="$base" 'BEGIN {
	printf "| 100,000 | %.1f MiB | %.1f MiB | %.2f s, %.0f MiB | %.0f MiB | %.0f, %.0f MiB | %.0f, %.0f MiB | < %d MiB: %s |\n",
		f / 1048576, t, cu + cs, cm / 1024, b / 1024, h0 / 1024, r0 / 1024, h1 / 1024,
		r1 / 1024, g, h1 / 1024 < g ? "met" : "MISSED"
}'
# The same target for what the reload itself adds: the peak less what the
# daemon holds without rules, against two rule sets as they rest (each the
# table and its counters) and the file.
awk -v f="$file" -v r0="$rss0" -v h1="$hwm1" -v b="$base" 'BEGIN {
	own = (h1 - b) / 1024; set = (r0 - b) / 1024; g = 2 * set + f / 1048576
	printf "\nreload'"'"'s own: %.0f MiB (the peak less the one-rule daemon) against %.0f MiB (two rule sets of %.0f MiB at rest, and the file): %s\n",
		own, g, set, own < g ? "met" : "MISSED"
}'
