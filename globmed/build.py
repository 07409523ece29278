"""``globmed build``: sources -> validation -> steps -> split -> Hub-layout folder.

The build streams each source's rows, validates every entry (a bad row goes to
``rejects.jsonl`` with its reason and the build goes on; ``strict`` fails instead,
naming file and row), runs the pipeline steps on batches, assigns one split per
``origin_id``, and writes the folder in the exact layout of the Hub dataset repo.
Everything is written to a temporary folder beside the output and renamed into place
only when complete, so a failed build never leaves a half-written folder or destroys
the previous one; a folder holding anything but a previous build's own files is never
replaced (``globmed.build_output``).
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import shutil
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

import globmed
from globmed.build_files import (
    SPILL_FOLDER,
    available_cores,
    mapped_tables,
    present_languages,
    spill_tables,
    write_languages,
)
from globmed.build_output import check_out, new_work_folder, put_in_place
from globmed.build_steps import RejectBatch, RejectLog, split_steps_kept
from globmed.cards import render_dataset_card
from globmed.errors import GlobmedError, SourceRowError
from globmed.export import DEFAULT_SHARD_ROWS
from globmed.languages import get_language, resolve_languages
from globmed.pipeline import Step, StepStats, TableStep, select
from globmed.schema import (
    ARROW_SCHEMA,
    FIELD_DESCRIPTIONS,
    PIPELINE_ONLY,
    SPLITS,
    TASK_DESCRIPTIONS,
    TASKS,
    Entry,
    entries_to_batch,
    validate_entry,
)
from globmed.sources.base import Reject, Source, SourceSpec, get_source
from globmed.sources.licences import licence_summary
from globmed.splits import DEFAULT_RATIOS, DEFAULT_SALT, SplitAssigner, check_ratios, split_column

REPORT_FILE = "build_report.json"
REJECTS_FILE = "rejects.jsonl"
CARD_FILE = "README.md"

PIPELINE_SCHEMA = pa.schema(
    [*ARROW_SCHEMA, *(pa.field(name, pa.string()) for name in PIPELINE_ONLY)]
)


@dataclass
class BuildOptions:
    out: Path
    sources: Sequence[SourceSpec]
    profile: str | None = "paper"
    langs: Sequence[str] | None = None
    strict: bool = False
    split_ratios: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATIOS))
    split_salt: str = DEFAULT_SALT
    shard_rows: int = DEFAULT_SHARD_ROWS
    batch_size: int = 10_000
    workers: int | None = None
    """Processes that read, validate and run the streaming steps, one source shard at a time
    (``None``: one per core, at most 8; 1: all in the build process)."""
    steps: Sequence[Step | TableStep] = ()
    """Streaming steps run on batches as read; steps with ``needs_split`` run after split assignment."""
    repo_id: str = "org/globmed"
    force: bool = False
    progress: bool = True
    translate: TranslateHook | None = None
    """Adds translated rows: once a source is read, its entries of ``translate.source_lang`` are handed to
    it, and what it yields (entries or rejects) is validated like any row. Translations are not made
    for items the source already has natively in the target language."""


class TranslateHook(Protocol):
    """What the build needs from a translator (``globmed.translate.Translator`` is one)."""

    source_lang: str
    targets: Sequence[str]

    def __call__(self, entries: list[Entry], skip_ids: Container[str]) -> Iterable[Entry | Reject]:
        """Translations of ``entries``; a translation whose id is in ``skip_ids`` (a native row) is not made."""

    def summary(self) -> dict[str, Any]: ...


def build(opts: BuildOptions) -> dict[str, Any]:
    """Run a build; returns the build report (also written to ``<out>/build_report.json``)."""
    langs = resolve_languages(opts.profile, opts.langs)
    if not opts.sources:
        raise GlobmedError("no --source given")
    sources: list[tuple[Source, Path | None]] = [(get_source(s.name), s.path) for s in opts.sources]
    ratios = check_ratios(opts.split_ratios)
    if opts.translate is not None:
        outside = [t for t in opts.translate.targets if t not in langs]
        if outside:
            raise GlobmedError(f"--translate-to {','.join(outside)}: not among the build's languages "
                               f"({', '.join(langs)}); add them to --langs or the profile")
    out = check_out(Path(opts.out), [path for _, path in sources], opts.force)
    tmp = new_work_folder(out)
    store = _signature_store(opts.steps)
    memo = None
    if store is not None:  # what the build computes for its near-duplicate search, kept for the release gates
        from globmed.quality.sketch_memo import MemoWriter

        memo = store.memo = MemoWriter.begin(out, store.definition)
    try:
        report = _build_into(tmp, opts, langs, sources, ratios)
        put_in_place(tmp, out, opts.force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if memo is not None:
            memo.discard()
        raise
    finally:
        if store is not None:
            store.memo = None
            store.verified = type(store.verified)()  # this build's similarities: not held after it
    if memo is not None:
        memo.commit()
    return report


def _signature_store(steps: Sequence[Step | TableStep]) -> Any:
    """The :class:`~globmed.quality.signatures.SignatureStore` the quality steps share, or None."""
    stores = {id(s.store): s.store for s in steps if hasattr(getattr(s, "store", None), "memo")}
    return next(iter(stores.values())) if len(stores) == 1 else None


class _Stream:
    """Validation and the streaming steps over items as read; the surviving rows collect as Arrow
    tables. A build runs one per source shard, in a worker process or in the build process."""

    def __init__(self, opts: BuildOptions, wanted: set[str], steps: Sequence[Step],
                 table_steps: Sequence[TableStep] = ()):
        self.opts, self.wanted, self.steps, self.table_steps = opts, wanted, steps, table_steps
        self.stats = [StepStats(step.name, {}) for step in steps]
        self.translate_lang = opts.translate.source_lang if opts.translate is not None else None
        self.tables: list[pa.Table] = []
        self.rejects: list[Reject] | RejectBatch = []  # a RejectBatch once drained
        self.seen: dict[str, str] = {}  # id -> where of every valid entry read (by admit without seen=), in order
        self.per_source: Counter = Counter()
        self.read_items = 0  # entries and rejects the source yielded, of any language
        self.other_lang: Counter = Counter()
        self.to_translate: list[Entry] = []
        self.pending: list[Entry] = []

    def reject(self, reject: Reject, strict_applies: bool) -> None:
        strict_applies = strict_applies and not reject.expected
        if self.opts.strict and strict_applies:
            raise SourceRowError(reject.source, reject.file, reject.row, reject.reason)
        self.rejects.append(reject)

    def admit(self, source_name: str, item: Entry | Reject, translated: bool = False,
              seen: dict[str, str] | None = None) -> None:
        if isinstance(item, Reject):
            self.reject(item, not translated)
            return
        lang = item.lang
        is_origin = self.translate_lang is not None and not translated and lang == self.translate_lang
        if lang not in self.wanted and not is_origin:
            self.other_lang[lang] += 1
            return
        problems = validate_entry(item)
        seen = self.seen if seen is None else seen
        if not problems and item.id in seen:
            problems = [f"duplicate id {item.id!r} (first read at {seen[item.id]})"]
        if problems:
            self.reject(_entry_reject(source_name, item, "; ".join(problems)), not translated)
            return
        seen[item.id] = item.where
        if is_origin:
            self.to_translate.append(item)
            if item.lang not in self.wanted:
                return
        self.per_source[source_name] += 1
        self.pending.append(item)
        if len(self.pending) >= self.opts.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch = entries_to_batch(self.pending)
        self.pending.clear()
        for step, stats in zip(self.steps, self.stats, strict=True):
            result = step(batch)
            stats.record(result.batch["lang"], result.keep, result.reasons)
            if all(result.keep):
                batch = result.batch
                continue
            counts = getattr(step, "counts_for_strict", False)  # field_limits: a bad upstream row
            for i, kept in enumerate(result.keep):
                if not kept:
                    self.reject(_step_reject(result.batch, i, step.name, result.reasons[i]), counts)
            batch = select(result.batch, result.keep)
        table = pa.Table.from_pydict(batch, schema=PIPELINE_SCHEMA)
        for step in self.table_steps:
            for name, column in step.precompute(table).items():
                if name not in table.column_names:
                    table = table.append_column(name, column)
        self.tables.append(table)

    def drain(self) -> _Stream:
        """What the build process needs back (picklable): everything but the queues."""
        self.flush()
        self.opts = self.steps = self.table_steps = None  # type: ignore[assignment]
        self.rejects = RejectBatch.of(self.rejects)  # --strict has let them through
        if _SPILL_DIR is not None and self.tables:  # a shard worker: the rows go back as a file, not a pickle
            self.tables = [spill_tables(self.tables, _SPILL_DIR)]
        return self


# the sources and steps of the running build, inherited by forked shard workers
_SHARD_CONTEXT: tuple[BuildOptions, set[str], list[tuple[Source, Path | None]], list[Step], list[TableStep],
                      set[str]] | None = None


_SPILL_DIR: Path | None = None
"""Where forked shard workers leave their rows (:func:`~globmed.build_files.spill_tables`) for the build
process to map, rather than pickling a few hundred MB back through pipes; set while they run."""


_SHARD_GC_THRESHOLD = 100_000
"""Objects allocated (net) between the cyclic garbage collector's young collections while a part is read."""


