"""The serial part of a build after the stream: the whole-build steps' table and rejects, the split
column, the Parquet files written by several processes, and the release gate's loads in processes.
Each is checked against the straightforward way of doing the same (what the build did before)."""

from __future__ import annotations

import json
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import globmed.build_files as build_files
from globmed.build_steps import RejectLog, run_split_steps
from globmed.export import write_split
from globmed.pipeline import StepStats, TableResult, TableStep
from globmed.schema import SPLITS
from globmed.sources.base import Reject
from globmed.splits import SplitAssigner, split_column


def _demo_table(folder: Path, copies: int = 3) -> pa.Table:
    """Every row of a build folder (``copies`` times, ids made unique), with its split, in a shuffled order."""
    parts = []
    for path in sorted((folder / "data").rglob("*.parquet")):
        part = pq.read_table(path)
        parts.append(part.append_column("split", pa.array([path.name.split("-", 1)[0]] * part.num_rows, pa.string())))
    table = pa.concat_tables(parts)
    tables = []
    for k in range(copies):
        ids = pc.binary_join_element_wise(table.column("id"), pa.scalar(f"c{k}"), "#")
        tables.append(table.set_column(0, "id", ids))
    table = pa.concat_tables(tables)
    table = table.take(pa.array(np.random.default_rng(7).permutation(table.num_rows)))
    table = table.append_column("upstream_file", pa.array([f"f{i % 5}.jsonl" if i % 9 else None for i in range(table.num_rows)]))
    table = table.append_column("upstream_row", pa.array([str(i) if i % 4 else None for i in range(table.num_rows)]))
    # a step's own column, and many small chunks as the stream makes them
    table = table.append_column("_key", pa.array([zlib.crc32(q.encode()) % 97 for q in table.column("question").to_pylist()],
                                                 pa.int64()))
    return pa.Table.from_batches(table.to_batches(max_chunksize=37))


class _FirstOfKey(TableStep):
    """Keeps the first row of each ``_key`` (test rows come first); remembers the order of splits it saw."""

    name = "first_of_key"

    def __init__(self):
        self.seen_splits: list[str] = []

    def __call__(self, table: pa.Table) -> TableResult:
        self.seen_splits = table.column("split").to_pylist()
        first: dict[int, str] = {}
        keep, reasons = [], []
        for key, row_id in zip(table.column("_key").to_pylist(), table.column("id").to_pylist(), strict=True):
            if key in first:
                keep.append(False)
                reasons.append(f"same key as '{first[key]}' ({key})")
            else:
                first[key] = row_id
                keep.append(True)
                reasons.append(None)
        return TableResult(keep, reasons)


class _EveryFifth(TableStep):
    """Removes every fifth row it sees, without a reason (the reject says "removed")."""

    name = "every_fifth"

    def __call__(self, table: pa.Table) -> TableResult:
        keep = np.arange(table.num_rows) % 5 != 4
        return TableResult(keep, [None] * table.num_rows)


class _KeepAll(TableStep):
    name = "keep_all"

    def __call__(self, table: pa.Table) -> TableResult:
        return TableResult(np.ones(table.num_rows, dtype=bool), [None] * table.num_rows)


def _reference_split_steps(table, steps, rejects):
    """What the build did before: the whole table reordered, filtered after each step, sorted back."""
    split = table.column("split")
    rank = np.full(table.num_rows, 2, dtype=np.int8)
    for r, name in enumerate(("test", "validation")):
        rank[pc.equal(split, name).to_numpy(zero_copy_only=False)] = r
    order = np.argsort(rank, kind="stable")
    table = table.combine_chunks().take(pa.array(order)).append_column("_stream_order", pa.array(order))
    rejects.reopen()
    for step, stats in steps:
        result = step(table)
        keep = np.asarray(result.keep, dtype=bool)
        stats.record_table(table.column("lang"), keep, result.reasons)
        dropped = np.flatnonzero(~keep)
        if len(dropped):
            rows = table.select(["source", "upstream_file", "upstream_row", "id", "lang"]).take(pa.array(dropped))
            for i, row in zip(dropped, rows.to_pylist(), strict=True):
                rejects.add(Reject(row["source"], row["upstream_file"] or "", row["upstream_row"],
                                   result.reasons[i] or "removed", id=row["id"], lang=row["lang"], step=step.name),
                            fail_if_strict=False)
            table = table.filter(pa.array(keep))
    rejects.close()
    order = pc.sort_indices(table.column("_stream_order"))
    return table.drop_columns([c for c in table.column_names if c.startswith("_")]).take(order)


