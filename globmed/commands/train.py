"""``globmed train --config RECIPE [--key value ...]`` and ``globmed train merge``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="fine-tune a model on GlobMed with TRL SFT + (Q)LoRA, or merge an adapter (train merge)",
        description="globmed train --config recipes/<model>/sft/<method>.yaml [--key value ...]: every key of "
        "TRL's ScriptArguments, SFTConfig and ModelConfig plus the GlobMed data section (languages, "
        "lang_weights, task_weights, low_resource_upsample, ...); `globmed train --help` shows globmed's own "
        "options first, `--help-all` every TRL option. "
        "globmed train merge --adapter DIR --out DIR: merge a trained adapter into its base.",
        add_help=False,
        prefix_chars="\x00",  # every argument goes to TrlParser (or the merge parser) untouched
    )
    p.add_argument("train_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def merge_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="globmed train merge",
                                description="merge a LoRA/QLoRA adapter into its base model (safetensors + "
                                "tokenizer with the chat template + generation config)")
    p.add_argument("--adapter", required=True, help="the adapter folder (a training output_dir)")
    p.add_argument("--out", required=True, help="output folder of the merged model")
    p.add_argument("--base", default=None, help="base model (default: the adapter's base_model_name_or_path)")
    p.add_argument("--dtype", default="bfloat16", help="dtype of the merged weights (bfloat16, float16, float32)")
    return p


def run(args: argparse.Namespace) -> int:
    argv = list(args.train_args)
    if argv[:1] == ["merge"]:
        from globmed.train.merge import merge_adapter

        m = merge_parser().parse_args(argv[1:])
        out = merge_adapter(m.adapter, m.out, base=m.base, dtype=m.dtype)
        print(f"merged model written to {out}")
        return 0
    from globmed.train.config import short_help

    if not argv or argv[0] in ("-h", "--help"):
        print(short_help())
        return 0
    from globmed.train.config import make_parser, parse_train_args

    if argv[0] == "--help-all":
        make_parser().print_help()
        return 0
    from globmed.train.sft import train

    out = train(*parse_train_args(argv))
    print(f"adapter, tokenizer and generation config written to {out}")
    return 0
