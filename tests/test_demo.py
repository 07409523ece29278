"""`globmed demo`: every step of the mission runs, here on a tiny model for speed (the README's
main command runs it on SmolLM2-135M-Instruct)."""

from __future__ import annotations

import json

from conftest import run_cli

from globmed.demo import DemoRun, before_after_table, run_demo, summary


def test_demo_runs_every_step_on_a_tiny_model(tmp_path):
    logged: list[str] = []
    out = tmp_path / "demo"
    outcomes = run_demo(DemoRun(out=out, langs=["en", "sw"], base_model="tiny", train_steps=3, log=logged.append))
    assert [o.name for o in outcomes] == [
        "build dataset", "load a config back", "render dataset card", "dataset release dry-run",
        "prepare base model", "bench base model", "fine-tune (tiny recipe)", "bench fine-tuned model",
        "model card + model release dry-run"]
    assert {o.status for o in outcomes} == {"ok"}, outcomes
    assert (out / "dataset" / "build_report.json").exists()
    assert (out / "dataset_card.md").read_text().startswith("---\n")
    plan = (out / "dataset_release_plan.txt").read_text()
    assert "gate near_duplicates: ok" in plan and "README.md diff" in plan and "dry run: nothing was uploaded" in plan
    merged = out / "models" / "GlobMed-tiny-qwen3-demo" / "merged"
    assert (merged / "model.safetensors").exists() and (merged / "generation_config.json").exists()
    # both models were benched on the same items, and the model card carries the real numbers
    records = {name: [json.loads(line) for line in (out / "bench" / "results" / f"{name}.jsonl").open()]
               for name in ("base", "globmed-demo")}
    assert {r["id"] for r in records["base"]} == {r["id"] for r in records["globmed-demo"]}
    assert {r["lang"] for r in records["base"]} == {"en", "sw"}
    assert {r["task"] for r in records["base"]} == {"mcq", "yes_no_maybe", "nli"}  # every task reaches test
    card = (out / "model_card.md").read_text()
    # the card: the run's settings (tiny recipe + the demo's overrides), every trained language, rows after upsampling
    assert "recipe was not recorded" not in card and "mixture was not recorded" not in card
    assert "max_steps: 3" in card and "lora_r: 8" in card
    assert "`globmed train --config recipes/tiny/sft/lora.yaml`" in card
    assert "`base` scored the same way" not in card
    mixture = json.loads((merged / "training_mixture.json").read_text())
    report = json.loads((out / "dataset" / "build_report.json").read_text())
    entries = report["counts"]["by_split"]["train"]
    sw = report["counts"]["by_language"]["sw"]["train"]
    assert mixture["rows"] == entries + sw  # sw (low-resource) counted twice
    assert f"trained on as {mixture['rows']:,} rows" in card and f"| `sw` | {sw} | {2 * sw} |" in card
    # our card in the adapter folder, not TRL's generated one
    adapter_card = (merged.parent / "README.md").read_text()
    assert "huggingface.co/None" not in adapter_card and "licence: license" not in adapter_card
    assert f"{mixture['rows']:,} training rows" in adapter_card and "library_name: peft" in adapter_card
    en_letter = [r["score"] for r in records["globmed-demo"] if r["lang"] == "en" and r["mode"] == "letter"]
    assert f"{sum(en_letter) / len(en_letter):.3f}"[:4] in card
    assert "clinical" in card
    table = before_after_table(out / "bench")
    assert table.splitlines()[0].startswith("| model | mode | en | sw |")
    assert any(line.startswith("| globmed-demo | letter |") for line in table.splitlines())
    assert table in "\n".join(logged)
    assert summary(outcomes, 1.0).startswith("globmed demo: 9/9 steps")


def test_demo_cli_refuses_a_broken_base_model_path(tmp_path):
    proc = run_cli("demo", "--out", str(tmp_path / "d"), "--langs", "en", "--base-model", str(tmp_path / "nope"),
                   check=False)
    assert proc.returncode == 2
    assert "--base-model" in proc.stderr and "not a model folder" in proc.stderr
    assert "Traceback" not in proc.stderr
