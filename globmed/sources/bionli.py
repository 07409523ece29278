"""BioNLI (Bastan et al. 2022): biomedical NLI from PubMed abstracts, English, CC BY 4.0.

Evidence for the format (no sample file is public in a repository; the data are on Google
Drive, links in https://github.com/StonyBrookNLP/BioNLI README, test set on request): the
authors' own code (``src/data_preparation.py``) reads a CSV with the columns ``index``,
``pmid``, ``supp_set`` (the premise: the abstract's supporting sentences), ``conclusion`` (the
hypothesis) and ``label_cat``: ``pos`` for the abstract's real conclusion, and otherwise the name of
the perturbation that made an inconsistent conclusion (``SRE``, ``SEN``, ``SEP``, ``SREO``, ``LPR``,
``swap_number``, ``posToNeg``, ``negToPos``, ``generation``, ``generation_nd``, ``generation_nd_SEN``,
``generation_nd_SRE``, ``SET``), mapping ``pos`` -> 1 and every other category -> 0. The Hub copy
``tasksource/BioNLI`` (cc-by-4.0) holds the same released files per split.

Mapping, deliberately:

- BioNLI is **binary** (consistent / inconsistent conclusion); it has no neutral class. So
  ``label_cat == "pos"`` -> ``entailment``, any perturbation category -> ``contradiction``, and
  ``options`` = ``["entailment", "contradiction"]`` (never ``neutral``). An unknown category is a
  reject (it is not guessed).
- Without ``label_cat``, a ``label`` column is used: ``pos``/``1``/``entailment`` -> entailment,
  ``neg``/``0``/``contradiction`` -> contradiction; anything else is a reject.
- ``supp_set`` -> ``context`` (premise), ``conclusion`` -> ``question`` (hypothesis).
- ``source_id``: the ``index`` (or ``id``) column when present, else ``<pmid>/<file stem>-<row>``.
- split: from the file name (``train``, ``dev``/``val`` -> ``validation``, ``test``).
- Files: every ``.csv``, ``.tsv``, ``.jsonl``, ``.json`` or ``.parquet`` under the path.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.schema import Entry
from globmed.sources._files import files_under, iter_rows, require_columns, split_from_name, text
from globmed.sources._rows import RowError, RowMappedSource
from globmed.sources.base import Reject, register

HUB_REPO = "tasksource/BioNLI"
PERTURBATIONS = frozenset({
    "SRE", "SEN", "SEP", "SREO", "LPR", "SET", "swap_number", "posToNeg", "negToPos",
    "generation", "generation_nd", "generation_nd_SEN", "generation_nd_SRE",
})
"""Inconsistent-conclusion categories named in the authors' data_preparation.py."""
LABEL_VALUES: dict[str, str] = {
    "pos": "entailment", "1": "entailment", "entailment": "entailment",
    "neg": "contradiction", "0": "contradiction", "contradiction": "contradiction",
}
OPTIONS = ["entailment", "contradiction"]
REQUIRED = ("supp_set", "conclusion", ("label_cat", "label"))
"""Columns a CSV/Parquet file must have (a file without one is one error, not a reject per row)."""


@register
class BioNLISource(RowMappedSource):
    name = "bionli"
    tasks = ("nli",)
    languages = ("en",)
    expected_files = ("a folder of BioNLI split files (train/dev/test .csv, .jsonl or .parquet with "
                      "supp_set, conclusion, label_cat), or one such file")

    def default_path(self) -> Path:
        from globmed.sources.fetch import hub_snapshot

        return hub_snapshot(self.name, HUB_REPO, allow_patterns=["*.parquet", "*.csv", "*.json", "*.jsonl"])

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        if not self.check_langs(langs):
            return
        for file in files_under(root, (".csv", ".tsv", ".jsonl", ".json", ".parquet")):
            split = split_from_name(file.name)
            require_columns(file, REQUIRED)
            for rowno, row in iter_rows(file):
                item = self.entry_or_reject(row, file=file, rowno=rowno, lang="en", split=split,
                                            fallback_id=f"{file.stem}-{rowno}")
                if item is not None:
                    yield item

    def row_fields(self, row: dict[str, Any], *, lang: str, split: str | None, fallback_id: str) -> dict[str, Any]:
        premise, hypothesis = text(row.get("supp_set"), "supp_set"), text(row.get("conclusion"), "conclusion")
        if not premise:
            raise RowError("missing supp_set (premise)")
        if not hypothesis:
            raise RowError("missing conclusion (hypothesis)")
        category = text(row.get("label_cat"))
        if category:
            if category == "pos":
                label = "entailment"
            elif category in PERTURBATIONS:
                label = "contradiction"
            else:
                raise RowError(f"unknown label_cat {category!r} (expected pos or a perturbation category)")
        else:
            raw = text(row.get("label")).lower()
            if raw not in LABEL_VALUES:
                raise RowError(f"no label_cat and label {row.get('label')!r} is not one of {sorted(LABEL_VALUES)}")
            label = LABEL_VALUES[raw]
        own_id = text(row.get("index")) or text(row.get("id"))
        pmid = text(row.get("pmid"))
        source_id = own_id or (f"{pmid}/{fallback_id}" if pmid else fallback_id)
        return dict(
            source_id=source_id,
            task="nli",
            question=hypothesis,
            context=premise,
            options=list(OPTIONS),
            answer=[label],
        )
