#!/bin/sh
# Brings what `make test` needs from Debian when it is missing: as root it
# installs the packages with apt-get; otherwise it says which are missing
# (the tests that need them then say so in one line and skip).
set -eu

need=""
command -v gnome-keyring-daemon >/dev/null 2>&1 || need="$need gnome-keyring"
command -v dbus-run-session >/dev/null 2>&1 || need="$need dbus"
command -v tmux >/dev/null 2>&1 || need="$need tmux"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
[ -z "$need" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "installing for the tests:$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >/dev/null
else
	echo "missing for some tests:$need (as root, make test installs them; those tests skip with a reason)"
fi
