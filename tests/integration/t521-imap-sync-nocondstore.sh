#!/bin/sh
# imap-worker --action sync against a Dovecot that announces neither
# CONDSTORE nor QRESYNC (imap_capability), then the same mailbox with
# CONDSTORE alone. Without them, the cursor keeps each folder's UIDs (runs)
# and hashes of their flags by buckets of UIDs, and a pass over the
# folder's flags finds what changed behind its back: a deletion named
# exactly, a flag change giving "labels" for every message of its bucket,
# a new message added, nothing printed when nothing changed; an older
# cursor without that still accepted; a folder whose runs do not fit in
# the cursor kept as a hash, then synced in full with a reason when
# messages go. With CONDSTORE alone: labels from CHANGEDSINCE, deletions
# from the UIDs, and no pass at all while nothing changed. Nothing not
# announced is ever asked for (Dovecot's rawlog). Many folders: the
# smallest ones' UIDs left out of the cursor, which keeps to 1024 bytes.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

MAILSRV_IMAP_CAPABILITY=$(mailsrv_capability_without CONDSTORE QRESYNC)
MAILSRV_IMAP_RAWLOG=1
mailsrv_start "$TMP/mail"
mailsrv_deliver_samples
C=$MAILSRV_CREDS_IMAPS
U=$MAILSRV_USER
summary() {
	tail -n 1 "$TMP/out" | jq -r "$1"
}
counts() {
	summary '[.full_sync, .added, .deleted, .labels] | @tsv'
}
# The commands of imap-worker's sessions since the last call.
sent() {
	for f in "$MAILSRV_RAWLOG"/*.in; do
		[ -e "$TMP/seen.$(basename "$f")" ] && continue
		: >"$TMP/seen.$(basename "$f")"
		cat "$f"
	done | tr -d '\r' >"$TMP/sent"
}
doveadm_uids() {
	mailsrv_doveadm -f flow search -u "$U" mailbox "$1" all |
	    sed 's/.* //'
}
inbox_uv=$(mailsrv_doveadm -f flow mailbox status -u "$U" uidvalidity \
    INBOX | sed 's/.*uidvalidity=//')

# The server announces neither; imap-worker asks for neither.
/usr/bin/python3 - <<'EOF' || fail "Dovecot announces CONDSTORE or QRESYNC"
import imaplib, os
m = imaplib.IMAP4("127.0.0.1", int(os.environ["MAILSRV_IMAP_PORT"]))
m.login(os.environ["MAILSRV_USER"], open(os.environ["MAILSRV_PASSWORD_FILE"]).read())
assert not {"CONDSTORE", "QRESYNC"} & set(m.capabilities), m.capabilities
assert "ENABLE" in m.capabilities
m.logout()
EOF
sent
iw "$C" --action sync --lookback_days 0
expect_rc 0
expect_eq "$(summary '[.full_sync, .reason] | @tsv')" \
    "$(printf 'true\tno cursor')" "full sync"
cur=$(summary .cursor)
[ ${#cur} -le 1024 ] || fail "cursor of ${#cur} bytes"
printf '%s' "$cur" | LC_ALL=C grep -q '^[ -~]*$' || fail "cursor not ASCII"
# INBOX: 26 messages, UIDs 1 to 26, no modseq, its flags hash.
printf '%s' "$cur" | grep -q ";INBOX,$inbox_uv,0,27,r0-p,[0-9a-z]*\(;\|\$\)" ||
    fail "INBOX in the cursor: $cur"
sent
grep -qi 'ENABLE\|CONDSTORE\|QRESYNC\|CHANGEDSINCE' "$TMP/sent" &&
    fail "asked for what is not announced: $(grep -i 'ENABLE\|CONDSTORE\|QRESYNC\|CHANGEDSINCE' "$TMP/sent")"
grep -q 'UID FETCH 1:26 (UID FLAGS)$' "$TMP/sent" ||
    fail "no flags pass over INBOX: $(cat "$TMP/sent")"

# Nothing changed: no line but the summary, the same cursor.
iw "$C" --action sync --cursor "$cur"
expect_rc 0
expect_eq "$(wc -l <"$TMP/out")" 1 "lines with nothing changed"
expect_eq "$(counts)" "$(printf 'false\t0\t0\t0')" "nothing changed"
expect_eq "$(summary .cursor)" "$cur" "cursor with nothing changed"

# A message expunged: that deletion alone (its flags are among those of
# the messages left: no labels line).
mailsrv_doveadm expunge -u "$U" mailbox INBOX uid 3
iw "$C" --action sync --cursor "$cur"
expect_rc 0
expect_eq "$(counts)" "$(printf 'false\t0\t1\t0')" "one deleted"
expect_eq "$(jq -r 'select(.change == "deleted") | .id' "$TMP/out")" \
    "INBOX/$inbox_uv/3" "deleted id"
cur_del=$(summary .cursor)
printf '%s' "$cur_del" | grep -q ";INBOX,$inbox_uv,0,27,r0-1\.1-m," ||
    fail "INBOX after the deletion: $cur_del"
iw "$C" --action sync --cursor "$cur_del"
expect_eq "$(wc -l <"$TMP/out")" 1 "lines after the deletion"

# A message flagged: "labels" for each message of INBOX, the flagged one
# STARRED, exactly as QRESYNC's lines give them.
mailsrv_doveadm flags add -u "$U" '\Flagged' mailbox INBOX uid 5
iw "$C" --action sync --cursor "$cur_del"
expect_rc 0
expect_eq "$(counts)" "$(printf 'false\t0\t0\t25')" "flag changed"
expect_eq "$(jq -r 'select(.change == "labels") | .id' "$TMP/out" |
    sed 's,.*/,,' | tr '\n' ' ')" \
    "1 2 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 " \
    "labels ids"
expect_eq "$(jq -c 'select(.change == "labels" and (.id | endswith("/5"))) | .label_ids' "$TMP/out")" \
    '["INBOX","UNREAD","STARRED"]' "labels of the flagged message"
cur_flag=$(summary .cursor)
iw "$C" --action sync --cursor "$cur_flag"
expect_eq "$(wc -l <"$TMP/out")" 1 "lines after the flag"

# A message delivered: added alone.
mailsrv_deliver "$MV_TOP/tests/standin/mailbox/alice@example.com/01-plain-ascii.eml"
iw "$C" --action sync --cursor "$cur_flag"
expect_rc 0
expect_eq "$(counts)" "$(printf 'false\t1\t0\t0')" "one added"
expect_eq "$(jq -r 'select(.change == "added") | [.id, .email.message_id] | @tsv' "$TMP/out")" \
    "$(printf 'INBOX/%s/27\t<plain-ascii-01@example.com>' "$inbox_uv")" "added"
cur_add=$(summary .cursor)

# All three from the first cursor, and again from it (at least once).
iw "$C" --action sync --cursor "$cur"
expect_eq "$(counts)" "$(printf 'false\t1\t1\t25')" "three changes"
jq -c 'select(.summary | not)' "$TMP/out" >"$TMP/changes1"
iw "$C" --action sync --cursor "$cur"
jq -c 'select(.summary | not)' "$TMP/out" >"$TMP/changes2"
cmp -s "$TMP/changes1" "$TMP/changes2" || fail "the same cursor, other changes"
expect_eq "$(summary .cursor)" "$cur_add" "the cursor caught up"

# A cursor of before (no UIDs, no flags) is accepted: only new messages,
# as it was; the next cursor knows the UIDs.
old=$(printf '%s' "$cur" | sed 's/\(;[^,;]*,[0-9]*,[0-9]*,[0-9]*\)[^;]*/\1/g')
printf '%s' "$old" | grep -q ',r' && fail "old cursor still has runs: $old"
iw "$C" --action sync --cursor "$old"
expect_rc 0
expect_eq "$(counts)" "$(printf 'false\t1\t0\t0')" "old cursor"
expect_eq "$(summary .cursor)" "$cur_add" "cursor from an old one"

# Runs that do not fit: 700 messages in Big, every other one expunged.
mailsrv_generate 700 Big
iw "$C" --action sync --cursor "$cur_add" --lookback_days 0
expect_eq "$(counts)" "$(printf 'false\t700\t0\t0')" "Big added"
cur_big=$(summary .cursor)
big_uv=$(mailsrv_doveadm -f flow mailbox status -u "$U" uidvalidity Big |
    sed 's/.*uidvalidity=//')
printf '%s' "$cur_big" | grep -q ";Big,$big_uv,0,701,r0-jf," ||
    fail "Big in the cursor: $cur_big"
mailsrv_doveadm expunge -u "$U" mailbox Big uid "$(seq -s, 1 2 699)"
iw "$C" --action sync --cursor "$cur_big"
expect_rc 0
# So many deleted that their flags cannot be guessed (over 8 in each of
# its 8 buckets): labels for the messages left, at least once.
expect_eq "$(counts)" "$(printf 'false\t0\t350\t350')" "350 deleted"
expect_eq "$(jq -r 'select(.change == "deleted") | .id' "$TMP/out" |
    sed 's,.*/,,' | tr '\n' ,)" "$(seq -s, 1 2 699)," "350 deleted ids"
