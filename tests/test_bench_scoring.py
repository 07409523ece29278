"""GlobMed-Bench scoring on a tiny random Qwen3, checked against log-softmax computed by hand."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bench_fixtures import bench_build  # noqa: F401 (fixture)
from conftest import REPO, run_cli

torch = pytest.importorskip("torch")

from globmed.bench.backends.hf import TransformersBackend, resolve_model_path  # noqa: E402
from globmed.bench.data import load_items, load_shots  # noqa: E402
from globmed.bench.prompting import generation_prompt, letter_prompt  # noqa: E402
from globmed.bench.registry import adhoc_spec  # noqa: E402
from globmed.bench.results import iter_records  # noqa: E402
from globmed.bench.runner import BenchOptions, run_bench, run_model  # noqa: E402
from globmed.bench.scoring import score_generative, score_generative_cot  # noqa: E402
from globmed.errors import GlobmedError  # noqa: E402
from globmed.prompts import (  # noqa: E402
    answer_prefix,
    build_messages,
    correct_letters,
    cot_instruction,
    option_texts,
)


@pytest.fixture(scope="module")
def backend(tiny_qwen3_dir):
    return TransformersBackend(tiny_qwen3_dir, token_budget=2048)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_qwen3_dir, bench_build):  # noqa: F811
    out = tmp_path_factory.mktemp("bench-run")
    spec = adhoc_spec(str(tiny_qwen3_dir), modes=["letter", "cloze_listed", "generative"], name="tiny")
    spec.max_new_tokens = 8
    run_bench([spec], BenchOptions(dataset=bench_build, langs=["en", "sw"], out=out, chunk=5, progress=False))
    return out


def _records(out: Path) -> dict[str, dict]:
    return {r["key"]: r for r in iter_records(out / "results" / "tiny.jsonl")}


def _logsoftmax_last(model, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return torch.log_softmax(model(torch.tensor([ids])).logits[0, -1].float(), -1)


def test_letter_prompt_is_the_training_text_cut_before_the_letter(backend, bench_build):  # noqa: F811
    tok = backend.tokenizer
    item = load_items(bench_build, "sw", ["yes_no_maybe"])[0]
    train_text = tok.apply_chat_template(build_messages(item, with_answer=True), tokenize=False)
    prompt = letter_prompt(item, tok)
    assert prompt.endswith("Jibu: ") and train_text.startswith(prompt)
    assert train_text[len(prompt)] == correct_letters(item)[0]


def test_letter_scores_match_a_hand_computed_forward_pass(backend, run_dir, bench_build):  # noqa: F811
    recs = _records(run_dir)
    tok, model = backend.tokenizer, backend.model
    items = load_items(bench_build, "en")[:3] + load_items(bench_build, "sw")[:2]
    for item in items:
        prompt = letter_prompt(item, tok)
        assert prompt.endswith(answer_prefix("en" if item["lang"] == "en" else "sw") + " ")
        # the trained text has " B" as one token right after "Answer:"
        ctx = tok(prompt.rstrip(" "), add_special_tokens=False)["input_ids"]
        logp = _logsoftmax_last(model, ctx)
        letters = "ABCDEFG"[: len(item["options"])]
        expected = [float(logp[tok.convert_tokens_to_ids("Ġ" + x)]) for x in letters]
        rec = recs[f"letter|k0|{item['id']}"]
        assert rec["scores"] == pytest.approx(expected, abs=2e-4)
        k = len(item["answer"]) if item["task"] == "mcq" else 1
        top = sorted(sorted(range(len(expected)), key=lambda i: -expected[i])[:k])
        assert rec["pred"] == [letters[i] for i in top]
        assert rec["correct"] == (rec["pred"] == correct_letters(item))


def test_listed_cloze_scores_match_hand_computed_sums(backend, run_dir, bench_build):  # noqa: F811
    recs = _records(run_dir)
    tok, model = backend.tokenizer, backend.model
    for item in load_items(bench_build, "en")[:3]:
        prompt = letter_prompt(item, tok)
        ctx = tok(prompt.rstrip(" "), add_special_tokens=False)["input_ids"]
        raw = []
        texts = option_texts(item)
        for text in texts:
            cont = tok(" " + text, add_special_tokens=False)["input_ids"]
            assert tok(prompt + text, add_special_tokens=False)["input_ids"] == ctx + cont
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([ctx + cont])).logits[0].float(), -1)
            raw.append(sum(float(logp[len(ctx) - 1 + j, t]) for j, t in enumerate(cont)))
        assert recs[f"cloze_listed|k0|{item['id']}"]["scores"] == pytest.approx(raw, abs=5e-4)
        norm = [v / len(t) for v, t in zip(raw, texts, strict=True)]  # per character
        assert recs[f"cloze_listed_norm|k0|{item['id']}"]["scores"] == pytest.approx(norm, abs=5e-5)


def test_multi_answer_items_are_scored_by_exact_set_match(run_dir, bench_build):  # noqa: F811
    recs = _records(run_dir)
    multi = next(i for i in load_items(bench_build, "en") if len(i["answer"]) > 1)
    for mode in ("letter", "cloze_listed", "cloze_listed_norm"):
        rec = recs[f"{mode}|k0|{multi['id']}"]
        assert rec["gold"] == ["A", "C"] and len(rec["pred"]) == 2
        assert rec["correct"] == (rec["pred"] == ["A", "C"])
    # a prediction of only one of the two correct letters is wrong
    from globmed.bench.scoring import _closed

    assert not _closed(multi, "generative", ["A"])["correct"]
    assert _closed(multi, "generative", ["C", "A"])["correct"]


def test_generative_replies_are_extracted_or_counted_unparsed(run_dir):
    gen = [r for r in _records(run_dir).values() if r["mode"] == "generative"]
    assert len(gen) == 28

    for r in gen:
        assert r["unparsed"] == (r["pred"] is None)
        if r["unparsed"]:
            assert r["correct"] is False and r["rule"] == "unparsed"


class _Canned:
    """A backend whose replies are fixed, to check the generative path end to end."""

    tokenizer, chat = None, True

    def __init__(self, replies):
        self.replies, self.seen = replies, []

    def generate(self, prompts, max_new_tokens=64, progress=False):
        self.seen.extend(prompts)
        self.budgets = getattr(self, "budgets", []) + [max_new_tokens]
        return self.replies[: len(prompts)]

    def close(self):
        pass


def test_generative_scoring_with_canned_replies(bench_build):  # noqa: F811
    items = load_items(bench_build, "sw", ["yes_no_maybe"])[:3]
    golds = [correct_letters(i)[0] for i in items]
    replies = [f"Jibu: {golds[0]}", "labda au hapana", option_texts(items[2])["ABC".index(golds[2])]]
    be = _Canned(replies)
    recs = score_generative(be, items, {})
    assert [r["correct"] for r in recs] == [True, False, True]
    assert [r["rule"] for r in recs] == ["answer_phrase", "unparsed", "option_text"]
    assert be.seen[0] == build_messages(items[0])


def test_cot_prompts_carry_the_wording_and_only_a_final_answer_counts(bench_build):  # noqa: F811
    items = load_items(bench_build, "sw", ["yes_no_maybe"])[:3] + load_items(bench_build, "sw", ["mcq"])[:2]
    golds = [correct_letters(i)[0] for i in items]
    wrong = next(x for x in "ABC" if x != golds[2])
    replies = [
        f"Tuangalie muktadha.\nJibu {wrong} si sahihi kwa sababu...\nJibu: {golds[0]}",  # reasoning, then the answer
        f"{golds[1]}. Tuangalie muktadha kwanza... jibu {golds[1]} linaonekana sahihi",  # never concludes
        f"Hatua ya kwanza...\n**Jibu:** {wrong}",  # a wrong final answer
        "Answer: A",  # another language's answer phrase: not the Swahili final answer
        f"Hatua ya kwanza...\n{golds[4]}",  # a bare letter as the last line
    ]
    be = _Canned(replies)
    recs = score_generative_cot(be, items, {}, max_new_tokens=300)
    assert be.budgets == [300]
    for item, prompt in zip(items, be.seen, strict=True):
        assert prompt == build_messages(item, cot=True)
        assert prompt[-1]["content"].endswith("\n\n" + cot_instruction("sw", item["task"]))
        assert "Jibu: <herufi>" in prompt[-1]["content"]
    assert [r["mode"] for r in recs] == ["generative_cot"] * 5
    assert [r["pred"] for r in recs] == [[golds[0]], None, [wrong], None, [golds[4]]]
    assert [r["correct"] for r in recs] == [True, False, False, False, True]
    assert [r["unparsed"] for r in recs] == [False, True, False, True, False]
    assert [r["score"] for r in recs] == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert [r["rule"] for r in recs] == ["answer_phrase", "unparsed", "answer_phrase", "unparsed", "bare_letter"]
    assert recs[0]["response"] == replies[0]
    # the plain generative mode reads the second reply's opening letter: CoT does not
    assert score_generative(_Canned(replies[1:2]), items[1:2], {})[0]["pred"] == [golds[1]]


def test_cot_open_questions_are_scored_on_the_final_answer():
    item = {"id": "q/en/1", "lang": "en", "task": "open_qa", "question": "How is a fever treated?", "context": "",
            "options": [], "answer": ["Take paracetamol to lower the fever"], "explanation": ""}
    be = _Canned(["Fever is a symptom. Step 1...\nAnswer: paracetamol lowers fever", "Paracetamol lowers fever"])
    recs = score_generative_cot(be, [item, {**item, "id": "q/en/2"}], {})
    assert be.seen[0][-1]["content"].endswith(cot_instruction("en", "open_qa"))
    # LCS(paracetamol lowers fever | take paracetamol to lower the fever) = 2: P = 2/3, R = 2/6
    assert recs[0]["pred"] == "paracetamol lowers fever" and recs[0]["score"] == pytest.approx(4 / 9)
    assert recs[0]["unparsed"] is False and 0 < recs[0]["chrf"] < 100
    # no answer phrase: unparsed, scored 0 (the reasoning is not the answer)
    assert recs[1]["unparsed"] is True
    assert (recs[1]["pred"], recs[1]["score"], recs[1]["chrf"]) == ("", 0.0, 0.0)


class _Echo(_Canned):
    """Answers the open question in words and any other with "B"; records each call's budget."""

    def __init__(self):
        super().__init__([])

    def generate(self, prompts, max_new_tokens=64, progress=False):
        self.seen.extend(prompts)
        self.budgets = getattr(self, "budgets", []) + [(max_new_tokens, len(prompts))]
        return ["fever treated with paracetamol" if "paracetamol" in p[-1]["content"] else "B" for p in prompts]


