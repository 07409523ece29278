"""Issue 13 (points 3 and 4): bad upstream input ends in one line naming the file (and row), or in a
reject with a reason; never in a traceback, never in a silent success.

The table runs every registered source x {invalid UTF-8, cut short, emptied, wrong type, missing
column/key, 1 MB field} on a copy of its fixture, through ``globmed build`` in this process."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO
from malformed import CASES, HUGE, Spec, build, copy_fixture, error_line

from globmed.bench.results import ResultStore, load_results
from globmed.errors import GlobmedError
from globmed.sources.base import available_sources

FIXTURES = REPO / "tests" / "fixtures" / "sources"
DEMO = REPO / "globmed" / "sources" / "demo_data"

SPECS: dict[str, Spec] = {
    "afrimedqa": Spec("afri_med_qa_sample_v2.csv", "question_clean",
                      ("answer_options", r"answer_options must be a JSON object, got list"),
                      ("correct_answer", r"missing column\(s\) correct_answer")),
    "bionli": Spec("train.csv", "conclusion", ("label_cat", r"unknown label_cat"),
                   ("conclusion", r"missing column conclusion")),
    "cmexam": Spec("train.csv", "Question", ("Answer", r"Answer .* is not letters"), ("Answer", r"missing column")),
    "demo": Spec("en.jsonl", "question", ("question", r"question must be a string, got list"),
                 ("answer_idx", r"missing answer_idx")),
    "expertqa": Spec("r2_compiled_anon.jsonl", "question", ("question", r"empty question|must be"),
                     ("answers", r"answers must be")),
    "frenchmedmcqa": Spec("train.json", "question", ("question", r"question must be text, got list"),
                          ("correct_answers", r"correct_answers is empty or not a list")),
    "globmed_hub": Spec("GlobMed_MedMCQA/sw/train.json", "question", ("question", r"question must be text, got list"),
                        ("cop", r"no answer: cop is None")),
    "headqa": Spec("HEAD/train_HEAD.json", "qtext", ("qtext", r"qtext must be text, got list"),
                   ("ra", r"ra must be numbers"), fmt="headqa"),
    "igakuqa": Spec("data/2018/112-A.jsonl", "problem_text", ("problem_text", r"problem_text must be text, got list"),
                    ("answer", r"answer must be a list of strings")),
    "kormedmcqa": Spec("doctor/train-00000-of-00001.parquet", "question", ("question", r"must be|got list"),
                       ("answer", r"answer|missing")),
    "liveqa": Spec("TrainingDatasets/TREC-2017-LiveQA-Medical-Train-1.xml", "MESSAGE", None,
                   ("ANSWER", r"no non-empty reference answer")),
    "medexpqa": Spec("data/en/train.en.casimedicos.rag.jsonl", "full_question",
                     ("full_question", r"full_question must be text, got list"),
                     ("correct_option", r"correct_option None is not an option number")),
    "medmcqa": Spec("train.json", "question", ("question", r"question must be text, got list"),
                    ("cop", r"no answer: cop is None in a train file"), fmt="jsonl"),
    "medqa": Spec("data_clean/questions/US/train.jsonl", "question", ("question", r"must be text, got list"),
                  ("answer_idx", r"answer")),
    "mmlu_pro_health": Spec("data/test-00000-of-00001.parquet", "question",
                            ("question", r"question must be text, got list"), ("answer", r"missing column answer")),
    "pubmedqa": Spec("ori_pqal.json", "QUESTION", ("QUESTION", r"QUESTION must be text, got list"),
                     ("final_decision", r"final_decision None is not yes")),
    "rumedbench": Spec("RuMedDaNet/train_v1.jsonl", "question", ("question", r"must be|question"),
                       ("answer", r"answer|no label")),
}

NOT_APPLICABLE = {("liveqa", "wrong_types"): "XML carries text only: no value can have the wrong type"}
KNOWN_GAPS: dict[tuple[str, str], str] = {}
"""(source, case) -> why another adapter's owner must fix it (the table marks it xfail, strict)."""


def test_the_table_covers_every_registered_source():
    assert sorted(SPECS) == sorted(available_sources())


def _table():
    for name in sorted(SPECS):
        for case in CASES:
            marks = []
            if (name, case) in NOT_APPLICABLE:
                marks.append(pytest.mark.skip(reason=NOT_APPLICABLE[name, case]))
            elif (name, case) in KNOWN_GAPS:
                marks.append(pytest.mark.xfail(reason=KNOWN_GAPS[name, case], strict=True))
            yield pytest.param(name, case, marks=marks, id=f"{name}-{case}")


_BASELINE: dict[str, set[tuple[str, str | None, str]]] = {}


