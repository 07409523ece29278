"""The build's near-duplicate memo (globmed.quality.sketch_memo): the release gate looks up what the build
computed by content, reaches the verdict it reaches without it, and still catches a folder edited after
the build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from globmed.dataset_release import run_dataset_gates
from globmed.quality.near_duplicates import Definition
from globmed.quality.sketch_memo import KEEP, MANIFEST, Memo, MemoWriter, memo_root, text_keys

LANGS = ["en", "fr", "de"]


def _build(tmp: Path, out: Path, n: int = 2400, seed: int = 3) -> dict:
    from globmed.build import BuildOptions, build
    from globmed.quality import quality_steps
    from globmed.quality.synthetic import generate
    from globmed.sources.base import SourceSpec

    src = generate(n, LANGS, seed=seed).write(tmp / f"src-{seed}")
    return build(BuildOptions(out=out, sources=[SourceSpec.parse(f"demo={src}")], profile=None, langs=LANGS,
                              steps=quality_steps(langs=LANGS), progress=False, workers=1))


@pytest.fixture(scope="module")
def memo_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("memo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GLOBMED_MEMO", str(root))
        yield root


@pytest.fixture(scope="module")
def built(tmp_path_factory, memo_env) -> Path:
    tmp = tmp_path_factory.mktemp("built")
    out = tmp / "out"
    _build(tmp, out)
    return out


def _report(folder: Path) -> dict:
    return json.loads((folder / "build_report.json").read_text(encoding="utf-8"))


def _near(results):
    [near] = [r for r in results if r.name == "near_duplicates"]
    return near


def test_a_build_keeps_its_memo_and_the_gate_uses_it_for_the_same_verdict(built, memo_env, monkeypatch):
    from globmed.quality import signatures

    [folder] = [p for p in memo_env.iterdir() if not p.name.startswith(".")]
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["folder"] == str(built.resolve())
    assert any(name.startswith("pairs-") for name in manifest["files"])  # the decontamination verified pairs

    computed = []
    original = signatures.SignatureStore.compute

    def counting(self, texts, *args, **kwargs):
        computed.append(texts.num_rows if isinstance(texts, pa.Table) else len(texts))
        return original(self, texts, *args, **kwargs)

    monkeypatch.setattr(signatures.SignatureStore, "compute", counting)
    with_memo = _near(run_dataset_gates(built, _report(built))[0])
    assert computed == []  # every row's signature came from the memo
    assert with_memo.ok, with_memo.problems
    assert "its search of all" in with_memo.note  # the build's own search, not repeated
    found, candidates = (int(x.replace(",", "")) for x in
                         with_memo.note.split("the similarities of ")[1].split(" candidate")[0].split(" of "))
    assert candidates > 0 and found == candidates

    again = _near(run_dataset_gates(built, _report(built), recompute=True)[0])
    assert sum(computed) == _report(built)["counts"]["total"]  # --recompute: every row computed
    assert again.problems == with_memo.problems and again.note is None

    lower = _near(run_dataset_gates(built, _report(built), near_dup_threshold=0.75)[0])
    assert "the signatures of" in lower.note  # another threshold: the build's search is not this one's
    assert lower.problems == _near(run_dataset_gates(built, _report(built), near_dup_threshold=0.75,
                                                     recompute=True)[0]).problems


def _edit_train_row_into_a_copy_of_a_test_row(folder: Path, lang: str = "en") -> str:
    """A train row of ``lang`` becomes a test row's text with one word added; its id."""
    test_file = sorted((folder / "data" / lang).glob("test-*.parquet"))[0]
    train_file = sorted((folder / "data" / lang).glob("train-*.parquet"))[0]
    test, train = pq.read_table(test_file), pq.read_table(train_file)
    source = test.slice(0, 1).to_pylist()[0]
    rows = train.to_pylist()
    rows[0].update(question=source["question"] + " today", options=source["options"], context=source["context"])
    pq.write_table(pa.Table.from_pylist(rows, schema=train.schema), train_file)
    return rows[0]["id"]


