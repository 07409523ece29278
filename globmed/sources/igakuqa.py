"""IgakuQA: the Japanese National Medical Licensing Examination 2018-2022 (112th-116th), in Japanese.

Format checked against jungokasai/IgakuQA (``README.md``; ``data/<year>/<exam>-<block>.jsonl``
with ``<exam>-<block>_metadata.jsonl`` and ``<exam>-<block>_translate.jsonl`` beside it; all
2,000 rows of the 30 question files were inspected). One JSON object per line:

``{"problem_id": "112A12", "problem_text": str, "choices": [str, ...], "text_only": bool,
"answer": ["d", "e"], "points": "1"}``

and in ``*_metadata.jsonl``: ``{"problem_id", "category", "kinki": [letters], "reason": str,
"human_accuracy", "breakdown"}`` (``kinki`` = contraindicated choices, ``reason`` = why).

Answer encodings and what this adapter does with each (deliberate):

- ``["e"]`` / ``["d", "e"]`` / ``["a", "b", "e"]``: lowercase letters of the choices (5 choices,
  a few items have 6 or 8) -> upper-case letters, task ``mcq``; multi-answer items keep
  every letter.
- ``["a or d"]`` (112B30: the ministry accepted either of two choices): the schema's answer
  list means *all of these together*, so "either" cannot be stored faithfully -> **reject**
  ("accepts either of several choices").
- A number with no choices (``"choices": []``, ``"answer": ["26"]``; 12 calculation items):
  the answer gives the digits of the boxes ``①②...`` in the ``解答：①.②g/日`` template at the
  end of the question (``"04"`` for ``①.②`` means 0.4). -> task ``open_qa`` with one reference,
  the template with its boxes filled (``"0.4"``; ``"2.1g/日"``). When the digits do not fit
  the boxes the row is **rejected**.
- Voided questions: the release contains none marked as such (every row has an answer; the one
  voided item it keeps, 115C6, was rewritten by the editors to have one answer and says so in
  its text). A row with an empty answer list is treated as voided and **rejected** with that
  reason.
- ``text_only: false`` items refer to a figure ("別に示す") that the release does not include:
  **rejected** ("needs an image"), marked *expected* (a documented gap: not a ``--strict`` failure).
- A line that is not UTF-8 or not JSON, or a field of the wrong type, is a reject naming its line.
- ``explanation``: the metadata ``reason`` (why the ``kinki`` choices are contraindicated)
  when the metadata file is present and the reason is non-empty; else empty.
- IgakuQA is an evaluation benchmark: every item is ``upstream_split = "test"``.

Licence: the repository states none (exam questions published by the Ministry of Health,
Labour and Welfare); marked not redistributable.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.schema import LETTERS, Entry
from globmed.sources._files import matching_files
from globmed.sources.base import Reject, Source, iter_jsonl, register
from globmed.sources.fetch import github_archive

REPO = "jungokasai/IgakuQA"
FILE_RE = re.compile(r"^\d{3}-[A-Z]\.jsonl$")
BOXES = "①②③④⑤⑥⑦⑧⑨"
TEMPLATE_RE = re.compile(r"解答：(?P<template>.*)$", re.S)


def fill_template(problem_text: str, answer: str) -> str | None:
    """``解答：①.②g/日`` + ``"21"`` -> ``"2.1g/日"``; ``None`` when the answer does not fit."""
    m = TEMPLATE_RE.search(problem_text)
    digits = [c for c in answer if c.isdigit()]
    if m is None:
        return answer.strip() if digits and re.fullmatch(r"[\d.,]+", answer.strip()) else None
    template = m["template"].strip()
    boxes = [c for c in template if c in BOXES]
    if not boxes or len(boxes) != len(digits):
        return None
    fill = dict(zip(boxes, digits, strict=True))
    return "".join(fill.get(c, c) for c in template)


@register
class IgakuQASource(Source):
    name = "igakuqa"
    tasks = ("mcq", "open_qa")
    languages = ("ja",)
    expected_files = "the IgakuQA repository or its data/ folder (<year>/<exam>-<block>.jsonl + _metadata.jsonl)"

    def default_path(self) -> Path:
        return github_archive(self.name, REPO)

    def files(self, root: Path) -> list[Path]:
        return matching_files(root, "*.jsonl", lambda p: FILE_RE.match(p.name) is not None)

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        files = self.files(root)
        if not files:
            yield self.reject(root, None, "no <exam>-<block>.jsonl question file found (e.g. 112-A.jsonl)")
        for other in self.unplaced(files):
            yield self.reject(other, None, "a .jsonl file beside the question files that is neither <exam>-<block>.jsonl "
                              "nor its _metadata / _translate file", lang="ja")
        for file in files:
            reasons = self._reasons(file.with_name(file.stem + "_metadata.jsonl"))
            for rowno, row in iter_jsonl(file):
                if isinstance(row, Exception):
                    yield self.reject(file, rowno, str(row), lang="ja")
                    continue
                yield self._entry(row, file, rowno, reasons)

    @staticmethod
    def unplaced(files: list[Path]) -> list[Path]:
        """``.jsonl`` files in the question files' folders that the adapter cannot place (the
        repository's ``baseline_results/`` holds model outputs in folders of their own: not read)."""
        known = {f.name for f in files} | {f"{f.stem}{suffix}" for f in files
                                           for suffix in ("_metadata.jsonl", "_translate.jsonl")}
        folders = sorted({f.parent for f in files})
        return [p for folder in folders for p in sorted(folder.glob("*.jsonl")) if p.name not in known]

    @staticmethod
    def _reasons(meta: Path) -> dict[str, str]:
        if not meta.is_file():
            return {}
        out = {}
        for _, row in iter_jsonl(meta):
            if isinstance(row, dict) and isinstance(row.get("reason"), str) and row["reason"].strip():
                out[str(row.get("problem_id"))] = row["reason"].strip()
        return out

    def _entry(self, row: Any, file: Path, rowno: int, reasons: dict[str, str]) -> Entry | Reject:
        if not isinstance(row, dict):
            return self.reject(file, rowno, f"expected a JSON object, got {type(row).__name__}", lang="ja")
        pid = row.get("problem_id")
        if not isinstance(pid, str) or not pid.strip():
            return self.reject(file, rowno, "missing problem_id", lang="ja")
        if row.get("problem_text") is not None and not isinstance(row.get("problem_text"), str):
            return self.reject(file, rowno, f"problem_text must be text, got {type(row['problem_text']).__name__}",
                               id=pid, lang="ja")
        text = row.get("problem_text").strip() if isinstance(row.get("problem_text"), str) else ""
        if not text:
            return self.reject(file, rowno, "empty problem_text", id=pid, lang="ja")
        answer = row.get("answer")
        choices = row.get("choices")
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            return self.reject(file, rowno, f"answer must be a list of strings, got {answer!r}", id=pid, lang="ja")
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            return self.reject(file, rowno, "choices must be a list of strings", id=pid, lang="ja")
        if not answer or not any(a.strip() for a in answer):
            return self.reject(file, rowno, "voided question: no official answer", id=pid, lang="ja")
        if row.get("text_only") is False:
            return self.reject(file, rowno, "needs an image that the release does not include (text_only: false)",
                               id=pid, lang="ja", expected=True)
        common: dict[str, Any] = dict(
            source=self.name, lang="ja", source_id=pid, question=text, explanation=reasons.get(pid, ""),
            license=self.license, upstream_split="test", upstream_file=str(file), upstream_row=rowno,
        )
        if not choices:
            if len(answer) != 1:
                return self.reject(file, rowno, f"numeric item with {len(answer)} answers", id=pid, lang="ja")
            reference = fill_template(text, answer[0])
            if reference is None:
                return self.reject(file, rowno, f"numeric answer {answer[0]!r} does not fit the 解答 template",
                                   id=pid, lang="ja")
            return Entry.create(task="open_qa", answer=[reference], **common)
        if any(" or " in a for a in answer):
            return self.reject(file, rowno, f"accepts either of several choices ({answer[0]!r}); the answer list "
                               "would mean all of them", id=pid, lang="ja")
        valid = [c.lower() for c in LETTERS[: len(choices)]]
        bad = [a for a in answer if a.strip() not in valid]
        if bad:
            return self.reject(file, rowno, f"answer {bad!r} is not among the choices a..{valid[-1]}", id=pid,
                               lang="ja")
        return Entry.create(task="mcq", options=[c.strip() for c in choices],
                            answer=[a.strip().upper() for a in answer], **common)
