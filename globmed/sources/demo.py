"""The demo source: a small parallel medical QA set written for this project.

Upstream-style raw format, one JSON Lines file per language (``<lang>.jsonl``), the
same ``qid`` across languages for the same item. Each line is one of:

- ``{"qid", "kind": "mcq", "question", "options": {"A": ..., "B": ...}, "answer_idx": "B", "explanation"}``
  (MedQA style; the answer may also be a list of letters for a multi-answer item)
- ``{"qid", "kind": "yes_no_maybe", "question", "context", "final_decision": "yes"|"no"|"maybe", "explanation"}``
  (PubMedQA style)
- ``{"qid", "kind": "nli", "premise", "hypothesis", "label": "entailment"|"neutral"|"contradiction", "explanation"}``
  (MedNLI style)

Any line may carry ``"split": "train"|"validation"|"test"`` (an upstream split, kept by
the build). The data ships in ``globmed/sources/demo_data/``; ``--source demo=DIR`` reads the same
layout from another folder (or one ``<lang>.jsonl`` file).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from globmed.languages import language_codes
from globmed.schema import LETTERS, TASK_LABELS, Entry
from globmed.sources.base import (
    JsonlShard,
    ReadInParts,
    Reject,
    Source,
    iter_jsonl_shard,
    jsonl_shards,
    register,
)


@register
class DemoSource(ReadInParts, Source):
    name = "demo"
    tasks = ("mcq", "yes_no_maybe", "nli")
    languages = ("en", "zh", "ja", "ko", "es", "fr", "de", "pt", "sw", "wo", "yo", "zu")
    expected_files = "a folder of <lang>.jsonl files in the demo format, or one such file"
    shard_bytes = 4 << 20
    """Size of the parts a build's worker processes read in parallel."""

    def default_path(self) -> Path:
        return Path(str(resources.files("globmed.sources").joinpath("demo_data")))

    def files(self, path: Path) -> list[Path]:
        return [path] if path.is_file() else sorted(path.glob("*.jsonl"))

    def shards(self, path: Path | None = None, langs: Collection[str] | None = None) -> list[Any]:
        """Parts of about 4 MB of each language file; a file not named for a language is one part (its reject)."""
        root = self.resolve_path(path)
        known = set(language_codes())
        out: list[Any] = []
        for file in self.files(root):
            if file.stem not in known:
                out.append(file)
            elif langs is None or file.stem in langs:
                out += jsonl_shards(file, self.shard_bytes)
        return out

    def read_shard(self, path: Path | None, langs: Collection[str] | None, shard: Any) -> Iterator[Entry | Reject]:
        if not isinstance(shard, JsonlShard):
            yield self.reject(shard, None, f"file name {shard.name!r} is not <lang>.jsonl for a registry language")
            return
        file, lang = shard.path, shard.path.stem
        per_file = (str(file), self.license)  # the same for every row
        for rowno, row in iter_jsonl_shard(shard):
            if isinstance(row, Exception):
                yield self.reject(file, rowno, str(row), lang=lang)
                continue
            yield self._entry(row, file, rowno, lang, per_file)

    def _entry(self, row: Any, file: Path, rowno: int, lang: str,
               per_file: tuple[str, str] | None = None) -> Entry | Reject:
        if not isinstance(row, dict):
            return self.reject(file, rowno, f"expected a JSON object, got {type(row).__name__}", lang=lang)
        qid = row.get("qid")
        if not isinstance(qid, str) or not qid.strip():
            return self.reject(file, rowno, "missing qid", lang=lang)
        file_name, license = per_file if per_file is not None else (str(file), self.license)
        kind = row.get("kind")
        get = row.get
        if kind == "mcq":
            options = get("options")
            if not isinstance(options, dict):
                return self.reject(file, rowno, "options must be an object of letter -> text", id=qid, lang=lang)
            keys = list(options)
            if keys != list(LETTERS[: len(keys)]):
                return self.reject(
                    file, rowno, f"option keys must be A, B, C, ... in order, got {keys}", id=qid, lang=lang
                )
            if "answer_idx" not in row:
                return self.reject(file, rowno, "missing answer_idx", id=qid, lang=lang)
            answer = row["answer_idx"]
            return Entry.create(
                task="mcq", question=get("question", ""), options=list(options.values()),
                answer=answer if isinstance(answer, list) else [answer],
                source=self.name, lang=lang, source_id=qid, explanation=get("explanation", ""), license=license,
                upstream_split=get("split"), upstream_file=file_name, upstream_row=rowno,
            )
        if kind == "yes_no_maybe":
            if "final_decision" not in row:
                return self.reject(file, rowno, "missing final_decision", id=qid, lang=lang)
            return Entry.create(
                task="yes_no_maybe", question=get("question", ""), context=get("context", ""),
                options=list(TASK_LABELS["yes_no_maybe"]), answer=[row["final_decision"]],
                source=self.name, lang=lang, source_id=qid, explanation=get("explanation", ""), license=license,
                upstream_split=get("split"), upstream_file=file_name, upstream_row=rowno,
            )
        if kind == "nli":
            if "label" not in row:
                return self.reject(file, rowno, "missing label", id=qid, lang=lang)
            return Entry.create(
                task="nli", question=get("hypothesis", ""), context=get("premise", ""),
                options=list(TASK_LABELS["nli"]), answer=[row["label"]],
                source=self.name, lang=lang, source_id=qid, explanation=get("explanation", ""), license=license,
                upstream_split=get("split"), upstream_file=file_name, upstream_row=rowno,
            )
        return self.reject(file, rowno, f"unknown kind {kind!r} (expected mcq, yes_no_maybe, nli)", id=qid, lang=lang)
