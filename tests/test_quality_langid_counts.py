"""The script check's counts and the shortcuts of language ID give exactly what the plain definitions give:
the batch counting of globmed.quality.script_counts against a character-by-character reference, the
texts language ID leaves unidentified against identifying them, fastText's batched predict against
its own one-line predict."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
import pytest

from globmed.quality import load_quality_config
from globmed.quality.lid_parts import script_tables
from globmed.quality.script_counts import ScriptCounts, row_counts, script_classes, script_counts

FIELDS = ("letters", "native", "latin", "latin_words", "native_words", "kana", "words", "plain_words")


@pytest.fixture(scope="module")
def scripts() -> tuple[np.ndarray, dict[str, int], dict[str, list[tuple[int, int]]]]:
    config = load_quality_config(workers=1)
    ranges = {name: [tuple(r) for r in v] for name, v in config.section("scripts").items()}
    table, index = script_tables(tuple((k, tuple(map(tuple, v))) for k, v in ranges.items()))
    return table, index, ranges


def reference_counts(texts: list[str], script_ids: list[int], table: np.ndarray, latin: int,
                     kana: int) -> dict[str, list[int]]:
    """The counts by their definition, one character at a time (a code point beyond the BMP counts as
    U+FFFF: no letter, no mark)."""
    out: dict[str, list[int]] = {f: [] for f in FIELDS}
    for text, script in zip(texts, script_ids, strict=True):
        cps = [min(ord(ch), 0xFFFF) for ch in text]
        cats = [unicodedata.category(chr(c)) for c in cps]
        letter = [bool(table[0][c]) for c in cps]
        native = [bool(table[script][c]) for c in cps]
        is_latin = [bool(table[latin][c]) for c in cps]
        mark = [cat.startswith("M") for cat in cats]

        def starts(kind: list[bool], mark: list[bool] = mark) -> list[bool]:
            # a run of a kind starts at such a letter unless the previous position is one or a mark
            return [k and not (j and (kind[j - 1] or mark[j - 1])) for j, k in enumerate(kind)]

        word_starts = starts(letter)
        out["letters"].append(sum(letter))
        out["native"].append(sum(native))
        out["latin"].append(sum(is_latin))
        out["latin_words"].append(sum(starts(is_latin)))
        out["native_words"].append(sum(starts(native)))
        out["kana"].append(sum(bool(table[kana][c]) for c in cps))
        out["words"].append(sum(word_starts))
        out["plain_words"].append(sum(s and cat not in ("Lu", "Lt") for s, cat in zip(word_starts, cats, strict=True)))
    return out


def _sample_chars(ranges: dict[str, list[tuple[int, int]]], rng: random.Random) -> list[str]:
    """Characters of every script range, and the ones between words: marks, astral characters, digits,
    punctuation, full-width and title-case letters."""
    chars = []
    for spans in ranges.values():
        for lo, hi in spans:
            chars += [chr(lo), chr(min(hi, 0xFFFF))] + [chr(rng.randint(lo, min(hi, 0xFFFF))) for _ in range(6)]
    chars += list("AZaz ÀÖØßÿĀž-.,;:()（）〈〉0123456789\n\t'’")
    chars += ["\u0301", "\u0300", "\u0323", "\u3099", "\u093e",  # combining marks (Latin, kana, Devanagari)
              "\U0001F600", "\U00020000", "\U0001D400", "\U00010400",  # astral: emoji, CJK ext. B, math A, Deseret
              "ǅ", "ǈ", "Ａ", "ｚ", "ｱ", "ﾞ", "\uffff", "\ufeff", "\u200b", "ー", "々", "〆"]
    return chars


def _texts(ranges, rng: random.Random, n: int) -> list[str]:
    chars = _sample_chars(ranges, rng)
    fixed = ["", "", "Mallory-Weiss症候群について", "Hb60g/L，RBC3.05×10¹²/L，血小板减少", "Sẹ́ẹ̀lì ẹ̀jẹ̀ pupa",
             "Universal Health Coverage〈UHC〉", "\u0301abc", "a\u0301\u0301b \u0301", "\U00020000\U00020001 漢字",
             "日本語のテキストに English words と Latin", "한국어 텍스트 with Latin 漢字", "ǅemal ǈubljana Ｌａｔｉｎ",
             "x" * 600, ("word " * 70)[:-1], "\n", " ", "\U0001F600"]
    out = list(fixed)
    for _ in range(n):
        size = rng.choice([0, 1, 2, 5, 30, 120, 254, 255, 256, 400, 1000])
        out.append("".join(rng.choice(chars) for _ in range(size)))
    return out


def _assert_counts(got: ScriptCounts, want: dict[str, list[int]]) -> None:
    for f in FIELDS:
        assert getattr(got, f).tolist() == want[f], f


def test_batch_counts_are_the_character_by_character_counts(scripts):
    table, index, ranges = scripts
    latin, kana = index["Latn"], index["Kana"]
    rng = random.Random(3)
    texts = _texts(ranges, rng, 400)
    ids = sorted(index.values())
    # each expected script alone (a build's batch), and all of them mixed in one call
    for script in ids:
        want = reference_counts(texts, [script] * len(texts), table, latin, kana)
        _assert_counts(script_counts(texts, np.full(len(texts), script), table, latin, kana), want)
    mixed = [rng.choice(ids) for _ in texts]
    _assert_counts(script_counts(texts, np.array(mixed), table, latin, kana),
                   reference_counts(texts, mixed, table, latin, kana))


def test_counts_of_edge_batches(scripts):
    table, index, _ = scripts
    latin, kana = index["Latn"], index["Kana"]
    cases = [[], [""], ["", ""], ["a"], ["", "a", ""], ["\u0301"], ["\U0001F600"], ["ab" * 40000, "", "c"],
             ["日本" * 200, "", "にほん", "English"]]
    for texts in cases:
        for script in (index["Latn"], index["Jpan"]):
            want = reference_counts(texts, [script] * len(texts), table, latin, kana)
            _assert_counts(script_counts(texts, np.full(len(texts), script, np.int64), table, latin, kana), want)


def test_row_counts_are_the_table_rows_summed(scripts):
    table, index, ranges = scripts
    classes = script_classes(table, index["Latn"], index["Kana"])
    texts = _texts(ranges, random.Random(5), 200) + [""]
    got = row_counts(texts, classes)
    want = [[int(row[[min(ord(c), 0xFFFF) for c in t]].sum()) if t else 0 for row in table] for t in texts]
    assert got.tolist() == want
    assert row_counts([], classes).shape == (0, len(table))


@pytest.fixture(scope="module")
def identifiers():
    pytest.importorskip("fasttext")
    from globmed.languages import registry
    from globmed.quality.langid import LanguageIdentifier

    config = load_quality_config(workers=1)
    langs = sorted(registry().languages)
    return LanguageIdentifier(config, langs), LanguageIdentifier(config, langs)


def test_texts_no_claim_could_count_against_are_kept_without_identifying_them(identifiers):
    fast, plain = identifiers
    plain._arrays = dict(plain._arrays, solo_script=np.zeros_like(plain._arrays["solo_script"]))  # always identify
    texts = ["환자는 73세 남성으로 호흡 곤란과 함께 마른기침을 호소하며, 혈압은 128/103 밀리미터 수은주이다.",
             "고혈압 환자에게 가장 적절한 치료는 무엇인가? 高血壓 患者 治療 方法 醫學 基礎 臨床 病院",
             "高血壓患者治療方法醫學基礎臨床病院 高血壓患者治療方法醫學基礎臨床病院 환자",
             "Welche Nebenwirkung ist unter Therapie mit Atorvastatin besonders zu beachten? 환자",
             "高血圧の患者に対する治療として最も適切なのはどれか。高血圧の患者に対する",
             "Пациент 45 лет жалуется на лихорадку и сухой кашель в течение пяти дней.",
             "مريض يبلغ من العمر 45 عامًا يعاني من الحمى والسعال الجاف منذ خمسة أيام",
             "ผู้ป่วยมีไข้และไอแห้งมาห้าวัน ควรรักษาอย่างไรเป็นอันดับแรก",
             "The patient presents with fever and a dry cough that started five days ago."]
    rng = random.Random(11)
    langs = ["ko", "ko", "ko", "ko", "ja", "ru", "ar", "th", "en"] + [rng.choice(["ko", "zh", "ja", "ru", "ar", "th",
                                                                                  "hi", "am", "bn", "en"])
                                                                       for _ in range(60)]
    texts = texts + [rng.choice(texts) for _ in range(60)]
    got, want = fast.judge(texts, langs), plain.judge(texts, langs)
    assert got.reasons == want.reasons
    assert got.weak.tolist() == want.weak.tolist() and got.native.tolist() == want.native.tolist()
    assert fast._unclaimed(texts[:1], np.array([fast._plan_index["ko"]])).tolist() == [True]
    assert fast._unclaimed(texts[3:4], np.array([fast._plan_index["ko"]])).tolist() == [False]  # Latin: en, de...


def test_batched_predict_is_the_one_line_predict():
    pytest.importorskip("fasttext")
    from globmed.quality.lid_parts import load_fasttext

    model = load_fasttext(None)
    texts = ["The patient presents with fever and a dry cough.", "", "Mgonjwa ana homa na kikohozi.", "漢字 かな",
             "a\u0301 \U0001F600 ǅ"]
    for k in (1, 3):
        labels, probs = model.predict(texts, k=k)
        for text, labs, ps in zip(texts, labels, probs, strict=True):
            want_labels, want_probs = model._model.predict(text, k=k)
            assert labs == list(want_labels) and ps == list(want_probs)
        if k == 1:  # the top label alone, without a list per text
            assert model.predict_top(texts) == ([labs[0] for labs in labels], [ps[0] for ps in probs])
    with pytest.raises(ValueError, match="one line"):
        model.predict(["two\nlines"])
    with pytest.raises(ValueError, match="one line"):
        model.predict_top(["two\nlines"])
