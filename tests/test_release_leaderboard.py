"""`globmed release leaderboard`: the bench page as a static Space, in one commit against the local
fake Hub (tests/hub_server.py), with the gates and token rules of the other releases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import run_cli
from hub_server import HubServer, local_hub
from test_leaderboard_html import EVIL, records, write_results

from globmed.bench.report import write_reports
from globmed.errors import GlobmedError
from globmed.leaderboard_release import LeaderboardRelease, release_leaderboard
from globmed.release import split_card

SENTINEL = "hf_SENTINELspace0123456789abcdefXYZ"
REPO = "org/globmed-bench"


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    return write_results(tmp_path_factory.mktemp("bench"), records())


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with local_hub(monkeypatch, SENTINEL, tmp_path / "hf_home") as server:
        yield server


def api_for(hub):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.endpoint)


def test_release_is_one_commit_of_a_static_space(bench, hub, tmp_path):
    lines: list[str] = []
    release_leaderboard(LeaderboardRelease(results=bench, repo_id=REPO), api=api_for(hub), echo=lines.append)
    assert len(hub.commits) == 1 and hub.commits[0].repo == REPO
    assert hub.created[0]["type"] == "space" and hub.created[0]["sdk"] == "static"
    files = hub.commits[0].files
    assert sorted(files) == sorted(["index.html", "README.md", "leaderboard_languages.csv", "leaderboard_tasks.csv",
                                    "leaderboard.md"])
    # index.html is the page `globmed bench report` writes for the same results
    report = tmp_path / "report"
    write_reports(sorted((bench / "results").glob("*.jsonl")), report)
    assert files["index.html"] == (report / "leaderboard.html").read_bytes()
    assert files["leaderboard_languages.csv"] == (report / "leaderboard_languages.csv").read_bytes()
    meta, body = split_card(files["README.md"].decode())
    assert meta["sdk"] == "static" and meta["app_file"] == "index.html" and meta["datasets"] == ["org/globmed"]
    assert "2 model(s) in 2 run(s)" in body and "low-resource: sw, yo" in body
    assert "gate results: ok\ngate self_contained: ok\ngate card: ok" in lines
    assert any(line.startswith("released 5 files in one commit") for line in lines)
    # the token went to the server in huggingface_hub's header, and nowhere else
    assert any(h.get("authorization") == f"Bearer {SENTINEL}" for _, _, h in hub.requests)
    assert SENTINEL not in "\n".join(lines) and all(SENTINEL.encode() not in b for b in files.values())


def test_dry_run_prints_the_plan_and_uploads_nothing(bench, hub):
    hub.seed("space", REPO, {"README.md": b"---\nsdk: gradio\nemoji: \xf0\x9f\x93\x8a\n---\n\nold space\n"})
    lines: list[str] = []
    plan = release_leaderboard(LeaderboardRelease(results=bench, repo_id=REPO, dry_run=True), api=api_for(hub),
                               echo=lines.append)
    text = "\n".join(lines)
    assert hub.commits == [] and hub.created == []
    assert all(method in ("GET", "HEAD") for method, _, _ in hub.requests)
    assert f"commit plan: space repo {REPO} @ main: 5 files" in text
    for f in plan.files:
        assert f"  {f.path_in_repo}" in text
    # the Hub's card: sdk is ours, the emoji edited on the Hub is kept
    assert "-sdk: gradio" in text and "+sdk: static" in text and "-old space" in text
    assert split_card(plan.card_after)[0]["emoji"] == "📊"
    assert text.endswith("dry run: nothing was uploaded")


def test_a_bad_record_stops_the_release_before_any_request(bench, hub, tmp_path):
    broken = write_results(tmp_path / "bench", records())
    path = broken / "results" / "m0.jsonl"
    first, rest = path.read_text().split("\n", 1)
    rec = json.loads(first)
    del rec["score"]
    path.write_text(json.dumps(rec) + "\n" + rest)
    (broken / "results" / "m1.jsonl").write_text('{"key": "letter|k0|a/xx/1", "model": "x", "mode": "letter", '
                                                '"lang": "xx", "task": "mcq", "score": 1.0, "id": "a/xx/1"}\n')
    with pytest.raises(GlobmedError) as err:
        release_leaderboard(LeaderboardRelease(results=broken, repo_id=REPO), api=api_for(hub), echo=lambda s: None)
    text = str(err.value)
    assert "gate(s) failed; nothing was uploaded" in text
    assert f"[results] {path}, line 1: not a bench result record (no score)" in text
    assert "m1.jsonl, line 1: unknown language 'xx'" in text
    assert hub.requests == [] and hub.commits == []


def test_no_results_and_a_page_that_needs_the_network_are_refused(tmp_path, monkeypatch):
    with pytest.raises(GlobmedError, match="no bench result files"):
        release_leaderboard(LeaderboardRelease(results=tmp_path, repo_id=REPO, dry_run=True), echo=lambda s: None)
    from globmed.bench import leaderboard_html

    real = leaderboard_html._asset
    monkeypatch.setattr(leaderboard_html, "_asset", lambda name: real(name).replace(
        '"use strict";', '"use strict"; fetch("https://example.org/track");'))
    with pytest.raises(GlobmedError, match=r"\[self_contained\] index.html line \d+: the script makes a request"):
        release_leaderboard(LeaderboardRelease(results=write_results(tmp_path / "b", records()), repo_id=REPO,
                                               dry_run=True), echo=lambda s: None)


def test_upload_without_a_token_fails_before_any_request(bench, hub, monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-stored-tokens"))
    with pytest.raises(GlobmedError, match="no Hugging Face token"):
        release_leaderboard(LeaderboardRelease(results=bench, repo_id=REPO), api=api_for(hub), echo=lambda s: None)
    assert hub.requests == []


def test_cli_publishes_in_one_commit_and_never_shows_the_token(bench, tmp_path):
    with HubServer() as hub:
        env = {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": hub.endpoint, "HF_TOKEN": SENTINEL,
               "HF_HOME": str(tmp_path / "hf_home")}
        proc = run_cli("-v", "release", "leaderboard", "--results", str(bench), "--repo-id", REPO, "--private",
                       env=env)
        bad = run_cli("release", "leaderboard", "--results", str(tmp_path / "nope"), "--repo-id", REPO, "--dry-run",
                      env=env, check=False)
    assert "commit plan: space repo org/globmed-bench @ main (private): 5 files" in proc.stdout
    assert len(hub.commits) == 1 and "released 5 files in one commit" in proc.stdout
    assert hub.created[0]["visibility"] == "private" and hub.created[0]["sdk"] == "static"
    assert bad.returncode == 2 and "--results" in bad.stderr and "not a folder" in bad.stderr
    for text in (proc.stdout, proc.stderr):
        assert SENTINEL not in text
    # the page carries the model name as data, the card is valid YAML
    assert EVIL.encode() not in hub.commits[0].files["index.html"]
    yaml.safe_load(hub.commits[0].files["README.md"].decode().split("---")[1])
