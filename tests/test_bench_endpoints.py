"""`globmed bench --model openai:MODEL@URL` and `--models-file`: an OpenAI-compatible endpoint (a vLLM
server, an API) without an entry in the package's models.yaml."""

from __future__ import annotations

import json

import pytest
from bench_fixtures import bench_build  # noqa: F401 (fixture)
from chat_server import FakeAPI
from conftest import run_cli

from globmed.bench.registry import endpoint_spec, resolve_models
from globmed.errors import GlobmedError


@pytest.fixture
def api():
    fake = FakeAPI()
    yield fake
    fake.close()


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_endpoint_specs():
    spec = endpoint_spec("openai:Qwen/Qwen3-8B@http://u:pw@127.0.0.1:8000/v1/", "VLLM_KEY")
    assert (spec.name, spec.model, spec.backend, spec.modes) == (
        "Qwen/Qwen3-8B@http://127.0.0.1:8000/v1", "Qwen/Qwen3-8B", "openai", ["generative"])
    assert spec.settings == {"base_url": "http://u:pw@127.0.0.1:8000/v1/", "api_key_env": "VLLM_KEY"}
    assert endpoint_spec("m@https://h/v1", name="mine", modes=["letter"]).name == "mine"
    assert endpoint_spec("path/to/model") is None and endpoint_spec("runs/m@2") is None
    with pytest.raises(GlobmedError, match="expected openai:MODEL@BASE_URL"):
        endpoint_spec("openai:gpt-4o")


def test_bench_an_endpoint_given_on_the_command_line(api, tmp_path, bench_build):  # noqa: F811
    out = tmp_path / "bench"
    env = {"GLOBMED_CACHE": str(tmp_path / "cache"), "MY_ENDPOINT_KEY": "sk-endpoint-1"}
    run_cli("bench", "--model", f"openai:served-model@{api.url}", "--api-key-env", "MY_ENDPOINT_KEY",
            "--dataset", str(bench_build), "--langs", "en", "--tasks", "mcq", "--limit", "3", "--out", str(out),
            "--no-progress", env=env)
    name = f"served-model@{api.url.rstrip('/')}"
    files = list((out / "results").glob("*.jsonl"))
    recs = _records(files[0])
    assert len(files) == 1 and {r["model"] for r in recs} == {name} and {r["mode"] for r in recs} == {"generative"}
    assert len(recs) == 3 and all(r["rule"] == "answer_phrase" for r in recs)
    assert {h["Authorization"] for _, h, _ in api.requests} == {"Bearer sk-endpoint-1"}
    assert {b["model"] for _, _, b in api.requests} == {"served-model"}


def test_models_file_adds_the_users_own_models_and_groups(api, tmp_path, bench_build):  # noqa: F811
    mine = tmp_path / "my-models.yaml"
    mine.write_text(f"""
groups:
  ours: [lab-model]
models:
  lab-model:
    backend: openai
    model: served-model
    base_url: {api.url}
    api_key_env: LAB_KEY
    modes: [generative]
""")
    assert [s.name for s in resolve_models("ours,smollm2-135m-instruct", mine)] == ["lab-model", "smollm2-135m-instruct"]
    out = tmp_path / "bench"
    run_cli("bench", "--models", "ours", "--models-file", str(mine), "--dataset", str(bench_build), "--langs", "en",
            "--tasks", "mcq", "--limit", "2", "--out", str(out), "--no-progress",
            env={"GLOBMED_CACHE": str(tmp_path / "cache"), "LAB_KEY": "k"})
    assert [r["model"] for r in _records(out / "results" / "lab-model.jsonl")] == ["lab-model"] * 2


@pytest.mark.parametrize("text, message", [
    (None, "cannot read it"),
    ("models: [a, b]\n", "expected a mapping with `models:`"),
    ("models:\n  x: just-a-string\n", "model 'x' must be a mapping"),
    ("models: {x: [\n", "not YAML"),
])
def test_a_bad_models_file_is_one_clear_error(tmp_path, text, message, bench_build):  # noqa: F811
    path = tmp_path / "m.yaml"
    if text is not None:
        path.write_text(text)
    proc = run_cli("bench", "--models", "x", "--models-file", str(path), "--dataset", str(bench_build),
                   "--out", str(tmp_path / "o"), check=False)
    assert proc.returncode == 2 and message in proc.stderr and str(path) in proc.stderr
    assert "Traceback" not in proc.stderr
