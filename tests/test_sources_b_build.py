"""Issue 3, part B: one `globmed build` over all part-B fixtures loads per language with
`load_dataset`, keeps upstream splits, logs rejects, and its card lists every source."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import run_cli, run_python

from globmed.sources import get_source

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
PART_B = ("liveqa", "medexpqa", "expertqa", "igakuqa", "cmexam", "kormedmcqa", "frenchmedmcqa", "rumedbench",
          "afrimedqa")
LANGS = ["en", "es", "fr", "it", "ja", "ko", "ru", "zh"]


@pytest.fixture(scope="module")
def part_b_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("part-b") / "globmed-b"
    args = ["build", "--profile", "extended", "--out", str(out), "--no-progress"]
    for name in PART_B:
        args += ["--source", f"{name}={FIXTURES / name}"]
    run_cli(*args)
    return out


def rows(folder: Path) -> list[dict]:
    out = []
    for path in sorted(folder.glob("data/*/*.parquet")):
        out += [{**r, "split": path.name.split("-")[0]} for r in pq.read_table(path).to_pylist()]
    return out


def test_build_loads_per_language_offline(part_b_build):
    out = run_python(f"""
import json, tempfile, datasets
from globmed.schema import FEATURES
folder = {str(part_b_build)!r}
got = {{}}
for lang in {LANGS!r}:
    ds = datasets.load_dataset(folder, lang, cache_dir=tempfile.mkdtemp())
    got[lang] = {{"rows": sum(len(ds[s]) for s in ds), "langs": sorted({{l for s in ds for l in ds[s]["lang"]}}),
                 "features": all(ds[s].features == FEATURES for s in ds),
                 "sources": sorted({{x for s in ds for x in ds[s]["source"]}})}}
print(json.dumps(got))
""")
    got = json.loads(out.strip().splitlines()[-1])
    report = json.loads((part_b_build / "build_report.json").read_text())
    for lang in LANGS:
        assert got[lang]["langs"] == [lang] and got[lang]["features"] is True, lang
        assert got[lang]["rows"] == report["counts"]["by_language"][lang]["total"], lang
    assert got["en"]["sources"] == ["afrimedqa", "expertqa", "liveqa", "medexpqa"]
    assert got["ru"]["sources"] == ["rumedbench"] and got["it"]["sources"] == ["medexpqa"]
    assert sum(g["rows"] for g in got.values()) == report["counts"]["total"] == len(rows(part_b_build))


def test_build_keeps_upstream_splits_and_logs_every_reject(part_b_build):
    all_rows = rows(part_b_build)
    split_of = {r["id"]: r["split"] for r in all_rows}
    assert {s for i, s in split_of.items() if i.startswith("igakuqa/")} == {"test"}
    assert {split_of[f"medexpqa/{lang}/101"] for lang in ("en", "es", "it")} == {"train"}
    assert split_of["liveqa/en/Test-Questions-w-summaries/TQ1"] == "test"
    assert split_of["kormedmcqa/ko/nurse-2022-1-11"] == "validation"
    report = json.loads((part_b_build / "build_report.json").read_text())
    by_source = report["rejects"]["by_source"]
    assert by_source == {"afrimedqa": 4, "cmexam": 3, "expertqa": 2, "frenchmedmcqa": 3, "igakuqa": 6,
                         "kormedmcqa": 2, "liveqa": 2, "medexpqa": 2, "rumedbench": 4}
    logged = [json.loads(line) for line in (part_b_build / "rejects.jsonl").read_text().splitlines()]
    assert all(r["file"] and r["reason"] for r in logged)
    either = [r for r in logged if r["source"] == "igakuqa" and r["row"] == "1" and r["file"].endswith("112-B.jsonl")]
    assert either and "accepts either" in either[0]["reason"]


def test_card_lists_each_source_with_licence_and_citation(part_b_build):
    card = (part_b_build / "README.md").read_text(encoding="utf-8")
    report = {s["name"]: s for s in json.loads((part_b_build / "build_report.json").read_text())["sources"]}
    for name in PART_B:
        info = get_source(name).info
        assert f"| {info.title} (`{name}`) |" in card, name
        row = next(line for line in card.splitlines() if f"(`{name}`)" in line)
        # licence per subset: RuMedBench's row lists the licences of its rows (its RuMedNLI rows are `other`)
        licence = "apache-2.0, other" if name == "rumedbench" else info.license
        redistributable = info.redistributable and name != "rumedbench"
        assert report[name]["redistributable"] is redistributable
        assert f"| {licence} |" in row and f"| {'yes' if redistributable else 'no'} |" in row
        assert info.citation in card, name
