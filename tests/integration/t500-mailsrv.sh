#!/bin/sh
# tests/mailsrv.sh: Dovecot and the submission server answer as real ones,
# with the test CA: IMAPS and STARTTLS logins, the capabilities the IMAP
# worker relies on, special-use folders, a message fetched back byte for
# byte, POP3S, SMTP with STARTTLS and AUTH into smtp-out, certificates for
# another name or from no CA refused, doveadm behind a client's back. The
# password never shows in what the clients print.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

mailsrv_start "$TMP/mail"
mailsrv_smtp_start "$TMP/mail"
PW=$(cat "$MAILSRV_PASSWORD_FILE")
[ ${#PW} -ge 16 ] || fail "password file: ${#PW} characters"
U=$MAILSRV_USER
SAMPLES=$MV_TOP/tests/standin/mailbox/alice@example.com
# curl reads the login from a netrc file: never from argv.
(umask 077 && printf 'machine %s login %s password %s\n' "$MAILSRV_HOST" \
    "$U" "$PW" >"$TMP/netrc")
c() {
	curl -sS --max-time 20 --netrc-file "$TMP/netrc" --cacert "$MAILSRV_CA" "$@"
}

# The credentials documents: contract 6, mode 600, the password inside.
for f in "$MAILSRV_CREDS_IMAPS" "$MAILSRV_CREDS_STARTTLS" \
    "$MAILSRV_CREDS_PLAIN" "$MAILSRV_CREDS_POP3S" \
    "$MAILSRV_CREDS_POP3_STARTTLS" "$MAILSRV_CREDS_WRONGNAME" \
    "$MAILSRV_CREDS_SELFSIGNED"; do
	expect_eq "$(stat -c %a "$f")" 600 "mode of $f"
	[ "$(jq -r .password "$f")" = "$PW" ] || fail "$f: not the password"
	expect_eq "$(jq -r .username "$f")" "$U" "$f: username"
done
expect_eq "$(jq -c '[.type, .host, .port, .security, .smtp.port, .smtp.security]' "$MAILSRV_CREDS_IMAPS")" \
    "[\"imap\",\"127.0.0.1\",$MAILSRV_IMAPS_PORT,\"tls\",$MAILSRV_SMTP_PORT,\"starttls\"]" imaps document
expect_eq "$(jq -c '[.type, .port, .security]' "$MAILSRV_CREDS_STARTTLS")" \
    "[\"imap\",$MAILSRV_IMAP_PORT,\"starttls\"]" starttls document
expect_eq "$(jq -c '[.type, .port, .security, .smtp.security]' "$MAILSRV_CREDS_PLAIN")" \
    "[\"imap\",$MAILSRV_IMAP_PORT,\"none\",\"none\"]" plain document
expect_eq "$(jq -c '[.type, .port, .security]' "$MAILSRV_CREDS_POP3S")" \
    "[\"pop3\",$MAILSRV_POP3S_PORT,\"tls\"]" pop3s document
expect_eq "$(jq -r .host "$MAILSRV_CREDS_WRONGNAME")" 127.0.0.2 wrongname host

# Messages: the samples, one raw file through doveadm save, 50 generated.
mailsrv_deliver_samples
mailsrv_deliver "$SAMPLES/14-mixed-attachments.eml" Check
mailsrv_generate 50 Generated
st() {
	mailsrv_doveadm -f flow mailbox status -u "$U" "$1" "$2" |
	    sed 's/.*=//'
}
expect_eq "$(st messages INBOX)" 26 "INBOX messages"
expect_eq "$(st messages Generated)" 50 "Generated messages"
expect_eq "$(st messages Check)" 1 "Check messages"
expect_eq "$(st messages Travel/2026)" 1 "Travel/2026 messages"

# IMAP with Python's imaplib, verifying the certificate and host name.
/usr/bin/python3 - "$SAMPLES" >"$TMP/py.out" 2>&1 <<'EOF' || fail "imap: $(cat "$TMP/py.out")"
import imaplib, os, re, ssl, sys
sys.path.insert(0, os.path.join(os.environ["MV_TOP"], "tests/standin"))
from standin import mime
e = os.environ
h, u = e["MAILSRV_HOST"], e["MAILSRV_USER"]
pw = open(e["MAILSRV_PASSWORD_FILE"]).read()
ctx = ssl.create_default_context(cafile=e["MAILSRV_CA"])
assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED

def check(ok, what):
    if not ok:
        print("FAIL: " + what)
        sys.exit(1)

for how in ("starttls", "imaps"):
    if how == "imaps":
        m = imaplib.IMAP4_SSL(h, int(e["MAILSRV_IMAPS_PORT"]), ssl_context=ctx)
    else:
        m = imaplib.IMAP4(h, int(e["MAILSRV_IMAP_PORT"]))
        check("STARTTLS" in m.capabilities, "STARTTLS not offered")
        m.starttls(ssl_context=ctx)
    typ, _ = m.login(u, pw)
    check(typ == "OK", how + " login")
    typ, caps = m.capability()
    caps = caps[0].decode().split()
    for want in ("IMAP4rev1", "CONDSTORE", "QRESYNC", "MOVE", "SPECIAL-USE",
                 "UIDPLUS", "IDLE", "ENABLE", "ESEARCH"):
        check(want in caps, "%s: %s not in CAPABILITY %s" % (how, want, caps))
    if how == "starttls":
        # CONDSTORE is there to use: ENABLE QRESYNC, SELECT gives
        # HIGHESTMODSEQ.
        typ, data = m._simple_command("ENABLE", "QRESYNC")
        check(typ == "OK", "ENABLE QRESYNC")
        typ, data = m.select("Generated")
        check(any(b"HIGHESTMODSEQ" in x
                  for x in m.untagged_responses.get("OK", [])),
              "SELECT: no HIGHESTMODSEQ: %r" % m.untagged_responses)
        m.logout()

# LIST: the special-use folders, and the labels' folders.
typ, lines = m.list()
folders = {}
for line in lines:
    mo = re.match(rb'\((.*?)\) "/" (.*)', line)
    folders[mo.group(2).decode().strip('"')] = mo.group(1).decode().split()
for name, use in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"),
                  ("Junk", "\\Junk"), ("Trash", "\\Trash"),
                  ("Archive", "\\Archive")):
    check(use in folders.get(name, []), "LIST: %s %s: %s" % (name, use, folders))
for name in ("INBOX", "Work", "Receipts", "Newsletters", "Travel/2026",
             "Check", "Generated"):
    check(name in folders, "LIST: no " + name)

# The saved message comes back byte for byte (it has CRLF line ends).
raw = open(os.path.join(sys.argv[1], "14-mixed-attachments.eml"), "rb").read()
m.select("Check", readonly=True)
typ, data = m.uid("FETCH", "1", "(BODY.PEEK[] RFC822.SIZE)")
check(data[0][1] == raw, "Check UID 1 differs from the file")
# A sample in INBOX: its file without the stand-in's X-Standin-* fields;
# read and starred (no UNREAD label, STARRED): \Seen \Flagged. Its
# file has LF line ends: IMAP gives CRLF.
sample, _ = mime.strip_control(open(os.path.join(
    sys.argv[1], "29-old-starred.eml"), "rb").read())
sample = re.sub(rb"\r?\n", b"\r\n", sample)
m.select("INBOX", readonly=True)
typ, data = m.uid("SEARCH", "HEADER", "Message-ID",
                  re.search(rb"(?im)^Message-ID:\s*(\S+)", sample).group(1))
uids = data[0].split()
check(len(uids) == 1, "INBOX search by Message-ID: %s" % uids)
typ, data = m.uid("FETCH", uids[0], "(BODY.PEEK[] FLAGS)")
check(data[0][1] == sample, "INBOX sample differs from its file")
check(b"\\Seen" in data[0][0] and b"\\Flagged" in data[0][0],
      "sample's flags: %r" % data[0][0])

typ, data = m.status("Generated", "(MESSAGES UIDVALIDITY HIGHESTMODSEQ)")
check(b"MESSAGES 50" in data[0], "STATUS Generated: %r" % data[0])
print(re.search(rb"HIGHESTMODSEQ (\d+)", data[0]).group(1).decode(),
      re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1).decode())
