"""lm-evaluation-harness tasks for GlobMed (``globmed bench export-lm-eval``), one per log-likelihood
formulation of GlobMed-Bench and language, each scoring EXACTLY the GlobMed-Bench prompt (rendered by
GlobMed into the task's data, chat template included when ``tokenizer`` is given):

- ``letter``: ``globmed_<lang>`` (group ``globmed``), ``data/<lang>.jsonl``: the lettered prompt, the
  option letters as choices (lm-eval computes each letter's log-likelihood after the prompt: the
  quantity of the ``letter`` mode).
- ``cloze``: ``globmed_cloze_<lang>`` (group ``globmed_cloze``), ``data/cloze/<lang>.jsonl``: the
  standard cloze context (no option list, ending with the answer phrase), the option texts as
  choices, the language's separator as ``target_delimiter``; ``acc`` is the ``cloze`` record mode,
  ``acc_norm`` (per character of the choice) ``cloze_norm``.
- ``cloze_listed``: ``globmed_cloze_listed_<lang>`` (group ``globmed_cloze_listed``),
  ``data/cloze_listed/<lang>.jsonl``: the same after the lettered prompt (``cloze_listed`` and
  ``cloze_listed_norm``).

Multi-answer items are left out (lm-eval takes one gold index). Run:
``lm_eval --include_path OUT --tasks globmed,globmed_cloze --model hf --model_args pretrained=M``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from globmed.bench.data import load_items, load_shots
from globmed.bench.prompting import cloze_request, letter_prompt, listed_request
from globmed.prompts import answer_separator, correct_letters, option_texts
from globmed.schema import LETTERS


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def task_config(lang: str, data_file: Path) -> dict[str, Any]:
    return {
        "task": f"globmed_{lang}",
        "tag": ["globmed_tasks"],
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data_file.resolve())}},
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": "{{prompt}}",
        "doc_to_choice": "{{choices}}",
        "doc_to_target": "{{gold}}",
        "target_delimiter": "",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 1.0},
    }


FORMULATIONS = ("letter", "cloze", "cloze_listed")
"""The log-likelihood formulations of GlobMed-Bench, each exported as its own lm-eval tasks."""


def cloze_task_config(form: str, lang: str, data_file: Path) -> dict[str, Any]:
    """A cloze formulation's task: the option texts as choices after the rendered context, joined
    by the language's separator; ``acc`` and ``acc_norm`` (per character of the choice)."""
    return {**task_config(lang, data_file), "task": f"globmed_{form}_{lang}", "tag": [f"globmed_{form}_tasks"],
            "doc_to_choice": "choices", "target_delimiter": answer_separator(lang),
            "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True} for m in ("acc", "acc_norm")]}


def _cloze_doc(it: dict[str, Any], tok: Any, shot_rows: Sequence[dict[str, Any]], form: str) -> dict[str, Any]:
    build = cloze_request if form == "cloze" else listed_request
    ctx, _ = build(it, tok, shot_rows, chat=tok is not None)
    return {"id": it["id"], "task": it["task"], "prompt": ctx, "choices": [t.strip() for t in option_texts(it)],
            "gold": LETTERS.index(correct_letters(it)[0])}


def export_lm_eval(dataset: str | Path, langs: Sequence[str], out: Path, *, tokenizer: str | None = None,
                   shots: int = 0, limit: int | None = None,
                   formulations: Sequence[str] = FORMULATIONS) -> list[Path]:
    tok = None
    if tokenizer:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tokenizer)
    out = Path(out)
    written: list[Path] = []
    for lang in langs:
        items = [it for it in load_items(dataset, lang, limit=limit)
                 if it["task"] != "open_qa" and len(correct_letters(it)) == 1]
        shot_rows = load_shots(dataset, lang, shots)
        lines = []
        for it in items:
            lines.append(json.dumps({
                "id": it["id"], "task": it["task"],
                "prompt": letter_prompt(it, tok, shot_rows.get(it["task"], ()), chat=tok is not None),
                "choices": list(LETTERS[: len(it["options"])]),
                "gold": LETTERS.index(correct_letters(it)[0]),
            }, ensure_ascii=False))
        if "letter" in formulations:
            data_file = out / "data" / f"{lang}.jsonl"
            _atomic_text(data_file, "\n".join(lines) + "\n")
            cfg = out / f"globmed_{lang}.yaml"
            _atomic_text(cfg, yaml.safe_dump(task_config(lang, data_file), allow_unicode=True, sort_keys=False))
            written += [data_file, cfg]
        for form in (f for f in formulations if f != "letter"):
            docs = [_cloze_doc(it, tok, shot_rows.get(it["task"], ()), form) for it in items]
            data_file = out / "data" / form / f"{lang}.jsonl"
            _atomic_text(data_file, "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
            cfg = out / f"globmed_{form}_{lang}.yaml"
            _atomic_text(cfg, yaml.safe_dump(cloze_task_config(form, lang, data_file), allow_unicode=True,
                                             sort_keys=False))
            written += [data_file, cfg]
    for form in formulations:
        name = "globmed" if form == "letter" else f"globmed_{form}"
        metrics = ["acc"] if form == "letter" else ["acc", "acc_norm"]
        group = out / f"{name}.yaml"
        _atomic_text(group, yaml.safe_dump({
            "group": name, "task": [f"{name}_{lang}" for lang in langs],
            "aggregate_metric_list": [{"metric": m, "weight_by_size": True} for m in metrics],
            "metadata": {"version": 1.0}}, sort_keys=False))
        written.append(group)
    return written
