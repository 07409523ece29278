"""The text each entry is compared by, and its MinHash signature, computed once per build and
shared by near-dedup and decontamination (keyed by entry id)."""

from __future__ import annotations

import multiprocessing
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from globmed.quality.minhash import signatures

CONTEXT_CHARS = 500
HASH_COLUMN = "_exact_hash"
"""Column of :func:`globmed.quality.minhash.text_hash` of each row's comparison text."""


def comparison_text(table: pa.Table) -> pa.ChunkedArray:
    """question + options + the start of the context, as one string per row (vectorised)."""
    options = pc.binary_join(table.column("options"), " ; ")
    context = pc.utf8_slice_codeunits(table.column("context"), 0, CONTEXT_CHARS)
    return pc.binary_join_element_wise(table.column("question"), options, context, " | ")


_FORKED_TABLE: pa.Table | None = None  # the table the forked workers read their slices from


def _sig_chunk(args: tuple[list[str] | tuple[int, int], int, int]) -> np.ndarray:
    texts, k, num_perm = args
    if isinstance(texts, tuple):  # rows lo..hi of the table inherited from the parent (no pickling of it:
        lo, hi = texts            # a pickled slice of an Arrow table carries its whole parent buffers)
        texts = comparison_text(_FORKED_TABLE.slice(lo, hi - lo)).to_pylist()
    return signatures(texts, k=k, num_perm=num_perm)


class SignatureStore:
    """Signatures of a table's rows, reused for any later table whose ids are a subset."""

    def __init__(self, k: int, num_perm: int, workers: int = 1, chunk: int = 5_000):
        self.k, self.num_perm, self.workers, self.chunk = k, num_perm, workers, chunk
        self.ids: pa.Array | None = None
        self.sig: np.ndarray | None = None

    @property
    def column(self) -> str:
        return f"_minhash_{self.k}_{self.num_perm}"

    def precompute(self, table: pa.Table) -> dict[str, pa.Array]:
        """The signatures as a column (``num_perm`` little-endian uint32 per row), for :meth:`of`."""
        if self.column in table.column_names:  # another step sharing this store asked first
            return {}
        sig, keys = signatures(comparison_text(table).to_pylist(), k=self.k, num_perm=self.num_perm, hashes=True)
        width = 4 * self.num_perm
        return {self.column: pa.FixedSizeBinaryArray.from_buffers(
                    pa.binary(width), len(sig), [None, pa.py_buffer(np.ascontiguousarray(sig, dtype="<u4").tobytes())]),
                HASH_COLUMN: pa.array(keys, pa.uint64())}

    def of(self, table: pa.Table) -> np.ndarray:
        if self.column in table.column_names:  # computed as the stream was read
            column = table.column(self.column).combine_chunks()
            data = np.frombuffer(column.buffers()[1], dtype="<u4")
            start = column.offset * self.num_perm
            return data[start: start + len(column) * self.num_perm].reshape(len(column), self.num_perm)
        ids = table.column("id").combine_chunks()
        if self.ids is not None:
            pos = pc.index_in(ids, value_set=self.ids)
            if pos.null_count == 0:
                return self.sig[pos.to_numpy(zero_copy_only=False)]
        self.ids, self.sig = ids, self.compute(table.select(["question", "options", "context"]))
        return self.sig

    def compute(self, texts: list[str] | pa.Table) -> np.ndarray:
        """Signatures of ``texts``, or of the comparison text of each row of a table."""
        global _FORKED_TABLE
        is_table = isinstance(texts, pa.Table)
        n = texts.num_rows if is_table else len(texts)
        spans = [(lo, min(lo + self.chunk, n)) for lo in range(0, n, self.chunk)]
        if self.workers > 1 and len(spans) > 1:
            chunks = [(span if is_table else texts[span[0]: span[1]], self.k, self.num_perm) for span in spans]
            _FORKED_TABLE = texts if is_table else None
            try:
                with multiprocessing.get_context("fork").Pool(self.workers) as pool:
                    parts = pool.map(_sig_chunk, chunks)
            finally:
                _FORKED_TABLE = None
        else:
            parts = [_sig_chunk((comparison_text(texts.slice(lo, hi - lo)).to_pylist() if is_table
                                 else texts[lo:hi], self.k, self.num_perm)) for lo, hi in spans]
        return np.concatenate(parts) if parts else np.zeros((0, self.num_perm), np.uint32)

    def describe(self) -> dict[str, Any]:
        return {"text": f"question | options | first {CONTEXT_CHARS} characters of context, case-folded",
                "shingles": f"character {self.k}-grams", "minhash": f"one-permutation, {self.num_perm} bins"}