m.logout()

# Certificates: one from the CA naming another host; a self-signed one.
for host, why in ((e["MAILSRV_WRONGNAME_HOST"], "match"),
                  (e["MAILSRV_SELFSIGNED_HOST"], "self-signed")):
    try:
        imaplib.IMAP4_SSL(host, int(e["MAILSRV_IMAPS_PORT"]), ssl_context=ctx)
        check(False, host + ": certificate accepted")
    except ssl.SSLCertVerificationError as x:
        check(why in str(x), "%s: %s" % (host, x))
EOF
set -- $(cat "$TMP/py.out")
modseq=$1 uidvalidity=$2

# The same with curl (libcurl, as the worker's SMTP side uses).
c "imaps://$MAILSRV_HOST:$MAILSRV_IMAPS_PORT/Check;UID=1" >"$TMP/fetched" ||
    fail "curl imaps fetch"
cmp -s "$TMP/fetched" "$SAMPLES/14-mixed-attachments.eml" ||
    fail "curl: Check UID 1 differs from the file"
c --ssl-reqd "imap://$MAILSRV_HOST:$MAILSRV_IMAP_PORT/" -X 'EXAMINE Generated' \
    >"$TMP/examine" || fail "curl imap STARTTLS"
grep -q 'HIGHESTMODSEQ' "$TMP/examine" || fail "EXAMINE: $(cat "$TMP/examine")"
rc=0
c "imaps://$MAILSRV_WRONGNAME_HOST:$MAILSRV_IMAPS_PORT/" >/dev/null 2>"$TMP/err" || rc=$?
expect_eq "$rc" 60 "curl to the wrong-name certificate"
grep -q "subject name" "$TMP/err" || fail "wrong name: $(cat "$TMP/err")"
rc=0
c "imaps://$MAILSRV_SELFSIGNED_HOST:$MAILSRV_IMAPS_PORT/" >/dev/null 2>"$TMP/err" || rc=$?
expect_eq "$rc" 60 "curl to the self-signed certificate"
rc=0
curl -sS --netrc-file "$TMP/netrc" "imaps://$MAILSRV_HOST:$MAILSRV_IMAPS_PORT/" \
    >/dev/null 2>"$TMP/err" || rc=$?
