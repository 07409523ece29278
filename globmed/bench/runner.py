"""``globmed bench``: models x languages x modes, resumable, then the optional LLM judge of the
open-QA answers (``--judge``), then the reports."""

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
from globmed.bench.model_size import size_label
from globmed.bench.registry import ModelSpec
from globmed.bench.results import (
    ResultStore,
    bench_lock,
    iter_records,
    model_slug,
    origin_of,
    record_key,
    unique_records,
)
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
    judge: Any = None
    """A :class:`globmed.bench.judge.Judge` grading the open-QA answers of the generative modes."""


@dataclass
class JudgeSummary:
    judged: int = 0
    """Verdict records written (parsed or not)."""
    unparsed: int = 0
    """Of those, judge replies without a valid ``Score: N`` line."""
    done: int = 0
    """Answers judged by an earlier run (not asked again)."""
    failed: int = 0
    """Requests that failed after the retries: nothing written, judged on the next run."""


@dataclass
class RunSummary:
    scored: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    judged: dict[str, JudgeSummary] = field(default_factory=dict)
    seconds: float = 0.0
    report_files: list[Path] = field(default_factory=list)


def results_path(out: Path, spec: ModelSpec) -> Path:
    return Path(out) / "results" / f"{model_slug(spec.name)}.jsonl"


def load_all(opts: BenchOptions) -> dict[str, tuple[list[dict[str, Any]], dict[str, list]]]:
    """Items and shots of every language, loaded before any model so a bad config fails fast."""
    return {lang: (load_items(opts.dataset, lang, opts.tasks, opts.limit), load_shots(opts.dataset, lang, opts.shots))
            for lang in opts.langs}


Data = dict[str, tuple[list[dict[str, Any]], dict[str, list]]]


def run_model(spec: ModelSpec, opts: BenchOptions, backend: Backend | None = None,
              data: Data | None = None) -> tuple[int, int]:
    """Score one model on every language and mode; returns (records written, items skipped)."""
    store = ResultStore(results_path(opts.out, spec))
    written = skipped = 0
    for lang, (items, shots) in (data if data is not None else load_all(opts)).items():
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
                kwargs: dict[str, Any] = spec.budgets_for(mode) if mode in GENERATIVE_MODES else {}
                records = SCORERS[mode](backend, part, shots, **kwargs)
                origin = {it["id"]: it.get("origin_id") for it in part}
                for rec in records:
                    rec.update(key=record_key(rec["mode"], opts.shots, rec["id"]), model=spec.name, shots=opts.shots,
                               origin_id=origin.get(rec["id"]) or origin_of(rec["id"]), backend=spec.backend,
                               size=size_label(spec.model, spec.name))
                written += store.append(records)
                bar.update(len(part))
            bar.close()
    if backend is not None:
        backend.close()
    return written, skipped


def judge_model(spec: ModelSpec, opts: BenchOptions, judge: Any, data: Data | None = None) -> JudgeSummary:
    """Have ``judge`` grade ``spec``'s open-QA answers of its generative modes (this run's languages,
    tasks, shots and limit) that it has not graded yet; verdicts go to the model's result file."""
    from globmed.bench.judge import judge_key

    summary = JudgeSummary()
    path = results_path(opts.out, spec)
    modes = [m for m in spec.modes if m in GENERATIVE_MODES]
    if not modes or not path.exists():
        return summary
    store = ResultStore(path)
    answers = {r["key"]: r for r in unique_records(iter_records(path))
               if r.get("mode") in modes and r.get("task") == "open_qa"}
    pairs = []
    for items, _ in (data if data is not None else load_all(opts)).values():
        for it in items:
            for mode in modes:
                rec = answers.get(record_key(mode, opts.shots, it["id"]))
                if rec is None:
                    continue
                if judge_key(mode, judge.name, opts.shots, it["id"]) in store.done:
                    summary.done += 1
                else:
                    pairs.append((it, rec))
    for start in range(0, len(pairs), opts.chunk):
        outcome = judge.judge(pairs[start:start + opts.chunk], progress=opts.progress)
        summary.judged += store.append(outcome.records)
        summary.unparsed += sum(bool(r["unparsed"]) for r in outcome.records)
        summary.failed += outcome.failed
    return summary


def run_bench(specs: Sequence[ModelSpec], opts: BenchOptions) -> RunSummary:
    """Score, judge and report, holding ``opts.out`` (a second bench on it stops: ``bench_lock``)."""
    with bench_lock(Path(opts.out)):
        return _run_bench(specs, opts)


def _run_bench(specs: Sequence[ModelSpec], opts: BenchOptions) -> RunSummary:
    t0 = time.perf_counter()
    summary = RunSummary()
    data = load_all(opts)
    for spec in specs:
        summary.scored[spec.name], summary.skipped[spec.name] = run_model(spec, opts, data=data)
        if opts.judge is not None:
            summary.judged[spec.name] = judge_model(spec, opts, opts.judge, data=data)
    if opts.report:
        from globmed.bench.report import write_reports

        summary.report_files = write_reports(sorted((Path(opts.out) / "results").glob("*.jsonl")), Path(opts.out))
    summary.seconds = time.perf_counter() - t0
    return summary
