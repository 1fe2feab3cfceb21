#!/bin/sh
# Installs the Debian packages a make target needs, when some are missing
# and we are root; otherwise names the missing ones and fails.
#
#   tests/deps.sh [demo|check|fuzz]
#
# demo: building the programs and running make demo (redis-server, the
# stand-in, curl and jq, and Dovecot with openssl for the demo's IMAP
# account); check (the default): also every test, the
# sanitizers, the dashboard's browser test, the Debian package and the
# local mail servers of tests/mailsrv.sh (Dovecot, aiosmtpd, mbsync for
# make bench); fuzz:
# make fuzz's, clang with libclang-rt-14-dev, which holds libFuzzer
# (libclang_rt.fuzzer*.a) and which clang on Debian 12 only recommends
# (--no-install-recommends leaves it out).
#
# libcurl's headers come from libcurl4-gnutls-dev: libetpan-dev (imap-worker's
# IMAP and POP3) depends on it, and it conflicts with libcurl4-openssl-dev.
# Only the headers differ: every TLS connection imap-worker makes is its own
# (OpenSSL), and libcurl verifies certificates with GnuTLS as well.
set -eu

demo="make gcc pkg-config libc6-dev libcurl4-gnutls-dev libetpan-dev
libjansson-dev libssl-dev libbsd-dev libhiredis-dev libevent-dev libinih-dev redis-server
python3 python3-cryptography jq curl tzdata dovecot-imapd dovecot-pop3d openssl"
check="$demo check python3-prometheus-client mandoc chromium nodejs
build-essential dpkg-dev debhelper lintian python3-aiosmtpd isync"

case ${1:-check} in
demo) pkgs=$demo ;;
fuzz) pkgs="make pkg-config clang libclang-rt-14-dev libcurl4-gnutls-dev
libetpan-dev libjansson-dev libssl-dev libbsd-dev libhiredis-dev libevent-dev
libinih-dev tzdata" ;;
check)
	pkgs=$check
	# npm comes with NodeSource's nodejs; Debian's nodejs needs its own.
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
	;;
*)
	echo "usage: tests/deps.sh [demo|check|fuzz]" >&2
	exit 64
	;;
esac

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make deps' as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
