"""The training mixture: GlobMed rows weighted per language and task, as chat conversations.

The release is read with ``datasets.load_dataset`` (a build folder or a Hub id). The
weight of a row is ``lang_weight[lang] * task_weight[task]``, times ``low_resource_upsample``
for the low-resource tier. Each (language, task) group is sampled to ``round(n * weight)``
rows: whole copies for weights over 1 plus a seeded random remainder, a seeded subset for
weights under 1. The validation split (unweighted, same languages) is the eval set.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from globmed.errors import GlobmedError, UnknownNameError
from globmed.languages import get_language, language_codes
from globmed.schema import TASKS
from globmed.train.chat import entry_messages
from globmed.train.config import GlobmedDataArguments

log = logging.getLogger(__name__)


@dataclass
class Mixture:
    train: Any  # datasets.Dataset with a "messages" column
    eval: Any | None
    counts: dict[str, int]  # training rows per "<lang>/<task>" after weighting

    def summary(self) -> str:
        lines = [f"training mixture: {len(self.train)} rows"
                 + (f", {len(self.eval)} validation rows" if self.eval is not None else "")]
        lines += [f"  {key:<24} {n}" for key, n in sorted(self.counts.items())]
        return "\n".join(lines)


def row_weight(lang: str, task: str, args: GlobmedDataArguments) -> float:
    weight = args.lang_weights.get(lang, 1.0) * args.task_weights.get(task, 1.0)
    if get_language(lang).tier == "low":
        weight *= args.low_resource_upsample
    return weight


def check_weights(args: GlobmedDataArguments) -> None:
    known = set(language_codes())
    for lang in [*args.lang_weights, *(args.languages or [])]:
        if lang not in known:
            raise UnknownNameError("language in the data section", lang, known)
    for task in args.task_weights:
        if task not in TASKS:
            raise UnknownNameError("task in task_weights", task, TASKS)


def sample_indices(langs: list[str], tasks: list[str], args: GlobmedDataArguments) -> tuple[np.ndarray, Counter]:
    """Row indices of the weighted mixture (shuffled) and the count per "<lang>/<task>"."""
    rng = np.random.default_rng(args.mixture_seed)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, key in enumerate(zip(langs, tasks, strict=True)):
        groups.setdefault(key, []).append(i)
    chosen: list[np.ndarray] = []
    counts: Counter = Counter()
    for (lang, task), members in sorted(groups.items()):
        idx = np.asarray(members)
        target = int(round(len(idx) * row_weight(lang, task, args)))
        copies, rest = divmod(target, len(idx))
        picked = np.concatenate([np.tile(idx, copies), rng.choice(idx, size=rest, replace=False)])
        chosen.append(picked)
        counts[f"{lang}/{task}"] = len(picked)
    order = np.concatenate(chosen) if chosen else np.zeros(0, dtype=int)
    rng.shuffle(order)
    return order, counts


def load_release(name: str, config: str | None, split: str) -> Any:
    from datasets import load_dataset

    kwargs: dict[str, Any] = {}
    if Path(name).is_dir():
        # datasets caches a local folder by its base name: a fresh cache never serves an older build
        kwargs["cache_dir"] = tempfile.mkdtemp(prefix="globmed-train-data-")
    try:
        return load_dataset(name, config or "all", split=split, **kwargs)
    except ValueError as exc:
        raise GlobmedError(f"dataset {name!r} (config {config or 'all'!r}, split {split!r}): {exc}") from exc


def to_conversations(ds: Any, args: GlobmedDataArguments) -> Any:
    def fmt(batch: dict[str, list]) -> dict[str, list]:
        rows = [dict(zip(batch, values, strict=True)) for values in zip(*batch.values(), strict=True)]
        return {"messages": [entry_messages(row, explanation=args.with_explanation) for row in rows]}

    return ds.map(fmt, batched=True, remove_columns=ds.column_names, desc="chat format")


def build_mixture(dataset_name: str, dataset_config: str | None, args: GlobmedDataArguments,
                  train_split: str = "train", eval_split: str | None = "validation") -> Mixture:
    check_weights(args)
    train = load_release(dataset_name, dataset_config, train_split)
    if args.languages:
        wanted = set(args.languages)
        train = train.filter(lambda b: [x in wanted for x in b["lang"]], batched=True, desc="languages")
    if len(train) == 0:
        raise GlobmedError(f"dataset {dataset_name!r}: no {train_split} rows for languages {args.languages}")
    order, counts = sample_indices(train["lang"], train["task"], args)
    if args.max_train_samples is not None and args.max_train_samples < len(order):
        order = order[: args.max_train_samples]
        # the counts are of the rows that train: recount what the cap kept of the shuffled mixture
        langs, tasks = train["lang"], train["task"]
        counts = Counter(f"{langs[i]}/{tasks[i]}" for i in order)
    mixed = to_conversations(train.select(order), args)
    evaluation = None
    if eval_split:
        evaluation = load_release(dataset_name, dataset_config, eval_split)
        if args.languages:
            wanted = set(args.languages)
            evaluation = evaluation.filter(lambda b: [x in wanted for x in b["lang"]], batched=True)
        if args.max_eval_samples is not None:
            evaluation = evaluation.select(range(min(args.max_eval_samples, len(evaluation))))
        evaluation = to_conversations(evaluation, args) if len(evaluation) else None
    return Mixture(mixed, evaluation, dict(counts))
