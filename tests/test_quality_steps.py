"""Normalisation, task and translation rules, exact and near-duplicate dedup, decontamination."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from globmed.build import PIPELINE_SCHEMA
from globmed.quality import load_quality_config
from globmed.quality.decontam import DecontaminationStep, read_external
from globmed.quality.dedup import ExactDedupStep, NearDedupStep
from globmed.quality.minhash import band_keys, candidate_pairs, signatures, similarity
from globmed.quality.near_duplicates import Definition
from globmed.quality.normalize import NormaliseStep
from globmed.quality.rules import TaskRulesStep, TranslationRulesStep
from globmed.quality.signatures import SignatureStore
from globmed.schema import Entry, Translation, entries_to_batch

CFG = load_quality_config(workers=1)

STEM = ("A 54-year-old woman comes to the emergency department with crushing chest pain radiating to the left "
        "arm for two hours, sweating and nausea. Her ECG shows ST elevation in leads II, III and aVF. ")
OPTS = ["Inferior myocardial infarction", "Acute pericarditis", "Pulmonary embolism", "Aortic dissection"]


def mcq(qid: str, question: str = STEM + "What is the most likely diagnosis?", options=OPTS, lang="en",
        answer="A", **kw) -> Entry:
    return Entry.create(source="demo", lang=lang, source_id=qid, task="mcq", question=question,
                        options=list(options), answer=[answer], license="CC-BY-4.0", **kw)


def table(entries: list[Entry], splits: list[str] | None = None) -> pa.Table:
    t = pa.Table.from_pydict(entries_to_batch(entries), schema=PIPELINE_SCHEMA)
    return t.append_column("split", pa.array(splits or ["train"] * len(entries)))


DEFINITION = Definition.from_settings(CFG.section("dedup"))


def store() -> SignatureStore:
    return SignatureStore(DEFINITION)


# ----------------------------------------------------------------------------- normalise

def test_normalise_fixes_form_markup_prefixes_and_quotes_without_changing_meaning():
    e = mcq("n1", question="Cafe\u0301 <b>workers</b> &amp; \u201cshift\u201d  pain?<br>Which   drug?",
            options=["A) aspirin", "B) heparin", "C) warfarin"], answer="B")
    out = NormaliseStep(CFG.section("normalise"))(entries_to_batch([e])).batch
    assert out["question"] == ['Café workers & "shift" pain? Which drug?']
    assert out["options"] == [["aspirin", "heparin", "warfarin"]]
    assert out["answer_text"] == ["heparin"]


def test_normalise_keeps_letters_that_are_not_prefixes():
    e = mcq("n2", options=["A lot of fluids", "Bed rest", "Cold compress"])
    out = NormaliseStep(CFG.section("normalise"))(entries_to_batch([e])).batch
    assert out["options"] == [["A lot of fluids", "Bed rest", "Cold compress"]]
    yoruba = "Ọkùnrin kan ń ṣàìsàn"
    assert NormaliseStep(CFG.section("normalise")).text(yoruba) == yoruba


# ----------------------------------------------------------------------------- rules

def test_task_rules_catch_repeated_options_and_too_many_options():
    ok = mcq("r1")
    repeated = mcq("r2", options=["Aspirin", "heparin", " aspirin "])
    many = mcq("r3", options=[f"drug {i}" for i in range(11)])
    res = TaskRulesStep(CFG.section("rules"))(entries_to_batch([ok, repeated, many]))
    assert res.keep == [True, False, False]
    assert "not distinct" in res.reasons[1] and "11 options" in res.reasons[2]


def test_translation_rules_compare_with_the_origin():
    origin = mcq("t1")
    tr = Translation(system="nllb", source_lang="en")
    same = mcq("t1", lang="fr", question="Une femme de 54 ans consulte pour une douleur thoracique. Diagnostic ?",
               options=["Infarctus inférieur", "Péricardite", "Embolie pulmonaire", "Dissection aortique"],
               translation=tr, origin_id=origin.origin_id)
    lost_option = mcq("t1", lang="es", options=OPTS[:3], translation=tr, origin_id=origin.origin_id)
    moved_answer = mcq("t1", lang="de", answer="B", translation=tr, origin_id=origin.origin_id)
    too_short = mcq("t1", lang="pt", question="Dor?", options=["a", "b", "c", "d"], translation=tr,
                    origin_id=origin.origin_id)
    res = TranslationRulesStep(CFG.section("rules"))(table([origin, same, lost_option, moved_answer, too_short]))
    assert list(res.keep) == [True, True, False, False, False]
    assert "3 options" in res.reasons[2] and "answer" in res.reasons[3] and "length" in res.reasons[4]


# ----------------------------------------------------------------------------- dedup

def test_minhash_estimates_jaccard_of_small_edits_and_unrelated_texts():
    a = STEM + "What is the most likely diagnosis?"
    b = a.replace("54", "57").replace("two", "twe")
    c = "Un niño de 3 años presenta fiebre alta y exantema en el tronco desde hace dos días. ¿Diagnóstico?"
    sig = signatures([a, b, c, "abc"])
    sim = similarity(sig, np.array([0, 0, 3]), np.array([1, 2, 3]))
    assert sim[0] > 0.8 and sim[1] < 0.1 and sim[2] == 0.0  # a text shorter than a shingle matches nothing
    later, earlier = candidate_pairs(band_keys(sig, 16))
    assert (1, 0) in set(zip(later.tolist(), earlier.tolist(), strict=True))


def test_band_keys_are_equal_exactly_when_the_bands_bins_are():
    from globmed.quality.minhash import EMPTY

    rng = np.random.default_rng(3)
    sig = rng.integers(0, 2**25, size=(300, 128), dtype=np.uint32)
    for i in range(1, 300):  # each row copies some bands of the row before it, and some single bins
        bands = rng.random(16) < 0.5
        sig[i].reshape(16, 8)[bands] = sig[i - 1].reshape(16, 8)[bands]
        sig[i, rng.integers(0, 128, 3)] = sig[i - 1, rng.integers(0, 128, 3)]
    sig[7] = sig[8] = EMPTY  # texts without shingles: never a candidate
    for bands in (16, 32, 128):
        keys = band_keys(sig, bands)
        rows = 128 // bands
        same_bins = (sig[1:].reshape(299, bands, rows) == sig[:-1].reshape(299, bands, rows)).all(axis=2)
        same_bins[[6, 7]] = False
        assert np.array_equal(keys[1:] == keys[:-1], same_bins)
        assert same_bins.any() and not same_bins.all()


def test_candidate_pairs_are_the_same_from_forked_processes():
    rng = np.random.default_rng(4)
    keys = rng.integers(0, 3000, size=(25_000, 16)).astype(np.uint64)  # crowded buckets
    group = rng.integers(0, 3, 25_000)
    one = candidate_pairs(keys, group, workers=1)
    two = candidate_pairs(keys, group, workers=2)
    assert len(one[0]) > 10_000 and all(np.array_equal(x, y) for x, y in zip(one, two, strict=True))
    later, earlier = one
    assert (later > earlier).all() and (group[later] == group[earlier]).all()


def test_the_low_byte_prefilter_decides_exactly_as_the_full_estimate():
    """at_least gives exactly similarity(...) >= low: for pairs whose bins differ only above their low
    byte (which the prefilter counts as equal), for empty signatures, and at the float edge of 0.8 - 0.1."""
    from globmed.quality.minhash import EMPTY, at_least

    rng = np.random.default_rng(7)
    n, num_perm = 400, 128
    sig = rng.integers(0, 2**25, size=(n, num_perm), dtype=np.uint32)
    for i in range(1, n, 2):  # each odd row shares a random number of bins with the row before it
        same = rng.random(num_perm) < rng.random()
        sig[i, same] = sig[i - 1, same]
        high = ~same & (rng.random(num_perm) < rng.random())  # equal low bytes, different values
        sig[i, high] = (sig[i - 1, high] & 0xFF) | (rng.integers(1, 2**17, size=int(high.sum()), dtype=np.uint32) << 8)
    sig[5] = EMPTY
    sig[4] = EMPTY
    other = sig[::-1].copy()
    a = np.concatenate([np.arange(1, n, 2), rng.integers(0, n, 3000)])
    b = np.concatenate([np.arange(0, n, 2), rng.integers(0, n, 3000)])
    for low in (0.0, 0.3, 0.5, 0.7, 0.8 - 0.1, 0.75, 0.9, 1.0):
        assert np.array_equal(at_least(sig, a, b, low), similarity(sig, a, b) >= low)
        assert np.array_equal(at_least(sig, a, b, low, other=other), similarity(sig, a, b, other=other) >= low)
    est = similarity(sig, a, b)
    assert ((est >= 0.6) & (est < 0.8)).sum() > 20  # pairs near the cut were tested


def test_exact_and_near_duplicates_with_small_edits_are_removed_within_a_language():
    base = mcq("d1")
    exact = mcq("d2")
    edited = [mcq(f"e{i}", question=(STEM + "What is the most likely diagnosis?").replace(old, new))
              for i, (old, new) in enumerate([("54", "45"), ("crushing", "crusing"), ("aVF", "aVR"),
                                              ("two hours", "tw0 hour"), ("nausea", "nausia")])]
    other_lang = mcq("d1", lang="fr")  # same text, other language: not a duplicate within a language
    distinct = mcq("x1", question="A 7-year-old boy has a barking cough and inspiratory stridor after a cold. "
                   "Which treatment reduces airway swelling fastest?", options=["Dexamethasone", "Amoxicillin",
                                                                                 "Salbutamol", "Oseltamivir"])
    rows = [base, exact, *edited, other_lang, distinct]
    t = table(rows)
    res = ExactDedupStep()(t)
    assert list(res.keep) == [True, False, True, True, True, True, True, True, True]
    assert res.reasons[1] == "exact duplicate of 'demo/en/d1'"
    t = t.filter(pa.array(res.keep))
    res = NearDedupStep(CFG.section("dedup"), store())(t)
    assert list(res.keep) == [True, False, False, False, False, False, True, True]
    assert all("near-duplicate of 'demo/en/" in r for r in res.reasons[1:6])


# ----------------------------------------------------------------------------- decontamination

def test_reworded_test_item_in_train_is_removed():
    test_item = mcq("t1", question=STEM + "What is the most likely diagnosis?", upstream_split="test")
    reworded = mcq("r1", question="Two hours of crushing chest pain spreading to her left arm, with sweating and "
                   "nausea, bring a 54-year-old woman to the emergency room; ST elevation is seen in II, III and "
                   "aVF on the ECG. Which diagnosis is most likely?")
    unrelated_same_options = mcq("u1", question="A 30-year-old runner asks about the risks of long flights. "
                                 "Which of these conditions is associated with immobility?", answer="C")
    t = table([test_item, reworded, unrelated_same_options], ["test", "train", "validation"])
    res = DecontaminationStep(CFG.section("decontamination"), store())(t)
    assert list(res.keep) == [True, False, True]
    assert "reworded test entry 'demo/en/t1'" in res.reasons[1]


def test_copy_of_a_test_item_in_another_language_and_shared_origin_are_removed():
    test_item = mcq("t1", lang="en")
    copied_into_sw = mcq("c1", lang="sw")  # an untranslated copy placed in the Swahili train split
    same_origin = mcq("t1", lang="fr", question="Une femme de 54 ans... quel diagnostic ?")
    t = table([test_item, copied_into_sw, same_origin], ["test", "train", "train"])
    res = DecontaminationStep(CFG.section("decontamination"), store())(t)
    assert list(res.keep) == [True, False, False]
    assert res.reasons[1] == "duplicate of test entry 'demo/en/t1'"  # the same text: an exact duplicate
    assert "origin_id" in res.reasons[2]


def test_external_benchmark_item_copied_into_train_is_removed(tmp_path: Path):
    external = tmp_path / "medqa_test.jsonl"
    external.write_text(json.dumps({"question": STEM + "What is the most likely diagnosis?",
                                    "options": dict(zip("ABCD", OPTS, strict=True))}) + "\n", encoding="utf-8")
    assert len(read_external(external)) == 1
    copied = mcq("c1")
    clean = mcq("k1", question="A 7-year-old boy has a barking cough and stridor. Which treatment first?",
                options=["Dexamethasone", "Amoxicillin", "Salbutamol", "Oseltamivir"])
    t = table([copied, clean], ["train", "train"])
    res = DecontaminationStep(CFG.section("decontamination"), store(), [external])(t)
    assert list(res.keep) == [False, True]
    assert "external benchmark item 'medqa_test.jsonl:1'" in res.reasons[0]


def test_signatures_from_worker_processes_match_the_single_process_ones():
    t = pa.table({"question": [f"Patient {i} has had fever and a dry cough for {i % 9} days." for i in range(40)],
                  "options": [["rest and fluids", "antibiotics"]] * 40, "context": [""] * 40})
    parallel, keys = SignatureStore(DEFINITION, workers=2, chunk=7).compute(t)
    single, single_keys = SignatureStore(DEFINITION, workers=1, chunk=7).compute(t)
    assert parallel.shape == (40, DEFINITION.num_perm) and (parallel == single).all() and (keys == single_keys).all()
    # the LSH band keys made in the same workers, and kept as a column by precompute, are band_keys' own
    sig, _, bands = SignatureStore(DEFINITION, workers=2, chunk=7).compute(t, bands=True)
    assert (sig == single).all() and np.array_equal(bands, band_keys(single, DEFINITION.bands))
    st = SignatureStore(DEFINITION)
    with_columns = t.append_column("id", pa.array([str(i) for i in range(40)]))
    for name, column in st.precompute(with_columns).items():
        with_columns = with_columns.append_column(name, column)
    assert np.array_equal(st.bands_of(with_columns.slice(3, 20), None), band_keys(single[3:23], DEFINITION.bands))


def test_decontamination_lowers_each_distinct_option_as_the_joined_key_would_be_lowered():
    import pyarrow as pa
    import pyarrow.compute as pc

    from globmed.quality.decontam import _lowered

    column = pa.array([["A) Ärzte", "Bb"], None, [], ["ΣΊΣΥΦΟΣ", None], ["İstanbul", "x"], ["A) Ärzte", "bB"]],
                      pa.list_(pa.string()))
    for col in (column, column.slice(2), pa.chunked_array([column.slice(0, 3), column.slice(3)])):
        whole = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        assert pc.binary_join(_lowered(col), "\x1f").equals(pc.utf8_lower(pc.binary_join(whole, "\x1f")))
