""":class:`Translator`: entries of the source language in, translated entries (or rejects) out.

For each chunk of entries it looks every (entry, target) up in the cache, sends the misses
to the backend (concurrently for HTTP, batched for seq2seq), commits each result to the
cache as it arrives, optionally back-translates for the chrF score, runs the quality checks
and yields the target-language entries with their provenance, or a :class:`Reject` naming
the origin's file and row and the reason. A progress bar shows rate and ETA; :meth:`summary`
counts requests, cache hits, failures and tokens.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm.auto import tqdm

from globmed.errors import GlobmedError
from globmed.languages import get_language
from globmed.schema import Entry
from globmed.sources.base import Reject
from globmed.translate.backends import Job, TranslationBackend
from globmed.translate.cache import CacheKey, TranslationCache
from globmed.translate.config import TranslateConfig
from globmed.translate.scoring import DEFAULT_CHECKS, Check, CheckContext, score_translation
from globmed.translate.structured import Payload, entry_payload, payload_hash, target_id, translated_entry

BACKEND_CLASSES: dict[str, str] = {
    "openai_chat": "globmed.translate.http_backend:ChatCompletionsBackend",
    "seq2seq": "globmed.translate.seq2seq_backend:Seq2SeqBackend",
}
STEP_NAME = "translate"


def make_backend(cfg: TranslateConfig) -> TranslationBackend:
    module, _, cls = BACKEND_CLASSES[cfg.backend].partition(":")
    return getattr(importlib.import_module(module), cls)(cfg)


@dataclass
class TranslationRun:
    """Counters of one run (what the summary and the build report show)."""

    entries_in: int = 0
    jobs: int = 0
    cache_hits: int = 0
    requests: int = 0
    translated: int = 0
    failed: int = 0
    rejected_quality: int = 0
    skipped_native: int = 0
    """(entry, target) pairs not translated because the target-language row exists natively."""
    accepted: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)
    """The first failures (id, target, error) for the report; all of them are in rejects.jsonl."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Translator:
    """Translate entries of ``cfg.source_lang`` into ``targets``. Usable as a build hook."""

    def __init__(self, cfg: TranslateConfig, targets: Sequence[str], *, backend: TranslationBackend | None = None,
                 checks: Sequence[Check] = DEFAULT_CHECKS, progress: bool = True, total: int | None = None):
        get_language(cfg.source_lang)
        self.targets = list(dict.fromkeys(targets))
        if not self.targets:
            raise GlobmedError("no target language to translate into")
        for code in self.targets:
            get_language(code)
            if code == cfg.source_lang:
                raise GlobmedError(f"target language {code!r} is the source language of the translation")
        self.cfg = cfg
        self.source_lang = cfg.source_lang
        self.checks = list(checks)
        if cfg.language_id:
            from globmed.translate.scoring import language_id_check

            self.checks.append(language_id_check(self.targets))
        self.cache = TranslationCache(cfg.cache)
        self.backend = backend or make_backend(cfg)
        self.system = f"{self.backend.name}:{self.backend.model}"
        self.run_stats = TranslationRun()
        self._started = time.monotonic()
        per_entry = len(self.targets) * (2 if cfg.backward else 1)
        self._bar = tqdm(total=None if total is None else total * per_entry, desc=f"translate {self.source_lang}->"
                         f"{','.join(self.targets)}", unit=" req", disable=not progress, dynamic_ncols=True)

    # ------------------------------------------------------------------ public
    def __call__(self, entries: Iterable[Entry], skip_ids: Container[str] = ()) -> Iterator[Entry | Reject]:
        return self.translate(entries, skip_ids)

    def translate(self, entries: Iterable[Entry], skip_ids: Container[str] = ()) -> Iterator[Entry | Reject]:
        """Translate in chunks of ``cfg.chunk_size``; entries of other languages are ignored.

        A translation whose id (``<source>/<target>/<source_id>``) is in ``skip_ids`` is not made
        (the build passes the ids it has read, so a native target-language row wins).
        """
        chunk: list[Entry] = []
        for entry in entries:
            if entry.lang != self.source_lang:
                continue
            chunk.append(entry)
            if len(chunk) >= self.cfg.chunk_size:
                yield from self._translate_chunk(chunk, skip_ids)
                chunk = []
        if chunk:
            yield from self._translate_chunk(chunk, skip_ids)

    def expect(self, entries: int) -> None:
        """Tell the progress bar how many entries will come (for its ETA)."""
        self._bar.total = entries * len(self.targets) * (2 if self.cfg.backward else 1)
        self._bar.refresh()

    def summary(self) -> dict[str, Any]:
        self.run_stats.seconds = round(time.monotonic() - self._started, 3)
        self.run_stats.requests = self.backend.requests_sent
        return {"system": self.system, "source_lang": self.source_lang, "targets": self.targets,
                "prompt_version": self.backend.prompt_version, "backward": self.cfg.backward,
                "min_score": self.cfg.min_score, "cache": str(self.cfg.cache), **self.run_stats.to_dict()}

    def summary_text(self) -> str:
        s = self.summary()
        rate = s["jobs"] / s["seconds"] if s["seconds"] else 0.0
        return (f"translate {s['source_lang']} -> {','.join(s['targets'])} with {s['system']}: "
                f"{s['entries_in']:,} entries, {s['accepted']:,} translations kept, "
                f"{s['rejected_quality']:,} dropped by quality checks, "
                f"{s['failed']:,} of {s['translated'] + s['failed']:,} translations failed, "
                f"{s['skipped_native']:,} not made (native rows exist)\n"
                f"requests {s['requests']:,}, cache hits {s['cache_hits']:,}, tokens {s['prompt_tokens']:,} in / "
                f"{s['completion_tokens']:,} out, {s['seconds']:.1f}s ({rate:.1f} translations/s)")

    def close(self) -> None:
        self._bar.close()
        self.backend.close()
        self.cache.close()

    # ------------------------------------------------------------------ internals
    def _key(self, payload: Payload, source: str, target: str) -> CacheKey:
        return CacheKey(self.backend.name, self.backend.model, self.backend.prompt_version, source, target,
                        payload_hash(payload, source))

    def _resolve(self, wanted: list[tuple[Payload, str, str]]) -> dict[CacheKey, Payload | str]:
        """Translations of (payload, source, target): from the cache, else from the backend.

        Values are the translated payload, or the error message of a failed request.
        """
        results: dict[CacheKey, Payload | str] = {}
        jobs: dict[CacheKey, Job] = {}
        for payload, source, target in wanted:
            key = self._key(payload, source, target)
            if key in results or key in jobs:
                continue
            cached = self.cache.get(key)
            if cached is not None:
                results[key] = cached
                self.run_stats.cache_hits += 1
                self._bar.update(1)
            else:
                jobs[key] = Job(key, payload, source, target)
        self.run_stats.jobs += len(wanted)
        failed = 0
        for outcome in self.backend.run(list(jobs.values())):
            self.run_stats.prompt_tokens += outcome.prompt_tokens
            self.run_stats.completion_tokens += outcome.completion_tokens
            if outcome.output is not None:
                self.cache.put(outcome.job.key, outcome.output, outcome.prompt_tokens, outcome.completion_tokens)
                results[outcome.job.key] = outcome.output
            else:
                error = outcome.error or "failed"
                self.cache.record_failure(outcome.job.key, error, outcome.attempts)
                results[outcome.job.key] = error
                failed += 1
            self._bar.update(1)
            self._bar.set_postfix(hits=self.run_stats.cache_hits, failed=failed, refresh=False)
        return results

    def _translate_chunk(self, chunk: list[Entry], skip_ids: Container[str]) -> Iterator[Entry | Reject]:
        self.run_stats.entries_in += len(chunk)
        payloads = [entry_payload(e) for e in chunk]
        todo = []
        for e, p in zip(chunk, payloads, strict=True):
            for t in self.targets:
                if target_id(e, t) in skip_ids:
                    self.run_stats.skipped_native += 1
                    self._bar.update(2 if self.cfg.backward else 1)
                else:
                    todo.append((e, p, t))
        forward = self._resolve([(p, e.lang, t) for e, p, t in todo])
        backward: dict[CacheKey, Payload | str] = {}
        if self.cfg.backward:
            done = []
            for e, p, t in todo:
                out = forward[self._key(p, e.lang, t)]
                if isinstance(out, dict):
                    done.append((out, t, e.lang))
            backward = self._resolve(done)
        for origin, payload, target in todo:
            yield self._finish(origin, payload, target, forward[self._key(payload, origin.lang, target)], backward)

    def _finish(self, origin: Entry, payload: Payload, target: str, out: Payload | str,
                backward: dict[CacheKey, Payload | str]) -> Entry | Reject:
        if isinstance(out, str):
            self.run_stats.failed += 1
            if len(self.run_stats.failures) < 20:
                self.run_stats.failures.append({"id": target_id(origin, target), "target": target, "error": out})
            return self._reject(origin, target, f"translation failed: {out}")
        self.run_stats.translated += 1
        entry = translated_entry(origin, out, target, self.system)
        back = None
        if self.cfg.backward:
            back_out = backward.get(self._key(out, target, origin.lang))
            back = back_out if isinstance(back_out, dict) else None
        verdict = score_translation(CheckContext(origin, entry, payload, out, back), self.checks)
        if verdict.problems:
            self.run_stats.rejected_quality += 1
            return self._reject(origin, target, "translation quality: " + "; ".join(verdict.problems[:5]))
        if self.cfg.min_score is not None and verdict.score is not None and verdict.score < self.cfg.min_score:
            self.run_stats.rejected_quality += 1
            return self._reject(origin, target, f"translation quality: score {verdict.score:.3f} below "
                                f"min_score {self.cfg.min_score} ({verdict.details})")
        entry.translation.score = verdict.score
        self.run_stats.accepted += 1
        return entry

    def _reject(self, origin: Entry, target: str, reason: str) -> Reject:
        return Reject(origin.source, origin.upstream_file or "", origin.upstream_row, reason,
                      id=target_id(origin, target), lang=target, step=STEP_NAME)
