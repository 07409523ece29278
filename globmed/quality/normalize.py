"""Normalisation: Unicode form, whitespace, stray markup, option prefixes, quotes. Never meaning."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from itertools import chain
from typing import Any

from globmed.pipeline import Batch, Step, StepResult
from globmed.schema import derive_answer_text

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_BREAK = re.compile(r"<(?:br|p|div|li)\b[^<>]*>", re.IGNORECASE)
# "A) x", "(B) x", "c. x", "D: x", "A - x" at the very start of an option's text
_OPTION_PREFIX = re.compile(r"^\s*[\(\[]?([A-Ja-j])\s*(?:[\)\]:.]|\s-)\s+(?=\S)")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'})
_CURLY = re.compile("[\u2018-\u201f]")
_TEXT_FIELDS = ("question", "context", "explanation")


class TextNormaliser:
    def __init__(self, unicode_form: str = "NFC", strip_markup: bool = True, straighten_quotes: bool = True):
        if unicode_form not in ("NFC", "NFKC", "NFD", "NFKD"):
            raise ValueError(f"normalise.unicode_form {unicode_form!r}: expected NFC, NFKC, NFD or NFKD")
        self.form, self.markup, self.quotes = unicode_form, strip_markup, straighten_quotes

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if not unicodedata.is_normalized(self.form, text):
            text = unicodedata.normalize(self.form, text)
        if self.markup and ("<" in text or "&" in text):
            text = _strip_markup(text)
        if self.quotes and not text.isascii() and _CURLY.search(text):
            text = text.translate(_QUOTES)
        return " ".join(text.split())

    def table(self, texts: Iterable[Any]) -> dict[Any, Any]:
        """Each distinct text of ``texts`` -> what :meth:`__call__` makes of it, worked out a step at a
        time over all of them (a batch repeats many texts: option phrases, answer letters, empty fields)."""
        texts = list(texts)
        try:
            distinct = list(dict.fromkeys(texts))
        except TypeError:  # an unhashable value: __call__ says what is wrong with the first one it cannot take
            for t in texts:
                self(t)
            raise
        if not all(type(t) is str for t in distinct):  # None or worse: one at a time, as __call__ does
            return {t: self(t) for t in distinct}
        normalize, form = unicodedata.normalize, self.form
        out = [normalize(form, t) for t in distinct]  # == t when already normalised (a quick check first)
        if self.markup:
            out = [_strip_markup(t) if "<" in t or "&" in t else t for t in out]
        if self.quotes:  # _CURLY.search(t), a character at a time (free in a text of narrower characters)
            out = [t.translate(_QUOTES) if not t.isascii() and (
                "\u2018" in t or "\u2019" in t or "\u201a" in t or "\u201b" in t or "\u201c" in t or "\u201d" in t
                or "\u201e" in t or "\u201f" in t) else t for t in out]
        # " ".join(t.split()) changes nothing in a text with no whitespace but single inner spaces (every
        # other whitespace character is not printable)
        out = [t if t.isprintable() and "  " not in t and t[:1] != " " and t[-1:] != " " else " ".join(t.split())
               for t in out]
        return dict(zip(distinct, out, strict=True))


def _strip_markup(text: str) -> str:
    text = _BREAK.sub(" ", text)
    text = _TAG.sub("", text)
    return html.unescape(text)


def strip_option_prefix(option: str, index: int) -> str:
    """Drop a leading "A)" from option ``index`` when the letter is that option's own letter."""
    m = _OPTION_PREFIX.match(option)
    if index < 10 and m and m.group(1).upper() == "ABCDEFGHIJ"[index]:
        return option[m.end():]
    return option


class NormaliseStep(Step):
    """Rewrites text fields in place; removes nothing."""

    name = "normalise"

    def __init__(self, settings: dict[str, Any]):
        self.settings = dict(settings)
        self.text = TextNormaliser(settings.get("unicode_form", "NFC"), settings.get("strip_markup", True),
                                   settings.get("straighten_quotes", True))
        self.prefixes = settings.get("strip_option_prefixes", True)

    def describe(self) -> dict[str, Any]:
        return self.settings

    def __call__(self, batch: Batch) -> StepResult:
        norm = self.text
        out = dict(batch)
        # every text of the batch normalised once (the same text gives the same result wherever it is)
        done = norm.table(chain(*(batch[name] for name in _TEXT_FIELDS), chain.from_iterable(batch["options"]),
                                chain.from_iterable(batch["answer"])))
        get = done.__getitem__
        for name in _TEXT_FIELDS:
            out[name] = list(map(get, batch[name]))
        options_col = []
        prefixes = self.prefixes
        for opts in batch["options"]:
            opts = list(map(get, opts))
            if prefixes and len(opts) > 1 and opts[0][:1] in "(A[a":
                stripped = [strip_option_prefix(o, i) for i, o in enumerate(opts)]
                if all(s != o for s, o in zip(stripped, opts, strict=True)):  # every option lettered in order
                    opts = stripped
            options_col.append(opts)
        out["options"] = options_col
        out["answer"] = [list(map(get, ans)) for ans in batch["answer"]]
        out["answer_text"] = [derive_answer_text(t, o, a) or norm(old)
                              for t, o, a, old in zip(batch["task"], options_col, out["answer"],
                                                      batch["answer_text"], strict=True)]
        n = len(batch["id"])
        return StepResult(out, [True] * n, [None] * n)
