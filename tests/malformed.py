"""Helpers of tests/test_malformed_inputs.py: break one upstream file of a source's fixture in one
of six ways (invalid UTF-8, cut short, emptied, a field of the wrong type, a column/key removed, a
huge field), in the file's own format, and run ``globmed build`` on it in the test process."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from globmed.cli import main

HUGE = "x" * (1 << 20)  # a 1 MB field: over quality.yaml's limits, and over csv's default 128 KiB cell limit
ONLY_LIMITS = [arg for step in ("normalise", "language_id", "task_rules", "translation_rules", "exact_dedup",
                                "near_dedup", "decontamination") for arg in ("--skip-quality-step", step)]
"""Quality on with field_limits alone: fast, and the size limits apply."""

Record = dict[str, Any]


@dataclass(frozen=True)
class Spec:
    """Where to break a source: ``file`` (under its fixture folder), the key that holds its question
    text (``huge``), a key to give the wrong type and the reason expected (``wrong``), and a key to
    remove with the outcome expected (``missing``)."""

    file: str
    huge: str
    wrong: tuple[str, str] | None
    missing: tuple[str, str]
    fmt: str = ""
    """``jsonl``, ``json``, ``headqa``, ``csv``, ``parquet``, ``xml``; default from the suffix."""

    @property
    def format(self) -> str:
        return self.fmt or {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet",
                            ".xml": "xml"}[Path(self.file).suffix]


# --------------------------------------------------------------------------- record rewriting

def rewrite_records(path: Path, fmt: str, change: Callable[[Record], None]) -> None:
    """Apply ``change`` to every record of ``path`` and write it back in the same format."""
    if fmt == "jsonl":
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for rec in lines:
            change(rec)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    elif fmt in ("json", "headqa"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if fmt == "headqa":
            records = [q for exam in doc["exams"].values() for q in exam["data"]]
        else:
            records = doc if isinstance(doc, list) else list(doc.values())
        for rec in records:
            change(rec)
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    elif fmt == "csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        for row in rows:
            change(row)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8")
    elif fmt == "parquet":
        rows = pq.read_table(path).to_pylist()
        for row in rows:
            change(row)
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        raise ValueError(fmt)


def invalid_utf8(path: Path, spec: Spec) -> None:
    if spec.format == "parquet":  # a string column holding bytes that are not UTF-8 (Parquet does not check)
        table = pq.read_table(path)
        values = [v.encode("utf-8") + b"\xff\xfe" if isinstance(v, str) else v
                  for v in table.column(spec.huge).to_pylist()]
        binary = pa.array(values, pa.binary())
        bad = pa.Array.from_buffers(pa.string(), len(binary), binary.buffers())
        pq.write_table(table.set_column(table.column_names.index(spec.huge), spec.huge, bad), path)
        return
    data = path.read_bytes()
    cut = data.find(b"\n") + 1 or len(data) // 2  # the start of the second line: a data row, or JSON structure
    path.write_bytes(data[:cut] + b"\xff\xfe" + data[cut:])


def truncated(path: Path, spec: Spec) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def emptied(path: Path, spec: Spec) -> None:
    if spec.format == "parquet":  # a valid Parquet file without rows
        table = pq.read_table(path)
        pq.write_table(table.slice(0, 0), path)
    else:
        path.write_bytes(b"")


def wrong_type(path: Path, spec: Spec) -> None:
    assert spec.wrong is not None
    key = spec.wrong[0]
    value: Any = '["a", "list"]' if spec.format == "csv" else ["a", "list"]
    rewrite_records(path, spec.format, lambda rec: rec.__setitem__(key, value))


def missing_column(path: Path, spec: Spec) -> None:
    key = spec.missing[0]
    if spec.format == "xml":  # drop every element of that name
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(rf"<{key}\b.*?</{key}>", "", text, flags=re.S), encoding="utf-8")
        return
    rewrite_records(path, spec.format, lambda rec: rec.pop(key, None))


def huge_field(path: Path, spec: Spec) -> None:
    if spec.format == "xml":
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(rf"(<{spec.huge}>).*?(</{spec.huge}>)", lambda m: m[1] + HUGE + m[2], text,
                               count=1, flags=re.S), encoding="utf-8")
        return
    first = [True]

    def change(rec: Record) -> None:
        if first[0] and spec.huge in rec:
            rec[spec.huge] = HUGE
            first[0] = False

    rewrite_records(path, spec.format, change)


CASES: dict[str, tuple[Callable[[Path, Spec], None], str]] = {
    # case -> (how to break the file, what the error or reject must say)
    "invalid_utf8": (invalid_utf8, r"UTF-8|not well-formed"),
    "truncated": (truncated, r"not valid JSON|cut short|cells but the header|not valid CSV|not well-formed|UTF-8|"
                             r"Parquet|no element"),
    "empty": (emptied, r"empty file|no rows|no element found"),
    "wrong_types": (wrong_type, ""),    # the spec's own pattern
    "missing_column": (missing_column, ""),
    "huge_field": (huge_field, r"over the limit"),
}


# --------------------------------------------------------------------------- running a build

@dataclass
class Outcome:
    rc: int
    stderr: str
    stdout: str
    rejects: list[dict[str, Any]]


def copy_fixture(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def build(name: str, path: Path, out: Path, capsys: Any, *extra: str) -> Outcome:
    """``globmed build`` in this process (an unexpected exception fails the test with its traceback)."""
    capsys.readouterr()
    rc = main(["build", "--profile", "extended", "--source", f"{name}={path}", "--out", str(out),
               "--no-progress", "--workers", "1", *ONLY_LIMITS, *extra])
    captured = capsys.readouterr()
    err = captured.err
    rejects_file = out / "rejects.jsonl"
    rejects = ([json.loads(line) for line in rejects_file.read_text(encoding="utf-8").splitlines()]
               if rc == 0 and rejects_file.exists() else [])
    return Outcome(rc, err, captured.out, rejects)


def error_line(outcome: Outcome) -> str:
    """The one-line error of a failed build (logging lines aside); never a traceback."""
    assert "Traceback" not in outcome.stderr, outcome.stderr
    lines = [line for line in outcome.stderr.splitlines() if line.startswith("globmed build: error:")]
    assert len(lines) == 1, outcome.stderr
    assert outcome.stderr.rstrip().endswith(lines[0]), outcome.stderr  # nothing after it
    return lines[0]
