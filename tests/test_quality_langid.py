"""Language identification: the ensemble catches wrong-language fields and keeps code-switched
medical terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from globmed.errors import GlobmedError
from globmed.quality import load_quality_config
from globmed.quality.langid import LanguageIdStep
from globmed.quality.synthetic import generate
from globmed.schema import Entry, entries_to_batch

pytest.importorskip("fasttext")


@pytest.fixture(scope="module")
def lid_step() -> LanguageIdStep:
    return LanguageIdStep(load_quality_config(workers=1))


def mcq(lang: str, question: str, options: list[str], qid: str = "q1", answer: str = "A") -> Entry:
    return Entry.create(source="demo", lang=lang, source_id=qid, task="mcq", question=question,
                        options=options, answer=[answer], license="CC-BY-4.0")


def verdicts(step: LanguageIdStep, entries: list[Entry]) -> list[str | None]:
    return step(entries_to_batch(entries)).reasons


SW_Q = ("Mgonjwa mwenye umri wa miaka 45 anakuja kliniki akiwa na homa na kikohozi kikavu kwa siku tano. "
        "Ni matibabu gani ya kwanza yanayofaa zaidi kwa mgonjwa huyu?")


def test_swahili_question_with_english_options_is_caught(lid_step):
    good = mcq("sw", SW_Q, ["Kumpa dawa za kumeza kwa wiki moja", "Kumlaza hospitalini kwa uangalizi",
                            "Kumwambia apumzike na anywe maji mengi", "Kupima mkojo kuangalia maambukizi"])
    bad = mcq("sw", SW_Q, ["Give oral antibiotics for one week", "Admit to hospital for observation",
                           "Prescribe rest and plenty of fluids", "Test the urine for infection"], qid="q2")
    ok, wrong = verdicts(lid_step, [good, bad])
    assert ok is None
    assert wrong is not None and wrong.startswith("options:") and "looks like en" in wrong


def test_yoruba_entry_that_is_really_english_is_caught(lid_step):
    real = mcq("yo", "Ọkùnrin kan tí ọjọ́ orí rẹ̀ jẹ́ ọdún márùndínláàádọ́ta wá sí ilé ìwòsàn nítorí ibà àti ikọ́ "
               "tí ó bẹ̀rẹ̀ ní ọjọ́ márùn-ún sẹ́yìn. Kí ni ìtọ́jú àkọ́kọ́ tí ó dára jùlọ?",
               ["Fún un ní oògùn", "Gbà á sí ilé ìwòsàn"])
    english = mcq("yo", "A 45-year-old man comes to the hospital with fever and a cough that started five days "
                  "ago. What is the best initial treatment?", ["Fún un ní oògùn", "Gbà á sí ilé ìwòsàn"], qid="q2")
    ok, wrong = verdicts(lid_step, [real, english])
    assert ok is None
    assert wrong is not None and wrong.startswith("question:") and "looks like en" in wrong


def test_wolof_entry_that_is_really_french_is_caught_by_ruling_out(lid_step):
    wolof = mcq("wo", "Benn góor bu am juróom ñeent fukki at dafa ñëw ci kër doktoor ndax tàngaay yaram ak sëqat "
                "su wow. Lan mooy fajuwaay bu jëkk bi gën ci lépp?", ["Jox ko garab", "Dugal ko lopitaal"])
    french = mcq("wo", "Un homme de 45 ans consulte pour de la fièvre et une toux sèche apparues il y a cinq jours. "
                 "Quel est le meilleur traitement initial ?", ["Jox ko garab", "Dugal ko lopitaal"], qid="q2")
    ok, wrong = verdicts(lid_step, [wolof, french])
    assert ok is None
    assert wrong is not None and "looks like fr" in wrong and "wo ruled out" in wrong
    assert "rule-out" in lid_step.describe()["method_by_language"]["wo"]


def test_code_switched_drug_names_are_kept(lid_step):
    entries = [
        mcq("sw", "Mgonjwa apewe dawa gani kwa maambukizi ya bakteria kwenye koo: amoxicillin 500 mg mara tatu "
            "kwa siku, au paracetamol peke yake?", ["Amoxicillin", "Paracetamol", "Ibuprofen", "Metformin"]),
        mcq("yo", "Dókítà fún aláìsàn náà ní metformin àti insulin nítorí àtọ̀gbẹ; kí ni ó yẹ kí ó máa ṣàyẹ̀wò "
            "lójoojúmọ́?", ["Ṣúgà ẹ̀jẹ̀", "Ìfúnpá", "Iwọn ara", "Ìgbóná ara"], qid="q2"),
        mcq("de", "Welche Nebenwirkung ist unter Therapie mit Atorvastatin und Clarithromycin besonders zu "
            "beachten?", ["Rhabdomyolyse", "Hypoglykämie", "QT-Verkürzung", "Hyperkaliämie"], qid="q3"),
        mcq("ja", "アモキシシリンとクラブラン酸の合剤を処方された患者で、最も注意すべき副作用はどれか。",
            ["下痢", "頭痛", "発疹", "めまい"], qid="q4"),
    ]
    assert verdicts(lid_step, entries) == [None] * len(entries)


def test_clean_synthetic_items_of_every_language_pass(lid_step, tmp_path):
    from globmed.sources.demo import DemoSource

    data = generate(240, defect_rate=0.0, seed=5)
    entries = [e for e in DemoSource().read(data.write(tmp_path)) if isinstance(e, Entry)]
    assert len(entries) == 240
    reasons = verdicts(lid_step, entries)
    assert [r for r in reasons if r] == []


def test_script_check_catches_the_wrong_script(lid_step):
    entry = mcq("zh", "Пациент 45 лет жалуется на лихорадку и сухой кашель в течение пяти дней. Какое лечение?",
                ["口服抗生素一周", "收入医院观察"])
    (reason,) = verdicts(lid_step, [entry])
    assert reason is not None and "Hans script" in reason


def test_missing_model_names_the_option(tmp_path: Path):
    config = load_quality_config(lid_model=tmp_path / "nope.ftz")
    with pytest.raises(GlobmedError, match="--lid-model"):
        LanguageIdStep(config)


def test_flores_labelled_models_give_wolof_an_identifier():
    config = load_quality_config(workers=1)
    config.data["langid"]["fasttext_labels"] = "flores"
    plans = LanguageIdStep(config, ["wo", "sw"]).identifier.plans
    assert plans["wo"].fasttext == ("__label__wol_Latn",) and "rule-out" not in plans["wo"].method
    assert plans["sw"].fasttext == ("__label__swh_Latn",)


def _synthetic_fields(n: int, seed: int) -> tuple[list[str], list[str]]:
    data = generate(n, defect_rate=0.3, seed=seed)
    texts, langs = [], []
    for lang, rows in data.rows.items():
        for row in rows:
            texts += [row["question"], "; ".join(row["options"].values())]
            langs += [lang, lang]
    return texts, langs


class Spy:
    """A fastText model that notes how many texts each call sends it."""

    def __init__(self, model, calls: list[int]):
        self.model, self.calls = model, calls

    def predict(self, texts, k=1):
        self.calls.append(len(texts))
        return self.model.predict(texts, k=k)

    def predict_top(self, texts):
        self.calls.append(len(texts))
        return self.model.predict_top(texts)


def test_top_label_decides_like_the_top_three_and_repeats_are_identified_once():
    from globmed.quality.langid import LanguageIdentifier

    config = load_quality_config(workers=1)
    texts, langs = _synthetic_fields(600, seed=4)
    one, three = LanguageIdentifier(config, sorted(set(langs))), LanguageIdentifier(config, sorted(set(langs)))
    assert one._k == 1  # every registry language has at most one fastText label, acceptance needs 0.5+
    three._k = 3
    first = one.check(texts, langs)
    assert first == three.check(texts, langs)
    assert sum(v is not None for v in first) > 20  # the seeded wrong-language fields are there

    calls = []
    one.model = Spy(one.model, calls)
    assert one.check(texts[:50] + texts[:50], langs[:50] + langs[:50]) == first[:50] * 2
    assert calls == []  # every one of them was identified by the first call
    fresh = LanguageIdentifier(config, sorted(set(langs)))
    fresh.model = Spy(fresh.model, calls)
    assert fresh.check(texts[:50] + texts[:50], langs[:50] + langs[:50]) == first[:50] * 2
    assert sum(calls) <= 50  # duplicates within a batch go to fastText once
    fresh.memo_size = 30  # a full memory starts over; what a batch needs is still answered
    for lo in range(0, 400, 100):
        assert fresh.check(texts[lo: lo + 100] + texts[:20], langs[lo: lo + 100] + langs[:20]) \
            == first[lo: lo + 100] + first[:20]
        assert len(fresh._memo) <= 130