def _read_shard(task: tuple[int, Any]) -> _Stream:
    assert _SHARD_CONTEXT is not None
    opts, wanted, sources, steps, table_steps, read_langs = _SHARD_CONTEXT
    source_index, shard = task
    source, path = sources[source_index]
    stream = _Stream(opts, wanted, steps, table_steps)
    # The stream makes almost no reference cycles, but with Python's default threshold (700) its many
    # objects (rows, entries, batch columns) set off thousands of collections, some of the whole heap: a
    # fifth of the streaming path's time. With this one a part is read with few or none; a part that
    # somehow piled up garbage would still be collected.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], _SHARD_GC_THRESHOLD), *thresholds[1:])
    try:
        for item in source.read_shard(path, read_langs, shard):
            stream.read_items += 1
            stream.admit(source.name, item)
        return stream.drain()
    finally:
        gc.set_threshold(*thresholds)


def _shard_results(tasks: list[tuple[int, Any]], workers: int, spill: Path) -> Iterator[_Stream]:
    """Each shard's stream, in task order; in ``workers`` forked processes when that pays, which leave
    their rows in Arrow files under ``spill`` (mapped back by :func:`~globmed.build_files.mapped_tables`)."""
    global _SPILL_DIR
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield _read_shard(task)
        return
    spill.mkdir(exist_ok=True)
    _SPILL_DIR = spill
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(workers, len(tasks))) as pool:
            yield from pool.imap(_read_shard, tasks)
    finally:
        _SPILL_DIR = None


