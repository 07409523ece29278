"""Per-field size limits (``limits:`` in quality.yaml): an entry with a field longer than its limit
is rejected with the field, its size and the limit, before any other step sees it. A 1 MB question
is a broken upstream row (a file glued into a cell, a runaway quote), not a question to publish.

Unlike the other quality steps, its rejects count as bad upstream rows: a ``--strict`` build fails
on them (see :attr:`FieldLimitsStep.counts_for_strict`)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

from globmed.errors import GlobmedError
from globmed.pipeline import Batch, Step, StepResult

TEXT_FIELDS = ("question", "context", "explanation")
LIST_FIELDS = {"options": "option", "answer": "answer"}
"""List columns and the ``limits:`` key of their items (each option / each answer is limited)."""
KEYS = (*TEXT_FIELDS, *LIST_FIELDS.values())


class FieldLimitsStep(Step):
    """Rejects an entry whose ``question``/``context``/``explanation``, or any one option or answer, has
    more characters than ``limits:`` allows (a key left out or ``null``: no limit)."""

    name = "field_limits"
    counts_for_strict = True
    """Its rejects are bad upstream rows: ``--strict`` fails on them (other quality steps' do not)."""

    def __init__(self, settings: dict[str, Any], origin: str = "quality.yaml"):
        unknown = sorted(set(settings) - set(KEYS))
        if unknown:
            raise GlobmedError(f"{origin}: limits: unknown field(s) {', '.join(unknown)} (valid: {', '.join(KEYS)})")
        self.limits: dict[str, int] = {}
        for key, value in settings.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise GlobmedError(f"{origin}: limits: {key} must be a positive number of characters, got {value!r}")
            self.limits[key] = value

    def describe(self) -> dict[str, Any]:
        return {"max_chars": dict(self.limits)}

    def __call__(self, batch: Batch) -> StepResult:
        n = len(batch["id"]) if "id" in batch else 0
        reasons: list[str | None] = [None] * n
        for field in TEXT_FIELDS:
            limit = self.limits.get(field)
            if limit is None or field not in batch or _all_within(batch[field], limit):
                continue
            for i, value in enumerate(batch[field]):
                if reasons[i] is None and value is not None and len(value) > limit:
                    reasons[i] = _too_long(field, len(value), limit)
        for field, key in LIST_FIELDS.items():
            limit = self.limits.get(key)
            if limit is None or field not in batch or _all_within(chain.from_iterable(batch[field]), limit):
                continue
            for i, values in enumerate(batch[field]):
                if reasons[i] is not None or not values:
                    continue
                longest = max(range(len(values)), key=lambda j: len(values[j]))
                if len(values[longest]) > limit:
                    reasons[i] = _too_long(f"{key} {longest + 1}", len(values[longest]), limit)
        return StepResult(batch, [r is None for r in reasons], reasons)


def _all_within(values: Iterable[Any], limit: int) -> bool:
    """Whether no value is longer than ``limit`` (the common case, checked at C speed); ``False`` also
    when that cannot be told this way (a ``None``, a value without a length): the row loop decides."""
    try:
        return max(map(len, values), default=0) <= limit
    except TypeError:
        return False


def _too_long(field: str, size: int, limit: int) -> str:
    return f"{field} is {size:,} characters, over the limit of {limit:,} (limits: in quality.yaml)"
