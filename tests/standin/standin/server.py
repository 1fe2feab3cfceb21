# HTTP side of the Gmail API stand-in: server, request dispatch, batch,
# faults, quota, latency, gzip, the request log, stats and control API.
"""Run with ../gmail-standin (see --help and ../README.md)."""

import argparse
import collections
import datetime
import email.utils
import faulthandler
import gzip
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import api, mime, oauth, store
from .api import ApiError

TOKEN_PATHS = ("/token", "/o/oauth2/token", "/oauth2/v4/token")
TOKENINFO_PATHS = ("/tokeninfo", "/oauth2/v3/tokeninfo")
BATCH_PATHS = ("/batch/gmail/v1", "/batch")
MAX_BODY = 64 << 20
MAX_JSON_BODY = 5 << 20
LOG_KEEP = 200000


class Drop(Exception):
    """A fault asked to close the connection without an answer."""


class Resp:
    __slots__ = ("status", "body", "headers", "ctype")

    def __init__(self, status, body=b"", headers=None,
                 ctype="application/json; charset=UTF-8"):
        self.status, self.body = status, body
        self.headers, self.ctype = headers or [], ctype


def json_resp(status, obj, headers=None):
    """obj: dict (serialized), str (JSON text) or None (no body)."""
    if obj is None:
        return Resp(status, b"", headers, None)
    if not isinstance(obj, str):
        obj = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return Resp(status, obj.encode("utf-8", "surrogatepass"), headers)


def err_resp(e):
    return json_resp(e.code, e.body(), e.headers)


class Settings:
    FIELDS = ("latency_ms", "charset_mode", "headers", "quota_per_minute",
              "quota_per_second", "quota_profile", "token_ttl", "token_uses",
              "body_attachment_threshold", "history_messages")

    def __init__(self, a):
        self.latency_ms = a.latency_ms
        self.charset_mode = a.charset_mode
        self.headers = a.headers
        self.quota_per_minute = a.quota_per_minute
        self.quota_per_second = a.quota_per_second
        self.quota_profile = a.quota_profile
        self.token_ttl = a.token_ttl
        self.token_uses = a.token_uses
        self.body_attachment_threshold = a.body_attachment_threshold
        self.history_messages = "labels"

    def as_dict(self):
        return {k: getattr(self, k) for k in self.FIELDS}

    def update(self, obj):
        """Validates and applies a settings object; raises ValueError."""
        checks = {
            "latency_ms": lambda v: isinstance(v, int) and 0 <= v <= 600000,
            "charset_mode": lambda v: v in ("utf8", "original"),
            "headers": lambda v: v in ("decoded", "raw"),
            "quota_per_minute": lambda v: isinstance(v, int) and v >= 0,
            "quota_per_second": lambda v: isinstance(v, int) and v >= 0,
            "quota_profile": lambda v: v in ("classic", "2026"),
            "token_ttl": lambda v: isinstance(v, int) and v > 0,
            "token_uses": lambda v: isinstance(v, int) and v >= 0,
            "body_attachment_threshold":
                lambda v: isinstance(v, int) and v >= 0,
            "history_messages": lambda v: v in ("labels", "bare"),
        }
        for k, v in obj.items():
            if k not in checks or isinstance(v, bool) or not checks[k](v):
                raise ValueError("invalid setting %s=%r" % (k, v))
        for k, v in obj.items():
            setattr(self, k, v)


class Fault:
    KNOWN = frozenset({"method", "path", "query", "status", "count",
                       "retry_after", "retry_after_in_message", "reason",
                       "drop", "delay_ms", "body", "message"})

    def __init__(self, d):
        if not isinstance(d, dict):
            raise ValueError("a rule must be an object")
        extra = set(d) - self.KNOWN
        if extra:
            raise ValueError("unknown rule field(s): %s"
                             % ", ".join(sorted(extra)))
        self.spec = dict(d)
        self.method = (d.get("method") or "*").upper()
        self.path = re.compile(d.get("path") or "")
        self.query = re.compile(d.get("query") or "")
        self.status = d.get("status")
        if self.status is not None and (not isinstance(self.status, int) or
                                        not 400 <= self.status <= 599):
            raise ValueError("status must be an HTTP error code")
        self.count = d.get("count", 1)
        if not isinstance(self.count, int) or self.count == 0 or \
                self.count < -1:
            raise ValueError("count must be -1 or a positive integer")
        self.drop = bool(d.get("drop"))
        self.delay_ms = d.get("delay_ms") or 0
        self.retry_after = d.get("retry_after")
        self.retry_in_msg = d.get("retry_after_in_message")
        self.reason = d.get("reason")
        self.message = d.get("message")
        self.body = d.get("body")
        if not (self.status or self.drop or self.delay_ms or self.effect()):
            raise ValueError("a rule needs status, drop or delay_ms")

    def effect(self):
        """A subclass's own kind of fault (true when the rule has one)."""
        return False

    def matches(self, method, path, query=None):
        return (self.method in ("*", method)) and \
            self.path.search(path) is not None and \
            self.query.search(query_text(query)) is not None

    def describe(self):
        d = dict(self.spec)
        d["remaining"] = self.count
        return d


def query_text(query):
    """A parsed query as "name=value&..." (names sorted), for the rules'
    query regex."""
    return "&".join("%s=%s" % (k, v) for k in sorted(query or {})
                    for v in query[k])


