"""Leaderboards, plots, the model registry and the lm-eval export."""

from __future__ import annotations

import csv
import json

import pytest
import yaml
from bench_fixtures import bench_build  # noqa: F401 (fixture)
from conftest import run_cli

from globmed.bench.registry import ModelSpec, adhoc_spec, resolve_models
from globmed.bench.report import language_table
from globmed.errors import GlobmedError, UnknownNameError


def _rec(model, lang, task, correct, i, mode="letter", **kw):
    return {"key": f"{mode}|k0|{lang}/{i}", "model": model, "mode": mode, "id": f"{lang}/{i}", "lang": lang,
            "task": task, "gold": ["A"], "pred": ["A"] if correct else ["B"], "correct": correct,
            "score": float(correct), **kw}


@pytest.fixture
def results(tmp_path):
    # en 3/4, zh 1/2 (high); sw 1/4, yo 0/2 (low)
    recs = ([_rec("m1", "en", "mcq", c, i) for i, c in enumerate([1, 1, 1, 0])]
            + [_rec("m1", "zh", "yes_no_maybe", c, i) for i, c in enumerate([1, 0])]
            + [_rec("m1", "sw", "mcq", c, i) for i, c in enumerate([1, 0, 0, 0])]
            + [_rec("m1", "yo", "yes_no_maybe", False, i, unparsed=True, pred=None) for i in range(2)])
    for r in recs:
        r["correct"] = bool(r["correct"])
    path = tmp_path / "results" / "m1.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def test_language_table_tiers_gap_and_cis(results):
    from globmed.bench.results import load_results

    langs, rows = language_table(load_results([results]))
    assert langs == ["en", "zh", "sw", "yo"]  # high tier first
    row = rows[0]
    assert (row["en"], row["zh"], row["sw"], row["yo"]) == (0.75, 0.5, 0.25, 0.0)
    assert row["high_avg"] == pytest.approx(0.625) and row["low_avg"] == pytest.approx(0.125)
    assert row["gap"] == pytest.approx(0.5)
    lo, hi = row["gap_ci"]
    assert lo <= 0.5 <= hi and hi - lo > 0.1
    assert row["yo_ci"] == (0.0, 0.0)


def _paired(model, scores, shots=0, langs=("en", "sw")):
    """One record per (language, origin): ``scores[lang][i]`` for origin ``src/i``."""
    return [{**_rec(model, lang, "mcq", bool(c), i), "id": f"src/{lang}/{i}", "origin_id": f"src/{i}",
             "key": f"letter|k{shots}|src/{lang}/{i}", "shots": shots}
            for lang in langs for i, c in enumerate(scores[lang])]


def test_shots_are_part_of_the_row_identity():
    zero = _paired("m", {"en": [1, 1, 1, 0], "sw": [1, 1, 0, 0]}, shots=0)
    one = _paired("m", {"en": [0, 0, 0, 0], "sw": [1, 0, 0, 0]}, shots=1)
    _, rows = language_table(zero + one)
    assert [(r["shots"], r["en"], r["sw"]) for r in rows] == [(0, 0.75, 0.5), (1, 0.0, 0.25)]
    from globmed.bench.report import task_table

    assert [(r["shots"], r["n"], r["accuracy"]) for r in task_table(zero + one)] == [(0, 8, 0.625), (1, 8, 0.125)]


def test_task_table_gives_what_the_shipped_closed_qa_evaluate_module_computes(results):
    """The report calls the metric functions directly (no ``evaluate`` import per bench run); the
    shipped evaluate module, which users load, computes the same accuracy and macro-F1."""
    from globmed.bench.metrics import load_metric
    from globmed.bench.metrics.functions import label_of
    from globmed.bench.report import task_table
    from globmed.bench.results import load_results

    recs = load_results([results])
    recs += [{**r, "task": "mcq", "pred": ["A", "C"], "gold": ["A", "C"]} for r in recs[:2]]  # a multi-answer class
    rows = task_table(recs)
    module = load_metric("closed_qa")
    assert len(rows) == 2
    for row in rows:
        mine = [r for r in recs if r["task"] == row["task"]]
        want = module.compute(predictions=[label_of(r["pred"]) for r in mine],
                              references=[label_of(r["gold"]) for r in mine])
        assert (row["accuracy"], row["macro_f1"]) == pytest.approx((want["accuracy"], want["macro_f1"]))
        assert 0 < row["macro_f1"] < 1

