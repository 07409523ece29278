"""The adapter interface every upstream source implements, and the source registry.

A source reads its upstream files (in the format its authors released) and yields
:class:`~globmed.schema.Entry` objects, or :class:`Reject` records for rows it cannot
map. Licence, citation, homepage and version live in ``sources.yaml`` beside this
module, the one place the dataset card and the release gates read them from.
"""

from __future__ import annotations

import csv
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml

from globmed.errors import GlobmedError, UnknownNameError
from globmed.schema import Entry


@dataclass(frozen=True)
class Reject:
    """A row that did not become an entry: where it was and why."""

    source: str
    file: str
    row: str | None
    reason: str
    id: str | None = None
    lang: str | None = None
    step: str = "read"
    """The stage that rejected it: ``read`` (the adapter), ``validate``, or a quality step's name."""
    expected: bool = False
    """A documented gap of the upstream release (answers withheld from a public test set, an item
    that needs a missing image): recorded like any reject, but not a failure under ``--strict``."""

    def to_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict``'s dict (the fields in order), without its deep copy of plain values."""
        return {"source": self.source, "file": self.file, "row": self.row, "reason": self.reason, "id": self.id,
                "lang": self.lang, "step": self.step, "expected": self.expected}

    @property
    def where(self) -> str:
        return f"{self.file}, row {self.row}" if self.row is not None else self.file


@dataclass(frozen=True)
class SourceInfo:
    """Metadata of one source, from ``sources.yaml``."""

    name: str
    title: str
    license: str
    """Hugging Face licence identifier (``cc-by-4.0``, ``mit``, ``apache-2.0``, ``other``...)."""
    redistributable: bool
    homepage: str
    version: str
    citation: str
    demo: bool = False
    license_note: str = ""


@cache
def _metadata() -> dict[str, dict[str, Any]]:
    text = resources.files("globmed.sources").joinpath("sources.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


@cache
def source_info(name: str) -> SourceInfo:
    data = _metadata()
    if name not in data:
        raise UnknownNameError("source metadata", name, data)
    block = data[name]
    return SourceInfo(
        name=name,
        title=str(block["title"]),
        license=str(block["license"]),
        redistributable=bool(block["redistributable"]),
        homepage=str(block["homepage"]),
        version=str(block["version"]),
        citation=str(block["citation"]).strip(),
        demo=bool(block.get("demo", False)),
        license_note=str(block.get("license_note", "")).strip(),
    )


class Source(ABC):
    """One upstream dataset. Subclasses set the class attributes and implement :meth:`read`."""

    name: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]]
    languages: ClassVar[tuple[str, ...]]
    expected_files: ClassVar[str]
    """What ``--source NAME=PATH`` should point at, in words (shown by ``globmed sources``)."""

    @property
    def info(self) -> SourceInfo:
        return source_info(self.name)

    @property
    def license(self) -> str:
        return self.info.license

    def default_path(self) -> Path | None:
        """Where to read from when no path is given; ``None`` if the source needs one."""
        return None

    @abstractmethod
    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        """Yield entries (and rejects) from ``path``. ``langs`` is a hint: entries of
        other languages may still be yielded; the build drops them."""

    def shards(self, path: Path | None = None, langs: Collection[str] | None = None) -> list[Any]:
        """Independent parts of :meth:`read` that worker processes may read in parallel: picklable
        descriptors such that ``read_shard`` over them, in order, yields exactly what ``read`` yields.
        The default is one shard, the whole read."""
        return [None]

    def read_shard(self, path: Path | None, langs: Collection[str] | None, shard: Any) -> Iterator[Entry | Reject]:
        """The items of one of :meth:`shards`' parts (the default: the whole read)."""
        return self.read(path, langs)

    # helpers for subclasses -----------------------------------------------------------

    def reject(self, file: str | Path, row: int | str | None, reason: str, **kw: Any) -> Reject:
        return Reject(self.name, str(file), None if row is None else str(row), reason, **kw)

    def resolve_path(self, path: Path | None) -> Path:
        path = path if path is not None else self.default_path()
        if path is None:
            raise GlobmedError(
                f"source {self.name!r} needs a path: --source {self.name}=PATH ({self.expected_files})"
            )
        path = Path(path)
        if not path.exists():
            raise GlobmedError(f"source {self.name!r}: {path} does not exist ({self.expected_files})")
        return path


