"""The one GlobMed row: :class:`Entry`, its ``datasets.Features``, and the validator.

Every stage of the pipeline (sources, translation, quality, split, export, bench,
training) reads and writes this record. Field meanings:

``id``
    Stable row id ``<source>/<lang>/<source_id>``.
``origin_id``
    ``<source>/<source_id>``: the same for an item and all its translations, so an
    item and its translations can be kept in one split.
``lang``
    Registry code of the language the row is written in (see ``languages.yaml``).
``task``
    One of :data:`TASKS`.
``question`` / ``context``
    The question (for NLI: the hypothesis) and the supporting passage (abstract,
    premise; empty when there is none).
``options``
    Answer options in order. For ``mcq`` the option texts, lettered A, B, C, ...;
    for ``yes_no_maybe`` and ``nli`` the canonical label set of the item (for
    example ``["yes", "no", "maybe"]`` or ``["yes", "no"]``); empty for ``open_qa``.
``answer``
    Always a list, so multi-answer items are explicit: the correct letter(s) for
    ``mcq`` (``["B"]``, or ``["A", "C"]`` for a multi-answer exam item), the one
    correct label for ``yes_no_maybe`` / ``nli``, one or more reference answers
    for ``open_qa``.
``answer_text``
    Display text of the answer: the correct option text(s) joined by ``"; "``
    (mcq), the label (yes/no/maybe, nli), or the first reference (open QA).
``explanation``
    Rationale where the source has one, else empty.
``translation``
    ``None`` for native text; else ``{"system", "source_lang", "score"}``
    (score in [0, 1] or ``None`` when not scored).
``license``
    SPDX-style licence of the row's source.

Pipeline-only fields (not exported): ``upstream_split``, the split the upstream
release put the item in, so that a source's test items stay test items; and
``upstream_file`` / ``upstream_row``, where the item was read, so that any later
stage can name the file and row of a row it rejects.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import pyarrow as pa

TASKS: tuple[str, ...] = ("mcq", "yes_no_maybe", "nli", "open_qa")
"""Task kinds. Closed tasks are every task but ``open_qa``."""

TASK_LABELS: dict[str, tuple[str, ...]] = {
    "yes_no_maybe": ("yes", "no", "maybe"),
    "nli": ("entailment", "neutral", "contradiction"),
}
"""Canonical label sets of the label tasks; an item's ``options`` are a subset, in this order."""

SPLITS: tuple[str, ...] = ("train", "validation", "test")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_OPTIONS = len(LETTERS)
ANSWER_TEXT_SEPARATOR = "; "

_STRING = {"dtype": "string", "_type": "Value"}
_FEATURES_DICT: dict[str, Any] = {
    "id": _STRING, "origin_id": _STRING, "lang": _STRING, "source": _STRING, "task": _STRING,
    "question": _STRING, "context": _STRING,
    "options": {"feature": _STRING, "_type": "List"}, "answer": {"feature": _STRING, "_type": "List"},
    "answer_text": _STRING, "explanation": _STRING,
    "translation": {"system": _STRING, "source_lang": _STRING, "score": {"dtype": "float32", "_type": "Value"}},
    "license": _STRING,
}
"""The exported row as ``datasets`` serialises its ``Features`` (``Features.to_dict()``)."""

ARROW_SCHEMA = pa.schema(
    [("id", pa.string()), ("origin_id", pa.string()), ("lang", pa.string()), ("source", pa.string()),
     ("task", pa.string()), ("question", pa.string()), ("context", pa.string()),
     ("options", pa.list_(pa.string())), ("answer", pa.list_(pa.string())), ("answer_text", pa.string()),
     ("explanation", pa.string()),
     ("translation", pa.struct([("system", pa.string()), ("source_lang", pa.string()), ("score", pa.float32())])),
     ("license", pa.string())],
    metadata={"huggingface": json.dumps({"info": {"features": _FEATURES_DICT}})},
)
"""``FEATURES.arrow_schema``, with the features in its metadata as ``datasets`` writes them, without
importing ``datasets`` (about two seconds of every build; a test checks that the two are equal).
Column order is the Parquet column order."""


def __getattr__(name: str) -> Any:
    if name == "FEATURES":  # the exported row as ``datasets.Features``, made when first asked for
        from datasets import Features

        features = Features.from_dict(_FEATURES_DICT)
        globals()["FEATURES"] = features
        return features
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


COLUMNS: tuple[str, ...] = tuple(ARROW_SCHEMA.names)
PIPELINE_ONLY: tuple[str, ...] = ("upstream_split", "upstream_file", "upstream_row")
PIPELINE_COLUMNS: tuple[str, ...] = (*COLUMNS, *PIPELINE_ONLY)
"""Columns of a batch inside the pipeline: the exported ones plus the pipeline-only ones."""


