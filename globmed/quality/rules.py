"""Task rules beyond the schema validator: mcq option sets, and translations that keep the
option count, the answer and a sane length relative to their origin."""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from globmed.pipeline import Batch, Step, StepResult, TableResult, TableStep
from globmed.schema import LETTERS


class TaskRulesStep(Step):
    """mcq: ``min_options``..``max_options`` distinct non-empty options and the answer among them."""

    name = "task_rules"

    def __init__(self, settings: dict[str, Any]):
        self.min_options = int(settings.get("min_options", 2))
        self.max_options = int(settings.get("max_options", 10))

    def describe(self) -> dict[str, Any]:
        return {"min_options": self.min_options, "max_options": self.max_options}

    def __call__(self, batch: Batch) -> StepResult:
        tasks, options_col, answer_col = batch["task"], batch["options"], batch["answer"]
        n = len(tasks)
        if len(options_col) != n or len(answer_col) != n:
            raise ValueError("task_rules: the batch's task, options and answer columns differ in length")
        mcq = [i for i, task in enumerate(tasks) if task == "mcq"]
        reasons: list[str | None] = [None] * n
        if mcq:
            # each distinct option text cleaned once (a batch repeats option phrases)
            try:
                cleaned = {o: _clean(o) for o in dict.fromkeys(chain.from_iterable(options_col[i] for i in mcq))}
            except (TypeError, AttributeError):  # not text: _mcq says what is wrong
                cleaned = None
            for i in mcq:
                reasons[i] = self._mcq(options_col[i], answer_col[i], cleaned)
        return StepResult(batch, [r is None for r in reasons], reasons)

    def _mcq(self, options: list[str], answer: list[str], cleaned_of: dict[str, str] | None = None) -> str | None:
        n = len(options)
        if not self.min_options <= n <= self.max_options:
            return f"mcq has {n} options (allowed {self.min_options}-{self.max_options})"
        if cleaned_of is not None:
            cleaned = list(map(cleaned_of.__getitem__, options))
        else:
            cleaned = [_clean(o) for o in options]
        if not all(cleaned):
            return "mcq has an empty option"
        if len(set(cleaned)) != n:
            return "mcq options are not distinct"
        valid = LETTERS[:n]
        if not answer or (answer[0] not in valid if len(answer) == 1 else any(a not in valid for a in answer)):
            return f"mcq answer {answer} is not among the options {valid[0]}-{valid[-1]}"
        return None


class TranslationRulesStep(TableStep):
    """A translation keeps its origin's option count and answer, and its length is within
    ``translation_length_ratio`` of the origin's (the origin: same ``origin_id``, language
    ``translation.source_lang``). Runs on the whole table: an origin may come after its translation."""

    name = "translation_rules"

    def __init__(self, settings: dict[str, Any]):
        lo, hi = settings.get("translation_length_ratio", [0.25, 4.0])
        self.ratio = (float(lo), float(hi))

    def describe(self) -> dict[str, Any]:
        return {"translation_length_ratio": list(self.ratio)}

    def in_order(self, table: pa.Table, order: np.ndarray | None = None) -> TableResult:
        """The result on ``table.take(order)`` (its rows, as numbered there); that table is made only when
        there are translations to check."""
        if order is None:
            return self(table)
        if pc.struct_field(table.column("translation"), "source_lang").null_count == table.num_rows:
            return TableResult([True] * len(order), [None] * len(order))  # no translation: nothing to check
        return self(table.take(pa.array(order)))

    def __call__(self, table: pa.Table) -> TableResult:
        n = table.num_rows
        reasons: list[str | None] = [None] * n
        src = pc.struct_field(table.column("translation"), "source_lang")
        translated = np.flatnonzero(pc.is_valid(src).to_numpy(zero_copy_only=False))
        if not len(translated):
            return TableResult([True] * n, reasons)
        origin = table.column("origin_id").to_pylist()
        lang = table.column("lang").to_pylist()
        index = {(o, g): i for i, (o, g) in enumerate(zip(origin, lang, strict=True))}
        n_opts = pc.list_value_length(table.column("options")).to_numpy(zero_copy_only=False)
        length = (pc.utf8_length(table.column("question")).to_numpy(zero_copy_only=False)
                  + pc.utf8_length(pc.binary_join(table.column("options"), "")).to_numpy(zero_copy_only=False))
        src_lang = src.to_pylist()
        answers = table.column("answer")
        tasks = table.column("task")
        for i in translated:
            j = index.get((origin[i], src_lang[i]))
            if j is None:
                continue  # origin not in this build: nothing to compare with
            if n_opts[i] != n_opts[j]:
                reasons[i] = f"translation has {n_opts[i]} options, its origin {n_opts[j]}"
            elif tasks[i].as_py() != "open_qa" and answers[i].as_py() != answers[j].as_py():
                reasons[i] = f"translation answer {answers[i].as_py()} differs from its origin's {answers[j].as_py()}"
            elif length[j] and not self.ratio[0] <= length[i] / length[j] <= self.ratio[1]:
                reasons[i] = (f"translation is {length[i] / length[j]:.2f}x its origin's length "
                              f"(allowed {self.ratio[0]}-{self.ratio[1]})")
        return TableResult([r is None for r in reasons], reasons)


def _clean(option: str) -> str:
    """An option as task_rules compares it: case-folded, whitespace runs as one space."""
    return " ".join(option.casefold().split())
