# Search of the Gmail API stand-in: the subset of Gmail's q syntax that
# messages.list supports, compiled to a predicate over messages.
"""q syntax supported (terms ANDed, a leading '-' negates a term):
after:/before: (epoch seconds or YYYY/MM/DD, UTC), newer_than:/older_than:
(Nh, Nd, Nm = 30 d, Ny = 365 d), from:, to: (To, Cc, Bcc, Delivered-To),
subject:, label:, is:unread|read|starred|important, in:inbox|sent|spam|
trash|anywhere|draft|starred|important, has:attachment, "quoted phrases" and
bare words (case-insensitive substring of subject, from, recipients and body
text). Unknown operators are ignored."""

import calendar
import re
import time

_TOKEN = re.compile(r'(-?)(?:([A-Za-z_]+):("(?:[^"]*)"|\S+)|"([^"]*)"|(\S+))')

_UNITS = {"h": 3600, "d": 86400, "m": 30 * 86400, "y": 365 * 86400}


class Query:
    """A compiled q. .match(mailbox, msg) -> bool. .spam_trash tells
    whether the query itself asks for SPAM or TRASH (then they are not
    hidden)."""

    def __init__(self, q, user):
        self.user = user.lower()
        self.terms = []
        self.spam_trash = False
        self.needs_body = False
        for m in _TOKEN.finditer(q or ""):
            neg = m.group(1) == "-"
            op, val = m.group(2), m.group(3)
            if op is not None:
                val = val.strip('"')
                t = self._op(op.lower(), val)
            else:
                word = m.group(4) if m.group(4) is not None else m.group(5)
                if word in ("AND",):
                    continue
                t = self._word(word)
            if t is not None:
                self.terms.append((neg, t))

    def _word(self, word):
        w = word.lower()
        if not w:
            return None
        self.needs_body = True
        return lambda mb, m: m.body().text_contains(w)

    def _time(self, val):
        if re.fullmatch(r"\d+", val):
            return int(val) * 1000
        mm = re.fullmatch(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})", val)
        if mm:
            y, mo, d = (int(x) for x in mm.groups())
            try:
                return calendar.timegm((y, mo, d, 0, 0, 0)) * 1000
            except (ValueError, OverflowError):
                return None
        return None

    def _op(self, op, val):
        lv = val.lower()
        if op in ("after", "before"):
            t = self._time(val)
            if t is None:
                return None
            if op == "after":
                return lambda mb, m: m.internal_ms >= t
            return lambda mb, m: m.internal_ms < t
        if op in ("newer_than", "older_than", "newer", "older"):
            mm = re.fullmatch(r"(\d+)([hdmy])", lv)
            if not mm:
                return None
            span = int(mm.group(1)) * _UNITS[mm.group(2)] * 1000
            if op.startswith("newer"):
                return lambda mb, m: m.internal_ms > time.time() * 1000 - span
            return lambda mb, m: m.internal_ms <= time.time() * 1000 - span
        if op == "from":
            needle = self.user if lv == "me" else lv
            self.needs_body = True
            return lambda mb, m: needle in m.body().meta.from_.lower()
        if op in ("to", "cc", "bcc", "deliveredto"):
            needle = self.user if lv == "me" else lv
            self.needs_body = True
            return lambda mb, m: needle in m.body().meta.to.lower()
        if op == "subject":
            self.needs_body = True
            return lambda mb, m: lv in m.body().meta.subject.lower()
        if op == "label":
            return self._label(lv)
        if op == "is":
            return self._is(lv)
        if op == "in":
            if lv in ("anywhere", "all"):
                self.spam_trash = True
                return None
            return self._label(lv)
        if op == "has":
            if lv in ("attachment", "attachments"):
                self.needs_body = True
                return lambda mb, m: m.body().meta.has_attachment
            if lv in ("userlabels", "nouserlabels"):
                want = lv == "userlabels"
                return lambda mb, m: want == any(
                    x.startswith("Label_") for x in m.labels)
            return None
        return None

    def _label(self, lv):
        if lv in ("spam", "trash"):
            self.spam_trash = True

        def match(mb, m):
            for lid in m.labels:
                lab = mb.labels.get(lid)
                names = (lid.lower(),) if lab is None else (
                    lid.lower(), lab.name.lower(),
                    lab.name.lower().replace(" ", "-").replace("/", "-"))
                if lv in names or lv.replace("-", "_") in names:
                    return True
            return False
        return match

    def _is(self, lv):
        if lv == "unread":
            return lambda mb, m: "UNREAD" in m.labels
        if lv == "read":
            return lambda mb, m: "UNREAD" not in m.labels
        if lv in ("starred", "important", "sent", "draft", "spam", "trash"):
            return self._label(lv)
        return None

    def match(self, mb, m):
        for neg, t in self.terms:
            if bool(t(mb, m)) == neg:
                return False
        return True
