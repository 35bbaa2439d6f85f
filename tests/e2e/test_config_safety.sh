#!/bin/bash
# SPDX-License-Identifier: MIT
# test_config_safety.sh FWD BUILD_DIR - a reload of a rules file that is
# gone, unreadable, not a file, not text, cut in half or huge is refused:
# the old table stays whole (same rules, same verdicts), reloads.failed
# grows, the log says why, the reload never hangs and fwd's memory stays
# bounded. A good file afterwards still takes effect.
#
# The table in force allows tcp 2222 (rule "flip"); every broken file would
# drop it, so applying one even partly shows as a timeout.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222,2424
RULES="$T/rules.yaml"
R="$E2E_DIR/rules"
rules_put "$R/reload-allow.yaml" "$RULES"
fwd_start "$RULES"

failed() { stats "$T/s.json" >/dev/null && jget "$T/s.json" reloads.failed; }
failed_is() { [ "$(failed)" = "$1" ]; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$FWD_PID/status"; }
rule_names() {
	stats "$T/n.json" >/dev/null &&
		"$PY" -c 'import json,sys; print(",".join(r["name"] for r in json.load(open(sys.argv[1]))["rules"]))' "$T/n.json"
}

NFAIL=0
# Reload by SIGHUP (or `fwd reload` with "ctl") and assert it was refused
# with a log line matching ERE, the old table whole.
refused() {	# DESC ERE [ctl]
	local out rc t0
	NFAIL=$((NFAIL + 1))
	t0=$(now_ms)
	if [ "${3:-}" = ctl ]; then
		out=$(nsx g timeout 10 "$FWD" reload --socket "$SOCK" 2>&1)
		rc=$?
		assert_eq "$1: fwd reload exit status" 1 "$rc"
		if [[ $out =~ $2 ]]; then pass "$1: fwd reload says why"
		else fail "$1: fwd reload output: expected /$2/, got '$out'"; fi
	else
		fwd_hup
	fi
	wait_for 5 failed_is "$NFAIL"
	assert_eq "$1: reloads.failed" "$NFAIL" "$(failed)"
	assert_range "$1: refused within 3 s (ms)" 0 3000 $(($(now_ms) - t0))
	log_wait "$NFAIL" 'fwd: reload failed, keeping the old rules:'
	assert_grep "$1: the log names the problem" "$RULES: error: $2|$2" "$FWD_LOG"
	assert_eq "$1: rules in force" "flip,steady,icmpv6" "$(rule_names)"
	assert_eq "$1: tcp 2222 still allowed" "fwd-e2e tcp 2222" "$(client tcp 10.10.2.2 2222 --timeout 2)"
}

# A drop of 2222 first, then a half rule: a parser that applied what it
# read before the error would drop 2222.
cat >"$T/cut.yaml" <<'EOF'
version: 1
default: drop
log: none
rules:
  - name: flip
    proto: tcp
    dport: 2222
    action: drop
  - name: steady
    proto: tcp
    dport: 2424
    action: allow
  - name: icmpv6
    proto: icmpv6
    action: allow
EOF

rss0=$(rss_kb)
assert_eq "rules in force at start" "flip,steady,icmpv6" "$(rule_names)"

rm -f "$RULES"
refused "deleted" "cannot open: No such file or directory"

mkdir "$RULES"
refused "a directory" "is a directory" ctl
rmdir "$RULES"

# fwd keeps only CAP_NET_ADMIN and CAP_NET_RAW, so mode 000 stops it even
# though it runs as root.
cp "$R/reload-drop.yaml" "$RULES"
chmod 000 "$RULES"
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$FWD_PID/status")
if (( (0x$capeff >> 1) & 1 )); then
	say "note: fwd holds CAP_DAC_OVERRIDE (CapEff $capeff); mode 000 not tested"
else
	refused "mode 000" "cannot open: Permission denied"
fi
rm -f "$RULES"

# A FIFO nobody writes to: the reload must neither block nor wait.
mkfifo "$RULES"
refused "a FIFO" "is not a regular file" ctl
assert_eq "fwd stats answers after the FIFO" 0 "$(nsx g timeout 5 "$FWD" stats --socket "$SOCK" >/dev/null 2>&1; echo $?)"
rm -f "$RULES"

# Binary after a rule that drops 2222: invalid UTF-8, then a NUL byte.
{ head -n 9 "$T/cut.yaml"; printf '  - name: \377\376bad\n    \0\0\0\n'; } >"$RULES.tmp"
mv -f "$RULES.tmp" "$RULES"
refused "invalid UTF-8" "YAML syntax error: invalid leading UTF-8 octet"
{ head -n 9 "$T/cut.yaml"; printf '  - name: x\0\n'; } >"$RULES.tmp"
mv -f "$RULES.tmp" "$RULES"
refused "a NUL byte" "YAML syntax error: control characters are not allowed" ctl

# Half of a valid file, as a writer that was interrupted leaves it: cut in
# the middle of the rule "steady" ("proto: tc").
size=$(stat -c %s "$T/cut.yaml")
half=$(($(grep -bo 'proto: tcp' "$T/cut.yaml" | sed -n 2p | cut -d: -f1) + 9))
assert_range "the cut is near the middle" $((size / 3)) $((size * 2 / 3)) "$half"
head -c "$half" "$T/cut.yaml" >"$RULES.tmp"
mv -f "$RULES.tmp" "$RULES"
refused "truncated mid-write" "unknown protocol 'tc'"
refused "truncated mid-write, fwd reload" "unknown protocol 'tc'" ctl

# A symlink to a sparse 1 GiB file: refused by its size, nothing read.
truncate -s 1G "$T/huge"
ln -sf "$T/huge" "$RULES"
refused "symlink to a 1 GiB file" "file is larger than [0-9]+ bytes"
refused "symlink to a 1 GiB file, fwd reload" "file is larger than [0-9]+ bytes" ctl
rm -f "$RULES" "$T/huge"

rss1=$(rss_kb)
say "VmRSS ${rss0} kB at start, ${rss1} kB after $NFAIL refused reloads"
assert_range "RSS grew by at most 8 MiB (kB)" 0 8192 $((rss1 > rss0 ? rss1 - rss0 : 0))

# A good file still takes effect.
rules_put "$T/cut.yaml" "$RULES"
out=$(nsx g timeout 10 "$FWD" reload --socket "$SOCK" 2>&1)
assert_eq "a good file after the failures" "ok: 3 rules" "$out"
assert_eq "tcp 2222 now dropped" timeout "$(client tcp 10.10.2.2 2222 --timeout 1)"
assert_eq "tcp 2424 still allowed" "fwd-e2e tcp 2424" "$(client tcp 10.10.2.2 2424)"
assert_eq "reloads ok, failed" "1 $NFAIL" "$(stats "$T/s.json" && jget "$T/s.json" reloads.ok reloads.failed | tr '\n' ' ' | sed 's/ $//')"

fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
