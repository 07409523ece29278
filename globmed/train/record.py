"""What a training run writes beside its adapter: ``training_mixture.json`` (the rows actually
trained on, after the language/task weights and the low-resource upsampling) and our README.md
(TRL's ``save_model`` writes a generic one there: "fine-tuned version of [None]...").

``globmed release model`` reads ``training_mixture.json`` (in the model folder or, for a merged
model, in the adapter folder above it) so that the model card shows rows, not only entries.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

MIXTURE_FILE = "training_mixture.json"


def mixture_record(counts: dict[str, int], data_args: Any, model_name: str, dataset_name: str,
                   dataset_config: str | None, max_steps: int, recipe: dict[str, Any]) -> dict[str, Any]:
    """``counts``: rows per "<lang>/<task>" after weighting (``Mixture.counts``)."""
    by_language: Counter = Counter()
    by_task: Counter = Counter()
    for key, n in counts.items():
        lang, task = key.split("/", 1)
        by_language[lang] += n
        by_task[task] += n
    return {"base_model": model_name, "dataset": dataset_name, "dataset_config": dataset_config or "all",
            "rows": sum(counts.values()), "max_train_samples": data_args.max_train_samples,
            "max_steps": max_steps,
            "low_resource_upsample": data_args.low_resource_upsample, "lang_weights": dict(data_args.lang_weights),
            "task_weights": dict(data_args.task_weights),
            "rows_by_language": dict(sorted(by_language.items())), "rows_by_task": dict(sorted(by_task.items())),
            "recipe": recipe}


def write_text(path: Path, text: str) -> None:
    """Temp file, then rename: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_record(folder: Path, record: dict[str, Any]) -> Path:
    path = Path(folder) / MIXTURE_FILE
    write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path


def read_record(model_dir: Path) -> dict[str, Any] | None:
    """The run's record in the model folder, or in its parent (a ``merged/`` folder of an adapter run)."""
    for folder in (Path(model_dir), Path(model_dir).parent):
        path = folder / MIXTURE_FILE
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    return None


def write_adapter_card(folder: Path, record: dict[str, Any], peft: bool) -> Path:
    """Our README.md in the training output folder, over TRL's generated one."""
    import yaml

    from globmed.cards import render

    langs = list(record["rows_by_language"])
    meta = {"base_model": record["base_model"], "library_name": "peft" if peft else "transformers",
            "language": langs, "tags": ["medical", "multilingual", "globmed", "trl", "sft"]
            + (["lora"] if peft else []), "pipeline_tag": "text-generation"}
    if not Path(record["dataset"]).exists():
        meta["datasets"] = [record["dataset"]]
    body = render("globmed.model_cards", "adapter_card.md.j2", {
        "record": record, "peft": peft, "folder": Path(folder).name,
        "recipe_yaml": yaml.safe_dump(record["recipe"], sort_keys=False, allow_unicode=True) if record["recipe"] else None})
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    path = Path(folder) / "README.md"
    write_text(path, f"---\n{front}---\n\n{body}")
    return path
