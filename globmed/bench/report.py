"""Leaderboards (CSV + Markdown) and plots (PNG) from per-item result files.

- ``leaderboard_languages.csv``: one row per (model, mode); per language the mean item score
  (accuracy for closed tasks, ROUGE-L for open QA) with a bootstrap 95% CI, then the high- and
  low-resource tier averages (macro over the tier's languages), and the gap high - low, each with
  a CI from the same bootstrap (items resampled within each language, 1000 rounds, seed 0).
- ``leaderboard_tasks.csv``: one row per (model, mode, task): accuracy and macro-F1 (closed tasks,
  through the ``closed_qa`` evaluate module), ROUGE-L and chrF (open QA), unparsed replies.
- ``leaderboard_open_qa.csv`` (when there are open-QA answers): one row per (model, mode, language
  and judge): ROUGE-L, chrF, unparsed answers (CoT without a final answer) and, with ``--judge``,
  the judge's mean verdict on its 1-5 rubric over the parsed verdicts with a bootstrap 95% CI, the
  number of verdicts and of unparsable ones (left out of the mean, never scored).
- ``leaderboard.md``: the tables; ``heatmap.png`` (model x language) and ``tier_gap.png``.

Judge verdicts (records of mode ``judge``) grade another mode's answers: they appear only in the
open-QA table, never as a mode of their own.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from globmed.bench.metrics.functions import label_of
from globmed.bench.results import is_judge_record, load_results
from globmed.languages import get_language

BOOTSTRAP_ROUNDS = 1000


def _save_png(fig, path: Path) -> Path:
    """Render ``fig`` as PNG, close it, and write it atomically to ``path``."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    _write_atomic(path, buf.getvalue())
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports are for sharing
    os.replace(tmp, path)


def _boot(scores: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    arr = np.asarray(scores, dtype=float)
    idx = rng.integers(0, len(arr), size=(BOOTSTRAP_ROUNDS, len(arr)))
    return arr[idx].mean(axis=1)


def _ci(samples: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


def language_table(records: Sequence[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """(languages, rows): per (model, mode) the score per language and tier, with CIs."""
    cells: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        cells[(r["model"], r["mode"])][r["lang"]].append(float(r["score"]))
    langs = sorted({r["lang"] for r in records}, key=lambda c: (get_language(c).tier != "high", c))
    rows = []
    for (model, mode), by_lang in sorted(cells.items()):
        rng = np.random.default_rng(0)
        row: dict[str, Any] = {"model": model, "mode": mode}
        boots: dict[str, np.ndarray] = {}
        for lang in langs:
            if lang in by_lang:
                boots[lang] = _boot(by_lang[lang], rng)
                row[lang] = float(np.mean(by_lang[lang]))
                row[f"{lang}_ci"] = _ci(boots[lang])
                row[f"{lang}_n"] = len(by_lang[lang])
        tiers = {}
        for tier in ("high", "low"):
            members = [lang for lang in boots if get_language(lang).tier == tier]
            if members:
                tiers[tier] = np.mean([boots[lang] for lang in members], axis=0)
                row[f"{tier}_avg"] = float(np.mean([row[lang] for lang in members]))
                row[f"{tier}_avg_ci"] = _ci(tiers[tier])
        if len(tiers) == 2:
            row["gap"] = row["high_avg"] - row["low_avg"]
            row["gap_ci"] = _ci(tiers["high"] - tiers["low"])
        rows.append(row)
    return langs, rows


def task_table(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    from globmed.bench.metrics import load_metric

    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r["model"], r["mode"], r["task"])].append(r)
    closed = load_metric("closed_qa") if any(k[2] != "open_qa" for k in groups) else None
    rows = []
    for (model, mode, task), recs in sorted(groups.items()):
        row: dict[str, Any] = {"model": model, "mode": mode, "task": task, "n": len(recs),
                               "unparsed": sum(bool(r.get("unparsed")) for r in recs)}
        if task == "open_qa":
            row["rougeL"] = float(np.mean([r["score"] for r in recs]))
            row["chrf"] = float(np.mean([r.get("chrf", 0.0) for r in recs]))
        else:
            res = closed.compute(predictions=[label_of(r["pred"]) for r in recs],
                                 references=[label_of(r["gold"]) for r in recs])
            row.update(accuracy=res["accuracy"], macro_f1=res["macro_f1"])
        rows.append(row)
    return rows


def _lang_order(code: str) -> tuple[bool, str]:
    return get_language(code).tier != "high", code


def open_qa_table(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, mode, language[, judge]): open-QA ROUGE-L, chrF and unparsed answers, and the
    judge's verdicts of those answers (mean 1-5 over parsed verdicts, bootstrap CI, counts)."""
    answers: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    verdicts: dict[tuple[str, str, str], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if is_judge_record(r):
            verdicts[(r["model"], r["of_mode"], r["lang"])][r["judge"]].append(r)
        elif r["task"] == "open_qa":
            answers[(r["model"], r["mode"], r["lang"])].append(r)
    rows = []
    for key in sorted(set(answers) | set(verdicts), key=lambda k: (k[0], k[1], _lang_order(k[2]))):
        recs = answers.get(key, [])
        base: dict[str, Any] = {"model": key[0], "mode": key[1], "lang": key[2], "n": len(recs)}
        if recs:
            base.update(rougeL=float(np.mean([r["score"] for r in recs])),
                        chrf=float(np.mean([r.get("chrf", 0.0) for r in recs])),
                        unparsed=sum(bool(r.get("unparsed")) for r in recs))
        for judge, vs in sorted((verdicts.get(key) or {"": []}).items()):
            row = dict(base)
            if judge:
                parsed = [int(v["verdict"]) for v in vs if v.get("verdict") is not None]
                row.update(judge_model=judge, judged=len(vs), judge_unparsed=len(vs) - len(parsed))
                if parsed:
                    row["judge"] = float(np.mean(parsed))
                    row["judge_ci"] = _ci(_boot(parsed, np.random.default_rng(0)))
            rows.append(row)
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, tuple):
        return f"[{v[0]:.3f}, {v[1]:.3f}]"
    return "" if v is None else str(v)


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_fmt(row.get(c)) for c in columns])
    return buf.getvalue().encode()


def _md(rows: list[dict[str, Any]], columns: list[str], show_ci: Sequence[str] = ()) -> str:
    def cell(row: dict[str, Any], c: str) -> str:
        text = _fmt(row.get(c))
        if c in show_ci and row.get(f"{c}_ci"):
            lo, hi = row[f"{c}_ci"]
            text += f" ({lo:.2f}–{hi:.2f})"
        return text

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r, c) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def _plots(out: Path, langs: list[str], rows: list[dict[str, Any]]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['model']} ({r['mode']})" for r in rows]
    grid = np.array([[r.get(lang, np.nan) for lang in langs] for r in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(3.0 + 0.8 * len(langs), 1.5 + 0.5 * len(rows)))
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(langs)), [f"{c}\n({get_language(c).tier})" for c in langs])
    ax.set_yticks(range(len(rows)), labels)
    for i in range(len(rows)):
        for j in range(len(langs)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center",
                        color="white" if grid[i, j] < 0.6 else "black", fontsize=8)
    fig.colorbar(im, ax=ax, label="score")
    ax.set_title("GlobMed-Bench: model x language")
    fig.tight_layout()
    heat = _save_png(fig, out / "heatmap.png")

    gap_rows = [r for r in rows if "gap" in r]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.0 + 0.9 * len(gap_rows)), 3.5))
    if gap_rows:
        gaps = [r["gap"] for r in gap_rows]
        err = np.array([[r["gap"] - r["gap_ci"][0], r["gap_ci"][1] - r["gap"]] for r in gap_rows]).T
        ax.bar(range(len(gap_rows)), gaps, yerr=err, capsize=4, color="tab:red")
        ax.set_xticks(range(len(gap_rows)), [f"{r['model']}\n({r['mode']})" for r in gap_rows], fontsize=8,
                      rotation=30, ha="right")
    else:
        ax.text(0.5, 0.5, "no run covers both tiers", ha="center", va="center", transform=ax.transAxes)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("high-resource avg - low-resource avg")
    ax.set_title("Tier gap (95% bootstrap CI)")
    fig.tight_layout()
    bar = _save_png(fig, out / "tier_gap.png")
    return [heat, bar]


