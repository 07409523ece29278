"""MinHash signatures and duplicate keys of each entry's comparison text
(:mod:`globmed.quality.near_duplicates`), computed once per build as the stream is read and shared
by the dedup and decontamination steps; in forked worker processes for large tables."""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np
import pyarrow as pa

from globmed.quality.forked import can_fork, fork_map
from globmed.quality.minhash import band_keys
from globmed.quality.near_duplicates import (
    Definition,
    VerifiedPairs,
    comparison_texts,
    joined_texts,
    normalise_texts,
    sketch,
)

HASH_COLUMN = "_exact_hash"
"""Column of the duplicate key (:meth:`globmed.quality.near_duplicates.Normalised.hashes`) of each row."""


def _sketch_span(state: tuple[pa.Table | list[str], Definition], span: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Signatures and keys of rows ``span`` of a table (their comparison texts) or of a list of raw texts."""
    texts, definition = state
    lo, hi = span
    if isinstance(texts, pa.Table):
        return sketch(comparison_texts(texts.slice(lo, hi - lo)), definition)
    return sketch(normalise_texts(texts[lo:hi]), definition)  # (a list or an Arrow string array: both slice so)


def _sketch_into(state: tuple[pa.Table | list[str], Definition, np.ndarray, np.ndarray, np.ndarray | None],
                 span: tuple[int, int]) -> None:
    texts, definition, sig, keys, bands = state
    lo, hi = span
    sig[lo:hi], keys[lo:hi] = _sketch_span((texts, definition), span)
    if bands is not None:  # the LSH band keys too, while the slice's signatures are in the caches
        bands[lo:hi] = band_keys(sig[lo:hi], definition.bands)


def _shared(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A zeroed array in anonymous shared memory: what a forked process writes in it, its parent sees."""
    count = int(np.prod(shape))
    buffer = mmap.mmap(-1, max(1, count * np.dtype(dtype).itemsize))
    return np.frombuffer(buffer, dtype=dtype, count=count).reshape(shape)


class SignatureStore:
    """Signatures of a table's rows, reused for any later table whose ids are a subset."""

    def __init__(self, definition: Definition | None = None, workers: int = 1, chunk: int = 2_500):
        self.definition = definition or Definition()
        self.workers, self.chunk = workers, chunk
        self.ids: pa.Array | None = None
        self.sig: np.ndarray | None = None
        self.hashes: np.ndarray | None = None
        self.memo: Any = None
        """A :class:`~globmed.quality.sketch_memo.MemoWriter` while a build runs: the signatures made as
        the rows are read, and the pairs the decontamination verifies, kept for the release gates."""
        self.verified = VerifiedPairs()
        """The exact similarities the steps sharing this store computed (a third of the decontamination's
        candidate pairs at 500k were verified by the near_dedup step before it)."""

    @property
    def num_perm(self) -> int:
        return self.definition.num_perm

    @property
    def column(self) -> str:
        return f"_minhash_{self.num_perm}"

    @property
    def bands_column(self) -> str:
        return f"_lsh_{self.definition.bands}x{self.num_perm}"

    def precompute(self, table: pa.Table) -> dict[str, pa.Array]:
        """The signatures as a column (``num_perm`` little-endian uint32 per row) and the duplicate keys."""
        if self.column in table.column_names:  # another step sharing this store asked first
            return {}
        # in this process (a build's streaming worker), in slices of `chunk` rows: nearer the caches; the
        # rows' texts joined once, for the signatures and for the memo's keys
        joined = joined_texts(table)
        sig, keys, bands = self.compute(joined, workers=1, bands=True)
        if self.memo is not None:
            from globmed.quality.sketch_memo import joined_keys

            self.memo.add_rows(joined_keys(joined), sig, bands, keys)
        return {self.column: fixed_width(sig, "<u4"), HASH_COLUMN: pa.array(keys, pa.uint64()),
                self.bands_column: fixed_width(bands, "<u8")}

    def of(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """``(signatures, duplicate keys)`` of a table's rows."""
        if self.column in table.column_names and HASH_COLUMN in table.column_names:  # computed as read
            return from_fixed_width(table.column(self.column), "<u4"), table.column(HASH_COLUMN).to_numpy()
        ids = table.column("id").combine_chunks()
        if self.ids is not None:
            pos = pc_index_in(ids, self.ids)
            if pos is not None:
                return self.sig[pos], self.hashes[pos]
        self.ids = ids
        self.sig, self.hashes = self.compute(table.select(["question", "options", "context"]))
        return self.sig, self.hashes

    def bands_of(self, table: pa.Table, sig: np.ndarray) -> np.ndarray:
        """The LSH band keys of a table's rows whose signatures are ``sig`` (:meth:`of`): made as the rows
        were read when they were, else here."""
        if self.bands_column in table.column_names:
            return from_fixed_width(table.column(self.bands_column), "<u8")
        return band_keys(sig, self.definition.bands)

    def compute(self, texts: list[str] | pa.Array | pa.ChunkedArray | pa.Table, workers: int | None = None,
                bands: bool = False) -> tuple:
        """``(signatures, keys)`` of raw ``texts`` (normalised here; a list or an Arrow string array), or of
        each table row's comparison text, and their LSH band keys after them when ``bands``; in slices of
        ``chunk`` rows, over ``workers`` processes (default: the store's)."""
        workers = self.workers if workers is None else workers
        if not isinstance(texts, pa.Table | pa.Array | pa.ChunkedArray):
            texts = list(texts)
        n = texts.num_rows if isinstance(texts, pa.Table) else len(texts)
        spans = [(lo, min(lo + self.chunk, n)) for lo in range(0, n, self.chunk)]
        # forked workers inherit the table (a pickled slice of an Arrow table carries its whole parent buffers)
        # and write into memory shared with this process (nothing of the size of the signatures is pickled)
        new = _shared if can_fork(workers, len(spans)) else np.empty
        sig, keys = new((n, self.num_perm), np.uint32), new((n,), np.uint64)
        lsh = new((n, self.definition.bands), np.uint64) if bands else None
        fork_map(_sketch_into, (texts, self.definition, sig, keys, lsh), spans, workers)
        return (sig, keys, lsh) if bands else (sig, keys)

    def describe(self) -> dict[str, Any]:
        return self.definition.describe()


def pc_index_in(ids: pa.Array, known: pa.Array) -> np.ndarray | None:
    """Positions of ``ids`` in ``known``, or None when one is missing."""
    import pyarrow.compute as pc

    pos = pc.index_in(ids, value_set=known)
    return None if pos.null_count else pos.to_numpy(zero_copy_only=False)


def fixed_width(values: np.ndarray, dtype: str) -> pa.FixedSizeBinaryArray:
    """A 2-D array as one fixed-size binary value per row (little-endian)."""
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(values.shape[1] * np.dtype(dtype).itemsize), len(values),
                                                [None, pa.py_buffer(np.ascontiguousarray(values, dtype=dtype).tobytes())])


def from_fixed_width(column: pa.ChunkedArray | pa.Array, dtype: str) -> np.ndarray:
    """:func:`fixed_width`'s rows back as a 2-D array (no copy of a single chunk)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = column.type.byte_width // np.dtype(dtype).itemsize
    data = np.frombuffer(column.buffers()[1], dtype=dtype)
    return data[column.offset * width: (column.offset + len(column)) * width].reshape(len(column), width)
