"""``globmed sources inspect NAME=PATH``: does an adapter's mapping fit these files?

For any adapter: read the path exactly as a build would (``Source.read``), keep the first ``rows``
entries, find each one's upstream row again by its ``upstream_file`` / ``upstream_row`` with the
generic record readers, and show the raw fields found, the entry they became, and the raw fields
the mapping did not use. A field counts as used when the adapter declares it (``mapped_fields``,
a class attribute of dotted field names) or when its value appears in the entry; the report says
which. No entry in what was read is an error that lists the rejects' reasons (a file-level
reject says why a file could not be placed).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from globmed.errors import GlobmedError
from globmed.schema import Entry
from globmed.sources.base import Reject, Source, get_source

SCAN_LIMIT = 5000
"""Items (entries and rejects) read at most while looking for the first entries."""
RAW_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")


@dataclass
class Inspected:
    """One entry with the raw row it came from."""

    entry: Entry
    raw: dict[str, Any] | None
    """The upstream row flattened to dotted field names, ``None`` when it cannot be re-read."""
    used: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    note: str = ""
    declared: bool = False
    """Whether the adapter declares its ``mapped_fields`` (else "used" is judged by value only)."""


@dataclass
class Inspection:
    source: str
    path: Path
    items: list[Inspected]
    read: int
    rejects: Counter
    file_rejects: list[Reject]


def flatten(row: Any, prefix: str = "") -> dict[str, Any]:
    """``{"metadata": {"field": x}}`` -> ``{"metadata.field": x}``; lists and scalars are leaves."""
    if not isinstance(row, dict):
        return {prefix or "(value)": row}
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def raw_row(file: str | None, row: str | None) -> tuple[dict[str, Any] | None, str]:
    """The upstream row ``row`` of ``file`` (as the adapters number them), flattened; or ``None`` and why."""
    if not file or row is None:
        return None, "the entry names no upstream row"
    path = Path(file)
    if path.suffix.lower() not in RAW_SUFFIXES:
        return None, f"raw rows of {path.suffix or 'suffix-less'} files are not shown"
    from globmed.sources._files import iter_rows

    try:
        for number, value in iter_rows(path):
            if str(number) == row:
                return flatten(value), ""
    except (GlobmedError, OSError, ValueError) as exc:
        return None, f"cannot re-read {path}: {exc}"
    return None, f"row {row} not found again in {path} (the adapter numbers its rows its own way)"


def _texts(entry: Entry) -> list[str]:
    out = [entry.question, entry.context, entry.explanation, entry.id, *entry.options, *entry.answer]
    return [t for t in out if t]


def _appears(value: Any, texts: list[str]) -> bool:
    if value is None or isinstance(value, bool) or isinstance(value, (list, dict)):
        values = value if isinstance(value, list) else []
        return any(_appears(v, texts) for v in values)
    text = " ".join(str(value).split())
    if not text:
        return False
    return any(text == t or (len(text) >= 4 and text in " ".join(t.split())) for t in texts)


def declared_fields(source: Source, entry: Entry) -> tuple[str, ...]:
    """Fields the adapter says it maps (``mapped_fields``); for ``globmed_hub`` rows, their original's."""
    extra: tuple[str, ...] = ()
    if source.name == "globmed_hub":
        extra = ("translation_system",)
        try:
            source = get_source(entry.id.split("/")[2])
        except (GlobmedError, IndexError):
            return ()
    declared = tuple(getattr(source, "mapped_fields", ()))
    return (*declared, *extra) if declared else ()


def _matches(name: str, declared: tuple[str, ...]) -> bool:
    # "options" covers "options.A"; "answers.*.revised_answer_string" covers any system
    return any(name == d or name.startswith(d + ".") or _wild(name, d) for d in declared)


def _wild(name: str, pattern: str) -> bool:
    parts, wanted = name.split("."), pattern.split(".")
    return "*" in wanted and len(parts) >= len(wanted) and all(w in ("*", p) for w, p in zip(wanted, parts, strict=False))


def inspect_source(name: str, path: Path | None, rows: int = 3) -> Inspection:
    source = get_source(name)
    if rows < 1:
        raise GlobmedError(f"--rows {rows}: must be at least 1")
    items: list[Inspected] = []
    rejects: Counter = Counter()
    file_rejects: list[Reject] = []
    read = 0
    for item in itertools.islice(source.read(path), SCAN_LIMIT):
        read += 1
        if isinstance(item, Reject):
            rejects[item.reason] += 1
            if item.row is None:
                file_rejects.append(item)
            continue
        raw, note = raw_row(item.upstream_file, item.upstream_row)
        found = Inspected(item, raw, note=note)
        if raw is not None:
            declared, texts = declared_fields(source, item), _texts(item)
            found.declared = bool(declared)
            for key, value in raw.items():
                (found.used if _matches(key, declared) or _appears(value, texts) else found.unused).append(key)
        items.append(found)
        if len(items) >= rows:
            break
    if not items:
        reasons = "; ".join(f"{n} x {r}" for r, n in rejects.most_common(5)) or "nothing was read"
        raise GlobmedError(f"source {name!r} at {path}: no entry in the first {read} items read ({reasons})")
    return Inspection(name, path or Path("(default)"), items, read, rejects, file_rejects)


def _short(value: Any, width: int = 100) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_inspection(result: Inspection) -> str:
    lines = [f"source {result.source}, {result.path}: the first {len(result.items)} entries "
             f"({result.read} items read, {sum(result.rejects.values())} rejects among them)"]
    for r in result.file_rejects:
        lines.append(f"  file not read: {r.file}: {r.reason}")
    never_used: dict[str, None] = {}
    for n, found in enumerate(result.items, 1):
        e = found.entry
        lines += ["", f"entry {n}: {e.id}  ({e.where})"]
        if found.raw is None:
            lines.append(f"  raw fields: not shown ({found.note})")
        else:
            lines.append(f"  raw fields found ({len(found.raw)}): {', '.join(found.raw)}")
        lines.append("  maps to:")
        mapped = [("task", e.task), ("lang", e.lang), ("split", e.upstream_split), ("question", e.question),
                  ("context", e.context), ("options", " | ".join(e.options)), ("answer", e.answer),
                  ("answer_text", e.answer_text), ("explanation", e.explanation), ("license", e.license),
                  ("translation", e.translation)]
        lines += [f"    {key:<12} {_short(value)}" for key, value in mapped if value not in ("", None, [])]
        if found.raw is not None:
            how = "" if found.declared else " (judged by value: the adapter declares no mapped_fields)"
            lines.append(f"  fields not used{how}: {', '.join(found.unused) or '(none)'}")
            never_used.update(dict.fromkeys(found.unused))
    seen_used = {k for f in result.items for k in f.used}
    unused = [k for k in never_used if k not in seen_used]
    lines += ["", f"fields not used in any of these rows: {', '.join(unused) or '(none)'}"]
    lines.append("(used = declared by the adapter, or its value appears in the entry)")
    if result.rejects:
        lines.append("rejects among the items read: " + "; ".join(f"{n} x {r}" for r, n in result.rejects.most_common(5)))
    return "\n".join(lines)
