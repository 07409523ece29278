"""``globmed translate``: translate a source's entries into target languages (resumable)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from globmed.errors import GlobmedError

EXIT_OK, EXIT_SOME_FAILED, EXIT_ALL_FAILED = 0, 3, 4
"""``globmed translate``'s exit status (2 is a usage or input error, as for every command)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "translate",
        help="translate entries of a source into target languages (cached, resumable, quality-scored)",
        description="Read a source, translate its entries of the config's source_lang into --to languages "
        "and write OUT/translations.jsonl (entries with provenance), OUT/rejects.jsonl (failed or "
        "low-quality translations, with the reason) and OUT/translate_report.json. A rerun resumes from "
        "the cache and never repeats a finished request. Exit status: 0 every translation was made "
        "(some may be dropped by quality checks), 3 some translation requests failed (see rejects.jsonl; "
        "a rerun retries only those), 4 every request failed, 2 a usage or input error.",
    )
    p.add_argument("--config", required=True, type=Path, help="translation config YAML (see recipes/translate/)")
    p.add_argument("--source", required=True, metavar="NAME[=PATH]", help="the source adapter (and its files)")
    p.add_argument("--to", required=True, metavar="LANGS", help="comma-separated target languages")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--from", dest="source_lang", default=None, help="source language (default: the config's)")
    p.add_argument("--cache", type=Path, default=None, help="cache file (default: the config's)")
    p.add_argument("--limit", type=int, default=None, help="translate at most this many entries")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def make_translator(config: Path | None, targets: str, *, progress: bool = True, **overrides):
    from globmed.translate import Translator, load_config

    if config is None:
        raise GlobmedError("translation needs --translate-config YAML (see recipes/translate/)")
    cfg = load_config(config, **overrides)
    langs = [c.strip() for c in targets.split(",") if c.strip()]
    return Translator(cfg, langs, progress=progress)


def run(args: argparse.Namespace) -> int:
    from itertools import islice

    from globmed.schema import Entry, validate_entry
    from globmed.sources.base import Reject, SourceSpec, get_source

    spec = SourceSpec.parse(args.source)
    source = get_source(spec.name)
    translator = make_translator(args.config, args.to, progress=not args.no_progress,
                                 source_lang=args.source_lang, cache=args.cache)
    lang = translator.source_lang
    origins = [e for e in source.read(spec.path, {lang}) if isinstance(e, Entry) and e.lang == lang
               and not validate_entry(e)]
    origins = origins[: args.limit] if args.limit is not None else origins
    translator.expect(len(origins))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp_entries, tmp_rejects = out / ".translations.jsonl.part", out / ".rejects.jsonl.part"
    try:
        with open(tmp_entries, "w", encoding="utf-8") as fe, open(tmp_rejects, "w", encoding="utf-8") as fr:
            for item in islice(translator(origins), None):
                if isinstance(item, Reject):
                    fr.write(json.dumps(item.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
                else:
                    fe.write(json.dumps(item.to_row(pipeline=True), ensure_ascii=False) + "\n")
        summary = translator.summary()
    finally:
        translator.close()
    os.replace(tmp_entries, out / "translations.jsonl")
    os.replace(tmp_rejects, out / "rejects.jsonl")
    report = {"source": spec.name, "config": translator.cfg.to_report(), "summary": summary}
    (out / ".translate_report.json.part").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                                     encoding="utf-8")
    os.replace(out / ".translate_report.json.part", out / "translate_report.json")
    print(translator.summary_text())
    print(f"wrote {out / 'translations.jsonl'} and {out / 'rejects.jsonl'}")
    return exit_status(summary)


def exit_status(summary: dict) -> int:
    """0 when no translation request failed, 3 when some did, 4 when all did (and at least one was made)."""
    failed, attempted = summary["failed"], summary["failed"] + summary["translated"]
    if not failed:
        return EXIT_OK
    return EXIT_ALL_FAILED if failed == attempted else EXIT_SOME_FAILED
