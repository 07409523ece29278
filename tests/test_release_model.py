"""Model release: bench-results adapter, gates (each failing with a clear message), model card
with model-index and .eval_results, and one commit against the local fake Hub."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from hub_server import local_hub

from globmed.errors import GlobmedError
from globmed.model_release import ModelRelease, load_bench_summary, release_model
from globmed.release import split_card

SENTINEL = "hf_SENTINELmodel0123456789abcdefXYZ"

# per language: (base scores, tuned scores); en is high-resource, sw and yo low-resource
SCORES = {"en": ([1, 0, 1, 1], [1, 1, 1, 1]), "sw": ([0, 0, 1, 0], [1, 0, 1, 0]), "yo": ([0, 1], [1, 1])}


def write_results(out: Path, scores=SCORES, modes=("letter", "cloze")) -> Path:
    """Result files in the format `globmed bench` writes: <out>/results/<model>.jsonl, one record per item."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    for model, which in (("base", 0), ("tuned", 1)):
        lines = []
        for mode in modes:
            for lang, pair in scores.items():
                for i, s in enumerate(pair[which]):
                    item = f"demo/{lang}/q{i}"
                    lines.append(json.dumps({"mode": mode, "id": item, "lang": lang, "task": "mcq", "gold": ["A"],
                                             "pred": ["A"] if s else ["B"], "correct": bool(s), "score": float(s),
                                             "key": f"{mode}|k0|{item}", "model": model, "shots": 0,
                                             **({"cloze_form": "cloze"} if mode.startswith("cloze") else {})}))
        (out / "results" / f"{model}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def test_load_bench_summary_computes_language_tier_and_gap(tmp_path):
    s = load_bench_summary(write_results(tmp_path / "bench"))
    assert s["languages"] == ["en", "sw", "yo"]
    tuned = s["models"]["tuned"]["letter"]
    assert tuned["languages"]["en"] == {"score": 1.0, "n": 4}
    assert tuned["languages"]["sw"] == {"score": 0.5, "n": 4}
    assert tuned["tiers"] == {"high": 1.0, "low": 0.75}  # macro over sw (0.5) and yo (1.0)
    assert tuned["gap"] == pytest.approx(0.25)
    base = s["models"]["base"]["cloze"]
    assert base["tiers"] == {"high": 0.75, "low": 0.375} and base["gap"] == pytest.approx(0.375)


def test_load_bench_summary_ignores_a_cut_line_and_names_a_bad_one(tmp_path):
    out = write_results(tmp_path / "bench")
    path = out / "results" / "tuned.jsonl"
    path.write_text(path.read_text() + '{"mode": "letter", "lang": "en"', encoding="utf-8")  # killed mid-write
    assert load_bench_summary(out)["models"]["tuned"]["letter"]["languages"]["en"]["n"] == 4
    path.write_text('{"mode": "letter"}\n', encoding="utf-8")
    with pytest.raises(GlobmedError, match=r"tuned.jsonl, line 1: result record without a \"key\""):
        load_bench_summary(out)
    path.write_text('{"key": "letter|k0|x", "mode": "letter", "lang": "en"}\n', encoding="utf-8")  # no score
    with pytest.raises(GlobmedError, match=r"'letter\|k0\|x' in .*: not a bench result record"):
        load_bench_summary(out)
    # an older file's cloze record (no cloze_form) is the listed-options variant, as the bench report says
    path.write_text('{"key": "cloze|k0|x", "mode": "cloze", "model": "tuned", "lang": "en", "score": 1.0}\n',
                    encoding="utf-8")
    assert set(load_bench_summary(out)["models"]["tuned"]) == {"cloze_listed"}
    with pytest.raises(GlobmedError, match="no bench result files"):
        load_bench_summary(tmp_path / "empty")


CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def save_word_tokenizer(out: Path) -> Path:
    """A word-level tokenizer with ChatML special tokens and template (instant to build; the
    release gates need a chat template and an end-of-turn token, not a real vocabulary)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    vocab = {t: i for i, t in enumerate([*specials, "[UNK]", "user", "assistant", "hi", "A", "B", "C", "D"])}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  unk_token="[UNK]", additional_special_tokens=specials)
    tok.chat_template = CHATML
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny random Qwen3 (tests/tiny_models.py) on that tokenizer, saved as safetensors."""
    from tiny_models import make_tiny_causal_lm

    tok = save_word_tokenizer(tmp_path_factory.mktemp("tok"))
    return make_tiny_causal_lm(tmp_path_factory.mktemp("m") / "tuned", tok, arch="qwen3")


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory) -> Path:
    return write_results(tmp_path_factory.mktemp("bench"))


