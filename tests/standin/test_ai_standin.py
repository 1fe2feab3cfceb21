#!/usr/bin/python3
# Tests of the chat-completions stand-in (ai-standin): the key, answers
# derived from the mail and valid against the schema asked, every answer
# fault, the 400 on json_schema, and the server's shared faults.
"""Run: /usr/bin/python3 tests/standin/test_ai_standin.py [-v]"""

import json
import os
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_standin import Standin  # noqa: E402

KEY = "sk-test-0123456789"
SCHEMA = {"type": "object", "additionalProperties": False,
          "required": ["summary", "category", "labels", "priority",
                       "sentiment", "reply", "tasks"],
          "properties": {
              "summary": {"type": "string", "maxLength": 2000},
              "category": {"type": "string",
                           "enum": ["work", "finance", "other"]},
              "labels": {"type": "array", "items": {"type": "string"}},
              "priority": {"type": "string",
                           "enum": ["high", "normal", "low"]},
              "sentiment": {"type": "object"},
              "reply": {"type": "object"},
              "tasks": {"type": "array"}}}


def mail(body, subject="Invoice 12"):
    doc = {"messages": [{"id": "m1", "subject": subject, "body": body}]}
    return ("The mail to analyse follows.\nBEGIN_MAIL_abc\n%s\nEND_MAIL_abc\n"
            % json.dumps(doc))


