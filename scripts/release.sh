#!/bin/sh
# Builds the release binaries of qapprove into OUTDIR (default dist):
#   qapprove_VERSION_linux_amd64, qapprove_VERSION_linux_arm64,
#   qapprove_VERSION_windows_amd64.exe, a CycloneDX SBOM of the Go modules
#   of each (….cdx.json) and SHA256SUMS over them all.
# The builds are reproducible: -trimpath, no VCS stamp, fixed -ldflags
# (version and commit only), no timestamps; the same commit, toolchain and
# cross compilers give byte-identical files (scripts/release-check.sh).
#
# usage: scripts/release.sh VERSION [OUTDIR]
#   TARGETS="linux/amd64 …" limits the targets; COMMIT overrides the commit.
set -eu
cd "$(dirname "$0")/.."

version=${1:?usage: scripts/release.sh VERSION [OUTDIR]}
out=${2:-dist}
case $version in
v[0-9]*.[0-9]*.[0-9]*) ;;
*) echo "release: VERSION must look like vX.Y.Z, not \"$version\"" >&2; exit 2 ;;
esac
commit=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
targets=${TARGETS:-linux/amd64 linux/arm64 windows/amd64}
go=${GO:-go}

# cc names the C (and C++) compiler for a target; static is the extra
# external-linker flag.
cc_for() {
	case $1 in
	linux/amd64) echo "gcc g++" ;;
	linux/arm64) echo "aarch64-linux-gnu-gcc aarch64-linux-gnu-g++" ;;
	windows/amd64) echo "x86_64-w64-mingw32-gcc x86_64-w64-mingw32-g++" ;;
	*) echo "release: unknown target $1" >&2; exit 2 ;;
	esac
}

mkdir -p "$out"
for t in $targets; do
	os=${t%/*} arch=${t#*/}
	set -- $(cc_for "$t")
	cc=$1 cxx=$2
	if ! command -v "$cc" >/dev/null 2>&1; then
		echo "release: $t needs the C compiler $cc (scripts/test-deps.sh release installs it as root)" >&2
		exit 2
	fi
	name=qapprove_${version}_${os}_${arch}
	ext=
	extld=
	if [ "$os" = windows ]; then
		ext=.exe
		extld='-extldflags=-static'
	fi
	echo "release: $name$ext"
	env -u GOFLAGS CGO_ENABLED=1 GOOS="$os" GOARCH="$arch" CC="$cc" CXX="$cxx" \
		"$go" build -trimpath -buildvcs=false \
		-ldflags "-s -w -X main.version=$version -X main.commit=$commit $extld" \
		-o "$out/$name$ext" ./cmd/qapprove
	# The SBOM lists the modules the binary itself records (go version -m).
	"$go" tool cyclonedx-gomod bin -json -noserial -notimestamp -version "$version" \
		-output "$out/$name.cdx.json" "$out/$name$ext"
done
(cd "$out" && rm -f SHA256SUMS && sha256sum qapprove_"$version"_* >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
echo "release: $out/SHA256SUMS"
