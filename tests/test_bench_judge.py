"""The LLM judge of open-QA answers, against a local chat-completions server started by the test."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict

import pytest
from bench_fixtures import OPEN_QA, open_qa_build  # noqa: F401 (fixture)
from chat_server import FakeAPI
from conftest import run_cli

from globmed.bench.data import load_items
from globmed.bench.judge import Judge, judge_key, judge_messages, parse_verdict, resolve_judge
from globmed.bench.metrics.functions import best_of, rouge_l
from globmed.bench.registry import ModelSpec, adhoc_spec
from globmed.bench.report import write_reports
from globmed.bench.results import iter_records
from globmed.bench.runner import BenchOptions, judge_model, run_model
from globmed.errors import GlobmedError


class JudgeAPI(FakeAPI):
    """Grades by the candidate answer found in the judge prompt: ``verdicts[candidate]`` is the
    score it gives (default 4; 1 for an empty answer). ``plans[candidate]`` lists what its
    successive requests get first: "500", "503" (HTTP errors), "badjson" (HTTP 200, not JSON),
    "noscore" (a reply without a valid score line)."""

    def __init__(self):
        super().__init__()
        self.verdicts: dict[str, int] = {}
        self.plans: dict[str, list[str]] = defaultdict(list)
        self.asked: Counter = Counter()

    def respond(self, path, body):
        user = body["messages"][-1]["content"]
        cand = user.split("<candidate>\n", 1)[1].split("\n</candidate>", 1)[0]
        self.asked[cand] += 1
        behaviour = self.plans[cand].pop(0) if self.plans[cand] else "ok"
        if behaviour in ("500", "503"):
            return int(behaviour), '{"error": "upstream failed"}'
        if behaviour == "badjson":
            return 200, '{"choices": [{"message": half a reply'
        score = self.verdicts.get(cand, 1 if cand == "(empty answer)" else 4)
        content = "It sounds plausible to me." if behaviour == "noscore" else f"Agrees with the reference.\nScore: {score}"
        return 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})


@pytest.fixture
def api():
    server = JudgeAPI()
    yield server
    server.close()


def _judge(api, tmp_path, cache="cache", **settings):
    spec = ModelSpec(name="judge-x", backend="openai", model="judge-model",
                     settings={"base_url": api.url, "cache_dir": tmp_path / cache, "backoff": 0.01, "retries": 2,
                               "concurrency": 3, **settings})
    return Judge(spec, max_tokens=64)


def test_verdict_parsing_is_strict():
    ok = {"Score: 4": 4, "The answer is right.\nScore: 5": 5, "**Score:** 3": 3, "Fine.\n\nscore: 2/5\n": 2,
          "Score：１": 1, "## Score: 4.": 4, "Score: 4\n\n": 4, "Score: 3\nScore: 3": 3}
    for reply, value in ok.items():
        assert parse_verdict(reply) == value, reply
    refused = ["", "4", "I would give it a 4.", "Score: 6", "Score: 0", "Score: 4.5", "Score: 3 or 4",
               "Score: 4\nbecause it is mostly right", "Score: N", "Score: 2\nOn reflection:\nScore: 4",
               "Rating: 4", "Score: four"]
    for reply in refused:
        assert parse_verdict(reply) is None, reply


def test_judge_prompt_names_the_language_and_holds_question_references_and_candidate():
    item = {"id": "oq/sw/1", "lang": "sw", "task": "open_qa", "question": "Insulini hufanya nini?",
            "context": "Mgonjwa ana kisukari.", "options": [], "answer": ["Hupunguza sukari.", "Husaidia seli."],
            "explanation": ""}
    system, user = judge_messages(item, "  Hupunguza sukari kwenye damu. ")
    assert system["role"] == "system" and "medical" in system["content"]
    text = user["content"]
    assert "written in Swahili (sw)" in text and "not written in Swahili (sw)" in text
    assert "<question>\nInsulini hufanya nini?\n</question>" in text
    assert "<context>\nMgonjwa ana kisukari.\n</context>" in text
    assert "<reference>\nHupunguza sukari.\n</reference>\n<reference>\nHusaidia seli.\n</reference>" in text
    assert "<candidate>\nHupunguza sukari kwenye damu.\n</candidate>" in text
    assert text.rstrip().endswith('"Score: N", N an integer from 1 to 5.')
    assert "<candidate>\n(empty answer)\n</candidate>" in judge_messages(item, "")[1]["content"]


def test_judge_spec_from_the_registry_or_model_at_url():
    spec = resolve_judge("gpt-4o")
    assert (spec.name, spec.model, spec.settings["api_key_env"]) == ("gpt-4o", "gpt-4o", "OPENAI_API_KEY")
    assert resolve_judge("gpt-4o", "MY_KEY").settings["api_key_env"] == "MY_KEY"
    spec = resolve_judge("openai:Qwen/Qwen3-8B@http://127.0.0.1:8000/v1", "VLLM_KEY")
    assert (spec.name, spec.model, spec.backend, spec.settings) == (
        "Qwen/Qwen3-8B@http://127.0.0.1:8000/v1", "Qwen/Qwen3-8B", "openai",
        {"base_url": "http://127.0.0.1:8000/v1", "api_key_env": "VLLM_KEY"})
    # one model name at two servers: two judges, keyed apart; credentials in the URL stay out of the name
    other = resolve_judge("Qwen/Qwen3-8B@http://user:secret@10.0.0.2:8000/v1/")
    assert other.name == "Qwen/Qwen3-8B@http://10.0.0.2:8000/v1" and "secret" not in other.name
    assert judge_key("generative", spec.name, 0, "x") != judge_key("generative", other.name, 0, "x")
    assert resolve_judge("m@https://h/v1").settings["api_key_env"] == "OPENAI_API_KEY"
    with pytest.raises(GlobmedError, match="is a vllm model.*MODEL@http"):
        resolve_judge("qwen3-8b")
    with pytest.raises(GlobmedError, match="nor MODEL@BASE_URL"):
        resolve_judge("no-such-judge")
    with pytest.raises(GlobmedError, match="nor MODEL@BASE_URL"):
        resolve_judge("m@ftp://h")


class _Answers:
    """A generation backend that answers each open question with a fixed reply."""

    tokenizer, chat = None, True

    def __init__(self, replies: dict[str, str]):
        self.replies = replies

    def generate(self, prompts, max_new_tokens=64, progress=False):
        return [next(r for q, r in self.replies.items() if q in p[-1]["content"]) for p in prompts]

    def close(self):
        pass


REPLIES = {q: r for q, r in zip([q for rows in OPEN_QA.values() for q, _ in rows],
                                 ["Rest, fluids and paracetamol.", "It lowers blood sugar.", "Low blood pressure.",
                                  "Kupumzika na maji.", "Sijui.", "Shinikizo la juu."], strict=True)}


def test_judged_verdicts_are_stored_resumed_and_reported(api, tmp_path, open_qa_build):  # noqa: F811
    out = tmp_path / "bench"
    data = {lang: (load_items(open_qa_build, lang), {}) for lang in ("en", "sw")}
    spec = adhoc_spec("scripted", modes=["generative"], name="m")
    opts = BenchOptions(dataset=open_qa_build, langs=["en", "sw"], out=out, chunk=4, progress=False)
    assert run_model(spec, opts, backend=_Answers(REPLIES), data=data) == (6, 0)
    en0, en1, en2, sw0, sw1, sw2 = REPLIES.values()
    api.verdicts.update({en0: 5, en1: 3, sw0: 2, sw1: 1})
    api.plans.update({en0: ["500"], en1: ["badjson"], en2: ["noscore"], sw1: ["503"] * 3})

    first = judge_model(spec, opts, _judge(api, tmp_path), data=data)
    # en0 and en1 are retried and judged; en2's reply has no score: recorded unparsable; sw1
    # fails three times (retries=2): nothing recorded
    assert (first.judged, first.unparsed, first.failed, first.done) == (5, 1, 1, 0)
    assert api.asked == Counter({en0: 2, en1: 2, en2: 1, sw0: 1, sw1: 3, sw2: 1})
    path, headers, body = api.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "judge-model"
    assert (body["temperature"], body["max_tokens"]) == (0, 64)

    results = out / "results" / "m.jsonl"
    verdicts = {r["id"]: r for r in iter_records(results) if r["mode"] == "judge"}
    assert {i: (v["verdict"], v["score"], v["unparsed"]) for i, v in verdicts.items()} == {
        "oq/en/0": (5, 1.0, False), "oq/en/1": (3, 0.5, False), "oq/en/2": (None, None, True),
        "oq/sw/0": (2, 0.25, False), "oq/sw/2": (4, 0.75, False)}
    v = verdicts["oq/en/2"]
    assert v["key"] == "judge|generative|judge-x|k0|oq/en/2" and v["of_mode"] == "generative"
    assert (v["judge"], v["model"], v["candidate"], v["judge_reply"]) == ("judge-x", "m", en2, "It sounds plausible to me.")

    # a rerun (with an empty API cache, so only the result file can know) judges only the failed item
    second = judge_model(spec, opts, _judge(api, tmp_path, cache="cache2"), data=data)
    assert (second.judged, second.unparsed, second.failed, second.done) == (1, 0, 0, 5)
    assert api.asked == Counter({en0: 2, en1: 2, en2: 1, sw0: 1, sw1: 4, sw2: 1})
    third = judge_model(spec, opts, _judge(api, tmp_path, cache="cache3"), data=data)
    assert (third.judged, third.done) == (0, 6) and sum(api.asked.values()) == 11

    write_reports([results], out)
    with open(out / "leaderboard_open_qa.csv") as fh:
        rows = {r["lang"]: r for r in csv.DictReader(fh)}
    assert (rows["en"]["judge_model"], rows["en"]["judge"], rows["en"]["judged"], rows["en"]["judge_unparsed"]) == (
        "judge-x", f"{(5 + 3) / 2:.3f}", "3", "1")  # the unparsable verdict is counted, not scored
    assert (rows["sw"]["judge"], rows["sw"]["judged"], rows["sw"]["judge_unparsed"]) == (f"{(2 + 1 + 4) / 3:.3f}", "3", "0")
    refs = {q: r for rows_ in OPEN_QA.values() for q, r in rows_}
    en_rouge = [best_of(rouge_l, REPLIES[q], refs[q]) for q, _ in OPEN_QA["en"]]
    assert rows["en"]["rougeL"] == f"{sum(en_rouge) / 3:.3f}" and float(rows["en"]["chrf"]) > 0
    md = (out / "leaderboard.md").read_text()
    assert "## Open QA: model x language" in md and "| m | generative | 0 | en | 3 |" in md
    with open(out / "leaderboard_languages.csv") as fh:
        assert [r["mode"] for r in csv.DictReader(fh)] == ["generative"]  # verdicts are no mode of their own
    from globmed.model_release import load_bench_summary

    assert set(load_bench_summary(out)["models"]["m"]) == {"generative"}


def test_bench_cli_with_judge_and_cot(api, tmp_path, tiny_qwen3_dir, open_qa_build):  # noqa: F811
    pytest.importorskip("torch")
    out = tmp_path / "bench"
    env = {"GLOBMED_CACHE": str(tmp_path / "cache"), "JUDGE_TEST_KEY": "sk-judge-123"}
    args = ["bench", "--model", str(tiny_qwen3_dir), "--name", "tiny", "--dataset", str(open_qa_build),
            "--langs", "en,sw", "--modes", "generative,generative_cot", "--max-new-tokens", "3",
            "--cot-max-new-tokens", "5", "--judge", f"judge-model@{api.url}", "--judge-key-env", "JUDGE_TEST_KEY",
            "--judge-max-tokens", "50", "--out", str(out), "--no-progress"]
    proc = run_cli(*args, env=env)
    assert "tiny: 12 records written" in proc.stdout
    assert f"tiny: judge judge-model@{api.url.rstrip('/')}: 12 verdicts written (0 unparsable), 0 already judged, 0 failed" in proc.stdout
    assert {h.get("Authorization") for _, h, _ in api.requests} == {"Bearer sk-judge-123"}
    assert {b["max_tokens"] for _, _, b in api.requests} == {50}
    asked = len(api.requests)  # 12, or fewer when two answers are the same text (the API cache)
    recs = list(iter_records(out / "results" / "tiny.jsonl"))
    assert Counter(r["mode"] for r in recs) == Counter({"generative": 6, "generative_cot": 6, "judge": 12})
    assert {r["of_mode"] for r in recs if r["mode"] == "judge"} == {"generative", "generative_cot"}
    with open(out / "leaderboard_open_qa.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["mode"], r["lang"]) for r in rows} == {(m, c) for m in ("generative", "generative_cot") for c in ("en", "sw")}
    assert all(r["judge_model"] == f"judge-model@{api.url.rstrip('/')}" and r["judged"] == "3" for r in rows)
    again = run_cli(*args, env=env)
    assert "tiny: 0 records written, 12 items already done" in again.stdout
    assert "0 verdicts written (0 unparsable), 12 already judged, 0 failed" in again.stdout
    assert len(api.requests) == asked
    bad = run_cli(*["qwen3-8b" if a.startswith("judge-model@") else a for a in args], env=env, check=False)
    assert bad.returncode != 0 and "is a vllm model" in bad.stderr
