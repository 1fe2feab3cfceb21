#!/bin/sh
# Installs the Debian packages that building and testing need, when some
# are missing and we are root; otherwise says which are missing.
# "deps.sh fuzz": those of make fuzz only: clang and libclang-rt-14-dev,
# which holds libFuzzer (libclang_rt.fuzzer*.a) and which clang on Debian
# 12 only recommends (--no-install-recommends leaves it out).
set -eu

pkgs="make gcc pkg-config libcurl4-openssl-dev libjansson-dev libssl-dev
libbsd-dev check libhiredis-dev libevent-dev libinih-dev redis-server
python3 python3-cryptography python3-prometheus-client mandoc jq curl
tzdata chromium nodejs
build-essential dpkg-dev debhelper lintian"
# npm comes with NodeSource's nodejs; Debian's nodejs needs its own.
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
[ "${1:-}" = fuzz ] && pkgs="make pkg-config clang libclang-rt-14-dev
libcurl4-openssl-dev libjansson-dev libssl-dev libbsd-dev libhiredis-dev
libevent-dev libinih-dev tzdata"

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make deps' as root, or apt-get install them" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
