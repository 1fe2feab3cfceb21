# Real mail servers on loopback for tests and benchmarks: Dovecot (IMAP,
# IMAPS, POP3, POP3S) with one user and a Maildir, a submission server
# (tests/mailsrv/smtpd, aiosmtpd) that keeps what it receives, and a test CA
# made at start. Everything lives in the directory given to mailsrv_start;
# the servers are stopped by pid. Source it after tests/integration/lib.sh
# (free_port, fail; its cleanup then stops the servers too):
#
#   . "$MV_TOP/tests/integration/lib.sh"
#   . "$MV_TOP/tests/mailsrv.sh"
#   mailsrv_start "$TMP/mail"
#   mailsrv_smtp_start "$TMP/mail"
#   mailsrv_deliver_samples
#   imap-worker --credentials "@$MAILSRV_CREDS_IMAPS" --ca_file "$MAILSRV_CA" ...
#
# Functions: mailsrv_start DIR, mailsrv_smtp_start DIR, mailsrv_stop,
# mailsrv_down and mailsrv_up (Dovecot alone), mailsrv_deliver FILE
# [FOLDER], mailsrv_deliver_samples, mailsrv_generate N [FOLDER [FIRST]],
# mailsrv_doveadm ARGS..., mailsrv_capability_without CAP...,
# mailsrv_creds_oauth2 FILE [NAME],
# mailsrv_log_tail; each is described where it is defined.
#
# mailsrv_start DIR exports:
#   MAILSRV_HOST                 127.0.0.1 (set it before to use another:
#                                localhost, say; the certificate names both)
#   MAILSRV_IMAP_PORT            IMAP, STARTTLS offered, LOGIN allowed without
#   MAILSRV_IMAPS_PORT           IMAP over implicit TLS
#   MAILSRV_POP3_PORT            POP3, STLS offered, USER/PASS allowed without
#   MAILSRV_POP3S_PORT           POP3 over implicit TLS
#   MAILSRV_SMTP_PORT            the submission port (STARTTLS; taken now,
#                                listening after mailsrv_smtp_start)
#   MAILSRV_SMTPS_PORT           the same over implicit TLS
#   MAILSRV_CA                   the test CA's certificate (PEM)
#   MAILSRV_USER                 alice@example.com
#   MAILSRV_PASSWORD_FILE        the password alone (no newline), mode 600
#   MAILSRV_MAILDIR              the user's Maildir++ (INBOX at its root)
#   MAILSRV_CREDS_IMAPS          credentials documents (contract 6), mode
#   MAILSRV_CREDS_STARTTLS       600, the password inside: imap on the IMAPS
#   MAILSRV_CREDS_PLAIN          port (tls), on the IMAP port (starttls, and
#   MAILSRV_CREDS_POP3S          none), pop3 on POP3S (tls); each with an
#   MAILSRV_CREDS_POP3_STARTTLS  smtp block (starttls; none in _PLAIN)
#   MAILSRV_WRONGNAME_HOST       127.0.0.2: the same ports, serving a
#   MAILSRV_CREDS_WRONGNAME      certificate from the CA for another name
#                                (mail.example.net): fails host verification
#   MAILSRV_SELFSIGNED_HOST      127.0.0.3: the same ports, serving a self-
#   MAILSRV_CREDS_SELFSIGNED     signed certificate naming 127.0.0.3 and
#                                localhost: fails chain verification
#   MAILSRV_CONF, MAILSRV_LOG    Dovecot's configuration and log
#   MAILSRV_RAWLOG               with MAILSRV_IMAP_RAWLOG=1 set before, a
#                                directory: each IMAP session after login,
#                                both ways (Dovecot's rawlog_dir), in files
#                                *.in (what the client sent) and *.out
#   MAILSRV_PID                  Dovecot's master process
# mailsrv_smtp_start DIR exports MAILSRV_SMTP_OUT (DIR/smtp-out: N.eml and
# N.json a message) and MAILSRV_SMTP_PID.
# With MAILSRV_IMAP_CAPABILITY set before mailsrv_start, Dovecot announces
# that capability list after login instead of its own (see
# mailsrv_capability_without).
# With MAILSRV_TOKENINFO_URL set before mailsrv_start (the Gmail API
# stand-in's "$STANDIN_URL/tokeninfo?access_token="), Dovecot also takes
# XOAUTH2 and OAUTHBEARER, the token checked there (see
# mailsrv_creds_oauth2). A failed login is answered at once, without the
# growing delay Dovecot gives an address that failed before.
# Special-use folders Sent, Drafts, Junk, Trash and Archive exist from the
# first login. Plaintext authentication is allowed on the plain ports:
# Dovecot counts loopback connections as secure anyway.
#
# Running as root, mail belongs to the user nobody and every directory
# above DIR is made searchable (o+x) so that it can reach its Maildir;
# login processes run as dovenull and internal ones as dovecot. Running as
# another user, everything runs as that user.