def opts(model: Path, results: Path, **kw) -> ModelRelease:
    base = dict(model=model, repo_id="org/GlobMed-Tiny", results=results, name="tuned", base_name="base",
                base_model="Qwen/Qwen3-8B", dataset_repo_id="org/globmed", langs=["en", "sw", "yo"])
    base.update(kw)
    return ModelRelease(**base)


def broken_copy(model_dir: Path, tmp: Path) -> Path:
    dst = tmp / "tuned"
    shutil.copytree(model_dir, dst)
    return dst


def release_fails(o: ModelRelease, gate: str, message: str) -> None:
    with pytest.raises(GlobmedError) as err:
        release_model(o, echo=lambda s: None)
    text = str(err.value)
    assert "nothing was uploaded" in text and f"[{gate}]" in text and message in text, text


def test_gate_safetensors_only_fails_for_pickle_weights(model_dir, bench_dir, tmp_path):
    m = broken_copy(model_dir, tmp_path)
    (m / "pytorch_model.bin").write_bytes(b"pickle")
    release_fails(opts(m, bench_dir, dry_run=True), "safetensors_only", "pytorch_model.bin: pickle-based weights")


def test_gate_loads_fails_for_a_broken_config(model_dir, bench_dir, tmp_path):
    m = broken_copy(model_dir, tmp_path)
    (m / "config.json").write_text("{not json")
    release_fails(opts(m, bench_dir, dry_run=True), "loads", "from_pretrained(")


