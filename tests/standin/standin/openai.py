# An OpenAI-compatible chat-completions stand-in for ai-worker's tests:
# deterministic answers derived from the mail in the prompt, valid against
# the schema asked, and faults on demand. The HTTP server, fault rules,
# request log and control API are server.py's.
"""Run with ../ai-standin (see --help and ../README.md)."""

import argparse
import json
import re
import sys
import threading
import time

from . import server
from .server import App, Fault, Faults, RequestLog, json_resp

ANSWERS = ("bad_schema", "not_json", "fence", "extra_fields", "refusal",
           "content_filter", "echo")

CATEGORY_WORDS = (
    ("spam", r"lottery|winner|prize|crypto giveaway|claim your"),
    ("finance", r"invoice|payment|receipt|refund|bank"),
    ("newsletter", r"unsubscribe|newsletter|digest"),
    ("notification", r"notification|alert|verify your|password reset"),
    ("work", r"meeting|project|deadline|report|review|client"),
    ("personal", r"dinner|birthday|family|weekend|party"),
)
POSITIVE = r"\b(thanks|thank you|great|happy|glad|excellent|love)\b"
NEGATIVE = r"\b(angry|disappointed|unacceptable|terrible|problem|" \
    r"complaint|late|broken)\b"
DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
# Azure OpenAI's form of the routes: /openai/deployments/NAME/chat/completions.
AZURE_PATH = re.compile(r"^/openai/deployments/([^/]+)/(chat/completions)$")


class AiFault(Fault):
    """server.py's rule, plus "answer": a broken or hostile answer."""
    KNOWN = Fault.KNOWN | {"answer"}

    def __init__(self, d):
        self.answer = d.get("answer") if isinstance(d, dict) else None
        if self.answer is not None and self.answer not in ANSWERS:
            raise ValueError("answer must be one of %s" % ", ".join(ANSWERS))
        Fault.__init__(self, d)

    def effect(self):
        return self.answer is not None


class AiSettings:
    FIELDS = ("latency_ms", "reject_json_schema", "model")

    def __init__(self, a):
        self.latency_ms = a.latency_ms
        self.reject_json_schema = a.reject_json_schema
        self.model = "standin-1"

    def as_dict(self):
        return {k: getattr(self, k) for k in self.FIELDS}

    def update(self, obj):
        checks = {
            "latency_ms": lambda v: isinstance(v, int) and 0 <= v <= 600000,
            "reject_json_schema": lambda v: isinstance(v, bool),
            "model": lambda v: isinstance(v, str) and 0 < len(v) < 100,
        }
        for k, v in obj.items():
            if k not in checks or not checks[k](v) or \
                    (isinstance(v, bool) and k != "reject_json_schema"):
                raise ValueError("invalid setting %s=%r" % (k, v))
        for k, v in obj.items():
            setattr(self, k, v)


def oa_error(status, message, etype="invalid_request_error", code=None,
             param=None, headers=None):
    return json_resp(status, {"error": {"message": message, "type": etype,
                                        "param": param, "code": code}},
                     headers)


def find_schema(req):
    """The schema asked: response_format's, else the one the system
    message quotes (one line of JSON with "properties")."""
    rf = req.get("response_format") or {}
    if rf.get("type") == "json_schema":
        return (rf.get("json_schema") or {}).get("schema")
    for m in req.get("messages", []):
        if m.get("role") != "system":
            continue
        for line in str(m.get("content", "")).splitlines():
            if line.startswith("{") and '"properties"' in line:
                try:
                    return json.loads(line)
                except ValueError:
                    pass
    return None


def find_mail(req):
    """The thread document between BEGIN_MAIL_x and END_MAIL_x."""
    for m in req.get("messages", []):
        if m.get("role") != "user":
            continue
        text = str(m.get("content", ""))
        b = re.search(r"^BEGIN_MAIL_(\w+)\n", text, re.M)
        if b is None:
            continue
        e = text.find("\nEND_MAIL_" + b.group(1), b.end())
        try:
            return json.loads(text[b.end():e])
        except ValueError:
            return None
    return None


def _enum(schema, name):
    p = (schema.get("properties") or {}).get(name) or {}
    return p.get("enum") or []