MAILSRV_PID=
MAILSRV_SMTP_PID=
MAILSRV_TOP=${MV_TOP:-$(pwd)}

# lib.sh's cleanup removes $TMP: stop the servers first, after showing
# the end of their logs if the test failed.
if command -v cleanup >/dev/null 2>&1; then
	trap 'mailsrv_rc=$?; [ "$mailsrv_rc" -eq 0 ] || mailsrv_log_tail >&2
	    mailsrv_stop; cleanup' EXIT
fi

mailsrv_fail() {
	if command -v fail >/dev/null 2>&1; then
		fail "$@"
	fi
	echo "FAIL: $*" >&2
	exit 1
}

# mailsrv_log_tail: the end of Dovecot's log (and the SMTP server's).
mailsrv_log_tail() {
	for f in "${MAILSRV_LOG:-}" "${MAILSRV_DIR:-/nonexistent}/smtpd.log"; do
		[ -n "$f" ] && [ -f "$f" ] || continue
		echo "--- $f"
		tail -n 30 "$f"
	done
}

# mailsrv_cert NAME SAN [self]: DIR/tls/NAME.key and NAME.crt for SAN,
# signed by the test CA (or by itself), valid for a day.
mailsrv_cert() {
	(
	cd "$MAILSRV_DIR/tls" || exit 1
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$1.key" 2>/dev/null || exit 1
	if [ "${3:-}" = self ]; then
		openssl req -x509 -new -key "$1.key" -days 1 \
		    -subj "/CN=$1 (self-signed)" -addext "subjectAltName=$2" \
		    -addext "extendedKeyUsage=serverAuth" -out "$1.crt" \
		    2>/dev/null
		exit
	fi
	openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" \
	    2>/dev/null || exit 1
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' \
	    "$2" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -days 1 -extfile "$1.ext" -out "$1.crt" \
	    2>/dev/null
	) || mailsrv_fail "mailsrv: openssl could not make the $1 certificate"
}

mailsrv_make_ca() {
	mkdir -p "$MAILSRV_DIR/tls"
	(
	cd "$MAILSRV_DIR/tls" || exit 1
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out ca.key 2>/dev/null &&
	openssl req -x509 -new -key ca.key -days 1 \
	    -subj "/CN=Mailvisor test CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    -out ca.crt 2>/dev/null
	) || mailsrv_fail "mailsrv: openssl could not make the test CA"
	mailsrv_cert server "IP:127.0.0.1,DNS:localhost"
	mailsrv_cert wrongname "DNS:mail.example.net"
	mailsrv_cert selfsigned "IP:127.0.0.3,DNS:localhost" self
	MAILSRV_CA=$MAILSRV_DIR/tls/ca.crt
}

