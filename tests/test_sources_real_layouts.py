"""Issue 12, section 3: the adapters on the upstream repositories' real layouts (ExpertQA's
data/lfqa splits, CMExam's test_with_annotations.csv, KorMedMCQA's older data/<subset>-<split>.csv,
MedQA's one-file path), RuMedBench's licence per subset through a build and the release's licence
gate, and "a file the adapter cannot place is a file-level reject, never a silent skip".

The files are written here in the upstream formats (real file names, folders and field names)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli, write_jsonl

from globmed.dataset_release import gate_licences, read_report
from globmed.sources import Reject, get_source
from globmed.sources._placing import LFS_HEADER
from globmed.sources.cmexam import parse_options

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


def read(name: str, path: Path) -> tuple[dict, list[Reject]]:
    entries, rejects = {}, []
    for item in get_source(name).read(path):
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            assert item.id not in entries, item.id
            entries[item.id] = item
    return entries, rejects


def file_rejects(rejects: list[Reject]) -> dict[str, str]:
    """File name -> reason of the file-level rejects (row None)."""
    return {Path(r.file).name: r.reason for r in rejects if r.row is None}


def write_lfs_pointer(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(LFS_HEADER + b"v1\noid sha256:5e6afb04\nsize 298334581\n")


# ------------------------------------------------------------------------------ ExpertQA


def expertqa_row(question: str, field: str = "Healthcare / Medicine", revised: str = "Answer [1].") -> dict:
    """One r2-schema row as in data/lfqa/rand_val.jsonl: one system per row there."""
    return {"question": question, "annotator_id": "5db35c6c",
            "answers": {"rr_sphere_gpt4": {"answer_string": "draft [1]", "attribution": ["[1] https://example.org"],
                                           "claims": [], "revised_answer_string": revised, "usefulness": "Useful",
                                           "annotation_time": 1.0, "annotator_id": "5db35c6c"}},
            "metadata": {"question_type": "Summarization of information on a topic", "field": field,
                         "specific_field": "Paediatrics"}}


@pytest.fixture
def expertqa_data(tmp_path: Path) -> Path:
    """The repository's data/ folder as a clone without `git lfs pull` leaves it."""
    data = tmp_path / "data"
    q = [f"What is the impact of condition {i} on children?" for i in range(4)]
    write_jsonl(data / "lfqa" / "rand_train.jsonl", [expertqa_row(q[0]), expertqa_row(q[1], field="Law")])
    write_jsonl(data / "lfqa" / "rand_val.jsonl", [expertqa_row(q[2], revised="Val answer [2].")])
    write_jsonl(data / "lfqa" / "rand_test.jsonl", [expertqa_row(q[3], field="Biology")])
    # the domain split: the same questions partitioned differently
    write_jsonl(data / "lfqa" / "domain_train.jsonl", [expertqa_row(q[0]), expertqa_row(q[3], field="Biology")])
    write_jsonl(data / "lfqa" / "domain_val.jsonl", [expertqa_row(q[2])])
    (data / "lfqa" / "rand_lfqa_val.json").write_text(json.dumps(
        {"data": [{"example_id": 0, "context": "", "question": q[2], "answer": "Val answer ."}]}), encoding="utf-8")
    write_jsonl(data / "r1_data_anon.jsonl", [{"question": q[0], "annotator_id": "7", "answers": {},
                                              "metadata": {"field": "Healthcare / Medicine"}}])
    write_lfs_pointer(data / "r2_compiled_anon.jsonl")
    write_lfs_pointer(data / "r2_compiled_out_corrected_revised_atomic_w_evidences_factscores_anon.jsonl")
    return data


def test_expertqa_reads_the_rand_lfqa_splits_keeping_their_split(expertqa_data):
    entries, rejects = read("expertqa", expertqa_data)
    got = sorted((e.question[-24:], e.upstream_split, e.answer[0]) for e in entries.values())
    assert got == [("condition 0 on children?", "train", "Answer."),
                   ("condition 2 on children?", "validation", "Val answer."),
                   ("condition 3 on children?", "test", "Answer.")]  # Law is out of scope; domain_* not read
    assert rejects == []  # the unread pointers, the lfqa conversion and round 1 are known files


