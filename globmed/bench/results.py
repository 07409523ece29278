"""Append-only per-item results (JSON Lines), keyed so that an interrupted run resumes.

One file per model: ``<out>/results/<model>.jsonl``. A record's key is
``<mode>|k<shots>|<item id>`` (a judge verdict's: ``judge|<mode>|<judge>|k<shots>|<item id>``);
finished keys are skipped on the next run. Records are appended and flushed chunk by chunk; a line
cut short by a kill is dropped (the file is truncated back to its last complete line) before
appending again, so no item is ever counted twice or half.

One bench at a time writes to an output folder: :func:`bench_lock` takes an advisory lock
(``fcntl.flock``) on ``<out>/.globmed-bench.lock`` for the whole run, and a second bench on the same
``--out`` stops at once with a message naming the first one's pid (waiting could mean hours).
Readers still de-duplicate: a record whose (model, key) was already read is skipped, the first one
wins (it is the one the resume logic and every earlier report saw; a later copy comes from a
concurrent or copied-together file, never from a rescoring).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from globmed.bench.scoring import upgrade_record
from globmed.errors import GlobmedError

try:
    import fcntl
except ImportError:  # not on POSIX: no lock, readers still de-duplicate
    fcntl = None  # type: ignore[assignment]

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
            yield upgrade_record(rec)  # older files: their cloze records are the listed variant


def unique_records(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``records`` without repeats of a (model, key) pair: the first wins (see the module)."""
    seen: set[tuple[Any, Any]] = set()
    for rec in records:
        ident = (rec.get("model"), rec.get("key"))
        if ident[1] is not None:
            if ident in seen:
                continue
            seen.add(ident)
        yield rec


LOCK_FILE = ".globmed-bench.lock"


@contextlib.contextmanager
def bench_lock(out: Path) -> Iterator[Path]:
    """Hold the output folder ``out`` for one bench run (see the module); raises when another holds it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_FILE
    if fcntl is None:
        yield path
        return
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise GlobmedError(f"--out {out}: another globmed bench (pid {holder}) is writing its results there; "
                               "wait for it to finish, or use another --out") from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            yield path
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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
    """Every record of ``paths``, each (model, key) once (the first read wins)."""
    return list(unique_records(rec for p in paths for rec in iter_records(Path(p))))
