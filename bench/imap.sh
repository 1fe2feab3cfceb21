#!/bin/sh
# IMAP against a local Dovecot (tests/mailsrv.sh) whose INBOX holds 10 000
# generated messages (2-20 KB): mbsync (isync) copying it to a maildir over
# IMAPS, the baseline, then imap-worker fetching the same folder (when
# built): messages/s (median over rounds), peak RSS, the ratio of their
# rates; then an incremental sync of 10 changes made behind their backs
# with doveadm (4 new, 3 flagged, 3 expunged): what each costs. Figures
# from imap-worker's -v totals line; then the same where Dovecot
# announces CONDSTORE without QRESYNC, then neither. Never fails on time.
#   bench/imap.sh [BUILD]     (make bench)
#   REPS=N (3)  N=messages (10000)
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
RS=$build/runstat
IW=$build/imap-worker
REPS=${REPS:-3}
N=${N:-10000}
MV_TOP=$top MV_BUILD=$build
export MV_TOP MV_BUILD
. "$top/tests/integration/lib.sh"
. "$top/tests/mailsrv.sh"
T=$TMP

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
rate() { awk "BEGIN { printf \"%.0f\", $1 * 1000 / $2 }"; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
maxof() { sort -n | tail -n 1; }

mailsrv_start "$T/mail"
mailsrv_generate "$N" INBOX
echo "== IMAP: $N messages in INBOX of a local Dovecot $(dovecot --version | cut -d' ' -f1), IMAPS on loopback, $REPS rounds"
echo "folder: $(du -sk "$MAILSRV_MAILDIR/cur" | cut -f1) KB in Maildir"

# rounds NAME PREPARE COMMAND...: REPS runs of COMMAND (stdout dropped),
# PREPARE before each; prints "median_ms max_rss_kb failed".
rounds() {
	name=$1 prep=$2
	shift 2
	: >"$T/$name.rounds"
	r=0
	while [ $r -lt "$REPS" ]; do
		r=$((r + 1))
		$prep
		"$RS" -n 1 -q -- "$@" >>"$T/$name.rounds" 2>>"$T/$name.err" || true
	done
	echo "$(field median_ms <"$T/$name.rounds" | median)" \
	    "$(field max_rss_kb <"$T/$name.rounds" | maxof)" \
	    "$(field failed <"$T/$name.rounds" | awk '{ s += $1 } END { print s }')"
}

# mbsync: a configuration in $T (the password through PassCmd, from the
# password file: never in argv), pulling INBOX into an empty maildir. Host
# localhost: mbsync 1.4 matches DNS names only, not the IP address the
# certificate also names.
mbsync_fresh() { rm -rf "$T/mbsync"; mkdir -p "$T/mbsync"; }
mb_rate=
if command -v mbsync >/dev/null 2>&1; then
	cat >"$T/mbsyncrc" <<EOF
# No fsync per message: the figures are of IMAP, not of the disk.
FSync no

IMAPAccount dovecot
Host localhost
Port $MAILSRV_IMAPS_PORT
User $MAILSRV_USER
PassCmd "cat $MAILSRV_PASSWORD_FILE"
SSLType IMAPS
CertificateFile $MAILSRV_CA
SystemCertificates no

IMAPStore far
Account dovecot

MaildirStore near
Path $T/mbsync/
Inbox $T/mbsync/INBOX

Channel bench
Far :far:
Near :near:
Patterns INBOX
Create Near
Sync Pull
SyncState *
EOF
	set -- $(rounds mbsync mbsync_fresh mbsync -q -c "$T/mbsyncrc" bench)
	got=$(find "$T/mbsync/INBOX/cur" "$T/mbsync/INBOX/new" -type f | wc -l)
	if [ "$3" -eq 0 ] && [ "$got" -eq "$N" ]; then
		mb_rate=$(rate "$N" "$1") mb_rss=$2
		echo "mbsync $(mbsync --version | cut -d' ' -f2), full copy: median_ms=$1 max_rss_kb=$2 msgs/s=$mb_rate"
	else
		echo "mbsync: $3 of $REPS rounds failed, $got of $N messages copied: $(tail -n 3 "$T/mbsync.err")"
	fi
else
	echo "mbsync not installed (package isync): no baseline"
fi

# imap-worker, when built: the same folder, then 10 changes.
if [ ! -x "$IW" ]; then
	echo "imap-worker not built"
	exit 0
fi
iw() {
	"$IW" --credentials "@$MAILSRV_CREDS_IMAPS" --ca_file "$MAILSRV_CA" "$@"
}
nothing() { :; }
# totals FILE: "bytes-read bytes-written commands seconds" from a -v
# run's stderr ("done: R bytes read, W written[, C commands], S s"); "-"
# for what it does not say.
totals() {
	line=$(grep 'done:' "$1" | tail -n 1)
	r=$(echo "$line" | sed -n 's/.* \([0-9]*\) bytes read.*/\1/p')
	w=$(echo "$line" | sed -n 's/.* \([0-9]*\) written.*/\1/p')
	c=$(echo "$line" | sed -n 's/.* \([0-9]*\) commands.*/\1/p')
	t=$(echo "$line" | sed -n 's/.* \([0-9.]*\) s$/\1/p')
	echo "${r:--} ${w:--} ${c:--} ${t:--}"
}
set -- $(rounds fetch nothing "$IW" --credentials "@$MAILSRV_CREDS_IMAPS" \
    --ca_file "$MAILSRV_CA" --action fetch_emails --days_back 0 \
    --label INBOX --output ndjson)
if [ "$3" -ne 0 ]; then
	echo "imap-worker fetch_emails failed: $(tail -n 3 "$T/fetch.err")"
else
	iw_rate=$(rate "$N" "$1")
	iw -v --action fetch_emails --days_back 0 --label INBOX \
	    --output ndjson >"$T/fetch.out" 2>"$T/fetch.v" || true
	set -- "$1" "$2" $(totals "$T/fetch.v")
	echo "imap-worker fetch_emails --days_back 0 --output ndjson: median_ms=$1 max_rss_kb=$2 msgs/s=$iw_rate ($(grep -c '"id"' "$T/fetch.out" || true) messages; bytes read $3, written $4, commands $5)"
	[ -z "$mb_rate" ] ||
	    echo "ratio imap-worker/mbsync: msgs/s $(ratio "$iw_rate" "$mb_rate"), peak RSS $(ratio "$2" "$mb_rss")"
fi

if ! "$IW" --help 2>/dev/null | grep -q '^ *sync '; then
	echo "imap-worker has no sync action yet: no incremental figures"
	exit 0
fi
iw -v --action sync --lookback_days 0 --label INBOX --output ndjson \
    >"$T/full.out" 2>"$T/full.v" || true
cursor=$(tail -n 1 "$T/full.out" | jq -r '.cursor // empty')
if [ -z "$cursor" ]; then
	echo "imap-worker sync gave no cursor: $(tail -n 2 "$T/full.out" "$T/full.v")"
	exit 0
fi
set -- $(totals "$T/full.v")
echo "imap-worker sync, full: bytes read $1, written $2, commands $3, $4 s"
full_read=$1

# 10 changes behind the clients' backs: 4 new, 3 flagged, 3 expunged.
i=0
while [ $i -lt 4 ]; do
	i=$((i + 1))
	printf 'From: bob@example.com\r\nTo: %s\r\nSubject: bench %d\r\nMessage-ID: <bench-%d@example.com>\r\n\r\nx\r\n' \
	    "$MAILSRV_USER" $i $i >"$T/new.eml"
	mailsrv_deliver "$T/new.eml"
done
mailsrv_doveadm flags add -u "$MAILSRV_USER" '\Flagged' mailbox INBOX uid 1:3
mailsrv_doveadm expunge -u "$MAILSRV_USER" mailbox INBOX uid 4:6
iw -v --action sync --cursor "$cursor" --output ndjson >"$T/inc.out" \
    2>"$T/inc.v" || true
set -- $(totals "$T/inc.v")
echo "imap-worker sync, incremental, 10 changes: $(tail -n 1 "$T/inc.out" | jq -c '[.added, .deleted, .labels]' 2>/dev/null) (added, deleted, labels), bytes read $1, written $2, commands $3, $4 s"
case $1$full_read in
*-*) ;;
*) echo "ratio incremental/full: bytes read $(awk "BEGIN { printf \"%.3g\", $1 / $full_read }")" ;;
esac
if [ -n "$mb_rate" ]; then
	# mbsync's own incremental pull of the same changes, from its state.
	set -- $("$RS" -n 1 -q -- mbsync -q -c "$T/mbsyncrc" bench)
	echo "mbsync, incremental, the same 10 changes: $*"
