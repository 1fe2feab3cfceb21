# State of the Gmail API stand-in: accounts, mailboxes, messages, labels,
# threads, history records, access tokens and the render cache.
"""Mailbox state. Every mutation happens under State.lock (the HTTP layer
takes it around each API call)."""

import collections
import email.utils
import hashlib
import json
import os
import re
import threading
import time

from . import gen, mime

FULL = "https://mail.google.com/"
_P = "https://www.googleapis.com/auth/"
MODIFY = _P + "gmail.modify"
READONLY = _P + "gmail.readonly"
METADATA = _P + "gmail.metadata"
SEND = _P + "gmail.send"
COMPOSE = _P + "gmail.compose"
LABELS = _P + "gmail.labels"

# (id, hidden from message and label lists)
SYSTEM_LABELS = [
    ("CHAT", True), ("SENT", False), ("INBOX", False), ("IMPORTANT", True),
    ("TRASH", True), ("DRAFT", False), ("SPAM", True),
    ("CATEGORY_FORUMS", True), ("CATEGORY_UPDATES", True),
    ("CATEGORY_PERSONAL", True), ("CATEGORY_PROMOTIONS", True),
    ("CATEGORY_SOCIAL", True), ("STARRED", False), ("UNREAD", False),
]

ID_RE = re.compile(r"^[0-9a-f]{16}$")


def now_ms():
    return int(time.time() * 1000)


def msg_id_for(key):
    """A stable 16-hex message id: first 16 hex of sha1(key)."""
    data = key.encode("utf-8", "surrogateescape")
    return hashlib.sha1(data).hexdigest()[:16]


def parse_age(text):
    """'30m', '2h', '3d' (also '90s', '1w', '1.5h') -> seconds, or None."""
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", text or "")
    if not m:
        return None
    mult = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return float(m.group(1)) * mult[m.group(2)]


class Label:
    __slots__ = ("id", "name", "type", "hidden")

    def __init__(self, lid, name, ltype, hidden=False):
        self.id, self.name, self.type, self.hidden = lid, name, ltype, hidden

    def resource(self):
        d = {"id": self.id, "name": self.name}
        if self.type == "user":
            d["messageListVisibility"] = "show"
            d["labelListVisibility"] = "labelShow"
        elif self.hidden:
            d["messageListVisibility"] = "hide"
            d["labelListVisibility"] = "labelHide"
        d["type"] = self.type
        return d


class RenderCache:
    """LRU of rendered payloads, bounded by an estimate of their bytes."""

    def __init__(self, budget=256 << 20):
        self.budget = budget
        self.used = 0
        self.items = collections.OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            v = self.items.get(key)
            if v is not None:
                self.items.move_to_end(key)
                return v[0]
        return None

    def put(self, key, value, size):
        with self.lock:
            if key in self.items:
                return
            self.items[key] = (value, size)
            self.used += size
            while self.used > self.budget and len(self.items) > 1:
                _, (_, sz) = self.items.popitem(last=False)
                self.used -= sz


CACHE = RenderCache(768 << 20)
_GEN_CACHE = RenderCache(32 << 20)


