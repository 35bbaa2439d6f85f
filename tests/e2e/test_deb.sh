#!/bin/bash
# SPDX-License-Identifier: MIT
# test_deb.sh FWD_BINARY BUILD_DIR - `make deb` builds a package that works.
#
# Builds build/fwd_VERSION_ARCH.deb from BUILD_DIR's binary, unpacks it
# into a scratch root, and checks what an installed system would see: the
# files are where the unit and the man pages say, /etc files are conffiles,
# the packaged fwd accepts the packaged /etc/fwd/rules.yaml, the unit names
# the packaged binary, both man pages render without a warning, the binary
# has the distribution's hardening (fortify, bind-now), the maintainer
# scripts stop the unit on remove and clean /etc/fwd on purge, and lintian
# has nothing to say. tests/system/ installs and runs it under systemd.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

NAME=test_deb
FWD=${1:?usage: test_deb.sh FWD_BINARY BUILD_DIR}
BUILD_DIR=${2:-$(dirname "$FWD")}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

skip() { echo "SKIP $NAME: $*"; exit 77; }
fail() { echo "FAIL $NAME: $*"; exit 1; }

for t in dpkg-deb dpkg-buildpackage dh make; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not found"
done
command -v man >/dev/null 2>&1 || skip "man not found (package man-db)"

T=$(mktemp -d /tmp/fwd-test-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT

if ! make -C "$ROOT" --no-print-directory B="$BUILD_DIR" deb >"$T/make.out" 2>&1; then
	tail -n 20 "$T/make.out" | sed 's/^/    | /'
	fail "make deb failed"
fi
deb=$(sed -n 's/^make deb: built \(.*fwd_[^/]*\.deb\)$/\1/p' "$T/make.out")
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

# Hardening from dpkg-buildflags: bind-now and fortified calls.
if command -v readelf >/dev/null 2>&1; then
	readelf -d "$R/usr/sbin/fwd" | grep -q 'FLAGS.*BIND_NOW' || fail "/usr/sbin/fwd is not linked with -z now"
	readelf -s --wide "$R/usr/sbin/fwd" | grep -q '__[a-z_]*_chk' ||
		fail "/usr/sbin/fwd calls no fortified function (_FORTIFY_SOURCE missing)"
fi

# Maintainer scripts from dh_installsystemd, and the purge of /etc/fwd.
grep -q "deb-systemd-invoke stop 'fwd.service'" "$T/DEBIAN/prerm" 2>/dev/null ||
	fail "prerm does not stop fwd.service on remove"
grep -q 'rm -rf /etc/fwd' "$T/DEBIAN/postrm" 2>/dev/null || fail "postrm does not remove /etc/fwd on purge"
grep -q "deb-systemd-invoke \$_dh_action 'fwd.service'" "$T/DEBIAN/postinst" 2>/dev/null ||
	fail "postinst does not restart fwd.service on upgrade"

if command -v lintian >/dev/null 2>&1; then
	lintian --pedantic "$deb" 2>/dev/null >"$T/lintian"
	if [ -s "$T/lintian" ]; then
		sed 's/^/    | /' "$T/lintian"
		fail "lintian reports the package"
	fi
	lint="lintian clean"
else
	lint="lintian not installed"
fi

for page in usr/share/man/man8/fwd.8.gz usr/share/man/man5/fwd-rules.5.gz; do
	err=$(MANWIDTH=80 man -l --warnings "$R/$page" 2>&1 >"$T/page")
	[ -z "$err" ] || fail "man -l /$page warns: $err"
	[ "$(wc -l <"$T/page")" -gt 40 ] || fail "man -l /$page rendered only $(wc -l <"$T/page") lines"
done

echo "PASS $NAME: $(basename "$deb"): files, conffiles, fwd check ok, man pages render, hardened, maintainer scripts, $lint"
exit 0
