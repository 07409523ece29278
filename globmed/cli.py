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
from typing import NoReturn

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


def run() -> NoReturn:
    """The ``globmed`` command (``python -m globmed``, the console script): :func:`main`, then the process
    ends with its exit code (:func:`exit_now`)."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` once the exit handlers (:mod:`atexit`: logging, multiprocessing,
    finalizers) have run and stdout and stderr are flushed, without the interpreter's teardown: after a
    500k build or its release gates, freeing a thousand modules and a few GB of arrays one object at a
    time takes 0.3-0.5 s and writes nothing (every file a command writes is closed before it returns).
    While another thread that is not a daemon still runs, the normal exit (which waits for it) is taken."""
    import atexit
    import os
    import threading

    main_thread = threading.main_thread()
    if any(t is not main_thread and t.is_alive() and not t.daemon for t in threading.enumerate()):
        raise SystemExit(code)
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # (a closed pipe, a closed stream: nothing more can be written)
                pass
        os._exit(code)


if __name__ == "__main__":
    run()
