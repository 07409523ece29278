"""Real chat-completions servers started by the tests (127.0.0.1, a background thread).

``FakeAPI`` (end of the file) serves GlobMed-Bench's API tests: scripted statuses and replies.
``ChatServer`` serves the translation tests.

It "translates" by prefixing each string with ``<TARGET>:`` (and strips the prefix when asked
to translate back into English), so numbers, units and drug names survive and the
back-translation is exact. Per source question it can be told to misbehave on successive
requests: ``"429"``, ``"500"`` (the body echoes the Authorization header, as a careless proxy
would), ``"500@N"`` (a plain-text 500 whose body carries the Authorization header at character N),
``"timeout"`` (answers after ``slow_s``), ``"malformed"`` (a reply that is not JSON),
``"dropnum"`` (a translation that loses its numbers). ``hold_after`` makes it answer only that
many requests and hold every later one without answering (for the kill-and-resume test).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET_RE = re.compile(r"to [^\[\n]*\[(\w+)\]")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def fake_translate(value, target: str, drop_numbers: bool = False):
    if isinstance(value, dict):
        return {k: fake_translate(v, target, drop_numbers) for k, v in value.items()}
    if isinstance(value, list):
        return [fake_translate(v, target, drop_numbers) for v in value]
    if target == "en":
        return re.sub(r"^[A-Z]{2}: ", "", value)
    out = f"{target.upper()}: {value}"
    return re.sub(r"\d", "", out) if drop_numbers else out


class ChatServer:
    def __init__(self, slow_s: float = 1.0, latency_s: float = 0.0):
        self.plans: dict[str, list[str]] = defaultdict(list)
        self.requests: Counter = Counter()  # source-question hash -> requests received
        self.answered: Counter = Counter()  # source-question hash -> 200 replies with a translation
        self.auth_headers: list[str] = []
        self.bodies: list[dict] = []
        self.slow_s = slow_s
        self.latency_s = latency_s  # every answer waits this long (a model's generation time)
        self.hold_after: int | None = None
        self.admitted = 0  # requests let through (the first hold_after of them, when holding)
        self.release = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):  # noqa: N802
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def plan(self, question: str, *behaviours: str) -> None:
        self.plans[text_hash(question)] += list(behaviours)

    def total_answered(self) -> int:
        with self.lock:
            return sum(self.answered.values())

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------------ request handling
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        body = json.loads(h.rfile.read(int(h.headers["Content-Length"])))
        user = body["messages"][-1]["content"]
        target = TARGET_RE.search(user).group(1)
        payload = json.loads(user.split("JSON:\n", 1)[1])
        key = text_hash(payload["question"])
        with self.lock:
            self.requests[key] += 1
            self.auth_headers.append(h.headers.get("Authorization", ""))
            self.bodies.append(body)
            behaviour = self.plans[key].pop(0) if self.plans[key] else "ok"
            hold = self.hold_after is not None and self.admitted >= self.hold_after
            self.admitted += not hold
        if hold:  # never answer: the client is killed while waiting
            self.release.wait()
            h.close_connection = True
            return
        if behaviour == "429":
            return self.reply(h, 429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
        if behaviour == "500":
            return self.reply(h, 500, {"error": f"upstream failed; request had {h.headers.get('Authorization')}"})
        if behaviour.startswith("500@"):
            data = ("." * int(behaviour[4:]) + f"{h.headers.get('Authorization')} was refused").encode("utf-8")
            h.send_response(500)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return
        if behaviour == "timeout":
            time.sleep(self.slow_s)
        elif self.latency_s:
            time.sleep(self.latency_s)
        if behaviour == "malformed":
            content = '{"question": "half a JSON'
        else:
            content = json.dumps(fake_translate(payload, target, behaviour == "dropnum"), ensure_ascii=False)
        reply = {"id": "cmpl-1", "object": "chat.completion", "model": body["model"],
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                              "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": len(user) // 4, "completion_tokens": len(content) // 4,
                           "total_tokens": (len(user) + len(content)) // 4}}
        try:
            self.reply(h, 200, reply)
        except (BrokenPipeError, ConnectionResetError):
            return
        if behaviour not in ("malformed", "timeout"):
            with self.lock:
                self.answered[key] += 1

    @staticmethod
    def reply(h: BaseHTTPRequestHandler, status: int, obj: dict, headers: dict | None = None) -> None:
        data = json.dumps(obj).encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)


class FakeAPI:
    """An OpenAI-compatible server for the GlobMed-Bench API tests (127.0.0.1, a background thread).

    Scripted replies: ``script`` holds (status, body) pairs served first, then :meth:`answer`'s
    canned answers (a letter for chat completions, logprobs for completions). Subclasses change
    :meth:`respond` or :meth:`answer`. Every request is kept in ``requests`` as (path, headers, body).
    """

    def __init__(self):
        self.script: list[tuple[int, str]] = []
        self.requests: list[tuple[str, dict, dict]] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with api.lock:
                    api.requests.append((self.path, dict(self.headers), body))
                    status, text = api.respond(self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(text.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def respond(self, path: str, body: dict) -> tuple[int, str]:
        """(HTTP status, body text) of one request; called under ``lock``."""
        return self.script.pop(0) if self.script else (200, self.answer(path, body))

    def answer(self, path: str, body: dict) -> str:
        if path.endswith("/chat/completions"):
            question = body["messages"][-1]["content"]
            letter = "A" if "Pick alpha" in question else "B"
            return json.dumps({"choices": [{"message": {"role": "assistant", "content": f"Answer: {letter}"}}]})
        if body.get("echo"):  # cloze: the prompt's tokens, one per character, -0.5 each
            text = body["prompt"]
            return json.dumps({"choices": [{"text": text, "logprobs": {
                "text_offset": list(range(len(text))), "token_logprobs": [None] + [-0.5] * (len(text) - 1)}}]})
        return json.dumps({"choices": [{"text": " B", "logprobs": {"top_logprobs": [{" B": -0.1, " A": -2.5, "C": -3.0}]}}]})
