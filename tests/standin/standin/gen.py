# Synthetic messages of the Gmail API stand-in (--generate N): raw bytes and
# the Gmail payload built together, without a MIME parser, so they are fast.
"""Generated messages.

Message i of N is fully determined by i: its sender, subject, size (2-20
KB), a text/plain + text/html alternative, an attachment for every sixth
message. Generated(i, msg_id) has the same interface as mime.Parsed (raw,
payload(modes), meta, text_contains(needle)); the test suite checks that
parsing .raw with the MIME parser gives exactly .payload(modes).
"""

import base64
import random

from . import mime

_WORDS = (
    "the quarterly report meeting agenda budget review project deadline "
    "customer invoice shipment contract proposal design release schedule "
    "update draft summary notes action items follow up please confirm "
    "attached document details regards thanks question answer team office "
    "travel booking flight hotel conference lunch coffee weekend plan "
    "server deploy backup metrics latency queue worker mailbox label sync "
    "naïve café Straße Grüße résumé façade 日本 東京 你好 Ελλάδα Привет "
    "alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega"
).split()

_SENDERS = [
    ("Bob Example", "bob@example.com"),
    ("Carol Example", "carol@example.com"),
    ("Zoë Ångström", "zoe@example.net"),
    ("Billing, Department", "billing@example.org"),
    ("Newsletter", "news@example.org"),
    ("José Núñez", "jose@example.es"),
    ("", "noreply@example.net"),
    ("田中 花子", "hanako@example.jp"),
]

_POOL = None


def _pool():
    """64 paragraphs built once from a fixed seed; messages pick from it."""
    global _POOL
    if _POOL is None:
        rnd = random.Random(20261123)
        pool = []
        for _ in range(64):
            words = [rnd.choice(_WORDS) for _ in range(rnd.randint(30, 90))]
            words[0] = words[0].capitalize()
            lines, cur = [], ""
            for w in words:
                if cur and len(cur) + 1 + len(w) > 72:
                    lines.append(cur)
                    cur = w
                else:
                    cur = w if not cur else cur + " " + w
            lines.append(cur + ".")
            pool.append("\r\n".join(lines))
        _POOL = (pool, [p.lower() for p in pool])
    return _POOL


def _ew(text):
    return "=?UTF-8?B?%s?=" % base64.b64encode(text.encode()).decode()


