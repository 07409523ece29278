"""``globmed sources`` and ``globmed languages``: what is registered."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sources", help="list the source adapters with their tasks, languages, licences and files",
        description="List the source adapters (no subcommand), or `inspect NAME=PATH`: read PATH as the "
                    "adapter would and print, for the first entries, the raw fields found, the entry they "
                    "map to and the fields not used, so a maintainer sees at once, on the first real file, "
                    "whether the mapping fits. A file the adapter cannot place is listed with the reason; "
                    "no entry at all (or, for globmed_hub, an unknown row layout) is an error naming why.")
    p.set_defaults(func=run_sources)
    actions = p.add_subparsers(dest="sources_command", metavar="{inspect}")
    q = actions.add_parser("inspect", help="show how an adapter maps the first rows of PATH",
                           description="Read NAME=PATH as a build would; print the raw fields found, the "
                                       "entry each of the first rows maps to, and the raw fields not used.")
    q.add_argument("spec", metavar="NAME=PATH", help="a source and the path to read (as in --source)")
    q.add_argument("--rows", type=int, default=3, metavar="N", help="entries to show (default 3)")
    q.set_defaults(func=run_inspect)
    p = sub.add_parser("languages", help="list the language registry and the release profiles")
    p.set_defaults(func=run_languages)


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def run_sources(args: argparse.Namespace) -> int:
    from globmed.sources.base import available_sources

    rows = []
    for name, cls in available_sources().items():
        src = cls()
        info = src.info
        rows.append([name, ",".join(src.tasks), ",".join(src.languages), info.license,
                     "yes" if info.redistributable else "NO", src.expected_files])
    print(table(["source", "tasks", "languages", "licence", "redistributable", "expected files"], rows))
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from globmed.sources.base import SourceSpec
    from globmed.sources.inspection import format_inspection, inspect_source

    spec = SourceSpec.parse(args.spec)
    print(format_inspection(inspect_source(spec.name, spec.path, rows=args.rows)))
    return 0


def run_languages(args: argparse.Namespace) -> int:
    from globmed.languages import registry

    reg = registry()
    rows = []
    for code, lang in reg.languages.items():
        profiles = [name for name, members in reg.profiles.items() if code in members]
        lid = [tool for tool in ("fasttext", "py3langid", "langdetect") if lang.lid_labels(tool)]
        rows.append([code, lang.name, lang.native_name, lang.script, lang.tier, ",".join(lid) or "(none)",
                     ",".join(profiles)])
    print(table(["code", "name", "native", "script", "tier", "language id", "profiles"], rows))
    return 0
