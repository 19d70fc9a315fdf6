#!/bin/sh
# Brings what `make test` needs from Debian when it is missing: as root it
# installs the packages with apt-get; otherwise it says which are missing
# (the tests that need them then say so in one line and skip).
# `test-deps.sh release` brings what `make release` and `make release-check`
# need instead: the cross compilers for linux/arm64 and windows/amd64 and
# qemu-user to run the arm64 binary.
set -eu

need=""
what="the tests"
if [ "${1:-}" = release ]; then
	what="the release build"
	command -v gcc >/dev/null 2>&1 || need="$need gcc"
	command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need="$need gcc-aarch64-linux-gnu"
	[ -e /usr/aarch64-linux-gnu/include/stdio.h ] || need="$need libc6-dev-arm64-cross"
	command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need="$need gcc-mingw-w64-x86-64"
	command -v x86_64-w64-mingw32-g++ >/dev/null 2>&1 || need="$need g++-mingw-w64-x86-64"
	command -v qemu-aarch64 >/dev/null 2>&1 || need="$need qemu-user"
else
	command -v gnome-keyring-daemon >/dev/null 2>&1 || need="$need gnome-keyring"
	command -v dbus-run-session >/dev/null 2>&1 || need="$need dbus"
	command -v tmux >/dev/null 2>&1 || need="$need tmux"
	command -v gcc >/dev/null 2>&1 || need="$need gcc"
	command -v softhsm2-util >/dev/null 2>&1 || need="$need softhsm2"
	command -v rsyslogd >/dev/null 2>&1 || need="$need rsyslog"
	[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || [ -e /usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_gtls.so ] || need="$need rsyslog-gnutls"
	[ -x /usr/lib/postgresql/15/bin/initdb ] || need="$need postgresql"
	command -v openssl >/dev/null 2>&1 || need="$need openssl"
fi

# local-kms (a real implementation of the AWS KMS API) at the version the
# KMS tests pin (storage/wrap/wraptest.LocalKMSModule), into the cache
# folder they look in; they install it themselves if this could not.
if [ "${1:-}" != release ]; then
	kmsbin="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/qapprove-test/bin"
	if [ ! -x "$kmsbin/local-kms" ] && command -v go >/dev/null 2>&1; then
		echo "installing local-kms into $kmsbin"
		mkdir -p "$kmsbin"
		GOBIN="$kmsbin" GOFLAGS=-mod=mod go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6 ||
			echo "local-kms could not be installed: the KMS tests will try again and say why"
	fi
fi

[ -z "$need" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "installing for $what:$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >/dev/null
else
	echo "missing for $what:$need (as root, this script installs them; what needs them skips with a reason)"
fi