def _baseline(name: str, tmp_path: Path, capsys) -> set[tuple[str, str | None, str]]:
    """The rejects of the unbroken fixture (file name, row, reason): a broken file must add one."""
    if name not in _BASELINE:
        root = copy_fixture(DEMO if name == "demo" else FIXTURES / name, tmp_path / "baseline")
        outcome = build(name, root, tmp_path / "baseline-out", capsys)
        assert outcome.rc == 0, outcome.stderr
        _BASELINE[name] = {(Path(r["file"]).name, r["row"], r["reason"]) for r in outcome.rejects}
    return _BASELINE[name]


@pytest.mark.parametrize(("name", "case"), list(_table()))
def test_bad_input_is_one_line_error_or_a_reject(name, case, tmp_path, capsys):
    spec = SPECS[name]
    baseline = _baseline(name, tmp_path, capsys)
    root = copy_fixture(DEMO if name == "demo" else FIXTURES / name, tmp_path / "src")
    file = root / spec.file
    breaker, pattern = CASES[case]
    if case == "wrong_types":
        pattern = spec.wrong[1]
    elif case == "missing_column":
        pattern = spec.missing[1]
    breaker(file, spec)

    outcome = build(name, root, tmp_path / "out", capsys)

    if outcome.rc != 0:
        line = error_line(outcome)
        assert file.name in line or str(root) in line, line  # names the file (or the source's folder)
        assert re.search(pattern, line), line
        assert not (tmp_path / "out").exists()  # nothing half-written
    else:
        assert "Traceback" not in outcome.stderr
        new = [r for r in outcome.rejects
               if Path(r["file"]).name == file.name and (file.name, r["row"], r["reason"]) not in baseline]
        assert any(re.search(pattern, r["reason"]) for r in new), (pattern, new)


# --------------------------------------------------------------------------- the cases, one by one

def _write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _medmcqa_row(i: int, **kw) -> dict:
    row = {"id": f"id-{i}", "question": f"Which drug number {i} is given here?", "opa": "Aspirin", "opb": "Heparin",
           "opc": "Warfarin", "opd": "Insulin", "cop": 2, "exp": "Because.", "choice_type": "single"}
    row.update(kw)
    return row


def test_medmcqa_invalid_utf8_line_is_a_reject_naming_the_line(tmp_path, capsys):
    folder = tmp_path / "medmcqa"
    _write_jsonl(folder / "train.json", [_medmcqa_row(1), _medmcqa_row(2)])
    bad_line = json.dumps(_medmcqa_row(3)).encode().replace(b"drug", b"dr\xffug") + b"\n"
    with open(folder / "train.json", "ab") as fh:
        fh.write(bad_line)
    outcome = build("medmcqa", folder, tmp_path / "out", capsys)
    assert outcome.rc == 0, outcome.stderr
    byte = bad_line.index(b"\xff") + 1
    assert [(r["row"], r["reason"]) for r in outcome.rejects] == [("3", f"not valid UTF-8 (byte {byte} of the line)")]

    strict = build("medmcqa", folder, tmp_path / "out2", capsys, "--strict")
    assert strict.rc == 2 and "train.json, row 3: not valid UTF-8" in error_line(strict)


def test_medmcqa_question_that_is_a_list_is_rejected_not_published_as_its_repr(tmp_path, capsys):
    folder = tmp_path / "medmcqa"
    _write_jsonl(folder / "train.json", [_medmcqa_row(1), _medmcqa_row(2, question=["a", "list"])])
    outcome = build("medmcqa", folder, tmp_path / "out", capsys)
    assert outcome.rc == 0
    assert [(r["row"], r["reason"]) for r in outcome.rejects] == [
        ("2", "question must be text, got list ['a', 'list']")]
    import pyarrow.parquet as pq

    questions = pq.read_table(next((tmp_path / "out" / "data" / "en").glob("*.parquet"))).column("question")
    assert "['a', 'list']" not in questions.to_pylist()


def test_medmcqa_cop_null_in_train_is_no_answer_and_withheld_test_answers_are_expected(tmp_path, capsys):
    folder = tmp_path / "medmcqa"
    _write_jsonl(folder / "train.json", [_medmcqa_row(1), _medmcqa_row(2, cop=None)])
    _write_jsonl(folder / "test.json", [_medmcqa_row(3, cop=None), {k: v for k, v in _medmcqa_row(4).items()
                                                                    if k != "cop"}])
    outcome = build("medmcqa", folder, tmp_path / "out", capsys)
    assert outcome.rc == 0
    by_row = {(Path(r["file"]).name, r["row"]): r for r in outcome.rejects}
    assert by_row["train.json", "2"]["reason"] == "no answer: cop is None in a train file"
    assert by_row["train.json", "2"]["expected"] is False
    for row in ("1", "2"):
        assert by_row["test.json", row]["expected"] is True
        assert "withholds its answers" in by_row["test.json", row]["reason"]
    report = json.loads((tmp_path / "out" / "build_report.json").read_text())
    assert report["rejects"]["total"] == 3 and report["rejects"]["expected"] == 2
    assert "rejected rows: 3, 2 of them expected (documented upstream gaps)" in outcome.stdout

    # --strict fails on the malformed train row, and passes once only the documented gap is left
    strict = build("medmcqa", folder, tmp_path / "out2", capsys, "--strict")
    assert strict.rc == 2 and "train.json, row 2: no answer" in error_line(strict)
    _write_jsonl(folder / "train.json", [_medmcqa_row(1)])
    strict = build("medmcqa", folder, tmp_path / "out3", capsys, "--strict")
    assert strict.rc == 0, strict.stderr
    assert [r["expected"] for r in strict.rejects] == [True, True]