cur_hash=$(summary .cursor)
[ ${#cur_hash} -le 1024 ] || fail "cursor of ${#cur_hash} bytes"
# Its flags in 4 buckets of UIDs (350 messages: 64 at least each).
printf '%s' "$cur_hash" | grep -q ";Big,$big_uv,0,701,h9q\.[0-9a-z]*,[0-9a-z]*\.[0-9a-z]*\.[0-9a-z]*\.[0-9a-z]*\(;\|\$\)" ||
    fail "Big as a hash: $cur_hash"
printf '%s' "$cur_hash" | grep -q ";INBOX,$inbox_uv,0,28,r0-1\.1-n," ||
    fail "INBOX still as runs: $cur_hash"
# Nothing changed: the count and hash say so.
iw "$C" --action sync --cursor "$cur_hash"
expect_eq "$(wc -l <"$TMP/out")" 1 "lines with Big as a hash"
# A flag changed in Big: labels for the messages of its bucket, UIDs 1 to
# 175 (the first quarter below UIDNEXT 701), those left of them.
mailsrv_doveadm flags add -u "$U" '\Flagged' mailbox Big uid 2
iw "$C" --action sync --cursor "$cur_hash"
expect_eq "$(counts)" "$(printf 'false\t0\t0\t87')" "Big's flag"
expect_eq "$(jq -r 'select(.change == "labels") | .id' "$TMP/out" |
    sed 's,.*/,,' | tr '\n' ,)" "$(seq -s, 2 2 174)," "Big's labels ids"
# One more expunged: its deletion cannot be named, Big synced in full.
mailsrv_doveadm expunge -u "$U" mailbox Big uid 700
iw "$C" --action sync --cursor "$cur_hash" --lookback_days 0
expect_rc 0
expect_eq "$(summary '[.full_sync, .reason, .added, .deleted] | @tsv')" \
    "$(printf 'true\tmessages of Big were deleted, which the cursor cannot name\t349\t0')" \
    "Big synced in full"
expect_eq "$(jq -r 'select(.change == "added") | .id | split("/")[0]' "$TMP/out" |
    sort -u)" Big "only Big synced in full"
