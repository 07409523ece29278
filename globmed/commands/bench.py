"""``globmed bench`` (run), ``globmed bench report`` and ``globmed bench export-lm-eval``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="score models on GlobMed (GlobMed-Bench), rebuild reports, export lm-eval tasks",
        description="Score models on the test split per task, language and mode; results are appended per item "
        "to <out>/results/<model>.jsonl (a rerun resumes), --judge grades the open-QA answers with an LLM, and the "
        "leaderboard and plots are written to <out>. "
        "Subcommands: `report` rebuilds reports from result files; `export-lm-eval` writes lm-evaluation-harness tasks.")
    p.add_argument("--dataset", help="build folder or Hub dataset id")
    p.add_argument("--model", action="append", default=[], help="a local model folder, .gguf file, PEFT adapter "
                   "folder or Hub id (transformers backend), or openai:MODEL@BASE_URL for an OpenAI-compatible "
                   "endpoint (a `vllm serve`, a hosted API; default mode generative); repeat for several")
    p.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the key of the "
                   "openai:MODEL@BASE_URL models (default OPENAI_API_KEY; a server without keys needs none)")
    p.add_argument("--name", help="name of the --model in results and reports (default: its folder name, or "
                   "MODEL@BASE_URL)")
    p.add_argument("--models", help="comma-separated names or groups of globmed/bench/models.yaml (and of "
                   "--models-file)")
    p.add_argument("--models-file", type=Path, metavar="YAML", help="your own model registry in the format of "
                   "globmed/bench/models.yaml; its models and groups are added to the package's for --models")
    p.add_argument("--langs", help="comma-separated language codes (default: the paper profile)")
    p.add_argument("--tasks", help="comma-separated tasks (default: all)")
    p.add_argument("--modes", help="comma-separated scoring modes letter,cloze,cloze_listed,generative,generative_cot "
                   "(generative_cot: chain of thought, worded per language; default: the registry's, or "
                   "letter,cloze for --model)")
    p.add_argument("--max-new-tokens", type=_positive, help="reply budget of the generative mode on closed "
                   "tasks (default: the registry's, or 32)")
    p.add_argument("--open-max-new-tokens", type=_positive, help="reply budget of the generative mode on open QA "
                   "(default: the registry's, or 256)")
    p.add_argument("--cot-max-new-tokens", type=_positive, help="reply budget of the generative_cot mode "
                   "(default: the registry's, or 512)")
    p.add_argument("--judge", metavar="NAME|MODEL@URL", help="grade the open-QA answers of the generative modes with "
                   "an LLM judge (1-5 rubric): an openai model of models.yaml, or MODEL@BASE_URL of any "
                   "OpenAI-compatible endpoint (e.g. gpt-4o@https://api.openai.com/v1)")
    p.add_argument("--judge-key-env", metavar="VAR", help="environment variable holding the judge's API key "
                   "(default: the registry entry's, or OPENAI_API_KEY)")
    p.add_argument("--judge-max-tokens", type=_positive, default=256, help="reply budget of the judge (default 256)")
    p.add_argument("--shots", type=int, default=0, help="k-shot examples from the validation split")
    p.add_argument("--limit", type=int, help="at most N items per language")
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="output folder")
    p.add_argument("--chunk", type=int, default=256, help="items scored between two result writes")
    p.add_argument("--trust-remote-code", action="store_true", help="allow --model code from the Hub to run")
    p.add_argument("--chat", choices=["auto", "yes", "no"], default="auto", help="prompt form for --model")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)
    bsub = p.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")
    r = bsub.add_parser("report", help="rebuild leaderboards and plots from result files")
    r.add_argument("results", nargs="+", type=Path, help="result .jsonl files or folders holding them")
    r.add_argument("--out", type=Path, required=True)
    r.set_defaults(func=run_report)
    e = bsub.add_parser("export-lm-eval", help="write lm-evaluation-harness task YAMLs for GlobMed")
    e.add_argument("--dataset", required=True, help="build folder or Hub dataset id")
    e.add_argument("--langs", help="comma-separated language codes (default: the paper profile)")
    e.add_argument("--out", type=Path, required=True, help="folder for the task YAMLs (pass it as --include_path)")
    e.add_argument("--tokenizer", help="a chat model's tokenizer folder: prompts are chat-templated with it")
    e.add_argument("--shots", type=int, default=0)
    e.add_argument("--limit", type=int, help="at most N items per language")
    e.set_defaults(func=run_export)


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return n


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def run(args: argparse.Namespace) -> int:
    from globmed.bench.registry import adhoc_spec, endpoint_spec, resolve_models
    from globmed.bench.runner import BenchOptions, run_bench
    from globmed.errors import GlobmedError
    from globmed.languages import resolve_languages

    if not args.dataset:
        raise GlobmedError("--dataset is required")
    modes = _csv(args.modes)
    chat = {"auto": None, "yes": True, "no": False}[args.chat]
    if args.name and len(args.model) != 1:
        raise GlobmedError("--name needs exactly one --model")
    specs = [endpoint_spec(m, args.api_key_env, name=args.name, modes=modes)
             or adhoc_spec(m, modes=modes, name=args.name, trust_remote_code=args.trust_remote_code or None,
                           chat=chat) for m in args.model]
    if args.models_file and not args.models:
        raise GlobmedError("--models-file adds to the registry that --models picks from: pass --models NAMES too")
    if args.models:
        for spec in resolve_models(args.models, args.models_file):
            if modes:
                spec.modes = modes
            specs.append(spec)
    if not specs:
        raise GlobmedError("pass --model PATH or --models NAMES")
    for spec in specs:
        if args.max_new_tokens:
            spec.max_new_tokens = args.max_new_tokens
        if args.open_max_new_tokens:
            spec.open_max_new_tokens = args.open_max_new_tokens
        if args.cot_max_new_tokens:
            spec.cot_max_new_tokens = args.cot_max_new_tokens
    judge = None
    if args.judge:
        from globmed.bench.judge import Judge, resolve_judge

        judge = Judge(resolve_judge(args.judge, args.judge_key_env), max_tokens=args.judge_max_tokens)
    opts = BenchOptions(dataset=args.dataset, langs=resolve_languages(None if args.langs else "paper",
                                                                      _csv(args.langs)),
                        out=args.out, tasks=_csv(args.tasks), shots=args.shots, limit=args.limit,
                        chunk=args.chunk, progress=not args.no_progress, judge=judge)
    try:
        summary = run_bench(specs, opts)
    finally:
        if judge is not None:
            judge.close()
    for name in summary.scored:
        print(f"{name}: {summary.scored[name]} records written, {summary.skipped[name]} items already done")
        j = summary.judged.get(name)
        if j is not None:
            print(f"{name}: judge {judge.name}: {j.judged} verdicts written ({j.unparsed} unparsable), "
                  f"{j.done} already judged, {j.failed} failed" + (" (judged on the next run)" if j.failed else "")
                  + ("" if j.judged or j.done or j.failed else " (no open-QA answers of a generative mode)"))
    _print_report(summary.report_files)
    print(f"done in {summary.seconds:.1f} s")
    return 0


def _print_report(files: list[Path]) -> None:
    for f in files:
        print(f"wrote {f}")
    md = [f for f in files if f.suffix == ".md"]
    if md:
        print(md[0].read_text(encoding="utf-8"))


def run_report(args: argparse.Namespace) -> int:
    from globmed.bench.report import write_reports

    files: list[Path] = []
    for p in args.results:
        files.extend(sorted(p.glob("**/*.jsonl")) if p.is_dir() else [p])
    _print_report(write_reports(files, args.out))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from globmed.bench.lm_eval_export import export_lm_eval
    from globmed.languages import resolve_languages

    langs = resolve_languages(None if args.langs else "paper", _csv(args.langs))
    written = export_lm_eval(args.dataset, langs, args.out, tokenizer=args.tokenizer, shots=args.shots,
                             limit=args.limit)
    for f in written:
        print(f"wrote {f}")
    print(f"run: lm_eval --include_path {args.out} --tasks globmed --model hf --model_args pretrained=MODEL")
    return 0
