"""What "duplicate", "near-duplicate" and "contaminated" mean in GlobMed: one definition, used by
the build (quality steps ``exact_dedup``, ``near_dedup``, ``decontamination``) and checked by the
release gate ``near_duplicates`` (:mod:`globmed.dataset_release`). Nothing else defines them.

1. **Text** of an entry: its question, its options and the first 500 characters of its context,
   one per line (:func:`comparison_texts`).
2. **Normalised**: Unicode NFC, lower case, full-width ASCII forms as ASCII (``ＣＴ１`` = ``ct1``),
   every run of characters that are not letters, marks or digits replaced by one space, trimmed
   (:func:`~globmed.quality.comparison_text.normalise_texts`: one vectorised pass over the code
   points, the same code for one text and for a column).
3. **Shingles**: the set of character 5-grams of the normalised text (the text itself when it is
   no longer).
4. Two entries are **duplicates** when their normalised texts are equal, **near-duplicates** when
   the exact Jaccard similarity of their shingle sets is at least ``threshold`` (0.8,
   ``dedup.threshold`` in ``quality.yaml``) **and so is that of their normalised questions alone**
   (:func:`question_similarity`): a long shared premise or passage makes two different items look
   alike (RuMedNLI gives each premise three hypotheses, one per label, at 0.83-0.94 on the whole
   text), but items whose questions differ are different items.
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
threshold is found with probability 1 - (1 - 0.8^8)^16 = 0.947 (16 bands of 8 rows) times 0.997
(its 128-bin estimate at least 0.7), at 0.85 with 0.989 and from 0.9 on with more than 0.9999; rows
per band trade this against the candidates of heavily templated text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

# rules 1 and 2 (the text), in their own module; entry_text, joined_texts and normalise are importable from here too
from globmed.quality.comparison_text import CONTEXT_CHARS, Normalised, comparison_texts, normalise_texts
from globmed.quality.comparison_text import entry_text as entry_text
from globmed.quality.comparison_text import joined_texts as joined_texts
from globmed.quality.comparison_text import normalise as normalise
from globmed.quality.forked import fork_map

NGRAM = 5
FORK_MIN_ROWS = 20_000
"""A search of fewer rows (both sides) runs in one process, whatever ``workers`` says."""


@dataclass(frozen=True)
class Definition:
    """The settings of the definition (``dedup`` in ``quality.yaml``)."""

    threshold: float = 0.8
    num_perm: int = 128
    bands: int = 16
    margin: float = 0.1
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
        return {"text": f"question, options, first {CONTEXT_CHARS} characters of context; NFC, lower case, "
                        "full-width ASCII as ASCII, runs of non-letters/marks/digits as one space",
                "shingles": f"character {NGRAM}-grams", "threshold": self.threshold,
                "similarity": "exact Jaccard of the shingle sets, verified on every MinHash LSH candidate "
                              f"({self.num_perm} bins, {self.bands} bands, no cap per bucket)"}


# ------------------------------------------------------------------------------------- the shingles

def shingles(norm: str, n: int = NGRAM) -> set[str]:
    """The character ``n``-grams of a normalised text (the text itself when it is no longer)."""
    if len(norm) <= n:
        return {norm}
    return {norm[i:i + n] for i in range(len(norm) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def sketch(norm: Normalised, definition: Definition) -> tuple[np.ndarray, np.ndarray]:
    """``(signatures, duplicate keys)`` of normalised texts: what :func:`find_pairs` searches."""
    from globmed.quality.minhash import codepoint_signatures

    return codepoint_signatures(norm.cp, len(norm), k=NGRAM, num_perm=definition.num_perm), norm.hashes()


# ------------------------------------------------------------------------------------- the search

@dataclass
class Side:
    """One side of a search: signatures, duplicate keys, and a way to get normalised texts by row."""

    sig: np.ndarray
    hashes: np.ndarray
    texts: Any
    """``texts(rows) -> Normalised | list[str]``: the normalised texts of the given rows."""
    questions: Any = None
    """``questions(rows) -> Normalised | list[str]``: their normalised questions (``None``: the rule is not
    applied)."""
    bands: np.ndarray | None = None
    """Their LSH band keys (``minhash.band_keys(sig, definition.bands)``) when already made, else made here."""


def _runs_of(sorted_keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first position, count)`` of each query's run of equal keys in ``sorted_keys`` (count 0: none).
    One binary search per query among the distinct keys: half the time of a left and a right search."""
    if not len(sorted_keys):
        return np.zeros(len(queries), np.int64), np.zeros(len(queries), np.int64)
    new = np.empty(len(sorted_keys), bool)
    new[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
    first = np.flatnonzero(new)
    distinct, runs = sorted_keys[first], np.diff(np.append(first, len(sorted_keys)))
    lo, count = np.zeros(len(queries), np.int64), np.zeros(len(queries), np.int64)
    maybe = np.arange(len(queries))
    if len(queries) > 4 * len(distinct) and np.issubdtype(queries.dtype, np.integer):
        # many more queries than keys (a band's test keys against every other row's): a bitmap of the keys'
        # low bits (hashes: uniform) rules most absent queries out before the binary search, whose random
        # reads of the keys are most of its time
        bits = max(10, (8 * len(distinct)).bit_length())
        mask = queries.dtype.type((1 << bits) - 1)
        present = np.zeros(1 << bits, bool)
        present[(distinct & mask).astype(np.intp)] = True
        maybe = np.flatnonzero(present[(queries & mask).astype(np.intp)])
    at = np.searchsorted(distinct, queries[maybe])
    at[at == len(distinct)] = 0
    hit = distinct[at] == queries[maybe]
    lo[maybe] = np.where(hit, first[at], 0)
    count[maybe] = np.where(hit, runs[at], 0)
    return lo, count


def _band_pairs(q_keys: np.ndarray, r_keys: np.ndarray, b: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every (query row, ref row) sharing their key of band ``b``, in bounded slices of query rows."""
    order = np.argsort(r_keys[:, b], kind="stable")
    lo, count = _runs_of(r_keys[order, b], q_keys[:, b])
    hit = np.flatnonzero(count)
    if not len(hit):
        return
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


def _close_in_band(state: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float], b: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs of band ``b`` whose estimated similarity is at least ``low``."""
    from globmed.quality.minhash import EMPTY, at_least

    q_keys, r_keys, q_sig, r_sig, q_low, r_low, low = state
    found_q, found_r = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for qi, ri in _band_pairs(q_keys, r_keys, b):
        close = at_least(q_sig, qi, ri, low, other=r_sig, low_sig=q_low, low_other=r_low) & (q_sig[qi, 0] != EMPTY)
        found_q.append(qi[close])
        found_r.append(ri[close])
    return np.concatenate(found_q), np.concatenate(found_r)


def find_pairs(query: Side, ref: Side, definition: Definition, workers: int = 1, known: Any = None,
               verified: Any = None, searched: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ``(query row, ref row, similarity)`` that is a duplicate (1.0) or near-duplicate under
    the definition, sorted by query row then ref row. ``workers``: processes for the candidate
    estimates (one LSH band each) and the exact verification; the result does not depend on it.
    ``known(hashes_q, hashes_r) -> (found, similarity)``: exact similarities already computed, by the
    duplicate keys of the two texts (:class:`~globmed.quality.sketch_memo.Memo`); ``verified(hashes_q,
    hashes_r, similarity)`` is given every candidate pair of two different texts, with its similarity:
    with the keys of the texts on each side, the whole of this search.

    ``searched(hashes_q, hashes_r) -> (query rows, ref rows)``: the candidate pairs of texts with these
    duplicate keys, from such a record of an earlier search that had every query text on its query side
    and every ref text on its ref side (:meth:`~globmed.quality.sketch_memo.Memo.candidates`). Whether
    a pair is a candidate depends on its two texts alone, so they are this search's candidates, and the
    LSH search is not made (the sides' signatures may then be None)."""
    from globmed.quality.minhash import band_keys, low_bytes, unique_pairs

    found_q, found_r = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    if len(query.hashes) and len(ref.hashes):
        # duplicates: equal normalised texts (also the only way texts of under 5 characters match)
        order = np.argsort(ref.hashes, kind="stable")
        lo, count = _runs_of(ref.hashes[order], query.hashes)
        qi = np.repeat(np.arange(len(query.hashes)), count)
        first = np.repeat(np.cumsum(count) - count, count)
        found_q.append(qi)
        found_r.append(order[np.repeat(lo, count) + (np.arange(len(qi)) - first)])
        if len(query.hashes) + len(ref.hashes) < FORK_MIN_ROWS:
            workers = 1  # a small search: starting processes would cost more than it saves
        if searched is not None:  # near-duplicates: the candidates an earlier search recorded
            qi, ri = searched(query.hashes, ref.hashes)
            found_q.append(qi)
            found_r.append(ri)
        else:  # near-duplicates: LSH candidates, estimated similarity, then the exact Jaccard
            q_keys = band_keys(query.sig, definition.bands) if query.bands is None else query.bands
            r_keys = band_keys(ref.sig, definition.bands) if ref.bands is None else ref.bands
            state = (q_keys, r_keys, query.sig, ref.sig,
                     low_bytes(query.sig), low_bytes(ref.sig), definition.threshold - definition.margin)
            for qi, ri in fork_map(_close_in_band, state, range(definition.bands), workers):
                found_q.append(qi)
                found_r.append(ri)
    q, r = unique_pairs(np.concatenate(found_q), np.concatenate(found_r), len(ref.hashes))
    sim = np.ones(len(q), dtype=np.float64)
    distinct = todo = np.flatnonzero(query.hashes[q] != ref.hashes[r])
    if known is not None and len(todo):
        found, memo_sim = known(query.hashes[q[todo]], ref.hashes[r[todo]])
        sim[todo[found]] = memo_sim[found]
        todo = todo[~found]
    sim[todo] = exact_similarity(q[todo], r[todo], query.texts, ref.texts, workers=workers)
    if verified is not None:
        verified(query.hashes[q[distinct]], ref.hashes[r[distinct]], sim[distinct])
    keep = sim >= definition.threshold
    if query.questions is not None and ref.questions is not None:
        near = np.flatnonzero(keep & (sim < 1.0))
        keep[near] = exact_similarity(q[near], r[near], query.questions, ref.questions,
                                      workers=workers) >= definition.threshold
    return q[keep], r[keep], sim[keep]


class VerifiedPairs:
    """Exact similarities of pairs of texts, by their duplicate keys (unordered): ``known`` for
    :func:`find_pairs` (:meth:`lookup`)."""

    def __init__(self, a: np.ndarray | None = None, b: np.ndarray | None = None, sim: np.ndarray | None = None):
        self._a, self._b, self._sim = np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0)
        self._key = np.zeros(0, np.uint64)
        if a is not None:
            self.add(a, b, sim)

    def __len__(self) -> int:
        return len(self._key)

    def add(self, hash_a: np.ndarray, hash_b: np.ndarray, sim: np.ndarray) -> None:
        lo, hi = np.minimum(hash_a, hash_b).astype(np.uint64), np.maximum(hash_a, hash_b).astype(np.uint64)
        a, b = np.concatenate([self._a, lo]), np.concatenate([self._b, hi])
        sim = np.concatenate([self._sim, np.asarray(sim, np.float64)])
        key = _pair_key(a, b)
        order = np.argsort(key, kind="stable")
        self._key, self._a, self._b, self._sim = key[order], a[order], b[order], sim[order]

    def lookup(self, hash_a: np.ndarray, hash_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(known, similarity)`` of each pair of texts with duplicate keys ``(hash_a[i], hash_b[i])``."""
        a, b = np.minimum(hash_a, hash_b), np.maximum(hash_a, hash_b)
        if not len(self._key) or not len(a):
            return np.zeros(len(a), bool), np.zeros(len(a))
        at = np.minimum(np.searchsorted(self._key, _pair_key(a, b)), len(self._key) - 1)
        known = (self._a[at] == a) & (self._b[at] == b)  # (two pairs with one combined key: the other misses)
        return known, np.where(known, self._sim[at], 0.0)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The ``(lower, higher)`` duplicate keys of every pair."""
        return self._a, self._b


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One 64-bit number per (unordered, already ordered) pair of duplicate keys, to sort and search by."""
    with np.errstate(over="ignore"):
        return (a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ b.astype(np.uint64)


def question_texts(table: pa.Table) -> Any:
    """``questions(rows)`` over a table's ``question`` column: the normalised question of each row."""
    column = table.column("question")

    def questions(rows: np.ndarray) -> Normalised:
        return normalise_texts(column.take(pa.array(np.asarray(rows), pa.int64())))

    return questions


def question_similarity(a: np.ndarray, b: np.ndarray, questions_a: Any, questions_b: Any, workers: int = 1
                        ) -> np.ndarray:
    """The exact Jaccard of the shingles of each pair's normalised questions (rule 4's second half)."""
    return exact_similarity(a, b, questions_a, questions_b, workers=workers)


_PAD = 0x1FFFFF
"""Fills the one gram of a text shorter than NGRAM (no code point is this high): :func:`shingles`
takes such a text whole, and so does :func:`_gram_matrix`."""


def _code_points(texts: Sequence[str] | Normalised) -> tuple[np.ndarray, np.ndarray]:
    """``(code points of every text, one after the other, int64; each text's length)``; normalised texts
    are taken as they are (no decoding to Python strings and encoding back)."""
    if isinstance(texts, Normalised):
        lengths = np.diff(texts.starts) - 1
        return texts.cp[texts.cp != 0].astype(np.int64), lengths  # 0 only ends each text
    joined = "".join(texts)
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64) if joined else np.zeros(0, np.int64)
    return cp, np.fromiter(map(len, texts), np.int64, count=len(texts))


def _gram_matrix(texts: Sequence[str] | Normalised, n: int = NGRAM) -> Any:
    """A binary sparse matrix in canonical form (each row's columns sorted, none twice), one row per
    text, one column per distinct character ``n``-gram of the texts: row ``i`` is :func:`shingles` of
    text ``i``. Grams are keyed EXACTLY (code points numbered within the texts and packed into one
    64-bit integer, or two when the texts use more than 4095 distinct code points), never hashed."""
    from scipy.sparse import csr_matrix

    if isinstance(texts, Normalised):
        fast = _normalised_gram_matrix(texts, n)
        if fast is not None:
            return fast
    cp, text_lengths = _code_points(texts)
    short = np.flatnonzero(text_lengths < n)
    lengths = np.maximum(text_lengths, n)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    if len(short):  # a short text is one gram: padded with a code point no text holds
        padded = np.full(int(starts[-1]), _PAD, np.int64)
        padded[np.repeat(starts[:-1], text_lengths) + (np.arange(len(cp)) - np.repeat(
            np.cumsum(text_lengths) - text_lengths, text_lengths))] = cp
        cp = padded
    grams = lengths - n + 1
    rows = len(lengths)
    text_of = np.repeat(np.arange(rows, dtype=np.int64), grams)
    at = np.repeat(starts[:-1] - np.concatenate([[0], np.cumsum(grams)[:-1]]), grams) + np.arange(len(text_of))
    present = np.zeros(int(cp.max()) + 2 if len(cp) else 1, bool)  # code points numbered without a sort
    present[cp] = True
    code = (np.cumsum(present) - 1)[cp]
    bits = max(1, int(present.sum()).bit_length())
    if n * bits <= 62:  # the packed gram itself is the column: no numbering sort
        m = len(code) - n + 1  # the gram starting at every position (some cross two texts: not taken)
        gram = code[:m].copy()
        for k in range(1, n):
            gram <<= bits
            gram |= code[k: k + m]
        gram = gram[at]
        width = 1 << (n * bits)
        if n * bits + max(1, (rows - 1).bit_length()) <= 63:  # the text's number above its packed grams
            gram |= text_of << (n * bits)
            return _canonical_rows(gram, rows, n * bits)
    else:  # many distinct code points: two exact keys, numbered by one sort
        hi = (code[at] << 42) | (code[at + 1] << 21) | code[at + 2]
        lo = (code[at + 3] << 21) | code[at + 4] if n == 5 else np.zeros(len(at), np.int64)
        order = np.lexsort((lo, hi))
        new = np.ones(len(order), bool)
        new[1:] = (hi[order][1:] != hi[order][:-1]) | (lo[order][1:] != lo[order][:-1])
        gram = np.empty(len(order), np.int64)
        gram[order] = np.cumsum(new) - 1
        width = int(gram.max()) + 1 if len(gram) else 1
    m = csr_matrix((np.ones(len(gram), np.float32), (text_of, gram)), shape=(rows, width))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _normalised_gram_matrix(texts: Normalised, n: int) -> Any:
    """:func:`_gram_matrix` of normalised texts as they are (each followed by a 0), without copying them
    out: the gram at every position is packed, and those that take in a text's closing 0 are dropped.
    None when it does not apply: a text shorter than ``n`` (one padded gram), or grams and text numbers
    that do not fit one 64-bit integer."""
    cp, starts = texts.cp, texts.starts
    rows = len(starts) - 1
    grams = np.diff(starts) - n  # (length + 1 for the 0) - n + 1
    if not rows or grams.min() < 1:
        return None
    present = np.zeros(int(cp.max()) + 1, bool)  # code points numbered without a sort (the 0 is number 0)
    present[cp] = True
    bits = max(1, (int(present.sum()) - 1).bit_length())
    row_bits = max(1, (rows - 1).bit_length())
    if n * bits + row_bits > 63:
        return None
    code = (np.cumsum(present, dtype=np.int32) - 1)[cp]
    m = len(cp) - n + 1
    gram = code[:m].astype(np.int64)
    for k in range(1, n):
        gram <<= bits
        gram |= code[k: k + m]
    valid = np.ones(m, bool)  # the windows that hold a text's closing 0 are no gram
    closing = (starts[1:, None] - 1 - np.arange(n)[None, :]).ravel()
    valid[closing[closing < m]] = False
    gram = gram[valid]
    gram |= np.repeat(np.arange(rows, dtype=np.int64), grams) << (n * bits)
    return _canonical_rows(gram, rows, n * bits)


def _canonical_rows(keyed: np.ndarray, rows: int, shift: int) -> Any:
    """The binary sparse matrix in canonical form of ``keyed``: each a text's number above ``shift`` bits of
    one of its packed grams (the column). One numpy sort orders them by text, then column (scipy's per-row
    sort of (column, value) pairs takes about twice as long); repeats go."""
    from scipy.sparse import csr_matrix

    keyed.sort()
    new = np.empty(len(keyed), bool)
    new[:1] = True
    np.not_equal(keyed[1:], keyed[:-1], out=new[1:])
    keyed = keyed[new]
    indptr = np.zeros(rows + 1, np.int64)
    np.cumsum(np.bincount(keyed >> shift, minlength=rows), out=indptr[1:])
    keyed &= (1 << shift) - 1
    return csr_matrix((np.ones(len(keyed), np.float32), keyed, indptr), shape=(rows, 1 << shift))


def _pair_order(a: np.ndarray, b: np.ndarray, same: bool) -> np.ndarray:
    """An order of the pairs that keeps those sharing rows together (reverse Cuthill-McKee over the
    graph whose edges are the pairs), so that a slice of them reads and shingles fewer distinct rows;
    by ``a`` then ``b`` without scipy. The similarities do not depend on it."""
    try:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import reverse_cuthill_mckee
    except ImportError:
        return np.lexsort((b, a))
    if len(a) < 2:
        return np.arange(len(a))
    nodes, at = np.unique(np.concatenate([a, b if same else b + int(a.max()) + 1]), return_inverse=True)
    x, y = at[: len(a)], at[len(a):]
    graph = coo_matrix((np.ones(2 * len(a), np.int8), (np.concatenate([x, y]), np.concatenate([y, x]))),
                       shape=(len(nodes), len(nodes))).tocsr()
    place = np.empty(len(nodes), np.int64)
    place[reverse_cuthill_mckee(graph, symmetric_mode=True)] = np.arange(len(nodes))
    px, py = place[x], place[y]
    return np.lexsort((np.maximum(px, py), np.minimum(px, py)))


def exact_similarity(a: np.ndarray, b: np.ndarray, texts_a: Any, texts_b: Any, chunk: int = 4_000,
                     sparse: bool | None = None, workers: int = 1) -> np.ndarray:
    """The exact Jaccard of the shingle sets of each pair ``(a[i], b[i])``; ``texts_a(rows)`` and
    ``texts_b(rows)`` give normalised texts (the same function: rows of one table, each read once per
    slice). Per slice of ``chunk`` pairs (pairs sharing rows kept together: :func:`_pair_order`), in
    bounded memory, the slices in up to ``workers`` forked processes. ``sparse`` (default: when scipy is
    installed): the slice's gram sets as one sparse binary matrix (:func:`_gram_matrix`), a pair's
    intersection the dot product of its two rows; else Python sets. Both give exactly
    ``jaccard(shingles(x), shingles(y))``."""

    if not len(a):  # (nothing to verify: scipy, a quarter of a second to import, is not needed)
        return np.zeros(0, dtype=np.float64)
    if sparse is None:
        try:
            import scipy.sparse  # noqa: F401

            sparse = True
        except ImportError:
            sparse = False
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    out = np.zeros(len(a), dtype=np.float64)
    order = _pair_order(a, b, texts_a is texts_b)
    starts = range(0, len(order), chunk)
    parts = fork_map(_slice_similarity, (a, b, order, chunk, texts_a, texts_b, sparse), starts, workers)
    for lo, part in zip(starts, parts, strict=True):
        out[order[lo: lo + chunk]] = part
    return out


def _slice_similarity(state: tuple, lo: int) -> np.ndarray:
    """:func:`exact_similarity` of the pairs ``order[lo: lo + chunk]``."""
    a, b, order, chunk, texts_a, texts_b, sparse = state
    at = order[lo: lo + chunk]
    if texts_a is texts_b:  # one side: a row in both columns is read once
        rows, where = np.unique(np.concatenate([a[at], b[at]]), return_inverse=True)
        texts = texts_a(rows)
        x, y = where.reshape(-1)[: len(at)], where.reshape(-1)[len(at):]
        return (_sparse_jaccard if sparse else _set_jaccard)(texts, x, y)
    a_rows, a_at = np.unique(a[at], return_inverse=True)
    b_rows, b_at = np.unique(b[at], return_inverse=True)
    left, right = texts_a(a_rows), texts_b(b_rows)
    if isinstance(left, Normalised) and isinstance(right, Normalised):
        both = Normalised(np.concatenate([left.cp, right.cp]),
                          np.concatenate([left.starts, right.starts[1:] + left.starts[-1]]))
    else:
        both = [*_strings(left), *_strings(right)]
    return (_sparse_jaccard if sparse else _set_jaccard)(both, a_at.reshape(-1), len(left) + b_at.reshape(-1))


def _sparse_jaccard(texts: list[str] | Normalised, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    m = _gram_matrix(texts)
    size = np.diff(m.indptr).astype(np.float64)
    inter = np.asarray(m[x].multiply(m[y]).sum(axis=1)).ravel()
    union = size[x] + size[y] - inter
    return np.divide(inter, union, out=np.ones(len(x)), where=union > 0)


def _strings(texts: list[str] | Normalised) -> list[str]:
    return texts.texts() if isinstance(texts, Normalised) else texts


def _set_jaccard(texts: list[str] | Normalised, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    sh = [shingles(t) for t in _strings(texts)]
    return np.array([jaccard(sh[i], sh[j]) for i, j in zip(x.tolist(), y.tolist(), strict=True)], dtype=np.float64)


def first_match(q: np.ndarray, r: np.ndarray, sim: np.ndarray) -> dict[int, tuple[int, float]]:
    """Per query row of :func:`find_pairs`' result, its most similar ref row (ties: the first)."""
    best: dict[int, tuple[int, float]] = {}
    for qi, ri, s in zip(q.tolist(), r.tolist(), sim.tolist(), strict=True):
        if qi not in best or s > best[qi][1]:
            best[qi] = (ri, s)
    return best


def table_side(table: pa.Table, definition: Definition, sig: np.ndarray | None = None,
               hashes: np.ndarray | None = None, rows: np.ndarray | None = None,
               bands: np.ndarray | None = None) -> Side:
    """A :class:`Side` over a table's rows (or the given ``rows`` of it); signatures computed unless given
    (and band keys, given with them or made by the search)."""
    table = table.select(["question", "options", "context"])
    if rows is not None and len(rows) and int(rows[-1]) - int(rows[0]) + 1 == len(rows) and (np.diff(rows) == 1).all():
        # consecutive rows (the build's steps put the test split first): views of the arrays, a slice of
        # the table, rather than copies of a few hundred MB
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        table = table.slice(lo, hi - lo)
        sig, hashes, bands = (None if x is None else x[lo:hi] for x in (sig, hashes, bands))
        rows = None
    if rows is not None:
        sig = None if sig is None else sig[rows]
        hashes = None if hashes is None else hashes[rows]
        bands = None if bands is None else bands[rows]
    norm = None
    if sig is None or hashes is None:
        norm = comparison_texts(table if rows is None else table.take(pa.array(rows, pa.int64())))
        sig, hashes = sketch(norm, definition)
        bands = None

    def texts(at: np.ndarray) -> Normalised:
        if norm is not None:
            return norm.take(at)
        return comparison_texts(table.take(pa.array(at if rows is None else rows[at], pa.int64())))

    questions = table.select(["question"])
    return Side(sig, hashes, texts, question_texts(questions if rows is None else questions.take(pa.array(rows, pa.int64()))),
                bands)


def keyed_side(table: pa.Table, hashes: np.ndarray) -> Side:
    """A :class:`Side` over a table's rows with their duplicate keys and no signatures: for a search given
    its candidates (:func:`find_pairs`' ``searched``)."""
    texts = table.select(["question", "options", "context"])

    def of(at: np.ndarray) -> Normalised:
        return comparison_texts(texts.take(pa.array(at, pa.int64())))

    return Side(None, hashes, of, question_texts(table.select(["question"])))