# mailsrv_users: who runs what (root: see the top of this file).
mailsrv_users() {
	if [ "$(id -u)" -eq 0 ]; then
		MAILSRV_INTERNAL_USER=dovecot
		MAILSRV_INTERNAL_GROUP=dovecot
		MAILSRV_LOGIN_USER=dovenull
		MAILSRV_UID=$(id -u nobody)
		MAILSRV_GID=$(id -g nobody)
		d=$MAILSRV_DIR
		while [ "$d" != / ] && [ -n "$d" ]; do
			chmod o+x "$d"
			d=$(dirname "$d")
		done
	else
		MAILSRV_INTERNAL_USER=$(id -un)
		MAILSRV_INTERNAL_GROUP=$(id -gn)
		MAILSRV_LOGIN_USER=$MAILSRV_INTERNAL_USER
		MAILSRV_UID=$(id -u)
		MAILSRV_GID=$(id -g)
	fi
}

# mailsrv_conf_oauth2: with MAILSRV_TOKENINFO_URL, a passdb taking XOAUTH2
# and OAUTHBEARER whose tokens that URL (Google's tokeninfo, the token
# appended) vouches for: the Gmail API stand-in's /tokeninfo?access_token=.
mailsrv_conf_oauth2() {
	[ -n "${MAILSRV_TOKENINFO_URL:-}" ] || return 0
	printf 'tokeninfo_url = %s\nusername_attribute = email\n' \
	    "$MAILSRV_TOKENINFO_URL" >"$MAILSRV_DIR/oauth2.conf.ext"
	printf 'passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s\n}\n' \
	    "$MAILSRV_DIR/oauth2.conf.ext"
}

# mailsrv_conf_capability: with MAILSRV_IMAP_CAPABILITY, the capability
# list Dovecot announces after login (imap_capability replaces its own):
# see mailsrv_capability_without.
mailsrv_conf_capability() {
	[ -z "${MAILSRV_IMAP_CAPABILITY:-}" ] ||
	    printf '  imap_capability = %s\n' "$MAILSRV_IMAP_CAPABILITY"
	[ -z "${MAILSRV_IMAP_RAWLOG:-}" ] ||
	    printf '  rawlog_dir = %s\n' "$MAILSRV_RAWLOG"
}

# mailsrv_capability_without CAP...: Dovecot 2.3's capability list after
# login less CAP...; for MAILSRV_IMAP_CAPABILITY before mailsrv_start (say
# mailsrv_capability_without CONDSTORE QRESYNC: a server without them).
mailsrv_capability_without() {
	all="IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY
THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL
CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1
CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS
BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE
LITERAL+ NOTIFY SPECIAL-USE"
	for c in $all; do
		for x in "$@"; do
			[ "$c" = "$x" ] && continue 2
		done
		printf '%s ' "$c"
	done | sed 's/ $//'
}

# mailsrv_conf: writes $MAILSRV_CONF for the current ports.
mailsrv_conf() {
	d=$MAILSRV_DIR
	addrs="127.0.0.1, $MAILSRV_WRONGNAME_HOST, $MAILSRV_SELFSIGNED_HOST"
	case $MAILSRV_HOST in
	127.0.0.1) ;;
	localhost)
		# A client may try ::1 first.
		! /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
		    2>/dev/null || addrs="$addrs, ::1"
		;;
	*) addrs="$MAILSRV_HOST, $addrs" ;;
	esac
	cat >"$MAILSRV_CONF" <<EOF
