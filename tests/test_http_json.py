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
