"""Deduplication within a language: exact (hash of the normalised text) and near-duplicate
(MinHash LSH over character n-grams). The first entry of a group is kept (test rows come
first), the others are removed with the id of the entry they duplicate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from globmed.pipeline import TableResult, TableStep
from globmed.quality.minhash import band_keys, candidate_pairs, shingle_text, similarity, text_hash
from globmed.quality.signatures import HASH_COLUMN, SignatureStore, comparison_text


def _lang_codes(table: pa.Table) -> np.ndarray:
    lang = table.column("lang").combine_chunks().dictionary_encode()
    return lang.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _text_hashes(table: pa.Table) -> np.ndarray:
    """:func:`text_hash` of each row's comparison text."""
    texts = comparison_text(table).to_pylist()
    return np.fromiter((text_hash(shingle_text(t)) for t in texts), dtype=np.uint64, count=len(texts))


class ExactDedupStep(TableStep):
    name = "exact_dedup"

    def describe(self) -> dict[str, Any]:
        return {"key": "blake2b of question | options | context, case-folded, whitespace collapsed",
                "scope": "within a language"}

    def __init__(self, store: SignatureStore | None = None):
        self.store = store

    def precompute(self, table: pa.Table) -> dict[str, pa.Array]:
        if HASH_COLUMN in table.column_names:
            return {}
        if self.store is not None:  # with the signatures, from the same case-folded texts
            return self.store.precompute(table)
        return {HASH_COLUMN: pa.array(_text_hashes(table), pa.uint64())}

    def __call__(self, table: pa.Table) -> TableResult:
        n = table.num_rows
        if HASH_COLUMN in table.column_names:
            hashes = table.column(HASH_COLUMN).to_numpy()
        else:
            hashes = np.zeros(n, dtype=np.uint64)
            for lo in range(0, n, 50_000):  # in slices: never every text as a Python string at once
                part = _text_hashes(table.slice(lo, 50_000))
                hashes[lo: lo + len(part)] = part
        keys = hashes ^ (_lang_codes(table).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) if n else hashes
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        first_of_row = first[inverse.reshape(-1)]
        dup = np.flatnonzero(first_of_row != np.arange(n))
        reasons: list[str | None] = [None] * n
        ids = table.column("id")
        for i in dup:
            reasons[i] = f"exact duplicate of '{ids[int(first_of_row[i])].as_py()}'"
        keep = np.ones(n, dtype=bool)
        keep[dup] = False
        return TableResult(keep, reasons)


class NearDedupStep(TableStep):
    name = "near_dedup"

    def __init__(self, settings: dict[str, Any], store: SignatureStore):
        self.threshold = float(settings.get("threshold", 0.8))
        self.bands = int(settings.get("bands", 16))
        self.store = store

    def describe(self) -> dict[str, Any]:
        return {**self.store.describe(), "lsh_bands": self.bands, "threshold": self.threshold,
                "scope": "within a language"}

    def precompute(self, table: pa.Table) -> dict[str, pa.Array]:
        return self.store.precompute(table)

    def __call__(self, table: pa.Table) -> TableResult:
        n = table.num_rows
        reasons: list[str | None] = [None] * n
        keep = np.ones(n, dtype=bool)
        if n < 2:
            return TableResult(keep, reasons)
        sig = self.store.of(table)
        later, earlier = candidate_pairs(band_keys(sig, self.bands), _lang_codes(table))
        sim = similarity(sig, later, earlier)
        hit = sim >= self.threshold
        later, earlier, sim = later[hit], earlier[hit], sim[hit]
        order = np.lexsort((earlier, later))  # per removed row, its earliest partner
        ids = table.column("id")
        for k in order:
            i = int(later[k])
            if reasons[i] is None:
                reasons[i] = f"near-duplicate of '{ids[int(earlier[k])].as_py()}' (similarity {sim[k]:.2f})"
                keep[i] = False
        return TableResult(keep, reasons)
