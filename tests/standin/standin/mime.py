# MIME handling of the Gmail API stand-in: control headers, RFC 2047 words,
# charsets, and the Gmail-shaped MessagePart tree built from a raw message.
"""Turns raw RFC 5322 bytes into what Gmail serves.

Public entry points:
  strip_control(raw)      -> (served_bytes, {control header: value})
  Parsed(raw)             -> the parsed message (lazy), with
      .payload(modes)     -> (payload dict, {attachmentId: bytes})
      .meta               -> headers/snippet/search text used by list and q
  decode_words(s)         -> RFC 2047 words decoded
  to_unicode(b, charset)  -> text decoded the way the stand-in decodes bodies
"""

import base64
import binascii
import codecs
import email.parser
import email.policy
import hashlib
import html
import re

CONTROL_PREFIX = b"x-standin-"

# Charset names mapped to the Python codec that decodes them the way mail
# readers do (WHATWG-style supersets).
CHARSET_ALIASES = {
    "us-ascii": "cp1252", "ascii": "cp1252", "ansi_x3.4-1968": "cp1252",
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252",
    "latin-1": "cp1252", "l1": "cp1252", "iso_8859-1": "cp1252",
    "iso-8859-9": "cp1254", "iso-8859-11": "cp874", "tis-620": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "euc-cn": "gb18030", "cp936": "gb18030", "gb_2312-80": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932",
    "x-sjis": "cp932", "ms_kanji": "cp932", "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext", "csiso2022jp": "iso2022_jp_ext",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "ks_c_5601": "cp949",
    "big5": "cp950", "x-big5": "cp950",
    "utf8": "utf-8", "unicode-1-1-utf-7": "utf-7", "x-unicode20utf8": "utf-8",
}

# Codecs Python knows that are not text charsets (never use them on mail).
_NOT_CHARSETS = {"base64", "hex", "quopri", "uu", "zlib", "bz2", "rot13",
                 "rot_13", "base64_codec", "hex_codec", "quopri_codec",
                 "uu_codec", "zlib_codec", "bz2_codec", "idna", "punycode",
                 "unicode_escape", "raw_unicode_escape", "undefined",
                 "mbcs", "oem", "palmos"}


def codec_for(charset):
    """The Python codec name for a MIME charset, or None when unknown."""
    if not charset:
        return None
    name = charset.strip().strip('"').lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if info.name in _NOT_CHARSETS or name in _NOT_CHARSETS:
        return None
    return info.name


def is_utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def to_unicode(data, charset):
    """Decodes body bytes: declared charset when known (errors become
    U+FFFD); no charset: UTF-8 when valid, else windows-1252; unknown
    charset: UTF-8 when valid, else U+FFFD for every undecodable byte."""
    if charset is None or charset.strip() == "":
        if is_utf8(data):
            return data.decode("utf-8")
        return data.decode("cp1252", "replace")
    codec = codec_for(charset)
    if codec is None:
        return data.decode("utf-8", "replace")
    try:
        return data.decode(codec, "replace")
    except Exception:  # a codec can still choke on hostile input
        return data.decode("utf-8", "replace")


def fix_surrogates(s):
    """Header text from the bytes parser keeps 8-bit bytes as surrogate
    escapes; Gmail reads such bytes as Latin-1."""
    try:
        return s.encode("ascii", "surrogateescape").decode("latin-1")
    except UnicodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")


def unfold(value):
    """Removes the line breaks of a folded header, keeping the whitespace."""
    return _FOLD.sub("", value).replace("\r", "").replace("\n", "")


_EW = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_QHEX = re.compile(rb"=([0-9A-Fa-f]{2})")


def _ew_bytes(enc, text):
    data = text.encode("ascii", "replace")
    if enc in "bB":
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        data += b"=" * (-len(data) % 4)
        if len(data) % 4 == 1:
            data = data[:-1]
        try:
            return base64.b64decode(data)
        except (binascii.Error, ValueError):
            return None
    data = data.replace(b"_", b" ")
    return _QHEX.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def decode_words(value):
    """Decodes RFC 2047 encoded words; whitespace between two adjacent
    words is dropped, consecutive words in one charset are joined before
    decoding (a character may be split across them). Words in an unknown
    charset or with a bad encoding are left as they are."""
    if "=?" not in value:
        return value
    out = []
    pos = 0
    pend_cs = None
    pend = b""
    pend_src = ""

    def flush():
        nonlocal pend, pend_cs, pend_src
        if pend_cs is not None:
            codec = codec_for(pend_cs)
            out.append(pend.decode(codec, "replace") if codec else pend_src)
        pend, pend_cs, pend_src = b"", None, ""

    for m in _EW.finditer(value):
        gap = value[pos:m.start()]
        if gap and (gap.strip(" \t") or pend_cs is None):
            flush()
            out.append(gap)
        cs = m.group(1).split("*", 1)[0]
        data = _ew_bytes(m.group(2), m.group(3))
        if data is None or codec_for(cs) is None:
            flush()
            out.append(m.group(0))
        else:
            if pend_cs is not None and pend_cs.lower() != cs.lower():
                flush()
            pend_cs = cs
            pend += data
            pend_src += m.group(0)
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


