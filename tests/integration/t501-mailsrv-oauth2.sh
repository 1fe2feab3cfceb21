#!/bin/sh
# tests/mailsrv.sh with MAILSRV_TOKENINFO_URL: Dovecot takes XOAUTH2 and
# OAUTHBEARER and asks the Gmail API stand-in's /tokeninfo whether the
# token is live and whose it is. A static token and one from the refresh
# grant log alice in; an unknown token, bob's token for alice and a
# revoked one do not; the password still works. No token in the output.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

start_standin
MAILSRV_TOKENINFO_URL="$STANDIN_URL/tokeninfo?access_token="
mailsrv_start "$TMP/mail"

# The stand-in's own answers, as Google's tokeninfo gives them.
ALICE_STATIC=$(jq -r .access_token "$TMP/creds/alice-access-token.json")
curl -s "$STANDIN_URL/tokeninfo?access_token=$ALICE_STATIC" >"$TMP/ti" ||
    fail "tokeninfo"
expect_eq "$(jq -r .email "$TMP/ti")" alice@example.com "tokeninfo email"
[ "$(jq -r .expires_in "$TMP/ti")" -gt 0 ] || fail "tokeninfo expires_in"
rc=$(curl -s -o "$TMP/ti" -w '%{http_code}' "$STANDIN_URL/tokeninfo?access_token=nope")
expect_eq "$rc" 400 "tokeninfo of an unknown token"
expect_eq "$(jq -r .error "$TMP/ti")" invalid_token "tokeninfo error"

# A token from the refresh grant, as an IMAP client would get one.
jq -r '"client_id=\(.client_id)&client_secret=\(.client_secret)&refresh_token=\(.refresh_token)&grant_type=refresh_token"' \
    "$TMP/creds/alice-authorized-user.json" >"$TMP/grant"
curl -sf --data @"$TMP/grant" "$STANDIN_URL/token" >"$TMP/minted" ||
    fail "refresh grant"
jq -r .access_token "$TMP/minted" >"$TMP/alice.tok"
printf '%s' "$ALICE_STATIC" >"$TMP/alice-static.tok"
jq -r '.accounts[] | select(.email == "bob@example.com") | .access_token' \
    "$MV_TOP/tests/standin/accounts.json" >"$TMP/bob.tok"
printf 'ya29.standin-unknown' >"$TMP/unknown.tok"

# login MECH TOKEN-FILE [USER]: OK or NO from an IMAPS AUTHENTICATE.
login() {
	/usr/bin/python3 - "$@" <<'EOF'
import imaplib, os, ssl, sys
e = os.environ
mech, tokfile = sys.argv[1], sys.argv[2]
user = sys.argv[3] if len(sys.argv) > 3 else e["MAILSRV_USER"]
tok = open(tokfile).read().strip()
if mech == "XOAUTH2":
    s = "user=%s\x01auth=Bearer %s\x01\x01" % (user, tok)
else:
    s = "n,a=%s,\x01auth=Bearer %s\x01\x01" % (user, tok)
ctx = ssl.create_default_context(cafile=e["MAILSRV_CA"])
m = imaplib.IMAP4_SSL(e["MAILSRV_HOST"], int(e["MAILSRV_IMAPS_PORT"]),
                      ssl_context=ctx)
if "AUTH=" + mech not in m.capabilities:
    print("no AUTH=%s in %s" % (mech, m.capabilities))
    sys.exit(1)
try:
    m.authenticate(mech, lambda _: s.encode())
    m.select("INBOX", readonly=True)
    print("OK")
    m.logout()
except imaplib.IMAP4.error:
    print("NO")
EOF
}
expect_eq "$(login XOAUTH2 "$TMP/alice-static.tok")" OK "XOAUTH2, static token"
expect_eq "$(login XOAUTH2 "$TMP/alice.tok")" OK "XOAUTH2, refresh-grant token"
expect_eq "$(login OAUTHBEARER "$TMP/alice.tok")" OK "OAUTHBEARER"
expect_eq "$(login XOAUTH2 "$TMP/unknown.tok")" NO "XOAUTH2, unknown token"
expect_eq "$(login XOAUTH2 "$TMP/bob.tok")" NO "XOAUTH2, bob's token for alice"
expect_eq "$(login XOAUTH2 "$TMP/bob.tok" bob@example.com)" NO \
    "XOAUTH2, bob: no such user here"
control POST /_standin/revoke '{"user": "alice@example.com"}' >/dev/null ||
    fail "revoke"
expect_eq "$(login XOAUTH2 "$TMP/alice.tok")" NO "XOAUTH2, revoked token"

# A credentials document for an IMAP client with OAuth2.
f=$(mailsrv_creds_oauth2 "$TMP/creds/alice-authorized-user.json")
expect_eq "$(stat -c %a "$f")" 600 "mode of $f"
expect_eq "$(jq -c '[.type, .port, .security, .username, .oauth2.type, has("password")]' "$f")" \
    "[\"imap\",$MAILSRV_IMAPS_PORT,\"tls\",\"alice@example.com\",\"authorized_user\",false]" \
    "oauth2 document"
expect_eq "$(jq -c .oauth2 "$f")" "$(jq -c . "$TMP/creds/alice-authorized-user.json")" \
    "oauth2 document's grant"

# The password still logs in (passwd-file for PLAIN and LOGIN).
/usr/bin/python3 - >"$TMP/py.out" 2>&1 <<'EOF' || fail "password login: $(cat "$TMP/py.out")"
import imaplib, os, ssl
e = os.environ
ctx = ssl.create_default_context(cafile=e["MAILSRV_CA"])
m = imaplib.IMAP4_SSL(e["MAILSRV_HOST"], int(e["MAILSRV_IMAPS_PORT"]),
                      ssl_context=ctx)
m.login(e["MAILSRV_USER"], open(e["MAILSRV_PASSWORD_FILE"]).read())
m.logout()
EOF
for t in "$TMP"/*.tok; do
	for f in "$TMP/py.out" "$MAILSRV_LOG"; do
		if grep -qF -- "$(cat "$t")" "$f"; then
			fail "a token appears in $f"
		fi
	done
done
echo "ok: mailsrv oauth2"
