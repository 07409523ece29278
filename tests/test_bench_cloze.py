"""The standard cloze formulation and the listed-options variant on a tiny random Qwen3, checked
against log-likelihood sums computed by hand from a plain forward pass of the exact token sequence."""

from __future__ import annotations

import json

import pytest
from bench_fixtures import bench_build  # noqa: F401 (fixture)

torch = pytest.importorskip("torch")

from globmed.bench.backends.hf import TransformersBackend  # noqa: E402
from globmed.bench.prompting import chat_text, cloze_request, listed_request  # noqa: E402
from globmed.bench.report import language_table  # noqa: E402
from globmed.bench.results import ResultStore, iter_records  # noqa: E402
from globmed.bench.scoring import MODES, RECORD_MODES, SCORERS, score_cloze, score_cloze_listed  # noqa: E402
from globmed.prompts import build_cloze_messages, render_cloze_plain, render_question  # noqa: E402

# Yoruba options: characters != UTF-8 bytes, so the per-character normalisation is visible
YO = {"id": "demo/yo/q1", "lang": "yo", "task": "mcq", "question": "Kí ni ó ń fa ibà?", "context": "",
      "options": ["Kòkòrò àrùn", "Omi tútù", "Oòrùn", "Ìdárayá"], "answer": ["A"]}
EN = {"id": "demo/en/q2", "lang": "en", "task": "yes_no_maybe", "question": "Does aspirin lower fever?",
      "context": "A small trial.", "options": ["yes", "no", "maybe"], "answer": ["yes"]}
ZH = {"id": "demo/zh/q3", "lang": "zh", "task": "mcq", "question": "发热最常见的原因是什么？", "context": "",
      "options": ["感染", "寒冷", "运动"], "answer": ["A"]}


@pytest.fixture(scope="module")
def chat_backend(tiny_qwen3_dir):
    return TransformersBackend(tiny_qwen3_dir, token_budget=2048)


@pytest.fixture(scope="module")
def plain_backend(tiny_qwen3_dir):
    return TransformersBackend(tiny_qwen3_dir, token_budget=2048, chat=False)


def _hand_sum(model, ctx: list[int], cont: list[int]) -> float:
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ctx + cont])).logits[0].float(), -1)
    return sum(float(logp[len(ctx) - 1 + j, t]) for j, t in enumerate(cont))


def test_cloze_prompt_shows_no_options_and_ends_with_the_answer_phrase():
    assert render_cloze_plain(EN) == ("Read the context and answer the question with yes, no or maybe.\n\n"
                                      "Context: A small trial.\nQuestion: Does aspirin lower fever?\nAnswer:")
    assert render_cloze_plain(YO) == "Ìbéèrè: Kí ni ó ń fa ibà?\nÌdáhùn:"  # mcq: no letter instruction
    ctx, conts = cloze_request(YO, None)
    assert ctx == render_cloze_plain(YO) and conts == [" Kòkòrò àrùn", " Omi tútù", " Oòrùn", " Ìdárayá"]
    assert cloze_request(ZH, None) == ("问题：发热最常见的原因是什么？\n答案：", ["感染", "寒冷", "运动"])  # no space after ：
    # one shot: its reply is the answer phrase and the correct option's TEXT
    shot = {**EN, "question": "Shot?", "answer": ["no"]}
    assert render_cloze_plain(EN, [shot]).startswith(
        "Read the context and answer the question with yes, no or maybe.\n\nContext: A small trial.\n"
        "Question: Shot?\nAnswer: no\n\n")
    msgs = build_cloze_messages(EN, [shot])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[2]["content"] == "Answer: no" and "A. " not in msgs[3]["content"]
    # the listed variant: the lettered question, the same continuations
    ctx, conts = listed_request(EN, None)
    assert ctx == render_question(EN) + "\nAnswer:" and conts == [" yes", " no", " maybe"]


@pytest.mark.parametrize("form", ["chat", "plain"])
def test_standard_cloze_matches_hand_computed_sums_and_per_character_norm(form, chat_backend, plain_backend):
    backend = chat_backend if form == "chat" else plain_backend
    tok, model = backend.tokenizer, backend.model
    recs = score_cloze(backend, [YO, EN, ZH], {})
    assert [r["mode"] for r in recs] == ["cloze", "cloze_norm"] * 3
    for item, raw_rec, norm_rec in zip([YO, EN, ZH], recs[::2], recs[1::2], strict=True):
        sep = "" if item["lang"] == "zh" else " "
        answer = {"yo": "Ìdáhùn:", "en": "Answer:", "zh": "答案："}[item["lang"]]
        head = (chat_text(tok, build_cloze_messages(item)) + answer) if form == "chat" else render_cloze_plain(item)
        assert head.endswith(answer) and "A. " not in head
        ctx = tok(head, add_special_tokens=False)["input_ids"]
        raw = []
        for text in item["options"]:
            cont = tok(head + sep + text, add_special_tokens=False)["input_ids"][len(ctx):]
            assert tok(head + sep + text, add_special_tokens=False)["input_ids"][: len(ctx)] == ctx
            raw.append(_hand_sum(model, ctx, cont))
        assert raw_rec["scores"] == pytest.approx(raw, abs=5e-4)
        chars = [len(t) for t in item["options"]]
        assert norm_rec["scores"] == pytest.approx([v / n for v, n in zip(raw, chars, strict=True)], abs=5e-5)
        assert raw_rec["cloze_form"] == norm_rec["cloze_form"] == "cloze" and norm_rec["norm"] == "chars"
        best = max(range(len(raw)), key=lambda i: raw[i])
        assert raw_rec["pred"] == ["ABCD"[best]]
    # Yoruba: the per-character norm is not the per-byte one
    yo_raw = recs[0]["scores"]
    assert recs[1]["scores"] != pytest.approx([v / len(t.encode()) for v, t in zip(yo_raw, YO["options"], strict=True)])


