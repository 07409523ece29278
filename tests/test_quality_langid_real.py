"""Language ID on real medical exam text: the patterns that removed genuine IgakuQA, CMExam,
RuMedBench, FrenchMedMCQA, PubMedQA and MedMCQA items, written anew for the tests (those sources
state no licence), real samples where the licence allows (tests/fixtures/real/), and the real-data
benchmark that measures it on upstream files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from globmed.quality import load_quality_config
from globmed.quality.langid import LanguageIdStep, field_texts
from globmed.quality.script_counts import script_counts
from globmed.schema import Entry, entries_to_batch

pytest.importorskip("fasttext")

REPO = Path(__file__).resolve().parents[1]
REAL = Path(__file__).parent / "fixtures" / "real"


@pytest.fixture(scope="module")
def lid_step() -> LanguageIdStep:
    return LanguageIdStep(load_quality_config(workers=1))


def mcq(lang: str, question: str, options: list[str], explanation: str = "", qid: str = "q") -> Entry:
    return Entry.create(source="demo", lang=lang, source_id=qid, task="mcq", question=question, options=options,
                        answer=["A"], explanation=explanation, license="CC-BY-4.0")


def reasons(step: LanguageIdStep, entries: list[Entry]) -> list[str | None]:
    for i, entry in enumerate(entries):  # distinct ids
        entry.id = f"{entry.id}-{i}"
    return step(entries_to_batch(entries)).reasons


def test_script_counts_weigh_latin_terms_as_words_and_find_kana(lid_step):
    ident = lid_step.identifier
    texts = ["Mallory-Weiss症候群について", "Hb60g/L，RBC3.05×10¹²/L，血小板减少", "Sẹ́ẹ̀lì ẹ̀jẹ̀ pupa",
             "Universal Health Coverage〈UHC〉", ""]
    scripts = np.array([ident.plans[lang].script for lang in ("ja", "zh", "yo", "en", "en")])
    c = script_counts(texts, scripts, ident.table, ident.latin, ident.kana)
    assert c.latin_words.tolist() == [2, 5, 3, 4, 0]       # Mallory, Weiss / Hb g L RBC L
    assert c.native[[0, 1, 3, 4]].tolist() == [7, 5, 26, 0]  # 症候群について / 血小板减少 / the English letters
    assert c.kana.tolist() == [4, 0, 0, 0, 0]
    assert c.words[2] == 3 and c.latin_words[2] == 3        # combining accents do not cut a word
    assert c.plain_words.tolist() == [0, 2, 2, 0, 0]  # g, 血小板减少; capitalised names and acronyms are terms


@pytest.mark.parametrize("question, options, explanation", [
    # Latin eponyms and glosses inside Japanese
    ("Marfan症候群で正しいのはどれか。", ["水晶体偏位がみられる。", "常染色体劣性遺伝である。", "低身長となる。",
                                         "知的障害を伴う。", "心房中隔欠損を合併する。"], ""),
    ("接触予防策〈contact precautions〉が必要となるのはどれか。",
     ["疥癬", "麻疹", "結核", "水痘", "風疹"], ""),
    # kanji-heavy Japanese with kana: read as Chinese by every identifier
    ("無症候性腎結石を伴う高尿酸血症にまず行う治療はどれか。",
     ["尿酸生成抑制薬投与", "体外衝撃波結石破砕術", "経尿道的尿管砕石術", "食事療法", "経過観察"], ""),
    # option lists of kanji compounds joined by dashes
    ("法律とその規定の組合せで正しいのはどれか。",
     ["医師法 --------- 守秘義務", "刑法 --------- 応招義務", "医療法 --------- 医療計画",
      "健康保険法 --------- 異状死体届出", "薬機法 --------- 健康診断"], ""),
    # an English case note inside a Japanese item; English diagnoses as options
    ("救急外来を受診した外国人男性の診療録を示す。Chief complaint: chest pain for two hours. He has a history of "
     "hypertension and smokes twenty cigarettes a day. The pain radiates to the left arm and he is sweating. "
     "ECG shows ST elevation in leads II, III and aVF. 最も考えられるのはどれか。",
     ["Aortic dissection", "Acute pericarditis", "Inferior myocardial infarction", "Pulmonary embolism",
      "Pneumothorax"], ""),
    # lab values as options, a reason with an English drug class
    ("輸液として適切なのはどれか。", ["5％ブドウ糖液", "Na+ 154mEq/L、Cl- 154mEq/L",
                                    "Na+ 84mEq/L、K+ 20mEq/L、Cl- 66mEq/L、L-Lactate- 20mEq/L",
                                    "Na+ 30mEq/L、Cl- 20mEq/L、L-Lactate- 20mEq/L"], "高カリウム血症にK含有液はNG"),
    # English names asked for by a Japanese question; acronyms with English glosses
    ("国際保健の取り組みとその英語名称の略語で正しいのはどれか。",
     ["Universal Health Coverage〈UHC〉", "Sustainable Development Goals〈SDGs〉",
      "International Health Regulations〈IHR〉", "Official Development Assistance〈ODA〉"], ""),
    ("免疫チェックポイント阻害薬の標的分子はどれか。2つ選べ。",
     ["CD4", "CD28", "PD〈programmed cell death〉-1", "CTLA〈cytotoxic T lymphocyte-associated antigen〉-4",
      "TLR〈Toll-like receptor〉-4"], ""),
])
def test_genuine_japanese_items_are_kept(lid_step, question, options, explanation):
    assert reasons(lid_step, [mcq("ja", question, options, explanation)]) == [None]


@pytest.mark.parametrize("lang, question, options, explanation", [
    # lab values and Latin abbreviations inside Chinese exam items
    ("zh", "男，45岁。乏力3个月。实验室检查：Hb60g/L，RBC3.05×10¹²/L，PLT 50×10⁹/L，FDP 30mg/L，ALT 420U/L，TBil "
     "64μmol/L。最可能的诊断是", ["再生障碍性贫血", "缺铁性贫血", "弥散性血管内凝血", "急性白血病", "脾功能亢进"], ""),
    ("zh", "代表乙型肝炎病毒感染已愈的指标是", ["HBsAg（+）、HBeAg（-）、抗HBc（+）", "HBsAg（-）、抗HBs（+）、抗HBc（+）",
                                     "HBsAg（+）、HBeAg（+）、HBV-DNA（+）", "HBsAg（+）、HBeAg（-）、HBV-DNA（-）"], ""),
    # kana-less Chinese explanation (fastText reads such text as ja)
    ("zh", "正常高值血压的范围是", ["收缩压120～139mmHg", "收缩压140～159mmHg", "收缩压160～179mmHg", "收缩压≥180mmHg"],
     "本题考查血压水平的分类。正常高值范围是收缩压120～139mmHg，舒张压80～89mmHg（A对）。掌握“高血压”知识点。"),
    # Russian with Latin species and drug names
    ("ru", "Peptostreptococcus spp. и Peptococcus spp. относятся к анаэробам?", ["yes", "no"],
     "Метронидазол активен в отношении Trichomonas vaginalis, Entamoeba histolytica, Giardia lamblia, а также "
     "Bacteroides spp., Fusobacterium spp., Clostridium spp. и Peptostreptococcus spp."),
    ("ru", "Ostium primum и ostium secundum это одно и то же?", ["yes", "no"], ""),
    # short English read as Italian by langdetect (MedMCQA)
    ("en", "Order of eruption of the roots of maxillary first molar?",
     ["2% potassium sulfate", "0.2% potassium sulfate", "20% potassium sulfate", "0.02% potassium sulfate"],
     "Distobuccal < Mesiobuccal < Palatal"),
    ("en", "Is amoxapine an atypical antipsychotic?", ["yes", "no", "maybe"], ""),
    # a French question that is a species name; drug lists with brand names
    ("fr", "Cryptococcus neoformans :", ["Est une levure capsulée", "Se transmet par voie respiratoire",
                                        "Est sensible au fluconazole", "Donne une méningite chez l'immunodéprimé"], ""),
    ("fr", "Parmi les médicaments suivants, lesquels sont des antimétabolites ?",
     ["La cytarabine (ARACYTINE®)", "Le cisplatine (CISPLATYL®)", "Le busulfan (MISULBAN®)",
      "La procarbazine (NATULAN®)", "Le méthotrexate (METHOTREXATE®)"], ""),
])
def test_genuine_items_with_latin_terms_are_kept(lid_step, lang, question, options, explanation):
    assert reasons(lid_step, [mcq(lang, question, options, explanation)]) == [None]


@pytest.mark.parametrize("lang, question, options, expected", [
    ("ja", "A 60-year-old man presented with numbness of his fingers and toes. He drinks alcohol every day and eats "
           "little. Which vitamin deficiency is the most likely cause?",
     ["Vitamin A", "Vitamin B1", "Vitamin B6", "Vitamin C"], "question: looks like en"),
    ("ja", "一名45岁男性因发热和干咳五天来门诊就诊，体温升高并伴有乏力。最适合的初始治疗是什么？",
     ["口服抗生素一周", "收入医院观察"], "question: looks like zh"),   # Chinese throughout: no kana anywhere
    ("zh", "A 45-year-old man has had fever and a dry cough for five days. What is the best initial treatment?",
     ["口服抗生素一周", "收入医院观察", "多喝水并休息", "检查尿液"], "question: looks like en"),
    ("zh", "45歳の男性が5日前からの発熱と乾いた咳のために受診した。最も適切な初期治療はどれか。",
     ["口服抗生素一周", "收入医院观察"], "Hans script"),
    ("ru", "A 45-year-old man has had fever and a dry cough for five days. What is the best initial treatment?",
     ["yes", "no"], "question: looks like en"),
    ("fr", "A 45-year-old man has had fever and a dry cough for five days. What is the best initial treatment?",
     ["Antibiotiques par voie orale pendant une semaine", "Hospitalisation pour surveillance"], "looks like en"),
])
def test_wrong_language_rows_are_still_removed(lid_step, lang, question, options, expected):
    (reason,) = reasons(lid_step, [mcq(lang, question, options)])
    assert reason is not None and expected in reason


def test_options_are_judged_together_as_phrases_without_their_glosses(lid_step):
    batch = {"options": [["Le captopril (Lopril®)", "La prazosine (Minipress®)"],
                         ["Give oral antibiotics for one week", "Admit to hospital for observation"],
                         ["Sẹ́ẹ̀lì ẹ̀jẹ̀ funfun", "Sẹ́ẹ̀lì plasma", "Platelet"],
                         ["医師法 --------- 守秘義務", "刑法 --------- 応招義務"]]}
    (_, texts, needs), = field_texts(batch, ["options"], 3)
    assert texts[0] == "Le captopril  ; La prazosine  " and needs == [6, 6, 9, 6]
    checked = lid_step.identifier.judge(texts, ["fr", "en", "yo", "ja"], needs).native
    assert checked.tolist() == [False, True, False, False]  # term lists are not checked at all


def test_real_samples_keep_every_row(lid_step):
    from globmed.sources.base import get_source

    for name, expected in (("frenchmedmcqa", 18), ("pubmedqa", 7)):
        entries = [e for e in get_source(name).read(REAL / name) if isinstance(e, Entry)]
        assert len(entries) == expected
        assert [r for r in lid_step(entries_to_batch(entries)).reasons if r] == [], name


def _run_benchmark(*args: str) -> list[dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "real_data.py"), *args], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return [dict(field.split("=", 1) for field in line.split()) for line in proc.stdout.splitlines()]


def test_real_data_benchmark_counts_removals_and_reviewed_false_ones(tmp_path):
    rows = json.loads((REAL / "frenchmedmcqa" / "dev.json").read_text(encoding="utf-8"))
    wrong = {**rows[0], "id": "f" * 64, "question": "Which of the following drugs are used to treat deep fungal "
             "infections in patients with a weakened immune system?"}
    (tmp_path / "fmm").mkdir()
    (tmp_path / "fmm" / "dev.json").write_text(json.dumps(rows + [wrong], ensure_ascii=False), encoding="utf-8")
    review = tmp_path / "review.yaml"
    review.write_text(f'"frenchmedmcqa/fr/{"f" * 64}": {{verdict: genuine, note: "marked so for the test"}}\n',
                      encoding="utf-8")
    dump = tmp_path / "removed.jsonl"
    fmm, pubmed = _run_benchmark("--source", f"frenchmedmcqa={tmp_path / 'fmm'}", "--source",
                                 f"pubmedqa={REAL / 'pubmedqa'}", "--reviewed", str(review), "--dump", str(dump))
    assert fmm["source"] == "frenchmedmcqa" and fmm["rows"] == str(len(rows) + 1)
    assert fmm["language_id"] == "1" and fmm["lid_by_lang"] == f"fr:1/{len(rows) + 1}"
    assert (fmm["false_confirmed"], fmm["reviewed"], fmm["unreviewed"]) == ("1", "1", "0")
    assert pubmed["rows"] == "7" and pubmed["language_id"] == "0" and pubmed["kept"] == "7"
    (removed,) = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    assert removed["step"] == "language_id" and removed["question"] == wrong["question"]
    assert re.search(r"looks like en", removed["reason"]) and removed["review"] == "genuine"


@pytest.mark.parametrize("section, key", [("langid", "lid_min_words"), ("scripts", "Kana")])
def test_a_config_without_a_setting_the_rules_need_names_it(section, key):
    from globmed.errors import GlobmedError

    config = load_quality_config(workers=1)
    del config.data[section][key]
    with pytest.raises(GlobmedError, match=key):
        LanguageIdStep(config)