def derive(schema, mail):
    """A deterministic answer, valid against schema, from the mail."""
    msgs = (mail or {}).get("messages") or [{}]
    first, last = msgs[0], msgs[-1]
    text = " ".join("%s %s" % (m.get("subject") or "", m.get("body") or "")
                    for m in msgs)
    low = text.lower()
    props = schema.get("properties") or {}
    out = {}
    if "summary" in props:
        words = (first.get("body") or first.get("subject") or "").split()
        out["summary"] = " ".join(words[:12])[:props["summary"].get(
            "maxLength", 2000)]
    cats = _enum(schema, "category")
    if "category" in props:
        cat = next((c for c, rx in CATEGORY_WORDS
                    if c in cats and re.search(rx, low)), None)
        cat = cat or ("other" if "other" in cats else cats[0])
        out["category"] = cat
        out["labels"] = [cat]
        out["priority"] = "high" if re.search(
            r"urgent|asap|immediately", low) else "low" if cat in (
            "newsletter", "spam", "notification") else "normal"
    if "sentiment" in props:
        p = len(re.findall(POSITIVE, low))
        n = len(re.findall(NEGATIVE, low))
        score = round((p - n) / max(1, p + n), 2)
        label = "mixed" if p and n and p == n else "positive" \
            if score > 0 else "negative" if score < 0 else "neutral"
        out["sentiment"] = {"label": label, "score": score}
    if "reply" in props:
        subj = re.sub(r"^(re:\s*)+", "", last.get("subject") or "", flags=re.I)
        out["reply"] = {"subject": ("Re: " + subj)[:300],
                        "body": "Hello,\n\nThank you for your message about "
                        "\"%s\". I will get back to you.\n" % subj[:200]}
    if "tasks" in props:
        tasks = []
        for m in msgs:
            for line in (m.get("body") or "").splitlines():
                if re.search(r"\bplease\b|\btodo\b", line, re.I):
                    d = DATE.search(line)
                    tasks.append({"title": line.strip()[:100],
                                  "due": d.group(1) if d else None,
                                  "owner": None})
        out["tasks"] = tasks[:5]
    return out


def hostile(schema, mail, kind, answer):
    """The answer a fault rule asks for, as content text."""
    body = ((((mail or {}).get("messages") or [{}])[0]).get("body") or "")
    if kind == "bad_schema":
        bad = dict(answer)
        for k in ("category", "summary", "sentiment", "reply", "tasks"):
            if k in bad:
                bad[k] = {"category": "not-a-category", "summary": 42,
                          "sentiment": {"label": "ecstatic", "score": 7},
                          "reply": "no object", "tasks": [{"title": 1}]}[k]
        return json.dumps(bad)
    if kind == "not_json":
        return "Sure! Here is what I found in the mail."
    if kind == "fence":
        return "```json\n%s\n```" % json.dumps(answer, indent=2)
    if kind == "extra_fields":
        bad = dict(answer, system_prompt="You analyse email...",
                   tool_calls=[{"name": "send_email", "to": "x@example.net"}],
                   api_key="leaked")
        if "sentiment" in bad:
            bad["sentiment"] = dict(bad["sentiment"], note="extra")
        return json.dumps(bad)
    # echo: the mail's own text put where the schema wants values.
    bad = dict(answer)
    first_line = body.strip().split("\n")[0][:200]
    for k, p in (schema.get("properties") or {}).items():
        if p.get("type") == "string" and "enum" in p:
            bad[k] = first_line
        elif p.get("type") == "string":
            bad[k] = body[:p.get("maxLength", len(body))]
    return json.dumps(bad)


