# modify_labels, mark_read, mark_unread, archive, trash, untrash, delete:
# the calls sent and the mailbox afterwards.
. "$MV_TOP/tests/integration/lib.sh"
start_standin

gw --action fetch_emails --days_back 3 --max_results 4
a=$(jout '.emails[0].id'); b=$(jout '.emails[1].id')
c=$(jout '.emails[2].id'); d=$(jout '.emails[3].id')

labels_of() {
	gw --action get_email --id "$1" --format metadata
	jout '.email.label_ids | sort | join(",")'
}

gw --action modify_labels --id "$a" --add_label Work --add_label STARRED --remove_label INBOX
expect_ok
expect_eq "$(jout .modified)" 1 modified
l=$(labels_of "$a")
case ",$l," in *,Label_Work,*STARRED*) ;; *) fail "labels of a: $l" ;; esac
case ",$l," in *,INBOX,*) fail "INBOX not removed: $l" ;; esac
[ "$(log_count '.path | endswith("/modify")')" -eq 1 ] || fail "one id: messages.modify"

gw --action mark_read --id "$b" --id "$c"
expect_ok
expect_eq "$(jout .modified)" 2 modified
[ "$(log_count '.path | endswith("/batchModify")')" -eq 1 ] || fail "two ids: batchModify"
case ",$(labels_of "$b")," in *,UNREAD,*) fail "b still unread" ;; esac
gw --action mark_unread --id "$b"
expect_ok
case ",$(labels_of "$b")," in *,UNREAD,*) ;; *) fail "b not unread" ;; esac
gw --action archive --id "$c"
expect_ok
case ",$(labels_of "$c")," in *,INBOX,*) fail "c still in INBOX" ;; esac

gw --action trash --id "$d"
expect_ok
case ",$(labels_of "$d")," in *,TRASH,*) ;; *) fail "d not in TRASH" ;; esac
gw --action untrash --id "$d"
expect_ok
case ",$(labels_of "$d")," in *,TRASH,*) fail "d still in TRASH" ;; esac

# delete: --confirm or nothing happens.
gw --action delete --id "$d"
expect_error invalid_argument 64
gw --action get_email --id "$d"
expect_ok
gw --action delete --id "$d" --confirm
expect_ok
expect_eq "$(jout .deleted)" 1 deleted
gw --action get_email --id "$d"
expect_error not_found 65
gw --action delete --id "$a" --id "$b" --confirm
expect_ok
expect_eq "$(jout .deleted)" 2 deleted
[ "$(log_count '.path | endswith("/batchDelete")')" -eq 1 ] || fail "batchDelete"

# Refusals.
gw --action modify_labels --id "$c"
expect_error invalid_argument 64
gw --action modify_labels --id "$c" --add_label NoSuchLabel
expect_error not_found 65
gw --action mark_read
expect_error invalid_argument 64
gw --action trash --id 0123456789abcdef
expect_error not_found 65
gw --action mark_read --id "$c" --add_label Work
expect_error invalid_argument 64
