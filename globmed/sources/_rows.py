"""A source whose upstream rows map one-to-one onto entries.

Part-A adapters (medqa, medmcqa, headqa, pubmedqa, bionli, mmlu_pro_health) split their
work in two: finding the files (and the language and upstream split each one holds), and
mapping one upstream row with :meth:`RowMappedSource.row_fields`. Keeping the row mapping
separate lets ``globmed_hub`` read the published GlobMed translations, whose rows keep
their source's fields, with the very same mapping (and so the same ``source_id`` and
``origin_id`` as the original item).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection
from pathlib import Path
from typing import Any

from globmed.schema import Entry, Translation
from globmed.sources.base import Reject, Source


class RowError(Exception):
    """A row that cannot be mapped; the message is the reject reason."""


class ExpectedGap(RowError):
    """A row the upstream release documents as unusable (a public test set without answers, an item
    that needs an image it does not ship): rejected, marked ``expected``, not a ``--strict`` failure."""


class RowMappedSource(Source):
    """A source with a per-row mapping; subclasses implement :meth:`row_fields`."""

    @abstractmethod
    def row_fields(self, row: Any, *, lang: str, split: str | None, fallback_id: str) -> dict[str, Any] | None:
        """Map one upstream row to ``Entry.create`` keyword arguments (``source_id``, ``task``,
        ``question``, ``options``, ``answer``, ``context``, ``explanation``, optionally
        ``translation``); ``None`` skips a row that is not part of this source (not an error);
        raise :class:`RowError` with the reason for a row that is malformed.

        ``fallback_id`` names the row by its place (``<file stem>/<row>``) for formats whose
        rows carry no id of their own."""

    def entry_or_reject(
        self,
        row: Any,
        *,
        file: Path,
        rowno: int | str,
        lang: str,
        split: str | None,
        fallback_id: str,
        translation: Translation | None = None,
        **row_options: Any,
    ) -> Entry | Reject | None:
        """Run :meth:`row_fields` on one row and wrap the outcome (never raises for a bad row).
        ``row_options`` go to :meth:`row_fields` (a file-level fact such as MedMCQA's ``cop_base``)."""
        if isinstance(row, Exception):
            return self.reject(file, rowno, str(row), lang=lang)
        if not isinstance(row, dict):
            return self.reject(file, rowno, f"expected a JSON object, got {type(row).__name__}", lang=lang)
        try:
            fields = self.row_fields(row, lang=lang, split=split, fallback_id=fallback_id, **row_options)
        except RowError as exc:
            return self.reject(file, rowno, str(exc), lang=lang, expected=isinstance(exc, ExpectedGap))
        if fields is None:
            return None
        fields.setdefault("translation", translation)
        return Entry.create(
            source=self.name,
            lang=lang,
            license=self.license,
            upstream_split=split,
            upstream_file=str(file),
            upstream_row=rowno,
            **fields,
        )

    def check_langs(self, langs: Collection[str] | None) -> bool:
        """Whether any of this source's languages is wanted (``None`` = all)."""
        return langs is None or any(lang in langs for lang in self.languages)
