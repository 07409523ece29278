"""File helpers shared by the upstream adapters of part A (medqa, medmcqa, headqa, pubmedqa,
bionli, mmlu_pro_health, globmed_hub).

Not an adapter (the leading underscore keeps it out of the registry import). Everything
here is format-generic: rows of JSON Lines, JSON arrays, CSV and Parquet files as
``(row_number, dict | Exception)`` pairs, so an adapter can reject one bad row and go on,
and the upstream split named by a file (``train``, ``dev``, ``validation``, ``test``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from globmed.errors import GlobmedError
from globmed.sources._rows import RowError
from globmed.sources.base import (
    EMPTY_FILE,
    JsonlShard,
    iter_csv,
    iter_jsonl,
    iter_jsonl_shard,
    jsonl_shards,
    load_json,
)

SPLIT_WORDS: dict[str, str] = {
    "train": "train",
    "training": "train",
    "dev": "validation",
    "valid": "validation",
    "validation": "validation",
    "val": "validation",
    "test": "test",
}
"""Upstream split names (as they appear in file names) -> GlobMed split names."""

_TOKEN = re.compile(r"[A-Za-z]+")


def split_from_name(name: str) -> str | None:
    """The split a file name names: ``phrases_no_exclude_dev.jsonl`` -> ``validation``,
    ``train_HEAD_EN.json`` -> ``train``, ``test-00000-of-00001.parquet`` -> ``test``;
    ``None`` when it names none (``US_qbank.jsonl``)."""
    stem = Path(name).name.split(".")[0]
    found = {SPLIT_WORDS[t.lower()] for t in _TOKEN.findall(stem) if t.lower() in SPLIT_WORDS}
    return found.pop() if len(found) == 1 else None


def iter_parquet(path: Path) -> Iterator[tuple[int, Any]]:
    """Rows of a Parquet file as dicts, numbered from 1."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # a broken file is the user's to fix: name it
        raise GlobmedError(f"cannot read {path} as Parquet: {_one_line(exc)}") from None
    if not table.num_rows:
        yield None, ValueError(EMPTY_FILE)
    yield from enumerate(parquet_rows(table, path), 1)


def parquet_rows(table: Any, path: Path) -> list[dict[str, Any]]:
    """``table.to_pylist()``; a string cell that is not UTF-8 (Parquet does not check) is an error
    naming the file and the column, not a ``UnicodeDecodeError``."""
    try:
        return table.to_pylist()
    except UnicodeDecodeError:
        bad = next((name for name in table.column_names if _undecodable_column(table.column(name))), "?")
        raise GlobmedError(f"{path}: column {bad} holds text that is not valid UTF-8") from None


