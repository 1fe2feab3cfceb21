#!/usr/bin/python3
# Tests of the Gmail API stand-in: starts gmail-standin on a free port and
# checks tokens, every method, the sample mailboxes, batch, quota and faults.
"""Run: /usr/bin/python3 tests/standin/test_standin.py [-v]"""

import base64
import email.parser
import email.policy
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from standin import gen, mime  # noqa: E402

PROG = os.path.join(HERE, "gmail-standin")
ALICE_DIR = os.path.join(HERE, "mailbox", "alice@example.com")
with open(os.path.join(HERE, "accounts.json")) as _f:
    ACCOUNTS = json.load(_f)
ALICE_TOK = ACCOUNTS["accounts"][0]["access_token"]
BOB_TOK = ACCOUNTS["accounts"][1]["access_token"]
SA = ACCOUNTS["service_accounts"][0]
P = "https://www.googleapis.com/auth/"

AUTH_401 = {"error": {"code": 401, "message": "Invalid Credentials",
                      "errors": [{"message": "Invalid Credentials",
                                  "domain": "global", "reason": "authError",
                                  "locationType": "header",
                                  "location": "Authorization"}],
                      "status": "UNAUTHENTICATED"}}
NOT_FOUND = {"error": {"code": 404,
                       "message": "Requested entity was not found.",
                       "errors": [{"message":
                                   "Requested entity was not found.",
                                   "domain": "global",
                                   "reason": "notFound"}],
                       "status": "NOT_FOUND"}}
RATE_429 = {"error": {"code": 429, "message":
                      "Resource has been exhausted (e.g. check quota).",
                      "errors": [{"message": "Resource has been exhausted "
                                  "(e.g. check quota).", "domain": "global",
                                  "reason": "rateLimitExceeded"}],
                      "status": "RESOURCE_EXHAUSTED"}}
SCOPES_403 = {"error": {"code": 403, "message":
                        "Request had insufficient authentication scopes.",
                        "errors": [{"message": "Insufficient Permission",
                                    "domain": "global",
                                    "reason": "insufficientPermissions"}],
                        "status": "PERMISSION_DENIED"}}

WITHIN_1D = ["01-plain-ascii", "02-utf8-encoded-words", "03-latin1-qp",
             "04-windows-1252", "05-iso-2022-jp", "06-gb2312",
             "07-shift-jis", "08-utf7", "09-utf8-invalid",
             "10-unknown-charset", "11-8bit-no-charset", "12-alternative",
             "13-html-only", "14-mixed-attachments",
             "15-related-inline-image"]
WITHIN_3D = WITHIN_1D + ["16-forwarded-rfc822", "17-group-address",
                         "18-thread-start", "19-thread-reply",
                         "20-missing-date", "21-garbage-date",
                         "22-big-body-attachment", "23-deep-nesting",
                         "26-sent-reply"]
OLDER = ["27-old-newsletter", "28-old-receipt", "29-old-starred"]
SPAM_TRASH = ["24-spam", "25-trash"]


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def mid(name, user="alice@example.com"):
    return hashlib.sha1(("%s/%s.eml" % (user, name)).encode()) \
        .hexdigest()[:16]


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(data, pad=False):
    s = base64.urlsafe_b64encode(data).decode()
    return s if pad else s.rstrip("=")


def file_served(name):
    """The sample file's bytes without X-Standin-* header lines (computed
    here independently of the server code)."""
    data = read(os.path.join(ALICE_DIR, name + ".eml"), "rb")
    sep = re.search(rb"\r?\n\r?\n", data)
    head, rest = data[:sep.start()], data[sep.start():]
    lines = head.splitlines(keepends=True)
    out, skip = [], False
    for line in lines:
        if line[:1] in (b" ", b"\t") and skip:
            continue
        skip = line.lower().startswith(b"x-standin-")
        if not skip:
            out.append(line)
    return b"".join(out) + rest


def walk(part):
    yield part
    for p in part.get("parts", []):
        yield from walk(p)


def header(part, name):
    for h in part.get("headers", []):
        if h["name"].lower() == name.lower():
            return h["value"]
    return None


def text_of(part, mime_type="text/plain"):
    for p in walk(part):
        if p["mimeType"] == mime_type and "data" in p["body"]:
            return b64d(p["body"]["data"])
    return None


def sign_jwt(claims, key=None, header=None):
    if key is None:
        key = serialization.load_pem_private_key(
            read(os.path.join(HERE, "keys", "service-account.pem"), "rb"),
            None)
    h = header or {"alg": "RS256", "typ": "JWT", "kid": SA["private_key_id"]}
    seg = b64url(json.dumps(h).encode()) + "." + \
        b64url(json.dumps(claims).encode())
    sig = key.sign(seg.encode(), padding.PKCS1v15(), hashes.SHA256())
    return seg + "." + b64url(sig)


class Standin:
    """A gmail-standin subprocess on a free port."""
    prog = PROG

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="standin-test-")
        self.port_file = os.path.join(self.dir, "port")
        self.log = os.path.join(self.dir, "log.jsonl")
        self.errf = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(
            [sys.executable, self.prog, "--port", "0", "--port-file",
             self.port_file, "--log", self.log] + list(extra),
            stdout=subprocess.DEVNULL, stderr=self.errf)
        deadline = time.time() + 10
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("%s did not start" % self.prog)
            time.sleep(0.02)
        self.port = int(read(self.port_file))
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=10)

    def stop(self):
        self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        t = time.time()
        rc = self.proc.wait(10)
        took = time.time() - t
        self.errf.seek(0)
        err = self.errf.read()
        self.errf.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc, took, err

    def req(self, method, path, body=None, token=ALICE_TOK, headers=None,
            raw=False):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError,
                    http.client.BadStatusLine):
                self.conn.close()
                if attempt:
                    raise
        if raw:
            return r, data
        ct = r.getheader("Content-Type") or ""
        if data and ct.startswith("application/json"):
            return r.status, json.loads(data)
        return r.status, data

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, body, **kw)

    def control(self, method, path, body=None):
        return self.req(method, "/_standin/" + path, body, token=None)

    def token(self, form):
        body = urllib.parse.urlencode(form).encode()
        return self.req("POST", "/token", body, token=None, headers={
            "Content-Type": "application/x-www-form-urlencoded"})


U = "/gmail/v1/users/me"


class StandinCase(unittest.TestCase):
    extra = ("--quiet", "--generate", "40")

    @classmethod
    def setUpClass(cls):
        cls.s = Standin(*cls.extra)

    @classmethod
    def tearDownClass(cls):
        rc, took, err = cls.s.stop()
        assert rc == 0, (rc, err)
        assert took < 3, took
        cls.stderr = err

    def setUp(self):
        self.s.control("POST", "reset")
        self.s.control("POST", "settings", {
            "charset_mode": "utf8", "headers": "decoded", "latency_ms": 0,
            "quota_per_minute": 0, "quota_per_second": 0,
            "quota_profile": "classic", "token_uses": 0,
            "body_attachment_threshold": 1 << 20})

    def ids(self, q=None, extra=""):
        out, tok = [], None
        while True:
            path = "%s/messages?maxResults=500%s" % (U, extra)
            if q:
                path += "&q=" + urllib.parse.quote(q)
            if tok:
                path += "&pageToken=" + tok
            st, r = self.s.get(path)
            self.assertEqual(st, 200, r)
            out += [m["id"] for m in r.get("messages", [])]
            tok = r.get("nextPageToken")
            if not tok:
                return out

    def msg(self, name, fmt="full", extra=""):
        st, r = self.s.get("%s/messages/%s?format=%s%s"
                           % (U, mid(name), fmt, extra))
        self.assertEqual(st, 200, r)
        return r