def header_value(raw, decoded):
    """A header value as served: unfolded, 8-bit bytes as Latin-1, RFC 2047
    words decoded when decoded is true."""
    v = fix_surrogates(unfold(raw))
    return decode_words(v) if decoded else v


def strip_control(raw):
    """Removes the X-Standin-* header fields (with their continuation
    lines) from the header block of raw. Returns (bytes served, dict of the
    control fields: lower-case name -> unfolded value)."""
    end = len(raw)
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i >= 0 and i < end:
            end = i
    head = raw[:end]
    lines = head.splitlines(keepends=True)
    kept = []
    control = {}
    current = None
    for line in lines:
        if line[:1] in (b" ", b"\t") and current is not None:
            control[current] += " " + line.strip().decode("latin-1")
            continue
        current = None
        if line.lower().startswith(CONTROL_PREFIX) and b":" in line:
            name, val = line.split(b":", 1)
            current = name.strip().lower().decode("latin-1")
            control[current] = val.strip().decode("latin-1")
            continue
        kept.append(line)
    if not control:
        return raw, control
    return b"".join(kept) + raw[end:], control


def html_to_text(s):
    """A plain rendering of HTML for snippets and search: head, script and
    style dropped, tags become spaces, entities decoded."""
    s = re.sub(r"(?is)<(script|style|head|title)\b.*?</\1\s*>", " ", s)
    s = re.sub(r"(?s)<!--.*?-->", " ", s)
    s = re.sub(r"(?s)<[^>]*>", " ", s)
    return html.unescape(s)


