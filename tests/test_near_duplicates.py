"""The one definition of near-duplicate and contamination (globmed.quality.near_duplicates): the
search finds every pair of a crowded bucket, a pair's verdict does not depend on the other rows,
and a build passes its own release gate while a folder edited afterwards does not."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from globmed.build import BuildOptions, build
from globmed.dataset_release import run_dataset_gates
from globmed.quality import load_quality_config, quality_steps
from globmed.quality.near_duplicates import (
    Definition,
    comparison_texts,
    entry_text,
    find_pairs,
    jaccard,
    normalise,
    normalise_texts,
    shingles,
    table_side,
)
from globmed.quality.synthetic import _edit, generate
from globmed.sources.base import SourceSpec

DEF = Definition.default()
STEM = ("A 54-year-old woman comes to the emergency department with crushing chest pain radiating to the left "
        "arm for two hours, sweating and nausea. Her ECG shows ST elevation in leads II, III and aVF. "
        "Troponin is 2.3 ng/mL. What is the most likely diagnosis?")


def side(texts: list[str]):
    t = pa.table({"question": texts, "options": [["aspirin", "heparin"]] * len(texts), "context": [""] * len(texts)})
    return table_side(t, DEF)


def exact(a: str, b: str) -> float:
    return jaccard(shingles(entry_text(a, ["aspirin", "heparin"], "")), shingles(entry_text(b, ["aspirin", "heparin"], "")))


def near(a: str, b: str) -> bool:
    """The definition by hand: the whole texts alike, and the questions alone too."""
    return exact(a, b) >= DEF.threshold and jaccard(shingles(normalise(a)), shingles(normalise(b))) >= DEF.threshold


def test_one_text_one_normalisation_for_a_row_and_a_column():
    t = pa.table({"question": ["Ｃａｆé  <b>pain</b>?"], "options": [["A) Aspirin", "Heparin!"]], "context": [None]})
    assert comparison_texts(t).texts() == [entry_text("Ｃａｆé  <b>pain</b>?", ["A) Aspirin", "Heparin!"], None)]
    assert entry_text("Ｃａｆé  <b>pain</b>?", ["A) Aspirin", "Heparin!"], None) == "café b pain b a aspirin heparin"
    assert normalise("Ça  va?") == "ça va" and shingles("abc") == {"abc"}
    # marks are part of words (Devanagari vowel signs, Yoruba tones written as combining marks)
    assert normalise("रोगी को बुखार है।") == "रोगी को बुखार है"
    assert normalise("Ọ̀gá ń ṣàìsàn!!") == "ọ̀gá ń ṣàìsàn"
    assert normalise("ＣＴ１２, CT12") == "ct12 ct12" and normalise("  ...  ") == "" and normalise("𝛂-𝛃") == "𝛂 𝛃"


def _normalise_by_hand(text: str) -> str:
    """The normalisation's rules, one character at a time."""
    import unicodedata

    out, after_kept = [], False
    for c in unicodedata.normalize("NFC", text).lower():
        c = chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c
        kept = unicodedata.category(c)[0] in "LMN"
        if kept or (after_kept and c != "\x00"):
            out.append(c if kept else " ")
        after_kept = kept
    return "".join(out).removesuffix(" ")


