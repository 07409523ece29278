"""Many strings as one numpy array of code points plus offsets, for vectorised text work."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache

import numpy as np


def encode(texts: Sequence[str], sep: str = "") -> tuple[np.ndarray, np.ndarray]:
    """``(codepoints uint32, starts int64)``: text ``i`` is ``cp[starts[i]:starts[i+1]]`` (less ``sep``)."""
    joined = sep.join(texts) + sep if sep else "".join(texts)
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    if sep:
        lengths += len(sep)
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    return cp, starts


def row_of(starts: np.ndarray, total: int) -> np.ndarray:
    """For each position ``0..total-1``, the index of the text it belongs to."""
    n = len(starts) - 1
    return np.repeat(np.arange(n, dtype=np.int64), np.diff(starts))[:total]


@cache
def bmp_categories() -> tuple[str, ...]:
    """The Unicode general category of every BMP code point (``Lu``, ``Mn``, ...), computed once."""
    return tuple(unicodedata.category(chr(c)) for c in range(0x10000))