class Faults:
    def __init__(self, rule_class=Fault):
        self.lock = threading.Lock()
        self.rules = []
        self.rule_class = rule_class

    def set(self, rules):
        parsed = [self.rule_class(r) for r in rules]
        with self.lock:
            self.rules = parsed

    def clear(self):
        with self.lock:
            self.rules = []

    def take(self, method, path, query=None):
        """The first live rule matching, its count consumed; or None."""
        if not self.rules:
            return None
        with self.lock:
            for r in self.rules:
                if r.count != 0 and r.matches(method, path, query):
                    if r.count > 0:
                        r.count -= 1
                    return r
        return None


class Quota:
    """Per-user limits on accepted units: a rolling 60 s window (per
    minute), and a token bucket holding one second's worth that refills
    continuously (per second, Gmail's "per user per second" rate). A
    request must fit both; a refused one counts against neither."""

    def __init__(self):
        self.lock = threading.Lock()
        self.win = collections.defaultdict(collections.deque)
        self.sums = collections.defaultdict(int)
        self.buckets = {}

    def _bucket(self, user, per_second, now):
        level, last = self.buckets.get(user, (per_second, now))
        return min(per_second, level + (now - last) * per_second)

    def take(self, user, units, per_minute, per_second=0):
        now = time.monotonic()
        with self.lock:
            q = self.win[user]
            while q and q[0][0] <= now - 60:
                self.sums[user] -= q.popleft()[1]
            if per_minute and self.sums[user] + units > per_minute:
                return False
            level = self._bucket(user, per_second, now)
            if per_second and level < units:
                return False
            if per_second:
                self.buckets[user] = (level - units, now)
            q.append((now, units))
            self.sums[user] += units
            return True

    def reset(self):
        with self.lock:
            self.win.clear()
            self.sums.clear()
            self.buckets.clear()


_IDSEG = re.compile(r"/[0-9a-f]{16}(?=/|$)")
_AIDSEG = re.compile(r"/attachments/[^/]+")


def norm_path(path):
    p = _IDSEG.sub("/{id}", path)
    return _AIDSEG.sub("/attachments/{attachmentId}", p)


def _redact_body(obj):
    if isinstance(obj, dict) and isinstance(obj.get("raw"), str):
        obj = dict(obj)
        obj["raw"] = "<%d base64url characters>" % len(obj["raw"])
    return obj