def test_open_answers_get_their_own_reply_budget():
    base = {"lang": "en", "context": "", "explanation": ""}
    mcq = {**base, "task": "mcq", "question": "Which one?", "options": ["x", "y", "z"], "answer": "B"}
    items = [{**mcq, "id": "q/en/1"},
             {**base, "id": "q/en/2", "task": "open_qa", "question": "fever treated with paracetamol",
              "options": [], "answer": ["fever treated with paracetamol"]},
             {**mcq, "id": "q/en/3"}]
    be = _Echo()
    recs = score_generative(be, items, {}, max_new_tokens=8, open_max_new_tokens=300)
    assert be.budgets == [(8, 2), (300, 1)]  # closed items at 8 tokens, the open one at 300
    assert [r["id"] for r in recs] == ["q/en/1", "q/en/2", "q/en/3"]  # replies back in item order
    assert recs[0]["pred"] == recs[2]["pred"] == ["B"]
    assert recs[1]["pred"] == "fever treated with paracetamol" and recs[1]["score"] == 1.0
    be = _Echo()
    score_generative(be, items, {}, max_new_tokens=8)  # no open budget: one call, one budget
    assert be.budgets == [(8, 3)]
    spec = adhoc_spec("m", modes=["generative", "generative_cot"])
    assert spec.budgets_for("generative") == {"max_new_tokens": 32, "open_max_new_tokens": 256}
    assert spec.budgets_for("generative_cot") == {"max_new_tokens": 512}
    with pytest.raises(GlobmedError, match="open_max_new_tokens must be a positive integer"):
        adhoc_spec("m").__class__(name="m", backend="openai", model="x", open_max_new_tokens=0)


