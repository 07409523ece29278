"""Vectorised MinHash over character n-grams (one-permutation hashing with densification) and
LSH banding; whole batches at once in numpy, no per-entry Python objects."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from globmed.quality.codepoints import encode

EMPTY = np.uint32(0xFFFFFFFF)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


_P32 = np.uint32(0x01000193)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """murmur3's 32-bit finaliser (in place)."""
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (in place)."""
    h ^= h >> np.uint64(30)
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    h ^= h >> np.uint64(31)
    return h


def shingle_text(text: str) -> str:
    """The text MinHash sees: case-folded, whitespace collapsed (and no NUL: it separates texts)."""
    return " ".join(text.casefold().replace("\x00", " ").split())


def text_hash(shingled: str) -> int:
    """64-bit blake2b of a text as :func:`shingle_text` gives it (the exact-duplicate key)."""
    return int.from_bytes(hashlib.blake2b(shingled.encode(), digest_size=8).digest(), "little")


def signatures(texts: Sequence[str], *, k: int = 5, num_perm: int = 64, hashes: bool = False):
    """``(len(texts), num_perm)`` uint32 MinHash signatures of the character ``k``-grams of each text
    as :func:`shingle_text` gives it (see :func:`codepoint_signatures`)."""
    shingled = [shingle_text(t) for t in texts]
    keys = np.fromiter(map(text_hash, shingled), dtype=np.uint64, count=len(texts)) if hashes else None
    cp, _ = encode(shingled, sep="\x00")
    sig = codepoint_signatures(cp, len(texts), k=k, num_perm=num_perm)
    return (sig, keys) if hashes else sig


def codepoint_signatures(cp: np.ndarray, n: int, *, k: int = 5, num_perm: int = 64) -> np.ndarray:
    """``(n, num_perm)`` uint32 MinHash signatures of the character ``k``-grams of ``n`` texts given as
    their code points, each text followed by a 0 (so a text holds no code point 0).

    One hash per shingle; its top bits pick a bin, the rest is the value, the minimum per
    bin is kept (one-permutation hashing). Empty bins borrow from the next non-empty bin
    (rotation densification) so that short texts still compare fairly. A text shorter than
    ``k`` has no shingles and gets an all-``EMPTY`` signature (it matches nothing).
    """
    if num_perm & (num_perm - 1) or not 1 <= num_perm <= 1024:
        raise ValueError(f"num_perm {num_perm}: must be a power of two up to 1024")
    sig = np.full(n * num_perm, EMPTY, dtype=np.uint32)
    if n == 0:
        return sig.reshape(0, num_perm)
    total = len(cp)
    if total >= k:
        # 32-bit arithmetic throughout (half the memory traffic of 64 bits): a polynomial of the k code
        # points, then murmur3's finaliser; the top bits pick the bin, the rest is the value
        cp32 = cp.astype(np.uint32, copy=False)
        m = total - k + 1
        h = cp32[:m].copy()
        for j in range(1, k):
            h *= _P32
            h += cp32[j: j + m]
        # a shingle is valid when it does not cross a separator (code point 0, after each text); the
        # count of separators before a position is the row it belongs to
        index = np.int32 if n * num_perm < 2**31 else np.int64  # 32-bit bin numbers when they fit: half the traffic
        seps = np.zeros(total + 1, dtype=index)
        np.cumsum(cp == 0, out=seps[1:])
        valid = seps[k: total + 1] == seps[: m]
        h = _fmix32(h[valid])
        rows = seps[: m][valid]
        bits = int(np.log2(num_perm))
        rows *= num_perm
        np.add(rows, h >> np.uint32(32 - bits), out=rows, casting="unsafe")  # the bin: below num_perm
        h &= np.uint32((1 << (32 - bits)) - 1)  # never EMPTY
        np.minimum.at(sig, rows, h)
    sig = sig.reshape(n, num_perm)
    _densify(sig)
    return sig


def _densify(sig: np.ndarray) -> None:
    """Fill each empty bin of a row that has some shingles from the first non-empty bin after it
    (cyclically), mixed with the distance; only the empty bins are visited."""
    n, num_perm = sig.shape
    flat = sig.reshape(-1)
    holes = np.flatnonzero(flat == EMPTY)
    if not len(holes):
        return
    row_of = holes // num_perm
    holes = holes[np.bincount(row_of, minlength=n)[row_of] < num_perm]  # a row with no shingle stays empty
    base, col = holes - holes % num_perm, holes % num_perm
    fill = np.empty(len(holes), np.uint32)
    todo = np.arange(len(holes))
    for shift in range(1, num_perm):
        if not len(todo):
            break
        donor = flat[base[todo] + (col[todo] + shift) % num_perm]  # the bins as they were: fills are written after
        ok = donor != EMPTY
        fill[todo[ok]] = (donor[ok].astype(np.uint64) * np.uint64(2654435761 + 2 * shift) % np.uint64(0xFFFFFFFE)
                          ).astype(np.uint32)
        todo = todo[~ok]
    flat[holes] = fill


def band_keys(sig: np.ndarray, bands: int) -> np.ndarray:
    """``(n, bands)`` uint64 keys, one per LSH band; all-empty signatures get distinct keys."""
    n, num_perm = sig.shape
    if num_perm % bands:
        raise ValueError(f"bands {bands} must divide num_perm {num_perm}")
    rows = num_perm // bands
    if rows % 2 == 0 and sig.dtype == np.uint32:  # two bins per 64-bit word: half the mixing rounds
        words = np.ascontiguousarray(sig).view(np.uint64).reshape(n, bands, rows // 2)
    else:
        words = sig.astype(np.uint64).reshape(n, bands, rows)
    keys = words[:, :, 0].copy()
    for r in range(1, words.shape[2]):
        keys = _mix(keys)
        keys ^= words[:, :, r]
    keys = _mix(keys)
    blank = (sig == EMPTY).all(axis=1)
    if blank.any():  # never a candidate
        keys[blank] = _mix(np.arange(1, blank.sum() * bands + 1, dtype=np.uint64) * _M2).reshape(-1, bands)
    return keys


def similarity(sig: np.ndarray, a: np.ndarray, b: np.ndarray, other: np.ndarray | None = None) -> np.ndarray:
    """Estimated Jaccard of rows ``a`` of ``sig`` and rows ``b`` of ``other`` (default ``sig``)."""
    other = sig if other is None else other
    out = np.zeros(len(a), dtype=np.float32)
    num_perm = sig.shape[1]
    step = 8_192  # bounded memory however many candidate pairs there are; small slices stay in the caches
    for lo in range(0, len(a), step):
        sa, sb = np.take(sig, a[lo: lo + step], axis=0), np.take(other, b[lo: lo + step], axis=0)
        same = np.count_nonzero(sa == sb, axis=1)
        # densified signatures hold EMPTY only when the whole text had no shingle: such a text matches nothing
        same[sa[:, 0] == EMPTY] = 0
        out[lo: lo + step] = same / num_perm
    return out


def low_bytes(sig: np.ndarray) -> np.ndarray:
    """The low byte of every bin: equal wherever the bins are equal, a quarter of the bytes to compare."""
    return sig.astype(np.uint8)


def at_least(sig: np.ndarray, a: np.ndarray, b: np.ndarray, low: float, other: np.ndarray | None = None,
             low_sig: np.ndarray | None = None, low_other: np.ndarray | None = None) -> np.ndarray:
    """``similarity(sig, a, b, other) >= low``, the same booleans, for many candidate pairs: the bins'
    low bytes (:func:`low_bytes`, given or made here) count at least the equal bins, so a pair whose
    low bytes agree in too few bins is out without reading its full signatures; only the others are
    estimated in full."""
    other = sig if other is None else other
    low_sig = low_bytes(sig) if low_sig is None else low_sig
    low_other = low_sig if other is sig else (low_bytes(other) if low_other is None else low_other)
    need = int(np.floor(low * sig.shape[1])) - 1  # on the safe side of the float comparison below
    out = np.zeros(len(a), dtype=bool)
    step = 8_192
    for lo in range(0, len(a), step):
        sa, sb = a[lo: lo + step], b[lo: lo + step]
        maybe = np.flatnonzero(np.count_nonzero(np.take(low_sig, sa, axis=0) == np.take(low_other, sb, axis=0),
                                                axis=1) >= need)
        if len(maybe):
            out[lo + maybe] = similarity(sig, sa[maybe], sb[maybe], other=other) >= low
    return out


def candidate_pairs(keys: np.ndarray, group: np.ndarray | None = None, workers: int = 1
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(later, earlier)`` of rows sharing a band key (and ``group``): each row against the
    first and the previous row of its bucket, in row order. ``workers``: processes for the bands (the
    result does not depend on it)."""
    from globmed.quality.forked import fork_map

    n, bands = keys.shape
    parts = fork_map(_band_candidates, (keys, group), range(bands), workers)
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return unique_pairs(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), n)


