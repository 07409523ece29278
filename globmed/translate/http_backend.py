"""OpenAI-compatible chat-completions backend: hosted LLM APIs and vLLM servers.

One request translates one whole entry (a JSON object) into one language. Requests run
concurrently (``concurrency`` threads) over one endpoint or a list of endpoints (many vLLM
replicas: round robin, and a retry moves to the next endpoint). 429, 5xx, timeouts,
connection errors and malformed output are retried with exponential backoff and jitter
(``Retry-After`` is honoured); a request that still fails becomes a failed outcome and the
run goes on. The API key is read from the environment variable named by ``api_key_env``
and is scrubbed from every error message.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from globmed.errors import GlobmedError
from globmed.http_json import Fatal, Retryable, backoff_delay, post_json, redact
from globmed.languages import get_language
from globmed.translate.backends import Job, Outcome, TranslationBackend
from globmed.translate.config import TranslateConfig
from globmed.translate.structured import structure_problems

log = logging.getLogger(__name__)


class PromptTemplates:
    """The template file: ``version``, ``default`` {system, user}, per-language overrides."""

    def __init__(self, data: dict[str, Any], origin: str):
        if not isinstance(data, dict) or "version" not in data or not isinstance(data.get("default"), dict):
            raise GlobmedError(f"prompt templates {origin}: need `version` and a `default` block with system and user")
        self.version = str(data["version"])
        self.default = data["default"]
        self.languages = data.get("languages") or {}
        self.origin = origin
        for key in ("system", "user"):
            if not isinstance(self.default.get(key), str):
                raise GlobmedError(f"prompt templates {origin}: default.{key} must be a string")

    @classmethod
    def load(cls, path: Path | None) -> PromptTemplates:
        if path is None:
            text = resources.files("globmed.translate").joinpath("prompts.yaml").read_text(encoding="utf-8")
            return cls(yaml.safe_load(text), "globmed/translate/prompts.yaml")
        try:
            return cls(yaml.safe_load(Path(path).read_text(encoding="utf-8")), str(path))
        except FileNotFoundError:
            raise GlobmedError(f"prompt templates {path} do not exist") from None
        except yaml.YAMLError as exc:
            raise GlobmedError(f"prompt templates {path} are not valid YAML: {exc}") from None

    def messages(self, payload: dict[str, Any], source: str, target: str) -> list[dict[str, str]]:
        block = {**self.default, **(self.languages.get(target) or {})}
        src, tgt = get_language(source), get_language(target)
        values = dict(source_name=src.name, target_name=tgt.name, source_code=source, target_code=target,
                      payload=json.dumps(payload, ensure_ascii=False, indent=1))
        try:
            return [{"role": "system", "content": block["system"].format(**values)},
                    {"role": "user", "content": block["user"].format(**values)}]
        except (KeyError, IndexError) as exc:
            raise GlobmedError(f"prompt templates {self.origin}: unknown placeholder {exc} "
                               f"(valid: {', '.join(values)})") from None


@cache
def _fence_re() -> re.Pattern:
    return re.compile(r"^```(?:json)?\s*\n(.*)\n```\s*$", re.DOTALL)


def parse_json_reply(content: str) -> Any:
    """The model's reply as JSON: one object, optionally inside one ```json fence; nothing else."""
    text = content.strip()
    fenced = _fence_re().match(text)
    if fenced:
        text = fenced.group(1)
    return json.loads(text)


class ChatCompletionsBackend(TranslationBackend):
    name = "openai_chat"

    def __init__(self, cfg: TranslateConfig):
        self.cfg = cfg
        self.model = cfg.model
        self.templates = PromptTemplates.load(cfg.prompts)
        self.prompt_version = self.templates.version
        self.endpoints = [e.rstrip("/") for e in cfg.endpoints]
        self._key = None
        if cfg.api_key_env:
            self._key = os.environ.get(cfg.api_key_env)
            if not self._key:
                raise GlobmedError(f"the translation config names api_key_env {cfg.api_key_env}, "
                                   "but that environment variable is not set")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next = 0
        self.requests_sent = 0

    # ------------------------------------------------------------------ helpers
    def redact(self, text: str) -> str:
        return redact(text, self._key)

    def _endpoint(self) -> str:
        with self._lock:
            url = self.endpoints[self._next % len(self.endpoints)]
            self._next += 1
            self.requests_sent += 1
        return url

    def _body(self, job: Job) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self.templates.messages(job.payload, job.source_lang, job.target_lang),
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_tokens,
        }
        if self.cfg.response_format == "json_object":
            body["response_format"] = {"type": "json_object"}
        elif self.cfg.response_format == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "translation", "strict": True, "schema": _schema_of(job.payload)}}
        return body

    def _post(self, job: Job) -> tuple[dict[str, Any], dict[str, int]]:
        url = self._endpoint() + "/chat/completions"
        reply = post_json(url, self._body(job), api_key=self._key, timeout=self.cfg.timeout_s)
        try:
            content = reply["choices"][0]["message"]["content"]
            usage = reply.get("usage") or {}
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise Retryable(url, "malformed response", repr(exc)) from None
        try:
            output = parse_json_reply(content)
        except (ValueError, TypeError) as exc:
            raise Retryable(url, "malformed JSON in the reply", str(exc)) from None
        problems = structure_problems(job.payload, output)
        if problems:
            raise Retryable(url, "a reply that does not match the request", "; ".join(problems))
        tokens = {"prompt_tokens": int(usage.get("prompt_tokens") or 0),
                  "completion_tokens": int(usage.get("completion_tokens") or 0)}
        return output, tokens

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        return backoff_delay(attempt, self.cfg.backoff_base_s, self.cfg.backoff_max_s, retry_after)

    def _translate(self, job: Job) -> Outcome:
        last = ""
        for attempt in range(self.cfg.max_retries + 1):
            if self._stop.is_set():
                return Outcome(job, None, error="cancelled", attempts=attempt)
            try:
                output, tokens = self._post(job)
                return Outcome(job, output, attempts=attempt + 1, **tokens)
            except Fatal as exc:
                return Outcome(job, None, error=self.redact(str(exc)), attempts=attempt + 1)
            except Retryable as exc:
                last = self.redact(str(exc))
                if attempt < self.cfg.max_retries:
                    delay = self._delay(attempt, exc.retry_after)
                    log.debug("retry %d in %.2fs: %s", attempt + 1, delay, last)
                    self._stop.wait(delay)
        return Outcome(job, None, error=f"gave up after {self.cfg.max_retries + 1} attempts: {last}",
                       attempts=self.cfg.max_retries + 1)

    def run(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        if not jobs:
            return
        pool = ThreadPoolExecutor(max_workers=min(self.cfg.concurrency, len(jobs)))
        futures = [pool.submit(self._translate, job) for job in jobs]
        finished = False
        try:
            for future in as_completed(futures):
                yield future.result()
            finished = True
        finally:
            if not finished:  # Ctrl-C or the consumer stopped: no new requests, no more retries
                self._stop.set()
            pool.shutdown(wait=finished, cancel_futures=True)


def _schema_of(payload: dict[str, Any]) -> dict[str, Any]:
    props = {}
    for key, value in payload.items():
        if isinstance(value, list):
            props[key] = {"type": "array", "items": {"type": "string"}, "minItems": len(value),
                          "maxItems": len(value)}
        else:
            props[key] = {"type": "string"}
    return {"type": "object", "properties": props, "required": list(payload), "additionalProperties": False}