class TestStartup(StandinCase):
    def test_help_lists_every_option(self):
        out = subprocess.run([sys.executable, PROG, "--help"],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        for opt in ("--host", "--port", "--port-file", "--accounts",
                    "--mailbox", "--generate", "--charset-mode", "--headers",
                    "--latency-ms", "--quota-per-minute",
                    "--quota-per-second", "--quota-profile", "--token-ttl",
                    "--token-uses", "--body-attachment-threshold", "--log",
                    "--quiet"):
            self.assertIn(opt, out.stdout)

    def test_bad_option_is_usage_error(self):
        out = subprocess.run([sys.executable, PROG, "--latency-ms", "-1"],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--latency-ms must not be negative", out.stderr)

    def test_listening_line_and_port_file(self):
        self.s.errf.flush()
        err = read(self.s.errf.name)
        self.assertEqual(err, "gmail-standin: listening on "
                         "http://127.0.0.1:%d\n" % self.s.port)

    def test_keep_alive_one_connection(self):
        c = http.client.HTTPConnection("127.0.0.1", self.s.port)
        for _ in range(5):
            c.request("GET", U + "/profile",
                      headers={"Authorization": "Bearer " + ALICE_TOK})
            r = c.getresponse()
            self.assertEqual(r.getheader("Content-Length"),
                             str(len(r.read())))
        c.close()
        st, stats = self.s.control("GET", "stats")
        self.assertEqual(stats["connections"], 1)
        self.assertEqual(stats["http_requests"], 5)


class TestTokens(StandinCase):
    def refresh_form(self, who=0, **over):
        au = ACCOUNTS["accounts"][who]["authorized_user"]
        f = {"grant_type": "refresh_token", "client_id": au["client_id"],
             "client_secret": au["client_secret"],
             "refresh_token": au["refresh_token"]}
        f.update(over)
        return f

    def claims(self, **over):
        now = int(time.time())
        c = {"iss": SA["client_email"], "scope": "https://mail.google.com/",
             "aud": "https://oauth2.googleapis.com/token", "iat": now,
             "exp": now + 3600, "sub": "bob@example.com"}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def test_refresh_grant(self):
        st, r = self.s.token(self.refresh_form())
        self.assertEqual(st, 200, r)
        self.assertEqual(r["token_type"], "Bearer")
        self.assertEqual(r["expires_in"], 3600)
        self.assertEqual(r["scope"], "https://mail.google.com/")
        st, p = self.s.get(U + "/profile", token=r["access_token"])
        self.assertEqual((st, p["emailAddress"]), (200, "alice@example.com"))

    def test_refresh_grant_bad_token(self):
        st, r = self.s.token(self.refresh_form(refresh_token="1//nope"))
        self.assertEqual((st, r), (400, {
            "error": "invalid_grant",
            "error_description": "Token has been expired or revoked."}))

    def test_refresh_grant_unknown_client_and_bad_secret(self):
        st, r = self.s.token(self.refresh_form(client_id="x.apps"))
        self.assertEqual((st, r["error"]), (401, "invalid_client"))
        st, r = self.s.token(self.refresh_form(client_secret="wrong"))
        self.assertEqual((st, r["error"]), (401, "invalid_client"))

    def test_unsupported_grant(self):
        st, r = self.s.token({"grant_type": "password"})
        self.assertEqual((st, r["error"]), (400, "unsupported_grant_type"))

    def test_revoke_then_reset(self):
        self.s.control("POST", "revoke", {"user": "alice@example.com"})
        st, r = self.s.token(self.refresh_form())
        self.assertEqual((st, r["error"]), (400, "invalid_grant"))
        self.s.control("POST", "reset")
        st, r = self.s.token(self.refresh_form())
        self.assertEqual(st, 200)

    def test_jwt_grant(self):
        st, r = self.s.token({"grant_type": "urn:ietf:params:oauth:"
                              "grant-type:jwt-bearer",
                              "assertion": sign_jwt(self.claims())})
        self.assertEqual(st, 200, r)
        st, p = self.s.get(U + "/profile", token=r["access_token"])
        self.assertEqual(p["emailAddress"], "bob@example.com")
        # the token is bob's: alice's mailbox is another user's
        st, p = self.s.get("/gmail/v1/users/alice@example.com/profile",
                           token=r["access_token"])
        self.assertEqual(st, 403)
        self.assertEqual(p["error"]["message"],
                         "Delegation denied for alice@example.com")

    def test_jwt_local_audience_and_no_kid(self):
        aud = "http://127.0.0.1:%d/token" % self.s.port
        jwt = sign_jwt(self.claims(aud=aud),
                       header={"alg": "RS256", "typ": "JWT"})
        st, r = self.s.token({"grant_type": "urn:ietf:params:oauth:"
                              "grant-type:jwt-bearer", "assertion": jwt})
        self.assertEqual(st, 200, r)

    def jwt_error(self, claims, key=None, header=None):
        st, r = self.s.token({"grant_type": "urn:ietf:params:oauth:"
                              "grant-type:jwt-bearer",
                              "assertion": sign_jwt(claims, key, header)})
        return st, r

    def test_jwt_bad_signature(self):
        other = rsa.generate_private_key(public_exponent=65537,
                                         key_size=2048)
        self.assertEqual(self.jwt_error(self.claims(), key=other), (400, {
            "error": "invalid_grant",
            "error_description": "Invalid JWT Signature."}))
        st, r = self.jwt_error(self.claims(), header={"alg": "HS256"})
        self.assertEqual((st, r["error"]), (400, "invalid_grant"))
        st, r = self.s.token({"grant_type": "urn:ietf:params:oauth:"
                              "grant-type:jwt-bearer",
                              "assertion": "a.b\xff.c"})
        self.assertEqual((st, r["error"]), (400, "invalid_grant"))

    def test_jwt_unknown_or_missing_sub(self):
        want = (401, {"error": "unauthorized_client", "error_description":
                      "Client is unauthorized to retrieve access tokens "
                      "using this method, or client not authorized for any "
                      "of the scopes requested."})
        self.assertEqual(self.jwt_error(self.claims(
            sub="mallory@example.com")), want)
        self.assertEqual(self.jwt_error(self.claims(sub=None)), want)
        self.assertEqual(self.jwt_error(self.claims(
            scope=P + "drive")), want)

    def test_jwt_audience_and_time(self):
        st, r = self.jwt_error(self.claims(aud="https://evil.example/token"))
        self.assertEqual((st, r["error"]), (400, "invalid_grant"))
        self.assertIn("audience", r["error_description"])
        now = int(time.time())
        st, r = self.jwt_error(self.claims(iat=now - 7200, exp=now - 3600))
        self.assertEqual((st, r["error"]), (400, "invalid_grant"))
        st, r = self.jwt_error(self.claims(exp=now + 7200))
        self.assertEqual((st, r["error"]), (400, "invalid_grant"))
        st, r = self.jwt_error(self.claims(scope=None))
        self.assertEqual((st, r["error"]), (400, "invalid_scope"))

    def scoped(self, scope, sub="bob@example.com"):
        st, r = self.s.token({"grant_type": "urn:ietf:params:oauth:"
                              "grant-type:jwt-bearer", "assertion":
                              sign_jwt(self.claims(scope=scope, sub=sub))})
        self.assertEqual(st, 200, r)
        return r["access_token"]

    def test_scopes_enforced(self):
        bob1 = mid("01-welcome", "bob@example.com")
        ro = self.scoped(P + "gmail.readonly")
        self.assertEqual(self.s.get(U + "/messages/" + bob1, token=ro)[0],
                         200)
        self.assertEqual(self.s.post(U + "/messages/%s/modify" % bob1,
                                     {"addLabelIds": ["STARRED"]},
                                     token=ro), (403, SCOPES_403))
        meta = self.scoped(P + "gmail.metadata")
        self.assertEqual(self.s.get(U + "/messages?q=hello", token=meta),
                         (403, SCOPES_403))
        self.assertEqual(self.s.get(U + "/messages/%s?format=full" % bob1,
                                    token=meta)[0], 403)
        self.assertEqual(self.s.get(U + "/messages/%s?format=raw" % bob1,
                                    token=meta)[0], 403)
        self.assertEqual(self.s.get(U + "/messages/%s?format=metadata"
                                    % bob1, token=meta)[0], 200)
        self.assertEqual(self.s.get(U + "/messages", token=meta)[0], 200)
        snd = self.scoped(P + "gmail.send")
        self.assertEqual(self.s.get(U + "/messages", token=snd)[0], 403)
        mod = self.scoped(P + "gmail.modify")
        self.assertEqual(self.s.post(U + "/messages/batchDelete",
                                     {"ids": [bob1]}, token=mod),
                         (403, SCOPES_403))
        self.assertEqual(self.s.req("DELETE", U + "/messages/" + bob1,
                                    token=mod)[0], 403)

    def test_missing_and_unknown_token(self):
        self.assertEqual(self.s.get(U + "/profile", token=None),
                         (401, AUTH_401))
        r, data = self.s.get(U + "/profile", token="ya29.unknown", raw=True)
        self.assertEqual(r.status, 401)
        self.assertIn("invalid_token", r.getheader("WWW-Authenticate"))
        self.assertEqual(json.loads(data), AUTH_401)

    def test_access_token_query_parameter(self):
        st, r = self.s.get(U + "/profile?access_token=" + ALICE_TOK,
                           token=None)
        self.assertEqual(st, 200)

    def test_tokeninfo(self):
        st, r = self.s.get("/tokeninfo?access_token=" + ALICE_TOK,
                           token=None)
        self.assertEqual(st, 200)
        self.assertEqual(r["email"], "alice@example.com")
        self.assertGreater(int(r["expires_in"]), 0)
        st, minted = self.s.token(self.refresh_form())
        st, r = self.s.get("/oauth2/v3/tokeninfo",
                           token=minted["access_token"])
        self.assertEqual((st, r["email"]), (200, "alice@example.com"))
        self.assertIn("https://mail.google.com/", r["scope"].split())
        self.assertEqual(self.s.get("/tokeninfo?access_token=ya29.nope",
                                    token=None),
                         (400, {"error": "invalid_token",
                                "error_description": "Invalid Value"}))
        st, log = self.s.control("GET", "log")
        ti = [e for e in log if e["path"] == "/tokeninfo"]
        self.assertEqual(ti[0]["query"]["access_token"], ["<redacted>"])

    def test_token_log_is_redacted(self):
        self.s.token(self.refresh_form())
        self.s.token({"grant_type": "urn:ietf:params:oauth:grant-type:"
                      "jwt-bearer", "assertion": sign_jwt(self.claims())})
        st, log = self.s.control("GET", "log")
        tok = [e for e in log if e["path"] == "/token"]
        self.assertEqual(len(tok), 2)
        self.assertEqual(tok[0]["body"]["client_secret"], "<redacted>")
        self.assertEqual(tok[0]["body"]["refresh_token"], "<redacted>")
        self.assertEqual(tok[0]["user"], "alice@example.com")
        self.assertEqual(tok[1]["body"]["assertion"], "<redacted>")
        self.assertEqual(tok[1]["body"]["claims"]["sub"], "bob@example.com")
        self.assertEqual(set(tok[1]["body"]["claims"]),
                         {"iss", "sub", "aud", "scope", "iat", "exp"})
        text = read(self.s.log)
        au = ACCOUNTS["accounts"][0]["authorized_user"]
        for secret in (au["client_secret"], au["refresh_token"], ALICE_TOK,
                       "ya29.standin-"):
            self.assertNotIn(secret, text)


class TestExpireTokens(unittest.TestCase):
    def test_expire_tokens_and_short_ttl(self):
        s = Standin("--quiet", "--token-ttl", "1")
        try:
            au = ACCOUNTS["accounts"][0]["authorized_user"]
            form = {"grant_type": "refresh_token",
                    "client_id": au["client_id"],
                    "client_secret": au["client_secret"],
                    "refresh_token": au["refresh_token"]}
            st, r = s.token(form)
            self.assertEqual(r["expires_in"], 1)
            self.assertEqual(s.get(U + "/profile",
                                   token=r["access_token"])[0], 200)
            time.sleep(1.1)
            self.assertEqual(s.get(U + "/profile", token=r["access_token"]),
                             (401, AUTH_401))
            s.control("POST", "settings", {"token_ttl": 3600})
            st, r = s.token(form)
            s.control("POST", "expire-tokens")
            self.assertEqual(s.get(U + "/profile", token=r["access_token"]),
                             (401, AUTH_401))
            self.assertEqual(s.get(U + "/profile", token=ALICE_TOK),
                             (401, AUTH_401))
            st, r = s.token(form)
            self.assertEqual(s.get(U + "/profile",
                                   token=r["access_token"])[0], 200)
            self.assertEqual(s.get(U + "/profile", token=ALICE_TOK)[0], 401)
        finally:
            self.assertEqual(s.stop()[0], 0)


class TestList(StandinCase):
    def test_days_back_sets(self):
        self.assertEqual(set(self.ids("newer_than:1d")) -
                         set(self.generated()),
                         {mid(n) for n in WITHIN_1D})
        got3 = set(self.ids("newer_than:3d")) - set(self.generated())
        self.assertEqual(got3, {mid(n) for n in WITHIN_3D})
        after = int(time.time()) - 86400
        self.assertEqual(set(self.ids("after:%d" % after))
                         - set(self.generated()),
                         {mid(n) for n in WITHIN_1D})

    def generated(self):
        return [hashlib.sha1(("alice@example.com/generated/%06d" % i)
                             .encode()).hexdigest()[:16] for i in range(40)]

    def test_all_newest_first_without_spam_trash(self):
        ids = self.ids()
        self.assertEqual(len(ids), 27 + 40)
        samples = [i for i in ids if i not in set(self.generated())]
        order = sorted(WITHIN_3D + OLDER, key=lambda n: WITHIN_3D.index(n)
                       if n in WITHIN_3D else 100 + OLDER.index(n))
        self.assertEqual(set(samples), {mid(n) for n in order})
        st, p = self.s.get(U + "/messages?maxResults=500")
        dates = []
        for m in p["messages"]:
            st, r = self.s.get(U + "/messages/%s?format=minimal" % m["id"])
            dates.append(int(r["internalDate"]))
        self.assertEqual(dates, sorted(dates, reverse=True))

    def test_spam_trash(self):
        self.assertEqual(set(self.ids(extra="&includeSpamTrash=true")) -
                         set(self.ids()), {mid(n) for n in SPAM_TRASH})
        self.assertEqual(self.ids("in:spam"), [mid("24-spam")])
        self.assertEqual(self.ids(extra="&labelIds=TRASH"),
                         [mid("25-trash")])

    def test_label_ids_and(self):
        got = self.ids(extra="&labelIds=INBOX&labelIds=Label_Work")
        self.assertEqual(set(got) - set(self.generated()),
                         {mid("12-alternative"), mid("18-thread-start"),
                          mid("19-thread-reply")})
        self.assertEqual(self.ids(extra="&labelIds=Label_Receipts"
                                  "&labelIds=UNREAD"),
                         [mid("14-mixed-attachments")])

    def test_q_operators(self):
        self.assertEqual(self.ids('subject:"quarterly report"'),
                         [mid("12-alternative")])
        self.assertEqual(self.ids("from:koeln@example.org"),
                         [mid("02-utf8-encoded-words")])
        self.assertEqual(self.ids("from:grüße"),
                         [mid("02-utf8-encoded-words")])
        self.assertEqual(set(self.ids("has:attachment")) -
                         set(self.generated()),
                         {mid("14-mixed-attachments")})
        self.assertEqual(self.ids('"agenda to follow" older_than:1d'),
                         [mid("19-thread-reply"), mid("18-thread-start")])
        self.assertEqual(self.ids("label:receipts"),
                         [mid("14-mixed-attachments"),
                          mid("28-old-receipt")])
        self.assertEqual(self.ids("label:travel-2026 is:starred"),
                         [mid("29-old-starred")])
        self.assertEqual(self.ids("in:sent"), [mid("26-sent-reply")])
        self.assertEqual(self.ids("XK42QZ"), [mid("29-old-starred")])
        self.assertEqual(self.ids("阿里云"), [mid("06-gb2312")])
        self.assertEqual(self.ids("to:undisclosed-recipients "
                                  "unknownop:whatever"),
                         [mid("17-group-address")])
        unread = set(self.ids("is:unread")) - set(self.generated())
        self.assertIn(mid("19-thread-reply"), unread)
        self.assertNotIn(mid("18-thread-start"), unread)
        self.assertEqual(self.ids("before:2000/01/01"), [])
        self.assertEqual([i for i in self.ids("-is:unread label:work "
                                              "newer_than:2d")
                          if i not in self.generated()],
                         [mid("18-thread-start")])

    def test_pagination(self):
        all_ids = self.ids()
        got, tok, pages = [], None, 0
        while True:
            st, r = self.s.get(U + "/messages?maxResults=7" +
                               ("&pageToken=" + tok if tok else ""))
            self.assertEqual(r["resultSizeEstimate"], len(all_ids))
            got += [m["id"] for m in r["messages"]]
            pages += 1
            tok = r.get("nextPageToken")
            if not tok:
                break
        self.assertEqual(got, all_ids)
        self.assertEqual(pages, (len(all_ids) + 6) // 7)

    def test_empty_and_bad_arguments(self):
        st, r = self.s.get(U + "/messages?q=nosuchwordanywhere")
        self.assertEqual((st, r), (200, {"resultSizeEstimate": 0}))
        for bad in ("0", "501", "x"):
            st, r = self.s.get(U + "/messages?maxResults=" + bad)
            self.assertEqual(st, 400)
            self.assertEqual(r["error"]["errors"][0]["reason"],
                             "invalidArgument")
        st, r = self.s.get(U + "/messages?pageToken=%%%")
        self.assertEqual(st, 400)


class TestGet(StandinCase):
    def all_names(self):
        return sorted(n[:-4] for n in os.listdir(ALICE_DIR))

    def test_every_sample_in_every_format(self):
        for name in self.all_names():
            served = file_served(name)
            full = self.msg(name)
            self.assertEqual(full["id"], mid(name))
            self.assertEqual(full["sizeEstimate"], len(served))
            self.assertRegex(full["internalDate"], r"^\d{13}$")
            self.assertRegex(full["historyId"], r"^\d+$")
            self.assertEqual(full["payload"]["partId"], "")
            for p in walk(full["payload"]):
                for h in p["headers"]:
                    self.assertFalse(h["name"].lower().startswith(
                        "x-standin"), name)
                self.assertIn("size", p["body"])
                if p["filename"]:
                    self.assertIn("attachmentId", p["body"])
                    self.assertNotIn("data", p["body"])
                for i, c in enumerate(p.get("parts", [])):
                    want = str(i) if p["partId"] == "" else \
                        "%s.%d" % (p["partId"], i)
                    self.assertEqual(c["partId"], want)
            raw = self.msg(name, "raw")
            self.assertNotIn("payload", raw)
            self.assertEqual(b64d(raw["raw"]), served, name)
            self.assertTrue(raw["raw"].endswith("=") or len(served) % 3 == 0)
            mini = self.msg(name, "minimal")
            self.assertNotIn("payload", mini)
            self.assertEqual(mini["labelIds"], full.get("labelIds"))
            meta = self.msg(name, "metadata")
            self.assertEqual(meta["payload"]["headers"],
                             full["payload"]["headers"])

    def test_metadata_headers_filter(self):
        r = self.msg("02-utf8-encoded-words", "metadata",
                     "&metadataHeaders=Subject&metadataHeaders=from")
        self.assertEqual(r["payload"]["headers"], [
            {"name": "From", "value": "Grüße aus Köln <koeln@example.org>"},
            {"name": "Subject",
             "value": "Grüße aus Köln – Einladung zum Fest 🎉"}])

    def test_headers_raw_mode(self):
        self.s.control("POST", "settings", {"headers": "raw"})
        r = self.msg("02-utf8-encoded-words", "metadata",
                     "&metadataHeaders=Subject")
        self.assertEqual(r["payload"]["headers"][0]["value"],
                         "=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4g4oCTIA==?= "
                         "=?UTF-8?B?RWlubGFkdW5nIHp1bSBGZXN0IPCfjok=?=")

    def test_unfolded_repeated_headers(self):
        r = self.msg("17-group-address")
        self.assertEqual(header(r["payload"], "Cc"),
                         '"Doe, John" <john@example.net>, "Smith, Jane '
                         '(Sales)" <jane@example.net>, plain@example.net')
        self.assertEqual(header(r["payload"], "To"),
                         "undisclosed-recipients:;")
        self.assertEqual(header(r["payload"], "Reply-To"),
                         '"No Reply, Desk" <desk@example.org>')
        r = self.msg("01-plain-ascii")
        self.assertEqual(header(r["payload"], "Received"),
                         "from mail.example.com (mail.example.com "
                         "[192.0.2.10])        by mx.example.com with ESMTPS "
                         "id abc123        for <alice@example.com>; Mon, 16 "
                         "Nov 2026 09:10:11 +0000")

    def test_snippet_escaped(self):
        r = self.msg("01-plain-ascii", "minimal")
        self.assertEqual(r["snippet"], "Hi Alice, Are you free for lunch on "
                         "Thursday? The usual place at 12:30. Let me know if "
                         "that&#39;s &lt; ideal &amp; we&#39;ll move it. Bob")
        r = self.msg("13-html-only", "minimal")
        self.assertTrue(r["snippet"].startswith(
            "Weekly &amp; Monthly News Café &lt;open&gt; — &quot;quoted"
            "&quot; &#39;single&#39;"), r["snippet"])
        self.assertNotIn("secret", r["snippet"])
        self.assertNotIn("color", r["snippet"])

    def test_threads(self):
        t = {n: self.msg(n, "minimal")["threadId"] for n in (
            "18-thread-start", "19-thread-reply", "26-sent-reply",
            "01-plain-ascii")}
        self.assertEqual(t["18-thread-start"], mid("18-thread-start"))
        self.assertEqual(t["19-thread-reply"], mid("18-thread-start"))
        self.assertEqual(t["26-sent-reply"], mid("18-thread-start"))
        self.assertEqual(t["01-plain-ascii"], mid("01-plain-ascii"))
        st, th = self.s.get(U + "/threads/%s?format=minimal"
                            % mid("18-thread-start"))
        self.assertEqual([m["id"] for m in th["messages"]],
                         [mid("18-thread-start"), mid("26-sent-reply"),
                          mid("19-thread-reply")])

    def test_bad_ids(self):
        st, r = self.s.get(U + "/messages/XYZ")
        self.assertEqual(st, 400)
        self.assertEqual(r["error"]["message"], "Invalid id value")
        self.assertEqual(r["error"]["errors"][0]["reason"], "invalidArgument")
        self.assertEqual(self.s.get(U + "/messages/0123456789abcdef"),
                         (404, NOT_FOUND))
        st, r = self.s.get(U + "/messages/%s?format=bogus"
                           % mid("01-plain-ascii"))
        self.assertEqual(st, 400)

    def test_unknown_path_and_method(self):
        st, r = self.s.get("/gmail/v1/users/me/nothing")
        self.assertEqual((st, r["error"]["code"]), (404, 404))
        self.assertEqual(set(r["error"]), {"code", "message", "errors",
                                           "status"})
        st, r = self.s.req("PUT", U + "/profile")
        self.assertEqual((st, r["error"]["code"]), (405, 405))
        st, r = self.s.get(U + "/messages/send")
        self.assertEqual(st, 400)

    def test_profile_and_labels(self):
        st, p = self.s.get(U + "/profile")
        self.assertEqual(p["messagesTotal"], 29 + 40)
        self.assertEqual(set(p), {"emailAddress", "messagesTotal",
                                  "threadsTotal", "historyId"})
        st, ls = self.s.get(U + "/labels")
        by = {lab["id"]: lab for lab in ls["labels"]}
        self.assertEqual(by["Label_Work"], {
            "id": "Label_Work", "name": "Work",
            "messageListVisibility": "show", "labelListVisibility":
            "labelShow", "type": "user"})
        self.assertEqual(by["INBOX"]["type"], "system")
        self.assertNotIn("messagesTotal", by["INBOX"])
        st, lab = self.s.get(U + "/labels/Label_Receipts")
        self.assertEqual((lab["messagesTotal"], lab["messagesUnread"],
                          lab["threadsTotal"], lab["threadsUnread"]),
                         (2, 1, 2, 1))
        self.assertEqual(self.s.get(U + "/labels/Label_Nope"),
                         (404, NOT_FOUND))


# decoded text (utf8 mode) and the bytes of the original mode
CHARSET_CASES = {
    "03-latin1-qp": ("Ça va ? Un café crème à la façade de l'hôtel",
                     "iso-8859-1"),
    "04-windows-1252": ("\u201cQuoted\u201d and \u2018single\u2019 \u2013 "
                        "the price is \u20ac42 \u2026 really.", "cp1252"),
    "05-iso-2022-jp": ("水野様", "iso2022_jp"),
    "06-gb2312": ("阿里云的报告已经准备好了。", "gb2312"),
    "07-shift-jis": ("こんにちは、世界。", "shift_jis"),
    "08-utf7": ("Hi Mom -\u263a-!", "utf-7"),
    "09-utf8-invalid": ("Valid: café. Invalid: \ufffd\ufffd. Truncated: "
                        "\ufffd.", None),
    "10-unknown-charset": ("ASCII text, then caf\ufffd ol\ufffd.", None),
    "11-8bit-no-charset": ("Straße 5, München", None),
    "02-utf8-encoded-words": ("herzliche Grüße aus Köln!", "utf-8"),
}
ORIGINAL_BYTES = {
    "09-utf8-invalid": b"Invalid: \xff\xfe. Truncated: \xe2\x82.",
    "10-unknown-charset": b"caf\xe9 ol\xe9.",
    "11-8bit-no-charset": b"Stra\xdfe 5, M\xfcnchen",
}
SUBJECTS = {
    "02-utf8-encoded-words": "Grüße aus Köln – Einladung zum Fest 🎉",
    "03-latin1-qp": "Café crème à l'hôtel",
    "05-iso-2022-jp": "会議のお知らせ",
    "06-gb2312": "报告",
}


class TestCharsets(StandinCase):
    def test_utf8_mode(self):
        for name, (text, _) in CHARSET_CASES.items():
            r = self.msg(name)
            data = text_of(r["payload"])
            self.assertIn(text, data.decode("utf-8"), name)
        for name, subj in SUBJECTS.items():
            self.assertEqual(header(self.msg(name)["payload"], "Subject"),
                             subj)
        r = self.msg("05-iso-2022-jp")
        self.assertEqual(header(r["payload"], "From"),
                         "山田太郎 <yamada@example.jp>")
        self.assertEqual(header(r["payload"], "Content-Type"),
                         "text/plain; charset=ISO-2022-JP")

    def test_original_mode(self):
        self.s.control("POST", "settings", {"charset_mode": "original"})
        for name, (text, codec) in CHARSET_CASES.items():
            data = text_of(self.msg(name)["payload"])
            if codec:
                self.assertIn(text.encode(codec), data, name)
            else:
                self.assertIn(ORIGINAL_BYTES.get(name, text.encode()), data,
                              name)

    def test_cte_removed(self):
        r = self.msg("12-alternative")
        self.assertIn(b"https://example.com/q3?a=1&b=2 \xe2\x80\x94 "
                      b"campaign_id=247164", text_of(r["payload"]))
        self.assertEqual(header(r["payload"]["parts"][0],
                                "Content-Transfer-Encoding"),
                         "quoted-printable")
        self.assertIn(b'<a href="https://example.com/q3?a=1&amp;b=2">',
                      text_of(r["payload"], "text/html"))


class TestAttachments(StandinCase):
    def parsed(self, name):
        return email.parser.BytesParser(policy=email.policy.default) \
            .parsebytes(file_served(name))

    def test_pdf_and_encoded_names(self):
        for mode in ("decoded", "raw"):
            self.s.control("POST", "settings", {"headers": mode})
            r = self.msg("14-mixed-attachments")
            parts = r["payload"]["parts"]
            self.assertEqual([p["filename"] for p in parts],
                             ["", "résumé.pdf", "Übersicht.txt"])
            self.assertEqual(parts[1]["mimeType"], "application/pdf")
        want = [p.get_content() for p in
                self.parsed("14-mixed-attachments").iter_attachments()]
        for p, data in zip(parts[1:], want):
            aid = p["body"]["attachmentId"]
            st, a = self.s.get(U + "/messages/%s/attachments/%s"
                               % (mid("14-mixed-attachments"), aid))
            self.assertEqual(st, 200)
            got = b64d(a["data"])
            if isinstance(data, str):
                data = data.encode()
            self.assertEqual(got, data)
            self.assertEqual(a["size"], len(got))
            self.assertEqual(p["body"]["size"], len(got))
            self.assertEqual(a["attachmentId"], aid)
        self.assertTrue(got.startswith("Übersicht".encode()))
        st, r = self.s.get(U + "/messages/%s/attachments/ANGjdJnope"
                           % mid("14-mixed-attachments"))
        self.assertEqual(st, 400)
        self.assertEqual(r["error"]["errors"][0]["reason"], "badRequest")

    def test_inline_image_and_forward(self):
        r = self.msg("15-related-inline-image")
        img = r["payload"]["parts"][1]
        self.assertEqual((img["mimeType"], img["filename"]),
                         ("image/png", "logo.png"))
        self.assertEqual(header(img, "Content-ID"), "<logo@example.com>")
        st, a = self.s.get(U + "/messages/%s/attachments/%s" % (
            mid("15-related-inline-image"), img["body"]["attachmentId"]))
        self.assertTrue(b64d(a["data"]).startswith(b"\x89PNG"))
        r = self.msg("16-forwarded-rfc822")
        fwd = r["payload"]["parts"][1]
        self.assertEqual(fwd["mimeType"], "message/rfc822")
        inner = fwd["parts"][0]
        self.assertEqual(inner["partId"], "1.0")
        self.assertEqual(header(inner, "Subject"), "Contract draft")
        self.assertEqual([p["partId"] for p in inner["parts"]],
                         ["1.0.0", "1.0.1"])
        self.assertEqual(b64d(inner["parts"][0]["body"]["data"]),
                         b"The contract draft is attached in spirit.\r\n")

    def test_body_served_by_attachment_id(self):
        r = self.msg("22-big-body-attachment")
        text, htm = r["payload"]["parts"]
        for p in (text, htm):
            self.assertIn("attachmentId", p["body"])
            self.assertNotIn("data", p["body"])
            self.assertEqual(p["filename"], "")
        st, a = self.s.get(U + "/messages/%s/attachments/%s" % (
            mid("22-big-body-attachment"), text["body"]["attachmentId"]))
        data = b64d(a["data"])
        self.assertTrue(data.startswith(b"Line 00000 of the big report"))
        self.assertEqual(len(data), text["body"]["size"])
        self.assertTrue(r["snippet"].startswith("Line 00000"))

    def test_threshold(self):
        self.s.control("POST", "settings",
                       {"body_attachment_threshold": 100})
        r = self.msg("12-alternative")
        self.assertTrue(all("attachmentId" in p["body"]
                            for p in r["payload"]["parts"]))
        self.s.control("POST", "settings",
                       {"body_attachment_threshold": 1 << 20})
        r = self.msg("12-alternative")
        self.assertTrue(all("data" in p["body"]
                            for p in r["payload"]["parts"]))

    def test_deep_nesting(self):
        r = self.msg("23-deep-nesting")
        leaf = list(walk(r["payload"]))[-1]
        self.assertEqual(leaf["partId"], ".".join(["0"] * 80))
        self.assertEqual(b64d(leaf["body"]["data"]),
                         b"The innermost part, 80 levels deep.\n")


class TestSendModifyHistory(StandinCase):
    B = "/gmail/v1/users/bob@example.com"

    def bob(self, method, path, body=None):
        return self.s.req(method, self.B + path, body, token=BOB_TOK)

    def hid(self):
        return int(self.bob("GET", "/profile")[1]["historyId"])

    def test_send_then_get_raw(self):
        raw = (b"From: Bob Example <bob@example.com>\r\nTo: carol@example.com"
               b"\r\nSubject: =?UTF-8?B?" + base64.b64encode(
                   "Grüße".encode()) + b"?=\r\nMessage-ID: <s1@example.com>"
               b"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
               b"charset=utf-8\r\n\r\nHallo \xc3\xa4\r\n")
        h0 = self.hid()
        st, r = self.bob("POST", "/messages/send", {"raw": b64url(raw)})
        self.assertEqual(st, 200, r)
        self.assertEqual(r["labelIds"], ["SENT"])
        self.assertEqual(r["threadId"], r["id"])
        st, g = self.bob("GET", "/messages/%s?format=raw" % r["id"])
        self.assertEqual(b64d(g["raw"]), raw)
        st, g = self.bob("GET", "/messages/%s" % r["id"])
        self.assertEqual(header(g["payload"], "Subject"), "Grüße")
        st, h = self.bob("GET", "/history?startHistoryId=%d" % h0)
        self.assertEqual(h["history"][-1]["messagesAdded"][0]["message"],
                         {"id": r["id"], "threadId": r["id"],
                          "labelIds": ["SENT"]})
        # a reply threads by In-Reply-To; the upload endpoint takes bytes
        reply = raw.replace(b"Message-ID: <s1@example.com>",
                            b"Message-ID: <s2@example.com>\r\nIn-Reply-To: "
                            b"<s1@example.com>")
        resp, data = self.s.req(
            "POST", "/upload" + self.B + "/messages/send?uploadType=media",
            reply, token=BOB_TOK, headers={"Content-Type": "message/rfc822"},
            raw=True)
        r2 = json.loads(data)
        self.assertEqual((resp.status, r2["threadId"]), (200, r["id"]))
        st, g = self.bob("GET", "/messages/%s?format=raw" % r2["id"])
        self.assertEqual(b64d(g["raw"]), reply)
        st, r3 = self.bob("POST", "/messages/send", {
            "raw": b64url(raw, pad=True), "threadId": r["id"]})
        self.assertEqual(r3["threadId"], r["id"])
        st, log = self.s.control("GET", "log")
        sent = [e for e in log if e["path"].endswith("/messages/send")
                and e["method"] == "POST"]
        self.assertRegex(sent[0]["body"]["raw"],
                         r"^<\d+ base64url characters>$")

    def test_send_errors(self):
        for bad in ("", "!!!", "a"):
            st, r = self.bob("POST", "/messages/send", {"raw": bad})
            self.assertEqual((st, r["error"]["message"]),
                             (400, "Invalid raw"))
        st, r = self.bob("POST", "/messages/send", {})
        self.assertEqual(st, 400)
        st, r = self.bob("POST", "/messages/send",
                         {"raw": b64url(b"Subject: x\r\n\r\nbody\r\n")})
        self.assertEqual((st, r["error"]["message"]),
                         (400, "Recipient address required"))
        st, r = self.s.req("POST", self.B + "/messages/send", b"{not json",
                           token=BOB_TOK,
                           headers={"Content-Type": "application/json"})
        self.assertEqual(st, 400)

    def test_modify_trash_history(self):
        m = mid("01-welcome", "bob@example.com")
        h0 = self.hid()
        st, r = self.bob("POST", "/messages/%s/modify" % m,
                         {"addLabelIds": ["STARRED", "Label_Work"],
                          "removeLabelIds": ["UNREAD"]})
        self.assertEqual(r, {"id": m, "threadId": m,
                             "labelIds": ["INBOX", "STARRED", "Label_Work"]})
        st, r = self.bob("POST", "/messages/%s/trash" % m)
        self.assertEqual(r["labelIds"], ["STARRED", "Label_Work", "TRASH"])
        st, r = self.bob("POST", "/messages/%s/untrash" % m)
        self.assertEqual(sorted(r["labelIds"]),
                         ["INBOX", "Label_Work", "STARRED"])
        st, h = self.bob("GET", "/history?startHistoryId=%d" % h0)
        recs = h["history"]
        self.assertEqual(len(recs), 3)
        self.assertEqual(recs[0]["labelsAdded"][0]["labelIds"],
                         ["STARRED", "Label_Work"])
        self.assertEqual(recs[0]["labelsRemoved"][0]["labelIds"], ["UNREAD"])
        self.assertEqual(recs[1]["labelsAdded"][0]["labelIds"], ["TRASH"])
        self.assertEqual(recs[1]["labelsRemoved"][0]["labelIds"], ["INBOX"])
        self.assertEqual(recs[0]["messages"], [{"id": m, "threadId": m}])
        ids = [int(x["id"]) for x in recs]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(h["historyId"], str(self.hid()))
        st, h2 = self.bob("GET", "/history?startHistoryId=%d"
                          "&historyTypes=labelRemoved" % h0)
        self.assertEqual([("labelsAdded" in x, "labelsRemoved" in x)
                          for x in h2["history"]],
                         [(False, True), (False, True), (False, True)])
        st, hl = self.bob("GET", "/history?startHistoryId=%d&labelId=TRASH"
                          % h0)
        self.assertEqual([x["id"] for x in hl["history"]],
                         [recs[1]["id"], recs[2]["id"]])
        st, h3 = self.bob("GET", "/history?startHistoryId=%d&maxResults=2"
                          % h0)
        self.assertEqual(len(h3["history"]), 2)
        st, h4 = self.bob("GET", "/history?startHistoryId=%d&maxResults=2"
                          "&pageToken=%s" % (h0, h3["nextPageToken"]))
        self.assertEqual(h3["history"] + h4["history"], recs)
        self.assertNotIn("nextPageToken", h4)
        st, none = self.bob("GET", "/history?startHistoryId=%d" % self.hid())
        self.assertEqual(none, {"historyId": str(self.hid())})
        self.bob("POST", "/messages/%s/modify" % m,
                 {"addLabelIds": ["UNREAD"],
                  "removeLabelIds": ["STARRED", "Label_Work"]})

    def test_modify_errors(self):
        m = mid("01-welcome", "bob@example.com")
        st, r = self.bob("POST", "/messages/%s/modify" % m,
                         {"addLabelIds": ["Label_Nope"]})
        self.assertEqual((st, r["error"]["message"]),
                         (400, "Invalid label: Label_Nope"))
        st, r = self.bob("POST", "/messages/batchModify",
                         {"ids": ["%016x" % i for i in range(1001)],
                          "addLabelIds": ["STARRED"]})
        self.assertEqual((st, r["error"]["message"],
                          r["error"]["errors"][0]["reason"]),
                         (400, "Number of ids cannot exceed 1000",
                          "invalidArgument"))
        self.assertEqual(self.bob("POST", "/messages/%016x/trash" % 1),
                         (404, NOT_FOUND))

    def test_batch_modify_delete(self):
        res = []
        for i in range(3):
            st, r = self.s.control("POST", "deliver", {
                "user": "bob@example.com",
                "eml": "From: x@example.net\nTo: bob@example.com\n"
                       "Subject: d%d\n\nbody %d\n" % (i, i)})
            self.assertEqual(st, 200, r)
            self.assertEqual(r["labelIds"], ["INBOX", "UNREAD"])
            res.append(r["id"])
        st, r = self.s.control("POST", "deliver", {
            "user": "bob@example.com",
            "eml": "X-Standin-Labels: INBOX, Label_Work\n"
                   "X-Standin-Body-As-Attachment: yes\n"
                   "X-Standin-Age: 3d\nFrom: y@example.net\n"
                   "Subject: big\n\nserved by attachment id\n"})
        st, g = self.bob("GET", "/messages/%s" % r["id"])
        self.assertEqual(g["labelIds"], ["INBOX", "Label_Work"])
        self.assertIn("attachmentId", g["payload"]["body"])
        self.assertLess(int(g["internalDate"]),
                        (time.time() - 3 * 86400 + 60) * 1000)
        self.assertNotIn(b"X-Standin", b64d(self.bob(
            "GET", "/messages/%s?format=raw" % r["id"])[1]["raw"]))
        self.assertEqual(self.bob("DELETE", "/messages/%s" % r["id"])[0],
                         204)
        h0 = self.hid()
        r = self.bob("POST", "/messages/batchModify",
                     {"ids": res, "removeLabelIds": ["UNREAD"]})
        self.assertEqual(r, (204, b""))
        for i in res:
            st, g = self.bob("GET", "/messages/%s?format=minimal" % i)
            self.assertEqual(g["labelIds"], ["INBOX"])
        self.assertEqual(self.bob("DELETE", "/messages/%s" % res[0]),
                         (204, b""))
        self.assertEqual(self.bob("GET", "/messages/%s" % res[0]),
                         (404, NOT_FOUND))
        self.assertEqual(self.bob("POST", "/messages/batchDelete",
                                  {"ids": res[1:]}), (204, b""))
        st, h = self.bob("GET", "/history?startHistoryId=%d"
                         "&historyTypes=messageDeleted" % h0)
        self.assertEqual([x["messagesDeleted"][0]["message"]["id"]
                          for x in h["history"]], res)

    def test_history_too_old_and_missing(self):
        self.assertEqual(self.bob("GET", "/history?startHistoryId=1"),
                         (404, NOT_FOUND))
        st, r = self.bob("GET", "/history")
        self.assertEqual(st, 400)
        h = self.hid()
        self.bob("POST", "/messages/%s/modify"
                 % mid("02-standup", "bob@example.com"),
                 {"addLabelIds": ["STARRED"]})
        st, r = self.s.control("POST", "expire-history",
                               {"user": "bob@example.com"})
        self.assertEqual(st, 200)
        self.assertEqual(self.bob("GET", "/history?startHistoryId=%d" % h),
                         (404, NOT_FOUND))
        st, r = self.bob("GET", "/history?startHistoryId=%d" % self.hid())
        self.assertEqual(r, {"historyId": str(self.hid())})

    def test_history_forget_before(self):
        m = mid("02-standup", "bob@example.com")
        h0 = self.hid()
        self.bob("POST", "/messages/%s/modify" % m,
                 {"addLabelIds": ["STARRED"]})
        h1 = self.hid()
        self.bob("POST", "/messages/%s/modify" % m,
                 {"removeLabelIds": ["STARRED"]})
        st, r = self.s.control("POST", "expire-history",
                               {"user": "bob@example.com", "before": h1})
        self.assertEqual(st, 200, r)
        # Older than h1: forgotten, 404 as Gmail. From h1 on: kept.
        self.assertEqual(self.bob("GET", "/history?startHistoryId=%d" % h0),
                         (404, NOT_FOUND))
        st, r = self.bob("GET", "/history?startHistoryId=%d" % h1)
        self.assertEqual(st, 200)
        self.assertEqual([list(x.keys())[-1] for x in r["history"]],
                         ["labelsRemoved"])
        st, r = self.s.control("POST", "expire-history",
                               {"before": "x"})
        self.assertEqual(st, 400)

    def test_history_bare_messages(self):
        m = mid("02-standup", "bob@example.com")
        h0 = self.hid()
        self.bob("POST", "/messages/%s/modify" % m,
                 {"addLabelIds": ["STARRED"]})
        st, r = self.bob("GET", "/history?startHistoryId=%d" % h0)
        self.assertIn("labelIds", r["history"][-1]["labelsAdded"][0]
                      ["message"])
        self.s.control("POST", "settings", {"history_messages": "bare"})
        try:
            st, r = self.bob("GET", "/history?startHistoryId=%d" % h0)
        finally:
            self.s.control("POST", "settings",
                           {"history_messages": "labels"})
        self.assertEqual(r["history"][-1]["labelsAdded"][0],
                         {"message": {"id": m, "threadId": m},
                          "labelIds": ["STARRED"]})
        self.bob("POST", "/messages/%s/modify" % m,
                 {"removeLabelIds": ["STARRED"]})

    def test_control_modify_delete(self):
        st, r = self.s.control("POST", "deliver", {
            "user": "bob@example.com",
            "eml": "From: a@example.com\r\nTo: bob@example.com\r\n"
                   "Subject: to delete\r\n\r\nx\r\n"})
        self.assertEqual(st, 200, r)
        m = r["id"]
        h0 = self.hid()
        st, r = self.s.control("POST", "modify", {
            "user": "bob@example.com", "id": m,
            "addLabelIds": ["STARRED", "Label_New"],
            "removeLabelIds": ["UNREAD"]})
        self.assertEqual(st, 200, r)
        self.assertEqual(sorted(r["labelIds"]),
                         ["INBOX", "Label_New", "STARRED"])
        st, h = self.bob("GET", "/history?startHistoryId=%d" % h0)
        rec = h["history"][-1]
        self.assertEqual(rec["labelsAdded"][0]["labelIds"],
                         ["STARRED", "Label_New"])
        self.assertEqual(rec["labelsRemoved"][0]["labelIds"], ["UNREAD"])
        st, r = self.s.control("POST", "delete",
                               {"user": "bob@example.com", "id": m})
        self.assertEqual(st, 200, r)
        self.assertEqual(self.bob("GET", "/messages/%s" % m)[0], 404)
        st, h = self.bob("GET", "/history?startHistoryId=%d"
                         "&historyTypes=messageDeleted" % h0)
        self.assertEqual(h["history"][-1]["messagesDeleted"][0]["message"]
                         ["id"], m)
        self.assertEqual(self.s.control("POST", "delete", {
            "user": "bob@example.com", "id": m})[0], 404)
        self.assertEqual(self.s.control("POST", "modify", {
            "user": "bob@example.com", "id": "0" * 16})[0], 404)
        self.assertEqual(self.s.control("POST", "modify", {"id": m})[0], 400)


class TestBatch(StandinCase):
    def batch(self, parts, token=ALICE_TOK, boundary="b_o_u_n_d"):
        chunks = []
        for i, (line, auth, body) in enumerate(parts):
            chunks.append("--%s\r\nContent-Type: application/http\r\n"
                          "Content-Transfer-Encoding: binary\r\n"
                          "Content-ID: <abc+%d>\r\n\r\n%s\r\n" % (boundary,
                                                                  i, line))
            if auth:
                chunks.append("Authorization: Bearer %s\r\n" % auth)
            if body is not None:
                chunks.append("Content-Type: application/json\r\n"
                              "Content-Length: %d\r\n" % len(body))
            chunks.append("\r\n" + (body or "") + "\r\n")
        chunks.append("--%s--\r\n" % boundary)
        resp, data = self.s.req(
            "POST", "/batch/gmail/v1", "".join(chunks).encode(), token=token,
            headers={"Content-Type": "multipart/mixed; boundary=%s"
                     % boundary}, raw=True)
        return resp, data

    def parse(self, resp, data):
        ct = resp.getheader("Content-Type")
        self.assertRegex(ct, r"^multipart/mixed; boundary=batch_")
        msg = email.parser.BytesParser(policy=email.policy.compat32) \
            .parsebytes(b"Content-Type: " + ct.encode() + b"\r\n\r\n" + data)
        out = []
        for part in msg.get_payload():
            self.assertEqual(part["Content-Type"], "application/http")
            inner = part.get_payload()
            if not isinstance(inner, str):
                inner = inner[0].as_string()
            status_line, rest = inner.split("\r\n", 1)
            head, _, body = rest.partition("\r\n\r\n")
            out.append((part["Content-ID"], int(status_line.split()[1]),
                        json.loads(body) if body.strip() else None))
        return out

    def test_mixed_parts(self):
        good = mid("01-plain-ascii")
        resp, data = self.batch([
            ("GET %s/messages/%s?format=metadata HTTP/1.1" % (U, good),
             ALICE_TOK, None),
            ("GET %s/messages/nothex HTTP/1.1" % U, None, None),
            ("GET %s/messages/%016x HTTP/1.1" % (U, 7), None, None),
            ("GET %s/profile HTTP/1.1" % U, "ya29.bad", None),
            ("POST %s/messages/%s/modify HTTP/1.1" % (U, good), None,
             json.dumps({"addLabelIds": ["Label_Nope"]})),
            ("GET https://gmail.googleapis.com%s/labels/INBOX HTTP/1.1" % U,
             None, None),
        ])
        self.assertEqual(resp.status, 200)
        parts = self.parse(resp, data)
        self.assertEqual([p[0] for p in parts],
                         ["<response-abc+%d>" % i for i in range(6)])
        self.assertEqual([p[1] for p in parts],
                         [200, 400, 404, 401, 400, 200])
        self.assertEqual(parts[0][2]["id"], good)
        self.assertEqual(parts[2][2], NOT_FOUND)
        self.assertEqual(parts[3][2], AUTH_401)
        self.assertEqual(parts[5][2]["id"], "INBOX")
        st, log = self.s.control("GET", "log")
        outer = [e for e in log if e["path"] == "/batch/gmail/v1"][0]
        inner = [e for e in log if e["batch"] == outer["id"]]
        self.assertEqual(len(inner), 6)
        self.assertEqual(outer["parts"], 6)
        st, stats = self.s.control("GET", "stats")
        self.assertEqual(stats["units_used"]["alice@example.com"], 5 + 5 + 5
                         + 5 + 1)

    def test_fifty_gets_fast(self):
        ids = [mid(n) for n in WITHIN_3D] * 3
        parts = [("GET %s/messages/%s HTTP/1.1" % (U, i), None, None)
                 for i in ids[:50]]
        self.batch(parts)
        t = time.perf_counter()
        resp, data = self.batch(parts)
        took = time.perf_counter() - t
        got = self.parse(resp, data)
        self.assertEqual([p[1] for p in got], [200] * 50)
        self.assertLess(took, 0.5)

    def test_token_uses(self):
        """Issued tokens die after token_uses API requests, each batch
        part counting; static tokens and new grants are not affected."""
        self.s.control("POST", "settings", {"token_uses": 2})
        au = ACCOUNTS["accounts"][0]["authorized_user"]
        form = {"grant_type": "refresh_token", "client_id": au["client_id"],
                "client_secret": au["client_secret"],
                "refresh_token": au["refresh_token"]}
        tok = self.s.token(form)[1]["access_token"]
        self.assertEqual(self.s.get(U + "/profile", token=tok)[0], 200)
        self.assertEqual(self.s.get(U + "/labels", token=tok)[0], 200)
        self.assertEqual(self.s.get(U + "/profile", token=tok),
                         (401, AUTH_401))
        tok = self.s.token(form)[1]["access_token"]
        line = "GET %s/messages/%s HTTP/1.1" % (U, mid("01-plain-ascii"))
        out = self.parse(*self.batch([(line, None, None)] * 3, token=tok))
        self.assertEqual([o[1] for o in out], [200, 200, 401])
        for _ in range(3):
            self.assertEqual(self.s.get(U + "/profile")[0], 200)
        self.s.control("POST", "settings", {"token_uses": 0})
        tok = self.s.token(form)[1]["access_token"]
        for _ in range(3):
            self.assertEqual(self.s.get(U + "/profile", token=tok)[0], 200)

    def test_too_many_parts_and_bad_batch(self):
        parts = [("GET %s/profile HTTP/1.1" % U, None, None)] * 101
        resp, data = self.batch(parts)
        self.assertEqual(resp.status, 400)
        resp, data = self.s.req("POST", "/batch/gmail/v1", b"junk",
                                headers={"Content-Type": "text/plain"},
                                raw=True)
        self.assertEqual(resp.status, 400)

    def test_plain_batch_path_and_outer_latency_once(self):
        self.s.control("POST", "settings", {"latency_ms": 100})
        t = time.perf_counter()
        chunks = ("--x\r\nContent-Type: application/http\r\n\r\nGET "
                  "%s/profile HTTP/1.1\r\n\r\n\r\n" % U) * 5 + "--x--\r\n"
        resp, data = self.s.req("POST", "/batch", chunks.encode(), raw=True,
                                headers={"Content-Type":
                                         "multipart/mixed; boundary=x"})
        took = time.perf_counter() - t
        self.assertEqual(resp.status, 200)
        self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 5)
        self.assertGreaterEqual(took, 0.1)
        self.assertLess(took, 0.45)


class TestQuotaFaults(StandinCase):
    def test_quota_429(self):
        self.s.control("POST", "settings", {"quota_per_minute": 12})
        self.assertEqual(self.s.get(U + "/messages")[0], 200)
        self.assertEqual(self.s.get(U + "/messages")[0], 200)
        self.assertEqual(self.s.get(U + "/messages"), (429, RATE_429))
        self.assertEqual(self.s.get(U + "/profile")[0], 200)
        self.assertEqual(self.s.get(U + "/labels")[0], 200)
        self.assertEqual(self.s.get(U + "/labels")[0], 429)
        self.assertEqual(self.s.get(U + "/profile", token=BOB_TOK)[0], 200)
        st, stats = self.s.control("GET", "stats")
        self.assertEqual(stats["quota_429"], 2)
        self.assertEqual(stats["units_used"],
                         {"alice@example.com": 12, "bob@example.com": 1})
        self.s.control("POST", "reset")
        self.assertEqual(self.s.get(U + "/messages")[0], 200)

    def test_quota_per_second(self):
        """A one-second token bucket: a burst of its size passes, the next
        request is refused and counts against nothing; once refilled, a
        burst passes again. Both limits together: each must fit."""
        self.s.control("POST", "settings", {"quota_per_second": 10})
        for _ in range(2):
            self.assertEqual(self.s.get(U + "/messages")[0], 200)
        self.assertEqual(self.s.get(U + "/messages"), (429, RATE_429))
        time.sleep(1.05)
        for _ in range(2):
            self.assertEqual(self.s.get(U + "/messages")[0], 200)
        self.assertEqual(self.s.get(U + "/messages")[0], 429)
        st, stats = self.s.control("GET", "stats")
        self.assertEqual(stats["quota_429"], 2)
        self.assertEqual(stats["units_used"], {"alice@example.com": 20})
        self.s.control("POST", "reset")
        self.s.control("POST", "settings", {"quota_per_second": 10,
                                            "quota_per_minute": 7})
        self.assertEqual(self.s.get(U + "/messages")[0], 200)
        self.assertEqual(self.s.get(U + "/messages")[0], 429)
        self.assertEqual(self.s.get(U + "/profile")[0], 200)
        self.assertEqual(self.s.control("POST", "settings", {
            "quota_per_second": -1})[0], 400)

    def test_quota_profile_2026(self):
        self.s.control("POST", "settings", {"quota_per_minute": 30,
                                            "quota_profile": "2026"})
        m = mid("01-plain-ascii")
        self.assertEqual(self.s.get(U + "/messages/" + m)[0], 200)
        self.assertEqual(self.s.get(U + "/messages/" + m)[0], 429)
        st, log = self.s.control("GET", "log")
        self.assertEqual([e["units"] for e in log], [20, 0])

    def faults(self, *rules):
        st, r = self.s.control("POST", "faults", {"rules": list(rules)})
        self.assertEqual(st, 200, r)

    def test_fault_429_retry_after(self):
        self.faults({"method": "GET", "path": "/profile$", "status": 429,
                     "count": 2, "retry_after": 7})
        for _ in range(2):
            r, data = self.s.get(U + "/profile", raw=True)
            self.assertEqual(r.status, 429)
            self.assertEqual(r.getheader("Retry-After"), "7")
            self.assertEqual(json.loads(data), RATE_429)
        self.assertEqual(self.s.get(U + "/profile")[0], 200)
        st, stats = self.s.control("GET", "stats")
        self.assertEqual(stats["faults_fired"], 2)

    def test_fault_query(self):
        # A rule with "query" fires only for requests whose query matches:
        # here the second page of a listing, not the first.
        self.faults({"path": "/messages$", "query": "pageToken=",
                     "status": 500, "count": -1})
        st, r = self.s.get(U + "/messages?maxResults=2")
        self.assertEqual(st, 200)
        st, r2 = self.s.get(U + "/messages?maxResults=2&pageToken=%s"
                            % r["nextPageToken"])
        self.assertEqual(st, 500)

    def test_fault_retry_after_in_message(self):
        self.faults({"path": "messages/send", "status": 429,
                     "retry_after_in_message": 900})
        st, r = self.s.post(U + "/messages/send", {"raw": "eA"})
        self.assertEqual(st, 429)
        e = r["error"]
        self.assertRegex(e["message"], r"^User-rate limit exceeded\.  Retry "
                         r"after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                         r"\(Mail sending\)$")
        self.assertEqual(e["errors"][0]["reason"], "userRateLimitExceeded")
        stamp = re.search(r"after (\S+)", e["message"]).group(1)
        import datetime
        when = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
        delta = when.replace(tzinfo=datetime.timezone.utc).timestamp() - \
            time.time()
        self.assertTrue(890 < delta < 910, delta)

    def test_fault_kinds(self):
        cases = [
            (500, None, "backendError", "Backend Error", "global"),
            (503, None, "backendError",
             "The service is currently unavailable.", "global"),
            (403, "rateLimitExceeded", "rateLimitExceeded", None,
             "usageLimits"),
            (403, "userRateLimitExceeded", "userRateLimitExceeded", None,
             "usageLimits"),
            (403, None, "forbidden", "The caller does not have permission",
             "global"),
            (404, None, "notFound", "Requested entity was not found.",
             "global"),
        ]
        for status, reason, want_reason, want_msg, domain in cases:
            rule = {"path": "/labels$", "status": status}
            if reason:
                rule["reason"] = reason
            self.faults(rule)
            st, r = self.s.get(U + "/labels")
            self.assertEqual(st, status)
            self.assertEqual(r["error"]["code"], status)
            self.assertEqual(r["error"]["errors"][0]["reason"], want_reason)
            self.assertEqual(r["error"]["errors"][0]["domain"], domain)
            if want_msg:
                self.assertEqual(r["error"]["message"], want_msg)
        self.faults({"path": "/labels$", "status": 401})
        self.assertEqual(self.s.get(U + "/labels"), (401, AUTH_401))
        self.faults({"path": "/labels$", "status": 502,
                     "body": {"custom": True}})
        self.assertEqual(self.s.get(U + "/labels"), (502, {"custom": True}))

    def test_fault_drop_delay_always(self):
        self.faults({"path": "/profile$", "drop": True})
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=5)
        c.request("GET", U + "/profile",
                  headers={"Authorization": "Bearer " + ALICE_TOK})
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError)):
            c.getresponse()
        c.close()
        self.faults({"path": "/profile$", "delay_ms": 150, "count": -1},
                    {"method": "POST", "path": "/profile$", "status": 500})
        for _ in range(3):
            t = time.perf_counter()
            self.assertEqual(self.s.get(U + "/profile")[0], 200)
            self.assertGreaterEqual(time.perf_counter() - t, 0.15)
        st, r = self.s.control("GET", "faults")
        self.assertEqual(r["rules"][0]["remaining"], -1)
        self.s.control("DELETE", "faults")
        t = time.perf_counter()
        self.s.get(U + "/profile")
        self.assertLess(time.perf_counter() - t, 0.1)
        st, stats = self.s.control("GET", "stats")
        self.assertEqual((stats["faults_fired"], stats["dropped"]), (4, 1))

    def test_fault_token_endpoint_and_batch_part(self):
        self.faults({"path": "^/token$", "status": 500},
                    {"path": "/labels/INBOX$", "status": 503})
        st, r = self.s.token({"grant_type": "refresh_token"})
        self.assertEqual((st, r), (500, {"error": "internal_failure",
                                         "error_description":
                                         "Backend Error"}))
        body = ("--z\r\nContent-Type: application/http\r\n\r\n"
                "GET %s/labels/INBOX HTTP/1.1\r\n\r\n\r\n"
                "--z\r\nContent-Type: application/http\r\n\r\n"
                "GET %s/labels/INBOX HTTP/1.1\r\n\r\n\r\n--z--\r\n"
                % (U, U))
        r, data = self.s.req("POST", "/batch/gmail/v1", body.encode(),
                             headers={"Content-Type":
                                      "multipart/mixed; boundary=z"},
                             raw=True)
        self.assertEqual(r.status, 200)
        self.assertEqual(re.findall(rb"HTTP/1.1 (\d+)", data),
                         [b"503", b"200"])

    def test_fault_drop_inside_batch(self):
        self.faults({"path": "/labels/SPAM$", "drop": True})
        body = ("--z\r\nContent-Type: application/http\r\n\r\n"
                "GET %s/labels/INBOX HTTP/1.1\r\n\r\n\r\n"
                "--z\r\nContent-Type: application/http\r\n\r\n"
                "GET %s/labels/SPAM HTTP/1.1\r\n\r\n\r\n"
                "--z\r\nContent-Type: application/http\r\n\r\n"
                "POST /token HTTP/1.1\r\n\r\n\r\n--z--\r\n" % (U, U))
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=5)
        c.request("POST", "/batch/gmail/v1", body=body.encode(), headers={
            "Authorization": "Bearer " + ALICE_TOK,
            "Content-Type": "multipart/mixed; boundary=z"})
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError)):
            c.getresponse()
        c.close()
        r, data = self.s.req("POST", "/batch/gmail/v1", body.encode(),
                             headers={"Content-Type":
                                      "multipart/mixed; boundary=z"},
                             raw=True)
        self.assertEqual(re.findall(rb"HTTP/1.1 (\d+)", data),
                         [b"200", b"200", b"404"])
        st, log = self.s.control("GET", "log")
        self.assertEqual([(e["status"], e.get("dropped", False))
                          for e in log][:3],
                         [(200, False), (0, True), (0, True)])

    def test_bad_fault_rules(self):
        for rules in ([{"status": 200}], [{"path": "("}], [{"bogus": 1}],
                      [{"path": "x"}], "no"):
            st, r = self.s.control("POST", "faults", {"rules": rules})
            self.assertEqual(st, 400, rules)

    def test_latency(self):
        self.s.control("POST", "settings", {"latency_ms": 120})
        t = time.perf_counter()
        self.s.get(U + "/profile")
        self.assertGreaterEqual(time.perf_counter() - t, 0.12)
        t = time.perf_counter()
        self.s.control("GET", "stats")
        self.assertLess(time.perf_counter() - t, 0.1)


