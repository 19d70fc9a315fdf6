#!/bin/sh
# Checks the release build (scripts/release.sh):
#  - reproducible: everything is built twice, the second time from a copy
#    of the tree at another path with an empty Go build cache, and every
#    file of the two dist folders must be byte-identical;
#  - SHA256SUMS verifies, each SBOM names the BLS library;
#  - the linux/amd64 binary's `version --json` carries the version and commit;
#  - the linux/arm64 binary passes `selftest` and `version --json` under
#    qemu-aarch64 -L /usr/aarch64-linux-gnu;
#  - the windows/amd64 binary is a PE32+ x86-64 console executable
#    (its header read here: machine 0x8664, subsystem 3).
# As root it installs what it needs (scripts/test-deps.sh release);
# otherwise a part whose tools are missing says so in one line and skips.
set -eu
cd "$(dirname "$0")/.."

version=v0.0.0
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
bls=$(awk '$1 == "github.com/herumi/bls-eth-go-binary" { print $2 }' go.mod)
failed=0
fail() { echo "release-check: FAIL: $*"; failed=1; }
skip() { echo "release-check: skip: $*"; }

sh scripts/test-deps.sh release || echo "release-check: could not install the release tools; what needs them skips"

targets=linux/amd64
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && [ -e /usr/aarch64-linux-gnu/include/stdio.h ]; then
	targets="$targets linux/arm64"
else
	skip "linux/arm64: no aarch64-linux-gnu-gcc with libc6-dev-arm64-cross"
fi
if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
	targets="$targets windows/amd64"
else
	skip "windows/amd64: no x86_64-w64-mingw32-gcc"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qapprove-release-check.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

# The second tree: the working tree (tracked and untracked, not ignored).
mkdir "$tmp/src"
git ls-files -z -c -o --exclude-standard | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	tar -c --null -T - -f - | tar -x -C "$tmp/src" -f -

echo "release-check: build 1 of 2 ($targets)"
TARGETS=$targets COMMIT=$commit sh scripts/release.sh $version "$tmp/a" >/dev/null
echo "release-check: build 2 of 2, from $tmp/src with an empty build cache"
(cd "$tmp/src" && GOCACHE="$tmp/cache" TARGETS=$targets COMMIT=$commit sh scripts/release.sh $version "$tmp/b" >/dev/null)

for f in "$tmp"/a/*; do
	n=${f##*/}
	cmp -s "$f" "$tmp/b/$n" || fail "$n differs between the two builds"
done
[ "$(ls "$tmp/a")" = "$(ls "$tmp/b")" ] || fail "the two builds made different files"
(cd "$tmp/a" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not verify"
for f in "$tmp"/a/*.cdx.json; do
	grep -q "\"pkg:golang/github.com/herumi/bls-eth-go-binary@$bls" "$f" || fail "${f##*/} does not name the BLS library $bls"
done

# version_ok FILE PLATFORM: the version --json output names the release.
version_ok() {
	grep -q "\"version\": \"$version\"" "$1" && grep -q "\"commit\": \"$commit\"" "$1" &&
		grep -q "\"bls_version\": \"$bls\"" "$1" && grep -q "\"platform\": \"$2\"" "$1"
}

"$tmp/a/qapprove_${version}_linux_amd64" version --json >"$tmp/v-amd64" || fail "linux/amd64 version --json failed"
version_ok "$tmp/v-amd64" linux/amd64 || fail "linux/amd64 version --json: $(tr -d '\n' <"$tmp/v-amd64")"

arm=$tmp/a/qapprove_${version}_linux_arm64
if [ ! -e "$arm" ]; then
	:
elif ! command -v qemu-aarch64 >/dev/null 2>&1; then
	skip "linux/arm64 selftest: no qemu-aarch64 (package qemu-user)"
else
	qemu-aarch64 -L /usr/aarch64-linux-gnu "$arm" selftest >"$tmp/selftest" 2>&1 &&
		tail -n 1 "$tmp/selftest" | grep -q ' passed, 0 failed$' ||
		fail "linux/arm64 selftest under qemu: $(tail -n 1 "$tmp/selftest")"
	qemu-aarch64 -L /usr/aarch64-linux-gnu "$arm" version --json >"$tmp/v-arm64" &&
		version_ok "$tmp/v-arm64" linux/arm64 || fail "linux/arm64 version --json under qemu: $(tr -d '\n' <"$tmp/v-arm64")"
	echo "release-check: linux/arm64 under qemu: $(tail -n 1 "$tmp/selftest")"
fi

# le FILE OFFSET SIZE: the little-endian unsigned integer at OFFSET.
le() {
	od -A n -t u1 -j "$2" -N "$3" "$1" | awk '{ for (i = NF; i >= 1; i--) v = v * 256 + $i } END { print v + 0 }'
}
exe=$tmp/a/qapprove_${version}_windows_amd64.exe
if [ -e "$exe" ]; then
	pe=$(le "$exe" 60 4) # e_lfanew: where the PE header starts
	sig=$(od -A n -c -j "$pe" -N 4 "$exe" | tr -d ' ')
	machine=$(le "$exe" $((pe + 4)) 2)
	magic=$(le "$exe" $((pe + 24)) 2)
	subsystem=$(le "$exe" $((pe + 24 + 68)) 2)
	if [ "$sig" = 'PE\0\0' ] && [ "$machine" = 34404 ] && [ "$magic" = 523 ] && [ "$subsystem" = 3 ]; then
		echo "release-check: windows/amd64 is a PE32+ x86-64 console executable"
	else
		fail "windows/amd64: not a PE32+ x86-64 console executable (signature $sig, machine $machine, magic $magic, subsystem $subsystem)"
	fi
fi

[ $failed = 0 ] || exit 1
echo "release-check: ok: $(grep -c . "$tmp/a/SHA256SUMS") files byte-identical across two builds ($targets)"
