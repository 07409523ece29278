"""Language ID's batch fast path gives what the plain definitions give, text by text and row by row:

- fastText's top labels of a batch (each distinct line once, sorted) against fastText's own Python
  ``predict`` of each line alone;
- a batch's verdicts (texts of many scripts and languages, Latin terms inside CJK, short option lists,
  empty fields, repeats) against each text judged alone with nothing remembered from earlier calls, and
  against the text the identifiers are documented to read (the first ``max_chars`` characters, a
  non-Latin language's without its Latin words);
- the item verdict (first strong, else first weak unless a field is native) against a plain loop.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from globmed.quality import load_quality_config
from globmed.quality.langid import LanguageIdentifier, LanguageIdStep
from globmed.quality.lid_model import top_labels
from globmed.quality.lid_parts import LATIN_WORD, FieldVerdicts, item_reasons
from globmed.quality.synthetic import generate

TEXTS: list[tuple[str, str]] = [
    ("en", "What is the most appropriate next step in the management of this patient with fever and cough?"),
    ("en", "Quelle est la prochaine étape la plus appropriée dans la prise en charge de ce patient fébrile ?"),
    ("fr", "Un homme de 45 ans consulte pour une fièvre et une toux sèche depuis cinq jours. Quel examen ?"),
    ("fr", "A 45-year-old man presents with fever and a dry cough for five days. Which test comes first?"),
    ("de", "Welche Untersuchung sollte die Ärztin bei diesem Mann zuerst machen, und was ist wahrscheinlich?"),
    ("es", "¿Cuál es el siguiente paso más adecuado en el tratamiento de este paciente con fiebre y tos?"),
    ("es", "Qual é o próximo passo mais adequado no tratamento deste paciente com febre e tosse há dias?"),
    ("pt", "Qual é o próximo passo mais adequado no tratamento deste paciente com febre e tosse há dias?"),
    ("ja", "次のうち、最も適切な治療はどれか。患者は発熱と咳を訴えて来院した。"),
    ("ja", "急性心筋梗塞の治療として最も適切なものを選べ"),
    ("ja", "患者男性，45岁，发热咳嗽五天，最可能的诊断是什么？请选择最合适的治疗方法。"),
    ("zh", "患者男性，45岁，发热咳嗽五天，最可能的诊断是什么？请选择最合适的治疗方法。"),
    ("zh", "患者HBsAg（﹢）、抗HBc（﹢），肝功能ALT 120 U/L，AST 98 U/L，最可能的诊断是什么？"),
    ("zh", "HBsAg（﹢）、抗HBc（﹢）"),
    ("zh", "次のうち、最も適切な治療はどれか。患者は発熱と咳を訴えて来院した。"),
    ("zh", "患者のCRPが高く、WBCも増えている。Mallory-Weiss症候群で最も考えられる診断はどれか。"),
    ("ko", "다음 중 이 환자에게 가장 적절한 치료는 무엇입니까? 환자는 열과 기침이 있습니다."),
    ("ko", "환자의 CRP 수치가 높고 WBC 증가가 있습니다. Mallory-Weiss syndrome 가능성이 높은 진단은?"),
    ("ko", "What is the most appropriate next step in the management of this patient with fever and cough?"),
    ("ru", "Какой следующий шаг наиболее целесообразен в лечении этого пациента с лихорадкой и кашлем?"),
    ("sw", "Ni hatua gani inayofaa zaidi katika matibabu ya mgonjwa huyu mwenye homa na kikohozi?"),
    ("yo", "Kí ni ìgbésẹ̀ tó tọ́ jù lọ nínú ìtọ́jú aláìsàn yìí tí ó ní ibà àti ikọ́?"),
    ("wo", "Lan mooy pas bi gën a baax ci fajug feebar bii ak sëqët bi?"),
    ("wo", "What is the most appropriate next step in the management of this patient with fever and cough?"),
    ("en", "Aspirin; Heparin; Warfarin; Clopidogrel"),
    ("en", ""),
    ("fr", "   "),
    ("de", "123 456 7.8"),
    ("ja", "A; B; C; D"),
    ("zh", "x" * 500 + "患者男性，发热咳嗽五天。"),
    ("ko", "환자 " + "ABC DEF " * 80 + "진단은?"),
]


@pytest.fixture(scope="module")
def config():
    return load_quality_config(workers=1)


@pytest.fixture(scope="module")
def identifier(config) -> LanguageIdentifier:
    return LanguageIdentifier(config, sorted({lang for lang, _ in TEXTS} | {"en", "fr", "sw", "yo", "wo", "zu"}))


def _varied(n: int, seed: int) -> tuple[list[str], list[str], list[float]]:
    """The handwritten texts, synthetic questions and option lists of every language, with repeats."""
    data = generate(n, defect_rate=0.3, seed=seed)
    rows = [(lang, text, 0.0) for lang, text in TEXTS]
    for lang, items in data.rows.items():
        for row in items:
            rows.append((lang, row["question"], 0.0))
            rows.append((lang, "; ".join(row["options"].values()), 3.0 * len(row["options"])))
    rng = random.Random(seed)
    rows += rng.sample(rows, len(rows) // 4)  # repeats, in the same batch
    rng.shuffle(rows)
    return [t for _, t, _ in rows], [lang for lang, _, _ in rows], [w for _, _, w in rows]


def test_top_labels_are_fasttext_of_each_line_alone(identifier):
    model = identifier.model
    texts, _, _ = _varied(150, seed=1)
    lines = [t.replace("\n", " ")[:100] for t in texts] + ["", "a", "患者", "??"]
    assert len(set(lines)) < len(lines) and lines != sorted(lines)  # repeats, not in order
    for batch in (lines, list(dict.fromkeys(lines))):  # with repeats, and without
        labels, probs = top_labels(model, batch)
        plain = [model._model.predict(line, k=1) for line in batch]  # fastText's own Python predict, one line
        assert labels == [labs[0] if len(labs) else "" for labs, _ in plain]
        assert probs == [float(ps[0]) if len(ps) else 0.0 for _, ps in plain]
        assert len(set(labels)) > 5  # varied languages: a line given another's label shows
    assert top_labels(model, []) == ([], [])


def test_a_batch_judges_each_text_as_it_would_alone(identifier):
    texts, langs, min_words = _varied(200, seed=2)
    batch = identifier.judge(texts, langs, min_words)
    alone_reasons, alone_weak, alone_native = [], [], []
    for text, lang, words in zip(texts, langs, min_words, strict=True):
        identifier._memo.clear()  # nothing remembered from the batch or the texts before
        v = identifier.judge([text], [lang], [words])
        alone_reasons += v.reasons
        alone_weak += v.weak.tolist()
        alone_native += v.native.tolist()
    assert batch.reasons == alone_reasons
    assert batch.weak.tolist() == alone_weak
    assert batch.native.tolist() == alone_native
    # the data can tell a wrong mapping: strong, weak and native verdicts, and reasons of several kinds
    assert sum(r is not None for r in alone_reasons) > 10 and any(alone_weak) and sum(alone_native) > 50
    assert any("fasttext" in r for r in alone_reasons if r) and any("script" in r for r in alone_reasons if r)
    # a second call answers from the memory what the first identified, the same way
    again = identifier.judge(texts, langs, min_words)
    assert again.reasons == batch.reasons and again.weak.tolist() == batch.weak.tolist()


def test_the_identifiers_read_the_documented_text(config):
    """What is sent to fastText: per distinct (language, text), the first max_chars characters, a non-Latin
    language's text with each run of Latin letters (over its first 4 * max_chars characters) a space."""
    ident = LanguageIdentifier(config, sorted({lang for lang, _ in TEXTS}))
    sent: list[str] = []

    class Recording:
        def __init__(self, model):
            self.model = model

        def predict_top(self, lines):
            sent.extend(lines)
            return self.model.predict_top(lines)

    ident.model = Recording(ident.model)
    texts = [t for _, t in TEXTS] * 2
    langs = [lang for lang, _ in TEXTS] * 2
    ident.check(texts, langs)
    m = ident.max_chars
    latin = {"en", "fr", "de", "es", "pt", "sw", "yo", "wo"}
    expected = {(t if lang in latin else LATIN_WORD.sub(" ", t[:4 * m]))[:m].replace("\n", " ")
                for lang, t in TEXTS}
    assert len(sent) == len(set(sent))  # each line once, repeats included
    assert sent == sorted(sent)
    assert set(sent) <= expected
    assert "患者 （﹢）、抗 （﹢），肝功能  120  / ，  98  / ，最可能的诊断是什么？" in sent  # Latin words out