class TestGzipLogControl(StandinCase):
    def test_gzip(self):
        path = U + "/messages/" + mid("22-big-body-attachment")
        r, plain = self.s.get(path, raw=True)
        self.assertIsNone(r.getheader("Content-Encoding"))
        r, data = self.s.get(path, raw=True,
                             headers={"Accept-Encoding": "gzip, deflate"})
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertEqual(int(r.getheader("Content-Length")), len(data))
        self.assertEqual(gzip.decompress(data), plain)
        r, data = self.s.get(U + "/profile", raw=True,
                             headers={"Accept-Encoding": "gzip"})
        self.assertIsNone(r.getheader("Content-Encoding"))
        st, log = self.s.control("GET", "log")
        self.assertEqual([e["gzip"] for e in log], [False, True, True])

    def test_log_format(self):
        self.s.get(U + "/messages?labelIds=INBOX&labelIds=UNREAD&q=a+b")
        self.s.post(U + "/messages/%s/modify" % mid("01-plain-ascii"),
                    {"addLabelIds": []})
        st, log = self.s.control("GET", "log")
        e = log[0]
        self.assertEqual(set(e), {"id", "t", "method", "path", "query",
                                  "user", "token_fp", "gzip", "status",
                                  "units", "batch", "content_type", "body"})
        self.assertEqual(e["query"], {"labelIds": ["INBOX", "UNREAD"],
                                      "q": ["a b"]})
        self.assertEqual(e["token_fp"],
                         hashlib.sha256(ALICE_TOK.encode()).hexdigest()[:8])
        self.assertEqual((e["user"], e["status"], e["units"], e["batch"]),
                         ("alice@example.com", 200, 5, None))
        self.assertEqual(log[1]["body"], {"addLabelIds": []})
        self.assertEqual(log[1]["content_type"], "application/json")
        lines = read(self.s.log).splitlines()
        self.assertEqual(json.loads(lines[-1]), log[1])
        st, log2 = self.s.control("GET", "log?since=%d" % log[0]["id"])
        self.assertEqual(log2, log[1:])

    def test_stats_reset_settings(self):
        self.s.get(U + "/profile")
        self.s.get(U + "/messages/" + mid("01-plain-ascii"))
        st, stats = self.s.control("GET", "stats")
        self.assertEqual(stats["requests"], 2)
        self.assertEqual(stats["by_path"], {
            "GET /gmail/v1/users/me/profile": 1,
            "GET /gmail/v1/users/me/messages/{id}": 1})
        self.assertEqual(set(stats) >= {"requests", "by_path", "quota_429",
                                        "faults_fired", "units_used"}, True)
        self.s.control("POST", "reset")
        st, stats = self.s.control("GET", "stats")
        self.assertEqual((stats["requests"], stats["by_path"]), (0, {}))
        st, r = self.s.control("POST", "settings", {"charset_mode": "x"})
        self.assertEqual(st, 400)
        st, r = self.s.control("POST", "settings", {"nope": 1})
        self.assertEqual(st, 400)
        self.assertEqual(self.s.control("GET", "nothing")[0], 404)

    def test_hostile_messages(self):
        deep = "Content-Type: multipart/mixed; boundary=a\n\n" + "".join(
            "--a\nContent-Type: multipart/mixed; boundary=a\n\n"
            for _ in range(3000))
        cases = [
            deep,
            "From: \xff\xfe\nTo: alice@example.com\nSubject: =?x?Q?broken"
            "\n\n\x00\x01\x02",
            "To: alice@example.com\nContent-Type: multipart/mixed\n\nno "
            "boundary",
            "To: alice@example.com\nContent-Type: text/plain; charset="
            "base64\nContent-Transfer-Encoding: base64\n\n!!!!",
            "garbage without headers",
            "To: alice@example.com\nContent-Type: message/rfc822\n\n" * 2,
            "To: alice@example.com\nSubject: " + "=?utf-8?B?AAAA?=" * 5000,
        ]
        for eml in cases:
            st, r = self.s.control("POST", "deliver",
                                   {"user": "carol@example.com",
                                    "eml": eml})
            self.assertEqual(st, 200, r)
            for fmt in ("full", "metadata", "minimal", "raw"):
                st, g = self.s.get("%s/messages/%s?format=%s"
                                   % (U, r["id"], fmt), token=self.carol())
                self.assertEqual(st, 200, (eml[:40], fmt, g))
        st, r = self.s.get(U + "/messages?q=broken", token=self.carol())
        self.assertEqual(st, 200)

    def carol(self):
        st, r = self.s.token({
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": sign_jwt({
                "iss": SA["client_email"], "sub": "carol@example.com",
                "scope": "https://mail.google.com/",
                "aud": "https://oauth2.googleapis.com/token",
                "iat": int(time.time()), "exp": int(time.time()) + 600})})
        return r["access_token"]


