# Gmail REST API v1 methods of the stand-in: routes, scopes, quota costs,
# Google-shaped errors and the handlers of every supported method.
"""Each handler gets (call, mailbox) and returns (status, body) where body
is a dict (JSON), a str (already JSON text) or None (204, no body), or
raises ApiError."""

import base64
import binascii
import bisect
import email.parser
import email.policy
import json
import re
import time

from . import mime, query, store
from .store import (COMPOSE, FULL, LABELS, METADATA, MODIFY, READONLY, SEND,
                    ID_RE)

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED",
                403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                405: "UNIMPLEMENTED", 409: "ABORTED",
                413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED",
                500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "UNAVAILABLE",
                503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class ApiError(Exception):
    def __init__(self, code, message, reason, domain="global", extra=None,
                 headers=None, inner_message=None):
        Exception.__init__(self, message)
        self.code, self.message, self.reason = code, message, reason
        self.domain, self.extra = domain, extra or {}
        self.headers = headers or []
        self.inner_message = inner_message or message

    def body(self):
        e = {"message": self.inner_message, "domain": self.domain,
             "reason": self.reason}
        e.update(self.extra)
        return {"error": {"code": self.code, "message": self.message,
                          "errors": [e],
                          "status": STATUS_NAMES.get(self.code, "UNKNOWN")}}


def error_body(code, message, reason, domain="global", extra=None):
    return ApiError(code, message, reason, domain, extra).body()


def auth_error():
    return ApiError(401, "Invalid Credentials", "authError", extra={
        "locationType": "header", "location": "Authorization"},
        headers=[("WWW-Authenticate",
                  'Bearer realm="https://accounts.google.com/", '
                  'error="invalid_token"')])


def scope_error():
    return ApiError(403, "Request had insufficient authentication scopes.",
                    "insufficientPermissions",
                    headers=[("WWW-Authenticate",
                              'Bearer realm="https://accounts.google.com/", '
                              'error="insufficient_scope"')],
                    inner_message="Insufficient Permission")


def not_found():
    return ApiError(404, "Requested entity was not found.", "notFound")


def bad(message, reason="invalidArgument"):
    return ApiError(400, message, reason)


def rate_limit_error():
    return ApiError(429, "Resource has been exhausted (e.g. check quota).",
                    "rateLimitExceeded")


# -- quota costs -------------------------------------------------------------
COSTS = {
    "classic": {"users.getProfile": 1, "labels.list": 1, "labels.get": 1,
                "history.list": 2, "messages.list": 5, "messages.get": 5,
                "messages.attachments.get": 5, "messages.modify": 5,
                "messages.trash": 5, "messages.untrash": 5,
                "messages.delete": 10, "messages.batchModify": 50,
                "messages.batchDelete": 50, "messages.send": 100,
                "threads.get": 10},
}
COSTS["2026"] = dict(COSTS["classic"], **{
    "messages.get": 20, "messages.attachments.get": 20,
    "messages.trash": 20, "threads.get": 40})


# -- utilities -------------------------------------------------------------
def _one(p, name, default=None):
    v = p.get(name)
    return v[-1] if v else default


def _int_param(p, name, default, lo, hi):
    v = _one(p, name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise bad("Invalid value for %s: %s" % (name, v[:40]))
    if n < lo or n > hi:
        raise bad("Invalid %s value: %d (must be between %d and %d)"
                  % (name, n, lo, hi))
    return n


def _bool_param(p, name):
    v = (_one(p, name) or "false").lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0", ""):
        return False
    raise bad("Invalid value for %s: %s" % (name, v[:40]))


def _msg(call, mb, mid):
    if not ID_RE.match(mid):
        raise bad("Invalid id value")
    m = mb.messages.get(mid)
    if m is None:
        raise not_found()
    return m


def _json_body(call):
    if not call.body:
        return {}
    try:
        obj = json.loads(call.body)
    except (ValueError, UnicodeDecodeError):
        raise bad("Invalid JSON payload received.", "badRequest")
    if not isinstance(obj, dict):
        raise bad("Invalid JSON payload received. Expected an object.",
                  "badRequest")
    return obj


def _str_list(obj, name):
    v = obj.get(name, [])
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise bad("Invalid value at '%s': expected a list of strings" % name)
    return v


def _labels_checked(mb, ids):
    out = []
    for lid in ids:
        lab = mb.label_for(lid)
        if lab is None:
            raise bad("Invalid label: %s" % lid[:100])
        out.append(lab.id)
    return out


def _page_token(m):
    return base64.urlsafe_b64encode(
        ("%d:%s" % (m.internal_ms, m.id)).encode()).decode().rstrip("=")


def _page_key(tok):
    try:
        s = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)).decode()
        ms, mid = s.split(":", 1)
        return (-int(ms), mid)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad("Invalid pageToken")