@dataclass(slots=True)
class Translation:
    system: str
    source_lang: str
    score: float | None = None


@dataclass(slots=True)
class Entry:
    id: str
    origin_id: str
    lang: str
    source: str
    task: str
    question: str
    context: str = ""
    options: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    answer_text: str = ""
    explanation: str = ""
    translation: Translation | None = None
    license: str = ""
    upstream_split: str | None = None
    upstream_file: str | None = None
    upstream_row: str | None = None

    @classmethod
    def create(
        cls,
        *,
        source: str,
        lang: str,
        source_id: str,
        task: str,
        question: str,
        options: Iterable[str] = (),
        answer: Iterable[str] | str = (),
        context: str = "",
        explanation: str = "",
        license: str = "",
        translation: Translation | None = None,
        upstream_split: str | None = None,
        upstream_file: str | None = None,
        upstream_row: str | int | None = None,
        origin_id: str | None = None,
    ) -> Entry:
        """Build an entry with the standard ids and a derived ``answer_text``.

        ``origin_id`` defaults to ``<source>/<source_id>``; pass the origin's
        ``origin_id`` when the entry is a translation of another source's item.
        """
        answer_list = [answer] if isinstance(answer, str) else list(answer)
        options = list(options)
        # positional, in field order (the fields' order above)
        return cls(
            make_id(source, lang, source_id),
            origin_id or make_origin_id(source, source_id),
            lang,
            source,
            task,
            question,
            context or "",
            options,
            answer_list,
            derive_answer_text(task, options, answer_list),
            explanation or "",
            translation,
            license,
            upstream_split,
            upstream_file,
            None if upstream_row is None else str(upstream_row),
        )

    def to_row(self, *, pipeline: bool = False) -> dict[str, Any]:
        """A plain dict in column order (``pipeline=True`` adds the pipeline-only fields)."""
        row = {name: getattr(self, name) for name in COLUMNS}
        row["options"] = list(self.options)
        row["answer"] = list(self.answer)
        row["translation"] = dataclasses.asdict(self.translation) if self.translation else None
        if pipeline:
            for name in PIPELINE_ONLY:
                row[name] = getattr(self, name)
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Entry:
        tr = row.get("translation")
        return cls(
            **{name: row[name] for name in COLUMNS if name != "translation"},
            translation=Translation(**tr) if tr else None,
            **{name: row.get(name) for name in PIPELINE_ONLY},
        )

    @property
    def where(self) -> str:
        """``file, row N`` of the upstream row, for messages."""
        if self.upstream_file is None:
            return self.id
        return f"{self.upstream_file}, row {self.upstream_row}" if self.upstream_row else self.upstream_file


def make_id(source: str, lang: str, source_id: str) -> str:
    return f"{source}/{lang}/{source_id}"


def make_origin_id(source: str, source_id: str) -> str:
    return f"{source}/{source_id}"


def letter(index: int) -> str:
    """0 -> "A", 1 -> "B", ..."""
    if not 0 <= index < MAX_OPTIONS:
        raise ValueError(f"option index {index} is outside 0..{MAX_OPTIONS - 1}")
    return LETTERS[index]


def letter_index(value: str) -> int:
    """"A" -> 0; raises ``ValueError`` for anything that is not one capital letter."""
    if len(value) != 1 or value not in LETTERS:
        raise ValueError(f"{value!r} is not an option letter A-Z")
    return LETTERS.index(value)


_LETTER_INDEX: dict[str, int] = {c: i for i, c in enumerate(LETTERS)}


def derive_answer_text(task: str, options: list[str], answer: list[str]) -> str:
    """The display text of ``answer``; empty when the answer cannot be resolved."""
    if task == "mcq":
        texts = []
        for value in answer:
            try:  # what letter_index accepts: one capital letter A-Z
                texts.append(options[_LETTER_INDEX[value]])
            except (KeyError, IndexError, TypeError):
                return ""
        return ANSWER_TEXT_SEPARATOR.join(texts)
    return answer[0] if answer and isinstance(answer[0], str) else ""


def batch_to_entries(batch: Mapping[str, list]) -> list[Entry]:
    """Columns (as ``Dataset.map(batched=True)`` passes them) to entries."""
    n = len(next(iter(batch.values()))) if batch else 0
    return [Entry.from_row({k: batch[k][i] for k in batch}) for i in range(n)]