@pytest.mark.parametrize("last_keeps_all", [False, True])
def test_split_steps_give_the_table_rejects_and_counts_of_the_reorder_and_sort_back(demo_build, tmp_path, last_keeps_all):
    table = _demo_table(demo_build)
    runs = {}
    for name in ("reference", "build"):
        first = _FirstOfKey()
        steps = [(s, StepStats(s.name)) for s in (first, _EveryFifth(), _KeepAll() if last_keeps_all else _EveryFifth())]
        log = RejectLog(tmp_path / f"{name}.jsonl", strict=True)  # quality removals never fail --strict
        log.close()
        out = _reference_split_steps(table, steps, log) if name == "reference" else run_split_steps([table], steps, log, False)
        runs[name] = (out, log, [s.to_dict() for _, s in steps], first.seen_splits)
    (ref, ref_log, ref_stats, ref_seen), (out, log, stats, seen) = runs["reference"], runs["build"]
    assert out.num_rows < table.num_rows and "_key" not in out.column_names
    assert out.combine_chunks().equals(ref.combine_chunks())  # the same rows, in stream order
    assert seen == ref_seen and seen == sorted(seen, key=["test", "validation", "train"].index)  # test rows first
    assert stats == ref_stats
    lines = (tmp_path / "build.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines == (tmp_path / "reference.jsonl").read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["reason"] for line in lines} >= {"removed"}
    assert log.summary() == ref_log.summary() and log.first == ref_log.first
    assert log.total == table.num_rows - out.num_rows


def test_first_steps_judged_in_order_without_a_copy_give_what_they_give_on_the_copy(demo_build, tmp_path):
    from globmed.quality.dedup import ExactDedupStep
    from globmed.quality.rules import TranslationRulesStep

    table = _demo_table(demo_build)  # every text three times: exact duplicates, the first (test-first) kept
    runs = {}
    for name in ("reference", "build"):
        steps = [(s, StepStats(s.name)) for s in (TranslationRulesStep({}), ExactDedupStep(), _EveryFifth())]
        assert all(hasattr(s, "in_order") for s, _ in steps[:2])  # the build's path for them
        log = RejectLog(tmp_path / f"{name}-in-order.jsonl", strict=False)
        log.close()
        out = _reference_split_steps(table, steps, log) if name == "reference" else run_split_steps([table], steps, log, False)
        runs[name] = (out, [s.to_dict() for _, s in steps])
    (ref, ref_stats), (out, stats) = runs["reference"], runs["build"]
    assert out.num_rows < table.num_rows // 3 + 1  # the copies went, then every fifth row
    assert out.combine_chunks().equals(ref.combine_chunks()) and stats == ref_stats
    lines = (tmp_path / "build-in-order.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines == (tmp_path / "reference-in-order.jsonl").read_text(encoding="utf-8").splitlines()
    assert any("exact duplicate of" in line for line in lines)


def test_split_column_is_the_split_of_each_rows_origin():
    assigner = SplitAssigner(salt="s")
    origins = [f"src/{i % 40}" for i in range(300)]
    assigner.observe(["src/3", "src/5", "src/5"], ["test", "train", "validation"])
    column = pa.chunked_array([pa.array(origins[:100]), pa.array(origins[100:])])
    got = split_column(column, assigner)
    assert pa.chunked_array(got).to_pylist() == [assigner.split_of(o) for o in origins]
    assert got.type == pa.string() and set(pa.chunked_array(got).to_pylist()) <= set(SPLITS)
    assert pa.chunked_array(got).to_pylist()[3] == "test" and pa.chunked_array(got).to_pylist()[5] == "validation"
    assert len(split_column(pa.chunked_array([], pa.string()), assigner)) == 0


def test_parquet_files_are_the_files_of_the_loop_over_every_language(demo_build, tmp_path):
    table = _demo_table(demo_build).drop_columns(["_key"])
    langs = sorted(set(table.column("lang").to_pylist()), reverse=True)[:-1]  # not every language, not sorted
    reference = []
    for lang in langs:  # the build's loop before
        lang_table = table.filter(pc.equal(table.column("lang"), lang))
        for split in SPLITS:
            part = lang_table.filter(pc.equal(lang_table.column("split"), split))
            reference += write_split(part, tmp_path / "ref", lang, split, 40)
    assert build_files.present_languages(table, ["xx", *langs]) == langs
    written = build_files.write_languages(table, langs, tmp_path / "out", 40)
    assert written == reference
    for f in reference:
        assert (tmp_path / "out" / f.path).read_bytes() == (tmp_path / "ref" / f.path).read_bytes()
    assert len(reference) > 2 * len(langs)  # several shards of several splits


def test_gate_loads_in_processes_load_what_one_process_loads(demo_build):
    from globmed.dataset_release import gate_loads

    configs = ["en", "sw", "zu"]
    results = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as cache:
            result, loaded = gate_loads(demo_build, configs, Path(cache), workers=workers, union="all")
            assert result.ok, result.problems
            assert len(list(Path(cache).iterdir())) == len(configs) + 1  # a fresh cache for each config
            results[workers] = {cfg: {split: ds.data.table.to_pydict() for split, ds in dsd.items()}
                                for cfg, dsd in loaded.items()}
    assert results[1] == results[2] and list(results[2]) == configs
    assert all(results[2][cfg]["test"]["lang"] == [cfg] * len(results[2][cfg]["test"]["lang"]) for cfg in configs)


def test_gate_loads_in_processes_name_a_broken_file(demo_build, tmp_path):
    import shutil

    from globmed.dataset_release import gate_loads

    folder = tmp_path / "copy"
    shutil.copytree(demo_build, folder)
    broken = sorted((folder / "data" / "sw").glob("train-*.parquet"))[0]
    broken.write_bytes(b"not parquet")
    (tmp_path / "cache").mkdir()
    result, loaded = gate_loads(folder, ["en", "sw"], tmp_path / "cache", workers=2, union="all")
    assert not result.ok and "en" in loaded and "sw" not in loaded
    assert len(result.problems) == 1 and "'sw'" in result.problems[0] and broken.name in result.problems[0]


def test_a_workers_reject_batch_is_logged_as_each_reject_would_be(tmp_path):
    from globmed.build_steps import RejectBatch

    rejects = [Reject("a", "a.jsonl", str(i), f"answer '{i % 3}' is not an option", id=f"a/en/{i}", lang="en",
                      step="validate") for i in range(5)]
    rejects += [Reject("b", "b.csv", None, "withheld answer: ünïcödé \udcff", step="read", expected=True),
                Reject("a", "", "7", "not valid JSON", step="read")]
    one, batched = RejectLog(tmp_path / "one.jsonl", strict=False), RejectLog(tmp_path / "batch.jsonl", strict=False)
    one.add(Reject("c", "c.jsonl", "1", "first"))
    batched.add(Reject("c", "c.jsonl", "1", "first"))
    for reject in rejects:
        one.add(reject)
    batched.add_batch(RejectBatch.of(rejects[:4]))
    batched.add_batch(RejectBatch.of([]))
    batched.add_batch(RejectBatch.of(rejects[4:]))
    one.close()
    batched.close()
    assert (tmp_path / "batch.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert batched.summary() == one.summary() and batched.first == one.first
    assert batched.summary()["expected"] == 1 and batched.first["a"] == "a.jsonl, row 0: answer '0' is not an option"
