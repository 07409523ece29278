"""One JSON POST to an OpenAI-compatible endpoint, and the backoff between tries: what the
translation backend (``globmed.translate.http_backend``) and the bench's API backend
(``globmed.bench.backends.http``) share. Each keeps its own retry loop (translation turns a failure
into a failed row and can be cancelled; the bench caches replies and raises).

A failure is :class:`Retryable` (408/409/425/429/5xx, a timeout, a connection error, a reply that
is not JSON; ``Retry-After`` is read) or :class:`Fatal` (any other HTTP status). Messages name the
URL and never contain the API key: the server's error text is redacted (:func:`redact`) before it
is cut to :data:`DETAIL_CHARS`, and any run of :data:`MIN_SECRET_RUN` or more characters of the key
(a prefix a proxy's own cut left, say) is redacted too.
"""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from typing import Any

DETAIL_CHARS = 300
"""The server's error text kept in messages (after redaction)."""
READ_BYTES = 64 * 1024
"""At most this much of an error reply is read (and redacted) before the cut."""
MIN_SECRET_RUN = 8
"""A run of this many consecutive characters of the key is redacted wherever it appears: an 8-character
piece of a random key cannot be guessed back, and shorter runs would redact ordinary words."""
REDACTED = "[REDACTED]"

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
"""Statuses worth another try; any other 4xx or 5xx is final."""


class Retryable(Exception):
    """A failure another try may cure. ``str()``: what failed and the URL; ``reason``: what failed
    alone (``HTTP 503: busy``); ``retry_after``: the server's ``Retry-After`` in seconds."""

    def __init__(self, url: str, what: str, detail: str = "", retry_after: float | None = None):
        super().__init__(f"{what} from {url}" + (f": {detail}" if detail else ""))
        self.reason = what + (f": {detail}" if detail else "")
        self.retry_after = retry_after


class Fatal(Exception):
    """An HTTP status that another try will not change (a bad key, an unknown model, ...)."""

    def __init__(self, url: str, status: int, detail: str = ""):
        super().__init__(f"HTTP {status} from {url}" + (f": {detail}" if detail else ""))
        self.status, self.detail = status, detail


def post_json(url: str, payload: Any, *, api_key: str | None = None, timeout: float = 60.0) -> Any:
    """POST ``payload`` as JSON (with ``Authorization: Bearer`` when ``api_key``); the reply parsed."""
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                     headers=headers, method="POST")

    def clean(text: str) -> str:
        return redact(text, api_key)

    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        detail = clean(exc.read(READ_BYTES).decode("utf-8", "replace"))[:DETAIL_CHARS]
        if exc.code in RETRY_STATUS:
            wait = retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            raise Retryable(url, f"HTTP {exc.code}", detail, wait) from None
        raise Fatal(url, exc.code, detail) from None
    except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        kind = "timeout" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else "connection error"
        raise Retryable(url, kind, clean(str(reason))) from None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise Retryable(url, "malformed response", str(exc)) from None


def redact(text: str, secret: str | None, min_run: int = MIN_SECRET_RUN) -> str:
    """``text`` with ``secret`` and every run of ``min_run`` or more of its consecutive characters
    (a prefix, a suffix or a middle piece: what is left when someone cut the text) replaced by
    ``[REDACTED]``. A secret shorter than ``min_run`` is redacted only whole."""
    if not secret or not text:
        return text
    if len(secret) < min_run:
        return text.replace(secret, REDACTED)
    text = text.replace(secret, REDACTED)
    out: list[str] = []
    i = start = 0
    while i <= len(text) - min_run:
        if text[i:i + min_run] in secret:
            end = i + min_run
            while end < len(text) and text[i:end + 1] in secret:
                end += 1
            out += [text[start:i], REDACTED]
            i = start = end
        else:
            i += 1
    out.append(text[start:])
    return "".join(out)


def retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (the HTTP-date form is not used by these APIs: ignored)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def backoff_delay(attempt: int, base_s: float, max_s: float | None = None, server_s: float | None = None) -> float:
    """Seconds before try ``attempt + 2``: ``base_s * 2**attempt`` with +-50% jitter (clients that
    failed together retry apart), at least the server's ``Retry-After``, at most ``max_s``."""
    delay = base_s * 2 ** attempt
    if max_s is not None:
        delay = min(delay, max_s)
    delay *= random.uniform(0.5, 1.5)
    if server_s is not None:
        delay = max(delay, server_s)
    return delay if max_s is None else min(delay, max_s)