# Made by tests/mailsrv.sh: nothing outside $d is written.
base_dir = $d/run
state_dir = $d/state
instance_name = mailsrv
log_path = $MAILSRV_LOG
protocols = imap pop3
listen = 127.0.0.1
default_internal_user = $MAILSRV_INTERNAL_USER
default_internal_group = $MAILSRV_INTERNAL_GROUP
default_login_user = $MAILSRV_LOGIN_USER
first_valid_uid = $MAILSRV_UID
first_valid_gid = $MAILSRV_GID
ssl = yes
ssl_cert = <$d/tls/server.crt
ssl_key = <$d/tls/server.key
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login${MAILSRV_TOKENINFO_URL:+ xoauth2 oauthbearer}
# A failed login answers at once, and none delays the next (anvil's auth
# penalty, up to 15 s, is off: its socket is not made): tests try wrong
# logins on purpose.
auth_failure_delay = 0
mail_location = maildir:$MAILSRV_MAILDIR
mail_home = $d/home
mail_fsync = never
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $d/passwd
}
$(mailsrv_conf_oauth2)
userdb {
  driver = passwd-file
  args = username_format=%u $d/passwd
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
}
protocol imap {
  mail_max_userip_connections = 100
$(mailsrv_conf_capability)
}
local $MAILSRV_WRONGNAME_HOST {
  ssl_cert = <$d/tls/wrongname.crt
  ssl_key = <$d/tls/wrongname.key
}
local $MAILSRV_SELFSIGNED_HOST {
  ssl_cert = <$d/tls/selfsigned.crt
  ssl_key = <$d/tls/selfsigned.key
}
# No chroot: a user other than root cannot, and the tests need none.
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = $addrs
    port = $MAILSRV_IMAP_PORT
  }
  inet_listener imaps {
    address = $addrs
    port = $MAILSRV_IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = $addrs
    port = $MAILSRV_POP3_PORT
  }
  inet_listener pop3s {
    address = $addrs
    port = $MAILSRV_POP3S_PORT
    ssl = yes
  }
}
EOF
}

# mailsrv_creds NAME TYPE PORT SECURITY SMTP-SECURITY [HOST]: a credentials
# document DIR/creds-NAME.json, mode 600.
mailsrv_creds() {
	f=$MAILSRV_DIR/creds-$1.json
	(umask 077 && jq -n --rawfile pw "$MAILSRV_PASSWORD_FILE" \
	    --arg type "$2" --arg host "${6:-$MAILSRV_HOST}" \
	    --argjson port "$3" --arg sec "$4" --arg user "$MAILSRV_USER" \
	    --arg ssec "$5" --argjson sport "$MAILSRV_SMTP_PORT" \
	    --arg shost "$MAILSRV_HOST" \
	    '{type: $type, host: $host, port: $port, security: $sec,
	      username: $user, password: $pw,
	      smtp: {host: $shost, port: $sport, security: $ssec}}' >"$f") ||
	    mailsrv_fail "mailsrv: cannot write $f"
	echo "$f"
}

# mailsrv_creds_oauth2 FILE [NAME]: prints the path of a credentials
# document (IMAPS, mode 600) whose "oauth2" is the JSON document in FILE
# (an authorized_user document, or {"access_token": ...}); for a Dovecot
# started with MAILSRV_TOKENINFO_URL.
mailsrv_creds_oauth2() {
	f=$MAILSRV_DIR/creds-oauth2-${2:-1}.json
	(umask 077 && jq --slurpfile o "$1" '{type, host, port, security,
	    username, smtp} + {oauth2: $o[0]}' "$MAILSRV_CREDS_IMAPS" >"$f") ||
	    mailsrv_fail "mailsrv: cannot write $f"
	echo "$f"
}

mailsrv_write_creds() {
	MAILSRV_CREDS_IMAPS=$(mailsrv_creds imaps imap "$MAILSRV_IMAPS_PORT" tls starttls)
	MAILSRV_CREDS_STARTTLS=$(mailsrv_creds starttls imap "$MAILSRV_IMAP_PORT" starttls starttls)
	MAILSRV_CREDS_PLAIN=$(mailsrv_creds plain imap "$MAILSRV_IMAP_PORT" none none)
	MAILSRV_CREDS_POP3S=$(mailsrv_creds pop3s pop3 "$MAILSRV_POP3S_PORT" tls starttls)
	MAILSRV_CREDS_POP3_STARTTLS=$(mailsrv_creds pop3-starttls pop3 "$MAILSRV_POP3_PORT" starttls starttls)
	MAILSRV_CREDS_WRONGNAME=$(mailsrv_creds wrongname imap "$MAILSRV_IMAPS_PORT" tls starttls "$MAILSRV_WRONGNAME_HOST")
	MAILSRV_CREDS_SELFSIGNED=$(mailsrv_creds selfsigned imap "$MAILSRV_IMAPS_PORT" tls starttls "$MAILSRV_SELFSIGNED_HOST")
	export MAILSRV_CREDS_IMAPS MAILSRV_CREDS_STARTTLS MAILSRV_CREDS_PLAIN \
	    MAILSRV_CREDS_POP3S MAILSRV_CREDS_POP3_STARTTLS \
	    MAILSRV_CREDS_WRONGNAME MAILSRV_CREDS_SELFSIGNED
}