def test_expertqa_falls_back_to_domain_then_to_the_compiled_file(expertqa_data):
    for split in ("train", "val", "test"):
        (expertqa_data / "lfqa" / f"rand_{split}.jsonl").unlink()
    entries, rejects = read("expertqa", expertqa_data)
    assert sorted(e.upstream_split for e in entries.values()) == ["train", "train", "validation"]
    assert all("domain_" in e.upstream_file for e in entries.values()) and rejects == []
    shutil.rmtree(expertqa_data / "lfqa")
    entries, rejects = read("expertqa", expertqa_data)  # only LFS pointers are left: say so, per file
    assert entries == {}
    assert set(file_rejects(rejects)) == {"r2_compiled_anon.jsonl",
                                          "r2_compiled_out_corrected_revised_atomic_w_evidences_factscores_anon.jsonl"}
    assert all("Git LFS pointer" in r.reason for r in rejects) and len(rejects) == 2
    write_jsonl(expertqa_data / "r2_compiled_anon.jsonl", [expertqa_row("Why?")])
    entries, rejects = read("expertqa", expertqa_data)
    assert [e.upstream_split for e in entries.values()] == [None] and rejects == []


def test_expertqa_rejects_an_unknown_file_and_a_pointer_it_should_have_read(expertqa_data):
    write_jsonl(expertqa_data / "lfqa" / "notes.jsonl", [{"x": 1}])
    (expertqa_data / "lfqa" / "rand_train.jsonl").unlink()
    write_lfs_pointer(expertqa_data / "lfqa" / "rand_train.jsonl")
    entries, rejects = read("expertqa", expertqa_data)
    assert file_rejects(rejects) == {
        "notes.jsonl": "not an ExpertQA file: expected rand_/domain_{train,val,test}.jsonl or r2_compiled*.jsonl",
        "rand_train.jsonl": "a Git LFS pointer, not the data: run `git lfs pull` in the repository (or download "
                            "the file)"}
    assert sorted(e.upstream_split for e in entries.values()) == ["test", "validation"]


# ------------------------------------------------------------------------------ MedQA


def test_medqa_one_jsonl_outside_a_region_folder_is_a_file_reject_not_nothing(tmp_path):
    one = tmp_path / "test.jsonl"
    shutil.copy(FIXTURES / "medqa/data_clean/questions/US/test.jsonl", one)
    entries, rejects = read("medqa", one)
    assert entries == {} and len(rejects) == 1 and rejects[0].row is None and rejects[0].file == str(one)
    assert "not under a US/ or Mainland/ folder" in rejects[0].reason


def test_medqa_rejects_a_file_naming_no_split_and_reads_the_mainland_4_options_without_metamap(tmp_path):
    questions = tmp_path / "data_clean" / "questions"
    row = {"question": "乙型肝炎病毒的主要传播途径不包括", "options": {"A": "血液", "B": "母婴", "C": "性接触",
                                                           "D": "粪-口传播"}, "answer": "粪-口传播",
           "answer_idx": "D", "meta_info": "卫生法规"}  # Mainland 4_options rows carry no metamap_phrases
    write_jsonl(questions / "Mainland" / "4_options" / "train.jsonl", [row])
    write_jsonl(questions / "Mainland" / "chinese_qbank.jsonl", [row])
    write_jsonl(questions / "US" / "extra_questions.jsonl", [row])
    entries, rejects = read("medqa", tmp_path / "data_clean")
    assert list(entries) == ["medqa/zh/mainland/train/1"] and entries["medqa/zh/mainland/train/1"].answer == ["D"]
    assert file_rejects(rejects) == {
        "extra_questions.jsonl": "the file name names no split (train, dev, test) and it is not a *qbank* file"}


# ------------------------------------------------------------------------------ CMExam


CMEXAM_HEADER = ("Question,Options,Answer,Explanation,Disease Group,Area of Competency,Clinical Department,"
                 "Medical Discipline,Difficulty level\n")