def build_workers(requested: int | None) -> int:
    """``requested`` processes, or by default one per available core (at most 8)."""
    if requested is not None:
        if requested < 1:
            raise GlobmedError("--workers must be at least 1")
        return requested
    return max(1, min(available_cores(), 8))


def _build_into(
    tmp: Path,
    opts: BuildOptions,
    langs: Sequence[str],
    sources: list[tuple[Source, Path | None]],
    ratios: dict[str, float],
) -> dict[str, Any]:
    global _SHARD_CONTEXT
    wanted = set(langs)
    rejects = RejectLog(tmp / REJECTS_FILE, opts.strict)
    assigner = SplitAssigner(ratios=ratios, salt=opts.split_salt)
    step_stats = [StepStats(step.name, step.describe()) for step in opts.steps]
    stream_steps = [(s, st) for s, st in zip(opts.steps, step_stats, strict=True) if not getattr(s, "needs_split", False)]
    split_steps = [(s, st) for s, st in zip(opts.steps, step_stats, strict=True) if getattr(s, "needs_split", False)]
    tables: list[pa.Table] = []
    seen: dict[str, str] = {}
    per_source: Counter = Counter()
    other_lang: Counter = Counter()
    translate = opts.translate
    read_langs = wanted | ({translate.source_lang} if translate else set())
    steps_only = [s for s, _ in stream_steps]
    table_steps = [s for s, _ in split_steps]

    def take(stream: _Stream, *, local: bool = False) -> None:
        """Merge one stream's results; ids a previous shard already read are duplicates."""
        rejects.add_batch(stream.rejects)
        dropped: set[str] = set()
        if not local and seen.keys().isdisjoint(stream.seen):  # the common case: no id read before
            seen.update(stream.seen)
        elif not local:
            for item_id, where in stream.seen.items():
                if item_id in seen:
                    dropped.add(item_id)
                    per_source[item_id.split("/", 1)[0]] -= 1
                    rejects.add(Reject(*_split_where(item_id, where), f"duplicate id {item_id!r} (first read at "
                                       f"{seen[item_id]})", id=item_id, step="validate"), fail_if_strict=True)
                else:
                    seen[item_id] = where
        for (_, stats), part in zip(stream_steps, stream.stats, strict=True):
            stats.merge(part)
        for table in mapped_tables(stream.tables):
            if dropped:
                table = table.filter(pc.invert(pc.is_in(table.column("id"), pa.array(sorted(dropped)))))
            hints = table.column("upstream_split")
            if hints.null_count < len(hints):  # the assigner looks at rows with an upstream split only
                origin_ids = table.column("origin_id")
                if hints.null_count:
                    has_hint = pc.is_valid(hints)
                    hints, origin_ids = hints.filter(has_hint), origin_ids.filter(has_hint)
                assigner.observe(origin_ids.to_pylist(), hints.to_pylist())
            tables.append(table)
        per_source.update(stream.per_source)
        other_lang.update(stream.other_lang)

    workers = build_workers(opts.workers)
    try:
        for index, (source, path) in enumerate(sources):
            tasks = [(index, shard) for shard in source.shards(path, read_langs)]
            _SHARD_CONTEXT = (opts, wanted, sources, steps_only, table_steps, read_langs)
            origins: list[Entry] = []
            read_items = 0
            try:
                for stream in tqdm(_shard_results(tasks, workers, tmp / SPILL_FOLDER), total=len(tasks),
                                   desc=f"read {source.name}",
                                   unit=" part", disable=not opts.progress):
                    take(stream)
                    read_items += stream.read_items
                    origins += stream.to_translate
            finally:
                _SHARD_CONTEXT = None
            _check_not_empty(source, path, read_items, per_source[source.name] + len(origins),
                             bool(tasks) and not read_langs.isdisjoint(source.languages), rejects.first.get(source.name))
            if translate is not None and origins:  # after the whole source: native rows win over translations
                stream = _Stream(opts, wanted, steps_only, table_steps)
                for out in translate(origins, skip_ids=seen):
                    stream.admit(out.source, out, translated=True, seen=seen)
                take(stream.drain(), local=True)
    finally:
        rejects.close()
        shutil.rmtree(tmp / SPILL_FOLDER, ignore_errors=True)  # empty unless a shard worker failed
        for step, _ in stream_steps:  # streaming is over: steps may free workers and models
            getattr(step, "close", lambda: None)()

    table = pa.concat_tables(tables) if tables else PIPELINE_SCHEMA.empty_table()
    tables.clear()
    table = table.append_column("split", split_column(table.column("origin_id"), assigner))
    kept = None
    if split_steps:
        held = [table]
        del table  # split_steps_kept frees the signatures once it has its copy
        table, kept = split_steps_kept(held, split_steps, rejects, opts.progress)

    present = present_languages(table, langs, kept)
    written = write_languages(table, present, tmp, opts.shard_rows, opts.progress, kept)
    if kept is not None:  # what the report counts, of the kept rows
        table = table.select(["id", "origin_id", "lang", "source", "task", "license", "translation", "split"]
                             ).filter(pa.array(kept))

    report = _report(opts, langs, present, table, written, rejects, assigner, step_stats,
                     per_source, other_lang, sources)
    (tmp / REPORT_FILE).write_text(json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
                                   encoding="utf-8")
    (tmp / CARD_FILE).write_text(render_dataset_card(report), encoding="utf-8")
    return report