# mailsrv_answers: 0 once IMAP (with a login), IMAPS, POP3 and POP3S
# answer as they should, verifying the certificate against the CA.
mailsrv_answers() {
	/usr/bin/python3 - <<'EOF'
import imaplib, os, poplib, ssl, sys
e = os.environ
h = e["MAILSRV_HOST"]
ctx = ssl.create_default_context(cafile=e["MAILSRV_CA"])
pw = open(e["MAILSRV_PASSWORD_FILE"]).read()
try:
    m = imaplib.IMAP4(h, int(e["MAILSRV_IMAP_PORT"]), timeout=5)
    m.login(e["MAILSRV_USER"], pw)
    m.logout()
    imaplib.IMAP4_SSL(h, int(e["MAILSRV_IMAPS_PORT"]), ssl_context=ctx,
                      timeout=5).logout()
    poplib.POP3(h, int(e["MAILSRV_POP3_PORT"]), timeout=5).quit()
    poplib.POP3_SSL(h, int(e["MAILSRV_POP3S_PORT"]), context=ctx,
                    timeout=5).quit()
except Exception as x:
    print("mailsrv: not ready: %s: %s" % (type(x).__name__, x),
          file=sys.stderr)
    sys.exit(1)
EOF
}

# mailsrv_ports: free loopback ports for every listener.
mailsrv_ports() {
	MAILSRV_IMAP_PORT=$(free_port)
	MAILSRV_IMAPS_PORT=$(free_port)
	MAILSRV_POP3_PORT=$(free_port)
	MAILSRV_POP3S_PORT=$(free_port)
	MAILSRV_SMTP_PORT=$(free_port)
	MAILSRV_SMTPS_PORT=$(free_port)
	export MAILSRV_IMAP_PORT MAILSRV_IMAPS_PORT MAILSRV_POP3_PORT \
	    MAILSRV_POP3S_PORT MAILSRV_SMTP_PORT MAILSRV_SMTPS_PORT
}

# mailsrv_dovecot: starts Dovecot in the foreground (in the background of
# this shell) and waits until it answers; 1 if it exited (a port taken
# between free_port and its bind, say).
mailsrv_dovecot() {
	: >"$MAILSRV_LOG"
	dovecot -F -c "$MAILSRV_CONF" </dev/null >>"$MAILSRV_DIR/dovecot.out" 2>&1 &
	MAILSRV_PID=$!
	end=$(( $(date +%s) + 30 ))
	while ! mailsrv_answers 2>"$MAILSRV_DIR/ready.err"; do
		if ! kill -0 "$MAILSRV_PID" 2>/dev/null; then
			wait "$MAILSRV_PID" 2>/dev/null
			MAILSRV_PID=
			return 1
		fi
		if [ "$(date +%s)" -gt "$end" ]; then
			cat "$MAILSRV_DIR/ready.err" >&2
			mailsrv_log_tail >&2
			mailsrv_fail "mailsrv: Dovecot does not answer"
		fi
		sleep 0.1
	done
}

