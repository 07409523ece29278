"""RuMedBench: Russian medical benchmark tasks RuMedDaNet (yes/no), RuMedTest (mcq), RuMedNLI (nli).

Format checked against pavel-blinov/RuMedBench (now sb-ai-lab/MedBench): ``data/README.md`` and
the files ``data/<Task>/{train,dev,test,private_test}_v1.jsonl`` (one JSON object per line):

- ``RuMedDaNet``: ``{"pairID", "context", "question", "answer": "да" | "нет"}``
- ``RuMedNLI``: ``{"pairID", "ru_sentence1", "ru_sentence2", "gold_label":
  "entailment" | "neutral" | "contradiction"}`` (a translation of MedNLI)
- ``RuMedTest``: ``{"idx", "question", "1": str, "2": str, "3": str, "4": str}``; the public
  release has only ``private_test_v1.jsonl`` and it carries **no answer**.
- ``private_test_v1.jsonl`` of every task has no labels (the leaderboard keeps them).

Mapping (deliberate):

- RuMedDaNet -> ``yes_no_maybe`` with ``options = ["yes", "no"]`` (the item's label set:
  there is no "maybe"), ``да`` -> ``yes``, ``нет`` -> ``no``; ``context`` = ``context``.
  Any other answer (or none) is a reject.
- RuMedNLI -> ``nli``: ``context`` = ``ru_sentence1`` (premise), ``question`` =
  ``ru_sentence2`` (hypothesis), the three NLI labels as options.
- RuMedTest -> ``mcq``: options are the keys ``"1"``..``"n"`` in numeric order. A row with an
  ``answer`` (1-based option number, as in the leaderboard's answer files) is mapped
  ``1`` -> ``A``; a row without one is **rejected** ("labels withheld"), so the public
  release yields RuMedTest rejects only.
- Unlabelled rows of any task are rejected with "no label (private test set)".
- RuMedNLI's full files come from PhysioNet (doi:10.13026/gxzd-cf80, credentialed access) as
  ``ru_mli_{train,dev,test}_v1.jsonl`` with the same four keys among others (the repository's
  ``code/tasks_builder.py`` copies exactly ``ru_sentence1``, ``ru_sentence2``, ``gold_label``,
  ``pairID``; ``data/RuMedNLI/README.md`` says to download them into ``data/raw/``). When such
  files are present they are read instead of ``data/RuMedNLI/*_v1.jsonl`` (same pairIDs); the
  repository's own ``RuMedNLI/test_v1.jsonl`` ends in a truncated line, which becomes a reject.
- Splits: ``train`` / ``dev`` -> ``validation`` / ``test`` / ``private_test`` -> ``test``.
  The task is taken from the folder name (``RuMedDaNet``, ``RuMedNLI``, ``RuMedTest``); other
  RuMedBench tasks (Top3, SymptomRec, NER) are not QA and are not read. Ids are
  ``<task>/<pairID|idx>``.

Licence per subset (``sources.yaml``, :mod:`globmed.sources.licences`): the repository's LICENSE
is Apache-2.0, so RuMedDaNet and RuMedTest rows carry ``apache-2.0`` and are redistributable;
RuMedNLI derives from MedNLI (PhysioNet, credentialed access), so its rows carry ``other`` and
are not.

Every ``.jsonl`` under the folder is placed: read, left out because its task is not QA
(RuMedTop3, RuMedSymptomRec, RuMedNER: logged) or because PhysioNet files replace it (logged),
or rejected at file level (unknown task folder, or a name that is not ``<split>_v<n>.jsonl``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from globmed.schema import LETTERS, TASK_LABELS, Entry
from globmed.sources._placing import left_out
from globmed.sources.base import Reject, Source, iter_jsonl, register
from globmed.sources.fetch import github_archive
from globmed.sources.licences import subset_licence

REPO = "sb-ai-lab/MedBench"
TASKS = {"rumeddanet": "yes_no_maybe", "rumednli": "nli", "rumedtest": "mcq"}
NOT_QA = ("rumedtop3", "rumedsymptomrec", "rumedner")
"""RuMedBench task folders that are not question answering: known, not read."""
YES_NO = {"да": "yes", "нет": "no"}
FILE_RE = re.compile(r"^(?P<split>train|dev|test|private_test)(_v\d+)?\.jsonl$")
PHYSIONET_RE = re.compile(r"^ru_mli_(?P<split>train|dev|test)_v\d+\.jsonl$")
SPLITS = {"train": "train", "dev": "validation", "test": "test", "private_test": "test"}


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@register
class RuMedBenchSource(Source):
    name = "rumedbench"
    tasks = ("yes_no_maybe", "nli", "mcq")
    languages = ("ru",)
    mapped_fields = ("pairID", "idx", "context", "question", "answer", "ru_sentence1", "ru_sentence2", "gold_label",
                     "1", "2", "3", "4", "5", "6")
    """Raw fields the mapping reads (``globmed sources inspect`` lists the others as not used)."""
    expected_files = "RuMedBench's data/ folder (RuMedDaNet/, RuMedNLI/, RuMedTest/ with <split>_v1.jsonl)"

    def default_path(self) -> Path:
        return github_archive(self.name, REPO)

    def plan(self, root: Path) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
        """``([(file, task), ...] to read, [(file, reason), ...] that cannot be placed)``."""
        candidates = [root] if root.is_file() else sorted(root.rglob("*.jsonl"))
        physionet = [(p, "rumednli") for p in candidates if PHYSIONET_RE.match(p.name)]
        out, unplaced = [], []
        for p in candidates:
            task = p.parent.name.lower()
            if PHYSIONET_RE.match(p.name):
                continue
            if task in NOT_QA:
                left_out(self.name, p, f"{p.parent.name} is not a QA task")
            elif task not in TASKS:
                unplaced.append((p, f"not in a RuMedDaNet/, RuMedNLI/ or RuMedTest/ folder (found {p.parent.name}/)"))
            elif not FILE_RE.match(p.name):
                unplaced.append((p, "the name is not <split>_v<n>.jsonl (train, dev, test, private_test)"))
            elif physionet and task == "rumednli":
                left_out(self.name, p, "the PhysioNet ru_mli_*.jsonl files are read instead")
            else:
                out.append((p, task))
        return out + physionet, unplaced

    def files(self, root: Path) -> list[tuple[Path, str]]:
        return self.plan(root)[0]

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        files, unplaced = self.plan(root)
        for file, reason in unplaced:
            yield self.reject(file, None, reason, lang="ru")
        if not files and not unplaced:
            yield self.reject(root, None, "no RuMedDaNet/RuMedNLI/RuMedTest <split>_v1.jsonl file found", lang="ru")
        for file, task in files:
            split = SPLITS[(FILE_RE.match(file.name) or PHYSIONET_RE.match(file.name))["split"]]
            for rowno, row in iter_jsonl(file):
                if isinstance(row, Exception):
                    yield self.reject(file, rowno, str(row), lang="ru")
                elif not isinstance(row, dict):
                    yield self.reject(file, rowno, f"expected a JSON object, got {type(row).__name__}", lang="ru")
                else:
                    yield getattr(self, f"_{task}")(row, file, rowno, split)

    def _common(self, task_dir: str, rid: str, file: Path, rowno: int, split: str) -> dict[str, Any]:
        return dict(source=self.name, lang="ru", source_id=f"{task_dir}/{rid}",
                    license=subset_licence(self.name, task_dir),
                    upstream_split=split, upstream_file=str(file), upstream_row=rowno)

    def _no_label(self, file: Path, rowno: int, rid: str, split: str, note: str = "") -> Reject:
        """A row without its label: expected in a private test file (the leaderboard keeps those
        labels: not a --strict failure), a malformed row anywhere else."""
        if "private" in file.name:
            return self.reject(file, rowno, f"no label (private test set{note})", id=rid, lang="ru", expected=True)
        return self.reject(file, rowno, f"no label in a {split} file", id=rid, lang="ru")

    def _rumeddanet(self, row: dict, file: Path, rowno: int, split: str) -> Entry | Reject:
        rid = _str(row.get("pairID"))
        if not rid:
            return self.reject(file, rowno, "missing pairID", lang="ru")
        question, context = _str(row.get("question")), _str(row.get("context"))
        if not question:
            return self.reject(file, rowno, "empty question", id=rid, lang="ru")
        if "answer" not in row:
            return self._no_label(file, rowno, rid, split)
        label = YES_NO.get(_str(row["answer"]).lower())
        if label is None:
            return self.reject(file, rowno, f"answer {row['answer']!r} is not да/нет", id=rid, lang="ru")
        return Entry.create(task="yes_no_maybe", question=question, context=context, options=["yes", "no"],
                            answer=[label], **self._common("RuMedDaNet", rid, file, rowno, split))

    def _rumednli(self, row: dict, file: Path, rowno: int, split: str) -> Entry | Reject:
        rid = _str(row.get("pairID"))
        if not rid:
            return self.reject(file, rowno, "missing pairID", lang="ru")
        premise, hypothesis = _str(row.get("ru_sentence1")), _str(row.get("ru_sentence2"))
        if not premise or not hypothesis:
            return self.reject(file, rowno, "empty ru_sentence1 or ru_sentence2", id=rid, lang="ru")
        if "gold_label" not in row:
            return self._no_label(file, rowno, rid, split)
        label = _str(row["gold_label"])
        if label not in TASK_LABELS["nli"]:
            return self.reject(file, rowno, f"gold_label {row['gold_label']!r} is not an NLI label", id=rid,
                               lang="ru")
        return Entry.create(task="nli", question=hypothesis, context=premise, options=list(TASK_LABELS["nli"]),
                            answer=[label], **self._common("RuMedNLI", rid, file, rowno, split))

    def _rumedtest(self, row: dict, file: Path, rowno: int, split: str) -> Entry | Reject:
        rid = _str(row.get("idx"))
        if not rid:
            return self.reject(file, rowno, "missing idx", lang="ru")
        question = _str(row.get("question"))
        if not question:
            return self.reject(file, rowno, "empty question", id=rid, lang="ru")
        keys = sorted((k for k in row if k.isdigit()), key=int)
        if keys != [str(i) for i in range(1, len(keys) + 1)] or len(keys) < 2:
            return self.reject(file, rowno, f"option keys must be 1..n, got {keys}", id=rid, lang="ru")
        options = [_str(row[k]) for k in keys]
        if not all(options):
            return self.reject(file, rowno, "an option is empty", id=rid, lang="ru")
        if "answer" not in row:
            return self._no_label(file, rowno, rid, split, ": RuMedTest labels are withheld")
        raw = str(row["answer"]).strip()
        if not raw.isdigit() or not 1 <= int(raw) <= len(options):
            return self.reject(file, rowno, f"answer {row['answer']!r} is not an option number 1..{len(options)}",
                               id=rid, lang="ru")
        return Entry.create(task="mcq", question=question, options=options, answer=[LETTERS[int(raw) - 1]],
                            **self._common("RuMedTest", rid, file, rowno, split))