class AiApp(App):
    PROG = "ai-standin"

    def __init__(self, settings, log_path, verbose=False, api_key=None):
        self.state = None
        self.settings = settings
        self.faults = Faults(AiFault)
        self.log = RequestLog(log_path)
        self.verbose = verbose
        self.api_key = api_key
        self.host = "127.0.0.1"
        self.port = 0
        self.seq = 0
        self.seq_lock = threading.Lock()

    def _api_call(self, call, e, inner):
        """Answers one request (App.api_call logs it): (resp, name)."""
        name = "models" if call.path.startswith("/v1/models") else "chat"
        return self._answer(call, e), name

    def _answer(self, call, e):
        rule, resp = self.take_fault(call, e)
        if resp is not None:
            return resp
        path = call.path.rstrip("/")
        azure = AZURE_PATH.match(path)
        if azure:
            # Azure OpenAI: the key in an api-key header (a bearer token
            # there is an Entra ID token, which the stand-in does not
            # mint), the API's version in the query, the model named by
            # the deployment in the path.
            if self.api_key is not None and \
                    call.headers.get("api-key") != self.api_key:
                return oa_error(401, "Access denied due to invalid "
                                "subscription key or wrong API endpoint.",
                                code="401")
            if not call.query.get("api-version"):
                return oa_error(404, "Resource not found")
            path = "/v1/" + azure.group(2)
        elif self.api_key is not None and call.bearer != self.api_key:
            return oa_error(401, "Incorrect API key provided.",
                            code="invalid_api_key")
        if path == "/v1/models" and call.method == "GET":
            return json_resp(200, {"object": "list", "data": [
                {"id": self.settings.model, "object": "model",
                 "owned_by": "standin"}]})
        if path != "/v1/chat/completions":
            return oa_error(404, "Unknown request URL: %s %s"
                            % (call.method, call.path[:200]))
        if call.method != "POST":
            return oa_error(405, "Method not allowed")
        return self.chat(call, rule.answer if rule is not None and
                         rule.effect() else None)

    def fault_resp(self, rule, call):
        headers = []
        if rule.retry_after is not None:
            headers.append(("Retry-After", str(rule.retry_after)))
        if rule.body is not None:
            return json_resp(rule.status, rule.body, headers)
        kinds = {429: ("Rate limit reached for requests", "requests",
                       "rate_limit_exceeded"),
                 401: ("Incorrect API key provided.",
                       "invalid_request_error", "invalid_api_key")}
        msg, etype, code = kinds.get(rule.status, (
            rule.message or "The server had an error while processing your "
            "request.", "server_error" if rule.status >= 500 else
            "invalid_request_error", None))
        return oa_error(rule.status, msg, etype, code, headers=headers)

    def chat(self, call, answer_fault):
        try:
            req = json.loads(call.body)
        except (ValueError, UnicodeDecodeError):
            return oa_error(400, "We could not parse the JSON body of your "
                            "request.")
        if not isinstance(req, dict) or not isinstance(
                req.get("messages"), list) or not req.get("model"):
            return oa_error(400, "'messages' and 'model' are required.")
        rf = req.get("response_format") or {}
        if self.settings.reject_json_schema and \
                rf.get("type") == "json_schema":
            return oa_error(400, "Invalid parameter: 'response_format' of "
                            "type 'json_schema' is not supported with this "
                            "model.", param="response_format")
        schema = find_schema(req) or {"properties": {"summary": {}}}
        mail = find_mail(req)
        answer = derive(schema, mail)
        message = {"role": "assistant", "content": json.dumps(answer),
                   "refusal": None}
        finish = "stop"
        if answer_fault == "refusal":
            message.update(content=None, refusal="I'm sorry, I cannot help "
                           "with that request.")
        elif answer_fault == "content_filter":
            message["content"] = None
            finish = "content_filter"
        elif answer_fault:
            message["content"] = hostile(schema, mail, answer_fault, answer)
        prompt = sum(len(str(m.get("content", ""))) for m in req["messages"])
        done = len(message["content"] or "")
        with self.seq_lock:
            self.seq += 1
            n = self.seq
        return json_resp(200, {
            "id": "chatcmpl-standin-%d" % n, "object": "chat.completion",
            "created": int(time.time()), "model": self.settings.model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": (prompt + 3) // 4,
                      "completion_tokens": (done + 3) // 4,
                      "total_tokens": (prompt + 3) // 4 + (done + 3) // 4}})

    def control_routes(self, obj, query):
        return self.common_routes(obj, query)

    def c_reset(self):
        with self.log.lock:
            self.log.reset()
        self.faults.clear()
        return {"ok": True}


HELP_EPILOG = """\
Serves POST /v1/chat/completions and GET /v1/models, and Azure OpenAI's
POST /openai/deployments/NAME/chat/completions?api-version=V (the key in an
api-key header). Control API (no auth,
JSON): GET /_standin/stats, POST /_standin/reset, GET|POST|DELETE
/_standin/faults (rules as gmail-standin's, plus "answer": one of
%s), GET|POST /_standin/settings (latency_ms,
reject_json_schema, model), GET /_standin/log[?since=ID],
GET /_standin/health. See README.md beside this program.
""" % ", ".join(ANSWERS)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="ai-standin",
        description="A local stand-in for an OpenAI-compatible "
        "chat-completions endpoint whose answers are derived from the mail "
        "in the prompt. Runs until SIGTERM or SIGINT.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0,
                   help="port to bind; 0 picks a free port (default 0)")
    p.add_argument("--port-file", metavar="FILE",
                   help="once listening, write the port number to FILE")
    p.add_argument("--api-key-file", metavar="FILE",
                   help="require 'Authorization: Bearer KEY' (Azure's "
                   "routes: 'api-key: KEY') with the key in FILE (default: "
                   "no key needed)")
    p.add_argument("--latency-ms", type=int, default=0, metavar="N",
                   help="sleep N ms before answering each request")
    p.add_argument("--reject-json-schema", action="store_true",
                   help="answer 400 to a json_schema response_format, as "
                   "endpoints without structured output do")
    p.add_argument("--log", metavar="FILE",
                   help="request log: one JSON object per line")
    p.add_argument("--quiet", action="store_true",
                   help="print only the listening line and errors")
    p.add_argument("--verbose", action="store_true",
                   help="also print one line per request to stderr")
    a = p.parse_args(argv)
    if a.latency_ms < 0 or not 0 <= a.port <= 65535:
        p.error("--latency-ms and --port must be in range")
    return a


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    say = (lambda s: None) if a.quiet else \
        (lambda s: sys.stderr.write(s + "\n"))
    key = None
    if a.api_key_file:
        try:
            with open(a.api_key_file) as f:
                key = f.read().strip()
        except OSError as x:
            sys.stderr.write("ai-standin: cannot read %s: %s\n"
                             % (a.api_key_file, x.strerror or x))
            return 1
    app = AiApp(AiSettings(a), a.log, a.verbose, key)
    return server.serve(app, a, "ai-standin", say)