class RequestLog:
    """In-memory request log (GET /_standin/log), the --log file and the
    counters of GET /_standin/stats."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "w", encoding="utf-8") if path else None
        self.next_id = 1
        self.reset()

    def reset(self):
        self.entries = collections.deque(maxlen=LOG_KEEP)
        self.requests = 0
        self.http_requests = 0
        self.batches = 0
        self.by_path = collections.Counter()
        self.by_method = collections.Counter()
        self.by_status = collections.Counter()
        self.quota_429 = 0
        self.faults_fired = 0
        self.dropped = 0
        self.units = collections.Counter()
        self.gzip_responses = 0
        self.connections = 0

    def begin(self, call, parent):
        with self.lock:
            i = self.next_id
            self.next_id += 1
        query = call.query
        if "access_token" in query:
            query = dict(query, access_token=["<redacted>"])
        return {"id": i, "t": round(time.time(), 6), "method": call.method,
                "path": call.path, "query": query, "user": None,
                "token_fp": call.token_fp(), "gzip": call.gzip,
                "status": None, "units": 0, "batch": parent,
                "content_type": call.content_type, "body": call.log_body()}

    def finish(self, e, name=None):
        line = json.dumps(e, ensure_ascii=False, separators=(",", ":"))
        with self.lock:
            self.entries.append(e)
            self.requests += 1
            if e["batch"] is None:
                self.http_requests += 1
            self.by_path["%s %s" % (e["method"], norm_path(e["path"]))] += 1
            if name:
                self.by_method[name] += 1
            self.by_status[str(e["status"])] += 1
            if e["user"] and e["units"]:
                self.units[e["user"]] += e["units"]
            if self.file:
                self.file.write(line + "\n")
                self.file.flush()

    def stats(self):
        with self.lock:
            return {"requests": self.requests,
                    "http_requests": self.http_requests,
                    "batches": self.batches,
                    "by_path": dict(self.by_path),
                    "by_method": dict(self.by_method),
                    "by_status": dict(self.by_status),
                    "quota_429": self.quota_429,
                    "faults_fired": self.faults_fired,
                    "dropped": self.dropped,
                    "units_used": dict(self.units),
                    "gzip_responses": self.gzip_responses,
                    "connections": self.connections}

    def since(self, after):
        with self.lock:
            return [e for e in self.entries if e["id"] > after]


class Call:
    """One API request (an HTTP request or one part of a batch)."""
    __slots__ = ("app", "state", "method", "path", "query", "headers",
                 "body", "content_type", "gzip", "args", "user", "bearer")

    def __init__(self, app, method, path, query, headers, body, gz=False):
        self.app, self.state = app, app.state
        self.method, self.path, self.query = method, path, query
        self.headers, self.body = headers, body
        self.content_type = headers.get("content-type")
        self.gzip = gz
        self.args = ()
        self.user = None
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            self.bearer = auth[7:].strip()
        else:
            tok = query.get("access_token")
            self.bearer = tok[-1] if tok else None

    def token_fp(self):
        if not self.bearer:
            return None
        return hashlib.sha256(self.bearer.encode("utf-8",
                                                 "replace")).hexdigest()[:8]

    def modes(self):
        s = self.app.settings
        return mime.Modes(s.charset_mode, s.headers,
                          s.body_attachment_threshold)

    def log_body(self):
        if not self.body:
            return None
        if self.path in TOKEN_PATHS:
            form = urllib.parse.parse_qs(self.body.decode("latin-1"),
                                         keep_blank_values=True)
            return oauth.redacted_form({k: v[-1] for k, v in form.items()})
        ct = (self.content_type or "").lower()
        if "json" in ct or (not ct and self.body[:1] in (b"{", b"[")):
            try:
                return _redact_body(json.loads(self.body))
            except (ValueError, UnicodeDecodeError):
                return None
        return None


def parse_query(qs):
    return urllib.parse.parse_qs(qs, keep_blank_values=True) if qs else {}


class App:
    PROG = "gmail-standin"

    def __init__(self, state, settings, log_path, verbose=False):
        self.state = state
        self.settings = settings
        self.faults = Faults()
        self.quota = Quota()
        self.log = RequestLog(log_path)
        self.verbose = verbose
        self.host = "127.0.0.1"
        self.port = 0
        state.sent_counter = 0

    # -- API calls -------------------------------------------------------
    def api_call(self, call, parent=None, inner=False):
        """Answers one API request (faults, token, batch, Gmail methods);
        logs it. Raises Drop to close the connection."""
        e = self.log.begin(call, parent)
        name = None
        try:
            resp, name = self._api_call(call, e, inner)
        except Drop:
            e["status"] = 0
            e["dropped"] = True
            with self.log.lock:
                self.log.dropped += 1
            self.log.finish(e, name)
            raise
        e["status"] = resp.status
        self.log.finish(e, name)
        if self.verbose:
            sys.stderr.write("%s: %s %s %d\n" % (self.PROG, call.method,
                                                  call.path, resp.status))
        return resp

    def take_fault(self, call, e):
        """The fault rule for call, if any, counted and acted on: its delay
        slept, its drop raised (Drop). Returns (rule, its error response
        or None)."""
        rule = self.faults.take(call.method, call.path, call.query)
        if rule is None:
            return None, None
        with self.log.lock:
            self.log.faults_fired += 1
        e["fault"] = True
        if rule.delay_ms:
            time.sleep(rule.delay_ms / 1000.0)
        if rule.drop:
            raise Drop()
        return rule, self.fault_resp(rule, call) if rule.status else None

    def _api_call(self, call, e, inner):
        rule, resp = self.take_fault(call, e)
        if resp is not None:
            return resp, None
        if not inner and call.path in TOKEN_PATHS:
            return self.token(call, e), "token"
        if not inner and call.path in TOKENINFO_PATHS:
            return self.tokeninfo(call, e), "tokeninfo"
        if not inner and call.path in BATCH_PATHS:
            if call.method != "POST":
                return err_resp(ApiError(405, "Method Not Allowed",
                                         "methodNotAllowed")), None
            return self.batch(call, e), "batch"
        route, mt = api.find_route(call.method, call.path)
        if route is None:
            if mt == "405":
                return err_resp(ApiError(405, "Method Not Allowed",
                                         "methodNotAllowed")), None
            return err_resp(ApiError(404, "Not Found: %s" % call.path[:200],
                                     "notFound")), None
        try:
            return self.gmail(call, e, route, mt), route.name
        except ApiError as x:
            return err_resp(x), route.name

    def gmail(self, call, e, route, mt):
        call.args = mt.groups()
        st = self.state
        with st.lock:
            tok = st.token_lookup(call.bearer) if call.bearer else None
            if tok is not None and not tok.static and \
                    self.settings.token_uses > 0:
                tok.uses += 1
                if tok.uses > self.settings.token_uses:
                    tok = None
        if tok is None:
            raise api.auth_error()
        call.user = e["user"] = tok.user
        uid = urllib.parse.unquote(call.args[0]).lower()
        if uid != "me" and uid != tok.user:
            raise ApiError(403, "Delegation denied for %s"
                           % urllib.parse.unquote(call.args[0])[:200],
                           "forbidden")
        if not route.allowed(call, tok.scopes):
            raise api.scope_error()
        if call.body and len(call.body) > MAX_JSON_BODY and \
                not call.path.startswith("/upload/"):
            raise ApiError(413, "Request Entity Too Large",
                           "requestTooLarge")
        s = self.settings
        units = api.COSTS[s.quota_profile].get(route.name, 5)
        if (s.quota_per_minute > 0 or s.quota_per_second > 0) and \
                not self.quota.take(tok.user, units, s.quota_per_minute,
                                    s.quota_per_second):
            with self.log.lock:
                self.log.quota_429 += 1
            raise api.rate_limit_error()
        e["units"] = units
        mb = st.mailboxes[tok.user]
        with st.lock:
            status, body = route.handler(call, mb)
        return json_resp(status, body)

    def fault_resp(self, rule, call):
        status = rule.status
        headers = []
        if rule.retry_after is not None:
            headers.append(("Retry-After", str(rule.retry_after)))
        if call.path in TOKEN_PATHS:
            body = rule.body if rule.body is not None else \
                _token_fault_body(status, rule)
            return json_resp(status, body, headers)
        if rule.body is not None:
            return json_resp(status, rule.body, headers)
        x = _api_fault_error(status, rule)
        return json_resp(status, x.body(), headers + x.headers)

    # -- token endpoint ----------------------------------------------------
    def token(self, call, e):
        if call.method != "POST":
            return json_resp(405, {"error": "invalid_request",
                                   "error_description":
                                   "Method not allowed: use POST"})
        try:
            text = call.body.decode("utf-8")
        except UnicodeDecodeError:
            text = call.body.decode("latin-1")
        form = {k: v[-1] for k, v in
                urllib.parse.parse_qs(text, keep_blank_values=True).items()}
        auds = ["http://%s/token" % call.headers.get("host", ""),
                "http://%s:%d/token" % (self.host, self.port),
                "http://%s:%d/token" % ("localhost", self.port)]
        auds = list(oauth.GOOGLE_AUDS) + auds
        with self.state.lock:
            status, body, extras = oauth.handle(self.state, form, auds,
                                                self.settings.token_ttl)
        logged = dict(extras["form"])
        if "jwt" in extras:
            logged["claims"] = extras["jwt"]
        e["body"] = logged
        e["user"] = extras.get("user")
        return json_resp(status, body, [("Cache-Control", "no-store"),
                                        ("Pragma", "no-cache")])

    # -- tokeninfo ---------------------------------------------------------
    def tokeninfo(self, call, e):
        """Google's tokeninfo: an access token (?access_token= or a Bearer
        header) is live: its user, scopes and time left. What IMAP servers
        ask before they accept XOAUTH2 (tests/mailsrv.sh's Dovecot)."""
        with self.state.lock:
            tok = self.state.token_lookup(call.bearer) \
                if call.bearer else None
        if tok is None:
            return json_resp(400, {"error": "invalid_token",
                                   "error_description": "Invalid Value"})
        e["user"] = tok.user
        left = max(int(tok.expires - time.time()), 0) \
            if tok.expires != float("inf") else 3599
        return json_resp(200, {"email": tok.user, "email_verified": "true",
                               "scope": " ".join(sorted(tok.scopes)),
                               "expires_in": str(left),
                               "exp": str(int(time.time()) + left),
                               "access_type": "offline"})

    # -- batch -------------------------------------------------------------
    def batch(self, call, e):
        with self.log.lock:
            self.log.batches += 1
        ct = call.content_type or ""
        m = re.search(r'boundary="?([^";]+)"?', ct, re.I)
        if not ct.lower().startswith("multipart/mixed") or m is None:
            return err_resp(api.bad("Invalid batch request: expected "
                                    "multipart/mixed with a boundary",
                                    "badRequest"))
        parts = split_multipart(call.body, m.group(1).strip())
        e["parts"] = len(parts)
        if not parts:
            return err_resp(api.bad("Invalid batch request: no parts",
                                    "badRequest"))
        if len(parts) > 100:
            return err_resp(api.bad("Too many requests in batch: %d "
                                    "(at most 100)" % len(parts),
                                    "badRequest"))
        out = []
        for part in parts:
            phead, content = split_head(part)
            cid = phead.get("content-id")
            out.append((cid, self.batch_part(call, content, e["id"])))
        boundary = "batch_" + secrets.token_urlsafe(18).replace("-", "x")
        chunks = []
        for cid, r in out:
            chunks.append("--%s\r\nContent-Type: application/http\r\n"
                          % boundary)
            if cid:
                rid = "<response-%s>" % cid[1:-1] if cid.startswith("<") \
                    and cid.endswith(">") else "response-%s" % cid
                chunks.append("Content-ID: %s\r\n" % rid)
            chunks.append("\r\nHTTP/1.1 %d %s\r\n" % (r.status, reason(
                r.status)))
            for k, v in r.headers:
                chunks.append("%s: %s\r\n" % (k, v))
            if r.ctype:
                chunks.append("Content-Type: %s\r\nVary: Origin\r\n"
                              "Vary: X-Origin\r\nVary: Referer\r\n"
                              % r.ctype)
            chunks.append("\r\n")
            chunks.append(r.body.decode("utf-8", "surrogatepass"))
            chunks.append("\r\n")
        chunks.append("--%s--\r\n" % boundary)
        body = "".join(chunks).encode("utf-8", "surrogatepass")
        return Resp(200, body, [], "multipart/mixed; boundary=%s" % boundary)

    def batch_part(self, outer, content, parent):
        try:
            method, target, headers, body = parse_inner_request(content)
        except ValueError as x:
            return err_resp(api.bad("Invalid batch part: %s" % x,
                                    "badRequest"))
        if "authorization" not in headers and \
                "authorization" in outer.headers:
            headers["authorization"] = outer.headers["authorization"]
        path, _, qs = target.partition("?")
        inner = Call(self, method, path, parse_query(qs), headers, body)
        if not path.startswith("/gmail/v1/"):
            e = self.log.begin(inner, parent)
            r = err_resp(ApiError(404, "Not Found: %s" % path[:200],
                                  "notFound"))
            e["status"] = r.status
            self.log.finish(e)
            return r
        return self.api_call(inner, parent, inner=True)

    # -- control API -----------------------------------------------------
    def control(self, method, path, query, body):
        """The /_standin/ endpoints. Returns a Resp."""
        try:
            obj = json.loads(body) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            return json_resp(400, {"error": "body is not JSON"})
        h = self.control_routes(obj, query)
        key = (method, path)
        if key not in h:
            known = path in {p for _, p in h}
            return json_resp(405 if known else 404,
                             {"error": "no such control endpoint: %s %s"
                              % (method, path)})
        try:
            res = h[key]()
        except ValueError as x:
            return json_resp(400, {"error": str(x)})
        except ApiError as x:
            return json_resp(x.code, {"error": x.message})
        if isinstance(res, Resp):
            return res
        return json_resp(200, res)

    def common_routes(self, obj, query):
        """The control endpoints every stand-in has."""
        return {
            ("GET", "/_standin/stats"): lambda: self.log.stats(),
            ("POST", "/_standin/reset"): self.c_reset,
            ("GET", "/_standin/faults"): lambda: {
                "rules": [r.describe() for r in self.faults.rules]},
            ("POST", "/_standin/faults"): lambda: self.c_faults(obj),
            ("DELETE", "/_standin/faults"): self.c_faults_clear,
            ("GET", "/_standin/settings"): self.settings.as_dict,
            ("POST", "/_standin/settings"): lambda: self.c_settings(obj),
            ("GET", "/_standin/log"): lambda: self.c_log(query),
            ("GET", "/_standin/health"): lambda: {"ok": True},
        }

    def control_routes(self, obj, query):
        h = self.common_routes(obj, query)
        h.update({
            ("POST", "/_standin/expire-tokens"): self.c_expire_tokens,
            ("POST", "/_standin/expire-history"):
                lambda: self.c_expire_history(obj),
            ("POST", "/_standin/deliver"): lambda: self.c_deliver(obj),
            ("POST", "/_standin/modify"): lambda: self.c_modify(obj),
            ("POST", "/_standin/delete"): lambda: self.c_delete(obj),
            ("POST", "/_standin/revoke"): lambda: self.c_revoke(obj),
        })
        return h

    def c_reset(self):
        with self.log.lock:
            self.log.reset()
        self.faults.clear()
        self.quota.reset()
        with self.state.lock:
            self.state.revoked.clear()
        return {"ok": True}

    def c_faults(self, obj):
        rules = obj.get("rules") if isinstance(obj, dict) else None
        if not isinstance(rules, list):
            raise ValueError('expected {"rules": [...]}')
        try:
            self.faults.set(rules)
        except re.error as x:
            raise ValueError("bad path regex: %s" % x)
        return {"rules": [r.describe() for r in self.faults.rules]}

    def c_faults_clear(self):
        self.faults.clear()
        return {"rules": []}

    def c_expire_tokens(self):
        with self.state.lock:
            self.state.expire_tokens()
        return {"ok": True}

    def c_expire_history(self, obj):
        users = self._users(obj)
        before = obj.get("before") if isinstance(obj, dict) else None
        if before is not None:
            try:
                before = int(before)
            except (TypeError, ValueError):
                raise ValueError("before must be a history id")
        out = {}
        with self.state.lock:
            for u in users:
                mb = self.state.mailboxes[u]
                mb.expire_history(before)
                out[u] = str(mb.history_id)
        return {"historyId": out}

    def _message(self, obj):
        """The mailbox and message named by {"user","id"} (lock held)."""
        if not isinstance(obj, dict) or obj.get("user") is None:
            raise ValueError("user is required")
        mb = self.state.mailboxes[self._users({"user": obj["user"]})[0]]
        m = mb.messages.get(obj.get("id"))
        if m is None:
            raise ApiError(404, "no message %r" % (obj.get("id"),),
                           "notFound")
        return mb, m

    def c_modify(self, obj):
        with self.state.lock:
            mb, m = self._message(obj)
            add, rem = obj.get("addLabelIds", []), obj.get("removeLabelIds",
                                                           [])
            if not all(isinstance(x, list) and
                       all(isinstance(y, str) and y for y in x)
                       for x in (add, rem)):
                raise ValueError("addLabelIds and removeLabelIds must be "
                                 "lists of label ids")
            for lid in add:
                mb.label_for(lid, create=True)
            mb.change_labels(m, [mb.label_for(x).id for x in add],
                             [x for x in rem])
            return {"id": m.id, "labelIds": list(m.labels),
                    "historyId": str(mb.history_id)}

    def c_delete(self, obj):
        with self.state.lock:
            mb, m = self._message(obj)
            mb.delete(m)
            return {"id": m.id, "historyId": str(mb.history_id)}

    def _users(self, obj):
        u = obj.get("user") if isinstance(obj, dict) else None
        if u is None:
            return list(self.state.mailboxes)
        if not isinstance(u, str) or u.lower() not in self.state.mailboxes:
            raise ValueError("unknown user %r" % (u,))
        return [u.lower()]

    def c_settings(self, obj):
        if not isinstance(obj, dict):
            raise ValueError("expected an object")
        self.settings.update(obj)
        return self.settings.as_dict()

    def c_log(self, query):
        since = query.get("since", ["0"])[-1]
        try:
            n = int(since)
        except ValueError:
            raise ValueError("since must be an integer")
        return json_resp(200, json.dumps(self.log.since(n),
                                         ensure_ascii=False))

    def c_deliver(self, obj):
        if not isinstance(obj, dict):
            raise ValueError("expected an object")
        user = self._users({"user": obj.get("user")})[0] \
            if obj.get("user") is not None else None
        if user is None:
            raise ValueError("user is required")
        if isinstance(obj.get("eml"), str):
            raw = obj["eml"].encode("utf-8")
        else:
            try:
                raw = api._decode_raw(obj.get("raw"))
            except ApiError:
                raise ValueError("raw (base64url) or eml (text) required")
        raw, ctl = mime.strip_control(raw)
        labels = obj.get("labelIds")
        if labels is None:
            labels = [x.strip() for x in ctl.get(
                "x-standin-labels", "INBOX, UNREAD").split(",") if x.strip()]
        if not isinstance(labels, list) or \
                not all(isinstance(x, str) and x for x in labels):
            raise ValueError("labelIds must be a list of label ids")
        mb = self.state.mailboxes[user]
        with self.state.lock:
            for lid in labels:
                mb.label_for(lid, create=True)
            labs = [mb.label_for(x).id for x in labels]
            call = Call(self, "POST", "/_standin/deliver", {}, {}, b"")
            res = api.do_send(call, mb, raw, obj.get("threadId"),
                              tuple(labs))
            m = mb.messages[res["id"]]
            age = store.parse_age(ctl.get("x-standin-age"))
            if age is not None:
                m.internal_ms = int((time.time() - age) * 1000)
                mb.resort()
            m.force_att = ctl.get("x-standin-body-as-attachment", "") \
                .strip().lower() in ("yes", "true", "1")
            m.body().force_attachment = m.force_att
            res["historyId"] = str(m.history_id)
        return res

    def c_revoke(self, obj):
        users = self._users(obj)
        with self.state.lock:
            for u in users:
                self.state.revoked.add(u)
        return {"revoked": users}


def _token_fault_body(status, rule):
    if rule.reason:
        return {"error": rule.reason,
                "error_description": rule.message or rule.reason}
    table = {
        400: ("invalid_grant", "Token has been expired or revoked."),
        401: ("unauthorized_client", oauth.UNAUTHORIZED_CLIENT),
        403: ("access_denied", "Access denied."),
        404: ("not_found", "Not Found"),
        429: ("rate_limit_exceeded", "Rate limit exceeded."),
        500: ("internal_failure", "Backend Error"),
        503: ("temporarily_unavailable",
              "The service is currently unavailable."),
    }
    err, desc = table.get(status, ("internal_failure" if status >= 500
                                   else "invalid_request", "Error"))
    return {"error": err, "error_description": desc}


USAGE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded",
                 "dailyLimitExceeded", "quotaExceeded")


