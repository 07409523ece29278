"""The build reads source parts in worker processes: the same folder, rejects and report as a build
in one process, and the same errors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import mcq_row, write_jsonl

from globmed.build import BuildOptions, build
from globmed.errors import SourceRowError, UnknownNameError
from globmed.quality import load_quality_config, quality_steps
from globmed.quality.synthetic import generate
from globmed.sources.base import SourceSpec, iter_jsonl, iter_jsonl_shard, jsonl_shards
from globmed.sources.demo import DemoSource


def test_jsonl_shards_read_back_exactly_the_lines_of_the_file(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    lines = ['{"a": 1}', "", '{"b": "ünïcödé"}', "not json", "   ", *(json.dumps({"i": i}) for i in range(200))]
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    whole = [(n, r if not isinstance(r, Exception) else str(r)) for n, r in iter_jsonl(path)]
    for size in (1, 7, 50, 1 << 20):
        shards = jsonl_shards(path, size)
        assert len(shards) >= (2 if size < 50 else 1)
        parts = [(n, r if not isinstance(r, Exception) else str(r)) for s in shards for n, r in iter_jsonl_shard(s)]
        assert parts == whole, size
    (tmp_path / "empty.jsonl").write_text("")
    [[(row, error)]] = [list(iter_jsonl_shard(s)) for s in jsonl_shards(tmp_path / "empty.jsonl", 10)]
    assert row is None and str(error) == "empty file: no rows"  # one file-level reject, not nothing


def test_a_mapped_file_is_cut_as_one_read_in_parts(tmp_path: Path, monkeypatch):
    from globmed.sources import base

    path = tmp_path / "x.jsonl"
    lines = [json.dumps({"i": i, "t": "ab\ncd" * (i % 7)}) for i in range(300)]
    mapped = {}
    for tail in ("\n", ""):  # with and without a newline at the end
        path.write_text("\n".join(lines) + tail, encoding="utf-8")
        for size in (1, 13, 100, 5000, 1 << 20):
            mapped[tail, size] = jsonl_shards(path, size)

    def unmappable(*args):
        raise OSError("no mmap here")

    monkeypatch.setattr(base, "_mapped_shards", unmappable)
    for tail in ("\n", ""):
        path.write_text("\n".join(lines) + tail, encoding="utf-8")
        for size in (1, 13, 100, 5000, 1 << 20):
            assert jsonl_shards(path, size) == mapped[tail, size], (tail, size)
    assert len(mapped["", 1]) == 300 and mapped["", 1][-1].first_line == 300


def _build(tmp: Path, src: Path, workers: int, **kw) -> tuple[dict, Path]:
    out = tmp / f"out{workers}"
    steps = quality_steps(load_quality_config(workers=1))
    report = build(BuildOptions(out=out, sources=[SourceSpec("demo", src)], steps=steps, progress=False,
                                workers=workers, **kw))
    return report, out


def test_parallel_build_equals_the_one_process_build(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(DemoSource, "shard_bytes", 40_000)  # many small parts per language file
    data = generate(1200, defect_rate=0.12, seed=5)
    src = data.write(tmp_path / "src")
    with open(src / "en.jsonl", "a", encoding="utf-8") as fh:  # a broken row and a duplicate id late in a file
        fh.write("{not json\n")
        fh.write(json.dumps({**json.loads((src / "en.jsonl").read_text().splitlines()[3]), "question": "x " * 30}) + "\n")
    import globmed.build as build_module

    handed: list[type] = []  # how each stream's rows reached the build process
    real = build_module.mapped_tables
    monkeypatch.setattr(build_module, "mapped_tables", lambda tables: handed.extend(map(type, tables)) or real(tables))
    one, out1 = _build(tmp_path, src, 1)
    assert handed and set(handed) == {pa.Table}  # in this process: the tables themselves
    handed.clear()
    two, out2 = _build(tmp_path, src, 2)
    assert handed and set(handed) == {str}  # from the workers: Arrow files, mapped and removed
    assert len(DemoSource().shards(src)) > 24
    files1 = sorted(p.relative_to(out1) for p in out1.rglob("*"))
    files2 = sorted(p.relative_to(out2) for p in out2.rglob("*"))
    assert files1 == files2  # no folder of parts left behind either
    for rel in files1:
        assert (out1 / rel).is_dir() or (out1 / rel).read_bytes() == (out2 / rel).read_bytes(), rel
    assert one["rejects"]["by_step"]["read"] == 1 and one["rejects"]["by_step"]["validate"] == 1
    langid = next(s for s in one["steps"] if s["step"] == "language_id")
    assert one["steps"] == two["steps"] and langid["entries_out"] < langid["entries_in"]


def test_duplicate_ids_across_parts_are_rejected_once(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(DemoSource, "shard_bytes", 300)
    rows = [mcq_row(f"q{i}") for i in range(12)] + [mcq_row("q3", question="A later row that reuses the id q3?")]
    write_jsonl(tmp_path / "src" / "en.jsonl", rows)
    for workers in (1, 2):
        report = build(BuildOptions(out=tmp_path / f"o{workers}", sources=[SourceSpec("demo", tmp_path / "src")],
                                    langs=["en"], profile=None, progress=False, workers=workers))
        assert report["counts"]["total"] == 12 and report["counts"]["by_source"]["demo"] == 12
        rejects = [json.loads(x) for x in (tmp_path / f"o{workers}" / "rejects.jsonl").read_text().splitlines()]
        assert [(r["row"], r["step"]) for r in rejects] == [("13", "validate")]
        assert "duplicate id 'demo/en/q3'" in rejects[0]["reason"] and rejects[0]["file"].endswith("en.jsonl")


def test_strict_error_from_a_worker_names_file_and_row(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(DemoSource, "shard_bytes", 300)
    rows = [mcq_row(f"q{i}") for i in range(10)]
    write_jsonl(tmp_path / "src" / "en.jsonl", rows)
    with open(tmp_path / "src" / "en.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"qid": "bad", "kind": "mcq"}\n')
    with pytest.raises(SourceRowError, match=r"en\.jsonl, row 11: options must be an object"):
        build(BuildOptions(out=tmp_path / "out", sources=[SourceSpec("demo", tmp_path / "src")], langs=["en"],
                           profile=None, progress=False, workers=2, strict=True))
    assert not (tmp_path / "out").exists()


def test_user_errors_survive_the_trip_from_a_worker():
    err = pickle.loads(pickle.dumps(SourceRowError("demo", "f.jsonl", 3, "bad")))
    assert str(err) == "source 'demo': f.jsonl, row 3: bad" and err.row == 3
    err = pickle.loads(pickle.dumps(UnknownNameError("language", "xx", ["en", "sw"])))
    assert str(err) == "unknown language 'xx'; valid: en, sw"
