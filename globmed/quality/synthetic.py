"""Synthetic GlobMed-like entries with known defects, for the scale benchmark and the tests.

Items are written in the demo source's raw format (``<lang>.jsonl``, see
:mod:`globmed.sources.demo`) from the phrase bank ``synthetic_text.yaml``: two or three
sentences of a language's templates with random slots, and four of its option phrases.
A share of rows carries a seeded defect, listed with the step that must catch it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

# defect kind -> the quality step that must remove the row
DEFECTS: dict[str, str] = {
    "wrong_language": "language_id",        # question written in another language
    "foreign_options": "language_id",       # options written in another language
    "exact_duplicate": "exact_dedup",       # a copy of an earlier item under a new id
    "near_duplicate": "near_dedup",         # a copy with 2-3 characters edited
    "test_copy_in_train": "decontamination",  # a train item copied from a test item, lightly edited
    "repeated_options": "task_rules",       # two options with the same text
}


@cache
def phrase_bank() -> dict[str, dict[str, Any]]:
    text = resources.files("globmed.quality").joinpath("synthetic_text.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass
class SyntheticSet:
    """Rows per language plus the ledger of seeded defects: ``{(lang, qid): defect kind}`` and, for
    copies, the qid they copy (``copied_from``): a duplicate pair is caught when either one goes."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    defects: dict[tuple[str, str], str] = field(default_factory=dict)
    copied_from: dict[tuple[str, str], str] = field(default_factory=dict)

    def caught(self, removed: set[tuple[str, str]]) -> dict[tuple[str, str], bool]:
        """Per seeded defect: was it removed (for a duplicate: it or the row it copies)?"""
        out = {}
        for key, kind in self.defects.items():
            src = self.copied_from.get(key)
            dup = kind in ("exact_duplicate", "near_duplicate")
            out[key] = key in removed or (dup and src is not None and (key[0], src) in removed)
        return out

    def false_removals(self, removed: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Removed rows that carry no defect (the kept-or-removed partner of a duplicate pair excepted)."""
        partners = {(k[0], s) for k, s in self.copied_from.items() if self.defects[k] != "test_copy_in_train"}
        return {k for k in removed if k not in self.defects and k not in partners}

    @property
    def total(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def write(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for lang, rows in self.rows.items():
            with open(folder / f"{lang}.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        return folder


class _Writer:
    def __init__(self, lang: str, rng: random.Random):
        self.lang, self.rng, self.bank = lang, rng, phrase_bank()[lang]

    def question(self, bank: dict[str, Any] | None = None) -> str:
        bank = bank or self.bank
        rng = self.rng
        s1, s2 = rng.sample(bank["symptom"], 2)
        slots = {"age": rng.randint(18, 92), "days": rng.randint(2, 40), "person": rng.choice(bank["person"]),
                 "symptom": s1, "symptom2": s2, "bp": f"{rng.randint(95, 190)}/{rng.randint(55, 115)}"}
        templates = rng.sample(bank["question"], rng.choice((2, 3)))
        sentences = [t.format(**slots) for t in templates]
        # laboratory values, as exam vignettes give them: language-neutral, different in every item
        labs = (f"Hb {rng.uniform(7, 17):.1f} g/dL, WBC {rng.randint(3000, 25000)}/µL, "
                f"CRP {rng.randint(1, 250)} mg/L, T {rng.uniform(35.8, 40.5):.1f} °C, {rng.randint(38, 120)} kg.")
        sentences.insert(rng.randrange(1, len(sentences)), labs)
        return " ".join(sentences)

    def options(self, bank: dict[str, Any] | None = None) -> list[str]:
        return self.rng.sample((bank or self.bank)["option"], 4)


def _edit(text: str, rng: random.Random, edits: int) -> str:
    chars = list(text)
    for _ in range(edits):
        i = rng.randrange(len(chars))
        if chars[i].isalpha():
            chars[i] = chars[i].swapcase() if rng.random() < 0.3 else rng.choice("aeiou")
        else:
            chars.insert(i, rng.choice("aeiou"))
    return "".join(chars)


def generate(n: int, langs: Sequence[str] | None = None, *, defect_rate: float = 0.1, test_share: float = 0.1,
             seed: int = 0) -> SyntheticSet:
    """``n`` rows spread over ``langs`` (default: every language of the phrase bank)."""
    rng = random.Random(seed)
    langs = list(langs or phrase_bank())
    out = SyntheticSet(rows={lang: [] for lang in langs})
    kinds = list(DEFECTS)
    # the demo format's qid names one item in every language (one origin_id): whether item k is a
    # test item is decided once for all languages, as translations of an upstream test item are all
    # test, so that about test_share of the origins (not 1 - (1 - test_share) ** languages) is test
    test_item = random.Random(f"{seed}-test")
    is_test = [test_item.random() < test_share for _ in range(n // len(langs) + 1)]
    per_lang = [n // len(langs) + (1 if i < n % len(langs) else 0) for i in range(len(langs))]
    for lang, count in zip(langs, per_lang, strict=True):
        writer = _Writer(lang, rng)
        others = [x for x in phrase_bank() if x != lang and x in ("en", "fr", "es", "pt", "de")]
        rows = out.rows[lang]
        tests: list[dict[str, Any]] = []
        for k in range(count):
            qid = f"s{k:07d}"
            kind = rng.choice(kinds) if rows and rng.random() < defect_rate else None
            if kind == "test_copy_in_train" and not tests:
                kind = None
            row: dict[str, Any]
            if kind in ("exact_duplicate", "near_duplicate"):
                src = rng.choice(rows[-500:])
                out.copied_from[(lang, qid)] = src["qid"]
                row = {**src, "qid": qid}
                row.pop("split", None)
                if kind == "near_duplicate":
                    row["question"] = _edit(src["question"], rng, rng.choice((2, 3)))
            elif kind == "test_copy_in_train":
                src = rng.choice(tests[-200:])
                out.copied_from[(lang, qid)] = src["qid"]
                row = {**src, "qid": qid, "split": "train", "question": _edit(src["question"], rng, 3)}
            else:
                row = {"qid": qid, "kind": "mcq", "question": writer.question(),
                       "options": dict(zip("ABCD", writer.options(), strict=True)),
                       "answer_idx": rng.choice("ABCD"), "explanation": ""}
                if kind == "wrong_language":
                    row["question"] = writer.question(phrase_bank()[rng.choice([o for o in others if o != lang])])
                elif kind == "foreign_options":
                    row["options"] = dict(zip("ABCD", writer.options(phrase_bank()[rng.choice(others)]), strict=True))
                elif kind == "repeated_options":
                    row["options"]["D"] = row["options"]["B"]
                elif is_test[k]:
                    row["split"] = "test"
                    tests.append(row)
            if kind is not None:
                out.defects[(lang, qid)] = kind
            rows.append(row)
    return out

