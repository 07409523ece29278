"""The training configuration: TRL's ``ScriptArguments``, ``SFTConfig`` and ``ModelConfig``
plus :class:`GlobmedDataArguments`, read from one recipe YAML by TRL's ``TrlParser``
(command-line ``--key value`` pairs override the recipe). Unknown keys fail loudly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from globmed.errors import GlobmedError


@dataclass
class GlobmedDataArguments:
    """The GlobMed data section of a recipe (the dataset itself is ``dataset_name`` /
    ``dataset_config`` of TRL's ScriptArguments: a build folder or a Hub id)."""

    languages: list[str] | None = field(
        default=None, metadata={"help": "languages to train on (default: every language in the dataset)"})
    lang_weights: dict[str, float] | str | None = field(
        default=None, metadata={"help": "per-language sampling weight, e.g. {\"sw\": 2.0} (default 1.0)"})
    task_weights: dict[str, float] | str | None = field(
        default=None, metadata={"help": "per-task sampling weight, e.g. {\"nli\": 0.5} (default 1.0)"})
    low_resource_upsample: float = field(
        default=1.0, metadata={"help": "extra weight of the low-resource tier (languages.yaml), multiplied in"})
    with_explanation: bool = field(
        default=True, metadata={"help": "train the reply with the entry's explanation after the answer"})
    max_train_samples: int | None = field(default=None, metadata={"help": "cap on the mixed training rows"})
    max_eval_samples: int | None = field(default=None, metadata={"help": "cap on the validation rows"})
    mixture_seed: int = field(default=42, metadata={"help": "seed of the mixture sampling and shuffle"})
    chat_template: str = field(
        default="auto", metadata={"help": "auto | keep | a template of globmed/train/templates (chatml, llama3)"})
    merge_adapter: bool = field(
        default=False, metadata={"help": "after training, merge the adapter into the base into <output_dir>/merged"})

    def __post_init__(self) -> None:
        self.lang_weights = _weights("lang_weights", self.lang_weights)
        self.task_weights = _weights("task_weights", self.task_weights)
        if isinstance(self.languages, str):
            self.languages = [x for x in self.languages.replace(",", " ").split() if x]
        if self.low_resource_upsample <= 0:
            raise GlobmedError(f"low_resource_upsample must be > 0, got {self.low_resource_upsample}")


def _weights(name: str, value: Any) -> dict[str, float]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise GlobmedError(f"{name}: expected a JSON object such as '{{\"sw\": 2}}', got {value!r}") from exc
    if not isinstance(value, dict):
        raise GlobmedError(f"{name}: expected a mapping of name -> weight, got {value!r}")
    out = {}
    for key, weight in value.items():
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            raise GlobmedError(f"{name}: weight of {key!r} must be a number >= 0, got {weight!r}")
        out[str(key)] = float(weight)
    return out


def resolve_recipe(path: str | Path) -> Path:
    """A recipe path as given, or, when it does not exist, the same path inside the installed
    package's ``globmed.recipes`` (``recipes/tiny/sft/lora.yaml`` works from anywhere)."""
    given = Path(path)
    if given.exists():
        return given
    parts = given.parts[1:] if given.parts and given.parts[0] == "recipes" else given.parts
    shipped = Path(str(resources.files("globmed.recipes").joinpath(*parts)))
    if shipped.exists():
        return shipped
    raise GlobmedError(f"recipe {str(path)!r} not found (neither as a file nor in the installed globmed.recipes)")


COMMON_TRL_KEYS = (
    ("model_name_or_path", "base model: Hub id, local folder, or a folder holding one .gguf file"),
    ("dataset_name", "a GlobMed build folder or Hub dataset id"),
    ("dataset_config", "config (language) to train on; default `all`"),
    ("output_dir", "where the adapter (or full model), tokenizer and generation config go"),
    ("use_peft / lora_r / lora_alpha / lora_target_modules", "LoRA (ModelConfig)"),
    ("load_in_4bit / bnb_4bit_quant_type", "QLoRA: 4-bit base (bitsandbytes)"),
    ("learning_rate / num_train_epochs / max_steps", "schedule (SFTConfig)"),
    ("per_device_train_batch_size / gradient_accumulation_steps", "batch shape"),
    ("max_length / packing / gradient_checkpointing", "sequence length and memory"),
    ("attn_implementation / dtype", "attention kernel and weight dtype (ModelConfig)"),
    ("bf16 / use_cpu", "precision and device (CPU: --use_cpu true --bf16 false)"),
)


def short_help() -> str:
    """The first screen of ``globmed train --help``: globmed's own options and the TRL keys a recipe
    sets most, without importing TRL (``--help-all`` lists every TRL option)."""
    import dataclasses

    lines = [
        "usage: globmed train --config RECIPE.yaml [--KEY VALUE ...]",
        "       globmed train merge --adapter DIR --out DIR [--base MODEL] [--dtype bfloat16]",
        "       globmed train --help-all          (every option of TRL's ScriptArguments, SFTConfig, ModelConfig)",
        "",
        "Fine-tune a model on GlobMed with TRL SFT + (Q)LoRA. A recipe (recipes/<model>/sft/<method>.yaml,",
        "e.g. recipes/qwen3-8b/sft/qlora.yaml; recipes/tiny/sft/lora.yaml runs on CPU) holds every key;",
        "--KEY VALUE on the command line overrides the recipe's. Unknown keys fail.",
        "",
        "  --config RECIPE.yaml   the recipe (a path, or a path inside the installed globmed.recipes)",
        "",
        "GlobMed data options (the mixture):",
    ]
    for f in dataclasses.fields(GlobmedDataArguments):
        default = f.default if f.default is not dataclasses.MISSING else None
        text = f.metadata.get("help", "")
        lines.append(f"  --{f.name:<24} {text}" + ("" if "default" in text else f" (default: {default})"))
    lines += ["", "Most used TRL keys (see --help-all for all of them):"]
    lines += [f"  --{key:<24} {text}" if len(key) <= 24 else f"  --{key}\n  {'':<26} {text}"
              for key, text in COMMON_TRL_KEYS]
    lines += ["", "Example: globmed train --config recipes/tiny/sft/lora.yaml --dataset_name out/demo/dataset "
              "--output_dir out/tiny-lora --max_steps 6"]
    return "\n".join(lines)


def make_parser() -> Any:
    from trl import ModelConfig, ScriptArguments, SFTConfig, TrlParser

    return TrlParser((ScriptArguments, SFTConfig, ModelConfig, GlobmedDataArguments), prog="globmed train")


def parse_train_args(argv: Sequence[str]) -> tuple[Any, Any, Any, GlobmedDataArguments]:
    """``[--config RECIPE] [--key value ...]`` -> (script_args, sft_config, model_config, data_args)."""
    argv = list(argv)
    where = "command line"
    if "--config" in argv:
        i = argv.index("--config")
        if i + 1 >= len(argv):
            raise GlobmedError("--config needs a recipe path")
        argv[i + 1] = str(resolve_recipe(argv[i + 1]))
        where = argv[i + 1]
    parser = make_parser()
    try:
        return tuple(parser.parse_args_and_config(args=argv))  # type: ignore[return-value]
    except ValueError as exc:
        raise GlobmedError(f"{where}: {exc}") from exc