def write_reports(result_files: Sequence[Path], out: Path) -> list[Path]:
    """Rebuild every report in ``out`` from ``result_files``; returns the files written."""
    from globmed.errors import GlobmedError

    every = load_results(result_files)
    records = [r for r in every if not is_judge_record(r)]
    if not records:
        raise GlobmedError(f"no result records in {', '.join(map(str, result_files)) or '(no files)'}")
    out = Path(out)
    langs, rows = language_table(records)
    tiers = [c for c in ("high_avg", "low_avg", "gap") if any(c in r for r in rows)]
    lang_cols = ["model", "mode", *langs, *tiers]
    csv_cols = ["model", "mode"] + [x for c in [*langs, *tiers] for x in (c, f"{c}_ci")]
    task_rows = task_table(records)
    task_cols = ["model", "mode", "task", "n", "accuracy", "macro_f1", "rougeL", "chrf", "unparsed"]
    files = {out / "leaderboard_languages.csv": _csv(rows, csv_cols),
             out / "leaderboard_tasks.csv": _csv(task_rows, task_cols)}
    md = ["# GlobMed-Bench leaderboard", "",
          "Score per language: accuracy (closed tasks; multi-answer items by exact set match) or "
          "ROUGE-L (open QA), with bootstrap 95% CI in brackets. Tier averages are macro over languages; "
          "gap = high - low.", "", "## Model x language", "",
          _md(rows, lang_cols, show_ci=[*langs, *tiers]), "", "## Model x task", "",
          _md(task_rows, task_cols), ""]
    open_rows = open_qa_table(every)
    if open_rows:
        open_cols = ["model", "mode", "lang", "n", "rougeL", "chrf", "unparsed", "judge_model", "judge", "judged",
                     "judge_unparsed"]
        files[out / "leaderboard_open_qa.csv"] = _csv(open_rows, [*open_cols[:9], "judge_ci", *open_cols[9:]])
        md += ["## Open QA: model x language", "",
               "ROUGE-L (0-1) and chrF (0-100) against the best reference; unparsed: CoT answers without a final "
               "answer (scored 0). judge: the LLM judge's mean verdict on its 1-5 rubric (`globmed/bench/judge.py`) "
               "with bootstrap 95% CI, over its parsed verdicts; judged: verdicts written; judge_unparsed: judge "
               "replies without a valid `Score: N` line (left out of the mean).", "",
               _md(open_rows, open_cols, show_ci=["judge"]), ""]
    files[out / "leaderboard.md"] = "\n".join(md).encode()
    for path, data in files.items():
        _write_atomic(path, data)
    return [*files, *_plots(out, langs, rows)]