def test_medmcqa_file_that_names_no_split_is_a_file_level_reject(tmp_path, capsys):
    folder = tmp_path / "medmcqa"
    _write_jsonl(folder / "train.json", [_medmcqa_row(1)])
    _write_jsonl(folder / "extra_questions.json", [_medmcqa_row(2), _medmcqa_row(3)])
    outcome = build("medmcqa", folder, tmp_path / "out", capsys)
    assert outcome.rc == 0
    assert [(Path(r["file"]).name, r["row"]) for r in outcome.rejects] == [("extra_questions.json", None)]
    assert "names no split" in outcome.rejects[0]["reason"]


def test_truncated_frenchmedmcqa_file_is_one_error_with_line_and_column(tmp_path, capsys):
    folder = copy_fixture(FIXTURES / "frenchmedmcqa", tmp_path / "fr")
    data = (folder / "train.json").read_text(encoding="utf-8")
    (folder / "train.json").write_text(data[: len(data) // 2], encoding="utf-8")
    outcome = build("frenchmedmcqa", folder, tmp_path / "out", capsys)
    line = error_line(outcome)
    assert outcome.rc == 2
    assert re.search(r"train\.json, line \d+ column \d+: not valid JSON: .*\(the file ends early: cut short\?\)",
                     line), line


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize(("name", "file", "content"), [
    ("afrimedqa", "afri_med_qa_sample_v2.csv", ""),
    ("afrimedqa", "afri_med_qa_sample_v2.csv", "sample_id,question_type,question,answer_options,correct_answer,"
                                                "answer_rationale\n"),
    ("pubmedqa", "ori_pqal.json", ""),
    ("pubmedqa", "ori_pqal.json", "{}"),
], ids=["afrimedqa-empty", "afrimedqa-header-only", "pubmedqa-empty", "pubmedqa-no-items"])
def test_a_source_without_rows_is_an_error_with_or_without_strict(name, file, content, strict, tmp_path, capsys):
    folder = tmp_path / name
    folder.mkdir()
    (folder / file).write_text(content, encoding="utf-8")
    outcome = build(name, folder, tmp_path / "out", capsys, *(["--strict"] if strict else []))
    line = error_line(outcome)
    assert outcome.rc == 2 and file in line or str(folder) in line, line
    assert re.search(r"empty file|no rows", line), line


def test_csv_missing_its_answer_column_is_one_error_not_a_reject_per_row(tmp_path, capsys):
    folder = copy_fixture(FIXTURES / "afrimedqa", tmp_path / "afri")
    csv_file = folder / "afri_med_qa_sample_v2.csv"
    lines = csv_file.read_text(encoding="utf-8").splitlines(keepends=True)
    csv_file.write_text(lines[0].replace(",correct_answer,", ",correct_answer_x,") + "".join(lines[1:]),
                        encoding="utf-8")
    outcome = build("afrimedqa", folder, tmp_path / "out", capsys)
    assert error_line(outcome) == (f"globmed build: error: {csv_file}: missing column(s) correct_answer "
                                   f"(the header has {lines[0].strip().replace(',correct_answer,', ',correct_answer_x,').replace(',', ', ')})")


def test_csv_cell_over_128_kib_is_read_then_rejected_by_the_size_limit(tmp_path, capsys):
    folder = tmp_path / "bionli"
    folder.mkdir()
    (folder / "train.csv").write_text(
        "index,supp_set,conclusion,label_cat\n"
        "1,Aspirin inhibits COX enzymes in platelets.,Aspirin inhibits platelet COX.,pos\n"
        f"2,{HUGE},Something else entirely.,pos\n", encoding="utf-8")
    outcome = build("bionli", folder, tmp_path / "out", capsys)
    assert outcome.rc == 0, outcome.stderr
    assert [(r["row"], r["step"], r["reason"]) for r in outcome.rejects] == [
        ("3", "field_limits", "context is 1,048,576 characters, over the limit of 100,000 (limits: in quality.yaml)")]
    strict = build("bionli", folder, tmp_path / "out2", capsys, "--strict")
    assert strict.rc == 2 and "train.csv, row 3: context is 1,048,576 characters" in error_line(strict)


def test_a_1_mb_question_is_not_published(tmp_path, capsys):
    folder = tmp_path / "medmcqa"
    _write_jsonl(folder / "train.json", [_medmcqa_row(1), _medmcqa_row(2, question=HUGE)])
    outcome = build("medmcqa", folder, tmp_path / "out", capsys)
    assert outcome.rc == 0
    assert [(r["row"], r["reason"]) for r in outcome.rejects] == [
        ("2", "question is 1,048,576 characters, over the limit of 20,000 (limits: in quality.yaml)")]
    report = json.loads((tmp_path / "out" / "build_report.json").read_text())
    assert report["counts"]["total"] == 1


def test_igakuqa_image_items_are_expected_rejects_that_strict_accepts(tmp_path, capsys):
    folder = tmp_path / "igakuqa" / "data" / "2018"
    good = {"problem_id": "112A1", "problem_text": "一番大きい臓器はどれか。", "choices": ["肝臓", "脳", "心臓", "腎臓", "脾臓"],
            "text_only": True, "answer": ["a"], "points": "1"}
    image = {**good, "problem_id": "112A2", "text_only": False}
    _write_jsonl(folder / "112-A.jsonl", [good, image])
    outcome = build("igakuqa", tmp_path / "igakuqa", tmp_path / "out", capsys, "--strict")
    assert outcome.rc == 0, outcome.stderr
    assert [(r["row"], r["expected"]) for r in outcome.rejects] == [("2", True)]


def test_bench_results_line_without_key_is_one_error_naming_file_and_line(tmp_path):
    path = tmp_path / "model.jsonl"
    path.write_text('{"key": "mcq|k0|a", "correct": true}\n{"correct": false}\n', encoding="utf-8")
    with pytest.raises(GlobmedError, match=re.escape(f"{path}, line 2: result record without a \"key\"")):
        ResultStore(path)
    with pytest.raises(GlobmedError, match=re.escape(f"{path}, line 2: result record without a \"key\"")):
        load_results([path])
    path.write_text('{"key": "mcq|k0|a"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(GlobmedError, match=re.escape(f"{path}, line 2: a result record must be a JSON object")):
        load_results([path])
    path.write_bytes(b'{"key": "mcq|k0|\xff"}\n')
    with pytest.raises(GlobmedError, match=re.escape(f"{path}, line 1: not valid UTF-8")):
        load_results([path])


def test_igakuqa_file_it_cannot_place_beside_the_questions_is_a_file_level_reject(tmp_path):
    from globmed.sources import Reject, get_source

    folder = copy_fixture(FIXTURES / "igakuqa", tmp_path / "igakuqa")
    stray = folder / "data" / "2018" / "112-A_gpt4.jsonl"
    stray.write_text('{"problem_id": "112A1", "prediction": "a"}\n', encoding="utf-8")
    (folder / "baseline_results" / "2018").mkdir(parents=True)  # the repository's model outputs: not read
    (folder / "baseline_results" / "2018" / "112-A_gpt4.jsonl").write_text("{}\n", encoding="utf-8")
    rejects = [r for r in get_source("igakuqa").read(folder) if isinstance(r, Reject) and r.row is None]
    assert [(Path(r.file).name, r.reason.split(" that")[0]) for r in rejects] == [
        ("112-A_gpt4.jsonl", "a .jsonl file beside the question files")]
    assert Path(rejects[0].file).parent.name == "2018" and "baseline_results" not in rejects[0].file


class _CopyToSwahili:
    """A translator stub: every English entry again as Swahili (enough for the build's bookkeeping)."""

    source_lang = "en"
    targets = ["sw"]

    def __call__(self, entries, skip_ids):
        from globmed.schema import Entry, Translation

        for e in entries:
            yield Entry.create(source=e.source, lang="sw", source_id=e.id.split("/")[-1], task=e.task,
                               question=e.question, options=e.options, answer=e.answer, license=e.license,
                               origin_id=e.origin_id, translation=Translation(system="stub", source_lang="en"))

    def summary(self):
        return {}


def test_a_source_read_only_to_be_translated_is_not_empty(tmp_path):
    from globmed.build import BuildOptions
    from globmed.build import build as run_build
    from globmed.sources.base import SourceSpec

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "en.jsonl").write_bytes((DEMO / "en.jsonl").read_bytes())
    report = run_build(BuildOptions(out=tmp_path / "out", sources=[SourceSpec("demo", tmp_path / "src")],
                                    profile=None, langs=["sw"], progress=False, workers=1,
                                    translate=_CopyToSwahili()))
    assert report["configs"] == ["sw"] and report["counts"]["total"] > 0
