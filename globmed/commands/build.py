"""``globmed build``."""

from __future__ import annotations

import argparse
from pathlib import Path

from globmed.splits import DEFAULT_SALT


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="build GlobMed from sources into a folder in Hub layout",
        description="Read sources, validate, split by origin_id and write a folder that "
        "load_dataset(FOLDER, LANG) loads: data/<lang>/<split>-*.parquet, README.md, build_report.json.",
    )
    p.add_argument("--source", action="append", required=True, metavar="NAME[=PATH]",
                   help="a source adapter, optionally with the path of its upstream files; repeat for several "
                   "(see `globmed sources`)")
    p.add_argument("--out", required=True, type=Path, help="output folder, new or empty or a previous build (replaced atomically when complete; "
                   "a folder holding files the previous build did not write is refused, naming them)")
    p.add_argument("--profile", default=None, help="release profile of languages (default: paper)")
    p.add_argument("--langs", default=None, help="comma-separated language codes instead of a profile's")
    p.add_argument("--strict", action="store_true",
                   help="fail on the first bad upstream row (a reject of a source or of validation, or a field "
                   "over quality.yaml's limits) instead of rejecting it; expected rejects (documented gaps such "
                   "as a test set's withheld answers or image items) and quality decisions (language ID, dedup, "
                   "decontamination) never fail it")
    p.add_argument("--split-ratios", default="train=0.8,validation=0.1,test=0.1",
                   help="hash-split ratios for origins without an upstream split")
    p.add_argument("--split-salt", default=DEFAULT_SALT, help="salt of the split hash (changing it reshuffles)")
    p.add_argument("--shard-rows", type=int, default=100_000, help="rows per Parquet shard")
    p.add_argument("--repo-id", default="org/globmed", help="Hub repo id shown in the card's loading examples")
    p.add_argument("--force", action="store_true", help="replace a previous build even if its files were changed since it was written "
                   "(files it did not write are never replaced)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes that read and check source parts in parallel (default: one per core, at most 8)")
    q = p.add_argument_group("quality control (globmed/quality/quality.yaml; on by default)")
    q.add_argument("--no-quality", action="store_true",
                   help="skip quality control (normalisation, language ID, task rules, dedup, decontamination)")
    q.add_argument("--quality-config", type=Path, default=None, help="a quality.yaml to use instead of the shipped one")
    q.add_argument("--lid-model", type=Path, default=None,
                   help="fastText language-ID model file (default: lid.176.ftz installed by scripts/setup.sh; "
                   "GlotLID / OpenLID files work too)")
    q.add_argument("--decontaminate-against", type=Path, action="append", default=[], metavar="FILE",
                   help="benchmark items no entry may match (JSONL with question/options, or one item per line); repeat")
    q.add_argument("--skip-quality-step", action="append", default=[], metavar="NAME",
                   help="leave one quality step out (field_limits, normalise, language_id, task_rules, translation_rules, "
                   "exact_dedup, near_dedup, decontamination); repeat")
    p.add_argument("--translate-to", default=None, metavar="LANGS",
                   help="comma-separated languages to translate the source language's entries into "
                   "(added as new rows; needs --translate-config)")
    p.add_argument("--translate-config", type=Path, default=None, metavar="YAML",
                   help="translation config (backend, model, endpoints, cache; see recipes/translate/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from globmed.build import BuildOptions, build
    from globmed.errors import GlobmedError
    from globmed.sources.base import SourceSpec
    from globmed.splits import parse_ratios

    if args.shard_rows < 1:
        raise GlobmedError("--shard-rows must be at least 1")
    steps = []
    if not args.no_quality:
        from globmed.languages import resolve_languages
        from globmed.quality import load_quality_config, quality_steps, step_names

        bad = [s for s in args.skip_quality_step if s not in step_names()]
        if bad:
            raise GlobmedError(f"--skip-quality-step {bad[0]!r}: valid steps are {', '.join(step_names())}")
        config = load_quality_config(args.quality_config, lid_model=args.lid_model,
                                     external=args.decontaminate_against)
        langs = resolve_languages(args.profile if args.profile or not args.langs else None,
                                  [c for c in args.langs.split(",") if c.strip()] if args.langs else None)
        steps = quality_steps(config, langs, skip=args.skip_quality_step)
    translator = None
    if args.translate_to:
        from globmed.commands.translate import make_translator

        translator = make_translator(args.translate_config, args.translate_to, progress=not args.no_progress)
    elif args.translate_config:
        raise GlobmedError("--translate-config needs --translate-to LANGS")
    opts = BuildOptions(
        out=args.out,
        sources=[SourceSpec.parse(s) for s in args.source],
        profile=args.profile if args.profile or not args.langs else None,
        langs=[c for c in args.langs.split(",") if c.strip()] if args.langs else None,
        strict=args.strict,
        split_ratios=parse_ratios(args.split_ratios),
        split_salt=args.split_salt,
        shard_rows=args.shard_rows,
        repo_id=args.repo_id,
        force=args.force,
        progress=not args.no_progress,
        steps=steps,
        translate=translator,
        workers=args.workers,
    )
    try:
        report = build(opts)
    finally:
        if translator is not None:
            translator.close()
    print(summary(report, args.out))
    if translator is not None:
        print(translator.summary_text())
    return 0


def summary(report: dict, out: Path) -> str:
    counts = report["counts"]
    lines = [f"built {out}: {counts['total']:,} entries in {len(report['configs'])} languages "
             f"(train {counts['by_split']['train']:,} / validation {counts['by_split']['validation']:,} "
             f"/ test {counts['by_split']['test']:,})"]
    lines.append(f"{'lang':<6}{'tier':<6}{'train':>8}{'valid':>8}{'test':>8}")
    for code in report["configs"]:
        c = counts["by_language"][code]
        tier = report["languages"][code]["tier"]
        lines.append(f"{code:<6}{tier:<6}{c['train']:>8,}{c['validation']:>8,}{c['test']:>8,}")
    rej = report["rejects"]
    expected = f", {rej['expected']:,} of them expected (documented upstream gaps)" if rej.get("expected") else ""
    lines.append(f"rejected rows: {rej['total']:,}{expected}" + (f" (see {out / 'rejects.jsonl'})" if rej["total"] else ""))
    for step in report["steps"]:
        lines.append(f"step {step['step']}: {step['entries_in']:,} in, {step['entries_out']:,} out")
    if report["languages_without_entries"]:
        lines.append("no entries for: " + ", ".join(report["languages_without_entries"]))
    lines.append(f'load it: datasets.load_dataset("{out}", "{(report["configs"] or ["en"])[0]}")')
    return "\n".join(lines)