def _reference_item_reasons(v: FieldVerdicts, names: list[str], langs: list[str]) -> list[str | None]:
    """The item verdict as a plain loop over fields and rows."""
    n = len(langs)
    out: list[str | None] = []
    for i in range(n):
        strong = weak = None
        native = False
        for f, name in enumerate(names):
            k = f * n + i
            native = native or bool(v.native[k])
            reason = v.reasons[k]
            if reason is None:
                continue
            text = f"{name}: {reason}, expected {langs[i]}"
            if v.weak[k]:
                weak = weak or text
            else:
                strong = strong or text
        out.append(strong if strong is not None else None if native else weak)
    return out


def test_item_reasons_are_the_plain_rule():
    rng = random.Random(3)
    for _ in range(300):
        n, names = rng.randint(0, 12), rng.choice([["question"], ["question", "options"], ["q", "o", "e"]])
        total = n * len(names)
        reasons = [rng.choice([None, None, "looks like fr (fasttext 0.91)", "12% of letters in the Latn script"])
                   for _ in range(total)]
        weak = np.array([rng.random() < 0.5 for _ in range(total)], bool)
        native = np.array([r is None and rng.random() < 0.5 for r in reasons], bool)
        v = FieldVerdicts(reasons, weak, native)
        langs = [rng.choice(["en", "ja"]) for _ in range(n)]
        assert item_reasons(v, names, langs) == _reference_item_reasons(v, names, langs)