# -- message resources -------------------------------------------------------
def message_json(call, m, fmt, meta_headers=None):
    """The Message resource as JSON text, fields in Gmail's order."""
    modes = call.modes()
    out = ['{"id":"', m.id, '","threadId":"', m.thread_id, '"']
    if m.labels:
        out.append(',"labelIds":')
        out.append(json.dumps(m.labels))
    out.append(',"snippet":')
    out.append(json.dumps(m.snippet(), ensure_ascii=False))
    if fmt == "full":
        out.append(',"payload":')
        out.append(m.render(modes)[0])
    elif fmt == "metadata":
        mt, hs = m.body().top(modes)
        if meta_headers:
            want = {h.lower() for h in meta_headers}
            hs = [h for h in hs if h["name"].lower() in want]
        out.append(',"payload":')
        out.append(json.dumps({"mimeType": mt, "headers": hs},
                              ensure_ascii=False, separators=(",", ":")))
    out.append(',"sizeEstimate":%d' % m.size_estimate())
    if fmt == "raw":
        key = (m.id, "raw")
        r = store.CACHE.get(key)
        if r is None:
            r = mime.b64url(m.raw())
            store.CACHE.put(key, r, len(r))
        out.append(',"raw":"')
        out.append(r)
        out.append('"')
    out.append(',"historyId":"%d","internalDate":"%d"}'
               % (m.history_id, m.internal_ms))
    return "".join(out)


def minimal_ref(m):
    d = {"id": m.id, "threadId": m.thread_id}
    if m.labels:
        d["labelIds"] = list(m.labels)
    return d


# -- handlers ----------------------------------------------------------------
def h_profile(call, mb):
    return 200, {"emailAddress": mb.email,
                 "messagesTotal": len(mb.messages),
                 "threadsTotal": len(mb.threads),
                 "historyId": str(mb.history_id)}


def h_list(call, mb):
    p = call.query
    limit = _int_param(p, "maxResults", 100, 1, 500)
    label_ids = p.get("labelIds", [])
    q = query.Query(_one(p, "q", ""), mb.email)
    show_st = _bool_param(p, "includeSpamTrash") or q.spam_trash or any(
        x.upper() in ("SPAM", "TRASH") for x in label_ids)
    want = []
    for lid in label_ids:
        lab = mb.label_for(lid)
        want.append(lab.id if lab else lid)
    hits = []
    for m in mb.order:
        labs = m.labels
        if not show_st and ("SPAM" in labs or "TRASH" in labs):
            continue
        if want and not all(x in labs for x in want):
            continue
        if q.terms and not q.match(mb, m):
            continue
        hits.append(m)
    start = 0
    tok = _one(p, "pageToken")
    if tok:
        key = _page_key(tok)
        keys = [(-m.internal_ms, m.id) for m in hits]
        start = bisect.bisect_right(keys, key)
    page = hits[start:start + limit]
    out = {}
    if page:
        out["messages"] = [{"id": m.id, "threadId": m.thread_id}
                           for m in page]
    if start + limit < len(hits):
        out["nextPageToken"] = _page_token(page[-1])
    out["resultSizeEstimate"] = len(hits)
    return 200, out


FORMATS = ("full", "metadata", "minimal", "raw")


def _format(p, allowed=FORMATS):
    fmt = (_one(p, "format") or "full").lower()
    if fmt not in allowed:
        raise bad('Invalid value at \'format\' (type.googleapis.com/'
                  'google.apps.gmail.v1.Format), "%s"' % fmt[:40])
    return fmt


def h_get(call, mb):
    m = _msg(call, mb, call.args[1])
    fmt = _format(call.query)
    return 200, message_json(call, m, fmt, call.query.get("metadataHeaders"))


def h_attachment(call, mb):
    m = _msg(call, mb, call.args[1])
    aid = call.args[2]
    data = m.render(call.modes())[1].get(aid)
    if data is None:
        raise bad("Invalid attachment token", "badRequest")
    return 200, '{"attachmentId":"%s","size":%d,"data":"%s"}' % (
        aid, len(data), mime.b64url(data))


