#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/system/run.sh BUILD_DIR - fwd's package under a real systemd.
#
# `make check-system`. Builds the .deb (`make deb`), makes (once, cached in
# BUILD_DIR/system/rootfs-bookworm) a minimal Debian bookworm root with
# debootstrap, including Debian's prometheus-node-exporter, and boots it
# with systemd-nspawn in a network namespace of its own. Inside, a oneshot
# unit runs inside.sh, which installs the package and drives it with
# systemctl (enable --now, reload, a bad file, reject answers, CrowdSec,
# the watchdog, restart, kill -9, logrotate, stop, upgrade, a reboot, remove,
# purge), then powers the container off. The transcript of every step, with what
# systemd reported, is printed here.
#
# The mirror is the host's apt source (FWD_MIRROR overrides it). Exit 0
# pass, 1 fail, 77 skip (no root, no debootstrap/systemd-nspawn, no mirror,
# or a container that cannot boot here).

NAME=check-system
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/system
case $B in /*) ;; *) B=$ROOT/$B ;; esac
S=$B/system
CACHE=$S/rootfs-bookworm
# What the root needs beyond minbase: systemd as init, iptables (fwd's
# hooks), fwd's libraries (the container has no network to fetch them),
# node_exporter and curl to read its port, iproute2 and procps to look,
# logrotate for the package's rotation of the file sink, SQLite for the
# CrowdSec LAPI (its binaries come from build/debs/crowdsec: test_crowdsec.sh),
# iptables-persistent for the operator's own rules restored beside fwd's.
INCLUDE=systemd,systemd-sysv,dbus,iptables,iptables-persistent,iproute2,procps,curl,prometheus-node-exporter,logrotate,libsqlite3-0,libnetfilter-queue1,libmnl0,libyaml-0-2,liburcu8,libcap-ng0,libseccomp2
BOOT_TIMEOUT=${FWD_SYSTEM_TIMEOUT:-180}

skip() { echo "SKIP $NAME: $*"; exit 77; }
fail() { echo "FAIL $NAME: $*"; exit 1; }
say() { echo "$NAME: $*"; }

[ "$(id -u)" = 0 ] || skip "not root"
for t in debootstrap systemd-nspawn dpkg-buildpackage; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not found (packaging/deps.sh installs it)"
done

# The first Debian (not security) mirror apt uses: deb822 URIs: or a deb line.
mirror() {
	local m
	m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' | grep -v security | head -n 1)
	[ -n "$m" ] || m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' |
		grep -v security | head -n 1)
	echo "${m:-http://deb.debian.org/debian}"
}

# The unit that runs inside.sh at boot, baked into the cached root.
bake_runner() {
	local r=$1
	cat >"$r/etc/systemd/system/fwd-system-test.service" <<'UNIT'
[Unit]
Description=fwd system test (tests/system/inside.sh)
After=multi-user.target
ConditionPathExists=/share/inside.sh

[Service]
Type=oneshot
ExecStart=/bin/bash /share/inside.sh /share/transcript
ExecStopPost=/bin/systemctl poweroff --no-block

[Install]
WantedBy=multi-user.target
UNIT
	mkdir -p "$r/etc/systemd/system/multi-user.target.wants" "$r/share"
	ln -sf /etc/systemd/system/fwd-system-test.service \
		"$r/etc/systemd/system/multi-user.target.wants/fwd-system-test.service"
	# No console login prompts to wait for, no hostname from the host.
	echo fwd-system-test >"$r/etc/hostname"
}

make_rootfs() {
	local m t0
	[ "$(cat "$CACHE/.fwd-system-rootfs" 2>/dev/null)" = "$INCLUDE" ] && return 0
	m=${FWD_MIRROR:-$(mirror)}
	say "debootstrap bookworm from $m (cached in $CACHE)"
	t0=$(date +%s)
	rm -rf "$CACHE" "$CACHE.tmp"
	mkdir -p "$S"
	if ! debootstrap --variant=minbase --include="$INCLUDE" bookworm "$CACHE.tmp" "$m" \
		>"$S/debootstrap.log" 2>&1; then
		tail -n 5 "$S/debootstrap.log" | sed 's/^/    | /'
		rm -rf "$CACHE.tmp"
		skip "debootstrap from $m failed (see $S/debootstrap.log)"
	fi
	bake_runner "$CACHE.tmp"
	echo "$INCLUDE" >"$CACHE.tmp/.fwd-system-rootfs"
	mv "$CACHE.tmp" "$CACHE"
	say "root made in $(($(date +%s) - t0)) s"
}

T0=$(date +%s)
mkdir -p "$S"
make -C "$ROOT" --no-print-directory B="$B" deb >"$S/deb.log" 2>&1 ||
	{ tail -n 20 "$S/deb.log"; fail "make deb failed"; }
deb=$(sed -n 's/^make deb: built \(.*\.deb\)$/\1/p' "$S/deb.log" | tail -n 1)
[ -f "$deb" ] || fail "make deb named no package"
make_rootfs

# A fresh copy of the cached root for each run: what the run installs and
# purges never reaches the cache.
RUN=$S/run
rm -rf "$RUN" "$S/share" "$S/console.log"
cp -a "$CACHE" "$RUN" || fail "cannot copy $CACHE"
mkdir -p "$S/share"
cp "$HERE/inside.sh" "$S/share/inside.sh"
cp "$ROOT/tests/e2e/crowdsec_lapi.sh" "$S/share/"
cp "$deb" "$S/share/fwd.deb"

say "booting $RUN with systemd-nspawn (private network, timeout ${BOOT_TIMEOUT}s)"
# Debian's crowdsec, unpacked by tests/e2e/test_crowdsec.sh, read-only.
cs=()
[ -x "$B/debs/crowdsec/root/usr/bin/crowdsec" ] && cs=(--bind-ro="$B/debs/crowdsec/root:/crowdsec")
# The unified cgroup hierarchy, CAP_BPF and bpf() let the container's systemd
# attach its cgroup BPF programs, as it does on a Debian host: the unit's
# IPAddressDeny= and PrivateDevices='s device policy are then enforced, not
# skipped.
# inside.sh reboots the container once: nspawn then exits with 133, and the
# container is booted again, as systemd-nspawn@.service would.
for boot in 1 2; do
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 \
	timeout "$BOOT_TIMEOUT" systemd-nspawn --register=no --keep-unit --quiet --boot \
		--directory="$RUN" --private-network --bind="$S/share:/share" \
		--capability=CAP_BPF --system-call-filter=bpf "${cs[@]}" \
		--console=pipe </dev/null >>"$S/console.log" 2>&1
	rc=$?
	[ $rc = 133 ] || break
	say "the container rebooted; booting it again"
done
if [ ! -s "$S/share/transcript" ]; then
	sed 's/^/    | /' "$S/console.log" | tail -n 20
	[ $rc = 124 ] && fail "the container did not finish within ${BOOT_TIMEOUT}s"
	skip "systemd-nspawn could not boot the container here (exit $rc)"
fi
cat "$S/share/transcript"
rm -rf "$RUN"
grep -q '^RESULT ' "$S/share/transcript" ||
	fail "the transcript ends before its result (nspawn exit $rc; see $S/console.log)"
nf=$(grep -c '^FAIL ' "$S/share/transcript")
[ "$nf" = 0 ] || fail "$nf step(s) failed ($(($(date +%s) - T0)) s)"
# A step that could not run here says "SKIP this step: why"; the pass says so.
ns=$(grep -c '^SKIP ' "$S/share/transcript")
echo "PASS $NAME: $(grep -c '^ok ' "$S/share/transcript") checks under systemd in $(($(date +%s) - T0)) s$(
	[ "$ns" = 0 ] || echo ", $ns step(s) skipped ($(sed -n 's/^SKIP this step: //p' "$S/share/transcript" | paste -sd ';'))")"
