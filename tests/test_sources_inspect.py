"""Issue 12, section 3: `globmed sources inspect NAME=PATH` shows a maintainer at once whether an
adapter's mapping fits the first real file; globmed_hub stops with an error naming the fields it saw
when the rows' layout is not the one it assumes, never a silent (or all-rejects) build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli, write_jsonl

from globmed.errors import GlobmedError
from globmed.sources import Reject, available_sources, get_source
from globmed.sources.inspection import inspect_source

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


def test_inspect_prints_raw_fields_mapping_and_unused_fields(tmp_path):
    questions = tmp_path / "data_clean" / "questions" / "US"
    write_jsonl(questions / "test.jsonl", [
        {"question": f"Which drug {i}?", "options": {"A": "Atropine", "B": "Adrenaline", "C": "Naloxone"},
         "answer": "Adrenaline", "answer_idx": "B", "meta_info": "step1", "reviewer": "x"} for i in range(5)])
    proc = run_cli("sources", "inspect", f"medqa={tmp_path}", "--rows", "2")
    out = proc.stdout
    assert out.count("\nentry ") == 2 and "entry 1: medqa/en/us/test/1" in out and "entry 3" not in out
    assert "raw fields found (8): question, options.A, options.B, options.C, answer, answer_idx, meta_info, reviewer" in out
    assert "question     Which drug 0?" in out and "options      Atropine | Adrenaline | Naloxone" in out
    assert "answer       ['B']" in out and "split        test" in out
    assert "fields not used: meta_info, reviewer" in out
    assert "fields not used in any of these rows: meta_info, reviewer" in out


def test_inspect_default_three_rows_and_cmexam_annotations_unused():
    out = run_cli("sources", "inspect", f"cmexam={FIXTURES / 'cmexam'}").stdout
    assert out.count("\nentry ") == 3
    unused = out.split("fields not used in any of these rows: ")[1].splitlines()[0].split(", ")
    assert {"Disease Group", "Area of Competency", "Clinical Department", "Medical Discipline",
            "Difficulty level"} <= set(unused) and "Options" not in unused and "Question" not in unused


def test_inspect_lists_files_it_cannot_place_and_fails_without_entries(tmp_path):
    shutil.copytree(FIXTURES / "kormedmcqa", tmp_path / "k")
    (tmp_path / "k" / "doctor" / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    out = run_cli("sources", "inspect", f"kormedmcqa={tmp_path / 'k'}", "--rows", "1").stdout
    assert "file not read: " in out and "notes.csv: the file name names no split" in out
    one = tmp_path / "test.jsonl"
    shutil.copy(FIXTURES / "medqa/data_clean/questions/US/test.jsonl", one)
    proc = run_cli("sources", "inspect", f"medqa={one}", check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "no entry in the first 1 items read" in proc.stderr and "not under a US/ or Mainland/ folder" in proc.stderr


def test_sources_help_documents_inspect_and_the_list_still_works():
    help_text = run_cli("sources", "--help").stdout
    assert "inspect" in help_text and "fields not used" in " ".join(help_text.split())
    assert "--rows N" in run_cli("sources", "inspect", "--help").stdout
    assert "rumedbench" in run_cli("sources").stdout
    bad = run_cli("sources", "inspect", "medqa=", check=False)
    assert bad.returncode == 2 and "expected NAME or NAME=PATH" in bad.stderr


# ------------------------------------------------------------------------------ globmed_hub layout


def hub_repo(tmp_path: Path, rows: list) -> Path:
    folder = tmp_path / "GlobMed_MedQA"
    (folder / "sw").mkdir(parents=True)
    (folder / "sw" / "train.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return folder


def test_globmed_hub_unknown_layout_is_an_error_naming_the_fields_seen(tmp_path):
    folder = hub_repo(tmp_path, [{"instruction": "Swali?", "input": "A. x B. y", "output": "A", "lang": "sw"}] * 3)
    with pytest.raises(GlobmedError) as err:
        list(get_source("globmed_hub").read(folder))
    msg = str(err.value)
    assert "train.json" in msg and "medqa row mapping" in msg and "none of the first 3 rows maps" in msg
    assert "fields seen: instruction, input, output, lang" in msg and "row 1: missing question" in msg
    assert f"globmed sources inspect globmed_hub={folder}`" in msg  # the command it names works on that path
    with pytest.raises(GlobmedError, match="is not a folder"):
        list(get_source("globmed_hub").read(folder / "sw" / "train.json"))
    proc = run_cli("sources", "inspect", f"globmed_hub={folder}", check=False)
    assert proc.returncode == 2 and "fields seen: instruction, input, output, lang" in proc.stderr


def test_globmed_hub_a_bad_first_row_before_good_ones_is_a_reject_not_an_error(tmp_path):
    good = {"question": "Upungufu wa vitamini gani husababisha kiseyeye?",
            "options": {"A": "A", "B": "B", "C": "Vitamini C", "D": "D"}, "answer": "Vitamini C", "answer_idx": "C"}
    folder = hub_repo(tmp_path, [{**good, "answer_idx": "F"}, good])
    items = list(get_source("globmed_hub").read(folder))
    assert [type(i).__name__ for i in items] == ["Reject", "Entry"]
    assert items[0].reason.startswith("answer_idx 'F'") and items[1].answer == ["C"]


def test_globmed_hub_files_it_cannot_place_are_file_rejects(tmp_path):
    folder = hub_repo(tmp_path, [])
    (folder / "README.md").write_text("# card", encoding="utf-8")  # not data: no reject
    (folder / "all.json").write_text("[]", encoding="utf-8")
    (folder / "sw" / "sw.json").write_text("[]", encoding="utf-8")
    (folder / "sw" / "notes.txt").write_text("x", encoding="utf-8")
    rejects = [i for i in get_source("globmed_hub").read(folder) if isinstance(i, Reject)]
    got = {Path(r.file).name: r.reason for r in rejects}
    assert all(r.row is None for r in rejects) and set(got) == {"all.json", "sw.json", "notes.txt", "train.json"}
    assert got["train.json"] == "empty file: no rows"  # an empty file is a file-level reject, not a layout error
    assert got["all.json"].startswith("not in a <lang>/ folder of GlobMed_MedQA")
    assert got["sw.json"] == "the file name names no split (train, validation, test)"
    assert got["notes.txt"] == "not a <lang>/<split>.json, .jsonl or .parquet file of GlobMed_MedQA"


def test_inspect_hub_uses_the_originals_declared_fields():
    result = inspect_source("globmed_hub", FIXTURES / "globmed_hub" / "GlobMed_MedQA", rows=1)
    (found,) = result.items
    assert found.declared and found.unused == ["meta_info"] and "options.C" in found.used and "answer_idx" in found.used


@pytest.mark.parametrize("name", sorted(n for n in available_sources() if n != "demo"))
def test_inspect_works_for_every_adapter_on_its_fixture(name):
    result = inspect_source(name, FIXTURES / name, rows=2)
    assert len(result.items) == 2
    for found in result.items:
        assert found.entry.source == name
        if found.raw is None:  # XML (LiveQA) or rows named by id (HEAD-QA): said, not guessed
            assert found.note and name in ("liveqa", "headqa")
        else:
            assert set(found.used) | set(found.unused) == set(found.raw) and found.used