def test_the_gate_with_the_memo_still_catches_a_row_edited_after_the_build(built, tmp_path):
    # the memo is the folder's by its path: edit the build folder itself, then put it back
    backup = tmp_path / "backup"
    shutil.copytree(built, backup)
    try:
        edited = _edit_train_row_into_a_copy_of_a_test_row(built)
        results, _ = run_dataset_gates(built, _report(built))
        near = _near(results)
        assert any(f"train entry {edited!r}" in p and "near-duplicate" in p for p in near.problems), near.problems
        total = _report(built)["counts"]["total"]
        assert f"the signatures of {total - 1:,} of {total:,} rows" in near.note  # the edited row was computed
        assert near.problems == _near(run_dataset_gates(built, _report(built), recompute=True)[0]).problems
    finally:
        shutil.rmtree(built)
        shutil.copytree(backup, built)


def test_an_altered_memo_file_is_not_used(built, memo_env):
    [folder] = [p for p in memo_env.iterdir() if not p.name.startswith(".")]
    rows = sorted(folder.glob("rows-*.arrow"))[0]
    original = rows.read_bytes()
    try:
        data = bytearray(original)
        data[len(data) // 2] ^= 0xFF
        rows.write_bytes(bytes(data))
        assert Memo.open(built, Definition.default()) is None
        near = _near(run_dataset_gates(built, _report(built))[0])
        assert near.ok and near.note is None  # computed, same verdict
    finally:
        rows.write_bytes(original)
    assert Memo.open(built, Definition.default()) is not None


def test_a_memo_of_another_definition_or_folder_is_not_used(built, tmp_path):
    import dataclasses

    assert Memo.open(built, dataclasses.replace(Definition.default(), num_perm=64, bands=8)) is None
    moved = tmp_path / "moved"
    shutil.copytree(built, moved)
    assert Memo.open(moved, Definition.default()) is None


def test_memo_lookups_hit_only_the_same_content(tmp_path, monkeypatch):
    monkeypatch.setenv("GLOBMED_MEMO", str(tmp_path / "memo"))
    definition = Definition.default()
    table = pa.table({"question": ["What causes scurvy?", "Which organ makes insulin?", "What causes scurvy?"],
                      "options": [["A", "B"], ["pancreas", "liver"], ["A", "C"]], "context": ["", "", ""]})
    keys = text_keys(table)
    assert len({tuple(k) for k in keys.tolist()}) == 3  # an option differs: another key
    assert (text_keys(table, workers=2) == keys).all()
    writer = MemoWriter.begin(tmp_path / "folder", definition)
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32, (2, definition.num_perm), dtype=np.uint32)
    bands = rng.integers(0, 2**63, (2, definition.bands), dtype=np.uint64)
    writer.add_rows(keys[:2], sig, bands, np.array([11, 22], np.uint64))
    writer.add_pairs(np.array([22, 5], np.uint64), np.array([11, 6], np.uint64), np.array([0.75, 0.5]))
    assert writer.commit() is not None
    memo = Memo.open(tmp_path / "folder", definition)
    at = memo.find(keys)
    assert at[2] == -1 and sorted(at[:2].tolist()) == [0, 1]
    got_sig, got_hash, got_bands = memo.sketches(at[:2])
    assert (got_sig == sig).all() and (got_bands == bands).all() and got_hash.tolist() == [11, 22]
    known, sim = memo.similarities(np.array([11, 22, 11, 6], np.uint64), np.array([22, 11, 33, 5], np.uint64))
    assert known.tolist() == [True, True, False, True] and sim[[0, 1, 3]].tolist() == [0.75, 0.75, 0.5]