def test_a_batch_is_normalised_as_each_text_by_hand():
    """The vectorised pass over a whole batch: full-width forms, marks, letters outside the basic plane,
    NUL and other controls, runs of spaces and punctuation at either end, empty texts."""
    from globmed.quality.comparison_text import _folded

    rng = random.Random(5)
    alphabet = [*"ab  ,.!?\x00\t\n-ＡＢ１ｚ、。糖尿病éọABZÉЖΩΣİ", "e\u0301", "E\u0301", "\U0001D518", "\U0001F600",
                "\U0001E900", "  ", "ΑΣ ", "Ⅻ", "Ⓐ", "ǅ"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(3000)]
    texts += ["", " ", "\x00", "a\x00 b", " a ", "ａ", "x" * 5000, "ΟΔΟΣ ΟΔΟΣ.", "İSTANBUL"]
    # without the code points that need a whole text's str.lower() (beyond the basic plane, İ, Σ): the
    # batch is lower-cased by one table look-up; with them, text by text
    plain = [t.translate({ord("Σ"): None, ord("İ"): None}) for t in texts if max(t, default="a") < "\uffff"]
    assert _folded(np.frombuffer("\x00".join(plain).encode("utf-32-le"), np.uint32)) is not None
    for batch in (texts, [t.replace("\x00", "") for t in texts], plain, [t.replace("\x00", "") for t in plain],
                  texts[:1], texts[-2:], []):
        assert normalise_texts(batch).texts() == [_normalise_by_hand(t) for t in batch]
    # every code point of the basic plane (but surrogates) in context, by the table where it can be
    every = [f"Ab{chr(c)}{chr(c)}Z" for c in range(1, 0xFFFF) if not 0xD800 <= c < 0xE000]
    table = [t for t in every if t[2] not in "Σİ"]
    assert _folded(np.frombuffer("\x00".join(table).encode("utf-32-le"), np.uint32)) is not None
    for batch in (every, table):
        assert normalise_texts(batch).texts() == [_normalise_by_hand(t) for t in batch]


def test_every_pair_of_a_crowded_bucket_is_found_and_judged_exactly():
    rng = random.Random(3)
    # 80 train texts, each a lightly edited copy of the one test text: one crowded LSH bucket per band,
    # where a per-bucket cap of 16 used to leave most of them unchecked
    train = [_edit(STEM, rng, rng.choice((1, 2))) for _ in range(80)] + ["A 7-year-old boy has a barking cough."]
    q, r, sim = find_pairs(side(train), side([STEM]), DEF)
    truth = {i for i, text in enumerate(train) if near(text, STEM)}
    assert len(truth) >= 75 and set(q.tolist()) == truth
    assert np.allclose(sim, [exact(train[i], STEM) for i in q.tolist()])  # the exact Jaccard, not an estimate


def test_a_pairs_verdict_does_not_depend_on_the_other_rows():
    """What makes the gate a subset of the build: search a subset, find exactly the subset's pairs."""
    rng = random.Random(5)
    tests = [f"{STEM} Case {i}: {rng.randint(1000, 9999)} units, {rng.choice(['fever', 'rash', 'cough'])}."
             for i in range(30)]
    train = [_edit(rng.choice(tests), rng, rng.randint(1, 12)) for _ in range(300)]
    q, r, _ = find_pairs(side(train), side(tests), DEF)
    everything = set(zip(q.tolist(), r.tolist(), strict=True))
    assert len(everything) > 50
    keep = np.sort(rng.sample(range(len(train)), 120))
    q, r, _ = find_pairs(side([train[i] for i in keep]), side(tests), DEF)
    subset = {(int(keep[a]), b) for a, b in zip(q.tolist(), r.tolist(), strict=True)}
    assert subset == {(a, b) for a, b in everything if a in set(keep.tolist())}


def test_items_sharing_a_premise_are_not_near_duplicates_unless_their_questions_are():
    """RuMedNLI-style: one long premise, three hypotheses (one per label). The whole texts are alike,
    the questions are not: three items. A near-copy of one hypothesis on the same premise is a
    near-duplicate."""
    premise = ("Пациентка 67 лет поступила с жалобами на одышку и боли в груди; в анамнезе гипертония, "
               "сахарный диабет второго типа и перенесённый инфаркт миокарда; ЭКГ без острых изменений.") * 2
    hypotheses = ["У пациентки сердечная недостаточность.", "Пациентка здорова.", "У пациентки была пневмония."]
    labels = ["entailment", "neutral", "contradiction"]
    t = pa.table({"question": hypotheses, "options": [labels] * 3, "context": [premise] * 3})
    q, r, sim = find_pairs(table_side(t, DEF), table_side(t, DEF), DEF)
    assert sorted(zip(q.tolist(), r.tolist(), strict=True)) == [(0, 0), (1, 1), (2, 2)]  # only itself
    whole = [entry_text(h, labels, premise) for h in hypotheses]
    assert jaccard(shingles(whole[0]), shingles(whole[1])) >= DEF.threshold  # what used to remove them
    copy = pa.table({"question": ["У пациентки сердечная недостаточность!"], "options": [labels], "context": [premise]})
    q, r, _ = find_pairs(table_side(copy, DEF), table_side(t, DEF), DEF)
    assert r.tolist() == [0]
    # the build's within-language step follows the same definition
    from globmed.quality.dedup import NearDedupStep
    from globmed.quality.signatures import SignatureStore

    rows = pa.table({"id": [f"rumedbench/ru/{i}" for i in range(4)], "lang": ["ru"] * 4,
                     "question": [*hypotheses, "У пациентки сердечная недостаточность!"],
                     "options": [labels] * 4, "context": [premise] * 4})
    result = NearDedupStep({}, SignatureStore(DEF, 1))(rows)
    assert list(result.keep) == [True, True, True, False]
    assert "near-duplicate of 'rumedbench/ru/0'" in result.reasons[3]