expect_eq "$rc" 60 "curl without the test CA"

# POP3S and POP3 with STLS list INBOX.
c "pop3s://$MAILSRV_HOST:$MAILSRV_POP3S_PORT/" >"$TMP/pop3" || fail "curl pop3s LIST"
expect_eq "$(grep -c . "$TMP/pop3")" 26 "POP3S LIST lines"
c --ssl-reqd "pop3://$MAILSRV_HOST:$MAILSRV_POP3_PORT/" >"$TMP/pop3" ||
    fail "curl pop3 STLS LIST"
expect_eq "$(grep -c . "$TMP/pop3")" 26 "POP3 STLS LIST lines"

# SMTP: STARTTLS, AUTH, one message stored as received; refusals.
printf 'From: %s\r\nTo: bob@example.com\r\nSubject: t500\r\nMessage-ID: <t500@example.com>\r\n\r\nHello Bob.\r\n.dot-stuffed line\r\n' \
    "$U" >"$TMP/msg.eml"
c --ssl-reqd "smtp://$MAILSRV_HOST:$MAILSRV_SMTP_PORT" --mail-from "$U" \
    --mail-rcpt bob@example.com --mail-rcpt carol@example.com \
    --upload-file "$TMP/msg.eml" || fail "curl smtp STARTTLS"
cmp -s "$MAILSRV_SMTP_OUT/0001.eml" "$TMP/msg.eml" ||
    fail "smtp-out/0001.eml differs from what was sent"
expect_eq "$(jq -c '[.mail_from, .rcpt_tos, .auth_user, .tls]' "$MAILSRV_SMTP_OUT/0001.json")" \
    "[\"$U\",[\"bob@example.com\",\"carol@example.com\"],\"$U\",true]" envelope
c "smtps://$MAILSRV_HOST:$MAILSRV_SMTPS_PORT" --mail-from "$U" \
    --mail-rcpt bob@example.com --upload-file "$TMP/msg.eml" ||
    fail "curl smtps"
