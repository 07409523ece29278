"""Decontamination: no train or validation entry may share an origin with, or be a duplicate or
near-duplicate of, any test entry (any language); no entry may match an external benchmark item
given as a file. "Duplicate" and "near-duplicate" are those of
:mod:`globmed.quality.near_duplicates`, found by its complete search (:func:`find_pairs`): the
release gate repeats that search on the finished folder, so it finds nothing this step left."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from globmed.errors import GlobmedError
from globmed.pipeline import TableResult, TableStep
from globmed.quality.minhash import similarity
from globmed.quality.near_duplicates import find_pairs, first_match, table_side
from globmed.quality.signatures import SignatureStore


def read_external(path: Path) -> list[tuple[str, str]]:
    """``(where, text)`` per benchmark item. JSON Lines rows give ``question`` (or ``hypothesis`` /
    ``premise``), ``options`` (list or letter -> text object) and ``context``; any other file is one
    item per non-empty line."""
    items = []
    with open(path, encoding="utf-8") as fh:
        for rowno, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            where = f"{path.name}:{rowno}"
            if path.suffix.lower() not in (".jsonl", ".json"):
                items.append((where, line))
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GlobmedError(f"--decontaminate-against {path}, row {rowno}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise GlobmedError(f"--decontaminate-against {path}, row {rowno}: expected a JSON object")
            question = row.get("question") or row.get("hypothesis") or ""
            options = row.get("options") or []
            if isinstance(options, dict):
                options = list(options.values())
            context = row.get("context") or row.get("premise") or ""
            if not question:
                raise GlobmedError(f"--decontaminate-against {path}, row {rowno}: no 'question' field")
            items.append((where, {"question": str(question), "options": [str(o) for o in options],
                                  "context": str(context)}))
    return items


def _external_table(items: list[tuple[str, Any]]) -> pa.Table:
    """The external items as rows with ``question``, ``options``, ``context`` (a text line is a question)."""
    rows = [item if isinstance(item, dict) else {"question": item, "options": [], "context": ""} for _, item in items]
    return pa.Table.from_pylist(rows, schema=pa.schema([("question", pa.string()), ("options", pa.list_(pa.string())),
                                                        ("context", pa.string())]))


def _lowered(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A list-of-strings column with every string lower-cased (``utf8_lower``), each distinct string once."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_string(column.type.value_type):
        return column  # (no strings to lower-case)
    if column.offset:
        column = pa.concat_arrays([column])  # offsets from 0
    values = column.values.dictionary_encode()
    lowered = pc.take(pc.utf8_lower(values.dictionary), values.indices)
    return pa.ListArray.from_arrays(column.offsets, lowered, mask=column.is_null() if column.null_count else None)


class DecontaminationStep(TableStep):
    name = "decontamination"

    def __init__(self, settings: dict[str, Any], store: SignatureStore, external: list[Path] = ()):
        self.question_threshold = float(settings.get("same_options_question_threshold", 0.3))
        self.store = store
        self.definition = store.definition
        self.external_files = [Path(p) for p in external]
        self.external = [item for path in self.external_files for item in read_external(path)]
        self.external_table = _external_table(self.external)
        self.external_sig = store.compute(self.external_table)

    def describe(self) -> dict[str, Any]:
        return {**self.store.describe(), "same_options_question_threshold": self.question_threshold,
                "against": "test split (any language; by origin_id, by text, and by options + answer + similar question)"
                + (f" and {len(self.external)} external item(s) from "
                   + ", ".join(p.name for p in self.external_files) if self.external else "")}

    def precompute(self, table: pa.Table) -> dict[str, pa.Array]:
        return self.store.precompute(table)

    def _reworded(self, table: pa.Table, test: np.ndarray, rest: np.ndarray) -> list[tuple[int, int, float]]:
        """mcq rows with a test row's exact options (in order) and answer, whose questions are
        similar (a reworded question keeps fewer shared n-grams than a copy does)."""
        mcq = pc.equal(table.column("task"), "mcq").to_numpy(zero_copy_only=False)
        mcq_rest, mcq_test = rest[mcq[rest]], test[mcq[test]]
        if not len(mcq_rest) or not len(mcq_test):
            return []
        # the options and answer, lower-cased, as one key (lower case maps each code point alone, so each
        # distinct option is lower-cased once and the key joined after)
        key = pc.binary_join_element_wise(pc.binary_join(_lowered(table.column("options")), "\x1f"),
                                          pc.binary_join(_lowered(table.column("answer")), ","), "\x1e")
        # equal keys, equal codes; each rest row is paired with the first test row of its key
        codes = key.dictionary_encode().indices.to_numpy(zero_copy_only=False)
        first_test = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
        first_test[codes[mcq_test[::-1]]] = mcq_test[::-1]  # the last write per key wins: the first test row
        partner = first_test[codes[mcq_rest]]
        paired = partner >= 0
        if not paired.any():
            return []
        rows = np.stack([mcq_rest[paired], partner[paired]], axis=1)
        # each question's signature once (one test item may share its options with many rows)
        uniq, where = np.unique(rows.ravel(), return_inverse=True)
        sig, _ = self.store.compute(pc.take(table.column("question"), pa.array(uniq)))
        where = where.reshape(-1, 2)
        sim = similarity(sig, where[:, 0], where[:, 1])
        close = np.flatnonzero(sim >= self.question_threshold)
        return [(int(i), int(j), float(s)) for (i, j), s in zip(rows[close].tolist(), sim[close].tolist(), strict=True)]

    def __call__(self, table: pa.Table) -> TableResult:
        n = table.num_rows
        reasons: list[str | None] = [None] * n
        if not n:
            return TableResult([], reasons)
        is_test = pc.equal(table.column("split"), "test").to_numpy(zero_copy_only=False)
        test = np.flatnonzero(is_test)
        rest = np.flatnonzero(~is_test)
        ids = table.column("id")
        # 1. by origin: a train/validation entry whose origin_id also has a test entry
        if len(test) and len(rest):
            test_origins = pc.take(table.column("origin_id"), pa.array(test))
            shared = pc.is_in(pc.take(table.column("origin_id"), pa.array(rest)), value_set=test_origins.combine_chunks())
            for i in rest[shared.to_numpy(zero_copy_only=False)]:
                reasons[i] = "shares its origin_id with a test entry"
        sig, hashes = self.store.of(table) if len(test) or self.external else (None, None)
        # 2. by text: duplicate or near-duplicate of any test entry, any language
        if len(test) and len(rest):
            bands = self.store.bands_of(table, sig)
            memo = self.store.memo
            if memo is not None:  # the search itself is kept with its pairs: the release gate need not repeat it
                memo.add_search(hashes[rest], hashes[test], self.definition.threshold - self.definition.margin)
            q, r, sim = find_pairs(table_side(table, self.definition, sig, hashes, rest, bands),
                                   table_side(table, self.definition, sig, hashes, test, bands), self.definition,
                                   workers=self.store.workers, known=self.store.verified.lookup,
                                   verified=None if memo is None else memo.add_pairs)
            for k, (j, s) in first_match(q, r, sim).items():
                i = int(rest[k])
                if reasons[i] is None:
                    kind = "duplicate" if s == 1.0 else f"near-duplicate (5-gram Jaccard {s:.2f})"
                    reasons[i] = f"{kind} of test entry '{ids[int(test[j])].as_py()}'"
            for i, j, qsim in self._reworded(table, test, rest):
                if reasons[i] is None:
                    reasons[i] = (f"reworded test entry '{ids[j].as_py()}' (same options and answer, "
                                  f"question similarity {qsim:.2f})")
        # 3. external benchmark items: every split
        if self.external:
            ext = table_side(self.external_table, self.definition, *self.external_sig)
            q, r, sim = find_pairs(table_side(table, self.definition, sig, hashes), ext, self.definition,
                                   workers=self.store.workers)
            for i, (j, s) in first_match(q, r, sim).items():
                if reasons[i] is None:
                    reasons[i] = f"matches external benchmark item '{self.external[j][0]}' (similarity {s:.2f})"
        return TableResult([r is None for r in reasons], reasons)
