"""CMExam: Chinese National Medical Licensing Examination questions with explanations (zh).

Format checked against williamliujl/CMExam (``README.md``; ``src/preprocess/generate_prompt.py``,
which reads the released CSVs with ``pd.read_csv`` and the columns ``Question``, ``Options``,
``Answer``, ``Explanation``, splits ``Options`` on newlines and matches each line's first
space-separated token against ``Answer``, and skips rows whose ``Answer`` is NaN). Released files
(the repository's ``data/``, read by ``src/preprocess/data stats.ipynb`` and the evaluation
scripts): ``train.csv``, ``val.csv`` and ``test_with_annotations.csv``. Further columns, as the
notebook prints them: ``Disease Group``, ``Area of Competency``, ``Clinical Department``,
``Medical Discipline``, ``Difficulty level`` (annotations, not used).

- ``Options``: one cell, one option per line, ``"<letter> <text>"`` (``A 肝\\nB 胰腺\\n...``). Some
  derived copies separate the options with a literal backslash-n (the two characters ``\\`` ``n``)
  instead of a newline; both are parsed.
- ``Answer``: the correct letter(s) concatenated, ``"B"`` or ``"ABD"`` for multi-answer items
  (``src/evaluation/evaluate_lora_result.py`` compares predictions as ``"".join(letters)``
  against the answer column, and splits each option line as ``op.split()[0]`` / ``[1]``).
  That script's CSVs name the columns ``选项`` / ``答案`` / ``答案解析``; those names are
  accepted too.

Mapping (deliberate):

- task ``mcq``; option lines must be lettered A, B, C, ... in order (a line without a letter
  is appended to the previous option's text, as a wrapped line); anything else -> reject.
- ``Answer`` letters are kept in order, de-duplicated (``"ABD"`` -> ``["A", "B", "D"]``;
  separators ``,``/``、``/spaces are tolerated). Empty ``Answer`` (unanswered upstream, skipped by
  the authors' own scripts) -> reject; a letter beyond the options -> reject.
- ``explanation`` = ``Explanation`` (empty when missing). Split from the file name: ``train``,
  ``val`` / ``dev`` -> ``validation``, ``test`` and ``test_with_annotations`` -> ``test``. The id
  is ``<file stem's split word>-<row>`` (no id column), ``test-<row>`` for either test file. When
  a folder holds two files of one split, the repository's own name is read and the other logged.
  Any other ``.csv`` under the folder is a file-level reject; a file given by path is read, its
  split ``None`` when the name names none.

Licence: none stated in the repository; marked not redistributable.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path

from globmed.errors import GlobmedError
from globmed.schema import LETTERS, Entry
from globmed.sources._placing import left_out
from globmed.sources.base import Reject, Source, iter_csv, register
from globmed.sources.fetch import github_archive

REPO = "williamliujl/CMExam"
SPLITS = {"train": "train", "val": "validation", "dev": "validation", "test": "test"}
REPO_STEMS = ("train", "val", "test_with_annotations")
"""The file names (without .csv) of the repository's data/ folder."""
COLUMNS = {  # released English header first; the Chinese names are those of the authors' evaluation CSVs
    "Question": ("Question", "题目", "问题"),
    "Options": ("Options", "选项"),
    "Answer": ("Answer", "答案"),
    "Explanation": ("Explanation", "答案解析", "解析"),
}
OPTION_BREAK = re.compile(r"\r?\n|\\n")
"""Between two options: a newline, or the literal two characters backslash-n of derived copies."""
FILE_RE = re.compile(r"^(?P<split>train|val|dev|test)(?P<rest>_with_annotations)?$", re.IGNORECASE)
OPTION_RE = re.compile(r"^\s*([A-Z])[\s.、:：)）]+(.*)$")


def parse_options(cell: str) -> list[str] | None:
    """``"A 肝\\nB 胰腺"`` (a newline or a literal backslash-n) -> ``["肝", "胰腺"]``; ``None`` when not
    lettered A, B, ... in order."""
    options: list[str] = []
    for line in OPTION_BREAK.split(cell):
        if not line.strip():
            continue
        m = OPTION_RE.match(line)
        expected = LETTERS[len(options)] if len(options) < len(LETTERS) else None
        if m and m[1] == expected:
            options.append(m[2].strip())
        elif options:
            options[-1] = f"{options[-1]} {line.strip()}"
        else:
            return None
    return options or None


