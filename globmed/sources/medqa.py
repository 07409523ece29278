"""MedQA (Jin et al. 2021): USMLE questions (English) and the Chinese mainland MCMLE part.

Format, as released in ``data_clean.zip`` (checked in the authors' README at
https://github.com/jind11/MedQA and in BigBio's loader ``bigbio/hub/hub_repos/med_qa/med_qa.py``)::

    data_clean/questions/US/{train,dev,test}.jsonl                  5 options (A-E)
    data_clean/questions/US/4_options/phrases_no_exclude_{train,dev,test}.jsonl   4 options (A-D)
    data_clean/questions/US/US_qbank.jsonl                           every item, no split
    data_clean/questions/Mainland/{train,dev,test}.jsonl             simplified Chinese, 5 options
    data_clean/questions/Mainland/4_options/...                      4-option version
    data_clean/questions/Taiwan/...                                  traditional Chinese: NOT read

One JSON object per line: ``{"question", "options": {"A": ..., "E": ...}, "answer": <option text>,
"answer_idx": "<letter>", "meta_info": "step1" | ...}``. The US 4-option files add
``metamap_phrases``; the Mainland 4-option files do not (they are the 5-option rows with one
wrong option dropped).

Mapping, deliberately:

- language: ``US`` -> ``en``, ``Mainland`` -> ``zh`` (simplified). The ``Taiwan`` folder is not
  read (traditional Chinese; the registry's ``zh`` is simplified): its files are skipped.
- split: from the file name (``train``, ``dev`` -> ``validation``, ``test``): the authors'
  official random split. The ``*_qbank.jsonl`` files (every item again, without a split) and
  ``metamap`` folders are skipped when split files exist, so no item is read twice.
- Every ``.jsonl`` found is placed: read, left out by one of these rules (logged), or rejected at
  file level: a file under no ``US/`` / ``Mainland/`` folder (its language is unknown; also when
  given as the one file: put it under such a folder), or one whose name names no split and is not
  a ``*qbank*`` file.
- 5 or 4 options: the 5-option files are the originals; a 4-option file is read only when
  the 5-option file of the same region and split is absent. Both number their lines the same
  way, so the ``source_id`` ``<region>/<split>/<line>`` (e.g. ``us/test/17``) names the same
  question in either version.
- answer: ``answer_idx`` (a letter) -> ``[letter]``; it must name an option, and when
  ``answer`` (the text) is present it must equal that option's text, else the row is rejected.
- MedQA has no explanations: ``explanation`` is empty.

With no path, the archive is downloaded from the authors' Google Drive link (the one BigBio
uses) into the HF cache; offline, the error says to pass ``--source medqa=PATH``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.schema import LETTERS, Entry
from globmed.sources._files import PART_BYTES, download_archive, split_from_name, text
from globmed.sources._placing import left_out
from globmed.sources._rows import RowError, RowMappedSource
from globmed.sources.base import ReadInParts, Reject, iter_jsonl_shard, jsonl_shards, register

REGIONS: dict[str, str] = {"US": "en", "Mainland": "zh"}
"""Question folders read, and their language. ``Taiwan`` is deliberately absent."""
SKIPPED_REGIONS = ("Taiwan",)
DOWNLOAD_URL = "https://drive.google.com/u/0/uc?export=download&confirm=t&id=1ImYUSLk9JbgHXOemfvyiDiirluZHPeQw"


@register
class MedQASource(ReadInParts, RowMappedSource):
    name = "medqa"
    tasks = ("mcq",)
    languages = ("en", "zh")
    mapped_fields = ("question", "options", "answer_idx", "answer")
    """Raw fields the mapping reads (``globmed sources inspect`` lists the others as not used)."""
    expected_files = ("MedQA data_clean folder (or questions/, or one .jsonl under US/ or Mainland/): "
                      "US/{train,dev,test}.jsonl, Mainland/{train,dev,test}.jsonl, 4_options/ as fallback; "
                      "Taiwan/ is not read")

    def default_path(self) -> Path:
        return download_archive(self.name, DOWNLOAD_URL, "data_clean.zip")

    part_bytes = PART_BYTES
    """Size of the parts of a question file that build workers read in parallel."""

    def shards(self, path: Path | None = None, langs: Collection[str] | None = None) -> list[tuple[str, str | None,
                                                                                                   Any]]:
        """``(region, split, part of its question file)``, in reading order; a file that cannot be
        placed is a ``("", reason, file)`` shard, read as one file-level reject."""
        root = self.resolve_path(path)
        files, unplaced = self.plan(root)
        return [("", reason, file) for file, reason in unplaced] + [
            (region, split, shard) for file, region, split in files
            if langs is None or REGIONS[region] in langs for shard in jsonl_shards(file, self.part_bytes)]

    def read_shard(self, path: Path | None, langs: Collection[str] | None,
                   shard: tuple[str, str | None, Any]) -> Iterator[Entry | Reject]:
        region, split, part = shard
        if not region:
            yield self.reject(part, None, split or "cannot be placed")
            return
        lang = REGIONS[region]
        for rowno, row in iter_jsonl_shard(part):
            item = self.entry_or_reject(row, file=part.path, rowno=rowno, lang=lang, split=split,
                                        fallback_id=f"{region.lower()}/{split or 'all'}/{rowno}")
            if item is not None:
                yield item

    def question_files(self, root: Path) -> list[tuple[Path, str, str | None]]:
        """``(file, region, split)`` to read, 5-option files first choice, no item twice."""
        return self.plan(root)[0]

    def plan(self, root: Path) -> tuple[list[tuple[Path, str, str | None]], list[tuple[Path, str]]]:
        """``([(file, region, split), ...] to read, [(file, reason), ...] that cannot be placed)``."""
        files = [root] if root.is_file() else sorted(root.rglob("*.jsonl"))
        chosen: dict[tuple[str, str | None], tuple[int, Path]] = {}
        unplaced: list[tuple[Path, str]] = []
        for file in files:
            parts = file.parts
            region = next((r for r in REGIONS if r in parts), None)
            if any(r in parts for r in SKIPPED_REGIONS):
                left_out(self.name, file, "Taiwan (traditional Chinese) is not read")
                continue
            if "metamap" in "/".join(parts).lower():
                left_out(self.name, file, "MetaMap phrases, not questions")
                continue
            if region is None:
                unplaced.append((file, f"not under a {' or '.join(f'{r}/' for r in REGIONS)} folder, so its "
                                       "language is unknown (keep MedQA's questions/<region>/ layout)"))
                continue
            split = split_from_name(file.name)
            if split is None and "qbank" not in file.name.lower():
                unplaced.append((file, "the file name names no split (train, dev, test) and it is not a *qbank* file"))
                continue
            rank = 1 if "4_options" in parts else 0
            key = (region, split)
            if key in chosen and rank >= chosen[key][0]:
                left_out(self.name, file, f"{chosen[key][1].name} holds the same {region} {split or 'qbank'} items")
                continue
            if key in chosen:
                left_out(self.name, chosen[key][1], f"{file.name} holds the same {region} {split} items")
            chosen[key] = (rank, file)
        regions_with_splits = {region for region, split in chosen if split is not None}
        read = []
        for (region, split), (_, file) in sorted(chosen.items(), key=str):
            if split is None and region in regions_with_splits:
                left_out(self.name, file, "every item without a split; the split files are read instead")
            else:
                read.append((file, region, split))
        return read, unplaced

    def row_fields(self, row: dict[str, Any], *, lang: str, split: str | None, fallback_id: str) -> dict[str, Any]:
        question = text(row.get("question"))
        if not question:
            raise RowError("missing question")
        options = row.get("options")
        if not isinstance(options, dict) or not options:
            raise RowError("options must be an object of letter -> text")
        keys = list(options)
        if keys != list(LETTERS[: len(keys)]):
            raise RowError(f"option keys must be A, B, C, ... in order, got {keys}")
        answer = text(row.get("answer_idx"))
        if answer not in keys:
            raise RowError(f"answer_idx {row.get('answer_idx')!r} is not one of the option keys {keys}")
        answer_text = row.get("answer")
        if answer_text is not None and text(answer_text) != text(options[answer]):
            raise RowError(f"answer text {answer_text!r} does not match option {answer} ({options[answer]!r})")
        return dict(
            source_id=fallback_id,
            task="mcq",
            question=question,
            options=[text(v) for v in options.values()],
            answer=[answer],
        )
