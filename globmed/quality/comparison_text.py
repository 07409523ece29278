"""The comparison text of an entry, as :mod:`globmed.quality.near_duplicates` defines it (rules 1 and 2):
its question, options and the first :data:`CONTEXT_CHARS` characters of its context, one per line,
normalised (Unicode NFC, lower case, full-width ASCII forms as ASCII, every run of characters that are
not letters, marks or digits as one space, trimmed) by one vectorised pass over the code points, the
same code for one text and for a column."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from globmed.quality.codepoints import bmp_categories

CONTEXT_CHARS = 500

_BMP_KEEP: np.ndarray | None = None


def _keeps(cp: np.ndarray) -> np.ndarray:
    """Whether each code point is a letter, a mark or a digit (Unicode categories L*, M*, N*)."""
    global _BMP_KEEP
    if _BMP_KEEP is None:
        _BMP_KEEP = np.array([c[0] in "LMN" for c in bmp_categories()], dtype=bool)
    if not len(cp) or cp.max() < 0x10000:
        return _BMP_KEEP[cp]
    keep = np.zeros(len(cp), dtype=bool)
    low = cp < 0x10000
    keep[low] = _BMP_KEEP[cp[low]]
    if not low.all():
        high, at = np.unique(cp[~low], return_inverse=True)
        keep[~low] = np.array([unicodedata.category(chr(c))[0] in "LMN" for c in high.tolist()], dtype=bool)[at]
    return keep


@dataclass
class Normalised:
    """Normalised texts as one array of code points, each text followed by a 0."""

    cp: np.ndarray
    starts: np.ndarray
    """Text ``i`` is ``cp[starts[i]:starts[i + 1] - 1]``."""

    def __len__(self) -> int:
        return len(self.starts) - 1

    def texts(self, rows: Sequence[int] | np.ndarray | None = None) -> list[str]:
        rows = range(len(self)) if rows is None else rows
        return [self.cp[self.starts[i]: self.starts[i + 1] - 1].tobytes().decode("utf-32-le") for i in rows]

    def take(self, rows: Sequence[int] | np.ndarray) -> Normalised:
        """The given texts, in that order, as their own :class:`Normalised`."""
        rows = np.asarray(rows, np.int64)
        first, sizes = self.starts[rows], self.starts[rows + 1] - self.starts[rows]  # each with its 0
        starts = np.zeros(len(rows) + 1, np.int64)
        np.cumsum(sizes, out=starts[1:])
        at = np.repeat(first - starts[:-1], sizes) + np.arange(int(starts[-1]))
        return Normalised(self.cp[at], starts)

    def hashes(self) -> np.ndarray:
        """A 64-bit key per text (XXH3-64 of its code points), equal for equal texts (the duplicate key).
        XXH3 rather than a cryptographic hash: about a tenth of blake2b's time here, and no less apart for
        texts nobody crafted (a duplicate key is not a security boundary: 64 bits can be forced either way)."""
        from xxhash import xxh3_64_intdigest

        data, starts = memoryview(np.ascontiguousarray(self.cp)).cast("B"), (self.starts * 4).tolist()
        return np.fromiter(map(xxh3_64_intdigest, map(data.__getitem__, map(slice, starts[:-1], starts[1:]))),
                           dtype=np.uint64, count=len(self))


_FOLD: np.ndarray | None = None
_SPECIAL = np.uint32(0xFFFFFFFF)
_KEPT = np.uint32(0x80000000)


def _fold_table() -> np.ndarray:
    """Per basic-plane code point ``c``: ``chr(c).lower()`` with full-width ASCII forms as ASCII, bit 31 set
    when that is kept (a letter, mark or digit); :data:`_SPECIAL` where a text's ``str.lower()`` can differ
    from its code points' own mappings (U+0130 lower-cases to two code points, U+03A3 to final or
    medial sigma by context) and for U+FFFF, which stands for any code point beyond the plane."""
    global _FOLD
    if _FOLD is None:
        lowered = [chr(c).lower() for c in range(0x10000)]
        fold = np.array([ord(t) if len(t) == 1 else 0 for t in lowered], np.uint32)
        wide = (fold >= 0xFF01) & (fold <= 0xFF5E)
        fold[wide] -= 0xFEE0
        fold[_keeps(fold)] |= _KEPT
        fold[[len(t) != 1 for t in lowered]] = _SPECIAL
        fold[[0x3A3, 0xFFFF]] = _SPECIAL
        _FOLD = fold
    return _FOLD


def _folded(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(lower-cased code points with full-width ASCII as ASCII, kept)`` by one table look-up, or None
    when a code point needs a whole text's ``str.lower()`` (see :func:`_fold_table`)."""
    if not len(cp) or cp.max() >= 0xFFFF:
        return None
    folded = _fold_table()[cp]
    if folded.max() == _SPECIAL:  # (the largest uint32: any() of an equality, in one reduction)
        return None
    keep = folded >= _KEPT
    folded &= ~_KEPT
    return folded, keep


