"""The already-translated GlobMed files published on the Hub, imported instead of re-translated.

Evidence for the layout (the Hub is unreachable from here; these are what the search tool's
stored pages show, nothing more):

- The collection https://huggingface.co/collections/ruiyang-medinfo/globmed (paper
  arXiv:2601.02186) lists one dataset repo per source: ``ruiyang-medinfo/GlobMed_MedQA``,
  ``GlobMed_MedMCQA``, ``GlobMed_HeadQA``, ``GlobMed_PubMedQA``, ``GlobMed_BioNLI``,
  ``GlobMed_LiveQA``, ``GlobMed_MedExpQA``, ``GlobMed_ExpertQA-Med``, ``GlobMed_ExpertQA-Bio``,
  ``GlobMed_MMLU-Pro``; the repo cards say "Formats: json", "License: mit".
- ``GlobMed_LiveQA/tree/main`` shows one folder per language (``ar``, ``bn``, ``de``, ``en``,
  ``es``, ``fr``, ``hi``, ``id``, ``ja``, ``ko``, ``ms``, ...); the Parquet conversion of
  ``GlobMed_MedQA`` has ``<lang>/train`` and ``<lang>/test`` splits, i.e. ``<lang>/train.json`` and
  ``<lang>/test.json``.
- The field layout of the rows could NOT be seen. This adapter implements the layout best
  supported by that evidence: each row keeps the fields of its source's own release (the
  files are translations of those releases), so the row is mapped by the original adapter's
  :meth:`~globmed.sources._rows.RowMappedSource.row_fields` (MedQA's ``options``/``answer_idx``,
  MedMCQA's ``opa..opd``/``cop``, PubMedQA's ``QUESTION``/``CONTEXTS``/``final_decision``...). A file
  may be a JSON array or JSON Lines. A repo whose source has no row mapping here (LiveQA,
  MedExpQA, ExpertQA: part B adapters) has its files rejected with that reason.
- Because that layout is unverified, a file whose first :data:`PROBE_ROWS` rows all fail the
  original's mapping stops the read with a :class:`GlobmedError` that names the fields seen (never
  a build of rejects only); ``globmed sources inspect globmed_hub=PATH`` shows, on the first real
  file, the fields found, the entries the first rows map to and the fields not used. A file that
  cannot be placed (outside a ``<lang>/`` folder, not ``.json``/``.jsonl``/``.parquet``, or naming
  no split) is a file-level reject.

Ids and splits: ``source_id`` is ``<source>/<the original adapter's id>`` and ``origin_id`` is the
original's ``<source>/<id>``: for sources whose rows carry their own id (MedMCQA ``id``, PubMedQA
PMID key, HEAD-QA exam + qid, MMLU-Pro ``question_id``, BioNLI ``index``) an imported translation
shares its original's split. Rows without one (MedQA) are named ``hub/<split>/<row>``, parallel
across the languages of one repo. The file name is the upstream split (``train``/``test``).

Provenance: rows in a language other than the repo's ``source_lang`` (``en``) carry
``translation = {system: <row's "translation_system"> or "globmed-hub", source_lang: "en"}``.
Licence: each row keeps its original source's licence (the translations are derivatives).

The repo -> source table is data: ``globmed_hub.repos`` in ``sources.yaml``. Pass a folder of
repo folders (``GlobMed_MedQA/<lang>/train.json``) or one repo folder; with no path every repo is
fetched with ``huggingface_hub``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.errors import GlobmedError
from globmed.languages import language_codes
from globmed.schema import Entry, Translation, make_origin_id
from globmed.sources._files import iter_rows, split_from_name, text
from globmed.sources._rows import ExpectedGap, RowError, RowMappedSource
from globmed.sources.base import Reject, Source, _metadata, get_source, register

HUB_OWNER = "ruiyang-medinfo"
DATA_SUFFIXES = {".json", ".jsonl", ".parquet"}
PROBE_ROWS = 10
"""A file whose first this-many rows all fail the mapping has an unknown layout: an error, not rejects."""
DEFAULT_SYSTEM = "globmed-hub"


def hub_repos() -> dict[str, dict[str, str]]:
    """``{repo folder name: {"source": adapter name, "source_lang": code}}`` from sources.yaml."""
    repos = _metadata().get("globmed_hub", {}).get("repos") or {}
    return {name: {"source": str(v["source"]), "source_lang": str(v.get("source_lang", "en"))}
            for name, v in repos.items()}


@register
class GlobMedHubSource(Source):
    name = "globmed_hub"
    tasks = ("mcq", "yes_no_maybe", "nli", "open_qa")
    languages = ("en", "zh", "ja", "ko", "es", "fr", "de", "pt", "sw", "wo", "yo", "zu")
    expected_files = "a folder of GlobMed_<Source>/<lang>/{train,test}.json (or one such repo folder)"

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        repos = hub_repos()
        if path is None:
            from globmed.sources.fetch import hub_snapshot

            for repo in repos:
                folder = hub_snapshot(self.name, f"{HUB_OWNER}/{repo}", allow_patterns=["*/*.json", "*/*.jsonl"])
                yield from self._read_repo(folder, repo, langs)
            return
        root = self.resolve_path(path)
        if not root.is_dir():
            raise GlobmedError(f"source {self.name!r}: {root} is not a folder ({self.expected_files})")
        if root.name in repos:
            yield from self._read_repo(root, root.name, langs)
            return
        found = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name in repos]
        if not found:
            raise GlobmedError(f"source {self.name!r}: {root} holds none of the repo folders "
                               f"{', '.join(repos)} ({self.expected_files})")
        for folder in found:
            yield from self._read_repo(folder, folder.name, langs)

    def _read_repo(self, folder: Path, repo: str, langs: Collection[str] | None) -> Iterator[Entry | Reject]:
        config = hub_repos()[repo]
        known = set(language_codes())
        try:
            original = get_source(config["source"])
        except GlobmedError:
            original = None
        for file in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES):
            yield self.reject(file, None, f"not in a <lang>/ folder of {repo} ({self.expected_files})")
        for lang_dir in sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")):
            lang = lang_dir.name
            if lang not in known:
                yield self.reject(lang_dir, None, f"folder {lang!r} is not a registry language")
                continue
            if langs is not None and lang not in langs:
                continue
            for file in sorted(p for p in lang_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
                if file.suffix.lower() not in DATA_SUFFIXES or file.parent != lang_dir:
                    yield self.reject(file, None, f"not a <lang>/<split>.json, .jsonl or .parquet file of {repo}",
                                      lang=lang)
                elif not isinstance(original, RowMappedSource):
                    yield self.reject(file, None, f"no row mapping for source {config['source']!r} of {repo} "
                                                  "(its adapter is missing or reads whole files)", lang=lang)
                elif split_from_name(file.name) is None:
                    yield self.reject(file, None, "the file name names no split (train, validation, test)", lang=lang)
                else:
                    yield from self._read_file(file, lang, original, config, repo)

    def _read_file(self, file: Path, lang: str, original: RowMappedSource,
                   config: dict[str, str], repo: str) -> Iterator[Entry | Reject]:
        """The rows of one file. Until one row fits ``original``'s mapping the items are held back;
        when the first :data:`PROBE_ROWS` rows (or all, if fewer) fit none, the layout is not the one
        this adapter assumes: a :class:`GlobmedError` naming the fields seen, not a file of rejects."""
        split = split_from_name(file.name)
        held: list[Entry | Reject | None] = []
        fields: dict[str, None] = {}
        fitted = False
        for n, (rowno, row) in enumerate(iter_rows(file), 1):
            if rowno is None:  # about the file itself (an empty file): a file-level reject, no layout evidence
                yield self.reject(file, None, str(row), lang=lang)
                continue
            item, fits = self._map(row, file, rowno, lang, split, original, config)
            if fitted:
                if item is not None:
                    yield item
                continue
            held.append(item)
            fields.update(dict.fromkeys(row) if isinstance(row, dict) else {})
            if fits:
                fitted = True
                yield from (i for i in held if i is not None)
            elif n >= PROBE_ROWS:
                break
        if not fitted and held:
            first = next(i for i in held if isinstance(i, Reject))
            raise GlobmedError(
                f"{file}: the rows do not fit the {original.name} row mapping this adapter applies to {repo} "
                f"(none of the first {len(held)} rows maps; row {first.row}: {first.reason}); fields seen: "
                f"{', '.join(fields) or '(no JSON objects)'}. See `globmed sources inspect globmed_hub={file.parent.parent}` "
                "and fix the mapping (globmed_hub.repos in sources.yaml) before building")

    def _map(self, row: Any, file: Path, rowno: int | str, lang: str, split: str | None, original: RowMappedSource,
             config: dict[str, str]) -> tuple[Entry | Reject | None, bool]:
        """``(item, fits)``: the entry (``None`` for a row not part of the source), or a reject."""
        if isinstance(row, Exception):
            return self.reject(file, rowno, str(row), lang=lang), False
        if not isinstance(row, dict):
            return self.reject(file, rowno, f"expected a JSON object, got {type(row).__name__}", lang=lang), False
        try:
            fields = original.row_fields(row, lang=lang, split=split,
                                         fallback_id=rowno if isinstance(rowno, str) else f"hub/{split}/{rowno}")
            if fields is None:
                return None, True
            return self._entry(fields, row, file, rowno, lang, split, original, config), True
        except RowError as exc:  # an expected gap of the original (withheld answers, image items) stays expected
            return self.reject(file, rowno, str(exc), lang=lang, expected=isinstance(exc, ExpectedGap)), False

    def _entry(self, fields: dict[str, Any], row: dict[str, Any], file: Path, rowno: int, lang: str,
               split: str | None, original: RowMappedSource, config: dict[str, str]) -> Entry:
        sid = fields.pop("source_id")
        fields.pop("translation", None)
        translation = None
        if lang != config["source_lang"]:
            translation = Translation(system=text(row.get("translation_system"), "translation_system") or DEFAULT_SYSTEM,
                                      source_lang=config["source_lang"])
        return Entry.create(
            source=self.name,
            lang=lang,
            source_id=f"{original.name}/{sid}",
            origin_id=make_origin_id(original.name, sid),
            license=original.license,
            translation=translation,
            upstream_split=split,
            upstream_file=str(file),
            upstream_row=rowno,
            **fields,
        )