def test_cot_prompt_for_local_models(backend, bench_build):  # noqa: F811
    item = load_items(bench_build, "sw", ["mcq"])[0]
    cot = cot_instruction("sw", "mcq")
    chat = generation_prompt(item, backend.tokenizer, cot=True)
    assert chat == backend.tokenizer.apply_chat_template(build_messages(item, cot=True), add_generation_prompt=True,
                                                         tokenize=False)
    assert cot in chat and cot not in generation_prompt(item, backend.tokenizer)
    plain = generation_prompt(item, backend.tokenizer, chat=False, cot=True)
    assert plain.endswith(cot + "\n") and not plain.rstrip().endswith("Jibu:")


class _ByMode(_Canned):
    """Answers CoT prompts with reasoning then "<answer phrase> A", plain prompts with "B"."""

    def __init__(self):
        super().__init__([])

    def generate(self, prompts, max_new_tokens=64, progress=False):
        self.seen.extend(prompts)
        self.budgets = getattr(self, "budgets", []) + [max_new_tokens]
        out = []
        for p in prompts:
            asked = p[-1]["content"]
            lang = "sw" if cot_instruction("sw", "mcq") in asked else "en"
            cot = cot_instruction(lang, "mcq") in asked
            out.append(f"Reasoning...\n{answer_prefix(lang)} A" if cot else "B")
        return out