cur_full=$(summary .cursor)
iw "$C" --action sync --cursor "$cur_full"
expect_eq "$(wc -l <"$TMP/out")" 1 "lines after the full sync"

# CONDSTORE alone, on the same mailbox and ports.
mailsrv_down
MAILSRV_IMAP_CAPABILITY=$(mailsrv_capability_without QRESYNC)
mailsrv_conf
mailsrv_up
sent
# The cursor made without CONDSTORE: a flags pass, nothing changed.
iw "$C" --action sync --cursor "$cur_full"
expect_rc 0
expect_eq "$(counts)" "$(printf 'false\t0\t0\t0')" "CONDSTORE now"
cur_cs=$(summary .cursor)
inbox_ms=$(mailsrv_doveadm -f flow mailbox status -u "$U" highestmodseq \
    INBOX | sed 's/.*highestmodseq=//')
printf '%s' "$cur_cs" | grep -q ";INBOX,$inbox_uv,$inbox_ms,28,r0-1\.1-n\(;\|\$\)" ||
    fail "INBOX with CONDSTORE: $cur_cs"
# Nothing changed: EXAMINE alone, no pass.
sent
iw "$C" --action sync --cursor "$cur_cs"
expect_eq "$(wc -l <"$TMP/out")" 1 "lines with CONDSTORE"
sent
grep -q 'UID FETCH\|UID SEARCH' "$TMP/sent" &&
    fail "a pass while nothing changed: $(grep 'UID' "$TMP/sent")"
