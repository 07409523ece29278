"""Answer extraction for generative runs: a per-language regex cascade with fallbacks.

The per-language data (the answer phrase, the label words of yes/no/maybe and NLI) comes from
``globmed/prompts.yaml`` through :mod:`globmed.prompts`, so every registry language is covered.
Rules, in order (the first that fires wins; text is NFKC-normalised first, so full-width
letters and colons count):

1. ``answer_phrase``: the language's answer phrase followed by a letter or a list of letters
   (``"Answer: B"``, ``"Jibu: A, C"``, ``"答案：B"``); the LAST occurrence counts (chain of thought
   ends with it). Any letter past the item's options refuses the reply.
2. ``bare_letter``: the reply's first line is only a letter, optionally in brackets and followed by
   ``.``/``)``/``:`` and that option's own text (``"B"``, ``"(B)"``, ``"B. beta"``).
3. ``option_text``: the reply's first line (after the answer phrase, if it opens with one:
   ``"Answer: maybe"``) is exactly one option's text or label word.

Everything else is refused (``None``) and counted as unparsed, never scored as a letter:
``"A or B"``, ``"A patient needs..."``, ``"Answer: A patient needs..."`` (a letter that is also a
word of the language, ``letter_words`` in prompts.yaml, running on into a lowercase word is a sentence), the option list echoed back (two or more lines that are options
as shown: ``"A. alpha\nB. beta"``), ``"I don't know"``, an out-of-range letter.

Chain-of-thought replies (``cot=True``, the ``generative_cot`` mode) are read for a FINAL answer:
rule 1 needs the colon after the answer phrase (``"Jibu: B"``, not the ``"jibu B"`` of running
Swahili reasoning), and rules 2 and 3 read the first line after the last answer phrase or, without
one, the reply's LAST non-empty line instead of its first, so reasoning that opens with a letter or
a label word but never concludes stays unparsed.
:func:`final_answer_text` gives the text after the last answer phrase (open QA with CoT).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from globmed.prompts import table
from globmed.schema import LETTERS

LIST_SEP = r"\s*(?:,|;|&|/|\band\b|、|，)\s*"


@dataclass(frozen=True)
class Extraction:
    letters: list[str] | None
    rule: str  # the rule that fired, or "unparsed"


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _fold(text: str) -> str:
    return _norm(text).casefold().strip(" .。!！\"'“”*")


def _phrase(lang: str, colon: bool) -> str:
    """The answer phrase and its colon (optional unless ``colon``), bold markers allowed around it."""
    label = re.escape(_norm(table(lang)["labels"]["answer"]))
    return rf"(?i:{label})\s*\**\s*{'[:：]' if colon else '[:：]?'}\s*\**\s*"


def answer_phrase_pattern(lang: str, colon: bool = False) -> re.Pattern[str]:
    """The answer phrase then a letter or a list of letters; ``colon``: the colon is required."""
    letter = r"\(?\*{0,2}([A-Z])\*{0,2}\)?"
    return re.compile(rf"{_phrase(lang, colon)}{letter}((?:{LIST_SEP}{letter})*)(?![A-Za-z])")


def final_answer_text(text: str, lang: str) -> str | None:
    """What follows the LAST answer phrase with its colon (``"...reasoning\nAnswer: rest"`` ->
    ``"rest"``), stripped; ``None`` when the reply has no such phrase or nothing after it."""
    reply = _norm(text)
    matches = list(re.finditer(_phrase(lang, colon=True), reply))
    if not matches:
        return None
    return reply[matches[-1].end():].strip() or None


def _opens_a_sentence(lang: str, letter: str, rest: str) -> bool:
    """Whether a letter that is also a word of the language (``letter_words`` in prompts.yaml:
    English "A", "I") runs on into a lowercase word: ``"A patient ..."`` is a sentence, not A."""
    words = table(lang).get("letter_words") or ()
    return letter in words and rest[:1] in (" ", "\t") and rest.lstrip(" \t")[:1].islower()


def _echoes_options(reply: str, options: Sequence[str]) -> bool:
    """Whether two or more lines of the reply are options as listed (``"A. alpha"``, ``"B. beta"``)."""
    seen = set()
    for line in reply.splitlines():
        m = re.fullmatch(r"\(?([A-Z])\)?\s*[.):：]\s*(.+)", line.strip().strip("*"))
        if m and m.group(1) in LETTERS[: len(options)] and _fold(m.group(2)) == _fold(options[LETTERS.index(m.group(1))]):
            seen.add(m.group(1))
    return len(seen) >= 2


def extract_answer(text: str, lang: str, options: Sequence[str], *, cot: bool = False) -> Extraction:
    """The option letter(s) a reply gives; ``options`` are the option texts as shown (in ``lang``).
    ``cot``: the reply reasons first, so only a final answer counts (see the module docstring)."""
    reply = _norm(text)
    valid = set(LETTERS[: len(options)])
    # 1. answer phrase (last occurrence)
    matches = list(answer_phrase_pattern(lang, colon=cot).finditer(reply))
    if matches:
        m = matches[-1]
        if not m.group(2) and _opens_a_sentence(lang, m.group(1), reply[m.end():]):  # "Answer: A patient ..."
            return Extraction(None, "unparsed")
        letters = [m.group(1).upper(), *(x.upper() for x in re.findall(r"[A-Z]", m.group(2) or ""))]
        if all(x in valid for x in letters):
            return Extraction(sorted(set(letters)), "answer_phrase")
        return Extraction(None, "unparsed")
    # the line rules 2 and 3 read: the first; for CoT what follows the last answer phrase, else the last line
    lines = reply.splitlines()
    if cot:
        after = final_answer_text(reply, lang)
        lines = after.splitlines() if after else [x for x in lines if x.strip()][-1:]
    line = lines[0].strip().strip("*") if lines else ""
    if _echoes_options(reply, options):  # the option list repeated back is no answer
        return Extraction(None, "unparsed")
    # 2. a bare letter, optionally followed by that option's text
    m = re.fullmatch(r"\(?([A-Z])\)?(?:\s*[.):：]\s*(.*))?", line)
    if m and m.group(1) in valid:
        rest = _fold(m.group(2) or "")
        own = _fold(options[LETTERS.index(m.group(1))])
        if not rest or rest == own or own.startswith(rest) or rest.startswith(own):
            return Extraction([m.group(1)], "bare_letter")
        return Extraction(None, "unparsed")
    # 3. the option's own text, after the answer phrase if the line opens with it ("Answer: maybe")
    folded = _fold(re.sub(rf"^{_phrase(lang, colon=cot)}", "", line))
    hits = [LETTERS[i] for i, opt in enumerate(options) if _fold(opt) == folded]
    if len(hits) == 1:
        return Extraction(hits, "option_text")
    return Extraction(None, "unparsed")
