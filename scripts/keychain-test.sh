#!/bin/sh
# Runs the storage/secrets tests named *Real* against a real Secret Service:
# gnome-keyring in a private D-Bus session, with a throw-away HOME, so the
# developer's own keychain is never touched. Exits 0 with one line when
# gnome-keyring or dbus-run-session is not installed.
set -eu

if ! command -v gnome-keyring-daemon >/dev/null 2>&1 || ! command -v dbus-run-session >/dev/null 2>&1; then
	echo "real keychain tests skipped: gnome-keyring not installed (apt-get install gnome-keyring dbus)"
	exit 0
fi

cd "$(dirname "$0")/.."

# HOME changes below: keep Go's module and build caches where they are.
GOPATH=$(go env GOPATH)
GOCACHE=$(go env GOCACHE)
GOMODCACHE=$(go env GOMODCACHE)
export GOPATH GOCACHE GOMODCACHE

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/.cache" "$tmp/.local/share/keyrings"
chmod -R 700 "$tmp"

echo "running the real keychain tests against gnome-keyring (private D-Bus session, HOME=$tmp)"
status=0
HOME=$tmp XDG_DATA_HOME=$tmp/.local/share XDG_CACHE_HOME=$tmp/.cache XDG_RUNTIME_DIR=$tmp \
	dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
		QAPPROVE_REAL_KEYCHAIN=1 go test -count=1 -run Real -v ./storage/secrets/' || status=$?

if [ "$status" -eq 0 ]; then
	echo "real keychain tests passed against gnome-keyring"
else
	echo "real keychain tests FAILED against gnome-keyring (exit $status)" >&2
fi
exit "$status"
