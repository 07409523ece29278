"""OpenAI-compatible HTTP API (OpenAI, a vLLM or TGI server, any ``/v1`` endpoint).

- ``generate``: ``/chat/completions`` for chat messages, ``/completions`` for text prompts.
- ``loglik`` / ``next_token_scores``: ``/completions`` with ``echo`` and ``logprobs`` (servers such as
  vLLM provide them; hosted chat-only APIs do not: use generative mode there).
- Requests run ``concurrency`` at a time; 429, 5xx, timeouts, connection errors and malformed JSON are
  retried with exponential backoff and jitter (``Retry-After`` honoured; ``globmed.http_json``) up to
  ``retries`` times, then one clear error. Replies are cached on disk by a hash of endpoint + payload,
  so a rerun costs nothing.
- The API key is read from the environment variable ``api_key_env`` only; it is never logged,
  cached or put in an error message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from globmed.bench.backends.base import Backend, Prompt
from globmed.errors import GlobmedError
from globmed.http_json import Fatal, Retryable, backoff_delay, post_json
from globmed.user_cache import cache_root

log = logging.getLogger(__name__)
MISSING_LOGPROB = -1e9
"""Score of a candidate absent from the server's top log-probabilities."""


class APIError(GlobmedError):
    pass


def default_cache_dir() -> Path:
    return cache_root() / "api"


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, model: str, *, base_url: str = "https://api.openai.com/v1", api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, retries: int = 5, backoff: float = 1.0, timeout: float = 60.0,
                 cache_dir: str | Path | None = None, top_logprobs: int = 20, tokenizer: str | None = None,
                 chat: bool | None = None, **_: Any):
        self.model, self.base_url = model, base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.concurrency, self.retries, self.backoff, self.timeout = concurrency, retries, backoff, timeout
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.top_logprobs = top_logprobs
        self.tokenizer = None
        if tokenizer:  # a local tokenizer lets letter/cloze prompts be chat-templated for a chat model
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        self.chat = bool(getattr(self.tokenizer, "chat_template", None)) if chat is None else chat
        self.name = f"openai:{model}@{self.base_url}"

    # -- transport ----------------------------------------------------------------------
    def _cache_path(self, endpoint: str, payload: dict[str, Any]) -> Path:
        key = hashlib.sha256(json.dumps([self.base_url, endpoint, payload], sort_keys=True).encode()).hexdigest()
        return self.cache_dir / key[:2] / f"{key}.json"

    def post(self, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` to ``base_url/endpoint`` (cached, retried); the parsed JSON reply."""
        cached = self._cache_path(endpoint, payload)
        if cached.exists():
            return json.loads(cached.read_text(encoding="utf-8"))
        url = f"{self.base_url}/{endpoint}"
        last = ""
        for attempt in range(self.retries + 1):
            try:
                data = post_json(url, payload, api_key=os.environ.get(self.api_key_env), timeout=self.timeout)
                if not isinstance(data, dict) or "choices" not in data:
                    raise Retryable(url, "malformed reply", "no 'choices'")
            except Fatal as exc:
                raise APIError(f"{url}: HTTP {exc.status} (not retried; check model {self.model!r} and "
                               f"${self.api_key_env}): {exc.detail}") from None
            except Retryable as exc:
                last = exc.reason
                if attempt < self.retries:
                    wait = backoff_delay(attempt, self.backoff, server_s=exc.retry_after)
                    log.debug("%s, retry %d in %.1f s", last, attempt + 1, wait)
                    time.sleep(wait)
            else:
                self._store(cached, data)
                return data
        raise APIError(f"{url}: failed after {self.retries + 1} attempts (last: {last})")

    def _store(self, path: Path, data: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str, progress: bool) -> list[Any]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(tqdm(pool.map(fn, items), total=len(items), desc=desc, disable=not progress, leave=False))

    # -- interface ----------------------------------------------------------------------
    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, progress: bool = False) -> list[str]:
        def one(prompt: Prompt) -> str:
            if isinstance(prompt, str):
                data = self.post("completions", {"model": self.model, "prompt": prompt, "max_tokens": max_new_tokens,
                                                 "temperature": 0})
                return _choice(data).get("text", "")
            data = self.post("chat/completions", {"model": self.model, "messages": prompt,
                                                  "max_tokens": max_new_tokens, "temperature": 0})
            return (_choice(data).get("message") or {}).get("content") or ""

        return self._map(one, prompts, "api generate", progress)

    def loglik(self, requests: Sequence[tuple[str, str]], progress: bool = False) -> list[float]:
        def one(req: tuple[str, str]) -> float:
            ctx, cont = req
            data = self.post("completions", {"model": self.model, "prompt": ctx + cont, "max_tokens": 0,
                                             "echo": True, "logprobs": 1, "temperature": 0})
            lp = _choice(data).get("logprobs") or {}
            offsets, values = lp.get("text_offset"), lp.get("token_logprobs")
            if not offsets or values is None:
                raise APIError(f"{self.base_url}: the server gave no echoed logprobs (needed by cloze mode)")
            return float(sum(v for o, v in zip(offsets, values, strict=True) if o >= len(ctx) and v is not None))

        return self._map(one, requests, "api loglik", progress)

    def next_token_scores(self, prompts: Sequence[str], candidates: Sequence[Sequence[str]],
                          progress: bool = False) -> list[list[float]]:
        def one(args: tuple[str, Sequence[str]]) -> list[float]:
            prompt, cands = args
            data = self.post("completions", {"model": self.model, "prompt": prompt, "max_tokens": 1,
                                             "logprobs": self.top_logprobs, "temperature": 0})
            tops = ((_choice(data).get("logprobs") or {}).get("top_logprobs") or [None])[0]
            if not isinstance(tops, dict):
                raise APIError(f"{self.base_url}: the server gave no top_logprobs (needed by letter mode)")
            out = []
            for cand in cands:
                hits = [v for tok, v in tops.items() if tok.strip() == cand]
                out.append(max(hits) if hits else MISSING_LOGPROB)
            return out

        return self._map(one, list(zip(prompts, candidates, strict=True)), "api letter scores", progress)


def _choice(data: dict[str, Any]) -> dict[str, Any]:
    choices = data.get("choices")
    if not choices or not isinstance(choices[0], dict):
        raise APIError("the API reply has no choices")
    return choices[0]


__all__ = ["OpenAIBackend", "APIError", "MISSING_LOGPROB"]
