"""Dataset release: every gate fails with a clear message on a folder broken its way, and the
upload is one commit against a local fake Hub (tests/hub_server.py) on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import mcq_row, run_cli, write_jsonl
from hub_server import HubServer, local_hub

from globmed.dataset_release import (
    DatasetRelease,
    gate_card,
    gate_licences,
    release_dataset,
    run_dataset_gates,
)
from globmed.errors import GlobmedError
from globmed.quality.near_duplicates import (
    Definition,
    find_pairs,
    first_match,
    jaccard,
    normalise,
    shingles,
    table_side,
)
from globmed.release import merge_card_metadata, split_card

SENTINEL = "hf_SENTINELtoken0123456789abcdefXYZ"

QUESTIONS = [
    "Which organ produces insulin in the human body?",
    "What is the normal adult resting heart rate in beats per minute?",
    "Which vitamin deficiency causes scurvy in sailors on long voyages?",
    "Which bone is the longest in the adult human skeleton?",
    "What does the abbreviation BMI stand for in clinical practice?",
    "Which blood cells carry oxygen from the lungs to the tissues?",
]


def _row(i: int, split: str, question: str | None = None) -> dict:
    return mcq_row(f"q{i}", question=question or QUESTIONS[i], split=split)


def build(tmp: Path, rows: list[dict], name: str = "ds") -> Path:
    from globmed.build import BuildOptions
    from globmed.build import build as run_build
    from globmed.sources.base import SourceSpec

    src = write_jsonl(tmp / f"{name}-src" / "en.jsonl", rows)
    out = tmp / name
    run_build(BuildOptions(out=out, sources=[SourceSpec.parse(f"demo={src}")], profile=None, langs=["en"],
                           progress=False))
    return out


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("good")
    rows = [_row(0, "train"), _row(1, "train"), _row(2, "train"), _row(3, "validation"), _row(4, "test"),
            _row(5, "test")]
    return build(tmp, rows)


def copy(folder: Path, tmp: Path) -> Path:
    dst = tmp / folder.name
    shutil.copytree(folder, dst)
    return dst


def failed(results) -> dict[str, list[str]]:
    return {r.name: r.problems for r in results if r.problems}


def test_clean_build_passes_every_gate(good):
    results, card = run_dataset_gates(good, json.loads((good / "build_report.json").read_text()))
    assert failed(results) == {}
    assert [r.name for r in results] == ["licences", "card", "loads", "features", "origin_split", "near_duplicates"]
    assert card.startswith("---\n")


def test_gate_licences_fails_for_a_nonredistributable_source_unless_allowed(good):
    report = json.loads((good / "build_report.json").read_text())
    report["sources"][0]["redistributable"] = False
    res = gate_licences(report)
    assert len(res.problems) == 1 and "'demo'" in res.problems[0] and "--allow-nonredistributable demo" in res.problems[0]
    assert gate_licences(report, allow=["demo"]).ok


def test_gate_card_fails_when_the_report_cannot_render(good):
    report = json.loads((good / "build_report.json").read_text())
    del report["counts"]["by_task"]
    res, card = gate_card(good, report)
    assert card is None and "does not render" in res.problems[0]


def test_gate_card_fails_when_files_do_not_match_configs_or_report(good, tmp_path):
    folder = copy(good, tmp_path)
    stray = folder / "data" / "xx" / "train-00000-of-00001.parquet"
    stray.parent.mkdir(parents=True)
    shutil.copy(next((folder / "data" / "en").glob("train-*")), stray)
    report = json.loads((folder / "build_report.json").read_text())
    res, _ = gate_card(folder, report)
    text = "\n".join(res.problems)
    assert "data/xx/train-00000-of-00001.parquet: a data file in no language config" in text
    assert "not in build_report.json" in text


def test_gate_card_fails_when_a_file_changed_after_the_build(good, tmp_path):
    folder = copy(good, tmp_path)
    target = next((folder / "data" / "en").glob("test-*"))
    shutil.copy(next((folder / "data" / "en").glob("train-*")), target)
    res, _ = gate_card(folder, json.loads((folder / "build_report.json").read_text()))
    assert any("checksum differs" in p and target.name in p for p in res.problems)


def test_gate_loads_fails_for_a_corrupt_parquet_and_later_gates_are_skipped(good, tmp_path):
    folder = copy(good, tmp_path)
    target = next((folder / "data" / "en").glob("train-*"))
    target.write_bytes(b"not parquet at all")
    report = json.loads((folder / "build_report.json").read_text())
    results, _ = run_dataset_gates(folder, report)
    bad = failed(results)
    assert "loads" in bad and any("load_dataset(" in p and "'en'" in p for p in bad["loads"])
    assert {r.name: r.skipped for r in results}["features"] == "the folder does not load"


def test_gate_loads_fails_when_the_all_config_does_not_cover_the_language_files(good, tmp_path):
    folder = copy(good, tmp_path)
    card = (folder / "README.md").read_text(encoding="utf-8")
    meta, body = split_card(card)
    [every] = [c for c in meta["configs"] if c["config_name"] == "all"]
    every["data_files"] = [{**df, "path": "data/*/train-*.parquet"} if df["split"] == "test" else df
                           for df in every["data_files"]]
    (folder / "README.md").write_text("---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n" + body, encoding="utf-8")
    results, _ = run_dataset_gates(folder, json.loads((folder / "build_report.json").read_text()))
    problems = failed(results)["loads"]
    assert "config 'all' split 'test' resolves to data/en/train-00000-of-00001.parquet" in "\n".join(problems)
    assert any("config 'all' split 'test' does not include data/en/test-" in p for p in problems)


def test_gate_features_fails_when_a_column_type_differs(good, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = copy(good, tmp_path)
    for path in (folder / "data").rglob("*.parquet"):
        table = pq.read_table(path)
        table = table.set_column(table.schema.get_field_index("license"), "license",
                                 pa.array([1] * table.num_rows, pa.int64()))
        pq.write_table(table.replace_schema_metadata(None), path)
    report = json.loads((folder / "build_report.json").read_text())
    for f in report["files"]:  # keep the card gate quiet: only the features are wrong
        import hashlib
        f["sha256"] = hashlib.sha256((folder / f["path"]).read_bytes()).hexdigest()
    results, _ = run_dataset_gates(folder, report)
    bad = failed(results)
    assert list(bad) == ["features"]
    assert "globmed.schema.FEATURES" in bad["features"][0] and "license" in bad["features"][0]


def test_gate_origin_split_fails_when_an_origin_is_in_two_splits():
    from datasets import Dataset, DatasetDict

    from globmed.dataset_release import gate_origin_split

    dsd = DatasetDict({"train": Dataset.from_dict({"origin_id": ["demo/a", "demo/b"]}),
                       "test": Dataset.from_dict({"origin_id": ["demo/c", "demo/a"]})})
    res = gate_origin_split({"en": dsd})
    assert res.problems == ["origin_id 'demo/a' is in splits ['test', 'train']"]


def test_gate_near_duplicates_fails_for_a_reworded_test_copy_of_a_train_item(tmp_path):
    near = QUESTIONS[1].replace("per minute", "per minute, roughly")  # same item, slightly edited
    rows = [_row(0, "train"), _row(1, "train"), _row(2, "train"), _row(3, "test"), _row(6, "test", near)]
    folder = build(tmp_path, rows)
    results, _ = run_dataset_gates(folder, json.loads((folder / "build_report.json").read_text()))
    bad = failed(results)
    assert list(bad) == ["near_duplicates"]
    [problem] = bad["near_duplicates"]
    assert "test entry 'demo/en/q6'" in problem and "train entry 'demo/en/q1'" in problem and "Jaccard" in problem


def find_near_duplicates(train: list[tuple[str, str]], test: list[tuple[str, str]],
                         definition: Definition | None = None) -> dict[str, tuple[str, float]]:
    """Per test text, its most similar train text under the definition: {test id: (train id, similarity)}."""
    import pyarrow as pa

    definition = definition or Definition.default()

    def side(items):
        t = pa.table({"question": [text for _, text in items], "options": [[] for _ in items], "context": [""] * len(items)})
        return table_side(t, definition)

    q, r, sim = find_pairs(side(test), side(train), definition)
    return {test[j][0]: (train[i][0], s) for j, (i, s) in first_match(q, r, sim).items()}


def test_near_duplicate_check_exact_near_and_distinct():
    train = [("t1", "Which organ produces insulin?"), ("t2", QUESTIONS[2])]
    test = [("x1", "WHICH organ  produces insulin!"), ("x2", QUESTIONS[2] + " Choose one."), ("x3", QUESTIONS[3])]
    found = find_near_duplicates(train, test)
    assert found["x1"] == ("t1", 1.0)
    assert found["x2"][0] == "t2" and 0.8 <= found["x2"][1] < 1.0
    assert "x3" not in found
    assert normalise("Ça  va?") == "ça va"


def test_near_duplicates_are_judged_by_exact_jaccard_among_many_alike_texts():
    stem = "Which of the following is the most likely diagnosis in a patient with "
    findings = ["fever", "cough", "rash", "jaundice", "anaemia", "dyspnoea", "oedema", "ascites", "tremor", "ataxia"]
    train = [(f"t{i}", f"{stem}{a} and {b} for {i % 7 + 2} days?") for i, (a, b) in
             enumerate((a, b) for a in findings for b in findings if a != b)]
    train.append(("t-copy", train[5][1]))  # the same text again: the first is reported
    near = train[5][1].replace("days?", "days, despite rest?")
    test = [("edited", near), ("boiler", stem + "headache and photophobia?"), ("same", train[40][1])]
    found = find_near_duplicates(train, test)
    assert found["same"] == ("t40", 1.0)
    exact = jaccard(shingles(normalise(near)), shingles(normalise(train[5][1])))
    assert found["edited"] == ("t5", exact) and exact >= 0.8
    assert "boiler" not in found  # shares the boilerplate with all 90 train texts, below 0.8 with each
    best = max(jaccard(shingles(normalise(test[1][1])), shingles(normalise(t))) for _, t in train)
    assert best < 0.8
    strict = find_near_duplicates(train, test, Definition(threshold=0.99))
    assert strict == {"same": found["same"]}


def test_merge_card_metadata_ours_win_for_computed_keys_theirs_kept_otherwise():
    ours = "---\nlicense: apache-2.0\nlanguage: [en, sw]\nconfigs: [{config_name: all}]\npretty_name: GlobMed\n---\n\nnew body\n"
    theirs = ("---\nlicense: mit\nlanguage: [en]\nconfigs: []\npretty_name: Edited on the Hub\n"
              "extra_gated_prompt: Agree to the terms\n---\n\nold body\n")
    meta, body = split_card(merge_card_metadata(ours, theirs, ("configs", "language", "license")))
    assert meta == {"license": "apache-2.0", "language": ["en", "sw"], "configs": [{"config_name": "all"}],
                    "pretty_name": "Edited on the Hub", "extra_gated_prompt": "Agree to the terms"}
    assert body == "new body\n"


# --- against the local fake Hub ----------------------------------------------------------------

@pytest.fixture
def hub_online(monkeypatch, tmp_path):
    """HF_HUB_OFFLINE=0 for the release calls; every request goes to 127.0.0.1 only."""
    with local_hub(monkeypatch, SENTINEL, tmp_path / "hf_home") as hub:
        yield hub
    assert all(h.get("host", "").startswith("127.0.0.1") for _, _, h in hub.requests)


def api_for(hub):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.endpoint)


def test_release_is_one_commit_with_every_file(good, hub_online):
    lines: list[str] = []
    release_dataset(DatasetRelease(folder=good, repo_id="org/globmed"), api=api_for(hub_online), echo=lines.append)
    assert len(hub_online.commits) == 1
    commit = hub_online.commits[0]
    data = sorted(p.relative_to(good).as_posix() for p in (good / "data").rglob("*.parquet"))
    assert sorted(commit.files) == sorted([*data, "README.md", "build_report.json"])
    for f in data:
        assert commit.files[f] == (good / f).read_bytes()
    assert "rejects.jsonl" not in commit.files
    meta, _ = split_card(commit.files["README.md"].decode())
    assert [c["config_name"] for c in meta["configs"]] == ["all", "en"]
    assert 'load_dataset("org/globmed", "sw")' in commit.files["README.md"].decode()
    # the token went to the server (huggingface_hub's own header) and nowhere else
    assert any(h.get("authorization") == f"Bearer {SENTINEL}" for _, _, h in hub_online.requests)
    assert SENTINEL not in "\n".join(lines)
    assert all(SENTINEL.encode() not in b for b in commit.files.values())


def test_a_gate_failure_uploads_nothing(good, tmp_path, hub_online):
    folder = copy(good, tmp_path)
    report = json.loads((folder / "build_report.json").read_text())
    report["sources"][0]["redistributable"] = False
    (folder / "build_report.json").write_text(json.dumps(report))
    with pytest.raises(GlobmedError, match=r"gate\(s\) failed; nothing was uploaded\n  \[licences\] source 'demo'"):
        release_dataset(DatasetRelease(folder=folder, repo_id="org/globmed"), api=api_for(hub_online), echo=print)
    assert hub_online.commits == [] and hub_online.requests == []


def test_dry_run_prints_the_plan_and_uploads_nothing(good, hub_online):
    hub_online.seed("dataset", "org/globmed", {"README.md": b"---\nlicense: mit\n---\n\nold card\n"})
    lines: list[str] = []
    plan = release_dataset(DatasetRelease(folder=good, repo_id="org/globmed", dry_run=True),
                           api=api_for(hub_online), echo=lines.append)
    text = "\n".join(lines)
    assert hub_online.commits == []
    assert all(method in ("GET", "HEAD") for method, _, _ in hub_online.requests)
    for f in plan.files:
        assert f"  {f.path_in_repo}" in text
    assert "-old card" in text and "+license: apache-2.0" in text and "-license: mit" in text
    assert "dry run: nothing was uploaded" in text


def test_rerelease_keeps_the_hub_cards_other_metadata(good, hub_online):
    api = api_for(hub_online)
    release_dataset(DatasetRelease(folder=good, repo_id="org/globmed"), api=api, echo=lambda s: None)
    card = hub_online.repos["dataset:org/globmed"]["README.md"].decode()
    meta, body = split_card(card)
    meta.update(pretty_name="GlobMed (curated)", extra_gated_prompt="Agree to the terms", license="mit")
    hub_online.repos["dataset:org/globmed"]["README.md"] = ("---\n" + yaml.safe_dump(meta) + "---\n\n" + body).encode()
    release_dataset(DatasetRelease(folder=good, repo_id="org/globmed"), api=api, echo=lambda s: None)
    assert len(hub_online.commits) == 2
    meta2, _ = split_card(hub_online.commits[1].files["README.md"].decode())
    assert meta2["pretty_name"] == "GlobMed (curated)" and meta2["extra_gated_prompt"] == "Agree to the terms"
    assert meta2["license"] == "apache-2.0"  # computed from the sources: ours wins
    assert meta2["configs"] == meta["configs"]


def test_cli_release_never_shows_or_writes_the_token(good, tmp_path):
    with HubServer() as hub:
        home = tmp_path / "hf_home"
        env = {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": hub.endpoint, "HF_TOKEN": SENTINEL, "HF_HOME": str(home)}
        proc = run_cli("-v", "release", "dataset", "--folder", str(good), "--repo-id", "org/globmed", env=env)
        bad = run_cli("release", "dataset", "--folder", str(tmp_path / "nope"), "--repo-id", "org/globmed",
                      "--dry-run", env=env, check=False)
    assert len(hub.commits) == 1 and "released 5 files in one commit" in proc.stdout
    assert bad.returncode == 2 and "not a folder" in bad.stderr
    for text in (proc.stdout, proc.stderr, bad.stdout, bad.stderr):
        assert SENTINEL not in text
    for folder in (good, home):
        for p in folder.rglob("*"):
            if p.is_file():
                assert SENTINEL.encode() not in p.read_bytes(), p
    assert all(SENTINEL.encode() not in b for b in hub.commits[0].files.values())


def test_upload_without_a_token_fails_before_any_request(good, hub_online, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "no-token"))
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-stored-tokens"))
    with pytest.raises(GlobmedError, match="no Hugging Face token"):
        release_dataset(DatasetRelease(folder=good, repo_id="org/globmed"), api=api_for(hub_online))
    assert hub_online.requests == []


def test_private_repo_on_a_branch(good, hub_online):
    release_dataset(DatasetRelease(folder=good, repo_id="org/globmed", private=True, revision="v0.1"),
                    api=api_for(hub_online), echo=lambda s: None)
    assert hub_online.created[0]["visibility"] == "private" and hub_online.created[0]["type"] == "dataset"
    assert hub_online.branches == {"dataset:org/globmed@v0.1"}
    assert [c.revision for c in hub_online.commits] == ["v0.1"]


@pytest.mark.parametrize("split", ["train", "validation"])
def test_gate_loads_names_the_file_and_the_column_a_parquet_schema_lost(good, tmp_path, split):
    """A lost column in the first file read makes ``datasets`` fail with a DatasetGenerationError; in a
    later one, it loads with the column filled with nulls. Either way the gate names file and column."""
    import pyarrow.parquet as pq

    folder = copy(good, tmp_path)
    target = next((folder / "data" / "en").glob(f"{split}-*"))
    pq.write_table(pq.read_table(target).drop_columns(["explanation"]), target)
    results, _ = run_dataset_gates(folder, json.loads((folder / "build_report.json").read_text()))
    loads = failed(results)["loads"]
    rel = target.relative_to(folder).as_posix()
    assert any(f"{rel} lacks column explanation" in p for p in loads), loads
    assert not any("DatasetGenerationError" in p for p in loads)
    assert {r.name: r.skipped for r in results}["features"] == "the folder does not load"
