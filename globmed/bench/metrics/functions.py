"""Metric functions (plain Python), used by the evaluate modules and the per-item scoring."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache

UNPARSED = "<unparsed>"
_NO_SPACE_SCRIPTS = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


@cache
def _word_pattern() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A word: letters, digits and combining marks (category M: Yoruba tone marks, Devanagari and
    Bengali vowel signs, Thai vowel and tone marks, the Japanese voicing marks), which ``\\w`` alone
    splits words at; and one character of a no-space script with the marks that follow it."""
    marks = "".join(re.escape(chr(c)) for c in (*range(0x300, 0x20000), *range(0xE0100, 0xE01F0))
                    if unicodedata.category(chr(c)).startswith("M"))
    return re.compile(rf"(?:\w|[{marks}])+"), re.compile(rf".[{marks}]*", re.DOTALL)


def label_of(letters: Sequence[str] | None) -> str:
    """One class label for a letter set: ``["A","C"]`` -> ``"A,C"``; ``None`` -> unparsed."""
    return UNPARSED if letters is None else ",".join(sorted(letters))


def accuracy(predictions: Sequence[str], references: Sequence[str]) -> float:
    if not references:
        return float("nan")
    return sum(p == r for p, r in zip(predictions, references, strict=True)) / len(references)


def macro_f1(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean F1 over the classes that occur among the references."""
    classes = sorted(set(references))
    if not classes:
        return float("nan")
    f1s = []
    for c in classes:
        tp = sum(p == c and r == c for p, r in zip(predictions, references, strict=True))
        fp = sum(p == c and r != c for p, r in zip(predictions, references, strict=True))
        fn = sum(p != c and r == c for p, r in zip(predictions, references, strict=True))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def tokens(text: str) -> list[str]:
    """Words (with their combining marks), or characters with their marks for scripts written
    without spaces (Chinese, Japanese, Korean, Thai): ``tokens('ẹ̀yin')`` is ``['ẹ̀yin']``."""
    text = unicodedata.normalize("NFKC", text).casefold()
    word, char = _word_pattern()
    out: list[str] = []
    for w in word.findall(text):
        out.extend(char.findall(w) if _NO_SPACE_SCRIPTS.search(w) else [w])
    return out


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 on :func:`tokens` (language-neutral, unlike rouge_score's ASCII tokenizer)."""
    a, b = tokens(prediction), tokens(reference)
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 2 * p * r / (p + r)


def chrf(prediction: str, reference: str) -> float:
    """Sentence chrF (sacrebleu, character 6-grams, beta 2), in [0, 100]."""
    from sacrebleu.metrics import CHRF

    return float(CHRF().sentence_score(prediction, [reference]).score)


def best_of(fn, prediction: str, references: Sequence[str]) -> float:
    return max((fn(prediction, r) for r in references), default=0.0)
