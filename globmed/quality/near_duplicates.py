"""What "duplicate", "near-duplicate" and "contaminated" mean in GlobMed: one definition, used by
the build (quality steps ``exact_dedup``, ``near_dedup``, ``decontamination``) and checked by the
release gate ``near_duplicates`` (:mod:`globmed.dataset_release`). Nothing else defines them.

1. **Text** of an entry: its question, its options and the first 500 characters of its context,
   one per line (:func:`comparison_texts`).
2. **Normalised**: Unicode NFKC, lower case, every run of characters that are neither letters nor
   digits replaced by one space, trimmed (:func:`normalise`; Arrow compute, the same code for one
   text and for a column).
3. **Shingles**: the set of character 5-grams of the normalised text (the text itself when it is
   no longer).
4. Two entries are **duplicates** when their normalised texts are equal, **near-duplicates** when
   the exact Jaccard similarity of their shingle sets is at least ``threshold`` (0.8,
   ``dedup.threshold`` in ``quality.yaml``).
5. A train or validation entry is **contaminated** when it duplicates or near-duplicates a test
   entry, in any language. The build removes it; the gate fails on any left in a folder.

Finding the pairs (:func:`find_pairs`) does not compare every pair. Each text gets a MinHash
signature of its shingles (one-permutation, ``num_perm`` bins, :mod:`globmed.quality.minhash`);
two texts are candidates when they share one of ``bands`` LSH band keys, **every** such pair (no
cap per bucket), and a candidate whose estimated similarity is at least ``threshold - margin`` is
then verified by the exact Jaccard of its shingle sets, which alone decides. Equal normalised texts
are matched by a hash join. Whether a pair is found depends on the two texts only, never on the
other rows. So the gate, searching the finished folder (a subset of the rows the build searched,
same test rows), can only find pairs the build's decontamination found and removed: a build passes
its own gate by construction, and a folder edited afterwards does not. A pair at exactly the
threshold is found with probability 1 - (1 - 0.8^8)^16 = 0.947 (16 bands of 8 rows), at 0.85 with
0.989 and at 0.9 with 0.9999; rows per band trade this against candidates on heavily templated text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CONTEXT_CHARS = 500
NGRAM = 5


@dataclass(frozen=True)
class Definition:
    """The settings of the definition (``dedup`` in ``quality.yaml``)."""

    threshold: float = 0.8
    num_perm: int = 128
    bands: int = 16
    margin: float = 0.15
    """Candidates whose estimated similarity is below ``threshold - margin`` are not verified."""

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Definition:
        return cls(float(settings.get("threshold", cls.threshold)), int(settings.get("num_perm", cls.num_perm)),
                   int(settings.get("bands", cls.bands)), float(settings.get("margin", cls.margin)))

    @classmethod
    def default(cls) -> Definition:
        from globmed.quality.config import load_quality_config

        return cls.from_settings(load_quality_config().section("dedup"))

    def describe(self) -> dict[str, Any]:
        return {"text": f"question, options, first {CONTEXT_CHARS} characters of context; NFKC, lower case, "
                        "non-alphanumerics as one space",
                "shingles": f"character {NGRAM}-grams", "threshold": self.threshold,
                "similarity": "exact Jaccard of the shingle sets, verified on every MinHash LSH candidate "
                              f"({self.num_perm} bins, {self.bands} bands, no cap per bucket)"}


# ------------------------------------------------------------------------------------- the text

def normalise_column(texts: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """:func:`normalise` of every string of an Arrow column (vectorised)."""
    texts = pc.utf8_normalize(texts, "NFKC")
    texts = pc.utf8_lower(texts)
    texts = pc.replace_substring_regex(texts, r"[^\p{L}\p{N}]+", " ")
    return pc.utf8_trim_whitespace(texts)


def normalise(text: str) -> str:
    """NFKC, lower case, non-alphanumeric runs as one space, trimmed."""
    return normalise_column(pa.array([text], pa.string()))[0].as_py()


def comparison_texts(table: pa.Table) -> pa.ChunkedArray:
    """The normalised text of each row of a table with ``question``, ``options``, ``context``."""
    options = table.column("options")
    if not pa.types.is_string(options.type.value_type):  # an empty list column has items of type null
        options = options.cast(pa.list_(pa.string()))
    options = pc.binary_join(options, "\n")
    context = pc.utf8_slice_codeunits(table.column("context").cast(pa.string()), 0, CONTEXT_CHARS)
    joined = pc.binary_join_element_wise(table.column("question").cast(pa.string()), options, context, "\n",
                                         null_handling="replace", null_replacement="")
    return normalise_column(joined)


def entry_text(question: str, options: Sequence[str] | None, context: str | None) -> str:
    """The normalised text of one entry (the same as :func:`comparison_texts` gives for its row)."""
    table = pa.table({"question": [question], "options": [list(options or [])], "context": [context or ""]})
    return comparison_texts(table)[0].as_py()


def shingles(norm: str, n: int = NGRAM) -> set[str]:
    """The character ``n``-grams of a normalised text (the text itself when it is no longer)."""
    if len(norm) <= n:
        return {norm}
    return {norm[i:i + n] for i in range(len(norm) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def text_hashes(norm: Sequence[str]) -> np.ndarray:
    """64-bit blake2b of each normalised text (the duplicate key)."""
    return np.fromiter((int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little") for t in norm),
                       dtype=np.uint64, count=len(norm))


def sketch(norm: Sequence[str], definition: Definition) -> tuple[np.ndarray, np.ndarray]:
    """``(signatures, hashes)`` of normalised texts: what :func:`find_pairs` searches."""
    from globmed.quality.minhash import signatures

    return signatures(norm, k=NGRAM, num_perm=definition.num_perm, prepare=None), text_hashes(norm)


# ------------------------------------------------------------------------------------- the search

@dataclass
class Side:
    """One side of a search: signatures, duplicate keys, and a way to get normalised texts by row."""

    sig: np.ndarray
    hashes: np.ndarray
    texts: Any
    """``texts(rows) -> list[str]``: the normalised texts of the given rows."""


def _band_pairs(q_keys: np.ndarray, r_keys: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per band: every (query row, ref row) sharing its key, in bounded slices of query rows."""
    for b in range(q_keys.shape[1]):
        order = np.argsort(r_keys[:, b], kind="stable")
        sorted_keys = r_keys[order, b]
        lo = np.searchsorted(sorted_keys, q_keys[:, b], "left")
        count = np.searchsorted(sorted_keys, q_keys[:, b], "right") - lo
        hit = np.flatnonzero(count)
        if not len(hit):
            continue
        lo, count = lo[hit], count[hit]
        # slices of at most ~2M pairs: a bucket shared by many rows never needs one huge array
        ends = np.cumsum(count)
        start = 0
        while start < len(hit):
            stop = int(np.searchsorted(ends, (ends[start - 1] if start else 0) + 2_000_000, "right"))
            stop = max(stop, start + 1)
            c = count[start:stop]
            qi = np.repeat(hit[start:stop], c)
            first = np.repeat(np.cumsum(c) - c, c)
            ri = order[np.repeat(lo[start:stop], c) + (np.arange(len(qi)) - first)]
            yield qi, ri
            start = stop


