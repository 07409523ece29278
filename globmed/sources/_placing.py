"""Helpers for adapters that look for their files under a folder: every data file found is either
read, left out by a rule the adapter documents (logged), or rejected at file level with the reason
it cannot be placed (unknown name, unknown split, unknown layout, a Git LFS pointer), never
skipped without a word.

Not an adapter (the leading underscore keeps it out of the registry import).
"""

from __future__ import annotations

import logging
from pathlib import Path

LFS_HEADER = b"version https://git-lfs.github.com/spec/"

log = logging.getLogger("globmed.sources")


def is_lfs_pointer(path: Path) -> bool:
    """Whether ``path`` is a Git LFS pointer file (the data itself was never pulled)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(LFS_HEADER)) == LFS_HEADER
    except OSError:
        return False


LFS_REASON = "a Git LFS pointer, not the data: run `git lfs pull` in the repository (or download the file)"


def left_out(source: str, file: Path, why: str) -> None:
    """Say that a known file is deliberately not read (an INFO log line, not a reject)."""
    log.info("%s: not reading %s (%s)", source, file, why)