def _decode_raw(s):
    if not isinstance(s, str) or not s.strip():
        raise bad("Invalid raw", "badRequest")
    s = re.sub(r"\s+", "", s).replace("+", "-").replace("/", "_")
    s = s.rstrip("=")
    if len(s) % 4 == 1 or not re.fullmatch(r"[A-Za-z0-9_-]*", s):
        raise bad("Invalid raw", "badRequest")
    try:
        data = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError):
        raise bad("Invalid raw", "badRequest")
    if not data.strip():
        raise bad("Invalid raw", "badRequest")
    return data


def do_send(call, mb, raw, thread_id=None, labels=("SENT",), record=True):
    """Adds raw to mb (labels), threads it, records history. Returns the
    minimal Message."""
    hm = mime.header_meta(raw)
    if labels == ("SENT",) and not hm.to.strip():
        raise bad("Recipient address required")
    if thread_id is not None:
        if not isinstance(thread_id, str) or thread_id not in mb.threads:
            raise not_found()
    call.state.sent_counter += 1
    mid = store.msg_id_for("%s/sent/%d/%d" % (mb.email,
                                             call.state.sent_counter,
                                             time.time_ns()))
    m = store.Msg(mid, mb.email, store.now_ms())
    m.raw_bytes = raw
    m.labels = list(labels)
    refs = [x for x in [hm.in_reply_to] + hm.references[::-1] if x]
    mb.insert(m, refs, thread_id, record=record)
    return {"id": m.id, "threadId": m.thread_id, "labelIds": list(m.labels)}


def h_send(call, mb):
    obj = _json_body(call)
    raw = _decode_raw(obj.get("raw"))
    return 200, do_send(call, mb, raw, obj.get("threadId"))


MAX_UPLOAD = 36700160


def h_upload_send(call, mb):
    kind = (_one(call.query, "uploadType") or "").lower()
    ctype = (call.content_type or "").lower()
    if len(call.body) > MAX_UPLOAD:
        raise ApiError(413, "Request Entity Too Large", "uploadTooLarge")
    if kind in ("media", "") and ctype.startswith("message/"):
        if not call.body.strip():
            raise bad("Invalid raw", "badRequest")
        return 200, do_send(call, mb, call.body)
    if kind == "media":
        raise bad("Media type '%s' is not supported. Valid media types: "
                  "[message/*]" % ctype[:60], "badContent")
    if kind == "multipart":
        return 200, _multipart_send(call, mb)
    if kind == "resumable":
        raise ApiError(501, "Resumable uploads are not supported by this "
                       "server", "notImplemented")
    raise bad("Upload type is required", "badRequest")


def _multipart_send(call, mb):
    head = b"Content-Type: " + (call.content_type or "").encode(
        "latin-1", "replace") + b"\r\nMIME-Version: 1.0\r\n\r\n"
    msg = email.parser.BytesParser(policy=email.policy.compat32) \
        .parsebytes(head + call.body)
    parts = msg.get_payload() if msg.is_multipart() else []
    if len(parts) != 2:
        raise bad("Invalid multipart upload", "badRequest")
    try:
        meta = json.loads(parts[0].get_payload(decode=True) or b"{}")
    except ValueError:
        raise bad("Invalid JSON payload received.", "badRequest")
    if not parts[1].get_content_type().startswith("message/"):
        raise bad("Media type is not supported. Valid media types: "
                  "[message/*]", "badContent")
    inner = parts[1].get_payload()
    if isinstance(inner, list):
        raw = b"".join(x.as_bytes() for x in inner)
    else:
        raw = parts[1].get_payload(decode=True) or b""
    if not raw.strip():
        raise bad("Invalid raw", "badRequest")
    return do_send(call, mb, raw, meta.get("threadId")
                   if isinstance(meta, dict) else None)


def h_modify(call, mb):
    m = _msg(call, mb, call.args[1])
    obj = _json_body(call)
    add = _str_list(obj, "addLabelIds")
    rem = _str_list(obj, "removeLabelIds")
    if len(add) > 100 or len(rem) > 100:
        raise bad("Too many label ids (at most 100 each)")
    add, rem = _labels_checked(mb, add), _labels_checked(mb, rem)
    mb.change_labels(m, add, rem)
    return 200, minimal_ref(m)


