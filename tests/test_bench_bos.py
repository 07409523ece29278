"""Plain prompts begin as the tokenizer begins them (a Llama-style BOS), chat prompts keep the one
BOS their template writes: the bench never drops or doubles it."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from globmed.bench.backends.hf import TransformersBackend  # noqa: E402


@pytest.fixture(scope="module")
def bos_model_dir(tmp_path_factory, smol_tokenizer_dir):
    """A tiny Llama whose tokenizer adds a BOS before every text, as Llama's own tokenizers do."""
    from tiny_models import make_tiny_causal_lm
    from tokenizers.processors import TemplateProcessing
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    bos = "<|endoftext|>"
    tok.bos_token = bos
    tok.backend_tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.convert_tokens_to_ids(bos))])
    folder = tmp_path_factory.mktemp("bos-tokenizer")
    tok.save_pretrained(folder)
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny-llama-bos"), folder, arch="llama")


def test_plain_prompts_start_with_the_tokenizers_bos(bos_model_dir):
    be = TransformersBackend(bos_model_dir, chat=False)
    tok = be.tokenizer
    bos = tok.bos_token_id
    prompt = "Question: What lowers blood sugar?\nAnswer:"
    assert tok(prompt)["input_ids"][0] == bos
    assert be.leading_special == [bos]
    assert be.encode(prompt) == tok(prompt)["input_ids"]
    # a text that already opens with the BOS (a rendered chat template) keeps exactly one
    ids = be.encode(tok.bos_token + prompt)
    assert ids[0] == bos and ids[1] != bos and ids == tok(prompt)["input_ids"]
    # cloze log-likelihood: the continuation is scored after the BOS-led context, the same as scoring
    # the pair built by hand from tokenizer(context)
    got = be.loglik([("Question: x\nAnswer:", " insulin")])[0]
    import torch

    ctx, full = tok("Question: x\nAnswer:")["input_ids"], tok("Question: x\nAnswer: insulin")["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(be.model(torch.tensor([full])).logits[0].float(), -1)
    want = sum(float(logp[i - 1, full[i]]) for i in range(len(ctx), len(full)))
    assert got == pytest.approx(want, abs=1e-4)


def test_tokenizers_without_a_bos_are_left_alone(tiny_qwen3_dir):
    be = TransformersBackend(tiny_qwen3_dir, chat=False)
    prompt = "Question: What lowers blood sugar?\nAnswer:"
    assert be.leading_special == []
    assert be.encode(prompt) == be.tokenizer(prompt, add_special_tokens=False)["input_ids"]