def test_memos_are_pruned_to_the_newest_and_a_failed_build_leaves_none(tmp_path, monkeypatch):
    monkeypatch.setenv("GLOBMED_MEMO", str(tmp_path / "memo"))
    definition = Definition.default()
    one = np.zeros((1, 2), np.uint64)
    for i in range(KEEP + 2):
        writer = MemoWriter.begin(tmp_path / f"folder{i}", definition)
        writer.add_rows(one, np.zeros((1, definition.num_perm), np.uint32), np.zeros((1, definition.bands), np.uint64),
                        np.zeros(1, np.uint64))
        writer.commit()
    assert len(list(memo_root().iterdir())) == KEEP
    assert Memo.open(tmp_path / "folder0", definition) is None
    assert Memo.open(tmp_path / f"folder{KEEP + 1}", definition) is not None

    from globmed.errors import GlobmedError

    before = set(memo_root().iterdir())
    empty = tmp_path / "empty-src"
    empty.mkdir()
    (empty / "en.jsonl").write_text("", encoding="utf-8")
    from globmed.build import BuildOptions, build
    from globmed.quality import quality_steps
    from globmed.sources.base import SourceSpec

    with pytest.raises(GlobmedError):
        build(BuildOptions(out=tmp_path / "out", sources=[SourceSpec.parse(f"demo={empty}")], profile=None,
                           langs=["en"], steps=quality_steps(langs=["en"]), progress=False, workers=1))
    assert set(memo_root().iterdir()) == before  # no unfinished memo left behind


def test_memo_off(tmp_path, monkeypatch):
    monkeypatch.setenv("GLOBMED_MEMO", "off")
    assert memo_root() is None
    assert MemoWriter.begin(tmp_path / "folder", Definition.default()) is None


def _near_duplicate_texts(n: int, seed: int) -> pa.Table:
    """``n`` rows of random words, a third of them copies of an earlier row with a few characters changed."""
    import random

    rng = random.Random(seed)
    words = ["fever", "cough", "renal", "acute", "chronic", "dose", "insulin", "liver", "biopsy", "lesion",
             "sepsis", "anemia", "valve", "murmur", "rash", "edema", "stroke", "nerve", "tumor", "graft"]
    questions: list[str] = []
    for _ in range(n):
        if questions and rng.random() < 0.35:
            text = list(rng.choice(questions))
            for _ in range(rng.randint(1, 4)):
                text[rng.randrange(len(text))] = rng.choice("abcdefghij")
            questions.append("".join(text))
        else:
            questions.append(" ".join(rng.choice(words) for _ in range(rng.randint(8, 30))))
    return pa.table({"question": questions, "options": [["yes", "no"]] * n, "context": [""] * n})


