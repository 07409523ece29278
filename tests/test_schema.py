from __future__ import annotations

import pyarrow as pa
import pytest

from globmed.schema import (
    COLUMNS,
    FEATURES,
    Entry,
    Translation,
    batch_to_entries,
    entries_to_batch,
    letter,
    letter_index,
    validate_entry,
)


def mcq(**kw) -> Entry:
    base = dict(source="demo", lang="en", source_id="q1", task="mcq", question="Which organ makes insulin?",
                options=["Liver", "Pancreas", "Spleen", "Kidney"], answer=["B"], license="apache-2.0")
    base.update(kw)
    return Entry.create(**base)


def test_create_derives_ids_and_answer_text():
    e = mcq()
    assert e.id == "demo/en/q1"
    assert e.origin_id == "demo/q1"
    assert e.answer_text == "Pancreas"
    assert validate_entry(e) == []


def test_multi_answer_is_a_list_and_joins_answer_text():
    e = mcq(answer=["A", "C"])
    assert e.answer == ["A", "C"]
    assert e.answer_text == "Liver; Spleen"
    assert validate_entry(e) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (dict(answer=["E"]), "answer 'E' is not among the options (A, B, C, D)"),
        (dict(answer=["b"]), "answer 'b' is not among the options"),
        (dict(answer=[]), "answer is missing"),
        (dict(answer=["A", "A"]), "answer repeats a letter"),
        (dict(question="   "), "question is empty"),
        (dict(task="essay"), "unknown task 'essay'"),
        (dict(lang="xx"), "unknown language 'xx'"),
        (dict(options=["Only one"], answer=["A"]), "mcq needs at least 2 options, got 1"),
        (dict(options=["Liver", "", "Spleen"], answer=["A"]), "option(s) B are empty"),
        (dict(license=""), "license is empty"),
    ],
)
def test_validator_names_the_problem(change, expected):
    problems = validate_entry(mcq(**change))
    assert any(expected in p for p in problems), problems


def test_validator_reports_wrong_types_by_field():
    e = mcq()
    e.question = 42
    e.options = ["a", 3]
    problems = validate_entry(e)
    assert "question must be a string, got int" in problems
    assert any(p.startswith("options must be a list of strings") for p in problems)


def test_label_tasks_take_canonical_labels():
    ok = Entry.create(source="demo", lang="sw", source_id="y1", task="yes_no_maybe", question="Je?",
                      context="Utafiti.", options=["yes", "no", "maybe"], answer="maybe", license="mit")
    assert validate_entry(ok) == [] and ok.answer_text == "maybe"
    bad = Entry.create(source="demo", lang="sw", source_id="y1", task="yes_no_maybe", question="Je?",
                       options=["yes", "no"], answer="maybe", license="mit")
    assert any("answer 'maybe' is not one of yes, no" in p for p in validate_entry(bad))
    nli = Entry.create(source="demo", lang="en", source_id="n1", task="nli", question="H",
                       options=["neutral", "entailment"], answer="neutral", license="mit")
    assert any("in the order" in p for p in validate_entry(nli))


def test_translation_provenance_is_checked():
    e = mcq(lang="sw", translation=Translation(system="nllb", source_lang="sw", score=1.5))
    problems = validate_entry(e)
    assert "translation.source_lang equals the entry language 'sw'" in problems
    assert "translation.score 1.5 is outside [0, 1]" in problems


def test_answer_text_mismatch_is_reported():
    e = mcq()
    e.answer_text = "Liver"
    assert any("does not match" in p for p in validate_entry(e))


def test_batch_round_trip_and_arrow_schema():
    entries = [mcq(), mcq(source_id="q2", lang="sw", translation=Translation("m2m100", "en", 0.5))]
    batch = entries_to_batch(entries)
    assert batch_to_entries(batch) == entries
    exported = entries_to_batch(entries, pipeline=False)
    table = pa.Table.from_pydict(exported, schema=FEATURES.arrow_schema)
    assert table.column_names == list(COLUMNS)
    assert table.column("translation").to_pylist()[0] is None
    assert table.column("translation").to_pylist()[1] == {"system": "m2m100", "source_lang": "en", "score": 0.5}


def test_letters():
    assert letter(0) == "A" and letter_index("J") == 9
    with pytest.raises(ValueError):
        letter_index("a")


def test_the_arrow_schema_is_the_features_own_and_a_build_does_not_import_datasets(tmp_path):
    """The Parquet schema (with the features in its metadata, as datasets writes them) is written
    without importing datasets; it must be exactly what datasets makes of FEATURES."""
    import subprocess
    import sys

    from globmed.schema import ARROW_SCHEMA

    assert ARROW_SCHEMA.equals(FEATURES.arrow_schema, check_metadata=True)
    code = ("import sys; from globmed.cli import main; "
            f"main(['build', '--source', 'demo', '--out', {str(tmp_path / 'out')!r}, '--no-progress']); "
            "assert 'datasets' not in sys.modules, 'datasets was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "build_report.json").is_file()