# mailsrv_start DIR: see the top of this file.
mailsrv_start() {
	command -v dovecot >/dev/null 2>&1 ||
	    mailsrv_fail "mailsrv: dovecot not found (packages dovecot-imapd dovecot-pop3d)"
	mkdir -p "$1"
	MAILSRV_DIR=$(cd "$1" && pwd)
	: "${MAILSRV_HOST:=127.0.0.1}"
	MAILSRV_WRONGNAME_HOST=127.0.0.2
	MAILSRV_SELFSIGNED_HOST=127.0.0.3
	MAILSRV_USER=alice@example.com
	MAILSRV_CONF=$MAILSRV_DIR/dovecot.conf
	MAILSRV_LOG=$MAILSRV_DIR/dovecot.log
	MAILSRV_MAILDIR=$MAILSRV_DIR/Maildir
	MAILSRV_PASSWORD_FILE=$MAILSRV_DIR/password
	MAILSRV_RAWLOG=$MAILSRV_DIR/rawlog
	export MAILSRV_DIR MAILSRV_RAWLOG MAILSRV_HOST MAILSRV_WRONGNAME_HOST \
	    MAILSRV_SELFSIGNED_HOST MAILSRV_USER MAILSRV_CONF MAILSRV_LOG \
	    MAILSRV_MAILDIR MAILSRV_PASSWORD_FILE MAILSRV_CA
	mailsrv_make_ca
	mailsrv_users
	(
	umask 077
	od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$MAILSRV_PASSWORD_FILE"
	# The only user: another one vouched for by tokeninfo has no mail.
	printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$MAILSRV_USER" \
	    "$(cat "$MAILSRV_PASSWORD_FILE")" "$MAILSRV_UID" "$MAILSRV_GID" \
	    "$MAILSRV_DIR/home" >"$MAILSRV_DIR/passwd"
	)
	# Dovecot's auth process runs as its internal user.
	chgrp "$MAILSRV_INTERNAL_GROUP" "$MAILSRV_DIR/passwd"
	chmod 640 "$MAILSRV_DIR/passwd"
	mkdir -p "$MAILSRV_MAILDIR" "$MAILSRV_DIR/home" "$MAILSRV_DIR/run" \
	    "$MAILSRV_DIR/state" "$MAILSRV_RAWLOG"
	chown "$MAILSRV_UID:$MAILSRV_GID" "$MAILSRV_MAILDIR" "$MAILSRV_DIR/home" \
	    "$MAILSRV_RAWLOG"
	tries=0
	while :; do
		mailsrv_ports
		mailsrv_conf
		mailsrv_dovecot && break
		tries=$((tries + 1))
		if [ $tries -ge 3 ]; then
			mailsrv_log_tail >&2
			cat "$MAILSRV_DIR/dovecot.out" >&2
			mailsrv_fail "mailsrv: Dovecot exited"
		fi
	done
	mailsrv_write_creds
	export MAILSRV_PID
}