grep -q 'EXAMINE INBOX (CONDSTORE)' "$TMP/sent" || fail "no CONDSTORE"
# One flagged, one expunged, one delivered: exactly those.
mailsrv_doveadm flags add -u "$U" '\Flagged' mailbox INBOX uid 8
mailsrv_doveadm expunge -u "$U" mailbox INBOX uid 9
mailsrv_deliver "$MV_TOP/tests/standin/mailbox/alice@example.com/02-utf8-encoded-words.eml"
iw "$C" --action sync --cursor "$cur_cs"
expect_rc 0
expect_eq "$(counts)" "$(printf 'false\t1\t1\t1')" "CONDSTORE: three changes"
expect_eq "$(jq -r 'select(.change and .change != "added") | [.change, .id] | @tsv' "$TMP/out")" \
    "$(printf 'deleted\tINBOX/%s/9\nlabels\tINBOX/%s/8' "$inbox_uv" "$inbox_uv")" \
    "CONDSTORE: deleted and labels"
expect_eq "$(jq -c 'select(.change == "labels") | .label_ids' "$TMP/out")" \
    '["INBOX","STARRED"]' "CONDSTORE: labels"
sent
grep -q 'CHANGEDSINCE' "$TMP/sent" || fail "no CHANGEDSINCE"
grep -qi 'ENABLE\|QRESYNC\|VANISHED' "$TMP/sent" &&
    fail "asked for QRESYNC: $(grep -i 'ENABLE\|QRESYNC\|VANISHED' "$TMP/sent")"
cur_cs2=$(summary .cursor)
printf '%s' "$cur_cs2" | grep -q ";INBOX,$inbox_uv,[0-9]*,29,r0-1\.1-4\.1-i\(;\|\$\)" ||
    fail "INBOX after the changes: $cur_cs2"
iw "$C" --action sync --cursor "$cur_cs2"
expect_eq "$(wc -l <"$TMP/out")" 1 "lines after catching up"

# QRESYNC back: the cursor goes on.
mailsrv_down
MAILSRV_IMAP_CAPABILITY=
mailsrv_conf
mailsrv_up
mailsrv_doveadm expunge -u "$U" mailbox INBOX uid 10
iw "$C" --action sync --cursor "$cur_cs2"
expect_eq "$(counts)" "$(printf 'false\t0\t1\t0')" "QRESYNC"
expect_eq "$(jq -r 'select(.change == "deleted") | .id' "$TMP/out")" \
    "INBOX/$inbox_uv/10" "QRESYNC: deleted"
# Many folders, without CONDSTORE again: the cursor keeps to 1024 bytes,
# the UIDs of the smallest folders left out (only their new messages
# seen, as before), those of the largest kept.
mailsrv_down
MAILSRV_IMAP_CAPABILITY=$(mailsrv_capability_without CONDSTORE QRESYNC)
mailsrv_conf
mailsrv_up
for i in $(seq 10 45); do
	mailsrv_deliver "$MV_TOP/tests/standin/mailbox/alice@example.com/01-plain-ascii.eml" "z$i"
done
iw "$C" --action sync --lookback_days 0
expect_rc 0
cur_many=$(summary .cursor)
[ ${#cur_many} -le 1024 ] || fail "cursor of ${#cur_many} bytes"
printf '%s' "$cur_many" | grep -q ";INBOX,$inbox_uv,0,29,r0-1\.1-4\.2-h," ||
    fail "INBOX's UIDs left out: $cur_many"
printf '%s' "$cur_many" | grep -q ";Big,$big_uv,0,701,h9p\." ||
    fail "Big's UIDs left out: $cur_many"
printf '%s' "$cur_many" | grep -q ';z45,[0-9]*,0,2\(;\|$\)' ||
    fail "z45's UIDs kept: $cur_many"
iw "$C" --action sync --cursor "$cur_many"
expect_eq "$(wc -l <"$TMP/out")" 1 "lines with many folders"
mailsrv_doveadm expunge -u "$U" mailbox INBOX uid 11
mailsrv_deliver "$MV_TOP/tests/standin/mailbox/alice@example.com/01-plain-ascii.eml" z45
iw "$C" --action sync --cursor "$cur_many"
expect_eq "$(counts)" "$(printf 'false\t1\t1\t0')" "many folders: changes"
expect_eq "$(jq -r 'select(.change == "deleted") | .id' "$TMP/out")" \
    "INBOX/$inbox_uv/11" "many folders: deleted"
expect_eq "$(jq -r 'select(.change == "added") | .id | split("/")[0]' "$TMP/out")" \
    z45 "many folders: added"
echo "t521 ok"
