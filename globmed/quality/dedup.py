"""Deduplication within a language, by the one definition of :mod:`globmed.quality.near_duplicates`:
exact (equal normalised texts) and near-duplicate (exact 5-gram Jaccard at or above the threshold,
verified on MinHash LSH candidates). The first entry of a group is kept (test rows come first), the
others are removed with the id of the entry they duplicate. Within the build's rows the near
search compares each row with the first and the previous row of each of its LSH buckets (every
row against every other would be quadratic in a bucket of templated texts); the search that
decontamination runs between the test split and the rest is the complete one the release gate
repeats."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from globmed.pipeline import TableResult, TableStep
from globmed.quality.forked import fork_map
from globmed.quality.minhash import EMPTY, at_least, candidate_pairs, low_bytes
from globmed.quality.near_duplicates import (
    FORK_MIN_ROWS,
    Normalised,
    VerifiedPairs,
    comparison_texts,
    exact_similarity,
    question_similarity,
    question_texts,
)
from globmed.quality.signatures import HASH_COLUMN, SignatureStore


def _lang_codes(table: pa.Table) -> np.ndarray:
    lang = table.column("lang").combine_chunks().dictionary_encode()
    return lang.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _text_hashes(table: pa.Table) -> np.ndarray:
    """The duplicate key of each row's comparison text."""
    return comparison_texts(table).hashes()


def _close_part(state: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float], span: tuple[int, int]
                ) -> np.ndarray:
    """Whether each candidate pair of ``span`` is estimated at least ``low`` alike (and has shingles)."""
    sig, low_sig, later, earlier, low = state
    later, earlier = later[span[0]: span[1]], earlier[span[0]: span[1]]
    return at_least(sig, later, earlier, low, low_sig=low_sig) & (sig[later, 0] != EMPTY)


class ExactDedupStep(TableStep):
    name = "exact_dedup"

    def describe(self) -> dict[str, Any]:
        return {"key": "XXH3-64 of the normalised comparison text (globmed.quality.near_duplicates)",
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
        return self.in_order(table)

    def in_order(self, table: pa.Table, order: np.ndarray | None = None) -> TableResult:
        """The result on ``table.take(order)`` (its rows, as numbered there), without that table made."""
        if HASH_COLUMN in table.column_names:
            hashes = table.column(HASH_COLUMN).to_numpy()
        else:
            hashes = np.zeros(table.num_rows, dtype=np.uint64)
            for lo in range(0, table.num_rows, 50_000):  # in slices: never every text as a Python string at once
                part = _text_hashes(table.slice(lo, 50_000))
                hashes[lo: lo + len(part)] = part
        langs = _lang_codes(table)
        if order is not None:
            hashes, langs = hashes[order], langs[order]
        n = len(hashes)
        keys = hashes ^ (langs.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) if n else hashes
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        first_of_row = first[inverse.reshape(-1)]
        dup = np.flatnonzero(first_of_row != np.arange(n))
        reasons: list[str | None] = [None] * n
        ids = table.column("id")
        rows = first_of_row if order is None else order[first_of_row]  # the first row of each, in the table
        for i in dup:
            reasons[i] = f"exact duplicate of '{ids[int(rows[i])].as_py()}'"
        keep = np.ones(n, dtype=bool)
        keep[dup] = False
        return TableResult(keep, reasons)


class NearDedupStep(TableStep):
    name = "near_dedup"

    def __init__(self, settings: dict[str, Any], store: SignatureStore):
        self.store = store
        self.definition = store.definition

    def describe(self) -> dict[str, Any]:
        return {**self.store.describe(), "scope": "within a language"}

    def precompute(self, table: pa.Table) -> dict[str, pa.Array]:
        return self.store.precompute(table)

    def __call__(self, table: pa.Table) -> TableResult:
        n = table.num_rows
        reasons: list[str | None] = [None] * n
        keep = np.ones(n, dtype=bool)
        if n < 2:
            return TableResult(keep, reasons)
        sig, hashes = self.store.of(table)
        d = self.definition
        workers = self.store.workers if n >= FORK_MIN_ROWS else 1  # a small table: processes cost more than they save
        later, earlier = candidate_pairs(self.store.bands_of(table, sig), _lang_codes(table), workers)
        spans = np.linspace(0, len(later), workers + 1).astype(np.int64)  # the estimates in both processes too
        close = np.concatenate([np.zeros(0, bool), *fork_map(_close_part, (sig, low_bytes(sig), later, earlier,
                                                                          d.threshold - d.margin),
                                                             list(zip(spans[:-1], spans[1:], strict=True)), workers)])
        later, earlier = later[close], earlier[close]
        sim = self._exact(table, later, earlier, hashes, self.store.workers, self.store.verified)
        hit = sim >= d.threshold
        near = np.flatnonzero(hit & (sim < 1.0))  # the definition's second half: the questions alike too
        questions = question_texts(table)
        hit[near] = question_similarity(later[near], earlier[near], questions, questions,
                                        self.store.workers) >= d.threshold
        later, earlier, sim = later[hit], earlier[hit], sim[hit]
        order = np.lexsort((earlier, later))  # per removed row, its earliest partner
        ids = table.column("id")
        for k in order:
            i = int(later[k])
            if reasons[i] is None:
                reasons[i] = f"near-duplicate of '{ids[int(earlier[k])].as_py()}' (similarity {sim[k]:.2f})"
                keep[i] = False
        return TableResult(keep, reasons)

    @staticmethod
    def _exact(table: pa.Table, a: np.ndarray, b: np.ndarray, hashes: np.ndarray, workers: int = 1,
               verified: VerifiedPairs | None = None) -> np.ndarray:
        """The exact Jaccard of each pair's shingle sets (1.0 for equal texts), added to ``verified``."""
        sim = np.ones(len(a), dtype=np.float64)
        todo = np.flatnonzero(hashes[a] != hashes[b])
        if len(todo):
            texts = table.select(["question", "options", "context"])

            def of(rows: np.ndarray) -> Normalised:
                return comparison_texts(texts.take(pa.array(rows)))

            sim[todo] = exact_similarity(a[todo], b[todo], of, of, workers=workers)
            if verified is not None:
                verified.add(hashes[a[todo]], hashes[b[todo]], sim[todo])
        return sim
