"""The build's reject log and its whole-build ("split") steps: the serial part of ``globmed build``
that runs in the build process once the stream is read.

The whole-build steps (dedup, decontamination) see one table of the surviving entries, test rows
first; what they remove is written to ``rejects.jsonl``. The table the build writes is the stream's
own table with the removed rows filtered out (the steps' table is a copy in another order, and
nothing of it but its row positions comes back).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from globmed.build_files import take_rows
from globmed.errors import SourceRowError
from globmed.pipeline import StepStats, TableStep
from globmed.sources.base import Reject

_JSON_LINE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
"""``json.dumps(value, ensure_ascii=False, sort_keys=True)``, without making an encoder each time."""

_QUOTED_OR_NUMBER = re.compile(r"'[^']*'|\"[^\"]*\"|\b\d+\b")

_REJECT_COLUMNS = ["source", "upstream_file", "upstream_row", "id", "lang"]
"""The columns of a removed row that its reject records."""


def reason_key(reason: str) -> str:
    """Group reasons for the report: drop quoted values so 'answer 'E' is not ...' counts as one kind."""
    return _QUOTED_OR_NUMBER.sub("…", reason)[:120]


@dataclass
class RejectBatch:
    """Rejects made in a build's shard worker, as the lines :meth:`RejectLog.add` writes for them and
    their counts: the build process appends them as they are (and Reject objects need not be pickled)."""

    lines: list[str] = field(default_factory=list)
    expected: int = 0
    by_source: Counter = field(default_factory=Counter)
    by_step: Counter = field(default_factory=Counter)
    by_reason: Counter = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, rejects: Iterable[Reject]) -> RejectBatch:
        batch = cls()
        for reject in rejects:
            batch.lines.append(_JSON_LINE(reject.to_dict()))
            _tally(batch, reject)
        return batch


def _tally(counts: RejectBatch | RejectLog, reject: Reject) -> None:
    """Count one reject in ``counts``' totals (all but the line itself)."""
    counts.expected += reject.expected
    if reject.source not in counts.first:
        counts.first[reject.source] = f"{reject.where}: {reject.reason}"[:300]
    counts.by_source[reject.source] += 1
    counts.by_step[reject.step] += 1
    counts.by_reason[reason_key(reject.reason)] += 1


@dataclass
class RejectLog:
    """Appends rejects to ``rejects.jsonl`` as they come and counts them."""

    path: Path
    strict: bool
    total: int = 0
    by_source: Counter = field(default_factory=Counter)
    by_step: Counter = field(default_factory=Counter)
    by_reason: Counter = field(default_factory=Counter)

    first: dict[str, str] = field(default_factory=dict)
    """Each source's first reject, where and why (named when a source yields no entry)."""
    expected: int = 0
    """Rejects marked ``expected`` (documented gaps of an upstream release); never a ``--strict`` failure."""

    def __post_init__(self) -> None:
        # backslashreplace: a reason quoting undecodable upstream bytes is written as a JSON escape, not a crash
        self._fh = open(self.path, "w", encoding="utf-8", errors="backslashreplace")

    def add(self, reject: Reject, *, fail_if_strict: bool = True) -> None:
        if self.strict and fail_if_strict and not reject.expected:
            raise SourceRowError(reject.source, reject.file, reject.row, reject.reason)
        self._fh.write(_JSON_LINE(reject.to_dict()) + "\n")
        self.total += 1
        _tally(self, reject)

    def add_batch(self, batch: RejectBatch) -> None:
        """Append a worker's rejects (:meth:`add` of each, which ``--strict`` let through there)."""
        if batch.lines:
            self._fh.write("\n".join(batch.lines) + "\n")
        self.total += len(batch.lines)
        self.expected += batch.expected
        for source, first in batch.first.items():
            self.first.setdefault(source, first)
        self.by_source.update(batch.by_source)
        self.by_step.update(batch.by_step)
        self.by_reason.update(batch.by_reason)

    def add_removed(self, rows: pa.Table, reasons: Sequence[str], step: str) -> None:
        """One reject per row of ``rows`` (:data:`_REJECT_COLUMNS`), removed by quality step ``step``
        with ``reasons[i]``: what :meth:`add` writes and counts for each, never a ``--strict`` failure."""
        sources, files, upstream_rows, ids, langs = (rows.column(c).to_pylist() for c in _REJECT_COLUMNS)
        reasons = [r or "removed" for r in reasons]
        lines = [_JSON_LINE({"source": source, "file": file or "", "row": row, "reason": reason, "id": id_,
                             "lang": lang, "step": step, "expected": False})
                 for source, file, row, reason, id_, lang in zip(sources, files, upstream_rows, reasons, ids, langs,
                                                                  strict=True)]
        if not lines:
            return
        self._fh.write("\n".join(lines) + "\n")
        self.total += len(lines)
        for i, source in enumerate(sources):
            if source not in self.first:
                where = Reject(source, files[i] or "", upstream_rows[i], reasons[i]).where
                self.first[source] = f"{where}: {reasons[i]}"[:300]
        self.by_source.update(sources)
        self.by_step[step] += len(lines)
        self.by_reason.update(map(reason_key, reasons))

    def close(self) -> None:
        self._fh.close()

    def reopen(self) -> None:
        """Append again after :meth:`close` (the whole-build steps reject after the stream)."""
        self._fh = open(self.path, "a", encoding="utf-8", errors="backslashreplace")

    def summary(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "expected": self.expected,
            "by_source": dict(sorted(self.by_source.items())),
            "by_step": dict(sorted(self.by_step.items())),
            "by_reason": dict(self.by_reason.most_common()),
        }


