"""The streaming path's fast ways of doing things give exactly what the plain ways give.

Validation has a fast path for entries that are surely valid, normalisation and task rules work on each
distinct text of a batch once, field limits check a whole column at once, JSON Lines rows are scanned
without json.loads' wrapper. Each is compared here, on random and awkward inputs, with the plain
row-by-row code it replaced (written out below as the reference)."""

from __future__ import annotations

import dataclasses
import html
import json
import random
import unicodedata
from pathlib import Path

import pytest

from globmed.languages import language_codes
from globmed.pipeline import StepStats, reason_kind, select
from globmed.quality.limits import FieldLimitsStep
from globmed.quality.normalize import _BREAK, _CURLY, _QUOTES, _TAG, NormaliseStep, strip_option_prefix
from globmed.quality.rules import TaskRulesStep
from globmed.schema import (
    COLUMNS,
    LETTERS,
    PIPELINE_COLUMNS,
    Entry,
    Translation,
    derive_answer_text,
    entries_to_batch,
    validate_entry,
)
from globmed.sources.base import Reject, iter_jsonl

# --------------------------------------------------------------------------- validation

_TEXTS = ["", " ", "\t\n", "x", " padded ", "Which drug?", "\u3000", "薬", 0, None, ["a"]]
_LISTS = [[], ["a"], ["a", "b"], ["a", "b", "c", "d"], ["a", " ", "c"], ["a", 1], "ab", None,
          [f"o{i}" for i in range(27)], ["yes", "no", "maybe"], ["no", "yes"], ["yes", "yes"], ["maybe"],
          ["entailment", "neutral", "contradiction"], ["neutral"], ["contradiction", "entailment"]]
_ANSWERS = [[], ["A"], ["B"], ["D"], ["E"], ["A", "C"], ["A", "A"], ["AB"], [""], [" "], ["a"], [1], "A", None,
            ["yes"], ["no"], ["maybe"], ["yes", "no"], ["entailment"], ["neutral"], ["contradiction"], ["x"],
            [["A"]], [("A",)]]


_VALID = {"mcq": (["a", "b", "c", "d"], ["B"]), "yes_no_maybe": (["yes", "no", "maybe"], ["no"]),
          "nli": (["entailment", "neutral", "contradiction"], ["neutral"]), "open_qa": ([], ["a reference"])}


def _random_entry(rng: random.Random) -> Entry:
    """A valid entry of a random task with 0-3 random changes, each of which may or may not break it."""
    task = rng.choice(list(_VALID))
    options, answer = _VALID[task]
    entry = Entry.create(source="demo", lang="en", source_id="q1", task=task, question="What is it?",
                         options=options, answer=answer, license="mit", upstream_split=rng.choice([None, "test"]))
    changes = [
        lambda: setattr(entry, "options", copy(rng.choice(_LISTS))),
        lambda: setattr(entry, "answer", copy(rng.choice(_ANSWERS))),
        lambda: setattr(entry, "answer_text", rng.choice(["", "wrong", 5, None, "a; b", entry.answer_text])),
        lambda: setattr(entry, rng.choice(["id", "origin_id", "lang", "source", "task", "question", "context",
                                           "explanation", "license", "answer_text"]), rng.choice(_TEXTS)),
        lambda: setattr(entry, "task", rng.choice(["mcq", "yes_no_maybe", "nli", "open_qa", "cloze", 3])),
        lambda: setattr(entry, "lang", rng.choice(["en", "xx", "ja", "wo", "EN"])),
        lambda: setattr(entry, "upstream_split", rng.choice([None, "test", "dev", ["test"], 1])),
        lambda: setattr(entry, "translation", rng.choice([
            Translation("nllb", "fr", 0.5), Translation("", "en"), Translation("nllb", "en"),
            Translation("nllb", "fr", 1.5), {"system": "x"}])),
    ]
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        rng.choice(changes)()
        if rng.random() < 0.6:  # as Entry.create would make it, where it can
            try:
                entry.answer_text = derive_answer_text(entry.task, entry.options, entry.answer)
            except (TypeError, IndexError):
                pass
    return entry


def copy(value):
    return list(value) if isinstance(value, list) else value


def test_validation_fast_path_agrees_with_the_full_checks():
    """``validate_entry`` with the registry's languages (which may take the fast path) says exactly what
    the full checks say (``known_languages`` given: always the full checks)."""
    rng = random.Random(5)
    codes = language_codes()
    valid = 0
    for _ in range(20_000):
        entry = _random_entry(rng)
        problems = validate_entry(entry)
        assert problems == validate_entry(entry, known_languages=codes), entry
        valid += not problems
    assert 3000 < valid < 17_000  # both cases well represented