class Msg:
    """One message of one mailbox. labels: list in Gmail order. source:
    a mime.Parsed (files, sent, delivered) or None with gen_index set."""
    __slots__ = ("id", "thread_id", "labels", "internal_ms", "history_id",
                 "_parsed", "raw_bytes", "force_att", "gen_index", "user",
                 "file", "size", "pre_trash", "_snippet")

    def __init__(self, mid, user, internal_ms):
        self.id = mid
        self.user = user
        self.internal_ms = internal_ms
        self.thread_id = mid
        self.labels = []
        self.history_id = 0
        self._parsed = None
        self.raw_bytes = None
        self.force_att = False
        self.gen_index = None
        self.file = None
        self.size = None
        self.pre_trash = None
        self._snippet = None

    def snippet(self):
        if self._snippet is None:
            self._snippet = self.body().meta.snippet
        return self._snippet

    def body(self):
        """The mime.Parsed or gen.Generated behind this message (built on
        first use; generated ones live in a bounded cache)."""
        if self.gen_index is not None:
            g = _GEN_CACHE.get(self.id)
            if g is None:
                g = gen.Generated(self.user, self.gen_index, self.id,
                                  self.internal_ms)
                _GEN_CACHE.put(self.id, g, len(g.text) + len(g.html) + 4096)
            return g
        if self._parsed is None:
            self._parsed = mime.Parsed(self.raw_bytes, self.id,
                                       self.force_att)
        return self._parsed

    def raw(self):
        return self.raw_bytes if self.gen_index is None else self.body().raw

    def size_estimate(self):
        if self.size is None:
            if self.gen_index is not None:
                self.size = self.body().raw_size()
            else:
                self.size = len(self.raw())
        return self.size

    def render(self, modes):
        """(payload JSON text, {aid: bytes}) for modes; cached."""
        key = (self.id, modes.key())
        r = CACHE.get(key)
        if r is None:
            tree, atts = self.body().payload(modes)
            js = json.dumps(tree, ensure_ascii=False, separators=(",", ":"))
            r = (js, atts)
            CACHE.put(key, r, 2 * len(js) + 200 + sum(len(v) for v in
                                                      atts.values()))
        return r

    def ref(self):
        return {"id": self.id, "threadId": self.thread_id}

    def ref_labels(self):
        return {"id": self.id, "threadId": self.thread_id,
                "labelIds": list(self.labels)}


class Mailbox:
    """One account's mailbox: messages, labels, threads, history."""

    def __init__(self, account, base_hid):
        self.email = account["email"]
        self.account = account
        self.labels = collections.OrderedDict()
        for lid, hidden in SYSTEM_LABELS:
            self.labels[lid] = Label(lid, lid, "system", hidden)
        for lab in account.get("labels", []):
            self.labels[lab["id"]] = Label(lab["id"], lab.get("name",
                                                              lab["id"]),
                                           "user")
        self.messages = {}
        self.order = []
        self.by_msgid = {}
        self.threads = collections.defaultdict(set)
        self.history = []
        self.history_id = base_hid
        self.floor = base_hid + 1
        self._step = 0

    # -- history -----------------------------------------------------------
    def next_hid(self):
        """A new, larger history id (not contiguous, as in Gmail)."""
        self._step += 1
        self.history_id += 1 + (self._step * 7) % 5
        return self.history_id

    def record(self, **typed):
        """Appends a history record with the typed arrays given
        (messagesAdded=[...], labelsAdded=[...], ...). Returns its id."""
        hid = self.next_hid()
        msgs = []
        seen = set()
        for entries in typed.values():
            for e in entries:
                m = e["message"]
                if m["id"] not in seen:
                    seen.add(m["id"])
                    msgs.append({"id": m["id"], "threadId": m["threadId"]})
        rec = {"id": hid, "messages": msgs}
        rec.update({k: v for k, v in typed.items() if v})
        self.history.append(rec)
        return hid

    def expire_history(self, before=None):
        """Forgets the records older than history id before (all of them
        when None): a startHistoryId below it then gets 404."""
        if before is None:
            before = self.history_id
        self.history = [r for r in self.history if r["id"] > before]
        self.floor = max(self.floor, before)

    # -- messages ----------------------------------------------------------
    def label_for(self, lid, create=False):
        lab = self.labels.get(lid)
        if lab is None:
            for lab2 in self.labels.values():
                if lab2.id.upper() == lid.upper() and lab2.type == "system":
                    return lab2
        if lab is None and create:
            name = lid[6:] if lid.startswith("Label_") else lid
            lab = self.labels[lid] = Label(lid, name, "user")
        return lab

    def _sort_key(self, m):
        return (-m.internal_ms, m.id)

    def resort(self):
        self.order = sorted(self.messages.values(), key=self._sort_key)

    def insert(self, m, refs=(), thread_id=None, record=True):
        """Adds m; threads it (thread_id, else the thread of a referenced
        Message-ID, else its own); records messagesAdded when record."""
        if thread_id is None:
            for r in refs:
                other = self.by_msgid.get(r)
                if other is not None and other in self.messages:
                    thread_id = self.messages[other].thread_id
                    break
        m.thread_id = thread_id or m.id
        self.messages[m.id] = m
        self.threads[m.thread_id].add(m.id)
        if record:
            m.history_id = self.record(messagesAdded=[
                {"message": m.ref_labels()}])
            self.resort()
        mid = m.body().meta.message_id if m.gen_index is None else None
        if mid:
            self.by_msgid.setdefault(mid, m.id)

    def delete(self, m):
        self.messages.pop(m.id, None)
        t = self.threads.get(m.thread_id)
        if t is not None:
            t.discard(m.id)
            if not t:
                del self.threads[m.thread_id]
        self.order = [x for x in self.order if x.id != m.id]
        self.record(messagesDeleted=[{"message": m.ref()}])

    def change_labels(self, m, add, remove):
        """Applies label changes; records labelsAdded/labelsRemoved when
        something changed. Returns True when it did."""
        added = [lid for lid in add if lid not in m.labels]
        removed = [lid for lid in remove if lid in m.labels
                   and lid not in add]
        if not added and not removed:
            return False
        for lid in added:
            m.labels.append(lid)
        m.labels = [lid for lid in m.labels if lid not in removed]
        typed = {}
        if added:
            typed["labelsAdded"] = [{"message": m.ref_labels(),
                                     "labelIds": added}]
        if removed:
            typed["labelsRemoved"] = [{"message": m.ref_labels(),
                                       "labelIds": removed}]
        m.history_id = self.record(**typed)
        return True


