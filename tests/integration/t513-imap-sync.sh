#!/bin/sh
# imap-worker --action sync against Dovecot (contract §5): a full sync
# without a cursor, nothing since a fresh cursor, then exactly the changes
# made behind its back with doveadm (a message delivered, one expunged, one
# flagged: added, deleted, labels through QRESYNC), the same changes again
# from the same cursor, a folder whose UIDVALIDITY changed synced in full
# with a reason, a folder renamed or deleted said so (full_sync, reason,
# folders_gone), a cursor that is not one refused, --output json.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

mailsrv_start "$TMP/mail"
mailsrv_deliver_samples
C=$MAILSRV_CREDS_IMAPS
U=$MAILSRV_USER
summary() {
	tail -n 1 "$TMP/out" | jq -r "$1"
}

iw "$C" --action sync --lookback_days 0
expect_rc 0
expect_eq "$(summary '[.status, .summary, .full_sync, .reason] | @tsv')" \
    "$(printf 'success\ttrue\ttrue\tno cursor')" "full sync summary"
added=$(summary .added)
expect_eq "$(grep -c '"change":"added"' "$TMP/out")" "$added" "added lines"
inbox=$(mailsrv_doveadm -f flow mailbox status -u "$U" messages INBOX |
    sed 's/.*messages=//')