def test_cmexam_reads_the_repository_test_file_and_options_with_a_literal_backslash_n(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "cmexam", data)
    (data / "derived.csv").write_text(CMEXAM_HEADER + "x,A 甲,A,,,,,,\n", encoding="utf-8")
    entries, rejects = read("cmexam", data)
    assert entries["cmexam/zh/test-3"].upstream_split == "test"
    assert entries["cmexam/zh/test-3"].upstream_file.endswith("test_with_annotations.csv")
    assert file_rejects(rejects) == {
        "derived.csv": "not a CMExam file: expected train.csv, val.csv or test_with_annotations.csv"}
    # a derived copy: every Options cell separated by the two characters backslash-n
    one = tmp_path / "copy" / "test.csv"
    one.parent.mkdir()
    one.write_text(CMEXAM_HEADER + "维生素C缺乏可引起,A 佝偻病\\nB 坏血病\\nC 夜盲症\\nD 脚气病\\nE 癞皮病,B,,"
                   "营养,医学基础知识,内科,临床医学,0.8\n", encoding="utf-8")
    (entry,) = get_source("cmexam").read(one.parent)
    assert entry.options == ["佝偻病", "坏血病", "夜盲症", "脚气病", "癞皮病"] and entry.answer_text == "坏血病"
    assert parse_options("A 肝\\nB 胰腺\nC 脾") == ["肝", "胰腺", "脾"]


def test_cmexam_two_test_files_read_once(tmp_path):
    shutil.copytree(FIXTURES / "cmexam", tmp_path / "data")
    shutil.copy(tmp_path / "data" / "test_with_annotations.csv", tmp_path / "data" / "test.csv")
    entries, _ = read("cmexam", tmp_path / "data")
    tests = [e for e in entries.values() if e.upstream_split == "test"]
    assert tests and all(e.upstream_file.endswith("test_with_annotations.csv") for e in tests)


# ------------------------------------------------------------------------------ KorMedMCQA


KOR_HEADER = "subject,year,period,q_number,question,A,B,C,D,E,answer,cot\n"


def test_kormedmcqa_reads_the_older_data_folder_named_subset_split(tmp_path):
    data = tmp_path / "KorMedMCQA" / "data"
    data.mkdir(parents=True)
    (data / "doctor-train.csv").write_text(KOR_HEADER + "doctor,2012,1,1,인슐린을 분비하는 기관은?,간,췌장,비장,신장,위,2,\n",
                                           encoding="utf-8")
    (data / "nurse-dev.csv").write_text(KOR_HEADER + "nurse,2022,1,11,정상 성인의 호흡수는?,5회,15회,30회,40회,50회,2,\n",
                                        encoding="utf-8")
    (data / "doctor-fewshot.csv").write_text(KOR_HEADER + "doctor,2012,1,9,복사본?,가,나,다,라,마,1,풀이\n",
                                             encoding="utf-8")
    (data / "doctor.csv").write_text(KOR_HEADER, encoding="utf-8")
    entries, rejects = read("kormedmcqa", tmp_path / "KorMedMCQA")
    assert {i: (e.upstream_split, e.answer_text) for i, e in entries.items()} == {
        "kormedmcqa/ko/doctor-2012-1-1": ("train", "췌장"), "kormedmcqa/ko/nurse-2022-1-11": ("validation", "15회")}
    assert file_rejects(rejects) == {"doctor.csv": "the file name names no split (train, dev, test)"}


# ------------------------------------------------------------------------------ RuMedBench


def test_rumedbench_rows_carry_their_subsets_licence_and_unplaced_files_are_rejected(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "rumedbench", data)
    write_jsonl(data / "RuMedNER" / "train_v1.jsonl", [{"idx": "1", "tokens": ["a"], "ner_tags": ["O"]}])
    write_jsonl(data / "RuMedFoo" / "train_v1.jsonl", [{"pairID": "x"}])
    write_jsonl(data / "RuMedDaNet" / "train_v1_old.jsonl", [{"pairID": "x"}])
    entries, rejects = read("rumedbench", data)
    licences = {(e.id.split("/")[2], e.license) for e in entries.values()}
    assert licences == {("RuMedDaNet", "apache-2.0"), ("RuMedNLI", "other"), ("RuMedTest", "apache-2.0")}
    assert file_rejects(rejects) == {
        "train_v1.jsonl": "not in a RuMedDaNet/, RuMedNLI/ or RuMedTest/ folder (found RuMedFoo/)",
        "train_v1_old.jsonl": "the name is not <split>_v<n>.jsonl (train, dev, test, private_test)"}