def _band_candidates(state: tuple[np.ndarray, np.ndarray | None], b: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`candidate_pairs` of band ``b`` alone."""
    keys, group = state
    n = len(keys)
    key = keys[:, b]
    if group is not None:
        key = _mix(key ^ (group.astype(np.uint64) * _M1))
    order = np.argsort(key, kind="stable")  # by key, then row
    k = key[order]
    new = np.ones(n, dtype=bool)
    new[1:] = k[1:] != k[:-1]
    first = order[np.maximum.accumulate(np.where(new, np.arange(n), 0))]
    dup = ~new
    return (np.concatenate([order[dup], order[1:][dup[1:]]]),
            np.concatenate([first[dup], order[:-1][dup[1:]]]))


def unique_pairs(a: np.ndarray, b: np.ndarray, n_b: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs, sorted by ``a`` then ``b``."""
    key = np.sort(a.astype(np.int64) * max(n_b, 1) + b)  # sort + neighbours: much faster than np.unique's hashing
    if len(key):
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    return key // max(n_b, 1), key % max(n_b, 1)


def match_against(query: np.ndarray, ref: np.ndarray, per_bucket: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(query row, ref row)`` sharing a band key (up to ``per_bucket`` ref rows per bucket)."""
    qi, ri = [], []
    if len(ref) and len(query):
        for b in range(query.shape[1]):
            order = np.argsort(ref[:, b], kind="stable")
            sorted_keys = ref[order, b]
            pos = np.searchsorted(sorted_keys, query[:, b])
            for offset in range(per_bucket):
                p = pos + offset
                inside = p < len(sorted_keys)
                hit = np.zeros(len(query), bool)
                hit[inside] = sorted_keys[p[inside]] == query[inside, b]
                if not hit.any():
                    break
                qi.append(np.flatnonzero(hit))
                ri.append(order[p[hit]])
    if not qi:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return unique_pairs(np.concatenate(qi), np.concatenate(ri), len(ref))
