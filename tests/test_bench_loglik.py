"""The packed log-likelihood path (shared head once per group, then one row per context holding all
its continuations under a 4D mask) against the plain left-padded path and against a naive forward
pass of each request alone, on tiny random Qwen3 and Llama models built from a config."""

from __future__ import annotations

import functools

import pytest

torch = pytest.importorskip("torch")

from globmed.bench.backends.hf import TransformersBackend  # noqa: E402
from globmed.bench.tokens import split_pair  # noqa: E402

EN_HEAD = "You are a careful medical expert. Read the question and answer it with the best option.\n\nQuestion: "
SW_HEAD = "Wewe ni mtaalamu wa afya. Soma swali na ujibu kwa chaguo bora zaidi.\n\nSwali: "
OPTIONS = [" yes", " no", " a much longer option, with several words and punctuation in it", " maybe so"]


def _requests() -> list[tuple[str, str]]:
    reqs = []
    for n, q in enumerate(["What lowers a fever?", "Which organ makes insulin?", "Is malaria spread by mosquitoes?"]):
        reqs += [(f"{EN_HEAD}{q}\nAnswer:", o) for o in OPTIONS[: 4 - n % 2]]
    for q in ["Nini husababisha homa?", "Kiungo gani hutengeneza insulini kwa mwili wa binadamu?"]:
        reqs += [(f"{SW_HEAD}{q}\nJibu:", o) for o in (" ndiyo", " hapana", " labda ni kweli kabisa")]
    reqs.append(("Pregunta: ¿qué es la fiebre?\nRespuesta:", " una temperatura alta"))  # a group of size 1
    reqs.append(("Pregunta: ¿qué es la fiebre?\nRespuesta:", " una temperatura alta"))  # the same request twice
    reqs.append(("", " hello"))  # no context: the BOS (or pad) token stands for it
    return reqs


def _naive(backend: TransformersBackend, ctx: str, cont: str) -> float:
    """Sum of log-probabilities of ``cont`` after ``ctx`` from one unpadded forward pass of this request."""
    c, t = split_pair(backend.encode(ctx), backend.encode(ctx + cont))
    c = c or [backend.tokenizer.bos_token_id if backend.tokenizer.bos_token_id is not None else backend.pad_id]
    with torch.no_grad():
        logp = torch.log_softmax(backend.model(torch.tensor([c + t])).logits[0].float(), -1)
    return sum(float(logp[len(c) - 1 + j, tok]) for j, tok in enumerate(t))


@pytest.fixture(scope="module", params=["qwen3", "llama"])
def backend(request, tmp_path_factory, smol_tokenizer_dir):
    from tiny_models import make_tiny_causal_lm

    folder = make_tiny_causal_lm(tmp_path_factory.mktemp(f"tiny-{request.param}"), smol_tokenizer_dir,
                                 arch=request.param, seed=3)
    return TransformersBackend(folder, token_budget=2048)


def test_packed_path_scores_each_request_as_alone_and_runs_every_token_once(backend, monkeypatch):
    reqs = _requests()
    calls = []
    decoder = backend.model.get_decoder()
    forward = decoder.forward

    @functools.wraps(forward)  # the backend reads the cache argument's name from the signature
    def spy(*args, **kwargs):
        mask = kwargs.get("attention_mask")
        calls.append((tuple(kwargs["input_ids"].shape), None if mask is None else mask.dim()))
        return forward(*args, **kwargs)

    monkeypatch.setattr(decoder, "forward", spy)
    monkeypatch.setattr(backend, "token_budget", 64)  # several batches per head
    packed = backend.loglik(reqs)
    monkeypatch.undo()
    assert backend._packing(200)
    heads = [shape for shape, mask in calls if mask is None]
    rows = sum(shape[0] for shape, mask in calls if mask == 4)
    assert len(heads) == 2 and all(shape[0] == 1 for shape in heads)  # the English and the Swahili head, once each
    assert rows == len({c for c, _ in reqs})  # one row per distinct context, its continuations inside it
    assert len([shape for shape, mask in calls if mask == 4]) > 3  # the small budget cut several batches

    monkeypatch.setattr(backend, "_packing", lambda longest: False)
    plain = backend.loglik(reqs)
    naive = [_naive(backend, c, t) for c, t in reqs]
    assert packed == pytest.approx(naive, abs=1e-4)
    assert plain == pytest.approx(naive, abs=1e-4)
    assert packed[-3] == pytest.approx(packed[-2], abs=1e-5)  # a repeated request scores the same


def test_packed_path_does_not_depend_on_the_batch(backend):
    """One context alone, with its group, or in a batch of unrelated ones: the same numbers."""
    reqs = _requests()
    together = backend.loglik(reqs)
    for k in (0, len(reqs) - 4, len(reqs) - 1):
        assert backend.loglik([reqs[k]]) == pytest.approx([together[k]], abs=1e-4)


def test_sliding_window_shorter_than_a_request_takes_the_plain_path(backend, monkeypatch):
    monkeypatch.setattr(backend.model.config, "sliding_window", 16, raising=False)
    assert backend._packing(16) and not backend._packing(17)
    monkeypatch.setattr(backend.model.config, "_attn_implementation", "flash_attention_2", raising=False)
    assert not backend._packing(4)  # no custom 4D masks there


def test_a_request_asked_twice_is_run_once(backend, monkeypatch):
    """Items that share their context and options (the same question in another option order) ask
    the same requests: each distinct continuation runs once in its context's row (lm-eval, too,
    computes identical requests once)."""
    ctx, x, y = "Question: what lowers a fever?\nAnswer:", " paracetamol taken with water", " rest"
    widths = []
    decoder = backend.model.get_decoder()
    forward = decoder.forward

    @functools.wraps(forward)
    def spy(*args, **kwargs):
        widths.append(tuple(kwargs["input_ids"].shape))
        return forward(*args, **kwargs)

    monkeypatch.setattr(decoder, "forward", spy)
    got = backend.loglik([(ctx, x), (ctx, y), (ctx, x), (ctx, y), (ctx, x)])
    monkeypatch.undo()
    n = [len(split_pair(backend.encode(ctx), backend.encode(ctx + c))[i]) for c in (x, y) for i in (0, 1)]
    assert widths == [(1, n[0] + n[1] - 1 + n[3] - 1)]  # one row: the context, then x and y but their last tokens
    assert got == pytest.approx([_naive(backend, ctx, x), _naive(backend, ctx, y)] * 2 + [_naive(backend, ctx, x)],
                                abs=1e-4)