def _ids(obj):
    ids = _str_list(obj, "ids")
    if len(ids) > 1000:
        raise bad("Number of ids cannot exceed 1000")
    for i in ids:
        if not ID_RE.match(i):
            raise bad("Invalid id value")
    return ids


def h_batch_modify(call, mb):
    obj = _json_body(call)
    ids = _ids(obj)
    add = _labels_checked(mb, _str_list(obj, "addLabelIds"))
    rem = _labels_checked(mb, _str_list(obj, "removeLabelIds"))
    for i in ids:
        m = mb.messages.get(i)
        if m is not None:
            mb.change_labels(m, add, rem)
    return 204, None


def h_batch_delete(call, mb):
    ids = _ids(_json_body(call))
    for i in ids:
        m = mb.messages.get(i)
        if m is not None:
            mb.delete(m)
    return 204, None


def h_delete(call, mb):
    m = _msg(call, mb, call.args[1])
    mb.delete(m)
    return 204, None


def h_trash(call, mb):
    m = _msg(call, mb, call.args[1])
    if "TRASH" not in m.labels:
        m.pre_trash = [x for x in ("INBOX", "SPAM") if x in m.labels]
        mb.change_labels(m, ["TRASH"], ["INBOX", "SPAM"])
    return 200, minimal_ref(m)


def h_untrash(call, mb):
    m = _msg(call, mb, call.args[1])
    if "TRASH" in m.labels:
        back = m.pre_trash
        if back is None:
            back = [] if "SENT" in m.labels else ["INBOX"]
        mb.change_labels(m, back, ["TRASH"])
        m.pre_trash = None
    return 200, minimal_ref(m)


def h_labels(call, mb):
    return 200, {"labels": [lab.resource() for lab in mb.labels.values()]}


def h_label(call, mb):
    lab = mb.label_for(call.args[1])
    if lab is None:
        raise not_found()
    d = lab.resource()
    lid = lab.id
    msgs = [m for m in mb.messages.values() if lid in m.labels]
    d["messagesTotal"] = len(msgs)
    d["messagesUnread"] = sum(1 for m in msgs if "UNREAD" in m.labels)
    d["threadsTotal"] = len({m.thread_id for m in msgs})
    d["threadsUnread"] = len({m.thread_id for m in msgs
                              if "UNREAD" in m.labels})
    return 200, d


_HTYPES = {"messageAdded": "messagesAdded",
           "messageDeleted": "messagesDeleted",
           "labelAdded": "labelsAdded", "labelRemoved": "labelsRemoved"}


def _history_filter(rec, keys, label, bare=False):
    """A record as history.list shows it: the types asked for, the
    entries with label; bare: messages as {id, threadId} only."""
    out = {}
    ids = set()
    for k in ("messagesAdded", "messagesDeleted", "labelsAdded",
              "labelsRemoved"):
        if k not in rec or k not in keys:
            continue
        entries = rec[k]
        if label:
            entries = [e for e in entries
                       if label in e["message"].get("labelIds", [])
                       or label in e.get("labelIds", [])]
        if bare:
            entries = [dict(e, message={x: e["message"][x] for x in
                                        ("id", "threadId")})
                       for e in entries]
        if entries:
            out[k] = entries
            ids.update(e["message"]["id"] for e in entries)
    if not out:
        return None
    res = {"id": str(rec["id"]),
           "messages": [x for x in rec["messages"] if x["id"] in ids]}
    res.update(out)
    return res


def h_history(call, mb):
    p = call.query
    raw_start = _one(p, "startHistoryId")
    if raw_start is None or raw_start == "":
        raise bad("Missing required parameter: startHistoryId",
                  "invalidArgument")
    try:
        start = int(raw_start)
    except ValueError:
        raise bad("Invalid startHistoryId: %s" % raw_start[:40])
    if start < mb.floor:
        raise not_found()
    limit = _int_param(p, "maxResults", 100, 1, 500)
    types = p.get("historyTypes")
    if types:
        for t in types:
            if t not in _HTYPES:
                raise bad("Invalid value at 'history_types', \"%s\""
                          % t[:40])
        keys = {_HTYPES[t] for t in types}
    else:
        keys = set(_HTYPES.values())
    label = _one(p, "labelId")
    tok = _one(p, "pageToken")
    after = start
    if tok:
        try:
            after = max(after, int(tok))
        except ValueError:
            raise bad("Invalid pageToken")
    i = bisect.bisect_right([r["id"] for r in mb.history], after)
    out = []
    last = None
    bare = call.app.settings.history_messages == "bare"
    for rec in mb.history[i:]:
        r = _history_filter(rec, keys, label, bare)
        last = rec["id"]
        if r is not None:
            out.append(r)
            if len(out) == limit:
                break
    res = {}
    if out:
        res["history"] = out
    if out and len(out) == limit and last is not None and \
            mb.history and last < mb.history[-1]["id"]:
        res["nextPageToken"] = str(last)
    res["historyId"] = str(mb.history_id)
    return 200, res


