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

All counts come from one ``reduceat`` each over one array of code points, so the cost is a few
passes over the batch's characters whatever the number of texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from globmed.quality.codepoints import encode


@cache
def _classes() -> tuple[np.ndarray, np.ndarray]:
    """Per BMP code point: is it an upper-case or title-case letter; is it a combining mark (which
    continues a word: NFC Yoruba ``ẹ́`` is ``ẹ`` plus a combining acute)."""
    import unicodedata

    cats = [unicodedata.category(chr(c)) for c in range(0x10000)]
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


def _per_text(mask: np.ndarray, starts: np.ndarray, nonempty: np.ndarray) -> np.ndarray:
    """How many positions of each text ``starts[i]:starts[i+1]`` the mask holds (one ``reduceat``
    over the non-empty texts, whose starts bound each other's runs)."""
    out = np.zeros(len(starts) - 1, np.int64)
    if len(mask):
        out[nonempty] = np.add.reduceat(mask, starts[:-1][nonempty], dtype=np.int32)
    return out


def script_counts(texts: list[str], script_ids: np.ndarray, table: np.ndarray, latin: int,
                  kana: int) -> ScriptCounts:
    """Counts of ``texts``; ``script_ids[i]`` is the row of ``table`` of text ``i``'s expected script
    (``table``: row 0 letters, row ``k`` letters of script ``k``, BMP code points)."""
    n = len(texts)
    cp, starts = encode(texts)
    cp = np.minimum(cp, 0xFFFF)
    lengths = np.diff(starts)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    is_letter = table[0][cp]
    is_native = table[script_ids[rows], cp]
    is_latin = table[latin][cp]
    capital, mark = _classes()
    is_mark = mark[cp]
    # a word starts at a letter where the previous position (of the same text) is not a letter of the
    # same kind or a combining mark
    nonempty = lengths > 0
    same_text = np.ones(len(cp), bool)
    same_text[starts[:-1][nonempty]] = False

    def run_starts(mask: np.ndarray) -> np.ndarray:
        inside = mask | is_mark
        out = mask.copy()
        out[1:] &= ~(inside[:-1] & same_text[1:])
        return out

    word_starts = run_starts(is_letter)
    return ScriptCounts(
        letters=_per_text(is_letter, starts, nonempty),
        native=_per_text(is_native, starts, nonempty),
        latin=_per_text(is_latin, starts, nonempty),
        latin_words=_per_text(run_starts(is_latin), starts, nonempty),
        native_words=_per_text(run_starts(is_native), starts, nonempty),
        kana=_per_text(table[kana][cp], starts, nonempty),
        words=_per_text(word_starts, starts, nonempty),
        plain_words=_per_text(word_starts & ~capital[cp], starts, nonempty),
    )