def test_listed_variant_scores_the_options_after_the_lettered_prompt(chat_backend):
    tok, model = chat_backend.tokenizer, chat_backend.model
    recs = score_cloze_listed(chat_backend, [EN], {})
    assert [r["mode"] for r in recs] == ["cloze_listed", "cloze_listed_norm"]
    head = chat_text(tok, [{"role": "system", "content": "You are a medical expert. Answer the question accurately."},
                           {"role": "user", "content": render_question(EN)}]) + "Answer:"
    ctx = tok(head, add_special_tokens=False)["input_ids"]
    raw = [_hand_sum(model, ctx, tok(head + " " + t, add_special_tokens=False)["input_ids"][len(ctx):])
           for t in EN["options"]]
    assert recs[0]["scores"] == pytest.approx(raw, abs=5e-4)
    assert recs[1]["scores"] == pytest.approx([v / len(t) for v, t in zip(raw, EN["options"], strict=True)], abs=5e-5)


def test_shared_context_path_scores_as_each_request_alone(chat_backend, monkeypatch):
    """Options of one item share their context: run once, continuations on its cache. The numbers
    are those of the plain per-request path, whatever the batch mixes (contexts of several lengths)."""
    requests = []
    for item in (YO, EN, ZH):
        ctx, conts = cloze_request(item, chat_backend.tokenizer)
        requests += [(ctx, c) for c in conts]
    requests.append(("Question: alone\nAnswer:", " once"))  # a context of its own: the plain path
    shared = chat_backend.loglik(requests)
    monkeypatch.setattr(chat_backend, "_prefix_sharing", lambda: False)
    alone = chat_backend.loglik(requests)
    assert shared == pytest.approx(alone, abs=2e-4)


def test_old_cloze_records_are_read_as_the_listed_variant(tmp_path):
    """Files written before the standard formulation hold the listed variant as cloze/cloze_norm."""
    path = tmp_path / "results" / "m.jsonl"
    path.parent.mkdir()
    base = {"id": "demo/en/q1", "lang": "en", "task": "mcq", "gold": ["A"], "pred": ["A"], "correct": True,
            "score": 1.0, "model": "m", "shots": 0}
    old = [{**base, "mode": m, "key": f"{m}|k0|demo/en/q1"} for m in ("cloze", "cloze_norm")]
    new = [{**base, "mode": m, "key": f"{m}|k0|demo/en/q1", "cloze_form": "cloze", "score": 0.0}
           for m in ("cloze", "cloze_norm")]
    path.write_text("".join(json.dumps(r) + "\n" for r in old), encoding="utf-8")
    store = ResultStore(path)
    assert store.done == {"cloze_listed|k0|demo/en/q1", "cloze_listed_norm|k0|demo/en/q1"}
    assert store.append(new) == 2  # a new standard cloze run is not mistaken as done
    recs = list(iter_records(path))
    assert [r["mode"] for r in recs] == ["cloze_listed", "cloze_listed_norm", "cloze", "cloze_norm"]
    assert recs[1]["norm"] == "bytes" and recs[0]["cloze_form"] == "cloze_listed"
    _, rows = language_table(recs)
    assert {r["mode"]: r["en"] for r in rows} == {"cloze_listed": 1.0, "cloze_listed_norm": 1.0, "cloze": 0.0,
                                                  "cloze_norm": 0.0}


def test_every_mode_has_a_scorer_and_record_modes():
    assert set(MODES) == set(SCORERS) == set(RECORD_MODES)
    assert RECORD_MODES["cloze_listed"] == ("cloze_listed", "cloze_listed_norm")


def test_export_lm_eval_writes_every_loglik_formulation(tmp_path, bench_build, smol_tokenizer_dir):  # noqa: F811
    import yaml
    from transformers import AutoTokenizer

    from globmed.bench.data import load_items
    from globmed.bench.lm_eval_export import export_lm_eval

    out = tmp_path / "tasks"
    export_lm_eval(bench_build, ["en", "sw"], out, tokenizer=str(smol_tokenizer_dir))
    tok = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    items = {i["id"]: i for i in load_items(bench_build, "sw")}
    for form, build in (("cloze", cloze_request), ("cloze_listed", listed_request)):
        group = yaml.safe_load((out / f"globmed_{form}.yaml").read_text())
        assert group["task"] == [f"globmed_{form}_en", f"globmed_{form}_sw"]
        assert [m["metric"] for m in group["aggregate_metric_list"]] == ["acc", "acc_norm"]
        cfg = yaml.safe_load((out / f"globmed_{form}_sw.yaml").read_text())
        assert (cfg["doc_to_choice"], cfg["target_delimiter"]) == ("choices", " ")
        docs = [json.loads(x) for x in (out / "data" / form / "sw.jsonl").read_text().splitlines()]
        assert len(docs) == 13  # the multi-answer item is left out
        for doc in docs:
            item = items[doc["id"]]
            ctx, conts = build(item, tok)
            # lm-eval scores target_delimiter + choice after the prompt: exactly our request
            assert doc["prompt"] == ctx and [" " + c for c in doc["choices"]] == conts
            assert doc["gold"] == "ABCDEFG".index(correct_letters_of(item))
    assert (out / "globmed.yaml").exists() and (out / "globmed_sw.yaml").exists()  # the letter tasks as before


def correct_letters_of(item):
    from globmed.prompts import correct_letters

    return correct_letters(item)[0]