def entries_to_batch(entries: Iterable[Entry], *, pipeline: bool = True) -> dict[str, list]:
    """Entries as columns (what :meth:`Entry.to_row` gives per entry, column by column)."""
    entries = list(entries)
    batch: dict[str, list] = {c: list(map(attrgetter(c), entries)) for c in (PIPELINE_COLUMNS if pipeline else COLUMNS)}
    batch["options"] = list(map(list, batch["options"]))
    batch["answer"] = list(map(list, batch["answer"]))
    translations = batch["translation"]
    if any(t is not None for t in translations):
        batch["translation"] = [dataclasses.asdict(t) if t else None for t in translations]
    return batch


# --------------------------------------------------------------------------- validation


_STRING_FIELDS = ("id", "origin_id", "lang", "source", "task", "question", "context", "answer_text", "explanation",
                  "license")


@functools.cache
def _registry_codes() -> frozenset[str]:
    from globmed.languages import language_codes

    return frozenset(language_codes())


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def validate_entry(entry: Entry, *, known_languages: Iterable[str] | None = None) -> list[str]:
    """Everything wrong with one entry, as short sentences naming the field; ``[]`` if valid.

    ``known_languages`` defaults to the language registry.
    """
    if known_languages is None and _surely_valid(entry):
        return []
    problems: list[str] = []
    for name in _STRING_FIELDS:
        value = getattr(entry, name)
        if not isinstance(value, str):
            problems.append(f"{name} must be a string, got {type(value).__name__}")
    for name in ("options", "answer"):
        value = getattr(entry, name)
        if not _is_str_list(value):
            problems.append(f"{name} must be a list of strings, got {_describe(value)}")
    if problems:  # the rules below assume the types are right
        return problems

    for name in ("id", "origin_id", "source", "license"):
        if not getattr(entry, name).strip():
            problems.append(f"{name} is empty")
    if entry.lang not in (_registry_codes() if known_languages is None else set(known_languages)):
        problems.append(f"unknown language {entry.lang!r}")
    if entry.task not in TASKS:
        problems.append(f"unknown task {entry.task!r} (valid: {', '.join(TASKS)})")
    if not entry.question.strip():
        problems.append("question is empty")
    if not entry.answer:
        problems.append("answer is missing")
    elif any(not a.strip() for a in entry.answer):
        problems.append("answer contains an empty value")
    if entry.upstream_split is not None and entry.upstream_split not in SPLITS:
        problems.append(f"upstream_split {entry.upstream_split!r} is not one of {', '.join(SPLITS)}")

    if entry.task == "mcq":
        problems += _validate_mcq(entry)
    elif entry.task in TASK_LABELS:
        problems += _validate_labels(entry)
    elif entry.task == "open_qa" and entry.options:
        problems.append("open_qa entries take no options")

    if entry.answer_text and entry.task in TASKS:
        expected = derive_answer_text(entry.task, entry.options, entry.answer)
        if expected and entry.answer_text != expected:
            problems.append(f"answer_text {entry.answer_text!r} does not match the answer ({expected!r})")

    if entry.translation is not None:
        problems += _validate_translation(entry.translation, entry.lang)
    return problems


_LABEL_SETS: dict[str, frozenset[str]] = {task: frozenset(labels) for task, labels in TASK_LABELS.items()}


def _surely_valid(entry: Entry) -> bool:
    """True only if :func:`validate_entry` (with the registry's languages) finds nothing wrong: the
    common case in a few checks. ``False`` means "not sure": the full validation then says what
    is wrong, if anything. Every condition below is one of ``validate_entry``'s, or stricter."""
    task, options, answer, lang = entry.task, entry.options, entry.answer, entry.lang
    if not (type(entry.id) is str and type(entry.origin_id) is str and type(lang) is str
            and type(entry.source) is str and type(task) is str and type(entry.question) is str
            and type(entry.context) is str and type(entry.answer_text) is str
            and type(entry.explanation) is str and type(entry.license) is str
            and type(options) is list and type(answer) is list
            and entry.id.strip() and entry.origin_id.strip() and entry.source.strip() and entry.license.strip()
            and entry.question.strip() and answer
            and lang in _registry_codes()
            and (entry.upstream_split is None or entry.upstream_split in SPLITS)
            and entry.translation is None):
        return False
    for value in answer:
        if type(value) is not str or not value.strip():
            return False
    if task == "mcq":
        n = len(options)
        if not 2 <= n <= MAX_OPTIONS:
            return False
        for value in options:
            if type(value) is not str or not value.strip():
                return False
        for value in answer:  # one letter among the options (a str of length 1 is in the dict or not)
            if _LETTER_INDEX.get(value, MAX_OPTIONS) >= n:
                return False
        if len(answer) > 1 and len(set(answer)) != len(answer):
            return False
    elif any(type(value) is not str for value in options):
        return False
    elif task in _LABEL_SETS:
        labels = TASK_LABELS[task]
        if len(answer) != 1 or options != [label for label in labels if label in options]:
            return False
        allowed = _LABEL_SETS[task] if not options else options
        if answer[0] not in allowed:
            return False
        if len(options) != len(set(options)) or not _LABEL_SETS[task].issuperset(options):
            return False
    elif task == "open_qa":
        if options:
            return False
    else:
        return False
    if entry.answer_text:
        if task == "mcq" and len(answer) == 1:  # derive_answer_text of one letter known to be an option's
            expected = options[_LETTER_INDEX[answer[0]]]
        else:
            expected = derive_answer_text(task, options, answer)
        if expected and entry.answer_text != expected:
            return False
    return True



