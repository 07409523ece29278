"""Issue 3, part B: adapters for LiveQA, MedExpQA, ExpertQA, IgakuQA, CMExam, KorMedMCQA,
FrenchMedMCQA, RuMedBench and AfriMed-QA, read from fixtures written in each upstream format
(tests/fixtures/sources/<name>/, which is itself a valid ``--source <name>=PATH``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from globmed.errors import GlobmedError
from globmed.schema import Entry, validate_entry
from globmed.sources import Reject, get_source, licences
from globmed.sources.cmexam import parse_options
from globmed.sources.igakuqa import fill_template

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
PART_B = ("liveqa", "medexpqa", "expertqa", "igakuqa", "cmexam", "kormedmcqa", "frenchmedmcqa", "rumedbench",
          "afrimedqa")


def read(name: str, path: Path | None = None) -> tuple[dict[str, Entry], list[Reject]]:
    entries: dict[str, Entry] = {}
    rejects: list[Reject] = []
    for item in get_source(name).read(path or FIXTURES / name):
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            assert item.id not in entries, f"duplicate id {item.id}"
            entries[item.id] = item
    return entries, rejects


def reasons(rejects: list[Reject]) -> dict[tuple[str, str | None], str]:
    """(file name, row) -> reason."""
    return {(Path(r.file).name, r.row): r.reason for r in rejects}


@pytest.mark.parametrize("name", PART_B)
def test_every_entry_is_valid_and_carries_its_source_metadata(name):
    entries, rejects = read(name)
    assert entries and rejects, "each fixture has good rows and at least one bad row"
    src = get_source(name)
    for e in entries.values():
        assert validate_entry(e) == [], (e.id, validate_entry(e))
        subset_licences = {s.license for s in licences.subset_licences(name).values()}
        assert e.source == name and e.license in {src.info.license, *subset_licences} and e.lang in src.languages
        assert e.task in src.tasks and e.upstream_file and e.upstream_row
    for r in rejects:
        assert r.source == name and r.file and r.reason and r.step == "read"
    info = src.info
    assert info.citation.startswith("@") and info.homepage.startswith("https://") and info.version


def test_liveqa_reads_both_reference_answer_tags_and_keeps_splits():
    entries, rejects = read("liveqa")
    assert set(entries) == {"liveqa/en/Train-1/Q1", "liveqa/en/Train-2/1.0", "liveqa/en/Test-Questions-w-summaries/TQ1",
                            "liveqa/en/Test-Questions-w-summaries/TQ2"}  # the plain Test.xml duplicate is not read
    tq1 = entries["liveqa/en/Test-Questions-w-summaries/TQ1"]
    assert tq1.task == "open_qa" and tq1.upstream_split == "test" and tq1.options == []
    assert tq1.question == "Noonan syndrome\n\nWhat are the references with noonan syndrome and polycystic renal disease"
    assert tq1.answer == [  # one <RefAnswer>, one <ReferenceAnswer>; whitespace normalised
        "10% of patients with Noonan syndrome have renal abnormalities but most do not need treatment.",
        "Renal abnormalities, generally mild, are present in 11% of individuals with NS. Dilatation of the renal "
        "pelvis is most common."]
    assert tq1.answer_text == tq1.answer[0] and tq1.explanation == ""
    assert "FD&C yellow" in entries["liveqa/en/Test-Questions-w-summaries/TQ2"].answer[0]
    q1 = entries["liveqa/en/Train-1/Q1"]
    assert q1.upstream_split == "train" and len(q1.answer) == 3  # answers of both sub-questions
    assert q1.question.startswith('Can you please send me information on "hypothyroidism".')  # &amp;quot; unescaped
    assert "Hashimoto's thyroiditis" in q1.answer[2]
    assert entries["liveqa/en/Train-2/1.0"].question.startswith("Raynaud’s syndrome\n\nMy son’s middle toe")
    assert reasons(rejects) == {
        ("TREC-2017-LiveQA-Medical-Test-Questions-w-summaries.xml", "3"): "empty MESSAGE (no question text)",
        ("TREC-2017-LiveQA-Medical-Train-1.xml", "2"): "no non-empty reference answer",
    }


def test_liveqa_broken_xml_is_one_error_naming_file_and_position_not_a_crash(tmp_path):
    (tmp_path / "TREC-2017-LiveQA-Medical-Train-1.xml").write_text("<NLM-QUESTIONS><NLM-QUESTION>", encoding="utf-8")
    with pytest.raises(GlobmedError, match=r"Train-1\.xml: not well-formed XML: .*line 1, column 29"):
        list(get_source("liveqa").read(tmp_path))


def test_medexpqa_maps_1_based_options_and_shares_origin_across_languages():
    entries, rejects = read("medexpqa")
    en, es, it = (entries[f"medexpqa/{lang}/101"] for lang in ("en", "es", "it"))
    assert en.options == ["Left anterior descending", "Right coronary artery", "Left circumflex", "Left main"]
    assert en.answer == ["B"] and en.answer_text == "Right coronary artery"  # correct_option 2, "5": null dropped
    assert en.explanation == "Inferior ST elevation points to the right coronary artery (option 2)."  # full_answer
    assert es.answer == ["B"] and es.options[1] == "Coronaria derecha" and it.options[1] == "Coronaria destra"
    assert en.origin_id == es.origin_id == it.origin_id == "medexpqa/101"
    assert {e.upstream_split for e in (en, es, it)} == {"train"}
    five = entries["medexpqa/en/102"]
    assert len(five.options) == 5 and five.answer == ["C"]
    assert five.explanation == "Ethosuximide is first-line for absence seizures."  # falls back to explanations[...]
    fr = entries["medexpqa/fr/104"]
    assert fr.upstream_split == "validation" and fr.explanation == "" and fr.answer_text == "Thyroïdite de Hashimoto"
    got = reasons(rejects)
    assert got[("test.en.casimedicos.rag.jsonl", "1")] == "correct_option 7 is not an option number 1..4"
    assert got[("test.en.casimedicos.rag.jsonl", "2")].startswith("not valid JSON")


def test_expertqa_keeps_medicine_and_biology_with_revised_answers_as_references():
    entries, rejects = read("expertqa")
    by_q = {e.question: e for e in entries.values()}
    assert len(by_q) == 2  # the Business question is out of scope, silently skipped
    med = by_q["A 45-year-old patient on warfarin starts clarithromycin. What happens to the INR and why?"]
    assert med.answer == ["The INR rises because clarithromycin inhibits CYP3A4. Monitor the INR closely.",
                          "Clarithromycin inhibits warfarin metabolism, so the INR increases."]  # [n] gone, deduplicated
    assert med.upstream_split is None and med.task == "open_qa"
    bio = by_q["Why do CRISPR–Cas9 edits sometimes produce mosaic embryos?"]
    assert bio.answer == ["Editing can happen after the first cell division, so cells carry different alleles."]
    assert reasons(rejects) == {("r2_compiled_anon.jsonl", "4"): "no system has a revised_answer_string",
                                ("r2_compiled_anon.jsonl", "5"): "missing metadata.field"}


def test_igakuqa_maps_letters_numbers_and_rejects_either_voided_and_image_items():
    entries, rejects = read("igakuqa")
    assert set(entries) == {f"igakuqa/ja/{p}" for p in ("112A1", "112A12", "112A16", "112C66", "112C67")}
    a1 = entries["igakuqa/ja/112A1"]
    assert a1.answer == ["E"] and a1.answer_text == "オルニチントランスカルバミラーゼ欠損症" and a1.explanation == ""
    multi = entries["igakuqa/ja/112A12"]
    assert multi.answer == ["D", "E"] and multi.answer_text == "心室中隔穿孔; 乳頭筋断裂"
    assert entries["igakuqa/ja/112A16"].explanation == "DICにトラネキサム酸、ヘパリン禁忌"  # metadata reason
    assert entries["igakuqa/ja/112C66"].task == "open_qa" and entries["igakuqa/ja/112C66"].answer == ["26Torr"]
    assert entries["igakuqa/ja/112C67"].answer == ["0.4g/日"]  # "04" fills ①.②
    assert {e.upstream_split for e in entries.values()} == {"test"}
    got = reasons(rejects)
    assert got[("112-A.jsonl", "3")].startswith("needs an image")
    assert got[("112-A.jsonl", "5")] == "voided question: no official answer"
    assert got[("112-A.jsonl", "6")] == "answer ['f'] is not among the choices a..e"
    assert got[("112-B.jsonl", "1")].startswith("accepts either of several choices ('a or d')")
    assert got[("112-B.jsonl", "2")].startswith("not valid JSON")
    assert got[("112-C.jsonl", "3")] == "numeric answer '46' does not fit the 解答 template"
    assert len(rejects) == 6  # the _metadata and _translate files are not read as questions


def test_igakuqa_fills_the_answer_template():
    assert fill_template("求めよ。解答：①.②③", "7.20") == "7.20"
    assert fill_template("求めよ。解答：1, ①②③ kcal", "130") == "1, 130 kcal"
    assert fill_template("求めよ。解答：①②％", "270") is None


def test_cmexam_splits_the_options_cell_and_multi_letter_answers():
    entries, rejects = read("cmexam")
    one = entries["cmexam/zh/train-2"]
    assert one.question == "哪个器官分泌胰岛素？" and one.options == ["肝", "胰腺", "脾", "肾", "胃"]
    assert one.answer == ["B"] and one.answer_text == "胰腺" and one.explanation == "胰岛β细胞位于胰腺，分泌胰岛素。"
    multi = entries["cmexam/zh/train-3"]
    assert multi.answer == ["A", "C", "D"] and multi.explanation == "" and multi.upstream_split == "train"
    assert entries["cmexam/zh/val-2"].upstream_split == "validation" and len(entries["cmexam/zh/val-2"].options) == 4
    assert entries["cmexam/zh/test-3"].upstream_split == "test"
    got = reasons(rejects)
    assert got[("train.csv", "4")] == "empty Answer (no official answer)"
    assert got[("val.csv", "3")].startswith("Options is not 'A text' lines")
    assert got[("test_with_annotations.csv", "2")] == "Answer 'F' is not letters among A, B, C, D, E"
    assert parse_options("A 肝\nB 胰腺\n（续）\nC 脾") == ["肝", "胰腺 （续）", "脾"]
    assert parse_options("B 肝\nA 胰腺") is None


def test_kormedmcqa_answer_is_1_based_and_subsets_and_splits_are_kept():
    entries, rejects = read("kormedmcqa")
    q = entries["kormedmcqa/ko/doctor-2012-1-1"]
    assert q.answer == ["B"] and q.answer_text == "췌장" and q.upstream_split == "train"  # answer 2 -> B
    assert entries["kormedmcqa/ko/doctor-2012-1-2"].answer_text == "비타민 C"
    assert entries["kormedmcqa/ko/nurse-2022-1-11"].upstream_split == "validation"  # dev
    assert entries["kormedmcqa/ko/pharm-2023-2-4"].upstream_split == "test"
    assert entries["kormedmcqa/ko/dentist-2021-1-1"].answer_text == "제1대구치"
    assert not any("2022-1-5" in i for i in entries)  # the fewshot split (copies of dev) is not read
    assert {r.reason for r in rejects} == {"answer 0 is outside 1..5 (1 = A)", "answer 6 is outside 1..5 (1 = A)"}


def test_frenchmedmcqa_keeps_all_correct_answers():
    entries, rejects = read("frenchmedmcqa")
    by_q = {e.question: e for e in entries.values()}
    hep = by_q["Parmi les propositions suivantes concernant l'héparine, lesquelles sont exactes?"]
    assert hep.options[:2] == ["Elle potentialise l'antithrombine", "Elle se donne per os"]  # keys a,c,d,e,b sorted
    assert hep.answer == ["A", "C", "D"] and hep.upstream_split == "train"
    beta = by_q["Parmi ces antibiotiques, lesquels sont des bêta-lactamines?"]
    assert beta.answer == ["A", "C", "D", "E"] and beta.upstream_split == "test"
    assert by_q["L'adrénaline stimule tous ces processus métaboliques sauf un. Lequel?"].answer_text == "Cétogénèse"
    got = reasons(rejects)
    assert got == {("train.json", "3"): "correct_answers is empty or not a list",
                   ("dev.json", "2"): "correct_answers ['f'] are not letters among a..e",
                   ("test.json", "2"): "nbr_correct_answers is 3 but correct_answers has 2"}


def test_rumedbench_maps_da_net_nli_and_rejects_unlabelled_rows():
    entries, rejects = read("rumedbench")
    yes = entries["rumedbench/ru/RuMedDaNet/b2d69800b0a141aa63bd1104c6d53488"]
    assert yes.task == "yes_no_maybe" and yes.options == ["yes", "no"] and yes.answer == ["yes"]
    assert yes.context.startswith("Эпилепсия") and yes.upstream_split == "train"
    assert entries["rumedbench/ru/RuMedDaNet/0c1f2a3b4c5d6e7f8091a2b3c4d5e6f7"].answer == ["no"]
    assert entries["rumedbench/ru/RuMedDaNet/1b6019e574f3767872a97386743eacd3"].upstream_split == "validation"
    nli = entries["rumedbench/ru/RuMedNLI/1892c578-66c7-11e7-97cf-f45c89b91419"]
    assert nli.task == "nli" and nli.answer == ["contradiction"] and nli.context == "В анамнезе нет тромбозов или ТГВ."
    assert nli.question == "Перенес несколько эпизодов ТЭЛА" and nli.upstream_split == "test"
    mcq = entries["rumedbench/ru/RuMedTest/0a1b2c3d4e5f60718293a4b5c6d7e8f9"]
    assert mcq.answer == ["B"] and mcq.answer_text == "адреналин"  # answer "2" is 1-based
    assert not any("RuMedTop3" in i for i in entries)
    got = sorted(r.reason for r in rejects)
    assert got[0] == "answer 'может быть' is not да/нет"
    assert got.count("no label (private test set)") == 1
    assert "no label (private test set: RuMedTest labels are withheld)" in got
    assert any(r.startswith("not valid JSON") for r in got) and len(got) == 4
    # withheld labels of the private test files are expected (not a --strict failure); nothing else is
    assert {r.reason for r in rejects if r.expected} == {"no label (private test set)",
                                                         "no label (private test set: RuMedTest labels are withheld)"}
    assert all("private" in r.file for r in rejects if r.expected)


def test_rumedbench_train_row_without_label_is_malformed_not_withheld(tmp_path):
    from conftest import write_jsonl

    write_jsonl(tmp_path / "RuMedDaNet" / "train_v1.jsonl",
                [{"pairID": "p1", "context": "Контекст.", "question": "Вопрос?"}])
    entries, rejects = read("rumedbench", tmp_path)
    assert not entries and [(r.reason, r.expected) for r in rejects] == [("no label in a train file", False)]


def test_afrimedqa_parses_json_options_and_comma_multi_answers():
    entries, rejects = read("afrimedqa")
    by_sid = {e.id.rsplit("/", 1)[1]: e for e in entries.values()}
    first = by_sid["037e5515c0a07c59245953bc993a6d7d8f2071b8051cc9fb84007cde8f2fed3e"]
    assert first.question == "Which of the following is NOT a differential diagnosis for right iliac fossa pain?"
    assert first.options[2] == "Chron’s disease" and first.answer == ["E"] and first.upstream_split == "test"
    multi = by_sid["1f2756560b3598b55582e5b66775b17468ba56eabc43c5879720eb252e3ac85a"]
    assert multi.answer == ["A", "C", "D", "E"] and multi.explanation.startswith("Cimetidine")
    na = by_sid["cbf7fa2245676184ba59827ff1c6d9aaa0f025f6a3d16806c7f09a7a99aa33bd"]
    assert na.options == ["analgesia", "IV antibiotics", "Calcium supplements", "Vitamin C"]  # "n/a" slot dropped
    assert na.answer == ["B"] and na.explanation == ""  # rationale "N:A" is empty
    tf = by_sid["aa00000000000000000000000000000000000000000000000000000000000001"]
    assert tf.options == ["True", "False"] and tf.answer == ["A"]
    saq = by_sid["aa00000000000000000000000000000000000000000000000000000000000004"]
    assert saq.task == "open_qa" and saq.answer[0].startswith("Stabilise with F-75")
    cq = by_sid["aa00000000000000000000000000000000000000000000000000000000000005"]
    assert cq.question == ("Your friend felt feverish and lightheaded and feels she has Malaria. What questions should "
                           "she ask her doctor?\n\nHow many days should I wait before seeing the doctor?")
    got = reasons(rejects)
    assert got[("afri_med_qa_sample_v2.csv", "6")].startswith("answer_options is not JSON")
    assert got[("afri_med_qa_sample_v2.csv", "7")] == "correct_answer 'option4' is an empty/n/a option slot"
    assert got[("afri_med_qa_sample_v2.csv", "10")] == "saq item without an answer_rationale (no reference answer)"
    assert got[("afri_med_qa_sample_v2.csv", "11")].startswith("unknown question_type 'essay'")


@pytest.mark.parametrize("name", PART_B)
def test_without_a_path_offline_the_error_names_the_path_to_pass(name, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(GlobmedError) as err:
        list(get_source(name).read(None))
    assert f"--source {name}=PATH" in str(err.value)


def test_licences_mark_non_commercial_and_unlicensed_sources_not_redistributable():
    redistributable = {n: get_source(n).info.redistributable for n in PART_B}
    assert redistributable == {"liveqa": False, "medexpqa": True, "expertqa": True, "igakuqa": False, "cmexam": False,
                               "kormedmcqa": False, "frenchmedmcqa": True, "rumedbench": True, "afrimedqa": False}
    # RuMedBench: the repository is Apache-2.0, but its RuMedNLI subset (from MedNLI) is not redistributable
    assert get_source("rumedbench").info.license == "apache-2.0"
    assert {n: (s.license, s.redistributable) for n, s in licences.subset_licences("rumedbench").items()} == {
        "RuMedNLI": ("other", False)}
    assert get_source("kormedmcqa").info.license == "cc-by-nc-2.0"
    assert get_source("afrimedqa").info.license == "cc-by-nc-sa-4.0"


def test_italian_is_registered_for_medexpqa_but_not_in_the_paper_profile():
    from globmed.languages import get_language, profile
    from globmed.prompts import prompt_tables

    assert get_language("it").tier == "high" and "it" in profile("extended") and "it" not in profile("paper")
    assert prompt_tables()["it"]["labels"]["answer"] == "Risposta"


def test_rumednli_physionet_files_replace_the_repository_copies(tmp_path):
    import json
    import shutil

    shutil.copytree(FIXTURES / "rumedbench", tmp_path / "data")
    row = {"pairID": "p1", "sentence1": "BP 120/80.", "ru_sentence1": "АД 120/80.", "sentence2": "Normotensive.",
           "ru_sentence2": "Нормотония.", "gold_label": "entailment"}
    (tmp_path / "data" / "raw").mkdir()
    (tmp_path / "data" / "raw" / "ru_mli_train_v1.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n",
                                                                    encoding="utf-8")
    items = list(get_source("rumedbench").read(tmp_path / "data"))
    nli = [i for i in items if isinstance(i, Entry) and i.task == "nli"]
    assert [(e.id, e.upstream_split, e.answer, e.context) for e in nli] == [
        ("rumedbench/ru/RuMedNLI/p1", "train", ["entailment"], "АД 120/80.")]


def test_cmexam_accepts_the_chinese_column_names_of_the_authors_scripts(tmp_path):
    (tmp_path / "test.csv").write_text('题目,选项,答案,答案解析\n下列哪项正确,"A 甲\nB 乙\nC 丙",BC,因为\n', encoding="utf-8")
    (entry,) = get_source("cmexam").read(tmp_path)
    assert (entry.options, entry.answer, entry.explanation, entry.upstream_split) == (["甲", "乙", "丙"], ["B", "C"],
                                                                                     "因为", "test")


def test_kormedmcqa_ignores_the_older_data_copy_when_subset_folders_exist(tmp_path):
    import shutil

    shutil.copytree(FIXTURES / "kormedmcqa", tmp_path / "repo")
    (tmp_path / "repo" / "data").mkdir()
    shutil.copy(FIXTURES / "kormedmcqa" / "doctor" / "train-00000-of-00001.parquet",
                tmp_path / "repo" / "data" / "doctor_train.parquet")
    ids = [i.id for i in get_source("kormedmcqa").read(tmp_path / "repo") if isinstance(i, Entry)]
    assert len(ids) == len(set(ids)) == 6


def test_expertqa_reads_one_compiled_file_per_folder(tmp_path):
    import shutil

    shutil.copy(FIXTURES / "expertqa" / "r2_compiled_anon.jsonl", tmp_path / "r2_compiled_anon.jsonl")
    shutil.copy(FIXTURES / "expertqa" / "r2_compiled_anon.jsonl",
                tmp_path / "r2_compiled_out_corrected_revised_atomic_w_evidences_factscores_anon.jsonl")
    ids = [i.id for i in get_source("expertqa").read(tmp_path) if isinstance(i, Entry)]
    assert len(ids) == len(set(ids)) == 2