class Token:
    __slots__ = ("user", "scopes", "expires", "static", "uses")

    def __init__(self, user, scopes, expires, static=False):
        self.user, self.scopes = user, frozenset(scopes)
        self.expires, self.static = expires, static
        self.uses = 0


class State:
    """Everything the server knows. Built from the accounts file, the
    mailbox directory and --generate."""

    def __init__(self, accounts_path, mailbox_dir, generate=0, start=None,
                 log=None):
        self.lock = threading.RLock()
        self.start = time.time() if start is None else start
        self.log = log or (lambda s: None)
        with open(accounts_path, "rb") as f:
            self.config = json.load(f)
        self.base_dir = os.path.dirname(os.path.abspath(accounts_path))
        self.domain = self.config.get("domain", "example.com")
        self.accounts = {}
        self.mailboxes = {}
        self.tokens = {}
        self.dead_static = set()
        self.revoked = set()
        self.service_accounts = {}
        for i, acc in enumerate(self.config.get("accounts", [])):
            addr = acc["email"].lower()
            self.accounts[addr] = acc
            self.mailboxes[addr] = Mailbox(acc, 100000 * (i + 1) + 1000)
            if acc.get("access_token"):
                self.tokens[acc["access_token"]] = Token(
                    addr, acc.get("access_token_scopes", [FULL]),
                    float("inf"), static=True)
        for sa in self.config.get("service_accounts", []):
            self.service_accounts[sa["client_email"]] = sa
        self.mailbox_dir = mailbox_dir
        for addr, mb in self.mailboxes.items():
            self._load_dir(mb, os.path.join(mailbox_dir or "", addr))
        if generate:
            first = next(iter(self.mailboxes.values()), None)
            target = self.mailboxes.get("alice@example.com", first)
            if target is not None:
                self._generate(target, generate)
        for mb in self.mailboxes.values():
            mb.resort()

    # -- loading -----------------------------------------------------------
    def _load_dir(self, mb, path):
        entries = []
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                full = os.path.join(path, name)
                if name.startswith(".") or not os.path.isfile(full):
                    continue
                try:
                    m, refs = self._load_file(mb, full, name)
                except OSError as e:
                    self.log("gmail-standin: %s: %s" % (full, e.strerror))
                    continue
                entries.append((m, refs))
        self._thread_and_number(mb, entries)

    def _load_file(self, mb, full, name):
        with open(full, "rb") as f:
            data = f.read()
        raw, ctl = mime.strip_control(data)
        mid = msg_id_for("%s/%s" % (mb.email, name))
        hm = mime.header_meta(raw)
        m = Msg(mid, mb.email, self._internal_ms(ctl, hm, full))
        m.raw_bytes = raw
        m.file = full
        m.force_att = ctl.get("x-standin-body-as-attachment", "").strip() \
            .lower() in ("yes", "true", "1")
        labels = ctl.get("x-standin-labels")
        ids = [x.strip() for x in (labels if labels is not None
                                   else "INBOX, UNREAD").split(",")]
        for lid in ids:
            if lid:
                lab = mb.label_for(lid, create=True)
                if lab.id not in m.labels:
                    m.labels.append(lab.id)
        refs = [x for x in [hm.in_reply_to] + hm.references[::-1] if x]
        return m, (hm.message_id, refs)

    def _internal_ms(self, ctl, hm, path):
        age = parse_age(ctl.get("x-standin-age"))
        if age is not None:
            return int((self.start - age) * 1000)
        if hm.date:
            try:
                dt = email.utils.parsedate_to_datetime(hm.date)
                if dt is not None:
                    return int(dt.timestamp() * 1000)
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
        return int(os.stat(path).st_mtime * 1000)

    def _thread_and_number(self, mb, entries):
        """Threads loaded messages (union of Message-ID / In-Reply-To /
        References; the thread id is the id of its earliest message) and
        gives each a history id in date order."""
        parent = {}

        def find(x):
            while parent.get(x, x) != x:
                x = parent[x]
            return x

        by_mid = {}
        for m, (mid, refs) in entries:
            if mid:
                by_mid.setdefault(mid, m.id)
        for m, (mid, refs) in entries:
            for r in refs:
                other = by_mid.get(r)
                if other is not None:
                    parent[find(m.id)] = find(other)
        groups = collections.defaultdict(list)
        for m, _ in entries:
            groups[find(m.id)].append(m)
        for members in groups.values():
            first = min(members, key=lambda x: (x.internal_ms, x.id))
            for m in members:
                m.thread_id = first.id
        entries.sort(key=lambda e: (e[0].internal_ms, e[0].id))
        for m, (mid, _) in entries:
            m.history_id = mb.next_hid()
            mb.messages[m.id] = m
            mb.threads[m.thread_id].add(m.id)
            if mid:
                mb.by_msgid.setdefault(mid, m.id)
        if entries:
            mb.floor = entries[0][0].history_id

    def _generate(self, mb, n):
        """Adds n generated messages, internalDate spread over the last 2
        days (message 0 newest)."""
        span = 2 * 86400 * 1000
        now = int(self.start * 1000)
        for i in range(n):
            mid = msg_id_for("%s/generated/%06d" % (mb.email, i))
            if mid in mb.messages:
                continue
            age = (i * span) // max(n, 1) + (i * 7919) % 997 + 60000
            m = Msg(mid, mb.email, now - min(age, span))
            m.gen_index = i
            m.labels = ["INBOX"]
            if i % 3 == 0:
                m.labels.insert(0, "UNREAD")
            if i % 5 == 0:
                m.labels.append("IMPORTANT")
            if i % 7 == 0:
                m.labels.append("Label_Work")
                mb.label_for("Label_Work", create=True)
            if i % 11 == 0:
                m.labels.append("STARRED")
            m.history_id = mb.next_hid()
            mb.messages[mid] = m
            mb.threads[mid].add(mid)

    # -- tokens ------------------------------------------------------------
    def token_lookup(self, token):
        """The live Token for a bearer string, or None."""
        t = self.tokens.get(token)
        if t is None:
            return None
        if t.static and token in self.dead_static:
            return None
        if t.expires <= time.time():
            return None
        if t.user in self.revoked and not t.static:
            return None
        return t

    def expire_tokens(self):
        for tok, t in list(self.tokens.items()):
            if t.static:
                self.dead_static.add(tok)
            else:
                del self.tokens[tok]