# mailsrv_smtp_start DIR: the submission server on $MAILSRV_SMTP_PORT
# (STARTTLS) and $MAILSRV_SMTPS_PORT (implicit TLS), storing into
# DIR/smtp-out (exported as MAILSRV_SMTP_OUT). After mailsrv_start.
mailsrv_smtp_start() {
	[ -n "${MAILSRV_CA:-}" ] || mailsrv_fail "mailsrv: mailsrv_smtp_start before mailsrv_start"
	mkdir -p "$1/smtp-out"
	MAILSRV_SMTP_OUT=$(cd "$1/smtp-out" && pwd)
	export MAILSRV_SMTP_OUT
	rm -f "$MAILSRV_DIR/smtp.port"
	/usr/bin/python3 "$MAILSRV_TOP/tests/mailsrv/smtpd" \
	    --host "$MAILSRV_HOST" --port "$MAILSRV_SMTP_PORT" \
	    --port-file "$MAILSRV_DIR/smtp.port" \
	    --tls-port "$MAILSRV_SMTPS_PORT" \
	    --user "$MAILSRV_USER" --password-file "$MAILSRV_PASSWORD_FILE" \
	    --cert "$MAILSRV_DIR/tls/server.crt" \
	    --key "$MAILSRV_DIR/tls/server.key" --out "$MAILSRV_SMTP_OUT" \
	    --log "$MAILSRV_DIR/smtpd.log" </dev/null &
	MAILSRV_SMTP_PID=$!
	i=0
	while [ ! -s "$MAILSRV_DIR/smtp.port" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$MAILSRV_SMTP_PID" 2>/dev/null; then
			mailsrv_log_tail >&2
			mailsrv_fail "mailsrv: the SMTP server did not start"
		fi
		sleep 0.05
	done
	export MAILSRV_SMTP_PID
}

# mailsrv_stop: stops Dovecot and the SMTP server by pid; removes nothing.
mailsrv_stop() {
	for p in $MAILSRV_SMTP_PID $MAILSRV_PID; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	MAILSRV_SMTP_PID=
	MAILSRV_PID=
}

# mailsrv_down: stops Dovecot alone (its ports then refuse connections);
# mailsrv_up starts it again on the same ports, with the same mailbox.
mailsrv_down() {
	[ -n "$MAILSRV_PID" ] || return 0
	kill "$MAILSRV_PID" 2>/dev/null || true
	wait "$MAILSRV_PID" 2>/dev/null || true
	MAILSRV_PID=
}

mailsrv_up() {
	[ -z "$MAILSRV_PID" ] || return 0
	if ! mailsrv_dovecot; then
		mailsrv_log_tail >&2
		mailsrv_fail "mailsrv: Dovecot did not start again"
	fi
	export MAILSRV_PID
}

# mailsrv_doveadm ARGS...: doveadm against this Dovecot, e.g.
#   mailsrv_doveadm flags add -u "$MAILSRV_USER" '\Seen' mailbox INBOX uid 3
mailsrv_doveadm() {
	doveadm -c "$MAILSRV_CONF" "$@"
}

# mailsrv_mkfolder FOLDER: creates FOLDER unless it exists.
mailsrv_mkfolder() {
	[ "$1" = INBOX ] && return 0
	mailsrv_doveadm mailbox status -u "$MAILSRV_USER" messages "$1" \
	    >/dev/null 2>&1 ||
	    mailsrv_doveadm mailbox create -u "$MAILSRV_USER" "$1" ||
	    mailsrv_fail "mailsrv: cannot create folder $1"
}

# mailsrv_deliver FILE [FOLDER]: saves a raw RFC 5322 message in FOLDER
# (INBOX), creating it when needed, through Dovecot (doveadm save).
mailsrv_deliver() {
	mailsrv_mkfolder "${2:-INBOX}"
	mailsrv_doveadm save -u "$MAILSRV_USER" -m "${2:-INBOX}" <"$1" ||
	    mailsrv_fail "mailsrv: cannot deliver $1 to ${2:-INBOX}"
}

# mailsrv_maildir ARGS...: tests/mailsrv/maildir into the user's Maildir,
# then Dovecot syncs every folder (UIDs, modseqs, indexes).
mailsrv_maildir() {
	/usr/bin/python3 "$MAILSRV_TOP/tests/mailsrv/maildir" "$1" \
	    "$MAILSRV_MAILDIR" "$2" ${3:+"$3"} ${4:+"$4"} ||
	    mailsrv_fail "mailsrv: cannot write messages into $MAILSRV_MAILDIR"
	[ "$(id -u)" -ne 0 ] ||
	    chown -R "$MAILSRV_UID:$MAILSRV_GID" "$MAILSRV_MAILDIR"
	mailsrv_doveadm force-resync -u "$MAILSRV_USER" '*' ||
	    mailsrv_fail "mailsrv: doveadm force-resync failed"
}

# mailsrv_deliver_samples: the Gmail API stand-in's sample messages of
# alice@example.com (tests/standin/mailbox), in the folders their labels
# name (see tests/mailsrv/maildir): 26 in INBOX, one each in Sent, Junk,
# Trash, more in Work, Receipts, Newsletters and Travel/2026.
mailsrv_deliver_samples() {
	mailsrv_maildir samples \
	    "$MAILSRV_TOP/tests/standin/mailbox/alice@example.com"
}

# mailsrv_generate N [FOLDER [FIRST]]: N generated messages (2-20 KB each,
# numbered from FIRST, 0) in FOLDER (INBOX); 10 000 take seconds.
mailsrv_generate() {
	mailsrv_maildir generate "${2:-INBOX}" "$1" "${3:-0}"
}
