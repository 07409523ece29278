"""Split assignment: one split per ``origin_id``, so an item and all its translations
always land in the same split (no cross-language leakage).

An origin group whose entries carry an upstream split keeps it (test beats
validation beats train when its entries disagree, so a test item never leaks into
training); any other group is placed by a salted hash of its ``origin_id``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from globmed.errors import GlobmedError
from globmed.schema import SPLITS

DEFAULT_RATIOS: dict[str, float] = {"train": 0.8, "validation": 0.1, "test": 0.1}
DEFAULT_SALT = "globmed-v1"
_PRIORITY = {"test": 2, "validation": 1, "train": 0}


def parse_ratios(text: str) -> dict[str, float]:
    """``"train=0.8,validation=0.1,test=0.1"`` (or ``"0.8,0.1,0.1"``) -> ratios summing to 1."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    ratios: dict[str, float] = {}
    try:
        if all("=" not in p for p in parts):
            if len(parts) != len(SPLITS):
                raise ValueError
            ratios = {s: float(p) for s, p in zip(SPLITS, parts, strict=True)}
        else:
            for part in parts:
                key, _, value = part.partition("=")
                ratios[key.strip()] = float(value)
    except ValueError:
        raise GlobmedError(f"--split-ratios {text!r}: expected train=F,validation=F,test=F") from None
    return check_ratios(ratios)


def check_ratios(ratios: Mapping[str, float]) -> dict[str, float]:
    unknown = set(ratios) - set(SPLITS)
    if unknown:
        raise GlobmedError(f"split ratios name unknown split(s) {sorted(unknown)}; valid: {', '.join(SPLITS)}")
    full = {s: float(ratios.get(s, 0.0)) for s in SPLITS}
    if any(v < 0 for v in full.values()) or abs(sum(full.values()) - 1.0) > 1e-6:
        raise GlobmedError(f"split ratios must be >= 0 and sum to 1, got {full}")
    return full


def hash_unit(origin_id: str, salt: str = DEFAULT_SALT) -> float:
    """A stable number in [0, 1) from the origin id."""
    digest = hashlib.sha256(f"{salt}\x00{origin_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def hash_split(origin_id: str, ratios: Mapping[str, float] = DEFAULT_RATIOS, salt: str = DEFAULT_SALT) -> str:
    u = hash_unit(origin_id, salt)
    edge = 0.0
    for split in SPLITS:
        edge += ratios.get(split, 0.0)
        if u < edge:
            return split
    return next(s for s in reversed(SPLITS) if ratios.get(s, 0.0) > 0)


@dataclass
class SplitAssigner:
    """Collects upstream split hints per origin, then answers the split of any origin."""

    ratios: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATIOS))
    salt: str = DEFAULT_SALT
    hints: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, set[str]] = field(default_factory=dict)

    def observe(self, origin_ids: Iterable[str], upstream_splits: Iterable[str | None]) -> None:
        for origin, hint in zip(origin_ids, upstream_splits, strict=True):
            if hint is None:
                continue
            old = self.hints.get(origin)
            if old is None:
                self.hints[origin] = hint
            elif old != hint:
                self.conflicts.setdefault(origin, {old}).add(hint)
                if _PRIORITY[hint] > _PRIORITY[old]:
                    self.hints[origin] = hint

    def split_of(self, origin_id: str) -> str:
        hint = self.hints.get(origin_id)
        return hint if hint is not None else hash_split(origin_id, self.ratios, self.salt)

    def describe(self) -> dict:
        return {
            "method": "upstream split where the source has one (test > validation > train within an "
            "origin group), else sha256(salt, origin_id) against the ratios",
            "ratios": self.ratios,
            "salt": self.salt,
            "origins_with_upstream_split": len(self.hints),
            "origins_with_conflicting_upstream_splits": len(self.conflicts),
        }


def split_column(origin_ids: pa.Array | pa.ChunkedArray, assigner: SplitAssigner) -> pa.Array | pa.ChunkedArray:
    """The split of each row, by its ``origin_id``: :meth:`SplitAssigner.split_of` once per distinct
    origin, not once per row."""
    import pyarrow.compute as pc

    distinct = pc.unique(origin_ids)
    names = pa.array([assigner.split_of(origin) for origin in distinct.to_pylist()], pa.string())
    return names.take(pc.index_in(origin_ids, value_set=distinct))
