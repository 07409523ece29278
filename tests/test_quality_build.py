"""Quality control inside `globmed build`: seeded defects found, clean rows kept, reported."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import run_cli, write_jsonl

from globmed.build import BuildOptions, build
from globmed.quality import load_quality_config, quality_steps
from globmed.quality.synthetic import DEFECTS, generate
from globmed.sources.base import SourceSpec

pytest.importorskip("fasttext")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seeded")
    data = generate(2400, defect_rate=0.12, seed=11)
    steps = quality_steps(load_quality_config(workers=1))
    report = build(BuildOptions(out=tmp / "out", sources=[SourceSpec("demo", data.write(tmp / "src"))],
                                steps=steps, progress=False))
    rejects = [json.loads(line) for line in open(tmp / "out" / "rejects.jsonl", encoding="utf-8")]
    return data, report, rejects, tmp / "out"


def test_seeded_defects_are_found_with_few_false_removals(seeded):
    data, report, rejects, _ = seeded
    removed = {tuple(r["id"].split("/")[1:]) for r in rejects}
    caught = data.caught(removed)
    kinds = Counter(data.defects.values())
    assert set(kinds) == set(DEFECTS) and min(kinds.values()) >= 15  # every kind is seeded
    assert sum(caught.values()) / len(caught) >= 0.95
    clean = data.total - len(data.defects)
    assert len(data.false_removals(removed)) / clean < 0.01
    # each defect is removed by the step that must catch it (or, for a test copy, by near dedup
    # when the copy and its test original share a language)
    by_id = {tuple(r["id"].split("/")[1:]): r["step"] for r in rejects}
    for key, kind in data.defects.items():
        if key in by_id and kind not in ("exact_duplicate", "near_duplicate"):
            assert by_id[key] in (DEFECTS[kind], "near_dedup", "exact_dedup"), (key, kind, by_id[key])


def test_report_and_card_show_each_step_per_language(seeded):
    _, report, rejects, out = seeded
    steps = {s["step"]: s for s in report["steps"]}
    assert list(steps) == ["field_limits", "normalise", "language_id", "task_rules", "translation_rules", "exact_dedup",
                           "near_dedup", "decontamination"]
    assert steps["normalise"]["entries_in"] == steps["normalise"]["entries_out"]
    for i in range(1, len(report["steps"])):  # each step starts where the previous stopped
        assert report["steps"][i]["entries_in"] == report["steps"][i - 1]["entries_out"]
    assert report["steps"][-1]["entries_out"] == report["counts"]["total"]
    lid = steps["language_id"]
    assert lid["entries_in"] > lid["entries_out"]
    assert lid["by_language"]["sw"]["reasons"]
    assert "rule-out" in lid["settings"]["method_by_language"]["wo"]
    assert Counter(r["step"] for r in rejects)["language_id"] == lid["entries_in"] - lid["entries_out"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "| language_id |" in card and "| near_dedup |" in card


def test_cli_runs_quality_by_default_and_can_switch_it_off(tmp_path: Path):
    src = tmp_path / "src"
    data = generate(120, ["en", "sw"], defect_rate=0.0, seed=2)
    data.write(src)
    rows = data.rows["sw"]
    write_jsonl(src / "sw.jsonl", [*rows, {**rows[0], "qid": "copy"}])  # one exact duplicate
    on = run_cli("build", "--source", f"demo={src}", "--langs", "en,sw", "--out", str(tmp_path / "on"),
                 "--no-progress")
    assert "step exact_dedup: 121 in, 120 out" in on.stdout
    off = run_cli("build", "--source", f"demo={src}", "--langs", "en,sw", "--out", str(tmp_path / "off"),
                  "--no-progress", "--no-quality")
    report = json.loads((tmp_path / "off" / "build_report.json").read_text(encoding="utf-8"))
    assert report["steps"] == [] and report["counts"]["total"] == 121 and "step " not in off.stdout


def test_cli_errors_name_the_option(tmp_path: Path):
    src = generate(12, ["en"], defect_rate=0.0).write(tmp_path / "src")
    bad_model = run_cli("build", "--source", f"demo={src}", "--langs", "en", "--out", str(tmp_path / "o"),
                        "--lid-model", str(tmp_path / "missing.ftz"), check=False)
    assert bad_model.returncode == 2 and "--lid-model" in bad_model.stderr
    bad_step = run_cli("build", "--source", f"demo={src}", "--langs", "en", "--out", str(tmp_path / "o"),
                       "--skip-quality-step", "spellcheck", check=False)
    assert bad_step.returncode == 2 and "--skip-quality-step 'spellcheck'" in bad_step.stderr
    bad_ext = run_cli("build", "--source", f"demo={src}", "--langs", "en", "--out", str(tmp_path / "o"),
                      "--decontaminate-against", str(tmp_path / "none.jsonl"), check=False)
    assert bad_ext.returncode == 2 and "--decontaminate-against" in bad_ext.stderr
    assert not (tmp_path / "o").exists()


def test_shipped_demo_set_passes_quality_without_removals(demo_build: Path):
    """The demo data is clean: every quality step keeps every entry of every language."""
    report = json.loads((demo_build / "build_report.json").read_text(encoding="utf-8"))
    assert [s["step"] for s in report["steps"]][:3] == ["field_limits", "normalise", "language_id"]
    removed = {s["step"]: s["entries_in"] - s["entries_out"] for s in report["steps"]}
    assert set(removed.values()) == {0}, removed
