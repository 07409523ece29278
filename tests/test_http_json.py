"""The JSON POST shared by the translation and bench API backends: which failures are retried,
what the messages say, and that the key never appears in them."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from globmed.http_json import Fatal, Retryable, backoff_delay, post_json, retry_after

KEY = "sk-test-secret-42"


class _Handler(BaseHTTPRequestHandler):
    replies: list[tuple[int, dict, bytes]] = []
    seen: list[tuple[dict, dict]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((dict(self.headers), body))
        status, headers, raw = type(self).replies.pop(0)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    _Handler.replies, _Handler.seen = [], []
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1/chat/completions"
    srv.shutdown()


def test_a_reply_comes_back_parsed_and_the_request_carries_key_and_unicode(server):
    _Handler.replies = [(200, {}, b'{"choices": [{"message": {"content": "Jibu: A"}}]}')]
    reply = post_json(server, {"messages": [{"role": "user", "content": "Homa ní ìbà"}]}, api_key=KEY, timeout=5)
    assert reply["choices"][0]["message"]["content"] == "Jibu: A"
    headers, body = _Handler.seen[0]
    assert headers["Authorization"] == f"Bearer {KEY}" and body["messages"][0]["content"] == "Homa ní ìbà"


def test_failures_are_sorted_into_retryable_and_fatal_without_the_key(server):
    _Handler.replies = [
        (429, {"Retry-After": "7"}, b"slow down"),
        (503, {}, b"busy"),
        (200, {}, b"<html>not json</html>"),
        (401, {}, f'{{"error": "Incorrect API key provided: {KEY}"}}'.encode()),
    ]
    with pytest.raises(Retryable) as err:
        post_json(server, {}, api_key=KEY, timeout=5)
    assert (err.value.reason, err.value.retry_after) == ("HTTP 429: slow down", 7.0)
    assert str(err.value) == f"HTTP 429 from {server}: slow down"
    with pytest.raises(Retryable, match="HTTP 503 from .*: busy") as err:
        post_json(server, {}, api_key=KEY, timeout=5)
    assert err.value.retry_after is None
    with pytest.raises(Retryable, match="malformed response from") as err:
        post_json(server, {}, api_key=KEY, timeout=5)
    with pytest.raises(Fatal) as err:
        post_json(server, {}, api_key=KEY, timeout=5)
    assert err.value.status == 401 and KEY not in str(err.value) and "[REDACTED]" in err.value.detail
    with pytest.raises(Retryable, match="connection error from http://127.0.0.1:9/"):
        post_json("http://127.0.0.1:9/v1/chat/completions", {}, timeout=5)


def test_backoff_doubles_with_jitter_honours_retry_after_and_its_cap():
    for attempt in range(4):
        for _ in range(20):
            assert 0.5 * 2 ** attempt <= backoff_delay(attempt, 1.0) <= 1.5 * 2 ** attempt
    assert all(backoff_delay(10, 1.0, max_s=5.0) <= 5.0 for _ in range(20))
    assert backoff_delay(0, 0.1, server_s=3.0) == 3.0
    assert backoff_delay(0, 0.1, max_s=2.0, server_s=30.0) == 2.0  # the cap wins over the server
    assert (retry_after("2.5"), retry_after(None), retry_after("Wed, 21 Oct 2026 07:28:00 GMT")) == (2.5, None, None)


LONG_KEY = "sk-proj-Zq8xW3vN7bT1kR5mY9cL2hF6dJ0gS4aP"


def key_runs(text: str, key: str = LONG_KEY, run: int = 8) -> list[str]:
    """Every piece of ``key`` of ``run`` characters that appears in ``text``."""
    return [key[i:i + run] for i in range(len(key) - run + 1) if key[i:i + run] in text]


def test_redact_removes_the_key_and_any_long_piece_of_it():
    from globmed.http_json import MIN_SECRET_RUN, redact

    assert MIN_SECRET_RUN == 8
    assert redact(f"auth: Bearer {LONG_KEY}!", LONG_KEY) == "auth: Bearer [REDACTED]!"
    for cut in range(MIN_SECRET_RUN, len(LONG_KEY)):
        assert redact(f"Bearer {LONG_KEY[:cut]}", LONG_KEY) == "Bearer [REDACTED]"  # a prefix left by a cut
        assert redact(f"{LONG_KEY[-cut:]} tail", LONG_KEY) == "[REDACTED] tail"  # a suffix
    assert redact(f"x {LONG_KEY[:7]} y", LONG_KEY) == f"x {LONG_KEY[:7]} y"  # 7 characters: not a secret yet
    assert redact("short sk-1 and sk-12", "sk-1") == "short [REDACTED] and [REDACTED]2"
    assert redact("nothing here", None) == "nothing here"
    assert redact(f"{LONG_KEY}{LONG_KEY[:10]}", LONG_KEY).count("[REDACTED]") == 2


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers 500 (retryable) or 403 (fatal) with the Authorization header at character ``offset``
    of a plain-text body, as a careless proxy would."""

    offset = 0

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        status = 500 if self.path.endswith("/retry") else 403
        raw = ("." * type(self).offset + f"{self.headers['Authorization']} rejected").encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


def test_a_header_echoed_across_the_cut_leaves_no_piece_of_the_key():
    from globmed.http_json import DETAIL_CHARS

    srv = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        header = len("Bearer ")
        for offset in range(DETAIL_CHARS - header - len(LONG_KEY) - 3, DETAIL_CHARS + 3):
            _EchoHandler.offset = offset
            for path, kind in (("/retry", Retryable), ("/fatal", Fatal)):
                with pytest.raises(kind) as err:
                    post_json(base + path, {}, api_key=LONG_KEY, timeout=5)
                text = str(err.value) + getattr(err.value, "detail", "") + getattr(err.value, "reason", "")
                assert not key_runs(text), (offset, path, text[-80:])
                if offset + header < DETAIL_CHARS:  # the key's place is marked, whole or cut
                    assert "Bearer [" in text, (offset, text[-80:])
    finally:
        srv.shutdown()
        srv.server_close()
