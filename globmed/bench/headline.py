"""The OLMES-style headline: per model, shots, task and language, the better of the two formulations.

OLMES (Gu et al. 2024, "OLMES: A Standard for Language Model Evaluations") scores every
multiple-choice task in both the multiple-choice formulation (MCF: the options are listed and the
answer letter is scored; GlobMed-Bench's ``letter`` mode) and the cloze/completion formulation (CF:
each option's text is scored as the continuation of the question; ``cloze``), and reports the
better of the two, so that small models that cannot yet map letters to answers and large models
that can are compared on their best footing. Its CF score for most tasks is normalised per
character, as here: the CF candidate is ``cloze_norm`` (the summed log-likelihood divided by the
option text's length in characters, lm-eval's ``acc_norm``).

So the headline of a (model, shots, task, language) cell is ``max(letter, cloze_norm)`` accuracy,
and the ``formulation`` column names which gave it (ties go to ``letter``). A cell with only one of
the two has that one as its headline. Every formulation (the raw ``cloze``, the listed-options
variant ``cloze_listed``, the generative modes) stays in the other tables; open-QA items are scored
only generatively and have no headline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from globmed.languages import get_language

HEADLINE_FORMULATIONS = ("letter", "cloze_norm")
"""The candidates of the headline, in tie-breaking order: OLMES's MCF and its per-character CF."""

HEADLINE_COLUMNS = ["model", "shots", "task", "lang", "n", *HEADLINE_FORMULATIONS, "headline", "formulation"]


def headline_table(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (model, shots, task, language) with a closed-task score in a headline formulation:
    each candidate's accuracy, the headline (their maximum) and the formulation that gave it."""
    cells: dict[tuple[str, int, str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r.get("mode") in HEADLINE_FORMULATIONS and r.get("task") != "open_qa":
            key = (r["model"], int(r.get("shots") or 0), r["task"], r["lang"])
            cells[key][r["mode"]].append(float(r["score"]))
    rows = []
    for (model, shots, task, lang), by_mode in sorted(
            cells.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], get_language(kv[0][3]).tier != "high",
                                           kv[0][3])):
        row: dict[str, Any] = {"model": model, "shots": shots, "task": task, "lang": lang,
                               "n": max(len(v) for v in by_mode.values())}
        for mode in HEADLINE_FORMULATIONS:
            if mode in by_mode:
                row[mode] = sum(by_mode[mode]) / len(by_mode[mode])
        best = max((m for m in HEADLINE_FORMULATIONS if m in row), key=lambda m: (row[m], -HEADLINE_FORMULATIONS.index(m)))
        row.update(headline=row[best], formulation=best)
        rows.append(row)
    return rows


HEADLINE_NOTE = (
    "OLMES-style headline: per model, shots, task and language, the better of the letter formulation "
    "(options listed, the answer letter scored) and the cloze formulation (no options shown, each option's "
    "text scored after the question, normalised per character: `cloze_norm`); `formulation` names the one "
    "that gave the headline. Every formulation stays in the tables above.")
