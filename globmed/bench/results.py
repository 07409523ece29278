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

from globmed.errors import GlobmedError

JUDGE_MODE = "judge"
"""Mode of the LLM-judge verdict records (:mod:`globmed.bench.judge`); they grade another mode's
open-QA answers and are not scores of a mode of their own."""


def model_slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def record_key(mode: str, shots: int, item_id: str) -> str:
    return f"{mode}|k{shots}|{item_id}"


def is_judge_record(rec: dict[str, Any]) -> bool:
    return rec.get("mode") == JUDGE_MODE


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """The result records of a results file. A line that is not UTF-8, not a JSON object, or has no
    string ``key`` is an error naming the file and the line (a hand-edited or foreign file), never a
    ``KeyError`` later; a last line cut short by a kill (no newline) is not a result and is skipped."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise GlobmedError(f"cannot read {path}: {exc.strerror}") from None
    with fh:
        for n, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                return  # a line cut short by a kill: not a result
            try:
                rec = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise GlobmedError(f"{path}, line {n}: not valid UTF-8 (byte {exc.start + 1} of the line)") from None
            except json.JSONDecodeError as exc:
                raise GlobmedError(f"{path}, line {n}: not a JSON result record ({exc})") from None
            if not isinstance(rec, dict):
                raise GlobmedError(f"{path}, line {n}: a result record must be a JSON object, got {type(rec).__name__}")
            key = rec.get("key")
            if isinstance(key, bool) or not isinstance(key, str | int) or key == "":
                raise GlobmedError(f"{path}, line {n}: result record without a \"key\" (<mode>|k<shots>|<item id>)")
            yield rec


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
