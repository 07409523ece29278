"""The build's Parquet files: one table per language and split (``globmed.export.write_split``).

Measured at 500k entries, writing them in two forked processes cost more than it saved: the rows of a
language gathered from the stream's many batches, and every page a child process allocates on the
parent's freed memory copied first, took longer than the one loop below (about 3 s of CPU)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from globmed.export import WrittenFile, write_split
from globmed.schema import SPLITS


def present_languages(table: pa.Table, langs: Sequence[str]) -> list[str]:
    """The languages of ``langs`` that have rows in ``table``, in the order of ``langs``."""
    found = set(pc.unique(table.column("lang")).to_pylist())
    return [lang for lang in langs if lang in found]


def write_languages(table: pa.Table, langs: Sequence[str], out: Path, shard_rows: int,
                    progress: bool = False) -> list[WrittenFile]:
    """Write every split of each language of ``langs`` (in that order) under ``out``; returns the files
    in the order written."""
    written: list[WrittenFile] = []
    for lang in tqdm(langs, desc="write", unit=" lang", disable=not progress):
        lang_table = table.filter(pc.equal(table.column("lang"), lang))
        for split in SPLITS:
            part = lang_table.filter(pc.equal(lang_table.column("split"), split))
            written += write_split(part, out, lang, split, shard_rows)
    return written
