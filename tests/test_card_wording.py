"""Card wording that must agree with the numbers: the demo's machine-assisted language versions are
native text, not `translation` rows, and the dataset card says both things without contradiction;
every task kind reaches the demo's test split (so `globmed demo` benches NLI too)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from conftest import run_cli

from globmed.cards import render_dataset_card
from globmed.schema import TASKS


def test_demo_card_translation_statements_agree_and_every_task_is_in_test(tmp_path):
    out = tmp_path / "demo"
    run_cli("build", "--source", "demo", "--profile", "paper", "--no-quality", "--out", str(out), "--workers", "1")
    report = json.loads((out / "build_report.json").read_text())
    card = render_dataset_card(report)
    assert report["counts"]["translated"] == 0
    assert "0 of 576." in card
    assert "native text of their source, not\n`translation` rows" in card
    assert "machine translations" not in card  # no claim that entries are translation rows
    built_tasks = set(report["counts"]["by_task"])
    for lang in report["configs"]:
        test_tasks = {row["task"] for row in pq.read_table(next((out / "data" / lang).glob("test-*.parquet"))).to_pylist()}
        assert test_tasks == built_tasks, (lang, test_tasks)
    assert built_tasks == {"mcq", "yes_no_maybe", "nli"} and built_tasks <= set(TASKS)