def snippet_of(text):
    """Gmail's snippet: whitespace collapsed, about 200 characters,
    HTML-escaped (&amp; &lt; &gt; &quot; &#39;)."""
    t = " ".join(text[:4000].split())[:200].rstrip()
    return (t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def b64url(data):
    """base64url with '=' padding, as Gmail serves body data and raw."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def attachment_id(msg_id, part_id):
    """A stable, opaque attachment id for one part of one message."""
    h = hashlib.sha256(("%s/%s" % (msg_id, part_id)).encode()).digest()
    h2 = hashlib.sha256(h + b"standin").digest()
    return "ANGjdJ" + base64.urlsafe_b64encode(h + h2).decode().rstrip("=")


def child_id(pid, i):
    return str(i) if pid == "" else "%s.%d" % (pid, i)


class Modes:
    """What changes how a payload looks: charset mode ("utf8" or
    "original"), header mode ("decoded" or "raw") and the size above which
    a leaf body is served by attachmentId."""
    __slots__ = ("charset", "headers", "threshold")

    def __init__(self, charset="utf8", headers="decoded", threshold=1 << 20):
        self.charset = charset
        self.headers = headers
        self.threshold = threshold

    def key(self):
        return (self.charset, self.headers, self.threshold)


class Meta:
    """What list/q and the snippet need: decoded main headers, the text."""
    __slots__ = ("subject", "from_", "to", "message_id", "in_reply_to",
                 "references", "date", "snippet", "text", "has_attachment")

    def __init__(self):
        self.subject = self.from_ = self.to = ""
        self.message_id = self.in_reply_to = ""
        self.references = []
        self.date = None
        self.snippet = ""
        self.text = ""
        self.has_attachment = False


_parser = email.parser.BytesParser(policy=email.policy.compat32)
_hparser = email.parser.BytesHeaderParser(policy=email.policy.compat32)

_MSGID = re.compile(r"<[^<>\s]+>")


def header_meta(raw):
    """Parses only the header block: returns a Meta with subject, from, to,
    message-id, in-reply-to, references and date (raw Date string)."""
    m = Meta()
    try:
        msg = _hparser.parsebytes(raw)
    except Exception:
        return m
    _fill_header_meta(m, msg)
    return m


def _hget(msg, name):
    v = msg.get(name)
    if v is None:
        return ""
    return header_value(str(v), True)


def _fill_header_meta(m, msg):
    m.subject = _hget(msg, "subject")
    m.from_ = _hget(msg, "from")
    to = [_hget(msg, n) for n in ("to", "cc", "bcc", "delivered-to")]
    m.to = ", ".join(x for x in to if x)
    m.message_id = (_MSGID.findall(_hget(msg, "message-id")) or [""])[0]
    m.in_reply_to = (_MSGID.findall(_hget(msg, "in-reply-to")) or [""])[0]
    m.references = _MSGID.findall(_hget(msg, "references"))
    d = msg.get("date")
    m.date = None if d is None else unfold(fix_surrogates(str(d)))


class Parsed:
    """A raw message parsed once; payloads per Modes are built on demand
    by the owner (Msg caches them)."""

    def __init__(self, raw, msg_id, force_attachment=False):
        self.raw = raw
        self.msg_id = msg_id
        self.force_attachment = force_attachment
        try:
            self.msg = _parser.parsebytes(raw)
        except Exception:
            self.msg = _hparser.parsebytes(b"Content-Type: text/plain\n\n")
        self._meta = None

    @property
    def meta(self):
        if self._meta is None:
            self._meta = self._build_meta()
        return self._meta

    def _build_meta(self):
        m = Meta()
        try:
            _fill_header_meta(m, self.msg)
        except Exception:
            pass
        plain, htm, att = [], [], [False]
        try:
            self._walk_text(self.msg, plain, htm, att, 0)
        except RecursionError:
            pass
        body = plain[0] if plain else (html_to_text(htm[0]) if htm else "")
        m.snippet = snippet_of(body)
        alltext = [m.subject, m.from_, m.to] + plain + [html_to_text(h)
                                                        for h in htm]
        m.text = "\n".join(alltext).lower()
        m.has_attachment = att[0]
        return m

    def _walk_text(self, part, plain, htm, att, depth):
        if depth > 200:
            return
        if part.is_multipart():
            for sub in part.get_payload():
                if hasattr(sub, "get_content_type"):
                    self._walk_text(sub, plain, htm, att, depth + 1)
            return
        fname = filename_of(part)
        if fname:
            disp = str(part.get("content-disposition", "")).lower()
            if not (part.get("content-id") and disp.startswith("inline")):
                att[0] = True
            return
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            return
        text = to_unicode(leaf_bytes(part), part.get_param("charset"))
        (plain if ctype == "text/plain" else htm).append(text)

    def top(self, modes):
        """(mimeType, top-level headers) without building the tree."""
        try:
            return self.msg.get_content_type(), self._headers(self.msg, modes)
        except Exception:
            return "text/plain", []

    def text_contains(self, needle):
        """Case-insensitive substring search (needle lower-case) in subject,
        from, recipients and body text."""
        return needle in self.meta.text

    def payload(self, modes):
        """The MessagePart tree for modes. Returns (dict, {aid: bytes})."""
        atts = {}
        try:
            tree = self._part(self.msg, "", modes, atts, 0)
        except RecursionError:
            atts.clear()
            tree = self._flat(modes, atts)
        return tree, atts

    def _flat(self, modes, atts):
        """Fallback for messages nested beyond what can be walked: the top
        headers and the whole body as one text/plain leaf."""
        i = self.raw.find(b"\n\n")
        body = self.raw[i + 2:] if i >= 0 else b""
        return {"partId": "", "mimeType": "text/plain", "filename": "",
                "headers": self._headers(self.msg, modes),
                "body": {"size": len(body), "data": b64url(body)}}

    def _headers(self, part, modes):
        dec = modes.headers == "decoded"
        return [{"name": fix_surrogates(str(n)),
                 "value": header_value(str(v), dec)}
                for n, v in part._headers]

    def _part(self, part, pid, modes, atts, depth):
        ctype = part.get_content_type()
        fname = filename_of(part)
        d = {"partId": pid, "mimeType": ctype, "filename": fname,
             "headers": self._headers(part, modes)}
        if part.is_multipart() and ctype == "message/rfc822":
            inner = [p for p in part.get_payload() if hasattr(p, "_headers")]
            data = b"".join(_as_bytes(p) for p in inner)
            if fname:
                aid = attachment_id(self.msg_id, pid)
                atts[aid] = data
                d["body"] = {"attachmentId": aid, "size": len(data)}
            else:
                d["body"] = {"size": len(data)}
            d["parts"] = [self._part(p, child_id(pid, i), modes, atts,
                                     depth + 1)
                          for i, p in enumerate(inner[:1])]
            return d
        if part.is_multipart() and ctype.startswith("multipart/"):
            d["body"] = {"size": 0}
            subs = [p for p in part.get_payload() if hasattr(p, "_headers")]
            d["parts"] = [self._part(p, child_id(pid, i), modes, atts,
                                     depth + 1)
                          for i, p in enumerate(subs)]
            return d
        data = leaf_bytes(part)
        if part.get_content_maintype() == "text" and not fname:
            if modes.charset == "utf8":
                data = to_unicode(data, part.get_param("charset")).encode(
                    "utf-8", "surrogatepass")
            big = self.force_attachment or len(data) > modes.threshold
        else:
            big = bool(fname) or len(data) > modes.threshold
        if big:
            aid = attachment_id(self.msg_id, pid)
            atts[aid] = data
            d["body"] = {"attachmentId": aid, "size": len(data)}
        else:
            d["body"] = {"size": len(data), "data": b64url(data)} \
                if data else {"size": 0}
        return d


def _as_bytes(msg):
    try:
        return msg.as_bytes()
    except Exception:
        return b""


def leaf_bytes(part):
    """The Content-Transfer-Encoding-decoded bytes of a leaf part."""
    try:
        if part.is_multipart():
            return b"".join(_as_bytes(p) for p in part.get_payload()
                            if hasattr(p, "as_bytes"))
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        p = part.get_payload()
        if isinstance(p, str):
            data = p.encode("ascii", "surrogateescape")
        else:
            data = b""
    return data


def filename_of(part):
    """The part's file name (Content-Disposition filename, else
    Content-Type name), RFC 2231 and RFC 2047 decoded; "" when none."""
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        return ""
    return decode_words(fix_surrogates(unfold(str(name)))).strip()