def test_gate_chat_template_fails_without_one(model_dir, bench_dir, tmp_path):
    m = broken_copy(model_dir, tmp_path)
    (m / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((m / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (m / "tokenizer_config.json").write_text(json.dumps(cfg))
    release_fails(opts(m, bench_dir, dry_run=True), "chat_template", "the tokenizer has no chat template")


def test_gate_end_of_turn_fails_when_eos_is_not_the_turn_end(model_dir, bench_dir, tmp_path):
    m = broken_copy(model_dir, tmp_path)
    gen = json.loads((m / "generation_config.json").read_text())
    gen["eos_token_id"] = 0
    (m / "generation_config.json").write_text(json.dumps(gen))
    release_fails(opts(m, bench_dir, dry_run=True), "end_of_turn", "does not include the end-of-turn token '<|im_end|>'")


def test_gate_bench_results_fails_for_a_missing_language(model_dir, bench_dir):
    release_fails(opts(model_dir, bench_dir, dry_run=True, langs=["en", "sw", "yo", "zu"]), "bench_results",
                  "model 'tuned' mode 'letter': no bench results for zu")


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with local_hub(monkeypatch, SENTINEL) as server:
        yield server


def test_model_release_is_one_commit_with_card_model_index_and_eval_results(model_dir, bench_dir, hub, tmp_path):
    from huggingface_hub import HfApi, parse_eval_result_entries

    hub.seed("model", "org/GlobMed-Tiny", {"README.md": b"---\nthumbnail: cover.png\nlicense: mit\n---\n\nold\n"})
    recipe = tmp_path / "lora.yaml"
    recipe.write_text("model_name_or_path: Qwen/Qwen3-8B\nlearning_rate: 0.0002\nuse_peft: true\n")
    lines: list[str] = []
    release_model(opts(model_dir, bench_dir, recipe=recipe), api=HfApi(endpoint=hub.endpoint), echo=lines.append)
    assert len(hub.commits) == 1
    files = hub.commits[0].files
    local = {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file()}
    assert local <= set(files) and "model.safetensors" in files
    assert {".eval_results/globmed-bench_letter.yaml", ".eval_results/globmed-bench_cloze.yaml", "README.md",
            "globmed_bench_summary.json"} <= set(files)
    card = files["README.md"].decode()
    meta, body = split_card(card)
    assert meta["thumbnail"] == "cover.png"  # kept from the Hub
    assert meta["license"] == "apache-2.0" and meta["base_model"] == "Qwen/Qwen3-8B"
    results = meta["model-index"][0]["results"]
    sw_letter = next(r for r in results if r["dataset"]["config"] == "sw" and "letter" in r["metrics"][0]["name"])
    assert sw_letter["metrics"][0]["value"] == 0.5
    # per language base vs model, tier averages and the tier gap, in percent
    assert "| Swahili (`sw`) | low | 4 | 25.0 | 50.0 | +25.0 |" in body
    assert "| **low-resource average** | | | 37.5 | 75.0 | +37.5 |" in body
    assert "| **tier gap (high - low)** | | | 37.5 | 25.0 | -12.5 |" in body
    assert "Not for clinical decisions" in body and "learning_rate: 0.0002" in body
    entries = parse_eval_result_entries(yaml.safe_load(files[".eval_results/globmed-bench_letter.yaml"]))
    assert {(e.dataset_id, e.task_id, e.value) for e in entries} == {
        ("org/globmed", "en", 1.0), ("org/globmed", "sw", 0.5), ("org/globmed", "yo", 1.0)}
    assert SENTINEL not in "\n".join(lines) and all(SENTINEL.encode() not in b for b in files.values())


def test_model_gate_failure_uploads_nothing(model_dir, bench_dir, hub):
    from huggingface_hub import HfApi

    with pytest.raises(GlobmedError, match="bench_results"):
        release_model(opts(model_dir, bench_dir, langs=["en", "de"]), api=HfApi(endpoint=hub.endpoint),
                      echo=lambda s: None)
    assert hub.commits == [] and hub.requests == []


def test_card_shows_every_trained_language_and_the_rows_after_upsampling(model_dir, bench_dir, tmp_path):
    """The card's `language:` is what the model trained on (12), not only what was benched (3); the
    mixture is shown as entries and as rows after low-resource upsampling, from the run's record; the
    run's settings stand in for a recipe that was not passed; no 'base is base' sentence."""
    from conftest import run_cli

    from globmed.train.config import GlobmedDataArguments
    from globmed.train.data import build_mixture
    from globmed.train.record import mixture_record, write_record

    build = tmp_path / "build"
    run_cli("build", "--source", "demo", "--profile", "paper", "--no-quality", "--out", str(build), "--workers", "1")
    args = GlobmedDataArguments(low_resource_upsample=2.0)
    mixture = build_mixture(str(build), "all", args, eval_split=None)
    model = broken_copy(model_dir, tmp_path)
    write_record(model, mixture_record(mixture.counts, args, "Qwen/Qwen3-8B", str(build), "all", 6,
                                       {"learning_rate": 0.0001, "max_steps": 6, "low_resource_upsample": 2.0}))
    plan = release_model(opts(model, bench_dir, dataset=build, dry_run=True, compare_with_hub=False),
                         echo=lambda s: None)
    meta, body = split_card(plan.card_after)
    report = json.loads((build / "build_report.json").read_text())
    trained = list(report["counts"]["by_language"])
    assert len(trained) == 12 and set(meta["language"]) == set(trained)
    entries = report["counts"]["by_split"]["train"]
    rows = len(mixture.train)
    assert rows > entries  # the four low-resource languages count twice
    assert f"Data mixture: {entries:,} entries of the train split (a DEMO build),\ntrained on as {rows:,} rows" in body
    sw = report["counts"]["by_language"]["sw"]["train"]
    assert f"| `sw` | {sw} | {2 * sw} |" in body
    assert "learning_rate: 0.0001" in body and "not recorded" not in body
    assert "`base` scored the same way" not in body
    assert 'The "base" column is the model before fine-tuning (`Qwen/Qwen3-8B`)' in body
