"""The scoring modes. Each turns items into per-item result records.

- ``letter``: ONE forward pass per item; the log-probabilities of the option letters as the token
  that follows :func:`~globmed.bench.prompting.letter_prompt`.
- ``cloze``: the standard cloze formulation of lm-evaluation-harness, lighteval and OLMES: the
  option list is NOT shown; each option's text is scored as the continuation of the question
  (:func:`~globmed.bench.prompting.cloze_request`: context and question in the language's wording,
  then the answer phrase, then ``" " + option``). Two records: ``cloze`` (summed log-probability)
  and ``cloze_norm`` (that sum divided by the option text's length in CHARACTERS, excluding the
  separator: lm-eval's ``acc_norm`` and OLMES's per-character normalisation).
- ``cloze_listed``: the listed-options variant: the same option texts scored after the LETTERED
  prompt (options shown, ending with the answer phrase); records ``cloze_listed`` and
  ``cloze_listed_norm`` (per character). Small models often do better with it in low-resource
  languages, so both are kept. All continuations of all items go to the backend in one call.

Result files written before the standard formulation existed hold the listed variant under the
names ``cloze``/``cloze_norm`` (per UTF-8 byte then). New cloze records carry ``cloze_form``; a
``cloze``/``cloze_norm`` record without it is read as ``cloze_listed``/``cloze_listed_norm``
(:func:`upgrade_record`, applied when result files are read), so old files keep their meaning and a
new ``cloze`` run does not mistake them for its own.
- ``generative``: a greedy reply, read by the regex cascade (:mod:`globmed.bench.extract`); a reply
  no rule reads is recorded ``unparsed`` and counted wrong.
- ``generative_cot``: the same with chain of thought: the question ends with the language's CoT
  request (``cot`` in ``globmed/prompts.yaml``), the reply gets a larger token budget
  (``cot_max_new_tokens``), and only a FINAL answer counts (``extract_answer(..., cot=True)``); an
  open-QA reply is scored on the text after its last answer phrase, and one without it is
  ``unparsed`` (ROUGE-L and chrF 0). Its records have their own mode, so plain and CoT
  generation sit side by side in the results and the reports.

Multi-answer mcq items (``answer`` with several letters) are scored by exact set match: in the
likelihood modes the prediction is the top-k options, k = the number of gold letters (the count
is given, the choice is the model's); in generative mode the letters the reply names. Open-QA items
are only scored generatively (ROUGE-L and chrF against the references).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from globmed.bench.backends.base import Backend
from globmed.bench.extract import extract_answer, final_answer_text
from globmed.bench.metrics.functions import best_of, chrf, rouge_l
from globmed.bench.prompting import (
    cloze_request,
    generation_messages,
    generation_prompt,
    letter_prompt,
    listed_request,
)
from globmed.prompts import correct_letters, option_texts
from globmed.schema import LETTERS

MODES = ("letter", "cloze", "cloze_listed", "generative", "generative_cot")
GENERATIVE_MODES = ("generative", "generative_cot")
"""Modes that generate a reply (and so score open-QA items too)."""
RECORD_MODES = {"letter": ("letter",), "cloze": ("cloze", "cloze_norm"),
                "cloze_listed": ("cloze_listed", "cloze_listed_norm"), "generative": ("generative",),
                "generative_cot": ("generative_cot",)}
"""The record modes each scoring mode writes."""


def _top(scores: Sequence[float], k: int) -> list[str]:
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(LETTERS[i] for i in order[:k])


def _closed(item: dict[str, Any], mode: str, pred: list[str] | None, **extra: Any) -> dict[str, Any]:
    gold = correct_letters(item)
    return {"mode": mode, "id": item["id"], "lang": item["lang"], "task": item["task"],
            "gold": gold, "pred": pred, "correct": pred is not None and sorted(pred) == sorted(gold),
            "score": float(pred is not None and sorted(pred) == sorted(gold)), **extra}


def closed_items(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [it for it in items if it["task"] != "open_qa"]


def score_letter(backend: Backend, items: Sequence[dict[str, Any]], shots: dict[str, list],
                 progress: bool = False) -> list[dict[str, Any]]:
    items = closed_items(items)
    prompts = [letter_prompt(it, backend.tokenizer, shots.get(it["task"], ()), chat=backend.chat) for it in items]
    cands = [list(LETTERS[: len(it["options"])]) for it in items]
    scores = backend.next_token_scores(prompts, cands, progress=progress)
    return [_closed(it, "letter", _top(s, len(correct_letters(it))), scores=s) for it, s in zip(items, scores, strict=True)]


def _loglik_records(backend: Backend, items: Sequence[dict[str, Any]], shots: dict[str, list], form: str,
                    progress: bool = False) -> list[dict[str, Any]]:
    build = cloze_request if form == "cloze" else listed_request
    requests, spans = [], []
    for it in closed_items(items):
        ctx, conts = build(it, backend.tokenizer, shots.get(it["task"], ()), chat=backend.chat)
        spans.append((it, len(requests), [t.strip() for t in option_texts(it)]))
        requests.extend((ctx, c) for c in conts)
    lls = backend.loglik(requests, progress=progress)
    out = []
    for it, start, texts in spans:
        raw = lls[start:start + len(texts)]
        norm = [v / max(len(t), 1) for v, t in zip(raw, texts, strict=True)]
        k = len(correct_letters(it))
        out.append(_closed(it, form, _top(raw, k), scores=raw, cloze_form=form))
        out.append(_closed(it, f"{form}_norm", _top(norm, k), scores=norm, cloze_form=form, norm="chars"))
    return out


def score_cloze(backend: Backend, items: Sequence[dict[str, Any]], shots: dict[str, list],
                progress: bool = False) -> list[dict[str, Any]]:
    """Standard cloze: each option text after the question (no option list shown)."""
    return _loglik_records(backend, items, shots, "cloze", progress)


def score_cloze_listed(backend: Backend, items: Sequence[dict[str, Any]], shots: dict[str, list],
                       progress: bool = False) -> list[dict[str, Any]]:
    """Listed-options cloze: each option text after the lettered prompt."""
    return _loglik_records(backend, items, shots, "cloze_listed", progress)


LEGACY_CLOZE = {"cloze": "cloze_listed", "cloze_norm": "cloze_listed_norm"}


def upgrade_record(rec: dict[str, Any]) -> dict[str, Any]:
    """A result record in today's naming: a ``cloze``/``cloze_norm`` record without ``cloze_form``
    was written before the standard cloze formulation existed and is the listed-options variant
    (its key and mode are renamed; its per-byte normalisation is marked ``norm: bytes``)."""
    mode = rec.get("mode") if isinstance(rec, dict) else None
    if mode in LEGACY_CLOZE and "cloze_form" not in rec:
        new = LEGACY_CLOZE[mode]
        rec = {**rec, "mode": new, "cloze_form": "cloze_listed"}
        if isinstance(rec.get("key"), str) and rec["key"].startswith(f"{mode}|"):
            rec["key"] = new + rec["key"][len(mode):]
        if mode == "cloze_norm":
            rec["norm"] = "bytes"
    return rec


def score_generative(backend: Backend, items: Sequence[dict[str, Any]], shots: dict[str, list],
                     max_new_tokens: int = 32, progress: bool = False, *, cot: bool = False,
                     open_max_new_tokens: int | None = None) -> list[dict[str, Any]]:
    """Generate a reply per item and score it. ``max_new_tokens`` bounds every reply, except open-QA
    replies when ``open_max_new_tokens`` is given (a free-text answer needs more room than a letter)."""
    mode = "generative_cot" if cot else "generative"
    if backend.tokenizer is not None:
        prompts: list = [generation_prompt(it, backend.tokenizer, shots.get(it["task"], ()), chat=backend.chat, cot=cot)
                         for it in items]
    else:
        prompts = [generation_messages(it, shots.get(it["task"], ()), cot=cot) for it in items]
    budgets = [open_max_new_tokens if open_max_new_tokens is not None and it["task"] == "open_qa" else max_new_tokens
               for it in items]
    replies: list[str] = [""] * len(items)
    for budget in sorted(set(budgets)):
        where = [i for i, b in enumerate(budgets) if b == budget]
        got = backend.generate([prompts[i] for i in where], max_new_tokens=budget, progress=progress)
        for i, reply in zip(where, got, strict=True):
            replies[i] = reply
    out = []
    for it, reply in zip(items, replies, strict=True):
        if it["task"] == "open_qa":
            refs = list(it["answer"])
            extra: dict[str, Any] = {}
            pred = reply
            if cot:  # the final answer, not the reasoning, is compared with the references
                final = final_answer_text(reply, it["lang"])
                pred, extra = final or "", {"unparsed": final is None}
            out.append({"mode": mode, "id": it["id"], "lang": it["lang"], "task": it["task"],
                        "gold": refs, "pred": pred, "response": reply,
                        "score": best_of(rouge_l, pred, refs) if pred else 0.0,
                        "chrf": best_of(chrf, pred, refs) if pred else 0.0, **extra})
            continue
        got = extract_answer(reply, it["lang"], option_texts(it), cot=cot)
        out.append(_closed(it, mode, got.letters, response=reply, rule=got.rule,
                           unparsed=got.letters is None))
    return out


def score_generative_cot(backend: Backend, items: Sequence[dict[str, Any]], shots: dict[str, list],
                         max_new_tokens: int = 512, progress: bool = False) -> list[dict[str, Any]]:
    return score_generative(backend, items, shots, max_new_tokens=max_new_tokens, progress=progress, cot=True)


SCORERS = {"letter": score_letter, "cloze": score_cloze, "cloze_listed": score_cloze_listed,
           "generative": score_generative, "generative_cot": score_generative_cot}