[ "$(grep -c '"id":"INBOX/' "$TMP/out")" -eq "$inbox" ] ||
    fail "INBOX: $(grep -c '"id":"INBOX/' "$TMP/out") added, $inbox there"
grep -q '"id":"Junk/\|"id":"Trash/' "$TMP/out" && fail "Junk or Trash synced"
cur=$(summary .cursor)
[ ${#cur} -le 1024 ] || fail "cursor of ${#cur} bytes"
printf '%s' "$cur" | LC_ALL=C grep -q '^[ -~]*$' || fail "cursor not ASCII"

# Nothing changed: no line but the summary.
iw "$C" --action sync --cursor "$cur"
expect_rc 0
expect_eq "$(wc -l <"$TMP/out")" 1 "lines with nothing changed"
expect_eq "$(summary '[.full_sync, .added, .deleted, .labels] | @tsv')" \
    "$(printf 'false\t0\t0\t0')" "counts with nothing changed"

# Behind its back: one delivered, one expunged, one flagged.
uv=$(mailsrv_doveadm -f flow mailbox status -u "$U" uidvalidity INBOX |
    sed 's/.*uidvalidity=//')
first=$(mailsrv_doveadm -f flow search -u "$U" mailbox INBOX all |
    head -n 1 | sed 's/.* //')
second=$(mailsrv_doveadm -f flow search -u "$U" mailbox INBOX all |
    sed -n 2p | sed 's/.* //')
mailsrv_doveadm expunge -u "$U" mailbox INBOX uid "$first"
mailsrv_doveadm flags add -u "$U" '\Flagged' mailbox INBOX uid "$second"
mailsrv_deliver "$MV_TOP/tests/standin/mailbox/alice@example.com/01-plain-ascii.eml"
iw "$C" --action sync --cursor "$cur"
expect_rc 0
expect_eq "$(summary '[.full_sync, .added, .deleted, .labels] | @tsv')" \
    "$(printf 'false\t1\t1\t1')" "counts after three changes"
expect_eq "$(jq -r 'select(.change == "deleted") | .id' "$TMP/out")" \
    "INBOX/$uv/$first" deleted
expect_eq "$(jq -r 'select(.change == "labels") | .id' "$TMP/out")" \
    "INBOX/$uv/$second" "labels id"
jq -s -e '[.[] | select(.change == "labels") | .label_ids | any(. == "STARRED")] | all' \
    "$TMP/out" >/dev/null || fail "no STARRED in the labels change: $(grep labels "$TMP/out")"
expect_eq "$(jq -r 'select(.change == "added") | .email.message_id' "$TMP/out")" \
    "<plain-ascii-01@example.com>" "added message"
expect_eq "$(jq -r 'select(.change == "added") | [.id == .email.id] | @tsv' "$TMP/out")" \
    true "added id"
cur2=$(summary .cursor)
# The same cursor gives the same changes again (at least once).
jq -c 'select(.summary | not)' "$TMP/out" >"$TMP/changes1"
iw "$C" --action sync --cursor "$cur"
jq -c 'select(.summary | not)' "$TMP/out" >"$TMP/changes2"
cmp -s "$TMP/changes1" "$TMP/changes2" || fail "the same cursor, other changes"
iw "$C" --action sync --cursor "$cur2"
expect_eq "$(wc -l <"$TMP/out")" 1 "lines after catching up"

# A folder recreated: its UIDVALIDITY changed, it is synced in full.
mailsrv_doveadm mailbox delete -u "$U" Work
mailsrv_deliver "$MV_TOP/tests/standin/mailbox/alice@example.com/01-plain-ascii.eml" Work
iw "$C" --action sync --cursor "$cur2"
expect_rc 0
expect_eq "$(summary '[.full_sync, .reason] | @tsv')" \
    "$(printf 'true\tthe UIDVALIDITY of Work changed')" "UIDVALIDITY change"
expect_eq "$(jq -r 'select(.change == "added") | .id | split("/")[0]' "$TMP/out")" \
    Work "the folder synced in full"

# A folder gone, renamed then deleted: nothing can list the messages the
# cursor knew there, and the summary says so (full_sync, the reason naming
# it, folders_gone with its ids' prefix); the renamed folder's messages
# come as added, under their new ids.
cur3=$(summary .cursor)
wuv=$(mailsrv_doveadm -f flow mailbox status -u "$U" uidvalidity Work |
    sed 's/.*uidvalidity=//')
mailsrv_doveadm mailbox rename -u "$U" Work Projects
iw "$C" --action sync --cursor "$cur3"
expect_rc 0
expect_eq "$(summary '[.full_sync, .reason] | @tsv')" \
    "$(printf "true\tfolder 'Work' is gone (deleted or renamed)")" \
    "a folder renamed"
expect_eq "$(tail -n 1 "$TMP/out" | jq -c .folders_gone)" \
    "[{\"folder\":\"Work\",\"uidvalidity\":$wuv,\"id_prefix\":\"Work/$wuv/\"}]" \
    folders_gone
expect_eq "$(jq -r 'select(.change == "added") | .id | split("/")[0]' "$TMP/out")" \
    Projects "the renamed folder's messages added"
cur4=$(summary .cursor)
printf '%s' "$cur4" | grep -q ';Work,' && fail "Work still in the cursor"
mailsrv_doveadm mailbox delete -u "$U" Projects
iw "$C" --action sync --cursor "$cur4"
expect_rc 0
expect_eq "$(summary '[.full_sync, .reason, .added, .deleted, .folders_gone[0].folder] | @tsv')" \
    "$(printf "true\tfolder 'Projects' is gone (deleted or renamed)\t0\t0\tProjects")" \
    "a folder deleted"
iw "$C" --action sync --cursor "$(summary .cursor)"
expect_eq "$(summary '[.full_sync, has("folders_gone")] | @tsv')" \
    "$(printf 'false\tfalse')" "said once"

# --output json: one document with the changes.
iw "$C" --action sync --cursor "$cur" --output json
expect_ok
expect_eq "$(jout '[(.changes | length), .added, .deleted] | @tsv')" \
    "$(printf '%s\t%s\t%s' "$(( $(jout .added) + $(jout .deleted) + $(jout .labels) ))" \
    "$(jout .added)" "$(jout .deleted)")" "json changes"
# Not a cursor of ours.
iw "$C" --action sync --cursor 12345
expect_error invalid_argument 64
expect_eq "$(jout .summary)" true "error summary"
echo "t513 ok"
