"""HEAD-QA (Vilares & Gómez-Rodríguez 2019): Spanish healthcare specialisation exams (MIR, EIR,
BIR, FIR, QIR, PIR), in the Spanish original and the authors' English machine translation.

Two forms, both read (format checked in BigBio's loader ``bigbio/hub/hub_repos/head_qa/head_qa.py``
and the project page https://aghie.github.io/head-qa/):

- **The release** (``HEAD.zip`` / ``HEAD_EN.zip``): ``HEAD/{train,dev,test}_HEAD.json`` and
  ``HEAD_EN/{train,dev,test}_HEAD_EN.json`` (plus ``HEAD.json``, every exam without a split).
  Each file is one JSON object ``{"version", "language", "exams": {<exam>: {"name", "year",
  "category", "data": [{"qid", "qtext", "ra", "image", "answers": [{"aid", "atext"}]}]}}}``;
  ``qid`` and ``ra`` are strings of numbers, ``aid`` numbers.
- **A Hub copy** (``EleutherAI/headqa``, configs ``es`` and ``en``: lm-evaluation-harness
  ``lm_eval/tasks/headqa/headqa_en.yaml`` reads it with ``dataset_name: en`` and the fields
  ``qtext``, ``ra``, ``answers[].atext``), one row per question with the exam's ``name, year,
  category`` and ``qid, qtext, ra, image, answers``; read as Parquet under a config folder,
  ``<es|en>/<split>-*.parquet`` (the standard Hub layout of a configured dataset; the exact file
  names there were not visible). The harness takes ``ra - 1`` as a position; this adapter
  matches ``ra`` against ``aid`` instead, which is the same when the aids run 1..n in order and
  still right when they do not.

Mapping, deliberately:

- ``ra`` is the **id** of the right answer (not a position): the options are sorted by ``aid``
  and the answer is the letter of the option whose ``aid == ra``; an ``ra`` that matches no
  ``aid`` is a reject.
- A question whose ``image`` is set refers to a picture that is not in the text files: rejected
  (the question cannot be answered from its text).
- language: the file's ``language`` field, else ``_EN`` in the file name or ``en`` folder -> ``en``,
  otherwise ``es``. English rows carry ``translation = {system: "head-qa-en (authors' machine
  translation)", source_lang: "es"}``: HEAD_EN was machine-translated from the Spanish exams.
- ``source_id`` = ``<exam name>/<qid>``, the same in both languages, so an item and its
  translation share ``origin_id`` (and a split).
- split: from the file name (``dev`` -> ``validation``). HEAD-QA has no explanations.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.schema import Entry, Translation, letter
from globmed.sources._files import files_under, iter_parquet, split_from_name, text
from globmed.sources._rows import ExpectedGap, RowError, RowMappedSource
from globmed.sources.base import Reject, load_json, register

HUB_REPO = "EleutherAI/headqa"
EN_TRANSLATION = Translation(system="head-qa-en (authors' machine translation)", source_lang="es")


@register
class HeadQASource(RowMappedSource):
    name = "headqa"
    tasks = ("mcq",)
    languages = ("es", "en")
    expected_files = ("a folder with HEAD/{train,dev,test}_HEAD.json and HEAD_EN/..._HEAD_EN.json, "
                      "or the Hub's <es|en>/*.parquet, or one such file")

    def default_path(self) -> Path:
        from globmed.sources.fetch import hub_snapshot

        return hub_snapshot(self.name, HUB_REPO, allow_patterns=["*.parquet", "*.json"])

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        for file in files_under(root, (".json", ".parquet")):
            split = split_from_name(file.name)
            if file.suffix.lower() == ".parquet":
                lang = self._lang_of(file, None)
                if langs is not None and lang not in langs:
                    continue
                rows: Iterator[tuple[Any, Any]] = iter_parquet(file)
            else:
                doc = load_json(file)
                if not isinstance(doc, dict) or not isinstance(doc.get("exams"), dict):
                    yield self.reject(file, None, "not a HEAD-QA file: expected an object with an 'exams' object")
                    continue
                lang = self._lang_of(file, doc.get("language"))
                if langs is not None and lang not in langs:
                    continue
                rows = self._exam_rows(doc["exams"])
            translation = EN_TRANSLATION if lang == "en" else None
            for rowno, row in rows:
                item = self.entry_or_reject(row, file=file, rowno=rowno, lang=lang, split=split,
                                            fallback_id=f"{file.stem}/{rowno}", translation=translation)
                if item is not None:
                    yield item

    @staticmethod
    def _lang_of(file: Path, declared: Any) -> str:
        if isinstance(declared, str) and declared.strip().lower() in {"es", "en"}:
            return declared.strip().lower()
        if "_EN" in file.name.upper() or "en" in (p.lower() for p in file.parent.parts[-2:]):
            return "en"
        return "es"

    @staticmethod
    def _exam_rows(exams: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        """Question rows with their exam's fields; the row is named ``<exam key>#<position>``."""
        for key, exam in exams.items():
            if not isinstance(exam, dict) or not isinstance(exam.get("data"), list):
                yield f"{key}", ValueError(f"exam {key!r} has no 'data' list")
                continue
            for i, question in enumerate(exam["data"], 1):
                if not isinstance(question, dict):
                    yield f"{key}#{i}", question
                    continue
                yield f"{key}#{i}", {"name": exam.get("name", key), "year": exam.get("year"),
                                     "category": exam.get("category"), **question}

    def row_fields(self, row: dict[str, Any], *, lang: str, split: str | None, fallback_id: str) -> dict[str, Any]:
        name, qid = text(row.get("name"), "name"), text(row.get("qid"), "qid")
        if not name or not qid:
            raise RowError("missing exam name or qid")
        image = row.get("image")
        if isinstance(image, dict):  # the Hub Parquet's Image feature: {bytes, path}
            image = image.get("path") or ("(embedded)" if image.get("bytes") else "")
        if image and (not isinstance(image, str) or image.strip()):
            raise ExpectedGap(f"question refers to an image ({str(image).strip()[:80]}) that the text release lacks")
        question = text(row.get("qtext"), "qtext")
        if not question:
            raise RowError("missing qtext")
        answers = row.get("answers")
        if not isinstance(answers, list) or len(answers) < 2:
            raise RowError("answers must be a list of at least two {aid, atext}")
        try:
            pairs = sorted((int(a["aid"]), text(a.get("atext"), "atext")) for a in answers)
            right = int(text(row.get("ra"), "ra"))
        except (KeyError, TypeError, ValueError):
            raise RowError(f"aid / ra must be numbers (ra={row.get('ra')!r})") from None
        aids = [aid for aid, _ in pairs]
        if right not in aids:
            raise RowError(f"ra {right} is not among the answer ids {aids}")
        return dict(
            source_id=f"{name}/{qid}",
            task="mcq",
            question=question,
            options=[atext for _, atext in pairs],
            answer=[letter(aids.index(right))],
        )
