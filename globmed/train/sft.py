"""``globmed train``: TRL SFT with (Q)LoRA on the GlobMed mixture (thin; TRL does the work).

1. the tokenizer gets a chat template with ``{% generation %}`` markers (loss on the
   assistant turn only) and the end-of-turn token as EOS, so the model learns to stop;
2. the mixture of :mod:`globmed.train.data` becomes the train set, the validation split the eval set;
3. ``SFTTrainer`` trains, resuming from the last ``checkpoint-N`` in ``output_dir`` if any;
4. the adapter, the tokenizer (with the template) and the generation config are saved to
   ``output_dir``; ``merge_adapter: true`` also writes the merged model to ``output_dir/merged``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from globmed.train.chat import prepare_tokenizer, stop_token_ids
from globmed.train.config import GlobmedDataArguments
from globmed.train.data import build_mixture

log = logging.getLogger(__name__)

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
    return trainer, tokenizer, end_of_turn


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
    if hasattr(trainer, "end"):
        trainer.end()
    if data_args.merge_adapter and model_args.use_peft and trainer.accelerator.is_main_process:
        from globmed.train.merge import merge_adapter

        merge_adapter(out, out / "merged", dtype=model_args.dtype)
    return out