@register
class CMExamSource(Source):
    name = "cmexam"
    tasks = ("mcq",)
    languages = ("zh",)
    mapped_fields = tuple(a for aliases in COLUMNS.values() for a in aliases)
    """Raw fields the mapping reads (``globmed sources inspect`` lists the others as not used)."""
    expected_files = "CMExam's data/ folder (train.csv, val.csv, test_with_annotations.csv), or one of them"

    def default_path(self) -> Path:
        return github_archive(self.name, REPO)

    def plan(self, root: Path) -> tuple[list[tuple[Path, str | None]], list[tuple[Path, str]]]:
        """``([(file, split), ...] to read, [(file, reason), ...] that cannot be placed)``."""
        if root.is_file():
            m = FILE_RE.match(root.stem)
            return [(root, SPLITS[m["split"].lower()] if m else None)], []
        by_split: dict[str, list[Path]] = {}
        unplaced: list[tuple[Path, str]] = []
        for file in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".csv"):
            m = FILE_RE.match(file.stem)
            if m is None:
                unplaced.append((file, "not a CMExam file: expected train.csv, val.csv or test_with_annotations.csv"))
            else:
                by_split.setdefault(SPLITS[m["split"].lower()], []).append(file)
        files = []
        for split, found in by_split.items():
            found.sort(key=lambda p: (p.stem.lower() not in REPO_STEMS, str(p)))
            files.append((found[0], split))
            for other in found[1:]:
                left_out(self.name, other, f"{found[0]} is read for the {split} split")
        return sorted(files, key=lambda f: str(f[0])), unplaced

    def files(self, root: Path) -> list[Path]:
        return [file for file, _ in self.plan(root)[0]]

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        files, unplaced = self.plan(root)
        for file, reason in unplaced:
            yield self.reject(file, None, reason, lang="zh")
        if not files and not unplaced:
            yield self.reject(root, None, "no train.csv / val.csv / test_with_annotations.csv found "
                                          "(unzip CMExam's data first)", lang="zh")
        for file, split in files:
            for rowno, row in iter_csv(file, bad_rows=True):
                if isinstance(row, Exception):  # a row that is not UTF-8 or has the wrong cell count; an empty file
                    yield self.reject(file, rowno, str(row), lang="zh")
                else:
                    yield self._entry(row, file, rowno, split)

    def _entry(self, raw_row: dict, file: Path, rowno: int, split: str | None) -> Entry | Reject:
        m = FILE_RE.match(file.stem)
        qid = f"{m['split'].lower() if m else file.stem}-{rowno}"
        row = {name: next((raw_row[a] for a in aliases if a in raw_row), None) for name, aliases in COLUMNS.items()}
        missing = [c for c in ("Question", "Options", "Answer") if row[c] is None]
        if missing:  # the header lacks them: one error for the file, not one reject per row
            raise GlobmedError(f"{file}: missing column(s) {', '.join(missing)} (the header has "
                               f"{', '.join(raw_row)})")
        question = (row["Question"] or "").strip()
        if not question:
            return self.reject(file, rowno, "empty Question", id=qid, lang="zh")
        options = parse_options(row["Options"] or "")
        if options is None or len(options) < 2:
            return self.reject(file, rowno, f"Options is not 'A text' lines lettered A, B, ...: {row['Options']!r}",
                               id=qid, lang="zh")
        raw = (row["Answer"] or "").strip()
        if not raw:
            return self.reject(file, rowno, "empty Answer (no official answer)", id=qid, lang="zh")
        letters = re.sub(r"[\s,，、;；]", "", raw).upper()
        answer = list(dict.fromkeys(letters))
        valid = LETTERS[: len(options)]
        if any(a not in valid for a in answer):
            return self.reject(file, rowno, f"Answer {raw!r} is not letters among {', '.join(valid)}", id=qid,
                               lang="zh")
        return Entry.create(
            source=self.name, lang="zh", source_id=qid, task="mcq", question=question, options=options,
            answer=answer, explanation=(row.get("Explanation") or "").strip(), license=self.license,
            upstream_split=split, upstream_file=str(file), upstream_row=rowno,
        )
