"""AfriMed-QA: pan-African medical QA written by clinicians and students (English, African practice).

Format checked against intron-innovation/AfriMed-QA: ``README.md`` ("How to Use the Data",
"Data Description", the ``split`` column), ``data/sample_10.csv`` (real rows) and
``src/utils/prepare_data.py`` (``question_type`` values ``mcq``, ``saq``,
``consumer_queries``; ``correct_answer.str.split(",")``). The release is one CSV
(``afri_med_qa_*_v2*.csv``; the Hub copy is intronhealth/afrimedqa_v2) with, among others:

``sample_id, split, question_type, prompt, question, question_clean, answer_options,
correct_answer, answer_rationale, specialty, tier, ...``

- ``answer_options``: a JSON object **inside the CSV cell**,
  ``{"option1": "...", "option2": "...", ...}``; unused slots hold ``"n/a"``.
- ``correct_answer``: ``option4``, or several as ``option1,option3,option4``.

Mapping (deliberate):

- ``mcq`` -> ``mcq``: options ``option1..optionN`` in number order; trailing ``n/a`` / empty
  slots are dropped (two-option true/false items keep two); every listed correct option is
  kept (multi-answer). A correct option that is ``n/a``, missing, or not ``optionK`` -> reject;
  options that are not valid JSON -> reject. ``explanation`` = ``answer_rationale``.
- ``saq`` (short-answer) -> ``open_qa`` with the clinician's ``answer_rationale`` as the one
  reference answer; no rationale -> reject.
- ``consumer_queries`` -> ``open_qa``: question = ``prompt`` (the scenario) + blank line +
  ``question``, as the README says to concatenate them; reference = ``answer_rationale``;
  none -> reject.
- A CSV without one of :data:`REQUIRED`'s columns is one error naming the file and the column;
  a row that is not UTF-8 or has the wrong number of cells is a reject naming its line.
- Any other ``question_type`` -> reject. The question text is ``question_clean`` when present
  (the authors' whitespace-fixed copy), else ``question``. ``N/A``-like rationales
  (``N/A``, ``N:A``, ``n/a``, ``none``) count as empty.
- ``split`` (``train`` / ``test``) is kept as the upstream split; the id is ``sample_id``.

Licence: CC BY-NC-SA 4.0 (README): non-commercial, marked not redistributable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.schema import LETTERS, SPLITS, Entry
from globmed.sources._files import matching_files
from globmed.sources.base import Reject, Source, iter_csv, register
from globmed.sources.fetch import hub_snapshot

REPO = "intronhealth/afrimedqa_v2"
EMPTY = {"", "n/a", "n:a", "na", "none", "nan", "null"}
OPTION_KEY = re.compile(r"^option(\d+)$")
REQUIRED = ("sample_id", "question_type", "question", "answer_options", "correct_answer", "answer_rationale")
"""Columns the release CSV must have: a file without one of them is one error, not a reject per row."""


def _empty(value: str | None) -> bool:
    return value is None or value.strip().lower() in EMPTY


def _text(value: str | None) -> str:
    return "" if _empty(value) else re.sub(r"[ \t]+\n", "\n", value.strip())


@register
class AfriMedQASource(Source):
    name = "afrimedqa"
    tasks = ("mcq", "open_qa")
    languages = ("en",)
    expected_files = "the AfriMed-QA release CSV (afri_med_qa_*.csv), or a folder holding it"

    def default_path(self) -> Path:
        return hub_snapshot(self.name, REPO, allow_patterns=["*.csv"])

    def files(self, root: Path) -> list[Path]:
        return matching_files(root, "*.csv")

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        files = self.files(root)
        if not files:
            yield self.reject(root, None, "no AfriMed-QA .csv file found")
        for file in files:
            for rowno, row in iter_csv(file, required=REQUIRED, bad_rows=True):
                if isinstance(row, Exception):
                    yield self.reject(file, rowno, str(row), lang="en")
                    continue
                yield self._entry(row, file, rowno)

    def _entry(self, row: dict[str, Any], file: Path, rowno: int) -> Entry | Reject:
        sid = (row.get("sample_id") or "").strip()
        if not sid:
            return self.reject(file, rowno, "missing sample_id", lang="en")
        kind = (row.get("question_type") or "").strip().lower()
        question = _text(row.get("question_clean")) or _text(row.get("question"))
        if not question:
            return self.reject(file, rowno, "empty question", id=sid, lang="en")
        split = (row.get("split") or "").strip().lower() or None
        if split is not None and split not in SPLITS:
            return self.reject(file, rowno, f"split {split!r} is not one of {', '.join(SPLITS)}", id=sid, lang="en")
        rationale = _text(row.get("answer_rationale"))
        common: dict[str, Any] = dict(source=self.name, lang="en", source_id=sid, license=self.license,
                                      upstream_split=split, upstream_file=str(file), upstream_row=rowno)
        if kind == "mcq":
            return self._mcq(row, file, rowno, sid, question, rationale, common)
        if kind in ("saq", "consumer_queries"):
            if not rationale:
                return self.reject(file, rowno, f"{kind} item without an answer_rationale (no reference answer)",
                                   id=sid, lang="en")
            if kind == "consumer_queries":
                scenario = _text(row.get("prompt"))
                question = f"{scenario}\n\n{question}" if scenario else question
            return Entry.create(task="open_qa", question=question, answer=[rationale], **common)
        return self.reject(file, rowno, f"unknown question_type {kind!r} (expected mcq, saq, consumer_queries)",
                           id=sid, lang="en")

    def _mcq(self, row: dict, file: Path, rowno: int, sid: str, question: str, rationale: str,
             common: dict[str, Any]) -> Entry | Reject:
        try:
            raw = json.loads(row.get("answer_options") or "")
        except ValueError as exc:
            return self.reject(file, rowno, f"answer_options is not JSON: {exc}", id=sid, lang="en")
        if not isinstance(raw, dict):
            return self.reject(file, rowno, f"answer_options must be a JSON object, got {type(raw).__name__}",
                               id=sid, lang="en")
        numbered: dict[int, str] = {}
        for key, value in raw.items():
            m = OPTION_KEY.match(str(key).strip())
            if m is None:
                return self.reject(file, rowno, f"answer_options key {key!r} is not optionN", id=sid, lang="en")
            if value is not None and not isinstance(value, str | int | float):
                return self.reject(file, rowno, f"answer_options {key!r} must be text, got {type(value).__name__}",
                                   id=sid, lang="en")
            numbered[int(m[1])] = "" if value is None else str(value).strip()
        ordered = [numbered[k] for k in sorted(numbered)]
        if sorted(numbered) != list(range(1, len(numbered) + 1)):
            return self.reject(file, rowno, f"answer_options keys are not option1..optionN: {sorted(numbered)}",
                               id=sid, lang="en")
        while ordered and _empty(ordered[-1]):
            ordered.pop()
        if len(ordered) < 2 or any(_empty(o) for o in ordered):
            return self.reject(file, rowno, "fewer than two options, or an empty option before a filled one",
                               id=sid, lang="en")
        letters = []
        for part in (row.get("correct_answer") or "").split(","):
            m = OPTION_KEY.match(part.strip())
            if m is not None and int(m[1]) in numbered and int(m[1]) > len(ordered):
                return self.reject(file, rowno, f"correct_answer {part.strip()!r} is an empty/n/a option slot",
                                   id=sid, lang="en")
            if m is None or not 1 <= int(m[1]) <= len(ordered):
                return self.reject(file, rowno, f"correct_answer {row.get('correct_answer')!r} is not optionK "
                                   f"among option1..option{len(ordered)}", id=sid, lang="en")
            letters.append(LETTERS[int(m[1]) - 1])
        return Entry.create(task="mcq", question=question, options=ordered, answer=list(dict.fromkeys(letters)),
                            explanation=rationale, **common)
