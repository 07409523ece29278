"""The build's Parquet files: one table per language and split (``globmed.export.write_split``); and the
Arrow files in which forked shard workers hand their rows to the build process.

Languages are written in threads, not forked processes: measured at 500k entries, two forked writers cost
more than they saved (every page a child process allocates on the parent's freed memory is copied first),
while Arrow's filters and Parquet's encoding run in threads without Python's lock (write 2.0 -> 1.1 s)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc
from tqdm.auto import tqdm

from globmed.export import WrittenFile, write_split
from globmed.schema import SPLITS


def present_languages(table: pa.Table, langs: Sequence[str], kept: np.ndarray | None = None) -> list[str]:
    """The languages of ``langs`` that have (``kept``) rows in ``table``, in the order of ``langs``."""
    column = table.column("lang") if kept is None else table.column("lang").filter(pa.array(kept))
    found = set(pc.unique(column).to_pylist())
    return [lang for lang in langs if lang in found]


def write_languages(table: pa.Table, langs: Sequence[str], out: Path, shard_rows: int,
                    progress: bool = False, kept: np.ndarray | None = None) -> list[WrittenFile]:
    """Write every split of each language of ``langs`` under ``out``, of the rows ``kept`` (default: all);
    returns the files in the order of ``langs``. Each language's kept rows are copied once, by one filter
    of the whole table; languages are written in threads (one per core, at most 4): Arrow's filters and
    Parquet's encoding and compression run without Python's lock, so two languages are written at once
    (processes were tried: every page a child touches of the parent's freed memory was copied first)."""
    lang_column = table.column("lang").combine_chunks().dictionary_encode()
    codes = lang_column.indices.to_numpy(zero_copy_only=False)
    code_of = {name: i for i, name in enumerate(lang_column.dictionary.to_pylist())}

    def write_language(lang: str) -> list[WrittenFile]:
        mine = codes == code_of.get(lang, -1)
        lang_table = table.filter(pa.array(mine if kept is None else mine & kept))
        files: list[WrittenFile] = []
        for split in SPLITS:
            part = lang_table.filter(pc.equal(lang_table.column("split"), split))
            files += write_split(part, out, lang, split, shard_rows)
        return files

    written: list[WrittenFile] = []
    with ThreadPoolExecutor(max(1, min(4, len(langs), available_cores()))) as pool:
        for files in tqdm(pool.map(write_language, langs), total=len(langs), desc="write", unit=" lang",
                          disable=not progress):
            written += files
    return written


def take_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """``table.take(rows)``, its columns taken in threads (one per core, at most 4; the largest first):
    Arrow's take runs without Python's lock, and one column at a time leaves the other cores idle."""
    indices = pa.array(rows)
    names = sorted(table.column_names, key=lambda name: -table.column(name).nbytes)
    with ThreadPoolExecutor(max(1, min(4, available_cores()))) as pool:
        taken = dict(zip(names, pool.map(lambda name: table.column(name).take(indices), names), strict=True))
    return pa.Table.from_arrays([taken[name] for name in table.column_names], schema=table.schema)


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


SPILL_FOLDER = ".parts"
"""Folder of the build's work folder where shard workers leave their rows; empty again when streaming ends."""
_SPILLED = itertools.count()


def spill_tables(tables: Sequence[pa.Table], folder: Path) -> str:
    """Write a shard worker's tables (one schema) as one Arrow IPC file under ``folder``; its path. Writing
    the buffers once costs a fraction of pickling them, and the build process maps the file rather than
    unpickling it into fresh memory."""
    path = folder / f"part-{os.getpid()}-{next(_SPILLED)}.arrow"
    with pa.OSFile(str(path), "wb") as sink, pyarrow.ipc.new_file(sink, tables[0].schema) as writer:
        for table in tables:
            writer.write_table(table)
    return str(path)


def mapped_tables(tables: Sequence[pa.Table | str]) -> Iterator[pa.Table]:
    """The tables of a stream: as they are, or (a path from :func:`spill_tables`) the file's rows,
    memory-mapped; the file is removed at once (its pages stay mapped while the rows are used)."""
    for table in tables:
        if isinstance(table, str):
            mapped = pyarrow.ipc.open_file(pa.memory_map(table)).read_all()
            os.remove(table)
            table = mapped
        yield table
