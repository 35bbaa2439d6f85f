#!/bin/bash
# SPDX-License-Identifier: MIT
# test_deb.sh FWD_BINARY BUILD_DIR - `make deb` builds a package that works.
#
# Builds build/fwd_VERSION_ARCH.deb from BUILD_DIR's binary, unpacks it
# into a scratch root, and checks what an installed system would see: the
# files are where the unit and the man pages say, /etc files are conffiles,
# the packaged fwd accepts the packaged /etc/fwd/rules.yaml, the unit names
# the packaged binary, and both man pages render without a warning.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

NAME=test_deb
FWD=${1:?usage: test_deb.sh FWD_BINARY BUILD_DIR}
BUILD_DIR=${2:-$(dirname "$FWD")}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

skip() { echo "SKIP $NAME: $*"; exit 77; }
fail() { echo "FAIL $NAME: $*"; exit 1; }

for t in dpkg-deb dpkg-gencontrol dpkg-shlibdeps make; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not found"
done
command -v man >/dev/null 2>&1 || skip "man not found (package man-db)"

T=$(mktemp -d /tmp/fwd-test-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT

if ! make -C "$ROOT" --no-print-directory B="$BUILD_DIR" deb >"$T/make.out" 2>&1; then
	tail -n 20 "$T/make.out" | sed 's/^/    | /'
	fail "make deb failed"
fi
deb=$(sed -n "s/^dpkg-deb: building package 'fwd' in '\(.*\)'\.$/\1/p" "$T/make.out")
[ -n "$deb" ] || fail "make deb did not say which package it built"
case $deb in /*) ;; *) deb=$ROOT/$deb ;; esac
[ -f "$deb" ] || fail "make deb announced $deb, which does not exist"
version=$(dpkg-deb -f "$deb" Version)
arch=$(dpkg-deb -f "$deb" Architecture)
[ "$(basename "$deb")" = "fwd_${version}_${arch}.deb" ] ||
	fail "package file $(basename "$deb") is not named fwd_${version}_${arch}.deb"

R=$T/root
dpkg-deb -x "$deb" "$R" || fail "dpkg-deb -x $deb failed"
dpkg-deb -e "$deb" "$T/DEBIAN" || fail "dpkg-deb -e $deb failed"

for f in usr/sbin/fwd etc/fwd/rules.yaml lib/systemd/system/fwd.service \
	usr/share/man/man8/fwd.8.gz usr/share/man/man5/fwd-rules.5.gz \
	etc/logrotate.d/fwd usr/share/doc/fwd/copyright; do
	[ -f "$R/$f" ] || fail "the package lacks /$f"
done
[ -x "$R/usr/sbin/fwd" ] || fail "/usr/sbin/fwd is not executable"
ls "$R"/usr/share/doc/fwd/examples/*.yaml >/dev/null 2>&1 ||
	fail "the package has no example rules in /usr/share/doc/fwd/examples"
for f in /etc/fwd/rules.yaml /etc/logrotate.d/fwd; do
	grep -qx "$f" "$T/DEBIAN/conffiles" 2>/dev/null || fail "$f is not a conffile"
done
grep -q '^Depends:.*iptables' "$T/DEBIAN/control" || fail "the package does not depend on iptables"

# The packaged binary on the packaged conffile: exit 0 and "ok".
out=$("$R/usr/sbin/fwd" check "$R/etc/fwd/rules.yaml" 2>&1)
rc=$?
[ $rc = 0 ] || fail "fwd check on the packaged rules.yaml exited $rc: $out"
[[ $out == *ok* ]] || fail "fwd check on the packaged rules.yaml did not say ok: $out"
"$R/usr/sbin/fwd" version | grep -qF "${version%-*}" ||
	fail "the packaged fwd's version is not the package's upstream version $version"

unit=$R/lib/systemd/system/fwd.service
for want in 'ExecStart=/usr/sbin/fwd run -c /etc/fwd/rules.yaml' \
	'ExecStartPre=/usr/sbin/fwd check /etc/fwd/rules.yaml' 'Type=notify'; do
	grep -qF "$want" "$unit" || fail "the packaged unit lacks '$want'"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	# The unit must parse; that /usr/sbin/fwd is missing on this host is fine.
	systemd-analyze verify --man=no "$unit" 2>&1 | grep -v 'is not executable' >"$T/verify"
	if [ -s "$T/verify" ]; then
		sed 's/^/    | /' "$T/verify"
		fail "systemd-analyze verify complains about the unit"
	fi
fi

for page in usr/share/man/man8/fwd.8.gz usr/share/man/man5/fwd-rules.5.gz; do
	err=$(MANWIDTH=80 man -l --warnings "$R/$page" 2>&1 >"$T/page")
	[ -z "$err" ] || fail "man -l /$page warns: $err"
	[ "$(wc -l <"$T/page")" -gt 40 ] || fail "man -l /$page rendered only $(wc -l <"$T/page") lines"
done

echo "PASS $NAME: $(basename "$deb"): files, conffiles, fwd check ok, man pages render"
exit 0