def test_tier_gap_ci_resamples_origins_jointly():
    # every origin scores the same in en and sw: the gap is 0 in every bootstrap round
    same = {"en": [1, 0, 1, 1, 0, 1, 0, 0, 1, 1], "sw": [1, 0, 1, 1, 0, 1, 0, 0, 1, 1]}
    _, rows = language_table(_paired("m", same))
    assert rows[0]["gap"] == 0.0 and rows[0]["gap_ci"] == (0.0, 0.0)
    assert rows[0]["en_ci"] == rows[0]["sw_ci"] and rows[0]["en_ci"][1] - rows[0]["en_ci"][0] > 0.3
    # sw is right only where en is right too: every origin's en - sw is 0 or 1, so every round of a paired
    # bootstrap has a gap >= 0 (resampling each language alone gives a lower bound near -0.2 here)
    nested = {"en": [1] * 5 + [0] * 5, "sw": [1] * 3 + [0] * 7}
    _, rows = language_table(_paired("m", nested))
    lo, hi = rows[0]["gap_ci"]
    assert rows[0]["gap"] == pytest.approx(0.2) and 0.0 <= lo < 0.2 < hi <= 0.5


def test_adding_a_model_moves_no_other_models_cis():
    first = _paired("m1", {"en": [1, 0, 1, 1, 0, 1], "sw": [0, 0, 1, 0, 1, 0]})
    second = _paired("m2", {"en": [1, 1, 1, 1, 0, 0], "sw": [1, 0, 0, 0, 0, 0]})
    _, alone = language_table(first)
    _, both = language_table(second + first)
    m1 = next(r for r in both if r["model"] == "m1")
    assert all(m1[k] == alone[0][k] for k in ("en_ci", "sw_ci", "high_avg_ci", "low_avg_ci", "gap_ci"))


def test_report_command_writes_csv_markdown_and_pngs(results, tmp_path):
    out = tmp_path / "report"
    proc = run_cli("bench", "report", str(results.parent), "--out", str(out))
    assert "| m1 | letter | 0 | 0.750 (" in proc.stdout and "; n=4) |" in proc.stdout
    with open(out / "leaderboard_languages.csv") as fh:
        row = next(csv.DictReader(fh))
    assert (row["en"], row["low_avg"], row["gap"]) == ("0.750", "0.125", "0.500")
    assert (row["shots"], row["en_n"], row["zh_n"], row["low_avg_n"]) == ("0", "4", "2", "6")
    with open(out / "leaderboard_tasks.csv") as fh:
        tasks = {r["task"]: r for r in csv.DictReader(fh)}
    assert tasks["mcq"]["accuracy"] == "0.500" and tasks["yes_no_maybe"]["unparsed"] == "2"
    # macro-F1 over the reference classes: mcq golds are all "A" -> F1(A) = 2*4/(2*4+0+4)
    assert tasks["mcq"]["macro_f1"] == f"{8 / 12:.3f}"
    for png in ("heatmap.png", "tier_gap.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_refuses_a_broken_result_file(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": 1}\nnot json\n')
    proc = run_cli("bench", "report", str(bad), "--out", str(tmp_path / "o"), check=False)
    assert proc.returncode == 2 and "bad.jsonl, line 2" in proc.stderr


def test_registry_groups_names_and_errors():
    specs = resolve_models("smoke,gpt-4o")
    assert [s.name for s in specs] == ["smollm2-135m-instruct", "gpt-4o"]
    assert specs[1].backend == "openai" and specs[1].settings["api_key_env"] == "OPENAI_API_KEY"
    assert all(not s.settings.get("trust_remote_code") for s in resolve_models("open-small,open-large,api"))
    with pytest.raises(UnknownNameError, match="model or model group 'nope'"):
        resolve_models("nope")
    with pytest.raises(GlobmedError, match="unknown mode"):
        adhoc_spec("x", modes=["guess"])
    assert specs[1].modes == ["generative", "generative_cot"]
    assert (specs[1].max_new_tokens_for("generative"), specs[1].max_new_tokens_for("generative_cot")) == (16, 768)
    assert adhoc_spec("x", modes=["generative_cot"]).max_new_tokens_for("generative_cot") == 512
    with pytest.raises(GlobmedError, match="cot_max_new_tokens must be a positive integer"):
        ModelSpec(name="x", backend="openai", model="m", cot_max_new_tokens=0)


def test_vllm_backend_without_vllm_says_what_to_do():
    pytest.importorskip("torch")
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed")
    from globmed.bench.backends import make_backend

    with pytest.raises(GlobmedError, match="needs the `vllm` package.*openai backend"):
        make_backend("vllm", model="org/m")


