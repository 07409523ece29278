"""Issue 13, points 5 and 6: one bench at a time per --out (a lock), readers count each record key
once, and the bench's temporary dataset caches do not pile up in the temp folder."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile

import pytest
from bench_fixtures import bench_build  # noqa: F401 (fixture)
from conftest import run_cli

from globmed.bench.data import CACHE_PREFIX, load_items
from globmed.bench.registry import adhoc_spec
from globmed.bench.results import bench_lock, load_results
from globmed.bench.runner import BenchOptions, run_bench
from globmed.errors import GlobmedError
from globmed.model_release import load_bench_summary


def _rec(i: int, correct: bool, model: str = "m1", lang: str = "en") -> dict:
    return {"key": f"letter|k0|{lang}/{i}", "model": model, "mode": "letter", "id": f"{lang}/{i}", "lang": lang,
            "task": "mcq", "gold": ["A"], "pred": ["A" if correct else "B"], "correct": correct,
            "score": float(correct), "shots": 0}


def test_a_second_bench_on_the_same_out_stops_naming_the_first(tmp_path, bench_build):  # noqa: F811
    out = tmp_path / "run"
    with bench_lock(out):
        opts = BenchOptions(dataset=bench_build, langs=["en"], out=out, progress=False, report=False)
        with pytest.raises(GlobmedError, match=f"another globmed bench \\(pid {os.getpid()}\\)"):
            run_bench([adhoc_spec(str(tmp_path / "no-model"))], opts)
        proc = run_cli("bench", "--model", str(tmp_path / "no-model"), "--dataset", str(bench_build), "--langs", "en",
                       "--out", str(out), "--no-progress", check=False)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert f"--out {out}: another globmed bench (pid {os.getpid()}) is writing" in proc.stderr
    assert not (out / "results").exists(), "the refused bench wrote nothing"
    with bench_lock(out):  # released: the next one gets it
        pass


def test_a_lock_held_by_another_process_is_released_when_it_dies(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from globmed.bench.results import bench_lock\n"
                               f"with bench_lock({str(out)!r}):\n    print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(GlobmedError, match=f"pid {holder.pid}"):
        with bench_lock(out):
            pass
    holder.kill()
    holder.wait()
    with bench_lock(out):  # a killed holder's lock goes with it
        pass


def test_repeated_records_count_once_everywhere_results_are_read(tmp_path):
    path = tmp_path / "results" / "m1.jsonl"
    path.parent.mkdir()
    recs = [_rec(0, True), _rec(1, False), _rec(2, True)]
    # a second writer's copies of the same keys (the first copy wins) and one line duplicated by hand
    lines = [*recs, _rec(0, False), _rec(1, True), _rec(2, False), recs[2], _rec(0, True, model="m2")]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    got = load_results([path, path])
    assert len(got) == 4 and [r["correct"] for r in got[:3]] == [True, False, True]
    proc = run_cli("bench", "report", str(path), str(path.parent), "--out", str(tmp_path / "report"))
    assert "| m1 | letter | 0 | 0.667" in proc.stdout  # a run is model, mode and shots
    with open(tmp_path / "report" / "leaderboard_tasks.csv") as fh:
        rows = {r["model"]: r for r in csv.DictReader(fh)}
    assert rows["m1"]["n"] == "3" and rows["m1"]["accuracy"] == "0.667" and rows["m2"]["n"] == "1"
    summary = load_bench_summary(tmp_path)
    assert summary["models"]["m1"]["letter"]["languages"]["en"] == {"score": pytest.approx(2 / 3), "n": 3}


def test_the_dataset_caches_of_a_bench_are_removed(tmp_path, monkeypatch, bench_build):  # noqa: F811
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{CACHE_PREFIX}{dead.pid}-abc123"  # a killed bench's cache
    (stale / "x").mkdir(parents=True)
    running = tmp_path / f"{CACHE_PREFIX}{os.getpid()}-zzz"  # this process is alive: kept
    running.mkdir()
    legacy = tmp_path / f"{CACHE_PREFIX}k2j4h5"  # no pid in the name: not ours to judge
    legacy.mkdir()
    for lang in ("en", "sw"):
        assert len(load_items(bench_build, lang)) == 14
    assert sorted(p.name for p in tmp_path.glob(f"{CACHE_PREFIX}*")) == sorted([running.name, legacy.name])
