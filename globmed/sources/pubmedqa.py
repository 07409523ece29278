"""PubMedQA PQA-L (Jin et al. 2019): 1,000 expert-labelled yes/no/maybe questions on PubMed abstracts.

Format, checked in https://github.com/pubmedqa/pubmedqa (``data/ori_pqal.json``,
``data/test_ground_truth.json``, ``preprocess/split_dataset.py``):

- ``ori_pqal.json``: ONE JSON object keyed by PMID, each value ``{"QUESTION", "CONTEXTS": [...],
  "LABELS": [...], "MESHES": [...], "YEAR": "2011" | null, "reasoning_required_pred",
  "reasoning_free_pred", "final_decision": "yes"|"no"|"maybe", "LONG_ANSWER"}``.
- ``test_ground_truth.json``: ``{PMID: "yes"|"no"|"maybe"}`` for the 500 official test items
  (``split_dataset.py pqal`` makes the same 500-item ``test_set.json`` and ten CV folds
  ``pqal_fold{i}/{train,dev}_set.json`` from the other 500).

Mapping, deliberately:

- ``final_decision`` -> ``answer`` (one of yes/no/maybe); ``options`` are the three labels.
  Any other value is a reject.
- ``CONTEXTS`` (the abstract without its conclusion) -> ``context``, each section prefixed by
  its ``LABELS`` entry when the two lists line up (``BACKGROUND: ...``), one section per line.
- ``LONG_ANSWER`` (the abstract's conclusion) -> ``explanation``.
- ``YEAR`` may be null; GlobMed has no year field, so it is not used (and never a reject).
- split: PMIDs in ``test_ground_truth.json`` (or in ``test_set.json`` / ``pqal_test_set.json``)
  are ``test``; with ``pqal_fold0/dev_set.json`` present its PMIDs are ``validation``; every other
  PMID is ``train``. Without a test file, no split is set (the build hashes). A test PMID whose
  ground truth disagrees with its ``final_decision`` is rejected.
- ``source_id`` = the PMID.

Pass the folder holding these files (``data/``, or the repository root), or ``ori_pqal.json``
itself (its sibling split files are then used). With no path, the two files are downloaded
from the repository on GitHub.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.errors import GlobmedError
from globmed.schema import TASK_LABELS, Entry
from globmed.sources._files import text
from globmed.sources._rows import RowError, RowMappedSource
from globmed.sources.base import Reject, load_json, register

RAW = "https://raw.githubusercontent.com/pubmedqa/pubmedqa/master/data/"
DATA_FILE = "ori_pqal.json"
TEST_FILES = ("test_ground_truth.json", "test_set.json", "pqal_test_set.json")
DEV_FILE = "pqal_fold0/dev_set.json"
LABELS = TASK_LABELS["yes_no_maybe"]


@register
class PubMedQASource(RowMappedSource):
    name = "pubmedqa"
    tasks = ("yes_no_maybe",)
    languages = ("en",)
    expected_files = "ori_pqal.json (+ test_ground_truth.json beside it for the official test split), or its folder"

    def default_path(self) -> Path:
        from globmed.sources.fetch import url_download

        data = url_download(self.name, RAW + DATA_FILE, DATA_FILE)
        url_download(self.name, RAW + TEST_FILES[0], TEST_FILES[0])
        return data

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        if not self.check_langs(langs):
            return
        data_file = root if root.is_file() else self._find(root, DATA_FILE)
        if data_file is None:
            raise GlobmedError(f"source {self.name!r}: no {DATA_FILE} in {root}")
        folder = data_file.parent
        test_truth, test_file = self._split_file(folder, TEST_FILES)
        dev_ids, _ = self._split_file(folder, (DEV_FILE,))
        data = load_json(data_file)
        if not isinstance(data, dict):
            raise GlobmedError(f"{data_file}: expected one JSON object keyed by PMID, got {type(data).__name__}")
        for pmid, row in data.items():
            if test_truth is not None:
                split = "test" if pmid in test_truth else "validation" if dev_ids and pmid in dev_ids else "train"
            else:
                split = None
            item = self.entry_or_reject(row, file=data_file, rowno=pmid, lang="en", split=split,
                                        fallback_id=str(pmid), test_truth=test_truth)
            if item is not None:
                yield item

    @staticmethod
    def _find(root: Path, name: str) -> Path | None:
        for candidate in (root / name, root / "data" / name):
            if candidate.is_file():
                return candidate
        return None

    def _split_file(self, folder: Path, names: tuple[str, ...]) -> tuple[dict[str, Any] | None, Path | None]:
        for name in names:
            path = folder / name
            if path.is_file():
                content = load_json(path)
                if not isinstance(content, dict):
                    raise GlobmedError(f"{path}: expected a JSON object keyed by PMID")
                return content, path
        return None, None

    def row_fields(self, row: dict[str, Any], *, lang: str, split: str | None, fallback_id: str,
                   test_truth: dict[str, Any] | None = None) -> dict[str, Any]:
        """``test_truth``: ``test_ground_truth.json`` (PMID -> label), checked against test rows."""
        question = text(row.get("QUESTION"), "QUESTION")
        if not question:
            raise RowError("missing QUESTION")
        decision = text(row.get("final_decision"), "final_decision").lower()
        if decision not in LABELS:
            raise RowError(f"final_decision {row.get('final_decision')!r} is not yes, no or maybe")
        truth = (test_truth or {}).get(fallback_id)
        if split == "test" and isinstance(truth, str) and truth.strip().lower() != decision:
            raise RowError(f"test_ground_truth says {truth!r} but final_decision is {decision!r}")
        contexts = row.get("CONTEXTS")
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise RowError("CONTEXTS must be a list of strings")
        labels = row.get("LABELS")
        if isinstance(labels, list) and len(labels) == len(contexts) and all(isinstance(x, str) for x in labels):
            sections = [f"{label.strip()}: {c.strip()}" for label, c in zip(labels, contexts, strict=True)]
        else:
            sections = [c.strip() for c in contexts]
        return dict(
            source_id=fallback_id,
            task="yes_no_maybe",
            question=question,
            context="\n".join(sections),
            options=list(LABELS),
            answer=[decision],
            explanation=text(row.get("LONG_ANSWER"), "LONG_ANSWER"),
        )
