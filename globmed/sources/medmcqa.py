"""MedMCQA (Pal et al. 2022): Indian AIIMS / NEET PG entrance exam questions, English.

Two forms exist, and their answer keys are encoded differently:

- **The original release** (``data.zip`` from the Google Drive link in
  https://github.com/medmcqa/medmcqa README): ``train.json``, ``dev.json``, ``test.json``, JSON
  Lines despite the name, one object per line ``{"id", "question", "opa", "opb", "opc", "opd",
  "cop", "choice_type": "single"|"multi", "exp", "subject_name", "topic_name"}``. ``cop`` is
  **1-based** there: the README's example has ``"cop": 1`` with the answer ``opa``, and the
  authors' own loader (``dataset.py``) does ``label = cop - 1``.
- **The Hub copy** (``openlifescienceai/medmcqa``, Parquet ``data/{train,validation,test}-*.parquet``):
  ``cop`` is a ``ClassLabel`` over ``a, b, c, d``, i.e. **0-based**, and the unanswered test rows
  carry ``-1`` (lm-evaluation-harness ``lm_eval/tasks/medmcqa/medmcqa.yaml`` reads
  ``openlifescienceai/medmcqa`` with ``doc_to_target: cop`` and ``doc_to_choice: [A, B, C, D]``,
  i.e. ``cop`` is the 0-based index).

The adapter takes the encoding from the file form, never from the values: ``.json``/``.jsonl``
-> 1-based, ``.parquet`` -> 0-based (:data:`COP_BASE`). A value outside the range is a reject.

- The public **test** split has no answer key (the authors withhold it; ``cop`` is missing,
  null or -1): each such row is rejected with that reason, marked *expected* (a documented gap:
  not a ``--strict`` failure). The same in a train/dev row is a malformed row ("no answer").
- A field of the wrong type (a JSON list as ``question``, an object as ``cop``) is a reject.
- ``exp`` (the expert explanation) -> ``explanation``; null or NaN -> empty.
- ``choice_type == "multi"`` rows still carry one ``cop``: they map to that one letter (the
  release has no other correct options to add).
- ``id`` (a UUID) -> ``source_id``; split from the file name (``dev`` -> ``validation``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.schema import Entry, letter
from globmed.sources._files import (
    PART_BYTES,
    RowPart,
    files_under,
    iter_row_part,
    require_columns,
    row_parts,
    split_from_name,
    text,
)
from globmed.sources._rows import ExpectedGap, RowError, RowMappedSource
from globmed.sources.base import ReadInParts, Reject, register

OPTION_KEYS = ("opa", "opb", "opc", "opd")
COP_BASE: dict[str, int] = {".json": 1, ".jsonl": 1, ".parquet": 0}
"""The first option's ``cop`` value, by file form (original release 1-based, Hub Parquet 0-based)."""
HUB_REPO = "openlifescienceai/medmcqa"
REQUIRED = ("question", *OPTION_KEYS, "cop")
"""Columns a Parquet file must have (one error naming the file and column, not a reject per row)."""
NO_KEY = "no answer key: the public MedMCQA test set withholds its answers"


@register
class MedMCQASource(ReadInParts, RowMappedSource):
    name = "medmcqa"
    tasks = ("mcq",)
    languages = ("en",)
    expected_files = ("a folder with train.json, dev.json (test.json: no answers) of the original release, "
                      "or the Hub's data/*.parquet, or one such file")

    def default_path(self) -> Path:
        from globmed.sources.fetch import hub_snapshot

        return hub_snapshot(self.name, HUB_REPO, allow_patterns=["*.parquet", "*.json"])

    part_bytes = PART_BYTES
    """Size of the parts of a JSON Lines file that build workers read in parallel (183k training rows)."""

    def shards(self, path: Path | None = None, langs: Collection[str] | None = None) -> list[RowPart]:
        root = self.resolve_path(path)
        if not self.check_langs(langs):
            return []
        parts: list[RowPart | Path] = []
        for file in files_under(root, COP_BASE):
            # a file it cannot place: one part, its file-level reject
            parts += row_parts(file, self.part_bytes) if split_from_name(file.name) else [file]
        return parts

    def read_shard(self, path: Path | None, langs: Collection[str] | None,
                   shard: RowPart | Path) -> Iterator[Entry | Reject]:
        if isinstance(shard, Path):
            yield self.reject(shard, None, f"file name {shard.name!r} names no split (expected train, dev or "
                              "test in it)", lang="en")
            return
        file = shard.path
        if shard.first_row == 1 and (shard.lines is None or shard.lines.start == 0):
            require_columns(file, REQUIRED)  # once per file (its first part): Parquet and CSV only
        split = split_from_name(file.name)
        cop_base = COP_BASE[file.suffix.lower()]
        for rowno, row in iter_row_part(shard):
            item = self.entry_or_reject(row, file=file, rowno=rowno, lang="en", split=split,
                                        fallback_id=f"{file.stem}/{rowno}", cop_base=cop_base)
            if item is not None:
                yield item

    def row_fields(self, row: dict[str, Any], *, lang: str, split: str | None, fallback_id: str,
                   cop_base: int = 1) -> dict[str, Any]:
        """``cop_base``: the value of the first option's ``cop`` (1 in the release's JSON files, the
        default, also for the GlobMed Hub translations, which are JSON; 0 in the Hub Parquet)."""
        base = cop_base
        qid = text(row.get("id"), "id") or fallback_id
        question = text(row.get("question"), "question")
        if not question:
            raise RowError("missing question")
        options = [text(row.get(k), k) for k in OPTION_KEYS]
        missing = [k for k, o in zip(OPTION_KEYS, options, strict=True) if not o]
        if missing:
            raise RowError(f"empty option(s) {', '.join(missing)}")
        cop = row.get("cop")
        if cop is None or (isinstance(cop, float) and cop != cop) or cop == -1 or cop == "":
            if split == "test":
                raise ExpectedGap(NO_KEY)
            raise RowError(f"no answer: cop is {cop!r} in a {split or 'split-less'} file")
        if isinstance(cop, bool) or not isinstance(cop, int | float | str):
            raise RowError(f"cop must be an option number, got {type(cop).__name__} {cop!r}")
        try:
            index = int(cop) - base
        except (TypeError, ValueError):
            raise RowError(f"cop {cop!r} is not an option number") from None
        if not 0 <= index < len(OPTION_KEYS):
            first = base
            raise RowError(f"cop {cop!r} is outside {first}..{first + len(OPTION_KEYS) - 1} "
                           f"({'1' if base else '0'}-based in this file form)")
        return dict(
            source_id=qid,
            task="mcq",
            question=question,
            options=options,
            answer=[letter(index)],
            explanation=text(row.get("exp"), "exp"),
        )
