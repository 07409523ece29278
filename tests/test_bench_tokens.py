"""The open-QA tokeniser keeps combining marks: a tone mark or vowel sign is part of its word."""

from __future__ import annotations

import unicodedata

import pytest

from globmed.bench.metrics.functions import rouge_l, tokens
from globmed.languages import registry

# per script: a phrase whose words carry combining marks (category M) where the script has them,
# and the same phrase with one mark changed
SAMPLES = {
    "Latn": ("ọ̀rọ̀ ẹ̀yin", "ọ̀rọ́ ẹ̀yin"),                 # Yoruba: dot below + grave / acute
    "Hans": ("发烧 头痛", "发烧 头疼"),
    "Jpan": ("ガ\u3099ン 治療", "カ\u3099ン 治療"),             # combining voicing mark
    "Hang": ("두통 발열", "두통 발얼"),
    "Cyrl": ("и\u0306од лечение", "и\u0300од лечение"),          # combining breve / grave
    "Arab": ("كَتَبَ الطبيب", "كُتُبَ الطبيب"),                    # harakat
    "Deva": ("हिन्दी भाषा", "हिन्दु भाषा"),                           # vowel signs, virama
    "Beng": ("বাংলা ভাষা", "বাংলি ভাষা"),
    "Thai": ("ที่นี่ ไข้", "ที้นี่ ไข้"),                              # tone marks
    "Ethi": ("ሰላም ነው", "ሰላም ነዉ"),
}


def _marks(text: str) -> list[str]:
    return [c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c).startswith("M")]


@pytest.mark.parametrize("lang", sorted(registry().languages))
def test_no_letter_or_mark_is_dropped_in_any_registry_script(lang):
    script = registry().languages[lang].script
    assert script in SAMPLES, f"add a {script} sample for {lang}"
    text, changed = SAMPLES[script]
    got = "".join(tokens(text))
    kept = "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if not c.isspace())
    assert got == kept
    assert _marks(got) == _marks(text)
    assert rouge_l(text, text) == 1.0
    assert rouge_l(changed, text) < 1.0


def test_yoruba_tone_marks_make_different_words():
    assert tokens("ẹ̀yin") == ["ẹ̀yin"]
    assert rouge_l("ọ̀rọ̀", "ọ̀rọ́") == 0.0
    assert rouge_l("ọ̀rọ̀ dára", "ọ̀rọ̀ dára") == 1.0


def test_no_space_scripts_split_into_characters_with_their_marks():
    assert tokens("ที่นี่") == ["ที่", "นี่"]
    assert tokens("日本語") == ["日", "本", "語"]