fi

# The incremental sync where the server announces less (imap_capability):
# CONDSTORE without QRESYNC, then neither (the flags pass over every UID).
# For each, a fresh cursor, a sync with nothing changed, then 10 changes.
# changes N: N/10 new, flagged, expunged (from UID FIRST on).
changes() {
	i=0
	while [ $i -lt 4 ]; do
		i=$((i + 1))
		printf 'From: bob@example.com\r\nTo: %s\r\nSubject: bench %s %d\r\n\r\nx\r\n' \
		    "$MAILSRV_USER" "$1" $i >"$T/new.eml"
		mailsrv_deliver "$T/new.eml"
	done
	mailsrv_doveadm flags add -u "$MAILSRV_USER" '\Flagged' mailbox INBOX \
	    uid "$2:$(($2 + 2))"
	mailsrv_doveadm expunge -u "$MAILSRV_USER" mailbox INBOX \
	    uid "$(($2 + 3)):$(($2 + 5))"
}
first=10
for caps in "QRESYNC" "CONDSTORE QRESYNC"; do
	mailsrv_down
	MAILSRV_IMAP_CAPABILITY=$(mailsrv_capability_without $caps)
	mailsrv_conf
	mailsrv_up
	iw --action sync --lookback_days 1 --output ndjson >"$T/cfull.out" \
	    2>/dev/null || true
	cursor=$(tail -n 1 "$T/cfull.out" | jq -r '.cursor // empty')
	iw -v --action sync --cursor "$cursor" --output ndjson \
	    >"$T/c0.out" 2>"$T/c0.v" || true
	rss=$("$RS" -n 1 -q -- "$IW" --credentials "@$MAILSRV_CREDS_IMAPS" \
	    --ca_file "$MAILSRV_CA" --action sync --cursor "$cursor" |
	    field max_rss_kb)
	set -- $(totals "$T/c0.v")
	echo "imap-worker sync without $caps, nothing changed: $(tail -n 1 "$T/c0.out" | jq -c '[.added, .deleted, .labels]' 2>/dev/null), bytes read $1, written $2, commands $3, $4 s, max_rss_kb $rss"
	changes "$caps" "$first"
	first=$((first + 10))
	iw -v --action sync --cursor "$cursor" --output ndjson \
	    >"$T/c1.out" 2>"$T/c1.v" || true
	set -- $(totals "$T/c1.v")
	echo "imap-worker sync without $caps, 10 changes: $(tail -n 1 "$T/c1.out" | jq -c '[.added, .deleted, .labels]' 2>/dev/null) (added, deleted, labels), bytes read $1, written $2, commands $3, $4 s"
done