def _check_not_empty(source: Source, path: Path | None, read_items: int, entries: int, wanted: bool,
                     first_reject: str | None) -> None:
    """A source that yields no entry at all is an error, with or without ``--strict``: an empty or
    wrong file would otherwise build "successfully" with nothing from it. A source none of whose
    languages the build wants is not read, and not an error."""
    if not wanted or entries:
        return
    where = "its default location" if path is None else str(path)
    if read_items:
        why = f"; the first reject: {first_reject}" if first_reject else " (all in other languages)"
        raise GlobmedError(f"source {source.name!r}: {where}: no entry for the build's languages out of "
                           f"{read_items:,} rows read{why}")
    raise GlobmedError(f"source {source.name!r}: {where}: no rows (an empty file or folder?) "
                       f"(expected {source.expected_files})")


def _entry_reject(source: str, entry: Entry, reason: str) -> Reject:
    return Reject(source, entry.upstream_file or "", entry.upstream_row, reason,
                  id=entry.id if isinstance(entry.id, str) else None,
                  lang=entry.lang if isinstance(entry.lang, str) else None, step="validate")


def _split_where(item_id: str, where: str) -> tuple[str, str, str | None]:
    """``(source, file, row)`` of an entry from its id and :attr:`Entry.where`."""
    source = item_id.split("/", 1)[0]
    file, sep, row = where.rpartition(", row ")
    return (source, file, row) if sep else (source, where, None)