def _undecodable_column(column: Any) -> bool:
    try:
        column.to_pylist()
    except UnicodeDecodeError:
        return True
    return False


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def is_json_lines(path: Path) -> bool:
    """Whether a ``.json`` file is JSON Lines: its first line is a JSON value by itself and another follows."""
    try:
        with open(path, "rb") as fh:
            lines = (line for line in fh if line.strip())
            first, more = next(lines, b""), next(lines, None)
    except OSError as exc:
        raise GlobmedError(f"cannot read {path}: {exc.strerror}") from None
    if more is None:
        return False
    try:
        json.loads(first.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except ValueError:  # UnicodeDecodeError too: not JSON Lines by this test; the reader names the problem
        return False
    return True


def iter_json_records(path: Path) -> Iterator[tuple[int | str | None, Any]]:
    """A ``.json`` file that is one JSON array of records (row = index + 1), one object of records
    keyed by id, PubMedQA style (row = the key), or JSON Lines under a ``.json`` name (row = line
    number, as MedMCQA's ``train.json``): JSON Lines when its first line is a JSON value by itself.
    A document that is not UTF-8 or not JSON (cut short) is an error naming the file and the line;
    an empty array or object yields the one file-level ``(None, ValueError(EMPTY_FILE))`` row."""
    if is_json_lines(path):
        yield from iter_jsonl(path)
        return
    data = load_json(path)
    if isinstance(data, list | dict) and not data:
        yield None, ValueError(EMPTY_FILE)
    elif isinstance(data, list):
        yield from enumerate(data, 1)
    elif isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        yield from data.items()
    elif isinstance(data, dict):
        yield 1, data
    else:
        raise GlobmedError(f"{path}: expected JSON records (an array, an object keyed by id, or JSON Lines)")


def iter_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """Rows of any record file by its suffix: .jsonl, .json (array or lines), .csv, .tsv, .parquet."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from iter_jsonl(path)
    elif suffix == ".json":
        yield from iter_json_records(path)
    elif suffix == ".csv":
        yield from iter_csv(path, bad_rows=True)
    elif suffix == ".tsv":
        yield from iter_csv(path, bad_rows=True, delimiter="\t")
    elif suffix == ".parquet":
        yield from iter_parquet(path)
    else:
        raise GlobmedError(f"{path}: unsupported file type {suffix!r} (expected .jsonl, .json, .csv, .tsv, .parquet)")


def columns_of(path: Path) -> list[str] | None:
    """The column names of a table file (a CSV/TSV header, a Parquet schema); ``None`` for JSON,
    whose records each carry their own keys, and for a file without a header (an empty one)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        import csv

        with open(path, encoding="utf-8-sig", newline="", errors="surrogateescape") as fh:
            try:
                return next(csv.reader(fh, delimiter="\t" if suffix == ".tsv" else ","), None)
            except csv.Error:
                return None  # the reader names the problem with its line
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception:  # unreadable: the reader names the file
            return None
    return None


def require_columns(path: Path, required: Iterable[str | tuple[str, ...]]) -> None:
    """One error naming the file and the column when a table file lacks a required column (a tuple:
    one of these alternatives), instead of one reject per row. JSON files are not checked here."""
    columns = columns_of(path)
    if columns is None:
        return
    for need in required:
        options = (need,) if isinstance(need, str) else need
        if not any(o in columns for o in options):
            raise GlobmedError(f"{path}: missing column {' or '.join(options)} "
                               f"(the file has {', '.join(columns) or 'none'})")


PART_BYTES = 4 << 20
"""About how much of a JSON Lines file one part holds (see :func:`row_parts`)."""
PART_ROWS = 20_000
"""About how many Parquet rows one part holds (whole row groups)."""


@dataclass(frozen=True)
class RowPart:
    """A part of a record file that a build worker reads on its own: a byte range of JSON Lines
    (``lines``), some Parquet row groups (``row_groups``, the first numbered ``first_row``), or the
    whole file (neither)."""

    path: Path
    lines: JsonlShard | None = None
    row_groups: tuple[int, ...] = ()
    first_row: int = 1


def row_parts(path: Path, part_bytes: int = PART_BYTES, part_rows: int = PART_ROWS) -> list[RowPart]:
    """Cut a record file into parts such that :func:`iter_row_part` over them, in order, yields
    exactly what :func:`iter_rows` yields (same rows, same numbers, same errors). JSON Lines (also
    under a ``.json`` name) is cut at line ends every ``part_bytes``, Parquet at row-group ends every
    ``part_rows``; any other file (a JSON array, CSV) is one part."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl" or (suffix == ".json" and is_json_lines(path)):
        return [RowPart(path, lines=shard) for shard in jsonl_shards(path, part_bytes)]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path).metadata
        except Exception:  # unreadable: the one whole-file part raises the error that names it
            return [RowPart(path)]
        parts: list[RowPart] = []
        groups: list[int] = []
        first = size = 0
        for group in range(meta.num_row_groups):
            groups.append(group)
            size += meta.row_group(group).num_rows
            if size >= part_rows or group == meta.num_row_groups - 1:
                parts.append(RowPart(path, row_groups=tuple(groups), first_row=first + 1))
                first, groups, size = first + size, [], 0
        return parts or [RowPart(path)]
    return [RowPart(path)]


def iter_row_part(part: RowPart) -> Iterator[tuple[int | str, Any]]:
    """The ``(row number, row)`` pairs of one of :func:`row_parts`' parts."""
    if part.lines is not None:
        yield from iter_jsonl_shard(part.lines)
    elif part.row_groups:
        import pyarrow.parquet as pq

        try:
            table = pq.ParquetFile(part.path).read_row_groups(list(part.row_groups))
        except Exception as exc:
            raise GlobmedError(f"cannot read {part.path} as Parquet: {_one_line(exc)}") from None
        if not table.num_rows and part.first_row == 1:
            yield None, ValueError(EMPTY_FILE)
        yield from enumerate(parquet_rows(table, part.path), part.first_row)
    else:
        yield from iter_rows(part.path)


def files_under(root: Path, suffixes: Iterable[str]) -> list[Path]:
    """``root`` itself when it is a file, else every file under it with one of ``suffixes``, sorted."""
    wanted = {s.lower() for s in suffixes}
    return matching_files(root, "*", lambda p: p.is_file() and p.suffix.lower() in wanted)


def matching_files(root: Path, pattern: str, keep: Callable[[Path], bool] = lambda p: True) -> list[Path]:
    """``root`` itself when it is a file, else the files under it matching the glob ``pattern``
    that ``keep`` accepts, sorted."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob(pattern) if keep(p))


def text(value: Any, name: str = "") -> str:
    """A cell as stripped text; ``None`` and NaN become ``""``, numbers their digits. A list, an
    object or a boolean is not text: :class:`RowError` naming the field (``name``), so a JSON list
    is rejected rather than published as the string ``"['a', 'list']"``."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from pandas-made files
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise RowError(f"{name or 'a field'} must be text, got {type(value).__name__} {shown}")
    return str(value).strip()


def download_archive(source: str, url: str, filename: str) -> Path:
    """Download a zip archive once (``fetch.url_download``) and extract it beside itself;
    returns the extracted folder. Offline, the error tells which path to pass instead."""
    import shutil
    import zipfile

    from globmed.sources.fetch import url_download

    archive = url_download(source, url, filename)
    target = archive.with_name(archive.name.removesuffix(".zip") + ".d")
    if target.is_dir():
        return target
    tmp = target.with_name(target.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
    except (zipfile.BadZipFile, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise GlobmedError(f"source {source!r}: {archive} is not a readable zip archive ({exc}); "
                           f"delete it and retry, or pass --source {source}=PATH") from None
    tmp.rename(target)
    return target
