"""The ``globmed`` command. Subcommands map 1:1 to the package's modules.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` to a function ``(args) -> int``. Heavy libraries (torch, transformers) are
imported inside those functions, so ``globmed --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

import globmed
from globmed.errors import GlobmedError

# module path of every command group, in --help order
COMMAND_MODULES: tuple[str, ...] = (
    "globmed.commands.build",
    "globmed.commands.info",
    "globmed.commands.translate",
    "globmed.commands.train",
    "globmed.commands.bench",
    "globmed.commands.release",
    "globmed.commands.demo",
)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="globmed",
        description="Build, evaluate and release GlobMed, a multilingual medical dataset, benchmark and model suite.",
    )
    parser.add_argument("--version", action="version", version=f"globmed {globmed.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command in ("build", "release", "demo"):  # numpy-heavy: freed arrays' pages are reused, not re-faulted
        from globmed.allocator import keep_freed_memory

        keep_freed_memory()
    try:
        return int(args.func(args) or 0)
    except GlobmedError as exc:
        print(f"globmed {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"globmed {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
