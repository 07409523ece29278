"""MMLU-Pro (Wang et al. 2024), category ``health`` only: 10-option exam questions, English.

Format, checked in https://github.com/TIGER-AI-Lab/MMLU-Pro (``evaluate_from_api.py`` and
``compute_accuracy.py`` read it) and the Hub repo ``TIGER-Lab/MMLU-Pro``: Parquet
``data/test-00000-of-00001.parquet`` and ``data/validation-00000-of-00001.parquet``, one row per
question ``{"question_id": int, "question", "options": [up to 10 strings], "answer": "A".."J",
"answer_index": int (0-based), "cot_content", "category", "src"}``. ``.json``/``.jsonl``
exports of the same rows are read too.

Mapping, deliberately:

- Only rows with ``category == "health"`` are read; other categories are skipped (not rejected).
- ``answer`` (a letter) must agree with ``answer_index`` (0-based) and name an option; a row where
  they disagree is rejected rather than trusting one of them.
- ``options`` keep their order and count (3 to 10; MMLU-Pro pads nothing); an empty option is
  a reject.
- ``cot_content`` -> ``explanation`` (the validation split's few-shot chain of thought; empty on
  test). ``src`` (the question's origin, e.g. ``ori_mmlu-nutrition``) is not exported.
- ``source_id`` = ``question_id``; split from the file name (``test``, ``validation``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.schema import LETTERS, Entry
from globmed.sources._files import files_under, iter_rows, require_columns, split_from_name, text
from globmed.sources._rows import RowError, RowMappedSource
from globmed.sources.base import Reject, register

HUB_REPO = "TIGER-Lab/MMLU-Pro"
CATEGORY = "health"
MAX_OPTIONS = 10
REQUIRED = ("question", "options", "answer", "category")
"""Columns a Parquet file must have (a file without one is one error, not a reject per row)."""


@register
class MMLUProHealthSource(RowMappedSource):
    name = "mmlu_pro_health"
    tasks = ("mcq",)
    languages = ("en",)
    expected_files = "the MMLU-Pro data/ folder (test-*.parquet, validation-*.parquet) or one such file"

    def default_path(self) -> Path:
        from globmed.sources.fetch import hub_snapshot

        return hub_snapshot(self.name, HUB_REPO, allow_patterns=["data/*.parquet"])

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        if not self.check_langs(langs):
            return
        for file in files_under(root, (".parquet", ".jsonl", ".json")):
            split = split_from_name(file.name)
            require_columns(file, REQUIRED)
            for rowno, row in iter_rows(file):
                item = self.entry_or_reject(row, file=file, rowno=rowno, lang="en", split=split,
                                            fallback_id=f"{file.stem}/{rowno}")
                if item is not None:
                    yield item

    def row_fields(self, row: dict[str, Any], *, lang: str, split: str | None,
                   fallback_id: str) -> dict[str, Any] | None:
        if text(row.get("category")).lower() != CATEGORY:
            return None
        question = text(row.get("question"), "question")
        if not question:
            raise RowError("missing question")
        options = row.get("options")
        if not isinstance(options, list) or not 2 <= len(options) <= MAX_OPTIONS:
            raise RowError(f"options must be a list of 2..{MAX_OPTIONS} strings")
        options = [text(o, "an option") for o in options]
        empty = [LETTERS[i] for i, o in enumerate(options) if not o]
        if empty:
            raise RowError(f"empty option(s) {', '.join(empty)}")
        answer = text(row.get("answer"))
        if len(answer) != 1 or answer not in LETTERS[: len(options)]:
            raise RowError(f"answer {row.get('answer')!r} is not a letter among A..{LETTERS[len(options) - 1]}")
        index = row.get("answer_index")
        if index is not None and (not isinstance(index, int) or LETTERS.index(answer) != index):
            raise RowError(f"answer {answer!r} and answer_index {index!r} disagree")
        qid = row.get("question_id")
        return dict(
            source_id=text(qid) if qid is not None else fallback_id,
            task="mcq",
            question=question,
            options=options,
            answer=[answer],
            explanation=text(row.get("cot_content")),
        )