def _step_reject(batch: dict[str, list], i: int, step: str, reason: str | None) -> Reject:
    return Reject(batch["source"][i], batch["upstream_file"][i] or "", batch["upstream_row"][i],
                  reason or "removed", id=batch["id"][i], lang=batch["lang"][i], step=step)


def _count(table: pa.Table, key: str) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {s: 0 for s in (*SPLITS, "total")})
    if table.num_rows:
        grouped = table.group_by([key, "split"]).aggregate([("id", "count")])
        for row in grouped.to_pylist():
            counts[row[key]][row["split"]] += row["id_count"]
            counts[row[key]]["total"] += row["id_count"]
    return counts


def _report(opts, langs, present, table, written, rejects, assigner, step_stats, per_source,
            other_lang, sources) -> dict[str, Any]:
    by_language = _count(table, "lang")
    by_task = _count(table, "task")
    by_split = {s: int(pc.sum(pc.equal(table.column("split"), s)).as_py() or 0) for s in SPLITS}
    translated = table.num_rows - table.column("translation").null_count
    by_licence: dict[str, dict[str, int]] = defaultdict(dict)  # source -> row licence -> entries
    imported: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)  # source -> (origin, licence) -> entries
    if table.num_rows:
        origin = pc.list_element(pc.split_pattern(table.column("origin_id"), "/", max_splits=1), 0)
        keyed = pa.table({"source": table.column("source"), "license": table.column("license"), "origin": origin,
                          "id": table.column("id")})
        for row in keyed.group_by(["source", "origin", "license"]).aggregate([("id", "count")]).to_pylist():
            if row["origin"] == row["source"]:
                by_licence[row["source"]][row["license"]] = by_licence[row["source"]].get(row["license"], 0) \
                    + row["id_count"]
            else:  # a translation of another source's item (globmed_hub): its origin's licence rules
                imported[row["source"]][(row["origin"], row["license"])] = row["id_count"]
    source_rows = []
    for source, path in sources:
        info = source.info
        licences = licence_summary(info.name, by_licence[info.name], imported[info.name])  # per subset / origin
        source_rows.append({
            "name": info.name,
            "title": info.title,
            "license": info.license,
            **licences,
            "homepage": info.homepage,
            "version": info.version,
            "citation": info.citation,
            "demo": info.demo,
            "license_note": info.license_note,
            "path": "(default)" if path is None else str(path),
            "tasks": list(source.tasks),
            "entries": per_source[source.name],
        })
    language_rows = {}
    for code in langs:
        lang = get_language(code)
        language_rows[code] = {"name": lang.name, "native_name": lang.native_name, "script": lang.script,
                               "tier": lang.tier}
    return {
        "globmed_version": globmed.__version__,
        "repo_id": opts.repo_id,
        "demo": any(s["demo"] for s in source_rows),
        "profile": opts.profile if not opts.langs else None,
        "languages_requested": list(langs),
        "configs": list(present),
        "splits_by_language": {c: [s for s in SPLITS if by_language[c][s]] for c in present},
        "languages_without_entries": [c for c in langs if c not in present],
        "languages": language_rows,
        "tiers": {tier: [c for c in present if language_rows[c]["tier"] == tier] for tier in ("high", "low")},
        "sources": source_rows,
        "split": assigner.describe(),
        "counts": {
            "total": table.num_rows,
            "by_split": by_split,
            "by_language": {c: by_language[c] for c in present},
            "by_task": {t: by_task[t] for t in TASKS if t in by_task},
            "by_source": {s["name"]: s["entries"] for s in source_rows},
            "translated": translated,
            "skipped_other_languages": dict(sorted(other_lang.items())),
        },
        "rejects": rejects.summary(),
        "translation": opts.translate.summary() if opts.translate else None,
        "steps": [s.to_dict() for s in step_stats],
        "task_descriptions": {t: TASK_DESCRIPTIONS[t] for t in TASKS},
        "field_descriptions": FIELD_DESCRIPTIONS,
        "files": [f.to_dict() for f in written],
    }