def test_first_order(split: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Row positions with the test rows first, then validation, then the rest; each in stream order."""
    rank = np.full(len(split), 2, dtype=np.int8)  # train
    for value, name in enumerate(("test", "validation")):
        rank[pc.equal(split, name).to_numpy(zero_copy_only=False)] = value
    return np.argsort(rank, kind="stable")


def _record(step: TableStep, stats: StepStats, result: Any, table: pa.Table, rejects: RejectLog,
            order: np.ndarray | None = None) -> np.ndarray:
    """A whole-build step's result on ``table``'s rows ``order`` (default: its rows, in order) counted and
    its removals logged; whether each of those rows is kept."""
    keep = np.asarray(result.keep, dtype=bool)
    langs = table.column("lang")
    stats.record_table(langs if order is None else langs.take(pa.array(order)), keep, result.reasons)
    dropped = np.flatnonzero(~keep)
    if len(dropped):
        rows = table.select(_REJECT_COLUMNS).take(pa.array(dropped if order is None else order[dropped]))
        rejects.add_removed(rows, [result.reasons[i] for i in dropped], step.name)
    return keep


def run_split_steps(held: list[pa.Table], steps: list[tuple[TableStep, StepStats]], rejects: RejectLog,
                    progress: bool) -> pa.Table:
    """Run the whole-build steps on the table, test rows first; returns the table without the rows they
    removed and without the steps' own columns (names starting with ``_``), rows in their order.

    ``held``: ``[table]``, which this empties: when nothing else holds the table, its own columns (the
    MinHash signatures: 40% of it) are freed while the steps run on their reordered copy."""
    table, kept = split_steps_kept(held, steps, rejects, progress)
    return table.filter(pa.array(kept))


def split_steps_kept(held: list[pa.Table], steps: list[tuple[TableStep, StepStats]], rejects: RejectLog,
                     progress: bool) -> tuple[pa.Table, np.ndarray]:
    """:func:`run_split_steps` without the filter: ``(the table without the steps' own columns, whether
    each of its rows is kept)``, for a caller that reads the kept rows a part at a time (the build writes
    them a language at a time: one copy of each row, not two)."""
    table = held.pop()
    order = test_first_order(table.column("split"))  # row of `table` of each row of `working`
    steps = list(steps)
    rejects.reopen()
    try:
        while steps and hasattr(steps[0][0], "in_order"):
            # first steps that judge the rows in that order without their copy (translation_rules, exact_dedup):
            # the copy the other steps work on leaves their removals out (one copy of the whole table, not two)
            step, stats = steps.pop(0)
            order = order[_record(step, stats, step.in_order(table, order), table, rejects, order)]
        working = take_rows(table, order)  # one chunk, in one pass over the stream's many batches
        table = table.drop_columns([c for c in table.column_names if c.startswith("_")])
        for k, (step, stats) in enumerate(tqdm(steps, desc="quality", unit=" step", disable=not progress)):
            keep = _record(step, stats, step(working), working, rejects)
            if keep.all():
                continue
            order = order[keep]
            if k + 1 < len(steps):  # the next step sees the rows this one kept
                working = take_rows(working, np.flatnonzero(keep))
    finally:
        rejects.close()
    del working
    kept = np.zeros(table.num_rows, dtype=bool)
    kept[order] = True
    return table, kept