def test_a_search_inside_a_recorded_one_takes_its_candidates_and_finds_the_same_pairs(tmp_path, monkeypatch):
    from globmed.quality.near_duplicates import find_pairs, keyed_side, table_side

    monkeypatch.setenv("GLOBMED_MEMO", str(tmp_path / "memo"))
    definition = Definition.default()
    table = _near_duplicate_texts(1200, seed=1)
    rng = np.random.default_rng(2)
    is_ref = rng.random(table.num_rows) < 0.3
    query_rows, ref_rows = np.flatnonzero(~is_ref), np.flatnonzero(is_ref)
    query, ref = table.take(pa.array(query_rows)), table.take(pa.array(ref_rows))

    writer = MemoWriter.begin(tmp_path / "folder", definition)
    full = [table_side(t, definition) for t in (query, ref)]
    writer.add_rows(np.zeros((1, 2), np.uint64), full[0].sig[:1], np.zeros((1, definition.bands), np.uint64),
                    full[0].hashes[:1])
    writer.add_search(full[0].hashes, full[1].hashes, definition.threshold - definition.margin)
    recorded = find_pairs(*full, definition, verified=writer.add_pairs)
    assert len(recorded[0]) > 20  # near-duplicates across the sides
    writer.commit()
    memo = Memo.open(tmp_path / "folder", definition)

    for _ in range(4):  # searches of parts of each side, as a folder that lost rows after the build
        q_part = np.sort(rng.choice(len(query_rows), len(query_rows) * 2 // 3, replace=False))
        r_part = np.sort(rng.choice(len(ref_rows), len(ref_rows) * 2 // 3, replace=False))
        sides = [table_side(t.take(pa.array(p)), definition) for t, p in ((query, q_part), (ref, r_part))]
        assert memo.covers(sides[0].hashes, sides[1].hashes, definition.threshold - definition.margin)
        expected = find_pairs(*sides, definition)
        keyed = [keyed_side(query.take(pa.array(q_part)), sides[0].hashes),
                 keyed_side(ref.take(pa.array(r_part)), sides[1].hashes)]
        got = find_pairs(*keyed, definition, known=memo.similarities, searched=memo.candidates)
        assert len(expected[0]) > 5
        for a, b in zip(expected, got, strict=True):
            assert a.tolist() == b.tolist()

    # what `verified` is given does not depend on what `known` already had: every candidate pair of two
    # texts (the build's decontamination looks up the near_dedup step's similarities)
    from globmed.quality.near_duplicates import VerifiedPairs

    def recorded(known=None) -> set:
        got = []
        find_pairs(*full, definition, known=known, verified=lambda a, b, sim: got.append((a, b, sim)))
        [(a, b, sim)] = got
        return set(zip(a.tolist(), b.tolist(), sim.tolist(), strict=True))

    everything = recorded()
    half = sorted(everything)[::2]
    earlier = VerifiedPairs(*(np.array([x[k] for x in half], dtype) for k, dtype in ((0, np.uint64), (1, np.uint64),
                                                                                         (2, np.float64))))
    assert len(earlier) == len(half) > 10 and recorded(earlier.lookup) == everything

    # a text on the other side than the search had it, or one it never saw: not covered
    low = definition.threshold - definition.margin
    assert not memo.covers(full[1].hashes[:5], full[0].hashes, low)
    assert not memo.covers(full[0].hashes, np.concatenate([full[1].hashes, np.array([12345], np.uint64)]), low)
    assert not memo.covers(full[0].hashes, full[1].hashes, low - 0.1)  # another threshold: other candidates


def test_recorded_candidates_map_back_to_every_row_of_a_text_either_way_round(tmp_path, monkeypatch):
    monkeypatch.setenv("GLOBMED_MEMO", str(tmp_path / "memo"))
    definition = Definition.default()
    writer = MemoWriter.begin(tmp_path / "folder", definition)
    writer.add_rows(np.zeros((1, 2), np.uint64), np.zeros((1, definition.num_perm), np.uint32),
                    np.zeros((1, definition.bands), np.uint64), np.zeros(1, np.uint64))
    writer.add_search(np.array([1, 2, 7], np.uint64), np.array([3, 4], np.uint64), 0.7)
    writer.add_pairs(np.array([1, 4], np.uint64), np.array([3, 2], np.uint64), np.array([0.9, 0.75]))
    writer.commit()
    memo = Memo.open(tmp_path / "folder", definition)
    query, ref = np.array([2, 1, 9, 1], np.uint64), np.array([4, 3, 3], np.uint64)
    qi, ri = memo.candidates(query, ref)
    # text 1 is rows 1 and 3 of the query side, text 3 rows 1 and 2 of the ref side: four pairs; (2, 4) the
    # recorded pair (4, 2) the other way round
    assert sorted(zip(qi.tolist(), ri.tolist(), strict=True)) == [(0, 0), (1, 1), (1, 2), (3, 1), (3, 2)]
    assert memo.covers(np.array([1, 7], np.uint64), np.array([4], np.uint64), 0.7)
    assert not memo.covers(np.array([1, 7], np.uint64), np.array([4], np.uint64), 0.6)
    assert not memo.covers(query, ref, 0.7)  # 9: a text the search did not have
    assert not memo.covers(np.array([3], np.uint64), np.array([4], np.uint64), 0.7)  # 3 was on the other side