_REGISTRY: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    """Class decorator: make a source available by its ``name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"two sources are registered as {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def available_sources() -> dict[str, type[Source]]:
    import globmed.sources  # noqa: F401  (imports every adapter module, which registers it)

    return dict(sorted(_REGISTRY.items()))


def get_source(name: str) -> Source:
    sources = available_sources()
    if name not in sources:
        raise UnknownNameError("source", name, sources)
    return sources[name]()


class ReadInParts:
    """For a :class:`Source` that defines ``shards`` and ``read_shard`` (put it first among the
    bases): ``read`` is every shard's items, in order, so the two can never disagree."""

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        for shard in self.shards(path, langs):  # type: ignore[attr-defined]
            yield from self.read_shard(path, langs, shard)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SourceSpec:
    """``NAME`` or ``NAME=PATH`` from the command line."""

    name: str
    path: Path | None = None

    @classmethod
    def parse(cls, text: str) -> SourceSpec:
        name, sep, path = text.partition("=")
        name = name.strip()
        if not name or (sep and not path.strip()):
            raise GlobmedError(f"--source {text!r}: expected NAME or NAME=PATH")
        return cls(name, Path(path.strip()) if sep else None)


# --------------------------------------------------------------------------- file readers
# Each yields (row_number, parsed_or_exception) so adapters can reject a bad row and go on.


EMPTY_FILE = "empty file: no rows"
"""The reason of the one file-level row (numbered ``None``) the readers yield for a file without rows."""


def _json_line(line: bytes) -> Any:
    """One JSON Lines line as a value, or the ``ValueError`` that says what is wrong with it."""
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ValueError(f"not valid UTF-8 (byte {exc.start + 1} of the line)")
    try:
        return json.loads(decoded)
    except ValueError as exc:
        return ValueError(f"not valid JSON: {exc}")


_scan_json_value = json.JSONDecoder().scan_once
"""``(value, end)`` of the JSON value at an index of a string, by json.loads' own decoder settings."""


def iter_jsonl(path: Path) -> Iterator[tuple[int | None, Any]]:
    """1-based line numbers; a line that is not UTF-8 or not JSON yields the ``ValueError``. Blank
    lines are skipped; a file with no line at all yields one ``(None, ValueError(EMPTY_FILE))``.
    Read in parts of a few MB (:func:`jsonl_shards`), each decoded at once."""
    for shard in jsonl_shards(path):
        yield from iter_jsonl_shard(shard)


@dataclass(frozen=True)
class JsonlShard:
    """Lines ``first_line``... of ``path``, the bytes ``start`` to ``end`` (whole lines)."""

    path: Path
    start: int
    end: int
    first_line: int


def jsonl_shards(path: Path, target_bytes: int = 4 << 20) -> list[JsonlShard]:
    """Cut a JSON Lines file into parts of about ``target_bytes`` at line ends, with the line number
    each part starts at, so that :func:`iter_jsonl_shard` over them equals :func:`iter_jsonl`."""
    try:
        mapped = _mapped_shards(Path(path), target_bytes)
    except (OSError, ValueError):  # (a file that cannot be mapped: read in parts below)
        mapped = None
    if mapped is not None:
        return mapped
    shards, start, line = [], 0, 1
    try:
        with open(path, "rb") as fh:
            while True:
                fh.seek(start + target_bytes)
                rest = fh.readline()  # up to the end of the line the cut falls in
                end = min(start + target_bytes + len(rest), os.fstat(fh.fileno()).st_size)
                if end <= start:
                    break
                fh.seek(start)
                chunk = fh.read(end - start)
                shards.append(JsonlShard(Path(path), start, end, line))
                line += chunk.count(b"\n")
                start = end
    except OSError as exc:
        raise GlobmedError(f"cannot read {path}: {exc.strerror}") from None
    return shards or [JsonlShard(Path(path), 0, 0, 1)]


def _mapped_shards(path: Path, target_bytes: int) -> list[JsonlShard] | None:
    """:func:`jsonl_shards` of a file mapped into memory: each cut found by one search, each part's lines
    counted by numpy without copying its bytes (a build cuts every file before its workers start: a
    third of the time of reading them in parts). None for an empty file."""
    import mmap

    import numpy as np

    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if not size:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            data = np.frombuffer(mm, np.uint8)
            try:
                shards, start, line = [], 0, 1
                while start < size:
                    cut = mm.find(b"\n", start + target_bytes)  # the end of the line the cut falls in
                    end = size if cut < 0 else cut + 1
                    shards.append(JsonlShard(path, start, end, line))
                    line += int(np.count_nonzero(data[start:end] == 10))
                    start = end
            finally:
                del data  # (no view of the mapping may outlive it)
    return shards


def iter_jsonl_shard(shard: JsonlShard) -> Iterator[tuple[int | None, Any]]:
    """:func:`iter_jsonl` over one part of a file (see :func:`jsonl_shards`); the part of an empty
    file yields the one ``(None, ValueError(EMPTY_FILE))`` row."""
    try:
        with open(shard.path, "rb") as fh:
            fh.seek(shard.start)
            data = fh.read(shard.end - shard.start)
    except OSError as exc:
        raise GlobmedError(f"cannot read {shard.path}: {exc.strerror}") from None
    if shard.start == 0 and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if shard.start == 0 and shard.end == 0:
        yield None, ValueError(EMPTY_FILE)
        return
    try:  # the whole part at once (fast); else line by line, so the broken line alone is a bad row
        lines: list[str] | list[bytes] = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = data.split(b"\n")
    scan = _scan_json_value
    for lineno, line in enumerate(lines, shard.first_line):
        if not line.strip():
            continue
        if isinstance(line, bytes):
            yield lineno, _json_line(line)
            continue
        # json.loads(line) without its wrapper: one value from the first character to the last is what
        # json.loads returns for the line; anything else (whitespace around the value, extra or no data,
        # an error) goes to json.loads itself, for its exact value or message
        try:
            value, end = scan(line, 0)
        except (StopIteration, ValueError):
            end = -1
        if end != len(line):
            try:
                value = json.loads(line)
            except ValueError as exc:
                yield lineno, ValueError(f"not valid JSON: {exc}")
                continue
        yield lineno, value


