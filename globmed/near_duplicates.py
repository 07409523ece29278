"""Near-duplicates between two sets of texts (train vs test), for the release gate.

The check is deliberately simple and documented:

1. **Normalise**: Unicode NFKC, case-fold, drop punctuation and symbols, collapse white space.
2. **Exact**: two texts whose normalised forms hash the same (SHA-1) are duplicates.
3. **Near**: two texts whose sets of character 5-grams (of the normalised form) have a Jaccard
   similarity >= ``threshold`` (default 0.8) are near-duplicates.

Step 3 does not compare every pair. Candidates come from MinHash LSH over the same 5-grams
(``globmed.quality.minhash``: 128 hashes in 32 bands of 4, vectorised; a pair at Jaccard 0.8
shares a band with probability 1 - (1 - 0.8^4)^32 > 0.9999999, at 0.7 still 0.9998), kept when
their estimated similarity is within ``margin`` (0.15, over four standard deviations of the
estimate) of the threshold; the verdict is then the **exact** Jaccard of their full 5-gram sets.
So no pair is reported below the threshold, and the LSH only decides which pairs are worth the
exact comparison. Comparisons stay within one language.

The quality stage (``globmed/quality/decontam.py``) removes near-duplicates of test entries during
the build, on its own comparison text and estimated similarity; this gate is the release's
independent second look at the finished folder.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

NGRAM = 5
DEFAULT_THRESHOLD = 0.8
NUM_PERM = 128
BANDS = 32
MARGIN = 0.15
"""Candidates whose estimated Jaccard is at least ``threshold - MARGIN`` are compared exactly."""
PER_BUCKET = 16
"""Train texts taken per shared LSH band (a bucket this full holds texts alike to each other)."""

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_PUNCT.sub(" ", text).split())


def shingles(norm: str, n: int = NGRAM) -> set[str]:
    """The character ``n``-grams of a normalised text (the text itself when it is no longer)."""
    if len(norm) <= n:
        return {norm}
    return {norm[i:i + n] for i in range(len(norm) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass(frozen=True)
class NearDuplicate:
    test_id: str
    train_id: str
    similarity: float  # 1.0 for an exact (normalised) duplicate


def find_near_duplicates(train: Sequence[tuple[str, str]], test: Sequence[tuple[str, str]],
                         threshold: float = DEFAULT_THRESHOLD, *, num_perm: int = NUM_PERM, bands: int = BANDS,
                         margin: float = MARGIN) -> list[NearDuplicate]:
    """Pairs (test id, train id) whose texts are exact or near duplicates, in test order; each test
    text's most similar train text (ties: the first). Inputs are (id, text)."""
    import numpy as np

    from globmed.quality.minhash import band_keys, match_against, signatures, similarity

    exact: dict[str, int] = {}
    train_norm = []
    for i, (_, text) in enumerate(train):
        norm = normalise(text)
        train_norm.append(norm)
        exact.setdefault(hashlib.sha1(norm.encode("utf-8")).hexdigest(), i)
    hits: dict[int, tuple[int, float]] = {}
    rest, rest_norm = [], []
    for j, (_, text) in enumerate(test):
        norm = normalise(text)
        i = exact.get(hashlib.sha1(norm.encode("utf-8")).hexdigest())
        if i is not None:
            hits[j] = (i, 1.0)
        else:
            rest.append(j)
            rest_norm.append(norm)
    if rest and train:
        sig_tr = signatures(train_norm, k=NGRAM, num_perm=num_perm)
        sig_te = signatures(rest_norm, k=NGRAM, num_perm=num_perm)
        q, r = match_against(band_keys(sig_te, bands), band_keys(sig_tr, bands), per_bucket=PER_BUCKET)
        close = similarity(sig_te, q, r, other=sig_tr) >= threshold - margin
        q, r = q[close], r[close]
        order = np.lexsort((r, q))  # each test text's candidates together, train rows in order
        train_grams: dict[int, set[str]] = {}
        last, grams = -1, set()
        for k in order:
            t, i = int(q[k]), int(r[k])
            if t != last:
                last, grams = t, shingles(rest_norm[t])
            if i not in train_grams:
                train_grams[i] = shingles(train_norm[i])
            sim = jaccard(grams, train_grams[i])
            best = hits.get(rest[t])
            if sim >= threshold and (best is None or sim > best[1]):
                hits[rest[t]] = (i, sim)
    return [NearDuplicate(test[j][0], train[i][0], 1.0 if sim == 1.0 else round(sim, 4))
            for j, (i, sim) in sorted(hits.items())]


def entry_text(question: str, options: Sequence[str] | None, context: str | None) -> str:
    """The text of an entry that the near-duplicate check compares: context, question, options."""
    return "\n".join([context or "", question, *(options or [])])