expect_eq "$(jq -r .tls "$MAILSRV_SMTP_OUT/0002.json")" true "smtps tls"
# Plaintext (MAILSRV_CREDS_PLAIN's smtp block): AUTH without STARTTLS.
c "smtp://$MAILSRV_HOST:$MAILSRV_SMTP_PORT" --mail-from "$U" \
    --mail-rcpt bob@example.com --upload-file "$TMP/msg.eml" ||
    fail "curl smtp without TLS"
expect_eq "$(jq -c '[.tls, .auth_user]' "$MAILSRV_SMTP_OUT/0003.json")" \
    "[false,\"$U\"]" "smtp without TLS"
rc=0
curl -sS --cacert "$MAILSRV_CA" --ssl-reqd "smtp://$MAILSRV_HOST:$MAILSRV_SMTP_PORT" \
    --mail-from "$U" --mail-rcpt bob@example.com --upload-file "$TMP/msg.eml" \
    2>"$TMP/err" || rc=$?
[ "$rc" -ne 0 ] || fail "SMTP without AUTH accepted"
(umask 077 && printf 'machine %s login %s password wrong-password\n' \
    "$MAILSRV_HOST" "$U" >"$TMP/netrc-bad")
rc=0
curl -sS --netrc-file "$TMP/netrc-bad" --cacert "$MAILSRV_CA" --ssl-reqd \
    "smtp://$MAILSRV_HOST:$MAILSRV_SMTP_PORT" --mail-from "$U" \
    --mail-rcpt bob@example.com --upload-file "$TMP/msg.eml" 2>"$TMP/err" ||
    rc=$?
expect_eq "$rc" 67 "SMTP with a wrong password (login denied)"
expect_eq "$(ls "$MAILSRV_SMTP_OUT" | grep -c '\.eml$')" 3 "messages in smtp-out"

# doveadm behind the client's back: a flag change raises HIGHESTMODSEQ, a
# folder made again has another UIDVALIDITY.
mailsrv_doveadm flags add -u "$U" '\Flagged' mailbox Generated uid 3 ||
    fail "doveadm flags add"
[ "$(st highestmodseq Generated)" -gt "$modseq" ] ||
    fail "HIGHESTMODSEQ did not move past $modseq"
mailsrv_doveadm move -u "$U" Archive mailbox Generated uid 1:5 ||
    fail "doveadm move"
expect_eq "$(st messages Generated)" 45 "Generated after the move"
mailsrv_doveadm mailbox delete -u "$U" -s Generated || fail "doveadm mailbox delete"
mailsrv_generate 3 Generated 100
expect_eq "$(st messages Generated)" 3 "Generated made again"
[ "$(st uidvalidity Generated)" != "$uidvalidity" ] ||
    fail "UIDVALIDITY unchanged: $uidvalidity"

# Down, the ports refuse connections; up again, the same mailbox.
mailsrv_down
rc=0
c "imaps://$MAILSRV_HOST:$MAILSRV_IMAPS_PORT/" >/dev/null 2>"$TMP/err" || rc=$?
expect_eq "$rc" 7 "curl to Dovecot down (connection refused)"
mailsrv_up
c "imaps://$MAILSRV_HOST:$MAILSRV_IMAPS_PORT/Check;UID=1" >"$TMP/fetched" ||
    fail "curl imaps fetch after mailsrv_up"
cmp -s "$TMP/fetched" "$SAMPLES/14-mixed-attachments.eml" ||
    fail "after mailsrv_up: Check UID 1 differs from the file"

# Nothing printed the password; stopping leaves no server behind.
for f in "$TMP"/py.out "$TMP"/err "$TMP"/examine "$TMP"/pop3 \
    "$MAILSRV_LOG" "$MAILSRV_DIR"/smtpd.log "$MAILSRV_DIR"/dovecot.out; do
	if grep -qF -- "$PW" "$f"; then
		fail "the password appears in $f"
	fi
done
pids="$MAILSRV_PID $MAILSRV_SMTP_PID"
mailsrv_stop
for p in $pids; do
	if kill -0 "$p" 2>/dev/null; then
		fail "pid $p still runs after mailsrv_stop"
	fi
done
[ -d "$MAILSRV_MAILDIR" ] || fail "mailsrv_stop removed the Maildir"
echo "ok: mailsrv"