# --------------------------------------------------------------------------- normalisation


def _plain_normalise(text, form="NFC", markup=True, quotes=True):
    if not text:
        return text
    if not unicodedata.is_normalized(form, text):
        text = unicodedata.normalize(form, text)
    if markup and ("<" in text or "&" in text):
        text = html.unescape(_TAG.sub("", _BREAK.sub(" ", text)))
    if quotes and not text.isascii() and _CURLY.search(text):
        text = text.translate(_QUOTES)
    return " ".join(text.split())


def _plain_normalise_step(batch, form, markup, quotes, prefixes):
    def norm(t):
        return _plain_normalise(t, form, markup, quotes)

    out = dict(batch)
    for name in ("question", "context", "explanation"):
        out[name] = [norm(t) for t in batch[name]]
    options_col = []
    for opts in batch["options"]:
        opts = [norm(o) for o in opts]
        if prefixes and len(opts) > 1 and opts[0][:1] in "(A[a":
            stripped = [strip_option_prefix(o, i) for i, o in enumerate(opts)]
            if all(s != o for s, o in zip(stripped, opts, strict=True)):
                opts = stripped
        options_col.append(opts)
    out["options"] = options_col
    out["answer"] = [[norm(a) for a in ans] for ans in batch["answer"]]
    out["answer_text"] = [derive_answer_text(t, o, a) or norm(old)
                          for t, o, a, old in zip(batch["task"], options_col, out["answer"], batch["answer_text"],
                                                  strict=True)]
    return out


_PIECES = ["", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x1c", "\x85", "\u00a0", "\u2003", "\u3000", "\u200b",
           "\xad", "\x00", "a", "Ω", "e\u0301", "é", "\u1ecd\u0301", "\u0301", "\u212b", "\ufb01", "ｱ", "\u1100\u1161",
           "<b>", "</p>", "<br/>", "<div class='x'>", "&amp;", "&lt;", "&#0;", "&#x1f;", "&nbsp;", "a < b", "&",
           "\u201c", "\u201d", "\u2018", "\u2019", "\u201e", "«", "A) ", "(b) ", "C. ", "d: ", "E - ", "[F] ",
           "aspirin", "ASPIRIN", "Aspirin", "x" * 30, "ß", "İ", "ς", "Σ", "\ud800"]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 6)))