class TestOwnMailbox(unittest.TestCase):
    """--mailbox with files that have no X-Standin-Age."""

    def test_internal_date_from_date_header_or_mtime(self):
        d = tempfile.mkdtemp(prefix="standin-mbox-")
        try:
            box = os.path.join(d, "carol@example.com")
            os.makedirs(box)
            with open(os.path.join(box, "a.eml"), "wb") as f:
                f.write(b"From: x@example.net\r\nTo: carol@example.com\r\n"
                        b"Date: Tue, 03 Nov 2026 10:00:00 +0100\r\n"
                        b"Subject: dated\r\n\r\nbody\r\n")
            with open(os.path.join(box, "b.eml"), "wb") as f:
                f.write(b"From: x@example.net\nTo: carol@example.com\n"
                        b"Date: garbage\nX-Standin-Labels: STARRED\n"
                        b"Subject: undated\n\nbody\n")
            os.utime(os.path.join(box, "b.eml"), (1700000000, 1700000000))
            s = Standin("--quiet", "--mailbox", d)
            try:
                st, tok = s.token({
                    "grant_type": "urn:ietf:params:oauth:grant-type:"
                    "jwt-bearer", "assertion": sign_jwt({
                        "iss": SA["client_email"],
                        "sub": "carol@example.com",
                        "scope": P + "gmail.readonly",
                        "aud": "https://oauth2.googleapis.com/token",
                        "iat": int(time.time()),
                        "exp": int(time.time()) + 600})})
                tok = tok["access_token"]
                for name, want, labels in (
                        ("a", "1793696400000", ["INBOX", "UNREAD"]),
                        ("b", "1700000000000", ["STARRED"])):
                    m = hashlib.sha1(("carol@example.com/%s.eml" % name)
                                     .encode()).hexdigest()[:16]
                    st, r = s.get(U + "/messages/%s?format=minimal" % m,
                                  token=tok)
                    self.assertEqual((st, r["internalDate"], r["labelIds"]),
                                     (200, want, labels))
                st, p = s.get(U + "/profile", token=tok)
                self.assertEqual(p["messagesTotal"], 2)
                st, p = s.get("/gmail/v1/users/alice@example.com/profile",
                              token=ALICE_TOK)
                self.assertEqual(p["messagesTotal"], 0)
            finally:
                self.assertEqual(s.stop()[0], 0)
        finally:
            shutil.rmtree(d)


class TestGenerated(unittest.TestCase):
    def test_generated_payload_equals_parsed(self):
        for i in range(60):
            g = gen.Generated("alice@example.com", i, "%016x" % (i + 1),
                              1790000000000 - i * 60000)
            self.assertTrue(1500 < len(g.raw) < 26000, len(g.raw))
            self.assertEqual(g.raw_size(), len(g.raw))
            for modes in (mime.Modes(), mime.Modes("original", "raw"),
                          mime.Modes(threshold=500)):
                want = mime.Parsed(g.raw, g.msg_id).payload(modes)
                self.assertEqual(g.payload(modes), want, (i, modes.key()))

    def test_rfc2047_and_unfold(self):
        self.assertEqual(mime.decode_words(
            "=?UTF-8?Q?a?= =?UTF-8?Q?b?= c =?ISO-8859-1?Q?=E9?="),
            "ab c é")
        self.assertEqual(mime.decode_words("=?bogus?Q?x?="), "=?bogus?Q?x?=")
        self.assertEqual(mime.decode_words(
            "=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?="), "€")
        self.assertEqual(mime.unfold("a\r\n b\n\tc"), "a b\tc")


if __name__ == "__main__":
    unittest.main()
