#!/bin/sh
# imap-worker's changes against Dovecot, checked with doveadm: mark_read,
# mark_unread, modify_labels (STARRED, keywords), archive and trash (MOVE
# into the special-use folders), untrash (back to INBOX), delete (--confirm,
# UID EXPUNGE of those messages only); ids of two folders in one run; an id
# whose UIDVALIDITY is stale; bad labels.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

mailsrv_start "$TMP/mail"
mailsrv_deliver_samples
C=$MAILSRV_CREDS_IMAPS
U=$MAILSRV_USER
flags() {	# FOLDER UID: the message's flags
	mailsrv_doveadm -f flow fetch -u "$U" flags mailbox "$1" uid "$2" |
	    sed 's/^flags=//'
}
count() {	# FOLDER
	mailsrv_doveadm -f flow mailbox status -u "$U" messages "$1" |
	    sed 's/.*messages=//'
}
uv() {
	mailsrv_doveadm -f flow mailbox status -u "$U" uidvalidity "$1" |
	    sed 's/.*uidvalidity=//'
}
uids() {	# FOLDER: its UIDs
	mailsrv_doveadm -f flow search -u "$U" mailbox "$1" all | sed 's/.* //'
}
I=$(uv INBOX)
set -- $(uids INBOX)
a=$1 b=$2 c=$3 d=$4
W=$(uv Work)
w=$(uids Work | head -n 1)

iw "$C" --action mark_read --id "INBOX/$I/$a" --id "INBOX/$I/$b" \
    --id "Work/$W/$w"
expect_ok
expect_eq "$(jout .modified)" 3 modified
for m in "INBOX $a" "INBOX $b" "Work $w"; do
	flags $m | grep -q '\\Seen' || fail "$m not read: $(flags $m)"
done
iw "$C" --action mark_unread --id "INBOX/$I/$a" && expect_ok
flags INBOX "$a" | grep -q '\\Seen' && fail "still read"

iw "$C" --action modify_labels --id "INBOX/$I/$c" --add_label STARRED \
    --add_label '$Important' --add_label UNREAD --remove_label DRAFT
expect_ok
f=$(flags INBOX "$c")
case $f in *'\Flagged'*) ;; *) fail "not flagged: $f" ;; esac
case $f in *'$Important'*) ;; *) fail "no keyword: $f" ;; esac
case $f in *'\Seen'*) fail "UNREAD added, still seen: $f" ;; esac
iw "$C" --action modify_labels --id "INBOX/$I/$c" --remove_label STARRED
expect_ok
flags INBOX "$c" | grep -q '\\Flagged' && fail "still flagged"
iw "$C" --action modify_labels --id "INBOX/$I/$c" --add_label 'two words'
expect_error invalid_argument 64
iw "$C" --action modify_labels --id "INBOX/$I/$c"
expect_error invalid_argument 64

# archive and trash move into the special-use folders; untrash back.
n_inbox=$(count INBOX) n_arch=$(count Archive) n_trash=$(count Trash)
iw "$C" --action archive --id "INBOX/$I/$a" && expect_ok
iw "$C" --action trash --id "INBOX/$I/$b" && expect_ok
expect_eq "$(count INBOX)" $((n_inbox - 2)) "INBOX after archive and trash"
expect_eq "$(count Archive)" $((n_arch + 1)) Archive
expect_eq "$(count Trash)" $((n_trash + 1)) Trash
T=$(uv Trash)
t=$(uids Trash | tail -n 1)
iw "$C" --action untrash --id "Trash/$T/$t" && expect_ok
expect_eq "$(count Trash)" "$n_trash" "Trash after untrash"
expect_eq "$(count INBOX)" $((n_inbox - 1)) "INBOX after untrash"

# delete: --confirm required; only those messages go.
iw "$C" --action delete --id "INBOX/$I/$d"
expect_error invalid_argument 64
mailsrv_doveadm flags add -u "$U" '\Deleted' mailbox INBOX uid "$c"
n_inbox=$(count INBOX)
iw "$C" --action delete --confirm --id "INBOX/$I/$d" && expect_ok
expect_eq "$(jout .deleted)" 1 deleted
expect_eq "$(count INBOX)" $((n_inbox - 1)) "INBOX after delete"
uids INBOX | grep -qx "$c" || fail "another \\Deleted message was expunged"
uids INBOX | grep -qx "$d" && fail "the message was not deleted"

# A folder named in UTF-8 (modified UTF-7 on the wire): listed, fetched,
# its ids percent-encoded UTF-8, its messages moved out.
F='Entwürfe/Ärger'
mailsrv_deliver "$MV_TOP/tests/standin/mailbox/alice@example.com/01-plain-ascii.eml" "$F"
iw "$C" --action list_labels && expect_ok
expect_eq "$(jout ".labels[] | select(.name == \"$F\") | .messages_total")" 1 \
    "the UTF-8 folder listed"
iw "$C" --action fetch_emails --days_back 0 --label "$F" && expect_ok
fid=$(jout '.emails[0].id')
case $fid in Entw%C3%BCrfe%2F%C3%84rger/*) ;; *) fail "id $fid" ;; esac
expect_eq "$(jout '.emails[0].label_ids[0]')" "$F" "label of the UTF-8 folder"
iw "$C" --action get_email --id "$fid" && expect_ok
iw "$C" --action trash --id "$fid" && expect_ok
expect_eq "$(count "$F")" 0 "the UTF-8 folder after trash"

# Stale or bad ids.
iw "$C" --action mark_read --id "INBOX/$((I + 1))/$c"
expect_error not_found 65
iw "$C" --action mark_read --id "INBOX/x/1"
expect_error invalid_argument 64
iw "$C" --action mark_read
expect_error invalid_argument 64
echo "t515 ok"