@pytest.fixture(scope="module")
def seeded_build(tmp_path_factory) -> Path:
    """A build of seeded data whose train split holds copies of test items at every similarity from
    about 0.6 to 1.0, quality on (language ID left out: it is not what this tests)."""
    tmp = tmp_path_factory.mktemp("neardup")
    data = generate(1500, ["en", "sw"], defect_rate=0.1, seed=7)
    rng = random.Random(7)
    for rows in data.rows.values():
        tests = [r for r in rows if r.get("split") == "test"]
        for k, src in enumerate(tests[:60]):
            rows.append({**src, "qid": f"near{k}", "split": "train", "question": _edit(src["question"], rng, 2 + k // 2)})
    steps = quality_steps(load_quality_config(workers=1), skip=["language_id"])
    build(BuildOptions(out=tmp / "out", sources=[SourceSpec("demo", data.write(tmp / "src"))], steps=steps,
                       profile=None, langs=["en", "sw"], progress=False))
    return tmp / "out"


def _gates(folder: Path) -> dict[str, list[str]]:
    results, _ = run_dataset_gates(folder, json.loads((folder / "build_report.json").read_text(encoding="utf-8")))
    return {r.name: r.problems for r in results}


def test_a_build_passes_its_own_gate_and_an_edited_folder_fails_naming_the_pair(seeded_build, tmp_path):
    rejects = [json.loads(line) for line in open(seeded_build / "rejects.jsonl", encoding="utf-8")]
    removed = [r for r in rejects if r["step"] == "decontamination" and "/near" in r["id"]]
    assert len(removed) >= 40  # the copies near the threshold and above were taken out by the build
    assert all(problems == [] for problems in _gates(seeded_build).values())

    edited = tmp_path / "edited"
    shutil.copytree(seeded_build, edited)
    test_file = next((edited / "data" / "en").glob("test-*.parquet"))
    train_file = next((edited / "data" / "en").glob("train-*.parquet"))
    test_row = pq.read_table(test_file).slice(3, 1).to_pylist()[0]
    train = pq.read_table(train_file)
    copy = {**train.slice(0, 1).to_pylist()[0], "id": "demo/en/sneaked", "origin_id": "demo/sneaked",
            "question": _edit(test_row["question"], random.Random(1), 2), "options": test_row["options"],
            "context": test_row["context"]}
    pq.write_table(pa.concat_tables([train, pa.Table.from_pylist([copy], schema=train.schema)]), train_file)
    problems = _gates(edited)["near_duplicates"]
    assert len(problems) == 1
    assert f"test entry {test_row['id']!r}" in problems[0] and "train entry 'demo/en/sneaked'" in problems[0]
    assert "5-gram Jaccard" in problems[0]


def test_exact_similarity_is_the_jaccard_of_the_shingle_sets_in_every_script():
    """The vectorised verifier gives jaccard(shingles(x), shingles(y)) exactly: short and empty texts,
    combining marks, letters outside the basic plane, and texts with more distinct code points than
    one 64-bit packed gram can number (the two-key path)."""
    import random

    import numpy as np

    from globmed.quality.near_duplicates import (
        _normalised_gram_matrix,
        exact_similarity,
        jaccard,
        normalise,
        normalise_texts,
        shingles,
    )

    rng = random.Random(0)
    words = "fever cough patient aspirin insulin 糖尿病 患者 ọ̀rọ̀ ẹ̀yin मधुमेह dose mg blood".split()
    small = [normalise(" ".join(rng.choice(words) for _ in range(rng.randint(0, 30)))) for _ in range(120)]
    small += ["", "a", "abcd", "abcde", "abcdef", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 x"]
    many = ["".join(chr(0x4E00 + rng.randrange(6000)) for _ in range(rng.randint(3, 60))) for _ in range(80)]
    many += [many[0][:-1] + "x", many[1]]
    # 1024-4095 distinct code points: one packed key per gram, but no room left for the text's number
    mid = ["".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(rng.randint(3, 60))) for _ in range(200)]
    # no text shorter than a gram: normalised code points are shingled in place (_normalised_gram_matrix)
    long = [t for t in small if len(t) >= 5] + [t + "xyzzy" for t in many[:40]]
    assert _normalised_gram_matrix(normalise_texts(long), 5) is not None
    assert _normalised_gram_matrix(normalise_texts(small), 5) is None  # (short texts: one padded gram each)
    for texts in (small, many, mid, long):
        n = len(texts)
        a = np.array([rng.randrange(n) for _ in range(1500)] + list(range(n)))
        b = np.array([rng.randrange(n) for _ in range(1500)] + list(range(n)))
        get = lambda rows, texts=texts: [texts[i] for i in rows]  # noqa: E731
        norm = normalise_texts(texts)
        assert norm.texts() == texts
        take = norm.take  # the normalised code points as they are, as the build's steps give them
        assert take([3, 0, 3]).texts() == [texts[3], texts[0], texts[3]] and take([]).texts() == []
        want = np.array([jaccard(shingles(texts[x]), shingles(texts[y])) for x, y in zip(a, b, strict=True)])
        for sparse in (True, False):  # scipy's sparse rows, and the Python sets used without scipy
            assert np.array_equal(exact_similarity(a, b, get, get, chunk=400, sparse=sparse), want)
            assert np.array_equal(exact_similarity(a, b, take, take, chunk=400, sparse=sparse), want)
            assert np.array_equal(exact_similarity(a, b, get, take, chunk=400, sparse=sparse), want)


def test_the_search_gives_the_same_pairs_in_forked_processes(monkeypatch):
    """find_pairs and exact_similarity split over forked workers (bands, slices of pairs) give exactly
    the one-process result: pairs, similarities and their order."""
    import globmed.quality.near_duplicates as nd

    rng = random.Random(11)
    tests = [f"{STEM} Case {i}: {rng.randint(1000, 9999)} units, {rng.choice(['fever', 'rash', 'cough'])}."
             for i in range(40)]
    train = [_edit(rng.choice(tests), rng, rng.randint(1, 12)) for _ in range(400)]
    one = find_pairs(side(train), side(tests), DEF, workers=1)
    assert len(one[0]) > 50
    monkeypatch.setattr(nd, "FORK_MIN_ROWS", 0)  # small enough to fork here
    calls = []
    real = nd.exact_similarity

    def small_slices(*args, **kwargs):  # several slices of pairs, so that the slices are split too
        calls.append(kwargs.get("workers"))
        return real(*args, **{**kwargs, "chunk": 37})

    monkeypatch.setattr(nd, "exact_similarity", small_slices)
    two = find_pairs(side(train), side(tests), DEF, workers=2)
    assert calls and set(calls) == {2}
    for x, y in zip(one, two, strict=True):
        assert np.array_equal(x, y)


def test_fork_map_keeps_order_shares_state_and_runs_in_place_when_it_cannot_fork():
    import multiprocessing
    import os

    from globmed.quality.forked import can_fork, fork_map

    state = {"scale": 3, "f": lambda x: x + 1}  # a lambda cannot be pickled: the workers inherit it
    out = fork_map(lambda st, i: (st["f"](i) * st["scale"], os.getpid()), state, list(range(9)), workers=2)
    assert [v for v, _ in out] == [(i + 1) * 3 for i in range(9)]
    assert os.getpid() not in {pid for _, pid in out}  # it did run elsewhere
    assert [v for v, _ in fork_map(lambda st, i: (i, os.getpid()), None, [1, 2], workers=1)] == [1, 2]
    assert not can_fork(2, 1) and not can_fork(1, 5) and can_fork(2, 2)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:  # a daemon (a build's shard worker) cannot start processes: in place
        assert pool.apply(can_fork, (2, 5)) is False


def _densify_by_rolling(sig: np.ndarray) -> np.ndarray:
    """Rotation densification written the plain way: each empty bin of a row with some shingles takes the
    first non-empty bin after it (cyclically) in the row as it was, mixed with the distance."""
    from globmed.quality.minhash import EMPTY

    out = sig.copy()
    for r, row in enumerate(sig):
        if (row == EMPTY).all():
            continue
        for c in np.flatnonzero(row == EMPTY):
            shift = next(s for s in range(1, len(row)) if row[(c + s) % len(row)] != EMPTY)
            out[r, c] = int(row[(c + shift) % len(row)]) * (2654435761 + 2 * shift) % 0xFFFFFFFE
    return out


def test_densification_fills_each_empty_bin_from_the_next_non_empty_one():
    from globmed.quality.minhash import EMPTY, _densify

    rng = np.random.default_rng(2)
    sig = rng.integers(0, 2**25, (300, 32)).astype(np.uint32)
    sig[rng.random(sig.shape) < 0.6] = EMPTY  # runs of empty bins, wrapping around the row's end too
    sig[5], sig[7, :31] = EMPTY, EMPTY  # a row without shingles stays empty; one bin feeds a whole row
    want = _densify_by_rolling(sig)
    _densify(sig)
    assert np.array_equal(sig, want) and (sig[5] == EMPTY).all() and not (sig[7] == EMPTY).any()


def test_a_side_of_some_rows_searches_as_a_table_of_those_rows():
    """table_side over given rows of a table (consecutive: views and a slice; else copies), with the table's
    signatures and band keys, finds what a side made from those rows alone finds."""
    from globmed.quality.minhash import band_keys
    from globmed.quality.near_duplicates import comparison_texts, sketch

    rng = random.Random(4)
    tests = [f"{STEM} Case {i}: {rng.randint(1000, 9999)} units." for i in range(6)]
    texts = [_edit(rng.choice(tests), rng, rng.randint(0, 6)) for _ in range(80)]
    t = pa.table({"question": texts, "options": [["aspirin", "heparin"]] * 80, "context": [""] * 80})
    sig, hashes = sketch(comparison_texts(t), DEF)
    bands = band_keys(sig, DEF.bands)
    ref = side(tests)
    for rows in (np.arange(20, 70), np.array([20, 22, *range(24, 70)]), np.arange(0, 80)):
        got = find_pairs(table_side(t, DEF, sig, hashes, rows, bands), ref, DEF)
        want = find_pairs(table_side(t.take(pa.array(rows)), DEF), ref, DEF)
        assert len(want[0]) > 10 and all(np.array_equal(x, y) for x, y in zip(got, want, strict=True))


def test_runs_of_finds_each_querys_run_of_equal_keys_with_or_without_its_bitmap():
    import numpy as np

    from globmed.quality.near_duplicates import _runs_of

    rng = np.random.default_rng(4)
    for n_keys, n_queries in ((50, 10), (300, 5000), (2000, 40_000)):  # the bitmap from 4 queries per key on
        keys = np.sort(np.concatenate([rng.integers(0, 2**64, n_keys, dtype=np.uint64)] * 2)[: n_keys + n_keys // 3])
        queries = np.concatenate([rng.choice(keys, n_queries // 2), rng.integers(0, 2**64, n_queries // 2,
                                                                                  dtype=np.uint64)])
        lo, count = _runs_of(keys, queries)
        want_lo = np.searchsorted(keys, queries, "left")
        want_count = np.searchsorted(keys, queries, "right") - want_lo
        assert (count == want_count).all() and (lo[count > 0] == want_lo[count > 0]).all()
        assert (lo[count == 0] == 0).all() and (count > 1).any()
