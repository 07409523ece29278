"""KorMedMCQA: Korean health-professional licensing exams (doctor, nurse, pharm, dentist), 2012-2024.

Format checked against the Hub dataset card and file tree of sean0042/KorMedMCQA (configs
``doctor``, ``nurse``, ``pharm``, ``dentist``; one folder per config holding
``<split>-*.parquet`` for the splits ``train``, ``dev``, ``test``, ``fewshot``; card fields
``subject``, ``year``, ``period``, ``q_number``, ``question``, ``A``..``E``, ``answer``,
``cot``, where "``answer``: Answer (1 to 5). 1 denotes answer A, and 5 denotes answer E").
The same columns are accepted from CSV files laid out the same way. The repository root also
keeps an older upload in ``data/``, whose files name subset and split together
(``data/doctor-train.csv``, ``<subset>-<split>`` or ``<subset>_<split>``); it is read only when no
``<subset>/`` folder exists (the same items: logged as not read).

Every ``.parquet`` / ``.csv`` found is placed: read, left out (``fewshot``, the older copy:
logged), or rejected at file level when its name names no split.

Mapping (deliberate):

- task ``mcq``; options are the columns ``A``..``E`` in order (empty trailing columns dropped;
  an empty column before a filled one is a reject).
- ``answer`` is **1-based**: 1 -> A ... 5 -> E. ``0``, values beyond the options, or
  non-integers are rejected (a 0-based file would be caught here, not silently shifted).
- The subset is the folder name (``doctor``/``nurse``/``pharm``/``dentist``), else the subset
  the file name names (``doctor-train.csv``), else the ``subject`` column. Splits: ``train`` / ``dev`` -> ``validation`` / ``test``. The
  ``fewshot`` split is five rows copied from ``dev`` per exam and is **not read** (it would
  duplicate items); its ``cot`` column is therefore not used, and ``explanation`` stays empty
  unless a row carries a non-empty ``cot``.
- id: ``<subset>-<year>-<period>-<q_number>`` when those are present, else
  ``<subset>-<split>-<row>``.

Licence: CC BY-NC 2.0 (dataset card): non-commercial, marked not redistributable.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.errors import GlobmedError
from globmed.schema import LETTERS, Entry
from globmed.sources._files import parquet_rows, text
from globmed.sources._placing import left_out
from globmed.sources._rows import RowError
from globmed.sources.base import EMPTY_FILE, Reject, Source, iter_csv, register
from globmed.sources.fetch import hub_snapshot

REPO = "sean0042/KorMedMCQA"
SUBSETS = ("doctor", "nurse", "pharm", "dentist")
SPLITS = {"train": "train", "dev": "validation", "validation": "validation", "test": "test"}
SKIPPED_SPLITS = ("fewshot",)
OPTION_COLUMNS = ("A", "B", "C", "D", "E")
REQUIRED = ("question", "A", "B", "answer")


SPLIT_TOKEN = re.compile(r"[A-Za-z]+")


def _split_of(file: Path) -> str | None:
    """The split a file name names: ``train-00000-of-00001.parquet``, ``test.csv``,
    ``doctor-train.csv``, ``doctor_dev.parquet``; ``None`` when it names none (or two)."""
    found = {t.lower() for t in SPLIT_TOKEN.findall(file.stem)} & {*SPLITS, *SKIPPED_SPLITS}
    return found.pop() if len(found) == 1 else None


def _subset_of(file: Path) -> str | None:
    """The exam: the folder name (``doctor/train-*.parquet``), else a name token (``data/doctor-train.csv``)."""
    if file.parent.name in SUBSETS:
        return file.parent.name
    found = {t.lower() for t in SPLIT_TOKEN.findall(file.stem)} & set(SUBSETS)
    return found.pop() if len(found) == 1 else None


def _rows(file: Path) -> Iterator[tuple[int | None, dict[str, Any] | Exception]]:
    """Rows as dicts, or an exception for a row (or, row ``None``, a file) that cannot be read."""
    if file.suffix == ".csv":
        yield from iter_csv(file, required=REQUIRED, bad_rows=True)
        return
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise GlobmedError(f"{file}: not a readable Parquet file ({exc})") from None
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise GlobmedError(f"{file}: missing column(s) {', '.join(missing)} "
                           f"(the file has {', '.join(table.column_names) or 'none'})")
    if table.num_rows == 0:
        yield None, ValueError(EMPTY_FILE)
        return
    yield from enumerate(parquet_rows(table, file), 1)


def _clean(value: Any, name: str = "") -> str:
    """A cell as text; a list, object or boolean is a :class:`RowError` naming the column."""
    return text(value, name)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@register
class KorMedMCQASource(Source):
    name = "kormedmcqa"
    tasks = ("mcq",)
    languages = ("ko",)
    mapped_fields = ("question", *OPTION_COLUMNS, "answer", "cot", "subject", "year", "period", "q_number")
    """Raw fields the mapping reads (``globmed sources inspect`` lists the others as not used)."""
    expected_files = "the sean0042/KorMedMCQA folder (<subset>/<split>-*.parquet or .csv), or one such file"

    def default_path(self) -> Path:
        return hub_snapshot(self.name, REPO, allow_patterns=[f"{s}/*" for s in SUBSETS])

    def plan(self, root: Path) -> tuple[list[tuple[Path, str, str | None]], list[tuple[Path, str]]]:
        """``([(file, split, subset), ...] to read, [(file, reason), ...] that cannot be placed)``."""
        if root.is_file():
            split = _split_of(root)
            if split is None:
                return [], [(root, "the file name names no split (train, dev, test)")]
            if split in SKIPPED_SPLITS:
                return [], [(root, f"the {split} split is not read (rows copied from dev)")]
            return [(root, split, _subset_of(root))], []
        found, unplaced = [], []
        for file in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in {".parquet", ".csv"}):
            split = _split_of(file)
            if split is None:
                unplaced.append((file, "the file name names no split (train, dev, test)"))
            elif split in SKIPPED_SPLITS:
                left_out(self.name, file, "the fewshot split is rows copied from dev")
            else:
                found.append((file, split, _subset_of(file)))
        in_subsets = [f for f in found if f[0].parent.name in SUBSETS]
        # the repository root also keeps an older copy in data/ (the first 2024 upload): read it only
        # when there are no <subset>/ folders, so no item is read twice
        if in_subsets:
            for file, _, _ in found:
                if file.parent.name not in SUBSETS:
                    left_out(self.name, file, "an older copy of the <subset>/ folders' items")
            return in_subsets, unplaced
        return found, unplaced

    def files(self, root: Path) -> list[Path]:
        return [file for file, _, _ in self.plan(root)[0]]

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        files, unplaced = self.plan(root)
        for file, reason in unplaced:
            yield self.reject(file, None, reason, lang="ko")
        if not files and not unplaced:
            yield self.reject(root, None, "no <split>-*.parquet / <split>.csv file found", lang="ko")
        for file, split, subset in files:
            for rowno, row in _rows(file):
                if isinstance(row, Exception):
                    yield self.reject(file, rowno, str(row), lang="ko")
                    continue
                try:
                    yield self._entry(row, file, rowno, SPLITS[split], subset)
                except RowError as exc:
                    yield self.reject(file, rowno, str(exc), lang="ko")

    def _entry(self, row: dict, file: Path, rowno: int, split: str, subset: str | None) -> Entry | Reject:
        subset = subset or _clean(row.get("subject"), "subject") or "unknown"
        exam = [_clean(row.get(k), k) for k in ("year", "period", "q_number")]
        qid = "-".join([subset, *exam]) if all(exam) else f"{subset}-{split}-{rowno}"
        question = _clean(row.get("question"), "question")
        if not question:
            return self.reject(file, rowno, "empty question", id=qid, lang="ko")
        texts = [_clean(row.get(c), c) for c in OPTION_COLUMNS]
        while texts and not texts[-1]:
            texts.pop()
        if len(texts) < 2 or not all(texts):
            return self.reject(file, rowno, "options A..E must be filled from A on (at least two)", id=qid,
                               lang="ko")
        raw = row.get("answer")
        number = _integer(raw)
        if number is None:
            return self.reject(file, rowno, f"answer {raw!r} is not an integer 1..{len(texts)}", id=qid, lang="ko")
        if not 1 <= number <= len(texts):
            return self.reject(file, rowno, f"answer {raw!r} is outside 1..{len(texts)} (1 = A)", id=qid,
                               lang="ko")
        return Entry.create(
            source=self.name, lang="ko", source_id=qid, task="mcq", question=question, options=texts,
            answer=[LETTERS[number - 1]], explanation=_clean(row.get("cot"), "cot"), license=self.license,
            upstream_split=split, upstream_file=str(file), upstream_row=rowno,
        )