def rumedbench_build(tmp_path: Path, with_nli: bool) -> dict:
    data = tmp_path / ("with-nli" if with_nli else "no-nli") / "data"
    shutil.copytree(FIXTURES / "rumedbench", data)
    if not with_nli:
        shutil.rmtree(data / "RuMedNLI")
    write_jsonl(data / "RuMedTest" / "test_v1.jsonl", [  # RuMedTest rows with their answers (leaderboard files)
        {"idx": f"t{i}", "question": f"Препарат выбора номер {i}?", "1": "преднизолон", "2": "адреналин",
         "3": "супрастин", "4": "атропин", "answer": "2"} for i in range(3)])
    out = data.parent / "build"
    run_cli("build", "--langs", "ru", "--source", f"rumedbench={data}", "--out", str(out), "--no-progress",
            "--no-quality")
    return read_report(out)


def test_a_rumedbench_build_without_rumednli_passes_the_licence_gate(tmp_path):
    report = rumedbench_build(tmp_path, with_nli=False)
    (src,) = report["sources"]
    assert src["licenses"] == {"apache-2.0": src["entries"]} and src["entries"] > 3
    assert src["redistributable"] is True and gate_licences(report).ok


def test_a_rumedbench_build_with_rumednli_fails_the_licence_gate_naming_the_subset(tmp_path):
    report = rumedbench_build(tmp_path, with_nli=True)
    (src,) = report["sources"]
    assert src["licenses"]["other"] == 2 and src["licenses"]["apache-2.0"] > 3
    assert src["redistributable"] is False
    (problem,) = gate_licences(report).problems
    assert "2 entries of RuMedNLI (licence other)" in problem and "--allow-nonredistributable rumedbench" in problem
    assert gate_licences(report, allow=["rumedbench"]).ok


def _hub_build(tmp_path, repos):
    import shutil

    src = tmp_path / "hub"
    for repo in repos:
        shutil.copytree(FIXTURES / "globmed_hub" / repo, src / repo)
    out = tmp_path / "out"
    run_cli("build", "--source", f"globmed_hub={src}", "--langs", "en,sw,yo,zu", "--out", str(out),
            "--no-progress", "--no-quality")
    return read_report(out)


def test_hub_translations_keep_their_origins_redistributability(tmp_path):
    from globmed.sources.licences import licence_summary

    # MedMCQA (apache-2.0) and PubMedQA (MIT) translations, imported through the hub: redistributable
    report = _hub_build(tmp_path / "a", ["GlobMed_MedMCQA", "GlobMed_PubMedQA"])
    (src,) = report["sources"]
    assert src["redistributable"] is True and gate_licences(report).ok
    assert set(src["licenses"]) == {"apache-2.0", "mit"} and sum(src["licenses"].values()) == src["entries"]
    # a translation of a non-redistributable source (LiveQA; no hub repo maps to one today, the rule
    # must hold when one does) is not redistributable, whatever the hub repo's own licence says;
    # nor is one of a source nobody knows
    fine = licence_summary("globmed_hub", {}, {("medmcqa", "apache-2.0"): 5})
    assert fine["redistributable"] is True and fine["not_redistributable"] == []
    bad = licence_summary("globmed_hub", {}, {("medmcqa", "apache-2.0"): 5, ("liveqa", "other"): 3,
                                              ("no_such_source", "mit"): 1})
    assert bad["redistributable"] is False and bad["licenses"] == {"apache-2.0": 5, "other": 3, "mit": 1}
    assert [(p["entries"], p["subsets"]) for p in bad["not_redistributable"]] == [
        (3, ["translations of liveqa"]), (1, ["translations of no_such_source"])]
    report["sources"][0].update(bad)
    (problem,) = gate_licences(report).problems
    assert "3 entries of translations of liveqa (licence other)" in problem
    assert "--allow-nonredistributable globmed_hub" in problem
