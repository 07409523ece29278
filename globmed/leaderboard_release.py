"""``globmed release leaderboard``: the bench leaderboard page as a static Hugging Face Space.

The Space is the page ``globmed bench report`` writes (``leaderboard.html``, as ``index.html``),
the tables it is built from (``leaderboard_*.csv``, ``leaderboard.md``) and a README whose YAML
front matter says ``sdk: static``. The machinery is the other releases' (:mod:`globmed.release`):
gates first, ``--dry-run`` prints the commit plan, the token comes from ``HF_TOKEN`` or the login
cache and is never printed, the Hub card's metadata is merged (ours wins for ``sdk`` and
``app_file`` only: a title, emoji or colours edited on the Hub are kept), then ONE commit.

Gates:

- ``results``: the results folder has result files, every line is a record with the fields the
  reports need (named by file and line when not), and at least one scored record;
- ``self_contained``: the page needs no network to be viewed (no external resource, the
  Content-Security-Policy that forbids requests, the data inline);
- ``card``: the Space card renders with ``sdk: static`` and ``app_file: index.html``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from globmed.errors import GlobmedError
from globmed.release import (
    CommitPlan,
    GateResult,
    PlannedFile,
    Printer,
    fetch_hub_card,
    gate_summary,
    hub_api,
    join_card,
    merge_card_metadata,
    publish,
    raise_on_failures,
    require_token,
    split_card,
)

SPACE_CARD_OURS = ("sdk", "app_file")
REQUIRED_FIELDS = ("model", "mode", "lang", "task", "score", "id")
TABLES = ("leaderboard_languages.csv", "leaderboard_tasks.csv", "leaderboard_open_qa.csv", "leaderboard.md")


@dataclass
class LeaderboardRelease:
    results: Path
    repo_id: str
    dataset_repo_id: str = "org/globmed"
    private: bool = False
    revision: str | None = None
    dry_run: bool = False


def result_files(results: Path) -> list[Path]:
    """``<results>/results/*.jsonl`` (a ``globmed bench --out`` folder) or ``<results>/*.jsonl``."""
    results = Path(results)
    if not results.is_dir():
        raise GlobmedError(f"--results {results}: not a folder")
    folder = results / "results" if (results / "results").is_dir() else results
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise GlobmedError(f"--results {results}: no bench result files (*.jsonl) in {folder}")
    return files


def gate_results(files: list[Path]) -> tuple[GateResult, list[dict[str, Any]]]:
    from globmed.bench.results import is_judge_record, iter_records
    from globmed.errors import UnknownNameError
    from globmed.languages import get_language

    problems: list[str] = []
    records: list[dict[str, Any]] = []
    for path in files:
        try:
            for n, rec in enumerate(iter_records(path), 1):
                if not isinstance(rec, dict):
                    problems.append(f"{path}, line {n}: not a JSON object")
                    continue
                if not is_judge_record(rec):
                    missing = [f for f in REQUIRED_FIELDS if f not in rec]
                    if missing:
                        problems.append(f"{path}, line {n}: not a bench result record (no {', '.join(missing)})")
                        continue
                    try:
                        get_language(rec["lang"])
                    except UnknownNameError:
                        problems.append(f"{path}, line {n}: unknown language {rec['lang']!r}")
                        continue
                records.append(rec)
        except GlobmedError as exc:
            problems.append(str(exc))
    if not problems and not any(not is_judge_record(r) for r in records):
        problems.append(f"no scored records in {', '.join(map(str, files))}")
    return GateResult("results", problems), records


def gate_self_contained(html: str) -> GateResult:
    from globmed.bench.leaderboard_html import self_contained_problems

    return GateResult("self_contained", [f"index.html {p}" for p in self_contained_problems(html)])


def space_card(opts: LeaderboardRelease, records: list[dict[str, Any]]) -> str:
    from globmed.bench.report import run_key
    from globmed.bench.results import is_judge_record
    from globmed.languages import get_language

    scored = [r for r in records if not is_judge_record(r)]
    models = sorted({r["model"] for r in scored})
    runs = {run_key(r) for r in scored}
    langs = sorted({r["lang"] for r in scored}, key=lambda c: (get_language(c).tier != "high", c))
    low = [c for c in langs if get_language(c).tier == "low"]
    meta = {"title": "GlobMed-Bench leaderboard", "emoji": "🩺", "colorFrom": "blue", "colorTo": "green",
            "sdk": "static", "app_file": "index.html", "pinned": False,
            "short_description": "GlobMed-Bench: medical QA scores per model and language",
            "tags": ["leaderboard", "medical", "multilingual", "globmed"], "datasets": [opts.dataset_repo_id]}
    body = "\n".join([
        "# GlobMed-Bench leaderboard", "",
        f"Scores of {len(models)} model(s) in {len(runs)} run(s) (model, mode, shots) on the test splits of "
        f"[{opts.dataset_repo_id}](https://huggingface.co/datasets/{opts.dataset_repo_id}) in {len(langs)} "
        f"languages ({', '.join(langs)}; low-resource: {', '.join(low) or 'none'}).", "",
        "`index.html` is one self-contained page (data, script and style inline; it makes no request): a sortable, "
        "filterable table of every cell, the model x language heatmap and the high/low-resource tier gap with "
        "bootstrap 95% CIs; hover a cell for its item count and unparsed replies. The tables it is built from are "
        "the `leaderboard_*.csv` files beside it.", "",
        "Made by `globmed bench report` and published by `globmed release leaderboard`.", ""])
    return join_card(meta, body)


def gate_card(card: str) -> GateResult:
    try:
        meta, _ = split_card(card)
    except Exception as exc:  # a YAML error in the merged card
        return GateResult("card", [f"README.md: the front matter does not parse ({exc})"])
    problems = [f"README.md: {k} must be {v!r}, is {meta.get(k)!r}"
                for k, v in (("sdk", "static"), ("app_file", "index.html")) if meta.get(k) != v]
    return GateResult("card", problems)


def release_leaderboard(opts: LeaderboardRelease, api=None, echo: Printer = print) -> CommitPlan:
    """Gates, then the Space commit (or its plan, for a dry run)."""
    from globmed.bench.report import write_reports

    if not opts.dry_run:
        require_token()
    files = result_files(opts.results)
    results_gate, records = gate_results(files)
    if not results_gate.ok:
        echo(gate_summary([results_gate]))
        raise_on_failures("leaderboard", [results_gate])
    with tempfile.TemporaryDirectory(prefix="globmed-leaderboard-") as tmp:
        written = {p.name: p.read_bytes() for p in write_reports(files, Path(tmp))}
    html = written["leaderboard.html"].decode("utf-8")
    card = space_card(opts, records)
    gates = [results_gate, gate_self_contained(html), gate_card(card)]
    echo(gate_summary(gates))
    raise_on_failures("leaderboard", gates)
    api = api or hub_api()
    hub_card, note = fetch_hub_card(api, opts.repo_id, "space", opts.revision, not opts.dry_run)
    final_card = merge_card_metadata(card, hub_card, SPACE_CARD_OURS)
    planned = [PlannedFile("index.html", data=written["leaderboard.html"]), PlannedFile("README.md", data=final_card.encode())]
    planned += [PlannedFile(name, data=written[name]) for name in TABLES if name in written]
    plan = CommitPlan(opts.repo_id, "space", planned, hub_card, final_card, "GlobMed-Bench leaderboard",
                      opts.revision, opts.private, space_sdk="static")
    if note:
        plan.notes.append(note)
    return publish(plan, api, opts.dry_run, echo)