def find_pairs(query: Side, ref: Side, definition: Definition) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ``(query row, ref row, similarity)`` that is a duplicate (1.0) or near-duplicate under
    the definition, sorted by query row then ref row."""
    from globmed.quality.minhash import EMPTY, band_keys, similarity

    found_q, found_r = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    if len(query.hashes) and len(ref.hashes):
        # duplicates: equal normalised texts (also the only way texts of under 5 characters match)
        order = np.argsort(ref.hashes, kind="stable")
        sorted_h = ref.hashes[order]
        lo = np.searchsorted(sorted_h, query.hashes, "left")
        count = np.searchsorted(sorted_h, query.hashes, "right") - lo
        qi = np.repeat(np.arange(len(query.hashes)), count)
        first = np.repeat(np.cumsum(count) - count, count)
        found_q.append(qi)
        found_r.append(order[np.repeat(lo, count) + (np.arange(len(qi)) - first)])
        # near-duplicates: LSH candidates, estimated similarity, then the exact Jaccard
        low = definition.threshold - definition.margin
        for qi, ri in _band_pairs(band_keys(query.sig, definition.bands), band_keys(ref.sig, definition.bands)):
            close = (similarity(query.sig, qi, ri, other=ref.sig) >= low) & (query.sig[qi, 0] != EMPTY)
            found_q.append(qi[close])
            found_r.append(ri[close])
    q, r = _unique(np.concatenate(found_q), np.concatenate(found_r), len(ref.hashes))
    sim = np.zeros(len(q), dtype=np.float64)
    same = query.hashes[q] == ref.hashes[r]
    sim[same] = 1.0
    todo = np.flatnonzero(~same)
    if len(todo):
        q_rows, q_at = np.unique(q[todo], return_inverse=True)
        r_rows, r_at = np.unique(r[todo], return_inverse=True)
        q_sh = [shingles(t) for t in query.texts(q_rows)]
        r_sh = [shingles(t) for t in ref.texts(r_rows)]
        sim[todo] = [jaccard(q_sh[a], r_sh[b]) for a, b in zip(q_at.tolist(), r_at.tolist(), strict=True)]
    keep = sim >= definition.threshold
    return q[keep], r[keep], sim[keep]


def _unique(a: np.ndarray, b: np.ndarray, n_b: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(n_b, 1)
    key = np.unique(a.astype(np.int64) * width + b)
    return key // width, key % width


def first_match(q: np.ndarray, r: np.ndarray, sim: np.ndarray) -> dict[int, tuple[int, float]]:
    """Per query row of :func:`find_pairs`' result, its most similar ref row (ties: the first)."""
    best: dict[int, tuple[int, float]] = {}
    for qi, ri, s in zip(q.tolist(), r.tolist(), sim.tolist(), strict=True):
        if qi not in best or s > best[qi][1]:
            best[qi] = (ri, s)
    return best


def table_side(table: pa.Table, definition: Definition, sig: np.ndarray | None = None,
               hashes: np.ndarray | None = None, rows: np.ndarray | None = None) -> Side:
    """A :class:`Side` over a table's rows (or the given ``rows`` of it); signatures computed unless given."""
    table = table.select(["question", "options", "context"])
    if rows is not None:
        sig = None if sig is None else sig[rows]
        hashes = None if hashes is None else hashes[rows]
    norm = None
    if sig is None or hashes is None:
        norm = comparison_texts(table if rows is None else table.take(pa.array(rows, pa.int64()))).to_pylist()
        sig, hashes = sketch(norm, definition)

    def texts(at: np.ndarray) -> list[str]:
        if norm is not None:
            return [norm[i] for i in at.tolist()]
        return comparison_texts(table.take(pa.array(at if rows is None else rows[at], pa.int64()))).to_pylist()

    return Side(sig, hashes, texts)
