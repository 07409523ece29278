"""``globmed train``: TRL SFT with (Q)LoRA on the GlobMed mixture (thin; TRL does the work).

1. the tokenizer gets a chat template with ``{% generation %}`` markers (loss on the
   assistant turn only) and the end-of-turn token as EOS, so the model learns to stop;
2. the mixture of :mod:`globmed.train.data` becomes the train set, the validation split the eval set;
3. ``SFTTrainer`` trains, resuming from the last ``checkpoint-N`` in ``output_dir`` if any;
4. the adapter, the tokenizer (with the template) and the generation config are saved to
   ``output_dir``, with ``training_mixture.json`` (rows trained on, settings) and our README.md
   over TRL's generic one; ``merge_adapter: true`` also writes the merged model to ``output_dir/merged``.

Warnings: two deprecation warnings that every run would print come from upstream code and are
silenced here, narrowly (by message): ``torch.jit.script_method`` (torchvision's import, torch 2.13) and
``is_gradient_checkpointing`` (TRL and PEFT read the old property name, transformers 5). The
``gradient_checkpointing`` one is ours to avoid: the recipes set ``activation_checkpointing``.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import warnings
from pathlib import Path
from typing import Any

from globmed.train.chat import prepare_tokenizer, stop_token_ids
from globmed.train.config import GlobmedDataArguments
from globmed.train.data import build_mixture
from globmed.train.record import mixture_record, write_adapter_card, write_record

log = logging.getLogger(__name__)

warnings.filterwarnings("ignore", message=r"`torch\.jit\.script_method` is deprecated", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning)

RECIPE_SKIP = {"output_dir", "model_name_or_path", "dataset_name", "eos_token", "model_init_kwargs", "debug",
               "accelerator_config", "disable_tqdm", "report_to", "dataloader_pin_memory", "pad_to_multiple_of",
               "hub_token", "logging_dir", "run_name"}
"""Not part of a recipe's substance (paths shown elsewhere, values set by TRL/transformers after parsing)."""

VARLEN_ATTENTION = ("flash_attention_2", "flash_attention_3", "kernels-community/flash-attn",
                    "kernels-community/vllm-flash-attn3", "kernels-community/flash-attn3")
"""Attention kernels that keep packed sequences apart (bfd packing is padding-free)."""


def supports_packing(attn_implementation: str | None) -> bool:
    return bool(attn_implementation) and any(attn_implementation.startswith(k) for k in VARLEN_ATTENTION)


def last_checkpoint(output_dir: str | Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(output_dir)) if Path(output_dir).is_dir() else None


def make_trainer(script_args: Any, training_args: Any, model_args: Any, data_args: GlobmedDataArguments,
                 callbacks: list | None = None) -> tuple[Any, Any, str]:
    """The ``SFTTrainer`` of a recipe, its tokenizer and the end-of-turn token."""
    from transformers import AutoTokenizer
    from trl import SFTTrainer, get_peft_config, get_quantization_config

    from globmed.errors import GlobmedError

    if not model_args.model_name_or_path:
        raise GlobmedError("model_name_or_path is not set (in the recipe or as --model_name_or_path)")
    if not script_args.dataset_name:
        raise GlobmedError("dataset_name is not set: a GlobMed build folder or Hub id")
    from globmed.model_paths import local_model

    # the model forms the bench takes: a folder, a Hub id, or a GGUF folder / file (trained from its
    # safetensors copy, converted once; the adapter's base is that copy)
    model_args.model_name_or_path = local_model(model_args.model_name_or_path,
                                                trust_remote_code=training_args.trust_remote_code)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_args.model_name_or_path, revision=model_args.model_revision,
                                                  trust_remote_code=training_args.trust_remote_code)
    except OSError as exc:
        raise GlobmedError(f"model_name_or_path {model_args.model_name_or_path!r}: {exc}") from exc
    end_of_turn = prepare_tokenizer(tokenizer, data_args.chat_template)
    training_args.eos_token = end_of_turn

    if training_args.packing and not supports_packing(model_args.attn_implementation):
        log.warning("packing off: attn_implementation %r does not keep packed sequences apart "
                    "(needs one of %s)", model_args.attn_implementation, ", ".join(VARLEN_ATTENTION))
        training_args.packing = False
        training_args.padding_free = False

    mixture = build_mixture(script_args.dataset_name, script_args.dataset_config, data_args,
                            train_split=script_args.dataset_train_split,
                            eval_split=script_args.dataset_test_split if training_args.eval_strategy != "no" else None)
    log.info("%s", mixture.summary())

    model_init_kwargs = dict(revision=model_args.model_revision, attn_implementation=model_args.attn_implementation,
                             dtype=model_args.dtype, trust_remote_code=training_args.trust_remote_code)
    model_init_kwargs.update(training_args.model_init_kwargs or {})
    training_args.model_init_kwargs = model_init_kwargs
    settings = recipe_settings(script_args, training_args, model_args, data_args)

    trainer = SFTTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=mixture.train,
        eval_dataset=mixture.eval,
        processing_class=tokenizer,
        quantization_config=get_quantization_config(model_args),
        peft_config=get_peft_config(model_args),
        callbacks=callbacks,
    )
    generation = trainer.model.generation_config
    generation.eos_token_id = stop_token_ids(tokenizer, end_of_turn)
    generation.pad_token_id = tokenizer.pad_token_id
    trainer.globmed_record = mixture_record(
        mixture.counts, data_args, model_args.model_name_or_path, script_args.dataset_name, script_args.dataset_config,
        training_args.max_steps, settings)
    return trainer, tokenizer, end_of_turn


def recipe_settings(*parts: Any) -> dict[str, Any]:
    """The run's settings that differ from the dataclasses' defaults (the recipe plus the command line)."""
    out: dict[str, Any] = {}
    for part in parts:
        for f in dataclasses.fields(part):
            if not f.init or f.name in RECIPE_SKIP or f.name.startswith("_"):
                continue
            default = (f.default if f.default is not dataclasses.MISSING
                       else f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
            value = getattr(part, f.name)
            value = value.value if isinstance(value, enum.Enum) else value
            if value != default and value not in (None, [], {}) and isinstance(value, str | int | float | bool | list | dict):
                out[f.name] = value
    return out


def train(script_args: Any, training_args: Any, model_args: Any, data_args: GlobmedDataArguments,
          callbacks: list | None = None) -> Path:
    """Run one SFT job; returns the output folder (adapter or full model + tokenizer)."""
    trainer, tokenizer, _ = make_trainer(script_args, training_args, model_args, data_args, callbacks)
    generation = trainer.model.generation_config
    resume = training_args.resume_from_checkpoint or last_checkpoint(training_args.output_dir)
    if resume:
        log.info("resuming from %s", resume)
        print(f"globmed train: resuming from {resume}", flush=True)
    result = trainer.train(resume_from_checkpoint=resume)
    log.info("training done: %s", result.metrics)

    out = Path(training_args.output_dir)
    trainer.save_model(str(out))
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(out)
        generation.save_pretrained(out)
        write_record(out, trainer.globmed_record)
        write_adapter_card(out, trainer.globmed_record, peft=bool(model_args.use_peft))  # over TRL's README
    if hasattr(trainer, "end"):
        trainer.end()
    if data_args.merge_adapter and model_args.use_peft and trainer.accelerator.is_main_process:
        from globmed.train.merge import merge_adapter

        merge_adapter(out, out / "merged", dtype=model_args.dtype)
        write_record(out / "merged", trainer.globmed_record)
    return out