def h_thread(call, mb):
    tid = call.args[1]
    if not ID_RE.match(tid):
        raise bad("Invalid id value")
    ids = mb.threads.get(tid)
    if not ids:
        raise not_found()
    fmt = _format(call.query, ("full", "metadata", "minimal"))
    msgs = sorted((mb.messages[i] for i in ids if i in mb.messages),
                  key=lambda m: (m.internal_ms, m.id))
    hid = max(m.history_id for m in msgs)
    mh = call.query.get("metadataHeaders")
    return 200, '{"id":"%s","historyId":"%d","messages":[%s]}' % (
        tid, hid, ",".join(message_json(call, m, fmt, mh) for m in msgs))


# -- routes ------------------------------------------------------------------
R = (FULL, MODIFY, READONLY)
W = (FULL, MODIFY)
U = r"/gmail/v1/users/([^/]+)"


def _meta_list(call):
    return not _one(call.query, "q")


def _meta_get(call):
    return (_one(call.query, "format") or "full").lower() in (
        "metadata", "minimal")


class Route:
    __slots__ = ("method", "regex", "name", "scopes", "meta_ok", "handler")

    def __init__(self, method, pattern, name, scopes, handler, meta_ok=None):
        self.method, self.name, self.scopes = method, name, frozenset(scopes)
        self.regex = re.compile("^" + pattern + "$")
        self.handler, self.meta_ok = handler, meta_ok

    def allowed(self, call, scopes):
        if self.scopes & scopes:
            return True
        return METADATA in scopes and self.meta_ok is not None and \
            self.meta_ok(call)


ROUTES = [
    Route("GET", U + r"/messages/([^/]+)", "messages.get", R, h_get,
          _meta_get),
    Route("GET", U + r"/messages", "messages.list", R, h_list, _meta_list),
    Route("POST", U + r"/messages/send", "messages.send",
          (FULL, MODIFY, COMPOSE, SEND), h_send),
    Route("POST", U + r"/messages/batchModify", "messages.batchModify", W,
          h_batch_modify),
    Route("POST", U + r"/messages/batchDelete", "messages.batchDelete",
          (FULL,), h_batch_delete),
    Route("POST", U + r"/messages/([^/]+)/modify", "messages.modify", W,
          h_modify),
    Route("POST", U + r"/messages/([^/]+)/trash", "messages.trash", W,
          h_trash),
    Route("POST", U + r"/messages/([^/]+)/untrash", "messages.untrash", W,
          h_untrash),
    Route("DELETE", U + r"/messages/([^/]+)", "messages.delete", (FULL,),
          h_delete),
    Route("GET", U + r"/messages/([^/]+)/attachments/([^/]+)",
          "messages.attachments.get", R, h_attachment),
    Route("GET", U + r"/profile", "users.getProfile",
          R + (METADATA, COMPOSE), h_profile),
    Route("GET", U + r"/labels", "labels.list", R + (METADATA, LABELS),
          h_labels),
    Route("GET", U + r"/labels/([^/]+)", "labels.get",
          R + (METADATA, LABELS), h_label),
    Route("GET", U + r"/history", "history.list", R + (METADATA,),
          h_history),
    Route("GET", U + r"/threads/([^/]+)", "threads.get", R, h_thread,
          _meta_get),
    Route("POST", r"/upload" + U + r"/messages/send", "messages.send",
          (FULL, MODIFY, COMPOSE, SEND), h_upload_send),
]


def find_route(method, path):
    """(route, match) for method+path; (None, "405") when the path exists
    with another method; (None, None) when it does not exist."""
    other = False
    for r in ROUTES:
        mt = r.regex.match(path)
        if mt is None:
            continue
        if r.method == method:
            return r, mt
        other = True
    return None, ("405" if other else None)
