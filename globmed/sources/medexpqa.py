"""MedExpQA: Spanish MIR residency-exam questions (CasiMedicos) with gold explanations, in en/es/fr/it.

Format checked against the Hub dataset HiTZ/MedExpQA (file tree ``data/<lang>/
{train,dev,test}.<lang>.casimedicos.rag.jsonl``, "nan_fix" commit turning NaN into null) and
the code of hitz-zentroa/MedExpQA (``README.md`` and the loaders reading
``full_question``, ``options``, ``correct_option``, ``explanations[str(correct_option)]["text"]``,
``full_answer``, ``full_answer_no_ref``, ``question_id_specific``, ``type``, ``year``, ``rag``).
One JSON object per line:

``{"id", "lang", "year", "question_id_specific", "type", "full_question",
"options": {"1": str, ..., "5": str | null}, "correct_option": int (1-based),
"explanations": {"1": {"text": ...}, ...}, "full_answer", "full_answer_no_ref", "rag": {...}}``

Mapping (deliberate):

- task ``mcq``; option keys ``"1".."n"`` become letters A..; trailing ``null``/empty options
  (four-option years store ``"5": null``) are dropped; a gap in the middle is a reject.
- ``correct_option`` is 1-based (``1`` -> ``A``); out of range or not an integer -> reject.
- ``explanation`` is ``full_answer`` (the doctors' full gold explanation), falling back to
  ``full_answer_no_ref`` and then to the correct option's ``explanations`` text; empty when none.
- The language is the file's ``lang`` field (else the ``.<lang>.`` part of the file name).
  ``id`` is the same item across the four languages, so all translations share one
  ``origin_id`` (and one split). Split from the file name: ``train`` / ``dev`` -> ``validation`` /
  ``test``. The ``rag`` snippets are not used.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.schema import LETTERS, Entry
from globmed.sources._files import matching_files
from globmed.sources.base import Reject, Source, iter_jsonl, register
from globmed.sources.fetch import hub_snapshot

REPO = "HiTZ/MedExpQA"
LANGS = ("en", "es", "fr", "it")
SPLITS = {"train": "train", "dev": "validation", "validation": "validation", "test": "test"}
FILE_RE = re.compile(r"^(?P<split>train|dev|validation|test)\.(?P<lang>[a-z]{2})\..*jsonl$")


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@register
class MedExpQASource(Source):
    name = "medexpqa"
    tasks = ("mcq",)
    languages = LANGS
    expected_files = "the HiTZ/MedExpQA folder (data/<lang>/<split>.<lang>.casimedicos*.jsonl), or one such file"

    def default_path(self) -> Path:
        return hub_snapshot(self.name, REPO, allow_patterns=["data/*/*.jsonl"])

    def files(self, root: Path) -> list[Path]:
        """Every ``.jsonl`` file; one not named ``<split>.<lang>.casimedicos*.jsonl`` is a file-level reject."""
        return matching_files(root, "*.jsonl")

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        files = self.files(root)
        if not files:
            yield self.reject(root, None, "no <split>.<lang>.casimedicos*.jsonl file found")
        for file in files:
            m = FILE_RE.match(file.name)
            if m is None:
                yield self.reject(file, None, "file name is not <split>.<lang>.casimedicos*.jsonl")
                continue
            if langs is not None and m["lang"] not in langs:
                continue
            split = SPLITS[m["split"]]
            for rowno, row in iter_jsonl(file):
                if isinstance(row, Exception):
                    yield self.reject(file, rowno, str(row), lang=m["lang"])
                    continue
                yield self._entry(row, file, rowno, split, m["lang"])

    def _entry(self, row: Any, file: Path, rowno: int, split: str, file_lang: str) -> Entry | Reject:
        if not isinstance(row, dict):
            return self.reject(file, rowno, f"expected a JSON object, got {type(row).__name__}", lang=file_lang)
        lang = _str(row.get("lang")) or file_lang
        qid = row.get("id")
        if qid is None or not str(qid).strip():
            return self.reject(file, rowno, "missing id", lang=lang)
        qid = str(qid)
        if lang not in LANGS:
            return self.reject(file, rowno, f"lang {lang!r} is not one of {', '.join(LANGS)}", id=qid, lang=lang)
        wrong = [k for k in ("full_question", "full_answer", "full_answer_no_ref")
                 if row.get(k) is not None and not isinstance(row.get(k), str)]
        if wrong:
            return self.reject(file, rowno, f"{wrong[0]} must be text, got {type(row[wrong[0]]).__name__}", id=qid,
                               lang=lang)
        question = _str(row.get("full_question"))
        if not question:
            return self.reject(file, rowno, "empty full_question", id=qid, lang=lang)
        options = row.get("options")
        if not isinstance(options, dict) or not options:
            return self.reject(file, rowno, "options must be an object of \"1\"..\"n\" -> text", id=qid, lang=lang)
        try:
            keys = sorted(options, key=int)
        except ValueError:
            return self.reject(file, rowno, f"option keys must be 1..n, got {list(options)}", id=qid, lang=lang)
        if any(v is not None and not isinstance(v, str) for v in options.values()):
            return self.reject(file, rowno, "options must map \"1\"..\"n\" to text", id=qid, lang=lang)
        texts = [_str(options[k]) for k in keys]
        while texts and not texts[-1]:  # 4-option years carry "5": null
            texts.pop()
        if [int(k) for k in keys[: len(texts)]] != list(range(1, len(texts) + 1)) or not all(texts):
            return self.reject(file, rowno, f"options are not a gap-free 1..n: {options!r}", id=qid, lang=lang)
        correct = row.get("correct_option")
        if isinstance(correct, str) and correct.strip().isdigit():
            correct = int(correct)
        if isinstance(correct, bool) or not isinstance(correct, int) or not 1 <= correct <= len(texts):
            return self.reject(file, rowno, f"correct_option {correct!r} is not an option number 1..{len(texts)}",
                               id=qid, lang=lang)
        explanations = row.get("explanations") if isinstance(row.get("explanations"), dict) else {}
        by_option = explanations.get(str(correct))
        explanation = (_str(row.get("full_answer")) or _str(row.get("full_answer_no_ref"))
                       or (_str(by_option.get("text")) if isinstance(by_option, dict) else ""))
        return Entry.create(
            source=self.name, lang=lang, source_id=qid, task="mcq", question=question, options=texts,
            answer=[LETTERS[correct - 1]], explanation=explanation, license=self.license,
            upstream_split=split, upstream_file=str(file), upstream_row=rowno,
        )