def test_plain_and_cot_generation_are_separate_records_and_report_rows(tmp_path, bench_build):  # noqa: F811
    spec = adhoc_spec("scripted", modes=["generative", "generative_cot"], name="scripted")
    spec.cot_max_new_tokens = 99
    opts = BenchOptions(dataset=bench_build, langs=["en", "sw"], out=tmp_path, chunk=100, progress=False)
    be = _ByMode()
    assert run_model(spec, opts, backend=be) == (56, 0)
    assert sorted(be.budgets) == [32, 32, 99, 99]
    recs = list(iter_records(tmp_path / "results" / "scripted.jsonl"))
    by_mode = {m: [r for r in recs if r["mode"] == m] for m in ("generative", "generative_cot")}
    assert len(by_mode["generative"]) == len(by_mode["generative_cot"]) == 28
    assert all(r["pred"] == ["B"] for r in by_mode["generative"])
    assert all(r["pred"] == ["A"] and r["rule"] == "answer_phrase" for r in by_mode["generative_cot"])
    assert run_model(spec, opts, backend=_ByMode()) == (0, 56)  # resumed: nothing generated again
    from globmed.bench.report import write_reports

    write_reports([tmp_path / "results" / "scripted.jsonl"], tmp_path)
    md = (tmp_path / "leaderboard.md").read_text()
    for mode, letter in (("generative", "B"), ("generative_cot", "A")):
        acc = {lang: sum(r["gold"] == [letter] for r in by_mode[mode] if r["lang"] == lang) / 14
               for lang in ("en", "sw")}
        assert acc["en"] > 0
        assert f"| scripted | {mode} | 0 | {acc['en']:.3f}" in md, (mode, acc, md)


def test_shots_come_from_validation_of_the_same_language(bench_build, backend):  # noqa: F811
    shots = load_shots(bench_build, "sw", 1)
    assert set(shots) == {"mcq", "yes_no_maybe"} and all(s[0]["lang"] == "sw" for s in shots.values())
    item = load_items(bench_build, "sw", ["mcq"])[0]
    prompt = letter_prompt(item, backend.tokenizer, shots["mcq"])
    assert "Jibu: C. gamma" in prompt and prompt.count("Jibu:") == 2


def test_batched_scores_do_not_depend_on_padding(backend):
    prompts = ["Question: short?\nAnswer: ", "Question: a much longer question with many words in it?\nAnswer: "]
    together = backend.next_token_scores(prompts, [["A", "B"]] * 2)
    alone = [backend.next_token_scores([p], [["A", "B"]])[0] for p in prompts]
    for t, a in zip(together, alone, strict=True):
        assert t == pytest.approx(a, abs=2e-4)


