"""Pipeline steps over batches of entries (datatrove-style small steps).

A batch is a dict of columns, exactly what ``datasets.Dataset.map(batched=True)``
passes (the columns of :data:`globmed.schema.PIPELINE_COLUMNS`). A step returns the
(possibly rewritten) batch plus a keep mask and, for every dropped row, a reason.
Steps may keep state across batches (a dedup index, say); the build calls them in
stream order.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

Batch = dict[str, list]


@dataclass
class StepResult:
    batch: Batch
    keep: list[bool]
    reasons: list[str | None]

    def __post_init__(self) -> None:
        n = batch_len(self.batch)
        if len(self.keep) != n or len(self.reasons) != n:
            raise ValueError(f"step result has {n} rows but {len(self.keep)} keep flags, {len(self.reasons)} reasons")


class Step(ABC):
    """One pipeline step. ``name`` appears in the build report and in rejects."""

    name: str = "step"

    @abstractmethod
    def __call__(self, batch: Batch) -> StepResult: ...

    def describe(self) -> dict[str, Any]:
        """Settings shown in the build report."""
        return {}


@dataclass
class TableResult:
    keep: Sequence[bool]
    reasons: list[str | None]


class TableStep(ABC):
    """A step that needs the whole build at once, after split assignment (``needs_split``):
    decontamination against the test split, dedup across the stream. It sees one
    ``pyarrow.Table`` of every surviving entry plus a ``split`` column, test rows first (so a
    step that keeps the first of a group keeps the test copy), and returns a keep mask and
    reasons."""

    name: str = "table-step"
    needs_split: bool = True

    @abstractmethod
    def __call__(self, table: Any) -> TableResult: ...

    def describe(self) -> dict[str, Any]:
        return {}

    def precompute(self, table: Any) -> dict[str, Any]:
        """Per-row columns this step will need (names start with ``_``), computed on each part of the
        stream as it is read, in the build's worker processes, rather than on the whole table later.
        A step must still work on a table without them."""
        return {}


def batch_len(batch: Batch) -> int:
    return len(next(iter(batch.values()))) if batch else 0


def select(batch: Batch, mask: Sequence[bool]) -> Batch:
    if all(mask):
        return batch
    n = len(mask)
    if any(len(col) != n for col in batch.values()):
        raise ValueError(f"select: a mask of {n} for columns of {sorted({len(c) for c in batch.values()})} rows")
    return {k: list(compress(col, mask)) for k, col in batch.items()}


@dataclass
class StepStats:
    """Entries in and out of one step, per language, with the reasons for removals."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    entries_in: Counter = field(default_factory=Counter)
    entries_out: Counter = field(default_factory=Counter)
    reasons: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, langs: Sequence[str], keep: Sequence[bool], reasons: Sequence[str | None]) -> None:
        if not len(langs) == len(keep) == len(reasons):
            raise ValueError(f"{self.name}: {len(langs)} languages, {len(keep)} keep flags, {len(reasons)} reasons")
        self.entries_in.update(langs)
        if all(keep):
            self.entries_out.update(langs)
            return
        self.entries_out.update(compress(langs, keep))
        for lang, kept, reason in zip(langs, keep, reasons, strict=True):
            if not kept:
                self.reasons[lang][reason_kind(reason or "unspecified")] += 1

    def record_table(self, langs: Any, keep: Any, reasons: Sequence[str | None]) -> None:
        """:meth:`record` for a whole table: ``langs`` an Arrow string column, ``keep`` a numpy bool mask."""
        import numpy as np
        import pyarrow as pa

        encoded = pa.chunked_array(langs).combine_chunks().dictionary_encode() if len(langs) else None
        if encoded is None:
            return
        names = encoded.dictionary.to_pylist()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        keep = np.asarray(keep, dtype=bool)
        for i, count in enumerate(np.bincount(codes, minlength=len(names))):
            self.entries_in[names[i]] += int(count)
        for i, count in enumerate(np.bincount(codes[keep], minlength=len(names))):
            self.entries_out[names[i]] += int(count)
        for row in np.flatnonzero(~keep):
            self.reasons[names[codes[row]]][reason_kind(reasons[row] or "unspecified")] += 1

    def merge(self, other: StepStats) -> None:
        """Add another part's counts (a shard read in another process) to these."""
        self.entries_in.update(other.entries_in)
        self.entries_out.update(other.entries_out)
        for lang, counts in other.reasons.items():
            self.reasons[lang].update(counts)

    def to_dict(self) -> dict[str, Any]:
        langs = sorted(self.entries_in)
        return {
            "step": self.name,
            "settings": self.settings,
            "entries_in": sum(self.entries_in.values()),
            "entries_out": sum(self.entries_out.values()),
            "by_language": {
                lang: {
                    "in": self.entries_in[lang],
                    "out": self.entries_out[lang],
                    "reasons": dict(sorted(self.reasons[lang].items())),
                }
                for lang in langs
            },
        }


_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|\b\d+(?:\.\d+)?\b")


def reason_kind(reason: str) -> str:
    """A reason without its values (quoted ids, numbers), so the report counts kinds, not rows."""
    return _VALUES.sub("…", reason)[:160]