def test_the_step_is_its_fields_judged_alone(config):
    """A step's batch against its fields judged one text at a time, combined by the plain rule."""
    data = generate(300, defect_rate=0.3, seed=5)
    step = LanguageIdStep(config, sorted(data.rows))
    rows = [(lang, row) for lang, items in data.rows.items() for row in items]
    batch = {"id": [str(i) for i in range(len(rows))], "lang": [lang for lang, _ in rows],
             "options": [list(row["options"].values()) for _, row in rows]}
    for name in step.fields:
        if name != "options":
            batch[name] = [row.get(name) or "" for _, row in rows]
    assert len(step.fields) >= 2
    result = step(batch)
    ident = step.identifier
    from globmed.quality.lid_parts import field_texts

    fields = field_texts(batch, step.fields, float(step.settings.get("options_min_words", 3)))
    verdicts = []
    for _, col, words in fields:
        for text, lang, w in zip(col, batch["lang"], words, strict=True):
            ident._memo.clear()
            verdicts.append(ident.judge([text], [lang], [w]))
    expected = _reference_item_reasons(FieldVerdicts.concat(verdicts), [name for name, _, _ in fields],
                                       batch["lang"])
    assert result.reasons == expected
    assert result.keep == [r is None for r in expected]
    assert 5 < sum(r is not None for r in expected) < len(rows)


def test_py3langid_is_loaded_once_when_the_step_is_made(config):
    """Made in a build's main process, the identifier's py3langid model is what its forked workers inherit:
    a second identifier (a pool worker's, another step's) loads nothing."""
    from globmed.quality.lid_parts import py3langid_batch

    first = LanguageIdentifier(config, ["en", "fr"])
    assert first._py3_batch is not None  # loaded by the constructor, not by the first batch
    loads = py3langid_batch.cache_info().misses
    second = LanguageIdentifier(config, ["fr", "sw"])
    assert second.py3_batch is first.py3_batch and py3langid_batch.cache_info().misses == loads
    assert second.py3.classify("Le patient présente une fièvre depuis cinq jours.")[0] == "fr"
