"""MinHash signatures and duplicate keys of each entry's comparison text
(:mod:`globmed.quality.near_duplicates`), computed once per build as the stream is read and shared
by the dedup and decontamination steps; in forked worker processes for large tables."""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np
import pyarrow as pa

from globmed.quality.forked import can_fork, fork_map
from globmed.quality.near_duplicates import Definition, comparison_texts, normalise_texts, sketch

HASH_COLUMN = "_exact_hash"
"""Column of the duplicate key (:meth:`globmed.quality.near_duplicates.Normalised.hashes`) of each row."""


def _sketch_span(state: tuple[pa.Table | list[str], Definition], span: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Signatures and keys of rows ``span`` of a table (their comparison texts) or of a list of raw texts."""
    texts, definition = state
    lo, hi = span
    if isinstance(texts, pa.Table):
        return sketch(comparison_texts(texts.slice(lo, hi - lo)), definition)
    return sketch(normalise_texts(texts[lo:hi]), definition)


def _sketch_into(state: tuple[pa.Table | list[str], Definition, np.ndarray, np.ndarray], span: tuple[int, int]) -> None:
    texts, definition, sig, keys = state
    lo, hi = span
    sig[lo:hi], keys[lo:hi] = _sketch_span((texts, definition), span)


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

    @property
    def num_perm(self) -> int:
        return self.definition.num_perm

    @property
    def column(self) -> str:
        return f"_minhash_{self.num_perm}"

    def precompute(self, table: pa.Table) -> dict[str, pa.Array]:
        """The signatures as a column (``num_perm`` little-endian uint32 per row) and the duplicate keys."""
        if self.column in table.column_names:  # another step sharing this store asked first
            return {}
        # in this process (a build's streaming worker), in slices of `chunk` rows: nearer the caches
        sig, keys = self.compute(table, workers=1)
        width = 4 * self.num_perm
        return {self.column: pa.FixedSizeBinaryArray.from_buffers(
                    pa.binary(width), len(sig), [None, pa.py_buffer(np.ascontiguousarray(sig, dtype="<u4").tobytes())]),
                HASH_COLUMN: pa.array(keys, pa.uint64())}

    def of(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """``(signatures, duplicate keys)`` of a table's rows."""
        if self.column in table.column_names and HASH_COLUMN in table.column_names:  # computed as read
            column = table.column(self.column).combine_chunks()
            data = np.frombuffer(column.buffers()[1], dtype="<u4")
            start = column.offset * self.num_perm
            sig = data[start: start + len(column) * self.num_perm].reshape(len(column), self.num_perm)
            return sig, table.column(HASH_COLUMN).to_numpy()
        ids = table.column("id").combine_chunks()
        if self.ids is not None:
            pos = pc_index_in(ids, self.ids)
            if pos is not None:
                return self.sig[pos], self.hashes[pos]
        self.ids = ids
        self.sig, self.hashes = self.compute(table.select(["question", "options", "context"]))
        return self.sig, self.hashes

    def compute(self, texts: list[str] | pa.Table, workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(signatures, keys)`` of raw ``texts`` (normalised here), or of each table row's comparison text;
        in slices of ``chunk`` rows, over ``workers`` processes (default: the store's)."""
        workers = self.workers if workers is None else workers
        if not isinstance(texts, pa.Table):
            texts = list(texts)
        n = texts.num_rows if isinstance(texts, pa.Table) else len(texts)
        spans = [(lo, min(lo + self.chunk, n)) for lo in range(0, n, self.chunk)]
        # forked workers inherit the table (a pickled slice of an Arrow table carries its whole parent buffers)
        # and write into memory shared with this process (nothing of the size of the signatures is pickled)
        new = _shared if can_fork(workers, len(spans)) else np.empty
        sig, keys = new((n, self.num_perm), np.uint32), new((n,), np.uint64)
        fork_map(_sketch_into, (texts, self.definition, sig, keys), spans, workers)
        return sig, keys

    def describe(self) -> dict[str, Any]:
        return self.definition.describe()


def pc_index_in(ids: pa.Array, known: pa.Array) -> np.ndarray | None:
    """Positions of ``ids`` in ``known``, or None when one is missing."""
    import pyarrow.compute as pc

    pos = pc.index_in(ids, value_set=known)
    return None if pos.null_count else pos.to_numpy(zero_copy_only=False)