def _validate_mcq(entry: Entry) -> list[str]:
    problems = []
    n = len(entry.options)
    if n < 2:
        problems.append(f"mcq needs at least 2 options, got {n}")
    if n > MAX_OPTIONS:
        problems.append(f"mcq takes at most {MAX_OPTIONS} options, got {n}")
    empty = [letter(i) for i, o in enumerate(entry.options[:MAX_OPTIONS]) if not o.strip()]
    if empty:
        problems.append(f"option(s) {', '.join(empty)} are empty")
    valid = LETTERS[: min(n, MAX_OPTIONS)]
    for value in entry.answer:
        if value not in valid or len(value) != 1:
            problems.append(
                f"answer {value!r} is not among the options ({', '.join(valid) or 'none'})"
            )
    if len(set(entry.answer)) != len(entry.answer):
        problems.append("answer repeats a letter")
    return problems


def _validate_labels(entry: Entry) -> list[str]:
    problems = []
    labels = TASK_LABELS[entry.task]
    bad = [o for o in entry.options if o not in labels]
    if bad:
        problems.append(f"{entry.task} options must be labels from {', '.join(labels)}; got {bad!r}")
    elif entry.options != [label for label in labels if label in entry.options]:
        problems.append(f"{entry.task} options must be distinct and in the order {', '.join(labels)}")
    if len(entry.answer) > 1:
        problems.append(f"{entry.task} takes one answer label, got {len(entry.answer)}")
    for value in entry.answer:
        allowed = entry.options or list(labels)
        if value not in allowed:
            problems.append(f"answer {value!r} is not one of {', '.join(allowed)}")
    return problems


def _validate_translation(tr: Any, lang: str) -> list[str]:
    if not isinstance(tr, Translation):
        return [f"translation must be a Translation or None, got {type(tr).__name__}"]
    problems = []
    if not isinstance(tr.system, str) or not tr.system.strip():
        problems.append("translation.system is empty")
    if not isinstance(tr.source_lang, str) or not tr.source_lang.strip():
        problems.append("translation.source_lang is empty")
    elif tr.source_lang == lang:
        problems.append(f"translation.source_lang equals the entry language {lang!r}")
    if tr.score is not None and not (isinstance(tr.score, int | float) and 0.0 <= tr.score <= 1.0):
        problems.append(f"translation.score {tr.score!r} is outside [0, 1]")
    return problems


def _describe(value: Any) -> str:
    if isinstance(value, list):
        kinds = sorted({type(v).__name__ for v in value})
        return f"a list of {', '.join(kinds)}"
    return type(value).__name__


FIELD_DESCRIPTIONS: dict[str, str] = {
    "id": "stable row id `<source>/<lang>/<source_id>`",
    "origin_id": "`<source>/<source_id>`: the same for an item and all its translations",
    "lang": "language code of the row (GlobMed registry)",
    "source": "upstream source name",
    "task": "`mcq`, `yes_no_maybe`, `nli` or `open_qa`",
    "question": "the question (for `nli`: the hypothesis)",
    "context": "abstract, premise or case text; empty when there is none",
    "options": "mcq: option texts, lettered A, B, C, ...; yes_no_maybe / nli: the item's label set; open_qa: empty",
    "answer": "always a list: the correct letter(s) (several for multi-answer exam items), the label, or reference answers",
    "answer_text": "the correct option text(s) joined by `; `, the label, or the first reference answer",
    "explanation": "rationale from the source, or empty",
    "translation": "null for native text; else the translation system, source language and quality score (0-1)",
    "license": "licence of the row's source",
}

TASK_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "mcq": {"input": "question and lettered options", "answer": "letter(s)"},
    "yes_no_maybe": {"input": "research question and abstract", "answer": "yes / no / maybe"},
    "nli": {"input": "premise (`context`) and hypothesis (`question`)", "answer": "entailment / neutral / contradiction"},
    "open_qa": {"input": "consumer or expert question", "answer": "reference text(s)"},
}
