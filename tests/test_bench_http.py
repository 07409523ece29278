"""The OpenAI-compatible backend against a local chat-completions server started by the test."""

from __future__ import annotations

import pytest
from chat_server import FakeAPI

from globmed.bench.backends.http import MISSING_LOGPROB, APIError, OpenAIBackend
from globmed.bench.scoring import score_generative


@pytest.fixture
def api():
    fake = FakeAPI()
    yield fake
    fake.close()


def _backend(api, tmp_path, **kw):
    return OpenAIBackend("fake-model", base_url=api.url, cache_dir=tmp_path / "cache",
                         **{"backoff": 0.01, "concurrency": 4, **kw})


ROWS = [{"id": f"x/en/{i}", "lang": "en", "task": "mcq", "question": f"Pick {w}", "context": "",
         "options": ["alpha", "beta"], "answer": ["B"], "explanation": ""} for i, w in enumerate(["beta", "alpha"])]


def test_generative_run_through_chat_completions(api, tmp_path, monkeypatch):
    monkeypatch.setenv("GLOBMED_TEST_KEY", "sk-secret-123")
    be = _backend(api, tmp_path, api_key_env="GLOBMED_TEST_KEY")
    recs = score_generative(be, ROWS, {})
    assert [r["pred"] for r in recs] == [["B"], ["A"]]
    assert [r["correct"] for r in recs] == [True, False]
    path, headers, body = api.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "fake-model" and body["temperature"] == 0
    assert headers["Authorization"] == "Bearer sk-secret-123"
    assert body["messages"][0]["role"] == "system"


def test_retries_on_429_500_and_malformed_json_then_succeeds(api, tmp_path):
    api.script = [(429, "{}"), (500, "oops"), (200, "{not json"), (200, '{"no": "choices"}')]
    be = _backend(api, tmp_path, concurrency=1)
    assert be.generate([[{"role": "user", "content": "beta?"}]]) == ["Answer: B"]
    assert len(api.requests) == 5


def test_gives_up_with_one_clear_error_that_hides_the_key(api, tmp_path, monkeypatch):
    monkeypatch.setenv("GLOBMED_TEST_KEY", "sk-secret-123")
    api.script = [(503, "busy")] * 3
    be = _backend(api, tmp_path, retries=2, api_key_env="GLOBMED_TEST_KEY")
    with pytest.raises(APIError, match="failed after 3 attempts \\(last: HTTP 503: busy\\)") as err:
        be.generate([[{"role": "user", "content": "x"}]])
    assert "sk-secret" not in str(err.value)
    api.script = [(401, "unauthorized")]
    with pytest.raises(APIError, match="HTTP 401.*not retried") as err:
        be.generate([[{"role": "user", "content": "y"}]])
    assert "sk-secret" not in str(err.value)


def test_replies_are_cached_on_disk(api, tmp_path):
    be = _backend(api, tmp_path)
    first = be.generate([[{"role": "user", "content": "beta?"}]])
    again = _backend(api, tmp_path).generate([[{"role": "user", "content": "beta?"}]])
    assert first == again and len(api.requests) == 1
    assert any((tmp_path / "cache").rglob("*.json"))


def test_letter_and_cloze_through_completions_logprobs(api, tmp_path):
    be = _backend(api, tmp_path)
    scores = be.next_token_scores(["Question: ?\nAnswer: "], [["A", "B", "C", "D"]])
    assert scores == [[-2.5, -0.1, -3.0, MISSING_LOGPROB]]
    # cloze: the tokens whose offset lies in the continuation, -0.5 each
    assert be.loglik([("Answer: ", "beta"), ("Q", "ab")]) == [-2.0, -1.0]
    assert api.requests[-1][2]["echo"] is True and api.requests[-1][2]["max_tokens"] == 0


def test_connection_refused_is_retried_then_reported(tmp_path):
    be = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", cache_dir=tmp_path, backoff=0.01, retries=1)
    with pytest.raises(APIError, match="failed after 2 attempts"):
        be.generate(["hello"])
