"""The build's Parquet files: one table per language and split (``globmed.export.write_split``), the
languages shared out among forked processes when there are several to write.

A process writes exactly the bytes the build process would (the same rows in the same order through
the same writer), so the files are the same however many processes write them."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from globmed.export import WrittenFile, write_split
from globmed.quality.forked import can_fork
from globmed.schema import SPLITS

_CONTEXT: tuple[pa.Table, dict[str, np.ndarray], Path, int] | None = None
"""The table, each language's rows, the folder and the shard size, inherited by forked writers."""

FORK_MIN_ROWS = 50_000
"""Fewer rows than this are written in the build process: a process costs more than it saves."""


def present_languages(table: pa.Table, langs: Sequence[str]) -> list[str]:
    """The languages of ``langs`` that have rows in ``table``, in the order of ``langs``."""
    found = set(pc.unique(table.column("lang")).to_pylist())
    return [lang for lang in langs if lang in found]


def _write_language(lang: str) -> list[WrittenFile]:
    assert _CONTEXT is not None
    table, rows_of, out, shard_rows = _CONTEXT
    lang_table = table.take(pa.array(rows_of[lang]))  # its rows, in the table's order
    written: list[WrittenFile] = []
    for split in SPLITS:
        part = lang_table.filter(pc.equal(lang_table.column("split"), split))
        written += write_split(part, out, lang, split, shard_rows)
    return written


def write_languages(table: pa.Table, langs: Sequence[str], out: Path, shard_rows: int,
                    workers: int = 1, progress: bool = False) -> list[WrittenFile]:
    """Write every split of each language of ``langs`` (in that order) under ``out``; returns the files
    in the order written one language after another."""
    global _CONTEXT
    codes = pc.index_in(table.column("lang"), value_set=pa.array(list(langs), pa.string()))
    codes = pc.fill_null(codes, len(langs)).to_numpy(zero_copy_only=False) if table.num_rows else np.zeros(0, int)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(langs) + 1))
    rows_of = {lang: order[bounds[i]:bounds[i + 1]] for i, lang in enumerate(langs)}
    _CONTEXT = (table, rows_of, out, shard_rows)
    try:
        bar = {"desc": "write", "unit": " lang", "total": len(langs), "disable": not progress}
        workers = min(workers, len(langs))
        if not can_fork(workers, len(langs)) or table.num_rows < FORK_MIN_ROWS:
            parts = [_write_language(lang) for lang in tqdm(langs, **bar)]
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                parts = list(tqdm(pool.imap(_write_language, langs), **bar))
    finally:
        _CONTEXT = None
    return [f for part in parts for f in part]
