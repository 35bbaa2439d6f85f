#!/bin/sh
# Golden-file tests, in the manner of pfctl's regression suite.
#
#   sh tests/golden/run.sh FWD_BINARY        (from the repository root)
#   UPDATE=1 sh tests/golden/run.sh FWD_BINARY   rewrites the .out files
#
# check/NAME.yaml:            `fwd check check/NAME.yaml` must give NAME.out
# explain/NAME.yaml + .in:    `fwd explain NAME.yaml - < NAME.in` must give NAME.out
# run/NAME.yaml:              `fwd run --no-hooks --foreground -c run/NAME.yaml` (a file
#                             that does not load) must give NAME.out: the messages
#                             of `fwd check`, in the same order (a daemon that starts
#                             is stopped after 10 s, and fails)
# print/NAME.yaml:            `fwd check --print print/NAME.yaml` must give NAME.out
#                             (the normalised rules, the format of fwd(8))
# rules/*.yaml:               every example shipped must pass `fwd check`
#
# A .out file is "exit N", then stdout, then stderr.
set -u
fwd=${1:?usage: tests/golden/run.sh FWD_BINARY}
dir=tests/golden
pass=0 fail=0
tmp=$(mktemp) || exit 2
trap 'rm -f "$tmp" "$tmp.o" "$tmp.e"' EXIT

# Run "$@" and write the golden form of its outcome to $tmp.
capture() {
	"$@" >"$tmp.o" 2>"$tmp.e"
	echo "exit $?" >"$tmp"
	cat "$tmp.o" "$tmp.e" >>"$tmp"
}

judge() {
	name=$1 want=$2
	if [ "${UPDATE:-0}" = 1 ]; then
		cp "$tmp" "$want"
	fi
	if [ -f "$want" ] && diff -u "$want" "$tmp" >"$tmp.o"; then
		echo "ok $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		if [ -f "$want" ]; then sed 's/^/    /' "$tmp.o"; else echo "    missing $want"; fi
		fail=$((fail + 1))
	fi
}

for f in "$dir"/check/*.yaml; do
	[ -e "$f" ] || continue
	capture "$fwd" check "$f"
	judge "check/$(basename "$f" .yaml)" "${f%.yaml}.out"
done

for f in "$dir"/explain/*.yaml; do
	[ -e "$f" ] || continue
	base=${f%.yaml}
	[ -f "$base.in" ] || continue
	capture "$fwd" explain "$f" - <"$base.in"
	judge "explain/$(basename "$base")" "$base.out"
done

for f in "$dir"/print/*.yaml; do
	[ -e "$f" ] || continue
	capture "$fwd" check --print "$f"
	judge "print/$(basename "$f" .yaml)" "${f%.yaml}.out"
done

for f in "$dir"/run/*.yaml; do
	[ -e "$f" ] || continue
	capture timeout 10 "$fwd" run --no-hooks --foreground -c "$f"
	judge "run/$(basename "$f" .yaml)" "${f%.yaml}.out"
done

for f in rules/*.yaml; do
	[ -e "$f" ] || continue
	if "$fwd" check "$f" >"$tmp.o" 2>"$tmp.e" && [ ! -s "$tmp.e" ]; then
		echo "ok $f"
		pass=$((pass + 1))
	else
		echo "FAIL $f"
		sed 's/^/    /' "$tmp.o" "$tmp.e"
		fail=$((fail + 1))
	fi
done

echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