def chat(body="Please pay the invoice by 2026-12-01. Thanks!", rf=True,
         schema=SCHEMA):
    req = {"model": "m", "temperature": 0, "messages": [
        {"role": "system", "content": "Answer in JSON.\n" +
         ("" if rf else json.dumps(schema))},
        {"role": "user", "content": mail(body)}]}
    if rf:
        req["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "x", "strict": True, "schema": schema}}
    return req


class AiStandin(Standin):
    prog = os.path.join(HERE, "ai-standin")


class AiStandinCase(unittest.TestCase):
    def setUp(self):
        fd, self.keyfile = tempfile.mkstemp()
        os.write(fd, (KEY + "\n").encode())
        os.close(fd)
        self.s = AiStandin("--quiet", "--api-key-file", self.keyfile)

    def tearDown(self):
        rc, took, err = self.s.stop()
        os.unlink(self.keyfile)
        self.assertEqual(rc, 0, err)

    def call(self, req, token=KEY):
        return self.s.post("/v1/chat/completions", req, token=token)

    def answer(self, req):
        st, r = self.call(req)
        self.assertEqual(st, 200, r)
        return r, json.loads(r["choices"][0]["message"]["content"])

    def test_key(self):
        st, r = self.call(chat(), token="sk-wrong")
        self.assertEqual(st, 401)
        self.assertEqual(r["error"]["code"], "invalid_api_key")
        st, r = self.call(chat(), token=None)
        self.assertEqual(st, 401)
        st, log = self.s.control("GET", "log")
        self.assertNotIn(KEY, json.dumps(log))

    def test_azure(self):
        path = "/openai/deployments/gpt-x/chat/completions"
        st, r = self.s.post(path + "?api-version=2024-10-21", chat(),
                            token=None, headers={"api-key": KEY})
        self.assertEqual(st, 200, r)
        self.assertIn("summary", json.loads(
            r["choices"][0]["message"]["content"]))
        # A bearer token is not Azure's key; the version is required.
        st, r = self.s.post(path + "?api-version=2024-10-21", chat())
        self.assertEqual(st, 401)
        st, r = self.s.post(path, chat(), token=None,
                            headers={"api-key": KEY})
        self.assertEqual(st, 404)
        st, r = self.s.post(path + "?api-version=1", chat(), token=None,
                            headers={"api-key": "sk-wrong"})
        self.assertEqual(st, 401)
        st, log = self.s.control("GET", "log")
        self.assertNotIn(KEY, json.dumps(log))

    def test_models(self):
        st, r = self.s.get("/v1/models", token=KEY)
        self.assertEqual(st, 200)
        self.assertEqual(r["data"][0]["id"], "standin-1")

    def test_answer(self):
        r, a = self.answer(chat())
        self.assertEqual(sorted(a), sorted(SCHEMA["properties"]))
        self.assertEqual(a["category"], "finance")
        self.assertEqual(a["labels"], ["finance"])
        self.assertEqual(a["summary"],
                         "Please pay the invoice by 2026-12-01. Thanks!")
        self.assertEqual(a["sentiment"]["label"], "positive")
        self.assertEqual(a["reply"]["subject"], "Re: Invoice 12")
        self.assertEqual(a["tasks"][0]["due"], "2026-12-01")
        self.assertEqual(r["choices"][0]["finish_reason"], "stop")
        self.assertGreater(r["usage"]["prompt_tokens"], 0)
        self.assertGreater(r["usage"]["completion_tokens"], 0)
        # The same request, the same answer.
        self.assertEqual(self.answer(chat())[1], a)
        # Categories come from the schema's enum only.
        s = json.loads(json.dumps(SCHEMA))
        s["properties"]["category"]["enum"] = ["misc", "other"]
        self.assertEqual(self.answer(chat(schema=s))[1]["category"], "other")
        # Only the properties asked.
        s = {"type": "object", "properties": {"summary": {"type": "string"}}}
        self.assertEqual(list(self.answer(chat(schema=s))[1]), ["summary"])

    def test_schema_in_prompt(self):
        """JSON mode: the schema is read from the system message."""
        s = {"type": "object", "properties": {"category": {
            "type": "string", "enum": ["work", "finance"]}}}
        a = self.answer(chat(rf=False, schema=s))[1]
        self.assertEqual(a["category"], "finance")

    def test_reject_json_schema(self):
        self.s.control("POST", "settings", {"reject_json_schema": True})
        st, r = self.call(chat())
        self.assertEqual(st, 400)
        self.assertIn("response_format", r["error"]["message"])
        req = chat()
        req["response_format"] = {"type": "json_object"}
        self.assertEqual(self.call(req)[0], 200)

    def fault(self, answer, count=1):
        st, r = self.s.control("POST", "faults", {"rules": [
            {"path": "chat", "answer": answer, "count": count}]})
        self.assertEqual(st, 200, r)

    def content(self):
        st, r = self.call(chat())
        self.assertEqual(st, 200)
        return r["choices"][0]

    def test_answer_faults(self):
        self.fault("bad_schema")
        a = json.loads(self.content()["message"]["content"])
        self.assertEqual(a["category"], "not-a-category")
        self.assertEqual(a["sentiment"]["score"], 7)
        self.fault("not_json")
        self.assertRaises(ValueError, json.loads,
                          self.content()["message"]["content"])
        self.fault("fence")
        c = self.content()["message"]["content"]
        self.assertTrue(c.startswith("```json\n") and c.endswith("\n```"))
        self.fault("extra_fields")
        a = json.loads(self.content()["message"]["content"])
        self.assertIn("system_prompt", a)
        self.assertIn("note", a["sentiment"])
        self.fault("refusal")
        m = self.content()["message"]
        self.assertIsNone(m["content"])
        self.assertTrue(m["refusal"])
        self.fault("content_filter")
        self.assertEqual(self.content()["finish_reason"], "content_filter")
        self.fault("echo")
        a = json.loads(self.content()["message"]["content"])
        self.assertEqual(a["category"],
                         "Please pay the invoice by 2026-12-01. Thanks!")
        # Count spent: the next answer is clean.
        a = json.loads(self.content()["message"]["content"])
        self.assertEqual(a["category"], "finance")
        st, r = self.s.control("POST", "faults", {"rules": [
            {"answer": "poetry"}]})
        self.assertEqual(st, 400)

    def test_transport_faults(self):
        st, r = self.s.control("POST", "faults", {"rules": [
            {"status": 429, "retry_after": 3}, {"status": 503}]})
        self.assertEqual(st, 200, r)
        r, data = self.s.req("POST", "/v1/chat/completions", chat(),
                             token=KEY, raw=True)
        self.assertEqual(r.status, 429)
        self.assertEqual(r.getheader("Retry-After"), "3")
        self.assertEqual(json.loads(data)["error"]["code"],
                         "rate_limit_exceeded")
        st, r = self.call(chat())
        self.assertEqual(st, 503)
        self.assertEqual(r["error"]["type"], "server_error")
        self.s.control("POST", "faults", {"rules": [{"delay_ms": 300}]})
        t = time.time()
        self.assertEqual(self.call(chat())[0], 200)
        self.assertGreaterEqual(time.time() - t, 0.3)
        st, stats = self.s.control("GET", "stats")
        self.assertEqual(stats["faults_fired"], 3)
        self.assertEqual(stats["by_status"].get("200"), 1)
        # A dropped connection (the client here tries once more).
        self.s.control("POST", "faults", {"rules": [{"drop": True}]})
        self.assertEqual(self.call(chat())[0], 200)
        st, stats = self.s.control("GET", "stats")
        self.assertEqual(stats["dropped"], 1)


if __name__ == "__main__":
    unittest.main()