def test_export_lm_eval_uses_the_bench_prompts(tmp_path, bench_build, smol_tokenizer_dir):  # noqa: F811
    from transformers import AutoTokenizer

    from globmed.bench.data import load_items
    from globmed.bench.prompting import letter_prompt

    out = tmp_path / "tasks"
    run_cli("bench", "export-lm-eval", "--dataset", str(bench_build), "--langs", "en,sw", "--out", str(out),
            "--tokenizer", str(smol_tokenizer_dir))
    group = yaml.safe_load((out / "globmed.yaml").read_text())
    assert group["group"] == "globmed" and group["task"] == ["globmed_en", "globmed_sw"]
    cfg = yaml.safe_load((out / "globmed_sw.yaml").read_text())
    assert cfg["output_type"] == "multiple_choice" and cfg["target_delimiter"] == ""
    docs = [json.loads(x) for x in (out / "data" / "sw.jsonl").read_text().splitlines()]
    items = {i["id"]: i for i in load_items(bench_build, "sw")}
    tok = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    assert len(docs) == 13  # the multi-answer item is left out
    for doc in docs[:3]:
        item = items[doc["id"]]
        assert doc["prompt"] == letter_prompt(item, tok)
        assert doc["choices"][doc["gold"]] == item["answer"][0] if item["task"] == "mcq" else True


def test_headline_is_the_better_of_letter_and_per_character_cloze(tmp_path):
    """OLMES-style: per (model, shots, task, language) max(letter, cloze_norm) and which gave it."""
    from globmed.bench.headline import headline_table

    scores = {  # (mode, lang, task): item scores
        ("letter", "en", "mcq"): [1, 1, 1, 0],      # 0.75  > cloze_norm 0.5  -> letter
        ("cloze_norm", "en", "mcq"): [1, 0, 1, 0],
        ("cloze", "en", "mcq"): [1, 1, 1, 1],       # raw cloze is never a headline candidate
        ("letter", "sw", "mcq"): [0, 0, 1, 0],      # 0.25  < cloze_norm 0.75 -> cloze_norm
        ("cloze_norm", "sw", "mcq"): [1, 1, 1, 0],
        ("cloze_listed_norm", "sw", "mcq"): [1, 1, 1, 1],
        ("letter", "sw", "nli"): [1, 0],            # tie 0.5 = 0.5 -> letter
        ("cloze_norm", "sw", "nli"): [0, 1],
        ("cloze_norm", "yo", "mcq"): [0, 1],        # only cloze: its own headline
        ("generative", "en", "mcq"): [1, 1, 1, 1],
    }
    form = {"cloze": "cloze", "cloze_norm": "cloze", "cloze_listed_norm": "cloze_listed"}  # as bench writes them
    recs = [_rec("m", lang, task, bool(s), f"{task}{i}", mode=mode, shots=0,
                 **({"cloze_form": form[mode]} if mode in form else {}))
            for (mode, lang, task), ss in scores.items() for i, s in enumerate(ss)]
    recs += [_rec("m", "en", "mcq", False, f"k{i}", mode="cloze_norm", shots=1, cloze_form="cloze") for i in range(2)]
    rows = {(r["shots"], r["task"], r["lang"]): r for r in headline_table(recs)}
    assert set(rows) == {(0, "mcq", "en"), (0, "mcq", "sw"), (0, "nli", "sw"), (0, "mcq", "yo"), (1, "mcq", "en")}
    assert (rows[0, "mcq", "en"]["headline"], rows[0, "mcq", "en"]["formulation"]) == (0.75, "letter")
    assert (rows[0, "mcq", "sw"]["headline"], rows[0, "mcq", "sw"]["formulation"]) == (0.75, "cloze_norm")
    assert rows[0, "mcq", "sw"]["letter"] == 0.25 and rows[0, "mcq", "sw"]["n"] == 4
    assert (rows[0, "nli", "sw"]["headline"], rows[0, "nli", "sw"]["formulation"]) == (0.5, "letter")
    assert rows[0, "mcq", "yo"]["formulation"] == "cloze_norm" and "letter" not in rows[0, "mcq", "yo"]
    assert rows[1, "mcq", "en"]["headline"] == 0.0  # shots are never mixed
    # written by `bench report` next to the other tables, which keep every formulation
    path = tmp_path / "results" / "m.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "report"
    run_cli("bench", "report", str(path.parent), "--out", str(out))
    with open(out / "leaderboard_headline.csv") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert csv_rows[0] == {"model": "m", "shots": "0", "task": "mcq", "lang": "en", "n": "4", "letter": "0.750",
                           "cloze_norm": "0.500", "headline": "0.750", "formulation": "letter"}
    md = (out / "leaderboard.md").read_text()
    assert "## Headline (OLMES-style)" in md and "| m | 0 | mcq | sw | 4 | 0.250 | 0.750 | 0.750 | cloze_norm |" in md
    with open(out / "leaderboard_languages.csv") as fh:
        modes = {r["mode"] for r in csv.DictReader(fh)}
    assert modes == {"letter", "cloze", "cloze_norm", "cloze_listed_norm", "generative"}
