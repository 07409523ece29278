"""``globmed bench``: models x languages x modes, resumable, then the reports."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from globmed.bench.backends import Backend, make_backend
from globmed.bench.data import load_items, load_shots
from globmed.bench.registry import ModelSpec
from globmed.bench.results import ResultStore, model_slug, record_key
from globmed.bench.scoring import GENERATIVE_MODES, RECORD_MODES, SCORERS

log = logging.getLogger(__name__)


@dataclass
class BenchOptions:
    dataset: str | Path
    langs: Sequence[str]
    out: Path
    tasks: Sequence[str] | None = None
    shots: int = 0
    limit: int | None = None
    chunk: int = 256
    progress: bool = True
    report: bool = True


@dataclass
class RunSummary:
    scored: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    report_files: list[Path] = field(default_factory=list)


def results_path(out: Path, spec: ModelSpec) -> Path:
    return Path(out) / "results" / f"{model_slug(spec.name)}.jsonl"


def load_all(opts: BenchOptions) -> dict[str, tuple[list[dict[str, Any]], dict[str, list]]]:
    """Items and shots of every language, loaded before any model so a bad config fails fast."""
    return {lang: (load_items(opts.dataset, lang, opts.tasks, opts.limit), load_shots(opts.dataset, lang, opts.shots))
            for lang in opts.langs}


def run_model(spec: ModelSpec, opts: BenchOptions, backend: Backend | None = None) -> tuple[int, int]:
    """Score one model on every language and mode; returns (records written, items skipped)."""
    store = ResultStore(results_path(opts.out, spec))
    written = skipped = 0
    for lang, (items, shots) in load_all(opts).items():
        for mode in spec.modes:
            wanted = [it for it in items if mode in GENERATIVE_MODES or it["task"] != "open_qa"]
            pending = [it for it in wanted if not all(
                record_key(m, opts.shots, it["id"]) in store.done for m in RECORD_MODES[mode])]
            skipped += len(wanted) - len(pending)
            if not pending:
                continue
            if backend is None:
                backend = make_backend(spec.backend, model=spec.model, **spec.settings)
            bar = tqdm(total=len(pending), desc=f"{spec.name} {lang} {mode}", disable=not opts.progress, unit="item")
            for start in range(0, len(pending), opts.chunk):
                part = pending[start:start + opts.chunk]
                kwargs: dict[str, Any] = ({"max_new_tokens": spec.max_new_tokens_for(mode)}
                                          if mode in GENERATIVE_MODES else {})
                records = SCORERS[mode](backend, part, shots, **kwargs)
                for rec in records:
                    rec.update(key=record_key(rec["mode"], opts.shots, rec["id"]), model=spec.name, shots=opts.shots)
                written += store.append(records)
                bar.update(len(part))
            bar.close()
    if backend is not None:
        backend.close()
    return written, skipped


def run_bench(specs: Sequence[ModelSpec], opts: BenchOptions) -> RunSummary:
    t0 = time.perf_counter()
    summary = RunSummary()
    for spec in specs:
        summary.scored[spec.name], summary.skipped[spec.name] = run_model(spec, opts)
    if opts.report:
        from globmed.bench.report import write_reports

        summary.report_files = write_reports(sorted((Path(opts.out) / "results").glob("*.jsonl")), Path(opts.out))
    summary.seconds = time.perf_counter() - t0
    return summary