def read_text(path: Path) -> str:
    """A whole text file as UTF-8 (a leading BOM dropped); bytes that are not UTF-8 are a user error
    naming the file, the line and the byte."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise GlobmedError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise GlobmedError(f"{path}, line {line}: not valid UTF-8 (byte {exc.start + 1} of the file)") from None


def load_json(path: Path) -> Any:
    """A whole JSON document; a broken file (not UTF-8, empty, cut short, not JSON) is a user error
    naming the file and where in it the problem is."""
    content = read_text(path)
    if not content.strip():
        raise GlobmedError(f"{path}: empty file (expected a JSON document)")
    try:
        return json.loads(content)
    except json.JSONDecodeError as exc:
        ended = exc.pos >= len(content.rstrip()) or exc.msg.startswith("Unterminated string")  # ran into the end
        cut = " (the file ends early: cut short?)" if ended else ""
        raise GlobmedError(f"{path}, line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}{cut}") from None


_CSV_FIELD_LIMIT = 1 << 30
"""The csv module's field limit (default 128 KiB) raised so that a huge cell is read, then judged by
the quality step's size limits (``limits:`` in quality.yaml) with a reason, instead of a crash."""


def iter_csv(path: Path, *, required: Collection[str] = (), bad_rows: bool = False,
             **kwargs: Any) -> Iterator[tuple[int | None, Any]]:
    """Rows of a CSV/TSV file as dicts; the row number counts the header as row 1 (errors also name
    the row's line: a quoted cell may span lines). ``required``: columns the header must have, else
    one error naming the file and the columns. A row that is not UTF-8, or has more or fewer cells than the header, is an error naming
    the file and the line, and so is a file without rows; with ``bad_rows`` each is yielded as a
    ``ValueError`` instead (the adapter rejects it and goes on), the empty file as the one file-level
    row ``(None, ValueError(EMPTY_FILE))``."""
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    fh = open_text(path, newline="", errors="surrogateescape")
    with fh:
        reader = csv.reader(fh, **kwargs)
        try:
            header = next(reader, None)
            if header is None:
                if bad_rows and not required:
                    yield None, ValueError(EMPTY_FILE)
                    return
                raise GlobmedError(f"{path}: empty file (expected a header row{': ' if required else ''}"
                                   f"{', '.join(required)})")
            if any(_has_undecodable(c) for c in header):
                raise GlobmedError(f"{path}, line 1: the header is not valid UTF-8")
            missing = [c for c in required if c not in header]
            if missing:
                raise GlobmedError(f"{path}: missing column(s) {', '.join(missing)} "
                                   f"(the header has {', '.join(header) or 'none'})")
            rowno = 1
            while True:
                start = reader.line_num + 1
                cells = next(reader, None)
                if cells is None:
                    break
                if not cells:
                    continue
                rowno += 1
                problem = _csv_problem(cells, len(header))
                if problem is None:
                    yield rowno, dict(zip(header, cells, strict=True))
                elif bad_rows:
                    yield rowno, ValueError(f"{problem} (line {start})")
                else:
                    raise GlobmedError(f"{path}, row {rowno} (line {start}): {problem}")
            if rowno == 1 and bad_rows:
                yield None, ValueError(EMPTY_FILE)
            elif rowno == 1:
                raise GlobmedError(f"{path}: {EMPTY_FILE} (a header only)")
        except csv.Error as exc:
            raise GlobmedError(f"{path}, line {reader.line_num}: not valid CSV: {exc}") from None


def _csv_problem(cells: list[str], width: int) -> str | None:
    if any(_has_undecodable(c) for c in cells):
        return "not valid UTF-8"
    if len(cells) != width:
        return f"{len(cells)} cells but the header has {width} columns (a cut-short or broken row?)"
    return None


_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _has_undecodable(value: str) -> bool:
    """Whether text read with ``errors="surrogateescape"`` held bytes that are not UTF-8."""
    return _UNDECODABLE.search(value) is not None


def open_text(path: Path, newline: str | None = None, errors: str = "strict"):
    try:
        return open(path, encoding="utf-8-sig", newline=newline, errors=errors)
    except OSError as exc:
        raise GlobmedError(f"cannot read {path}: {exc.strerror}") from None