def _b64_len(n):
    """Length of _b64_lines() output for n bytes of data."""
    chars = 4 * ((n + 2) // 3)
    return chars + 2 * max((chars + 75) // 76 - 1, 0)


def _b64_lines(data, sizing=False):
    if sizing:
        return "B" * _b64_len(len(data))
    s = base64.b64encode(data).decode("ascii")
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def _addr(name, addr, encode):
    if not name:
        return addr, addr
    quoted = '"%s"' % name if "," in name else name
    dec = "%s <%s>" % (quoted, addr)
    if encode and any(ord(c) > 127 for c in name):
        return "%s <%s>" % (_ew(name), addr), dec
    return dec, dec


class Generated:
    """Message index of a generated mailbox of user, internalDate ms."""

    def __init__(self, user, index, msg_id, internal_ms):
        self.msg_id = msg_id
        self.user = user
        rnd = random.Random(index * 1000003 + 7)
        pool, _ = _pool()
        name, addr = _SENDERS[index % len(_SENDERS)]
        frm_raw, frm = _addr(name, addr, True)
        topic = " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(2, 6)))
        subject = "%s #%d" % (topic.capitalize(), index)
        subj_raw = _ew(subject) if index % 4 == 0 or any(
            ord(c) > 127 for c in subject) else subject
        target = rnd.randint(1700, 17500)
        paras = []
        size = 0
        while size < target * 0.35 or not paras:
            k = rnd.randrange(len(pool))
            paras.append(k)
            size += len(pool[k])
        self.paras = paras
        text = "Hello,\r\n\r\n" + "\r\n\r\n".join(pool[k] for k in paras) \
            + "\r\n\r\n-- \r\n%s\r\n" % (name or addr)
        htm = "<html><body><p>Hello,</p>\r\n" + "".join(
            "<p>%s</p>\r\n" % pool[k].replace("\r\n", " ") for k in paras) \
            + "</body></html>\r\n"
        self.text = text.encode("utf-8")
        self.html = htm.encode("utf-8")
        self.att = None
        if index % 6 == 0:
            self.att = ("report-%d.pdf" % index,
                        b"%PDF-1.4\n" + rnd.randbytes(rnd.randint(800, 3000)))
        secs = internal_ms // 1000
        date = _rfc2822(secs - 3)
        tag = "%s.%d" % (msg_id, index)
        self.headers = [
            ("Delivered-To", user, user),
            ("Received", "from mx%d.example.net (mx%d.example.net "
             "[192.0.2.%d])\r\n        by mx.example.com with ESMTPS id %s"
             "\r\n        for <%s>; %s" % (index % 9, index % 9,
                                           index % 250 + 1, msg_id, user,
                                           date), None),
            ("From", frm_raw, frm),
            ("To", user, user),
            ("Subject", subj_raw, subject),
            ("Date", date, date),
            ("Message-ID", "<gen-%s@example.net>" % tag, None),
            ("MIME-Version", "1.0", None),
        ]
        self.subject = subject
        self.from_ = frm
        self.message_id = "<gen-%s@example.net>" % tag
        self.b_alt = "alt_%s" % msg_id
        self.b_mix = "mix_%s" % msg_id
        self._raw = None
        self._meta = None

    # -- raw ---------------------------------------------------------------
    @property
    def raw(self):
        if self._raw is None:
            self._raw = self._build_raw()
        return self._raw

    def raw_size(self):
        """len(self.raw), computed without building it."""
        if self._raw is not None:
            return len(self._raw)
        return len(self._build_raw(sizing=True))

    def _alt_headers(self):
        return [("Content-Type",
                 'multipart/alternative; boundary="%s"' % self.b_alt)]

    def _text_headers(self):
        return [("Content-Type", 'text/plain; charset="UTF-8"'),
                ("Content-Transfer-Encoding", "8bit")]

    def _html_headers(self):
        return [("Content-Type", 'text/html; charset="UTF-8"'),
                ("Content-Transfer-Encoding", "base64")]

    def _att_headers(self):
        n = self.att[0]
        return [("Content-Type", 'application/pdf; name="%s"' % n),
                ("Content-Disposition", 'attachment; filename="%s"' % n),
                ("Content-Transfer-Encoding", "base64")]

    def _top_ctype(self):
        if self.att:
            return 'multipart/mixed; boundary="%s"' % self.b_mix
        return self._alt_headers()[0][1]

    @staticmethod
    def _hblock(hs):
        return "".join("%s: %s\r\n" % (n, v) for n, v in hs)

    def _build_raw(self, sizing=False):
        """The message bytes (sizing: base64 bodies replaced by filler of
        the same length, to measure)."""
        top = self._hblock([(n, r) for n, r, _ in self.headers]
                           + [("Content-Type", self._top_ctype())])
        alt = ("--%s\r\n" % self.b_alt + self._hblock(self._text_headers())
               + "\r\n").encode() + self.text \
            + ("\r\n--%s\r\n" % self.b_alt).encode() \
            + (self._hblock(self._html_headers()) + "\r\n"
               + _b64_lines(self.html, sizing)
               + "\r\n--%s--\r\n" % self.b_alt
               ).encode()
        if not self.att:
            return top.encode() + b"\r\n" + alt
        mix = ("--%s\r\n" % self.b_mix + self._hblock(self._alt_headers())
               + "\r\n").encode() + alt + (
            "\r\n--%s\r\n" % self.b_mix + self._hblock(self._att_headers())
            + "\r\n" + _b64_lines(self.att[1], sizing)
            + "\r\n--%s--\r\n" % self.b_mix).encode()
        return top.encode() + b"\r\n" + mix

    # -- payload -----------------------------------------------------------
    def top(self, modes):
        """(mimeType, top-level headers) without building the tree."""
        dec = modes.headers == "decoded"
        hs = [{"name": n, "value": (d if dec and d is not None else
                                    mime.unfold(r))}
              for n, r, d in self.headers]
        hs.append({"name": "Content-Type", "value": self._top_ctype()})
        return self._top_ctype().split(";")[0], hs

    def payload(self, modes):
        """The MessagePart tree for modes: (dict, {attachmentId: bytes})."""
        dec = modes.headers == "decoded"
        atts = {}

        def hs(pairs):
            return [{"name": n, "value": v} for n, v in pairs]

        top_h = [{"name": n,
                  "value": (d if dec and d is not None else
                            mime.unfold(r))}
                 for n, r, d in self.headers]
        top_h.append({"name": "Content-Type", "value": self._top_ctype()})

        def leaf(pid, ctype, headers, data, fname=""):
            d = {"partId": pid, "mimeType": ctype, "filename": fname,
                 "headers": hs(headers)}
            if fname or len(data) > modes.threshold:
                aid = mime.attachment_id(self.msg_id, pid)
                atts[aid] = data
                d["body"] = {"attachmentId": aid, "size": len(data)}
            else:
                d["body"] = {"size": len(data), "data": mime.b64url(data)}
            return d

        def alt(pid, headers):
            return {"partId": pid, "mimeType": "multipart/alternative",
                    "filename": "", "headers": headers, "body": {"size": 0},
                    "parts": [
                        leaf(mime.child_id(pid, 0), "text/plain",
                             self._text_headers(), self.text),
                        leaf(mime.child_id(pid, 1), "text/html",
                             self._html_headers(), self.html)]}

        if not self.att:
            return alt("", top_h), atts
        tree = {"partId": "", "mimeType": "multipart/mixed", "filename": "",
                "headers": top_h, "body": {"size": 0},
                "parts": [alt("0", hs(self._alt_headers())),
                          leaf("1", "application/pdf", self._att_headers(),
                               self.att[1], self.att[0])]}
        return tree, atts

    # -- meta --------------------------------------------------------------
    @property
    def meta(self):
        if self._meta is None:
            m = mime.Meta()
            m.subject = self.subject
            m.from_ = self.from_
            m.to = self.user
            m.message_id = self.message_id
            m.date = self.headers[5][2]
            m.snippet = mime.snippet_of(self.text.decode("utf-8"))
            m.text = None
            m.has_attachment = self.att is not None
            self._meta = m
        return self._meta

    def text_contains(self, needle):
        """Case-insensitive substring search in headers and body text."""
        _, low = _pool()
        heads = (self.subject, self.from_, self.user, "hello,",
                 self.text[-80:].decode("utf-8", "replace"))
        if any(needle in h.lower() for h in heads):
            return True
        return any(needle in low[k] for k in self.paras)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
           "Oct", "Nov", "Dec")


def _rfc2822(secs):
    import time
    t = time.gmtime(secs)
    return "%s, %02d %s %04d %02d:%02d:%02d +0000" % (
        _DAYS[t.tm_wday], t.tm_mday, _MONTHS[t.tm_mon - 1], t.tm_year,
        t.tm_hour, t.tm_min, t.tm_sec)