def normalise_texts(texts: Sequence[str] | pa.Array | pa.ChunkedArray) -> Normalised:
    """Unicode NFC, lower case, full-width ASCII forms as ASCII, every run of characters that are not
    letters, marks or digits as one space, no space at either end: one pass over all code points."""

    if isinstance(texts, pa.Array | pa.ChunkedArray):
        texts = pc.fill_null(texts.cast(pa.string()), "").to_pylist()
    texts = [unicodedata.normalize("NFC", t) for t in texts]
    if not texts:
        return Normalised(np.zeros(0, np.uint32), np.zeros(1, np.int64))
    joined = "\x00".join([*texts, ""])  # each text, then a 0
    folded = _folded(np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32))
    if folded is not None:  # lower case and full-width forms by code point: Python's str.lower() is the slow part
        cp, keep = folded
    else:  # a code point beyond the plane, or one str.lower() maps by context: each text's str.lower()
        texts = [t.lower() for t in texts]
        joined = "\x00".join([*texts, ""])
        cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        if cp.max() >= 0xFF01:
            wide = (cp - np.uint32(0xFF01)) <= np.uint32(0xFF5E - 0xFF01)  # ＡＢＣ１２３ -> abc123 (lower-cased above)
            if wide.any():
                cp = np.where(wide, cp - np.uint32(0xFEE0), cp)
        keep = _keeps(cp)  # a 0 (the separator after each text, or one inside a text) is not kept
    seps = np.cumsum(np.fromiter(map(len, texts), np.int64, count=len(texts)) + 1) - 1
    # the first of a run of other characters becomes one space when it follows a kept character
    one_space = np.empty(len(cp), dtype=bool)
    one_space[0] = False
    np.greater(keep[:-1], keep[1:], out=one_space[1:])
    zero_inside = joined.count("\x00") > len(texts)
    if zero_inside:  # a 0 inside a text too: not kept, no space
        one_space[cp == 0] = False
    else:
        one_space[seps] = False
        # a space right before the end of its text goes: when a text's last character is not kept, the run
        # of them it ends began with the text's last space, if a kept character came before it (the 0s are
        # the separators alone here; one_space is sparse: a word's end)
        spaces = np.flatnonzero(one_space)
        last = np.searchsorted(spaces, seps) - 1
        ending = (last >= 0) & ~keep[np.maximum(seps - 1, 0)] & (seps > 0)
        if ending.any():
            trailing = spaces[last[ending]]
            previous = np.concatenate([[-1], seps[:-1]])[ending]  # (a space of an earlier text is not this one's)
            one_space[trailing[trailing > previous]] = False
    take = keep | one_space
    take[seps] = True
    if not cp.flags.writeable:
        cp = cp.copy()
    np.putmask(cp, one_space, 32)
    out = cp[take]  # a separator is a 0 already
    ends = np.flatnonzero(out == 0)
    if zero_inside:  # a space right before the end of its text goes
        trailing = ends[out[np.maximum(ends - 1, 0)] == 32] - 1
        trailing = trailing[trailing >= 0]
        if len(trailing):
            out = np.delete(out, trailing)
            ends = np.flatnonzero(out == 0)
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    starts[1:] = ends + 1
    return Normalised(out, starts)


def normalise(text: str) -> str:
    """One text as :func:`normalise_texts` normalises it."""
    return normalise_texts([text]).texts()[0]


def joined_texts(table: pa.Table) -> pa.ChunkedArray:
    """The text of each row of a table with ``question``, ``options``, ``context``, before normalising."""
    options = table.column("options")
    if not pa.types.is_string(options.type.value_type):  # an empty list column has items of type null
        options = options.cast(pa.list_(pa.string()))
    options = pc.binary_join(options, "\n")
    context = pc.utf8_slice_codeunits(table.column("context").cast(pa.string()), 0, CONTEXT_CHARS)
    return pc.binary_join_element_wise(table.column("question").cast(pa.string()), options, context, "\n",
                                       null_handling="replace", null_replacement="")


def comparison_texts(table: pa.Table) -> Normalised:
    """The normalised text of each row of a table with ``question``, ``options``, ``context``."""
    return normalise_texts(joined_texts(table))


def entry_text(question: str, options: Sequence[str] | None, context: str | None) -> str:
    """The normalised text of one entry (the same as :func:`comparison_texts` gives for its row)."""
    table = pa.table({"question": [question], "options": [list(options or [])], "context": [context or ""]})
    return comparison_texts(table).texts()[0]
