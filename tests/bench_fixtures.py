"""Small demo-format data for the GlobMed-Bench tests (built with `globmed build`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import mcq_row, run_cli, write_jsonl

BENCH_LANGS = ("en", "sw")


def bench_rows(lang: str) -> list[dict]:
    rows = []
    for i in range(6):
        rows.append(mcq_row(f"m{i}", answer="ABCD"[i % 4], split="test",
                            question=f"Which option is number {i} ({lang})?"))
        rows.append({"qid": f"y{i}", "kind": "yes_no_maybe", "question": f"Does drug {i} help?",
                     "context": "A small trial.", "final_decision": ["yes", "no", "maybe"][i % 3], "split": "test"})
    rows.append(mcq_row("multi", answer=["A", "C"], split="test"))
    rows.append({"qid": "n0", "kind": "nli", "premise": "The patient has a fever.", "hypothesis": "The patient is ill.",
                 "label": "entailment", "split": "test"})
    for i in range(2):  # shots
        rows.append(mcq_row(f"v{i}", answer="C", split="validation"))
        rows.append({"qid": f"vy{i}", "kind": "yes_no_maybe", "question": "Shot?", "context": "Shot context.",
                     "final_decision": "yes", "split": "validation"})
    rows.append(mcq_row("t0", split="train"))
    return rows


@pytest.fixture(scope="session")
def bench_build(tmp_path_factory) -> Path:
    """en + sw, 14 test items each (12 single-answer mcq/ynm, 1 multi-answer mcq, 1 nli), 4 validation."""
    root = tmp_path_factory.mktemp("bench-data")
    for lang in BENCH_LANGS:
        write_jsonl(root / "src" / f"{lang}.jsonl", bench_rows(lang))
    out = root / "build"
    # --no-quality: these toy rows are near-duplicates of each other and the "sw" rows are English,
    # which quality control rightly removes; the bench tests need every row.
    run_cli("build", "--source", f"demo={root / 'src'}", "--langs", ",".join(BENCH_LANGS), "--out", str(out),
            "--no-progress", "--no-quality")
    return out


OPEN_QA = {
    "en": [("How is a fever treated?", ["Rest, fluids and paracetamol."]),
           ("What does insulin do?", ["It lowers blood sugar.", "Insulin lets cells take up glucose."]),
           ("What is hypertension?", ["High blood pressure."])],
    "sw": [("Homa hutibiwaje?", ["Kupumzika, maji na paracetamol."]),
           ("Insulini hufanya nini?", ["Hupunguza sukari kwenye damu."]),
           ("Shinikizo la damu ni nini?", ["Shinikizo la juu la damu."])],
}


@pytest.fixture(scope="session")
def open_qa_build(tmp_path_factory) -> Path:
    """A dataset folder in the release layout (README `configs:`), test split only: three open-QA
    items each in en and sw (no shipped demo source has open QA)."""
    root = tmp_path_factory.mktemp("open-qa")
    configs = []
    for lang, rows in OPEN_QA.items():
        write_jsonl(root / "data" / lang / "test.jsonl", [
            {"id": f"oq/{lang}/{i}", "origin_id": f"oq/{i}", "lang": lang, "source": "oq", "task": "open_qa",
             "question": q, "context": "", "options": [], "answer": refs, "explanation": ""}
            for i, (q, refs) in enumerate(rows)])
        configs.append(f"- config_name: {lang}\n  data_files:\n  - split: test\n    path: data/{lang}/test.jsonl\n")
    (root / "README.md").write_text("---\nconfigs:\n" + "".join(configs) + "---\n", encoding="utf-8")
    return root