def _api_fault_error(status, rule):
    reason = rule.reason
    msg = rule.message
    if rule.retry_in_msg is not None:
        when = datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(seconds=float(rule.retry_in_msg))
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + \
            "%03dZ" % (when.microsecond // 1000)
        msg = msg or "User-rate limit exceeded.  Retry after %s " \
            "(Mail sending)" % stamp
        reason = reason or "userRateLimitExceeded"
    if status == 401:
        x = api.auth_error()
        if msg:
            x.message = x.inner_message = msg
        return x
    defaults = {
        400: ("badRequest", "Bad Request"),
        403: ("forbidden", "The caller does not have permission"),
        404: ("notFound", "Requested entity was not found."),
        429: ("rateLimitExceeded",
              "Resource has been exhausted (e.g. check quota)."),
        500: ("backendError", "Backend Error"),
        502: ("backendError", "Bad Gateway"),
        503: ("backendError", "The service is currently unavailable."),
        504: ("backendError", "Deadline exceeded."),
    }
    dreason, dmsg = defaults.get(status, ("backendError" if status >= 500
                                          else "badRequest", "Error"))
    reason = reason or dreason
    if msg is None:
        msg = dmsg
        if status == 403 and reason == "rateLimitExceeded":
            msg = ("Quota exceeded for quota metric 'Queries' and limit "
                   "'Queries per minute per user' of service "
                   "'gmail.googleapis.com' for consumer "
                   "'project_number:100000000000'.")
        elif reason == "userRateLimitExceeded" and status != 429:
            msg = ("User Rate Limit Exceeded. Rate of requests for user "
                   "exceed configured project quota.")
        elif reason == "dailyLimitExceeded":
            msg = "Daily Limit Exceeded"
        elif reason == "insufficientPermissions":
            return api.scope_error()
    domain = "usageLimits" if reason in USAGE_REASONS and \
        not (status == 429 and reason == "rateLimitExceeded") else "global"
    return ApiError(status, msg, reason, domain)


def split_multipart(body, boundary):
    """The parts of a multipart body (bytes between delimiter lines)."""
    delim = b"--" + boundary.encode("latin-1", "replace")
    lines = re.split(rb"\r?\n", body)
    parts, cur, inside = [], None, False
    for line in lines:
        s = line.rstrip(b" \t")
        if s == delim or s == delim + b"--":
            if cur is not None:
                parts.append(b"\r\n".join(cur))
            if s.endswith(b"--") and s != delim:
                cur = None
                break
            cur = []
            inside = True
            continue
        if inside and cur is not None:
            cur.append(line)
    return parts


def split_head(data):
    """(lower-case header dict, rest) of a MIME-ish header block."""
    m = re.search(rb"\r?\n\r?\n", data)
    if data.startswith(b"\r\n") or data.startswith(b"\n"):
        return {}, data.lstrip(b"\r\n")
    if m is None:
        return _headers(data), b""
    return _headers(data[:m.start()]), data[m.end():]


def _headers(block):
    out = {}
    for line in re.split(rb"\r?\n(?![ \t])", block):
        if b":" in line:
            k, v = line.split(b":", 1)
            out[k.strip().lower().decode("latin-1")] = \
                re.sub(r"\r?\n[ \t]+", " ", v.strip().decode("latin-1"))
    return out


def parse_inner_request(content):
    """(method, target, headers, body) of the HTTP request in a batch
    part; the target is made a path (scheme and host removed)."""
    content = content.lstrip(b"\r\n")
    m = re.match(rb"([^\r\n]*)\r?\n", content)
    line = (m.group(1) if m else content).decode("latin-1").strip()
    rest = content[m.end():] if m else b""
    bits = line.split()
    if len(bits) < 2:
        raise ValueError("no request line")
    method, target = bits[0].upper(), bits[1]
    if re.match(r"https?://", target):
        u = urllib.parse.urlsplit(target)
        target = u.path + ("?" + u.query if u.query else "")
    if rest.startswith(b"\r\n") or rest.startswith(b"\n"):
        headers, body = {}, rest.split(b"\n", 1)[1]
    else:
        headers, body = split_head(rest)
    n = headers.get("content-length")
    if n is not None and n.strip().isdigit():
        body = body[:int(n)]
    else:
        body = body.rstrip(b"\r\n")
    return method, target, headers, body


_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict",
            413: "Request Entity Too Large", 429: "Too Many Requests",
            500: "Internal Server Error", 501: "Not Implemented",
            502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


def reason(code):
    return _REASONS.get(code, "Error")


_date_cache = [0, ""]


def http_date():
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = email.utils.formatdate(now, usegmt=True)
    return _date_cache[1]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        app = self.server.app
        with app.log.lock:
            app.log.connections += 1

    def log_message(self, fmt, *args):
        if self.server.app.verbose:
            sys.stderr.write("gmail-standin: " + (fmt % args) + "\n")

    def do_GET(self):
        self.handle_req()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ValueError("truncated chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise OverflowError()
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        n = self.headers.get("Content-Length")
        if not n:
            return b""
        n = int(n)
        if n < 0:
            raise ValueError("negative Content-Length")
        if n > MAX_BODY:
            raise OverflowError()
        return self.rfile.read(n)

    def handle_req(self):
        app = self.server.app
        target = self.path
        if re.match(r"https?://", target):
            u = urllib.parse.urlsplit(target)
            target = u.path + ("?" + u.query if u.query else "")
        path, _, qs = target.partition("?")
        try:
            body = self.read_body()
        except OverflowError:
            self.close_connection = True
            return self.send(json_resp(413, api.error_body(
                413, "Request Entity Too Large", "requestTooLarge")))
        except ValueError:
            self.close_connection = True
            return self.send(json_resp(400, api.error_body(
                400, "Bad Request", "badRequest")))
        if path.startswith("/_standin/") or path == "/_standin":
            try:
                resp = app.control(self.command, path, parse_query(qs), body)
            except Exception as x:  # keep serving after a bug
                sys.stderr.write("gmail-standin: internal error on %s %s: "
                                 "%r\n" % (self.command, path, x))
                resp = json_resp(500, {"error": "internal error"})
            return self.send(resp)
        ae = self.headers.get("Accept-Encoding") or ""
        gz = any(t.split(";")[0].strip().lower() == "gzip"
                 and "q=0" not in t.replace(" ", "")
                 for t in ae.split(","))
        if app.settings.latency_ms:
            time.sleep(app.settings.latency_ms / 1000.0)
        hdrs = {k.lower(): v for k, v in self.headers.items()}
        call = Call(app, self.command, path, parse_query(qs), hdrs, body, gz)
        try:
            resp = app.api_call(call)
        except Drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return None
        except Exception as x:  # a bug must not kill the connection thread
            sys.stderr.write("gmail-standin: internal error on %s %s: %r\n"
                             % (self.command, path, x))
            resp = json_resp(500, api.error_body(
                500, "Internal error encountered.", "backendError"))
        self.send(resp, gz)

    def send(self, resp, gz=False):
        app = self.server.app
        body = resp.body
        head = ["HTTP/1.1 %d %s\r\n" % (resp.status, reason(resp.status)),
                "Date: ", http_date(), "\r\nServer: ESF\r\n"]
        if resp.ctype:
            head.append("Content-Type: %s\r\n" % resp.ctype)
            if resp.ctype.startswith("application/json"):
                head.append("Vary: Origin\r\nVary: X-Origin\r\n"
                            "Vary: Referer\r\n")
        if gz and len(body) > 1024:
            body = gzip.compress(body, 1)
            head.append("Content-Encoding: gzip\r\n")
            with app.log.lock:
                app.log.gzip_responses += 1
        for k, v in resp.headers:
            head.append("%s: %s\r\n" % (k, v))
        if resp.status != 204:
            head.append("Content-Length: %d\r\n" % len(body))
        if self.close_connection:
            head.append("Connection: close\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1")
        if self.command != "HEAD":
            data += body
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


class Server6(Server):
    address_family = socket.AF_INET6


HELP_EPILOG = """\
Control API (no auth, JSON): GET /_standin/stats, POST /_standin/reset,
GET|POST|DELETE /_standin/faults, POST /_standin/expire-tokens,
POST /_standin/expire-history, GET|POST /_standin/settings,
GET /_standin/log[?since=ID], POST /_standin/deliver, POST /_standin/revoke,
GET /_standin/health. See README.md beside this program for the details,
the request log format and the sample mailboxes.
"""


def parse_args(argv):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(
        prog="gmail-standin",
        description="A local stand-in for the Gmail REST API v1 and "
        "Google's OAuth2 token endpoint, serving sample mailboxes of "
        "example.com over plain HTTP. Runs until SIGTERM or SIGINT.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0,
                   help="port to bind; 0 picks a free port (default 0)")
    p.add_argument("--port-file", metavar="FILE",
                   help="once listening, write the port number to FILE "
                   "(atomically: temp file then rename)")
    p.add_argument("--accounts", metavar="FILE",
                   default=os.path.join(here, "accounts.json"),
                   help="accounts, OAuth clients, service accounts and "
                   "labels (default: accounts.json beside this program)")
    p.add_argument("--mailbox", metavar="DIR",
                   default=os.path.join(here, "mailbox"),
                   help="directory with one sub-directory of .eml files per "
                   "account email (default: mailbox/ beside this program)")
    p.add_argument("--generate", type=int, default=0, metavar="N",
                   help="add N synthetic messages to alice@example.com "
                   "(2-20 KB, text+html, some attachments, internalDate "
                   "over the last 2 days)")
    p.add_argument("--charset-mode", choices=("utf8", "original"),
                   default="utf8",
                   help="text body data: utf8 converts from the declared "
                   "charset (what Gmail does, default); original serves the "
                   "decoded bytes unchanged")
    p.add_argument("--headers", choices=("decoded", "raw"),
                   default="decoded",
                   help="header values: decoded = RFC 2047 words decoded "
                   "(default, what Gmail does); raw = as in the message")
    p.add_argument("--latency-ms", type=int, default=0, metavar="N",
                   help="sleep N ms before answering each HTTP request "
                   "(not the control API; once per batch)")
    p.add_argument("--quota-per-minute", type=int, default=0, metavar="N",
                   help="per-user quota: units accepted in a rolling 60 s "
                   "window; over it -> 429 rateLimitExceeded (0 = off, "
                   "default)")
    p.add_argument("--quota-per-second", type=int, default=0, metavar="N",
                   help="per-user rate: a token bucket of N units refilled "
                   "at N units/s; over it -> 429 rateLimitExceeded (0 = off, "
                   "default)")
    p.add_argument("--quota-profile", choices=("classic", "2026"),
                   default="classic",
                   help="method costs: Google's table for projects created "
                   "before (classic, default) or from 2026-05-01")
    p.add_argument("--token-ttl", type=int, default=3600, metavar="S",
                   help="lifetime of issued access tokens in seconds "
                   "(default 3600)")
    p.add_argument("--token-uses", type=int, default=0, metavar="N",
                   help="issued access tokens die (401) after N API "
                   "requests, each batch part counting (0 = never, default)")
    p.add_argument("--body-attachment-threshold", type=int,
                   default=1 << 20, metavar="BYTES",
                   help="leaf bodies larger than this are served by "
                   "attachmentId without data (default 1048576)")
    p.add_argument("--log", metavar="FILE",
                   help="request log: one JSON object per line, flushed per "
                   "request (the file is truncated at start)")
    p.add_argument("--quiet", action="store_true",
                   help="print only the listening line and errors")
    p.add_argument("--verbose", action="store_true",
                   help="also print one line per request to stderr")
    a = p.parse_args(argv)
    for name in ("port", "generate", "latency_ms", "quota_per_minute",
                 "quota_per_second", "token_uses",
                 "body_attachment_threshold"):
        if getattr(a, name) < 0:
            p.error("--%s must not be negative" % name.replace("_", "-"))
    if a.token_ttl <= 0:
        p.error("--token-ttl must be positive")
    if a.port > 65535:
        p.error("--port must be at most 65535")
    return a


def warm_up(app):
    """Renders the generated messages (newest first, default modes) in the
    background so that a benchmark's first pass hits the cache."""
    modes = mime.Modes(app.settings.charset_mode, app.settings.headers,
                       app.settings.body_attachment_threshold)
    for mb in list(app.state.mailboxes.values()):
        with app.state.lock:
            pending_render = [m for m in mb.order if m.gen_index is not None]
        for m in pending_render:
            m.render(modes)
            m.snippet()
            m.size_estimate()
            time.sleep(0)


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    say = (lambda s: None) if a.quiet else \
        (lambda s: sys.stderr.write(s + "\n"))
    t0 = time.time()
    try:
        state = store.State(a.accounts, a.mailbox, a.generate,
                            log=lambda s: sys.stderr.write(s + "\n"))
    except (OSError, ValueError, KeyError) as x:
        sys.stderr.write("gmail-standin: cannot load %s: %s\n"
                         % (a.accounts, x))
        return 1
    app = App(state, Settings(a), a.log, a.verbose)

    def loaded():
        for addr, mb in state.mailboxes.items():
            say("gmail-standin: %s: %d messages, historyId %d"
                % (addr, len(mb.messages), mb.history_id))
        say("gmail-standin: loaded in %.2f s" % (time.time() - t0))
        if a.generate:
            threading.Thread(target=warm_up, args=(app,),
                             daemon=True).start()
    return serve(app, a, "gmail-standin", say, loaded)


def serve(app, a, prog, say, ready=None):
    """Listens on a.host:a.port, writes a.port_file, serves app until
    SIGTERM or SIGINT. Returns the exit status."""
    cls = Server6 if ":" in a.host else Server
    try:
        server = cls((a.host, a.port), Handler)
    except OSError as x:
        sys.stderr.write("%s: cannot listen on %s:%d: %s\n"
                         % (prog, a.host, a.port, x.strerror or x))
        return 1
    server.app = app
    app.host, app.port = a.host, server.server_address[1]
    if ready:
        ready()
    if a.port_file:
        try:
            write_port_file(a.port_file, app.port)
        except OSError as x:
            sys.stderr.write("%s: cannot write %s: %s\n"
                             % (prog, a.port_file, x.strerror or x))
            return 1
    host = "[%s]" % a.host if ":" in a.host else a.host
    sys.stderr.write("%s: listening on http://%s:%d\n"
                     % (prog, host, app.port))
    sys.stderr.flush()
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Every thread's stack on stderr, for a stand-in that does not stop.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    th = threading.Thread(target=server.serve_forever,
                          kwargs={"poll_interval": 0.1}, daemon=True)
    th.start()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    if app.log.file:
        app.log.file.close()
    say("%s: stopped" % prog)
    return 0
