"""FrenchMedMCQA: French pharmacy-diploma multiple-choice questions with 1 to 5 correct answers.

Format checked against qanastek/FrenchMedMCQA (``corpus/{train,dev,test}.json``;
the Hub dataset qanastek/frenchmedmcqa ships the same records, including ``test``, in
``DEFT-2023-FULL.zip``). Each file is **one JSON array** of objects:

``{"id": <sha256 hex>, "question": str, "answers": {"a": str, ..., "e": str},
"correct_answers": ["b", "d"], "subject_name": "pharmacie", "type": "simple" | "multiple",
"nbr_correct_answers": int}``

Mapping (deliberate):

- task ``mcq``; options are ``answers`` sorted by key ``a``..``e`` (the key is the letter; one
  released row lists its keys out of order, ``a, c, d, e, b``); keys must be exactly a, b, c, ....
- ``correct_answers`` (1 to 5 lowercase letters) -> upper-case letters, all kept
  (multi-answer items stay multi-answer). An empty list, a letter outside the options or a
  count that disagrees with ``nbr_correct_answers`` is a reject.
- No explanations upstream: ``explanation`` stays empty. Split from the file name:
  ``train`` / ``dev`` -> ``validation`` / ``test``.

Licence: Apache-2.0 (Hub dataset card).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.errors import GlobmedError
from globmed.schema import LETTERS, Entry
from globmed.sources._files import matching_files
from globmed.sources.base import EMPTY_FILE, Reject, Source, load_json, register
from globmed.sources.fetch import url_download

RAW = "https://raw.githubusercontent.com/qanastek/FrenchMedMCQA/main/corpus/{}.json"
SPLITS = {"train": "train", "dev": "validation", "validation": "validation", "test": "test"}


@register
class FrenchMedMCQASource(Source):
    name = "frenchmedmcqa"
    tasks = ("mcq",)
    languages = ("fr",)
    expected_files = "a folder with FrenchMedMCQA's train.json / dev.json / test.json (JSON arrays), or one of them"

    def default_path(self) -> Path:
        for split in ("train", "dev", "test"):
            target = url_download(self.name, RAW.format(split), f"{split}.json")
        return target.parent

    def files(self, root: Path) -> list[Path]:
        """Every ``.json`` file; one not named for a split becomes a file-level reject in :meth:`read`."""
        return matching_files(root, "*.json")

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        files = self.files(root)
        if not files:
            yield self.reject(root, None, "no train.json / dev.json / test.json found")
        for file in files:
            if file.stem.lower() not in SPLITS:
                yield self.reject(file, None, f"file name {file.name!r} names no split (expected train.json, "
                                  "dev.json or test.json)", lang="fr")
                continue
            rows = load_json(file)  # not UTF-8, cut short, not JSON: an error naming the file, line and column
            if not isinstance(rows, list):
                raise GlobmedError(f"{file}: expected a JSON array of questions, got {type(rows).__name__}")
            if not rows:
                yield self.reject(file, None, EMPTY_FILE, lang="fr")
                continue
            split = SPLITS.get(file.stem.lower())
            for rowno, row in enumerate(rows, 1):
                yield self._entry(row, file, rowno, split)

    def _entry(self, row: Any, file: Path, rowno: int, split: str | None) -> Entry | Reject:
        if not isinstance(row, dict):
            return self.reject(file, rowno, f"expected a JSON object, got {type(row).__name__}", lang="fr")
        qid = row.get("id")
        if not isinstance(qid, str) or not qid.strip():
            return self.reject(file, rowno, "missing id", lang="fr")
        if row.get("question") is not None and not isinstance(row.get("question"), str):
            return self.reject(file, rowno, f"question must be text, got {type(row['question']).__name__}", id=qid,
                               lang="fr")
        question = row.get("question").strip() if isinstance(row.get("question"), str) else ""
        if not question:
            return self.reject(file, rowno, "empty question", id=qid, lang="fr")
        answers = row.get("answers")
        if not isinstance(answers, dict) or len(answers) < 2:
            return self.reject(file, rowno, "answers must be an object of a..e -> text", id=qid, lang="fr")
        keys = sorted(answers)  # the letter is the key; a few rows list the keys out of order
        if keys != [c.lower() for c in LETTERS[: len(keys)]]:
            return self.reject(file, rowno, f"answer keys must be the letters a, b, c, ..., got {list(answers)}",
                               id=qid, lang="fr")
        if any(answers[k] is not None and not isinstance(answers[k], str) for k in keys):
            return self.reject(file, rowno, "answers must map letters to text", id=qid, lang="fr")
        options = [answers[k].strip() if answers[k] is not None else "" for k in keys]
        if not all(options):
            return self.reject(file, rowno, "an answer option is empty", id=qid, lang="fr")
        correct = row.get("correct_answers")
        if not isinstance(correct, list) or not correct:
            return self.reject(file, rowno, "correct_answers is empty or not a list", id=qid, lang="fr")
        letters = [str(c).strip().upper() for c in correct]
        valid = LETTERS[: len(options)]
        if any(len(c) != 1 or c not in valid for c in letters):
            return self.reject(file, rowno, f"correct_answers {correct!r} are not letters among a..{keys[-1]}",
                               id=qid, lang="fr")
        expected = row.get("nbr_correct_answers")
        if isinstance(expected, int) and expected != len(set(letters)):
            return self.reject(file, rowno, f"nbr_correct_answers is {expected} but correct_answers has "
                               f"{len(set(letters))}", id=qid, lang="fr")
        return Entry.create(
            source=self.name, lang="fr", source_id=qid, task="mcq", question=question, options=options,
            answer=sorted(set(letters)), license=self.license, upstream_split=split, upstream_file=str(file),
            upstream_row=rowno,
        )