def test_shared_heads_are_run_once_per_language_and_score_as_each_prompt_alone(backend, bench_build):  # noqa: F811
    tok, model = backend.tokenizer, backend.model
    items = [it for lang in ("en", "sw") for it in load_items(bench_build, lang)[:5]]
    items = items[::2] + items[1::2]  # languages interleaved: grouping must not rely on input order
    prompts = [letter_prompt(it, tok) for it in items]
    seqs = [tok(p.rstrip(" "), add_special_tokens=False)["input_ids"] for p in prompts]
    groups = backend._head_groups(seqs)
    assert sorted(sorted(items[i]["lang"] for i in members) for _, members in groups) == [["en"] * 5, ["sw"] * 5]
    assert all(head >= 8 and all(seqs[i][:head] == seqs[members[0]][:head] for i in members)
               for head, members in groups)
    budget = backend.token_budget
    backend.token_budget = 2 * max(map(len, seqs))  # several batches per head
    try:
        got = backend.next_token_scores(prompts, [["A", "B"]] * len(prompts))
    finally:
        backend.token_budget = budget
    for ids, scores in zip(seqs, got, strict=True):
        logp = _logsoftmax_last(model, ids)
        assert scores == pytest.approx([float(logp[tok.convert_tokens_to_ids(t)]) for t in ("ĠA", "ĠB")], abs=2e-4)


def test_batches_are_cut_by_budget_and_by_padding(backend):
    budget = backend.token_budget
    backend.token_budget = 1000
    try:
        seqs = [[0] * n for n in (50, 400, 390, 100, 380, 95, 60)]
        assert backend._batches(seqs) == [[1, 2], [4, 3], [5, 6, 0]]  # longest first, <= 1000 padded tokens
        assert backend._batches(seqs, max_padding=0.1) == [[1, 2], [4], [3, 5], [6, 0]]  # <= 10% padding
    finally:
        backend.token_budget = budget


def test_model_paths_are_resolved_or_refused(tmp_path):
    (tmp_path / "m.gguf").write_bytes(b"")
    assert resolve_model_path(tmp_path) == (str(tmp_path), {"gguf_file": "m.gguf"})
    assert adhoc_spec(str(tmp_path)).name == "m"
    assert resolve_model_path(tmp_path / "m.gguf") == (str(tmp_path), {"gguf_file": "m.gguf"})
    (tmp_path / "n.gguf").write_bytes(b"")
    with pytest.raises(GlobmedError, match="several .gguf"):
        resolve_model_path(tmp_path)
    with pytest.raises(GlobmedError, match="does not exist"):
        resolve_model_path(tmp_path / "nope")
    assert resolve_model_path("org/model") == ("org/model", {})


def test_peft_adapter_folder_is_accepted(tmp_path, tiny_qwen3_dir, backend):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_qwen3_dir)
    peft = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft.save_pretrained(tmp_path / "adapter")
    adapted = TransformersBackend(tmp_path / "adapter")
    prompt = ["Question: x?\nAnswer: "]
    got = adapted.next_token_scores(prompt, [["A", "B"]])[0]
    with torch.no_grad():
        ids = adapted.tokenizer("Question: x?\nAnswer:", add_special_tokens=False)["input_ids"]
        logp = torch.log_softmax(peft(torch.tensor([ids])).logits[0, -1], -1)
    tok = adapted.tokenizer
    assert got == pytest.approx([float(logp[tok.convert_tokens_to_ids(t)]) for t in ("ĠA", "ĠB")], abs=2e-4)
    assert got != pytest.approx(backend.next_token_scores(prompt, [["A", "B"]])[0], abs=1e-3)


def test_killed_run_resumes_without_rescoring(tmp_path, tiny_qwen3_dir, bench_build):  # noqa: F811
    out = tmp_path / "run"
    results = out / "results" / "tiny.jsonl"
    args = ["bench", "--model", str(tiny_qwen3_dir), "--dataset", str(bench_build),
            "--langs", "en,sw", "--modes", "letter", "--chunk", "1", "--name", "tiny", "--out", str(out), "--no-progress"]
    # the same command, slowed down after each write so that the kill lands midway
    slow = ("import sys, time; from globmed.bench.results import ResultStore; orig = ResultStore.append\n"
            "def append(self, recs):\n    n = orig(self, recs); time.sleep(0.3); return n\n"
            "ResultStore.append = append\nfrom globmed.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", slow, *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 300  # model loading alone can take a minute on a busy machine
    while time.time() < deadline:
        if results.exists() and len(results.read_text().splitlines()) >= 4:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = [json.loads(x)["key"] for x in results.read_text().splitlines() if x.strip()]
    assert 4 <= len(before) < 28, "the run was not killed midway"
    done = run_cli(*args)
    assert f"{28 - len(before)} records written, {len(before)} items already done" in done.stdout
    keys = [r["key"] for r in iter_records(results)]
    assert len(keys) == len(set(keys)) == 28
    assert keys[: len(before)] == before
