"""Large upstream files are read in parts by build workers: the parts give back exactly the rows of
the whole file (numbers and bad rows included), and a build in two processes equals one in one."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO

from globmed.build import BuildOptions, build
from globmed.sources._files import RowPart, iter_row_part, iter_rows, row_parts
from globmed.sources.base import SourceSpec
from globmed.sources.medmcqa import MedMCQASource
from globmed.sources.medqa import MedQASource

FIXTURES = REPO / "tests" / "fixtures" / "sources"


def _rows(pairs) -> list:
    return [(n, str(r) if isinstance(r, Exception) else r) for n, r in pairs]


def _medmcqa_row(i: int) -> dict:
    return {"id": f"id-{i}", "question": f"Question number {i} about the dose of drug {i % 17}?",
            "opa": f"{i} mg", "opb": f"{i + 1} mg", "opc": f"{i + 2} mg", "opd": f"{i + 3} mg",
            "cop": 1 + i % 4, "choice_type": "single", "exp": "", "subject_name": "Pharmacology"}


def test_json_lines_parts_give_back_every_row_with_its_number(tmp_path: Path):
    lines = [json.dumps(_medmcqa_row(i)) for i in range(60)]
    lines[17] = "{broken"
    lines[30] = ""
    for name in ("train.jsonl", "train.json"):  # MedMCQA's .json files are JSON Lines
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        parts = row_parts(path, part_bytes=500)
        assert len(parts) > 5 and all(p.lines is not None for p in parts)
        assert _rows(r for p in parts for r in iter_row_part(p)) == _rows(iter_rows(path))
    array = tmp_path / "array.json"
    array.write_text(json.dumps([_medmcqa_row(i) for i in range(5)]), encoding="utf-8")
    assert row_parts(array, part_bytes=10) == [RowPart(array)]  # a JSON array is read whole
    assert _rows(iter_row_part(RowPart(array))) == _rows(iter_rows(array))


def test_parquet_parts_are_whole_row_groups(tmp_path: Path):
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist([_medmcqa_row(i) for i in range(10)]), path, row_group_size=3)
    parts = row_parts(path, part_rows=4)  # groups of 3, 3, 3, 1 rows
    assert [(p.row_groups, p.first_row) for p in parts] == [((0, 1), 1), ((2, 3), 7)]
    assert _rows(r for p in parts for r in iter_row_part(p)) == _rows(iter_rows(path))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    assert row_parts(broken) == [RowPart(broken)]
    with pytest.raises(Exception, match="broken.parquet"):
        list(iter_row_part(row_parts(broken)[0]))


def test_medmcqa_and_medqa_read_the_same_in_parts(monkeypatch):
    for source, path in ((MedMCQASource(), FIXTURES / "medmcqa"), (MedQASource(), FIXTURES / "medqa")):
        whole = [repr(x) for x in source.read(path)]
        files = len(source.shards(path))
        monkeypatch.setattr(type(source), "part_bytes", 200)
        assert len(source.shards(path)) > files  # the files are cut into several parts each
        assert [repr(x) for x in source.read(path)] == whole
        assert [repr(x) for p in source.shards(path) for x in source.read_shard(path, None, p)] == whole
    assert MedMCQASource().shards(FIXTURES / "medmcqa", langs=["sw"]) == []  # no English wanted: nothing to read


def test_two_workers_build_medmcqa_as_one_does(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(MedMCQASource, "part_bytes", 4_000)
    src = tmp_path / "medmcqa"
    src.mkdir()
    rows = [json.dumps(_medmcqa_row(i)) for i in range(300)]
    rows[123] = json.dumps({**_medmcqa_row(123), "cop": 9})  # a bad answer key in a middle part
    (src / "train.json").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (src / "dev.json").write_text("\n".join(json.dumps(_medmcqa_row(i)) for i in range(300, 340)) + "\n",
                                  encoding="utf-8")
    assert len(MedMCQASource().shards(src)) > 5
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        report = build(BuildOptions(out=out, sources=[SourceSpec("medmcqa", src)], langs=["en"], profile=None,
                                    progress=False, workers=workers))
        assert report["counts"]["total"] == 339
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    for rel in files:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel
    rejects = [json.loads(x) for x in (outs[1] / "rejects.jsonl").read_text().splitlines()]
    assert [(r["row"], Path(r["file"]).name) for r in rejects] == [("124", "train.json")]
    assert "cop 9 is outside 1..4" in rejects[0]["reason"]
