"""Append-only per-item results (JSON Lines), keyed so that an interrupted run resumes.

One file per model: ``<out>/results/<model>.jsonl``. A record's key is
``<mode>|k<shots>|<item id>`` (a judge verdict's: ``judge|<mode>|<judge>|k<shots>|<item id>``);
finished keys are skipped on the next run. Records are appended and flushed chunk by chunk; a line
cut short by a kill is dropped (the file is truncated back to its last complete line) before
appending again, so no item is ever counted twice or half.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from globmed.bench.scoring import upgrade_record
from globmed.errors import GlobmedError

JUDGE_MODE = "judge"
"""Mode of the LLM-judge verdict records (:mod:`globmed.bench.judge`); they grade another mode's
open-QA answers and are not scores of a mode of their own."""


def model_slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def record_key(mode: str, shots: int, item_id: str) -> str:
    return f"{mode}|k{shots}|{item_id}"


def origin_of(item_id: str) -> str:
    """The ``origin_id`` of an entry id (``<source>/<lang>/<source_id>`` -> ``<source>/<source_id>``),
    for records written before records carried it."""
    parts = item_id.split("/")
    return "/".join([parts[0], *parts[2:]]) if len(parts) >= 3 else item_id


def is_judge_record(rec: dict[str, Any]) -> bool:
    return rec.get("mode") == JUDGE_MODE


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.endswith("\n"):
                return  # a line cut short by a kill: not a result
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GlobmedError(f"{path}, line {n}: not a JSON result record ({exc})") from None
            yield upgrade_record(rec)  # old files' cloze records are the listed-options variant


class ResultStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[str] = set()
        if self.path.exists():
            self._repair()
            self.done = {r["key"] for r in iter_records(self.path)}

    def _repair(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)

    def append(self, records: Iterable[dict[str, Any]]) -> int:
        lines = []
        for rec in records:
            if rec["key"] in self.done:
                continue
            self.done.add(rec["key"])
            lines.append(json.dumps(rec, ensure_ascii=False) + "\n")
        if lines:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("".join(lines))
                fh.flush()
                os.fsync(fh.fileno())
        return len(lines)


def load_results(paths: Iterable[Path]) -> list[dict[str, Any]]:
    out = []
    for p in paths:
        out.extend(iter_records(Path(p)))
    return out
