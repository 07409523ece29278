"""ExpertQA: expert-written questions with expert-revised, attributed answers (medicine and biology only).

Format checked against chaitanyamalaviya/ExpertQA (``README.md``: "The main data can be found
at ``data/r2_compiled_anon.jsonl``", field list; ``data_utils/example_utils.py``: the
``Example`` / ``Answer`` / ``ExampleMetadata`` dataclasses; ``data/lfqa/domain_val.jsonl`` for
real rows; ``modeling/lfqa/convert_for_lfqa.py`` for how the authors turn revised answers into
references). One JSON object per line:

``{"question", "annotator_id", "answers": {<system>: {"answer_string", "attribution",
"claims", "revised_answer_string", "usefulness", "annotation_time", "annotator_id"}},
"metadata": {"question_type", "field", "specific_field"}}``

Mapping (deliberate):

- Only rows whose ``metadata.field`` is one of :data:`FIELDS` (``Healthcare / Medicine``,
  ``Biology``; compared case-insensitively) are read; other fields are skipped silently
  (they are out of scope, not malformed).
- task ``open_qa``; ``answer`` lists the expert-**revised** answers
  (``revised_answer_string``) of every system, in file order, with the ``[n]`` citation
  markers removed (as the authors' own LFQA conversion does) and duplicates dropped. A system
  without a revised answer contributes nothing; a question with no revised answer at all is
  rejected. ``explanation`` stays empty.
- Files, in a folder (checked against the repository tree at chaitanyamalaviya/ExpertQA main):
  the long-form QA splits ``data/lfqa/rand_{train,val,test}.jsonl`` (random split) and
  ``data/lfqa/domain_{train,val,test}.jsonl`` (split by domain) are the r2 schema above, and their
  split is kept (``val`` -> ``validation``). The two are two partitions of the same questions, so
  only one is read: ``rand_*`` when any is present, else ``domain_*``. Only when neither is present,
  ``r2_compiled_anon.jsonl`` (no split: the build's hash split applies), else another
  ``r2_compiled*.jsonl`` (``..._factscores_anon.jsonl``, same questions). Those files are in Git
  LFS and often only pointers: a pointer is a file-level reject saying so.
- Known files not read (logged): the other group of split files, the other compiled files, the
  authors' converted ``*_lfqa_{train,val,test}.json`` (the same questions, answer only) and round-1
  ``r1_*.jsonl`` (no revised answers). Any other ``.jsonl`` / ``.json`` under the folder is a
  file-level reject ("not an ExpertQA file"). A file given by path is read whatever its name.
- The id is a hash of the question text (the files have no question id), so a question has the
  same id in ``rand_*``, ``domain_*`` and ``r2_compiled_anon.jsonl``.

Licence: MIT (repository ``LICENSE``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.schema import Entry
from globmed.sources._placing import LFS_REASON, is_lfs_pointer, left_out
from globmed.sources.base import Reject, Source, iter_jsonl, register
from globmed.sources.fetch import url_download

FIELDS = ("healthcare / medicine", "biology")
URL = "https://media.githubusercontent.com/media/chaitanyamalaviya/ExpertQA/main/data/r2_compiled_anon.jsonl"  # Git LFS
MAIN_FILE = "r2_compiled_anon.jsonl"
SPLIT_FILE = re.compile(r"^(?P<group>rand|domain)_(?P<split>train|val|test)\.jsonl$")
SPLITS = {"train": "train", "val": "validation", "test": "test"}
KNOWN_UNREAD = (  # (file name pattern, why it is not read)
    (re.compile(r"^(rand|domain)_lfqa_(train|val|test)\.json$"),
     "the authors' LFQA conversion of the split files: same questions, answer text only"),
    (re.compile(r"^r1_.*\.jsonl$"), "round-1 data: no expert-revised answers"),
)
CITATION = re.compile(r"\s*\[\d+\]")


def _clean(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return re.sub(r"[ \t]+", " ", CITATION.sub("", text)).strip()


@register
class ExpertQASource(Source):
    name = "expertqa"
    tasks = ("open_qa",)
    languages = ("en",)
    mapped_fields = ("question", "answers.*.revised_answer_string", "metadata.field")
    """Raw fields the mapping reads (``globmed sources inspect`` lists the others as not used)."""
    expected_files = ("ExpertQA's data/ folder (lfqa/rand_{train,val,test}.jsonl, else domain_*, else "
                      "r2_compiled_anon.jsonl), or one such file")

    def default_path(self) -> Path:
        return url_download(self.name, URL, "r2_compiled_anon.jsonl")

    def plan(self, root: Path) -> tuple[list[tuple[Path, str | None]], list[tuple[Path, str]]]:
        """``([(file, split), ...] to read, [(file, reason), ...] to reject)`` under ``root``."""
        if root.is_file():
            if is_lfs_pointer(root):
                return [], [(root, LFS_REASON)]
            m = SPLIT_FILE.match(root.name)
            return [(root, SPLITS[m["split"]] if m else None)], []
        groups: dict[str, list[tuple[Path, str | None]]] = {"rand": [], "domain": [], "compiled": []}
        unplaced: list[tuple[Path, str]] = []
        for file in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in {".jsonl", ".json"}):
            m = SPLIT_FILE.match(file.name)
            if m:
                groups[m["group"]].append((file, SPLITS[m["split"]]))
            elif file.name.startswith("r2_compiled") and file.suffix == ".jsonl":
                groups["compiled"].append((file, None))
            elif any(pattern.match(file.name) for pattern, _ in KNOWN_UNREAD):
                left_out(self.name, file, next(why for pattern, why in KNOWN_UNREAD if pattern.match(file.name)))
            else:
                unplaced.append((file, "not an ExpertQA file: expected rand_/domain_{train,val,test}.jsonl "
                                       "or r2_compiled*.jsonl"))
        pulled = {name: [f for f in group if not is_lfs_pointer(f[0])] for name, group in groups.items()}
        main = [f for f in pulled["compiled"] if f[0].name == MAIN_FILE]
        # the groups hold the same questions: read one, preferring the random split
        chosen = pulled["rand"] or pulled["domain"] or main or pulled["compiled"][:1]
        chosen_group = next((g for g in groups.values() if chosen and chosen[0] in g), [])
        for group in groups.values():
            for item in group:
                if item in chosen:
                    continue
                if not chosen or (group is chosen_group and group is not groups["compiled"]):  # should have been read
                    unplaced.append((item[0], LFS_REASON))
                else:
                    left_out(self.name, item[0], "holds the same questions as the files read"
                             + (" (and is a Git LFS pointer)" if is_lfs_pointer(item[0]) else ""))
        return chosen, unplaced

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        files, unplaced = self.plan(root)
        for file, reason in unplaced:
            yield self.reject(file, None, reason, lang="en")
        if not files and not unplaced:
            yield self.reject(root, None, "no rand_/domain_{train,val,test}.jsonl or r2_compiled*.jsonl file found",
                              lang="en")
        for file, split in files:
            for rowno, row in iter_jsonl(file):
                if isinstance(row, Exception):
                    yield self.reject(file, rowno, str(row), lang="en")
                    continue
                item = self._entry(row, file, rowno, split)
                if item is not None:
                    yield item

    def _entry(self, row: Any, file: Path, rowno: int, split: str | None) -> Entry | Reject | None:
        if not isinstance(row, dict):
            return self.reject(file, rowno, f"expected a JSON object, got {type(row).__name__}", lang="en")
        metadata = row.get("metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("field"), str):
            return self.reject(file, rowno, "missing metadata.field", lang="en")
        if metadata["field"].strip().lower() not in FIELDS:
            return None
        if row.get("question") is not None and not isinstance(row.get("question"), str):
            return self.reject(file, rowno, f"question must be text, got {type(row['question']).__name__}", lang="en")
        question = row.get("question").strip() if isinstance(row.get("question"), str) else ""
        if not question:
            return self.reject(file, rowno, "empty question", lang="en")
        qid = hashlib.sha1(question.encode("utf-8")).hexdigest()[:16]
        answers = row.get("answers")
        if not isinstance(answers, dict):
            return self.reject(file, rowno, "answers must be an object of system -> answer", id=qid, lang="en")
        references: list[str] = []
        for answer in answers.values():
            text = _clean(answer.get("revised_answer_string")) if isinstance(answer, dict) else ""
            if text and text not in references:
                references.append(text)
        if not references:
            return self.reject(file, rowno, "no system has a revised_answer_string", id=qid, lang="en")
        return Entry.create(
            source=self.name, lang="en", source_id=qid, task="open_qa", question=question, answer=references,
            license=self.license, upstream_split=split, upstream_file=str(file), upstream_row=rowno,
        )
