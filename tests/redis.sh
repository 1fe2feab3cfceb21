#!/bin/sh
# Starts a scratch redis-server for tests and prints "SOCKET PID" once it
# answers: unix socket DIR/redis.sock, TCP on 127.0.0.1:PORT when PORT is
# given and not 0, requirepass read from PASSWORD_FILE when given. Its
# data and logs stay in DIR (an RDB is saved on SIGTERM, so a restart in
# the same DIR keeps the data). Stop it with kill PID.
#
#   tests/redis.sh DIR [PORT [PASSWORD_FILE]]
set -eu

usage() {
	echo "usage: $0 DIR [PORT [PASSWORD_FILE]]" >&2
	exit 64
}

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
	usage
fi
dir=$1
port=${2:-0}
pwfile=${3:-}
server=${REDIS_SERVER:-redis-server}
cli=${REDIS_CLI:-redis-cli}

case $port in
*[!0-9]* | '') usage ;;
esac
[ -d "$dir" ] || { echo "$0: $dir: not a directory" >&2; exit 66; }
command -v "$server" >/dev/null 2>&1 ||
	{ echo "$0: $server not found (package redis-server)" >&2; exit 69; }

sock=$dir/redis.sock
conf=$dir/redis.conf
umask 077
{
	echo "port $port"
	echo "bind 127.0.0.1"
	echo "unixsocket $sock"
	echo "unixsocketperm 700"
	echo "dir $dir"
	echo "dbfilename dump.rdb"
	echo "save 3600 1"
	echo "appendonly no"
	echo "daemonize no"
	echo "logfile $dir/redis.log"
	echo "pidfile $dir/redis.pid"
	echo "databases 16"
	if [ -n "$pwfile" ]; then
		printf 'requirepass "%s"\n' "$(cat "$pwfile")"
	fi
} >"$conf"

rm -f "$sock"
"$server" "$conf" </dev/null >"$dir/redis.out" 2>&1 &
pid=$!

# Ready when it answers on the socket (PONG, or NOAUTH with a password).
i=0
while :; do
	if [ -S "$sock" ] && "$cli" -s "$sock" ping 2>/dev/null |
		grep -Eq 'PONG|NOAUTH'; then
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null || [ "$i" -ge 100 ]; then
		echo "$0: redis-server did not start; see $dir/redis.log" >&2
		kill "$pid" 2>/dev/null || :
		exit 69
	fi
	i=$((i + 1))
	sleep 0.05
done
echo "$sock $pid"