def _random_batch(rng: random.Random, n: int) -> dict[str, list]:
    pool = [_random_text(rng) for _ in range(n // 2 + 1)]  # texts repeat, as option phrases do

    def text():
        return rng.choice(pool) if rng.random() < 0.5 else _random_text(rng)

    tasks = [rng.choice(["mcq", "mcq", "yes_no_maybe", "open_qa"]) for _ in range(n)]
    options = []
    for _ in range(n):
        k = rng.randint(0, 12)
        lettered = rng.random() < 0.3
        options.append([(f"{LETTERS[i]}) " if lettered else "") + text() for i in range(k)])
    answers = [[rng.choice(["A", "B", "C", " A", "AB", text()]) for _ in range(rng.randint(0, 2))] for _ in range(n)]
    return {"id": [f"x/{i}" for i in range(n)], "lang": [rng.choice(["en", "fr", "ja"]) for _ in range(n)],
            "task": tasks, "question": [text() for _ in range(n)],
            "context": [text() if rng.random() < 0.8 else rng.choice(["", None]) for _ in range(n)],
            "explanation": [text() for _ in range(n)], "options": options, "answer": answers,
            "answer_text": [text() for _ in range(n)]}


@pytest.mark.parametrize("form", ["NFC", "NFKC", "NFD", "NFKD"])
def test_normalise_by_distinct_texts_equals_field_by_field(form: str):
    rng = random.Random(form)
    for markup, quotes, prefixes in [(True, True, True), (False, False, False), (True, False, True),
                                     (False, True, False)]:
        settings = {"unicode_form": form, "strip_markup": markup, "straighten_quotes": quotes,
                    "strip_option_prefixes": prefixes}
        step = NormaliseStep(settings)
        for _ in range(20):
            batch = _random_batch(rng, rng.randint(1, 60))
            result = step(batch)
            assert result.batch == _plain_normalise_step(batch, form, markup, quotes, prefixes)
            assert all(result.keep)


def test_text_table_keeps_values_that_are_not_text():
    step = NormaliseStep({})
    assert step.text.table(["a  b", None, "", "a  b"]) == {"a  b": "a b", None: None, "": ""}
    with pytest.raises(TypeError, match="must be str, not list"):  # what __call__ raises for it
        step.text.table(["a", ["b"]])


# --------------------------------------------------------------------------- task rules, limits, counts


def _plain_mcq(options, answer, lo=2, hi=10):
    n = len(options)
    if not lo <= n <= hi:
        return f"mcq has {n} options (allowed {lo}-{hi})"
    cleaned = [" ".join(o.casefold().split()) for o in options]
    if any(not c for c in cleaned):
        return "mcq has an empty option"
    if len(set(cleaned)) != n:
        return "mcq options are not distinct"
    valid = LETTERS[:n]
    if not answer or any(a not in valid for a in answer):
        return f"mcq answer {answer} is not among the options {valid[0]}-{valid[-1]}"
    return None


def test_task_rules_with_shared_cleaning_equal_the_row_by_row_rules():
    rng = random.Random(3)
    step = TaskRulesStep({})
    for _ in range(30):
        batch = _random_batch(rng, rng.randint(1, 80))
        result = step(batch)
        expected = [_plain_mcq(o, a) if t == "mcq" else None
                    for t, o, a in zip(batch["task"], batch["options"], batch["answer"], strict=True)]
        assert result.reasons == expected
        assert result.keep == [r is None for r in expected]
    with pytest.raises(AttributeError):  # a value that is not text fails as before
        step({"task": ["mcq"], "options": [["a", 3]], "answer": [["A"]], "id": ["x"]})
    assert step({"task": ["mcq"], "options": [[3]], "answer": [["A"]], "id": ["x"]}).reasons == [
        "mcq has 1 options (allowed 2-10)"]


def _plain_limits(step, batch):
    n = len(batch["id"])
    reasons = [None] * n
    for field in ("question", "context", "explanation"):
        limit = step.limits.get(field)
        if limit is None or field not in batch:
            continue
        for i, value in enumerate(batch[field]):
            if reasons[i] is None and value is not None and len(value) > limit:
                reasons[i] = f"{field} is {len(value):,} characters, over the limit of {limit:,} (limits: in quality.yaml)"
    for field, key in {"options": "option", "answer": "answer"}.items():
        limit = step.limits.get(key)
        if limit is None or field not in batch:
            continue
        for i, values in enumerate(batch[field]):
            if reasons[i] is not None or not values:
                continue
            longest = max(range(len(values)), key=lambda j: len(values[j]))
            if len(values[longest]) > limit:
                reasons[i] = (f"{key} {longest + 1} is {len(values[longest]):,} characters, over the limit of "
                              f"{limit:,} (limits: in quality.yaml)")
    return reasons


def test_field_limits_checked_by_column_equal_the_row_by_row_check():
    rng = random.Random(4)
    step = FieldLimitsStep({"question": 5, "context": 8, "option": 4, "answer": 6})
    for _ in range(50):
        n = rng.randint(1, 30)
        size = rng.choice([3, 7, 12])

        def text(size: int = size) -> str:
            return "x" * rng.randint(0, size)

        batch = {"id": [str(i) for i in range(n)], "question": [text() for _ in range(n)],
                 "context": [text() if rng.random() < 0.9 else None for _ in range(n)],
                 "explanation": [text() for _ in range(n)],
                 "options": [[text() for _ in range(rng.randint(0, 4))] if rng.random() < 0.9 else None
                             for _ in range(n)],
                 "answer": [[text() for _ in range(rng.randint(0, 2))] for _ in range(n)]}
        assert step(batch).reasons == _plain_limits(step, batch)


def test_step_counts_equal_the_row_by_row_counts():
    rng = random.Random(6)
    for _ in range(30):
        n = rng.randint(0, 50)
        langs = [rng.choice(["en", "fr", "ja"]) for _ in range(n)]
        keep = [rng.random() < rng.choice([0.0, 0.5, 1.0]) for _ in range(n)]
        reasons = [None if k else rng.choice([None, "x 'a' 12", "y"]) for k in keep]
        fast = StepStats("s")
        fast.record(langs, keep, reasons)
        plain = StepStats("s")
        for lang, kept, reason in zip(langs, keep, reasons, strict=True):
            plain.entries_in[lang] += 1
            if kept:
                plain.entries_out[lang] += 1
            else:
                plain.reasons[lang][reason_kind(reason or "unspecified")] += 1
        assert fast.to_dict() == plain.to_dict()
        assert list(fast.entries_in) == list(plain.entries_in) and list(fast.entries_out) == list(plain.entries_out)
        batch = {"a": list(range(n)), "b": langs}
        assert select(batch, keep) == {k: [v for v, m in zip(c, keep, strict=True) if m] for k, c in batch.items()}
    with pytest.raises(ValueError):
        StepStats("s").record(["en"], [True, False], [None, None])


def test_batch_columns_equal_each_entry_s_row():
    entries = [Entry.create(source="demo", lang="en", source_id=str(i), task="mcq", question="q", options=["a", "b"],
                            answer=["A"], license="mit", upstream_row=i,
                            translation=Translation("nllb", "fr", 0.5) if i % 2 else None) for i in range(5)]
    for pipeline in (True, False):
        batch = entries_to_batch(entries, pipeline=pipeline)
        rows = [e.to_row(pipeline=pipeline) for e in entries]
        assert batch == {c: [r[c] for r in rows] for c in (PIPELINE_COLUMNS if pipeline else COLUMNS)}
        assert batch["options"][0] is not entries[0].options  # the batch's lists are its own
    plain = entries_to_batch(entries[::2])
    assert plain["translation"] == [None] * 3


def test_reject_dict_is_dataclasses_asdict():
    reject = Reject("demo", "f.jsonl", "3", "bad", id="demo/en/1", lang="en", step="validate", expected=True)
    assert reject.to_dict() == dataclasses.asdict(reject)
    assert list(reject.to_dict()) == [f.name for f in dataclasses.fields(Reject)]


# --------------------------------------------------------------------------- JSON Lines


_LINES = ['{"a": 1}', ' {"a": 1}', '{"a": 1} ', '{"a": 1}\r', '{"a": 1}\t', '\ufeff{"a": 1}', '[1, 2]', '1', '1 2',
          '"text"', 'NaN', '-Infinity', '1e400', '123456789012345678901234567890', '{"a": 1}{"b": 2}', '{"a": ',
          '{"a": 1,}', 'null', 'true', '{"a": "\\ud800"}', '{"k": 1, "k": 2}', '{"a": [1, {"b": null}]}', '}',
          '{"a": 1}\u00a0', '\u00a0{"a": 1}', '{"é": "ü"}', '[]', '{}', '"unterminated', '0.1', '-0', '01']


def test_jsonl_rows_are_what_json_loads_makes_of_each_line(tmp_path: Path):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(_LINES) + "\n", encoding="utf-8")
    expected = []
    for lineno, line in enumerate(_LINES, 1):
        if not line.strip():
            continue
        try:
            expected.append((lineno, json.loads(line)))
        except ValueError as exc:
            expected.append((lineno, f"not valid JSON: {exc}"))
    got = [(n, str(v) if isinstance(v, Exception) else v) for n, v in iter_jsonl(path)]
    assert [(n, json.dumps(v, sort_keys=True)) for n, v in got] == [(n, json.dumps(v, sort_keys=True))
                                                                    for n, v in expected]
    assert [type(v) for _, v in got] == [type(v) for _, v in expected]


def test_only_the_space_is_both_whitespace_and_printable():
    """What the whitespace shortcut of :meth:`TextNormaliser.table` rests on, in this Python's Unicode."""
    assert [hex(c) for c in range(0x110000) if chr(c).isspace() and chr(c).isprintable()] == ["0x20"]


def test_create_puts_each_value_in_its_field():
    """Entry.create builds the entry positionally: each argument must land in the field of its name."""
    tr = Translation("nllb", "fr", 0.5)
    e = Entry.create(source="src", lang="en", source_id="q9", task="mcq", question="Q?", options=("o1", "o2"),
                     answer="B", context="ctx", explanation="why", license="mit", translation=tr,
                     upstream_split="test", upstream_file="f.jsonl", upstream_row=7)
    assert dataclasses.asdict(e) == {
        "id": "src/en/q9", "origin_id": "src/q9", "lang": "en", "source": "src", "task": "mcq", "question": "Q?",
        "context": "ctx", "options": ["o1", "o2"], "answer": ["B"], "answer_text": "o2", "explanation": "why",
        "translation": {"system": "nllb", "source_lang": "fr", "score": 0.5}, "license": "mit",
        "upstream_split": "test", "upstream_file": "f.jsonl", "upstream_row": "7"}
    assert Entry.create(source="s", lang="en", source_id="1", task="open_qa", question="q", answer=["a"],
                        origin_id="other/1", context=None, explanation=None).origin_id == "other/1"
