"""Per-text letter and word counts by script, for a whole batch of texts at once (numpy).

Language ID judges a field first by the scripts of its letters. What it needs, per text:

- ``letters``: every letter (Unicode category L*);
- ``native``: letters in the expected language's script (Jpan: kana and Han; Hans: Han; ...);
- ``latin``: Latin letters, and ``latin_words``, their runs (``Mallory-Weiss`` is two words,
  ``mEq`` one): Latin terms, units and abbreviations inside a non-Latin text are counted as words,
  not letters, so that ``Hb60g/L`` weighs like the three words it is;
- ``native_words``: runs of native letters (words for alphabets; for Han, kana and Hangul, where a
  character is about a morpheme, the native letters themselves are used as units instead);
- ``kana``: hiragana and katakana letters (kana present means Japanese);
- ``words``: runs of letters of any script, and ``plain_words``, those that do not start with a
  capital: ``Universal Health Coverage〈UHC〉`` is four words and no plain word. Names, acronyms and
  eponyms are terms, not evidence of a language.

Only BMP code points are classified (an astral character counts as U+FFFF: no letter, no mark).

How (a few passes over the batch's characters, whatever the number of texts): the texts of one
expected script are encoded together into one array of code points; one lookup in that script's table
of one byte per BMP code point gives each position its class bits (letter, native letter, Latin letter,
the same three kinds where a run of them continues through it, kana, capital); a shift and a few bit
operations mark where a word, a native word and a Latin word start, and a word that starts with a
capital; the eight counted bits of every position are unpacked into the eight bytes of a 64-bit word,
summed by ``reduceat`` over blocks of at most 255 positions (no byte overflows into the next), and the
blocks' bytes summed per text. No row index per code point, no two-dimensional gather.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from globmed.quality.codepoints import bmp_categories, encode

# The class bits of a code point (one byte per BMP code point, per expected script): a letter, a letter of
# the expected script, a Latin letter; the same three kinds again where a run of that kind continues
# through the code point (the letter itself, or a combining mark, which continues any run: NFC Yoruba
# ``ẹ́`` is ``ẹ`` plus a combining acute); kana; a capital (upper- or title-case) letter.
LETTER, NATIVE, LATIN = 1, 2, 4
_KINDS = LETTER | NATIVE | LATIN
_INSIDE_SHIFT = 3  # bits 3-5: the kinds a run of which continues through the code point
KANA, CAPITAL = 64, 128
# The counted bits of a position: its letter kinds (bits 0-2), where a word, a native word, a Latin word
# starts (bits 3-5: a letter of that kind after a position of its text that does not continue such a run),
# kana (bit 6) and where a word starts with a capital (bit 7; plain words are the other words).
_COUNTED = ("letters", "native", "latin", "words", "native_words", "latin_words", "kana", "capital_words")


@cache
def _classes() -> tuple[np.ndarray, np.ndarray]:
    """Per BMP code point: is it an upper-case or title-case letter; is it a combining mark (which
    continues a word: NFC Yoruba ``ẹ́`` is ``ẹ`` plus a combining acute)."""
    cats = bmp_categories()
    return (np.array([c in ("Lu", "Lt") for c in cats], bool), np.array([c[0] == "M" for c in cats], bool))


@dataclass
class ScriptCounts:
    letters: np.ndarray
    native: np.ndarray
    latin: np.ndarray
    latin_words: np.ndarray
    native_words: np.ndarray
    kana: np.ndarray
    words: np.ndarray
    plain_words: np.ndarray


class ScriptClasses:
    """The byte tables of a script table (``table``: row 0 letters, row ``k`` letters of script ``k``,
    BMP code points), one per expected script, built when first needed."""

    def __init__(self, table: np.ndarray, latin: int, kana: int):
        self.table, self.latin, self.kana = table, latin, kana
        capital, mark = _classes()
        letter = table[0]
        self._latin, self._letter = table[latin], letter
        self._mark = mark
        self._common = table[kana].astype(np.uint8) * KANA | (capital & letter).astype(np.uint8) * CAPITAL
        self._by_script: dict[int, np.ndarray] = {}
        self._rows: np.ndarray | None = None

    def of(self, script: int) -> np.ndarray:
        """Class bits of every BMP code point, ``NATIVE`` being ``script``'s letters."""
        tab = self._by_script.get(script)
        if tab is None:
            kinds = (self._letter.astype(np.uint8) * LETTER | self.table[script].astype(np.uint8) * NATIVE
                     | self._latin.astype(np.uint8) * LATIN)
            inside = np.where(self._mark, np.uint8(_KINDS), kinds).astype(np.uint8)
            tab = kinds | inside << _INSIDE_SHIFT | self._common
            self._by_script[script] = tab
        return tab

    @property
    def rows(self) -> np.ndarray:
        """Per BMP code point, bit ``k`` set when row ``k`` of the table holds it (little-endian words)."""
        if self._rows is None:
            if len(self.table) > 64:
                raise ValueError("row counts of at most 63 scripts")
            width = max(1, -(-len(self.table) // 8))
            dtype = np.dtype(f"<u{next(w for w in (1, 2, 4, 8) if w >= width)}")
            rows = np.zeros(self.table.shape[1], dtype)
            for k, row in enumerate(self.table):
                rows |= row.astype(dtype) << dtype.type(k)
            self._rows = rows
        return self._rows


_CACHE: dict[int, tuple[np.ndarray, int, int, ScriptClasses]] = {}


def script_classes(table: np.ndarray, latin: int, kana: int) -> ScriptClasses:
    """The (cached) :class:`ScriptClasses` of ``table`` (the cache holds the table, so its id stays its own)."""
    hit = _CACHE.get(id(table))
    if hit is not None and hit[0] is table and hit[1:3] == (latin, kana):
        return hit[3]
    if len(_CACHE) >= 8:
        _CACHE.clear()
    classes = ScriptClasses(table, latin, kana)
    _CACHE[id(table)] = (table, latin, kana, classes)
    return classes


_BLOCK = 255  # positions summed in one byte lane: at most 255, no carry into the next lane


def _counted_bits(classes: np.ndarray, starts: np.ndarray, nonempty: np.ndarray) -> np.ndarray:
    """Per position, the eight counted bits (see ``_COUNTED``), from its class bits."""
    prev = np.empty_like(classes)  # the kinds of run the previous position of the same text continues
    prev[0] = 0
    prev[1:] = classes[:-1]
    prev[starts[:-1][nonempty]] = 0
    prev >>= _INSIDE_SHIFT
    np.invert(prev, out=prev)
    prev &= classes
    prev &= _KINDS  # a letter of a kind that does not continue a run of it: a word of that kind starts
    capital = classes >> 7
    capital &= prev  # a word that starts with a capital
    out = classes & (_KINDS | KANA)
    prev <<= 3  # word starts: bits 3-5
    out |= prev
    capital <<= 7
    out |= capital
    return out


def _sums(bits: np.ndarray, starts: np.ndarray, nonempty: np.ndarray) -> np.ndarray:
    """``(texts, 8 * m)`` sums of the bits of ``bits`` (``(positions, m)`` bytes, or ``(positions,)``:
    ``m`` = 1; bit ``j`` of byte ``b`` is column ``8 * b + j``) over each text ``starts[i]:starts[i+1]``.

    Each position's bits are unpacked into the bytes of 64-bit words, the words are summed over blocks of
    at most 255 positions that do not cross a text (no byte overflows into the next), and the blocks'
    bytes are summed per text."""
    n, m, total = len(starts) - 1, (bits.shape[1] if bits.ndim == 2 else 1), len(bits)
    out = np.zeros((n, 8 * m), np.int64)
    if not total:
        return out
    bits = np.ascontiguousarray(bits)
    first = starts[:-1][nonempty]
    # the flat unpacking of the row-major bytes is the unpacking of each position's bytes in turn
    words = np.unpackbits(bits.reshape(-1), bitorder="little").view(np.uint64).reshape(total, m)
    blocks = np.concatenate([first, np.arange(0, total, _BLOCK, dtype=first.dtype)])
    blocks.sort()
    distinct = np.ones(len(blocks), bool)
    np.not_equal(blocks[1:], blocks[:-1], out=distinct[1:])
    blocks = blocks[distinct]  # every text start and every 255th position, each once
    lanes = np.add.reduceat(words, blocks, axis=0).view(np.uint8).reshape(len(blocks), 8 * m)
    out[nonempty] = np.add.reduceat(lanes, np.searchsorted(blocks, first), axis=0, dtype=np.int64)
    return out


def _count_group(texts: list[str], table: np.ndarray) -> np.ndarray:
    cp, starts = encode(texts)
    nonempty = np.diff(starts) > 0
    if not len(cp):
        return np.zeros((len(texts), 8), np.int64)
    classes = np.take(table, cp, mode="clip")  # astral code points: as U+FFFF, no class
    return _sums(_counted_bits(classes, starts, nonempty), starts, nonempty)


def script_counts(texts: list[str], script_ids: np.ndarray, table: np.ndarray, latin: int,
                  kana: int) -> ScriptCounts:
    """Counts of ``texts``; ``script_ids[i]`` is the row of ``table`` of text ``i``'s expected script
    (``table``: row 0 letters, row ``k`` letters of script ``k``, BMP code points)."""
    classes = script_classes(table, latin, kana)
    script_ids = np.asarray(script_ids)
    n = len(texts)
    scripts = np.unique(script_ids) if n else script_ids
    if len(scripts) == 1:
        counts = _count_group(list(texts), classes.of(int(scripts[0])))
    else:
        counts = np.zeros((n, 8), np.int64)
        for script in scripts.tolist():
            rows = np.flatnonzero(script_ids == script)
            counts[rows] = _count_group([texts[i] for i in rows.tolist()], classes.of(script))
    got = {name: np.ascontiguousarray(counts[:, b]) for b, name in enumerate(_COUNTED)}
    return ScriptCounts(letters=got["letters"], native=got["native"], latin=got["latin"],
                        latin_words=got["latin_words"], native_words=got["native_words"], kana=got["kana"],
                        words=got["words"], plain_words=got["words"] - got["capital_words"])


def row_counts(texts: list[str], classes: ScriptClasses) -> np.ndarray:
    """``(texts, rows of the table)``: how many code points of each text each row of the table holds
    (column 0: letters; column ``k``: letters of script ``k``)."""
    cp, starts = encode(texts)
    nonempty = np.diff(starts) > 0
    rows = classes.rows
    bits = np.take(rows, cp, mode="clip").view(np.uint8)
    return _sums(bits.reshape(len(cp), rows.itemsize), starts, nonempty)[:, :len(classes.table)]
