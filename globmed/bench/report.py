"""Leaderboards (CSV + Markdown) and plots (PNG) from per-item result files.

A row is one RUN: model, mode and shots (a 0-shot and a 1-shot run are different prompts and are
never averaged together).

- ``leaderboard_languages.csv``: one row per run; per language the mean item score (accuracy for
  closed tasks, ROUGE-L for open QA) with a bootstrap 95% CI and its item count, then the high- and
  low-resource tier averages (macro over the tier's languages) and the gap high - low, each with a
  CI from the same bootstrap. The bootstrap resamples ORIGINS (``origin_id``: an item and its
  translations are one cluster), jointly for every language, 1000 rounds, seeded per run (adding a
  model or a run moves no other run's CIs).
- ``leaderboard_tasks.csv``: one row per (run, task): accuracy and macro-F1 (closed tasks,
  the functions the shipped ``closed_qa`` evaluate module computes with, called directly: importing
  ``evaluate`` costs seconds per run), ROUGE-L and chrF (open QA), unparsed replies.
- ``leaderboard_open_qa.csv`` (when there are open-QA answers): one row per (run, language and
  judge): ROUGE-L, chrF, unparsed answers (CoT without a final answer) and, with ``--judge``,
  the judge's mean verdict on its 1-5 rubric over the parsed verdicts with a bootstrap 95% CI, the
  number of verdicts and of unparsable ones (left out of the mean, never scored).
- ``leaderboard_headline.csv`` (when there are letter or cloze records): the OLMES-style headline
  per (model, shots, task, language), the better of letter and cloze (:mod:`globmed.bench.headline`).
- ``leaderboard.md``: the tables; ``heatmap.png`` (run x language) and ``tier_gap.png`` (tier
  averages and gap per run, with CIs).

Judge verdicts (records of mode ``judge``) grade another mode's answers: they appear only in the
open-QA table, never as a mode of their own.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from globmed.bench.metrics.functions import accuracy, label_of, macro_f1
from globmed.bench.results import is_judge_record, load_results, origin_of
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


def _seed(*parts: Any) -> int:
    """A seed of its own per table cell (model, mode, shots, ...): adding a model or a run moves no
    other cell's CIs."""
    return zlib.crc32("|".join(map(str, parts)).encode())


def _boot(scores: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    arr = np.asarray(scores, dtype=float)
    idx = rng.integers(0, len(arr), size=(BOOTSTRAP_ROUNDS, len(arr)))
    return arr[idx].mean(axis=1)


def _ci(samples: np.ndarray) -> tuple[float, float]:
    lo, hi = np.nanpercentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


def run_key(rec: dict[str, Any]) -> tuple[str, str, int]:
    """What identifies a run in every table and plot: model, mode and the number of shots (a 0-shot
    and a 1-shot run are different prompts, never averaged together)."""
    return rec["model"], rec["mode"], int(rec.get("shots") or 0)


def _origin(rec: dict[str, Any]) -> str:
    return rec.get("origin_id") or origin_of(rec["id"])


def _cluster_boot(by_lang: dict[str, list[tuple[str, float]]], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Bootstrap means per language, resampling ORIGINS (an item and its translations are one
    cluster) jointly for every language: the languages of a round see the same drawn items, as the
    languages of GlobMed are largely translations of one another. A round that draws no item of a
    language gives NaN there (left out of its percentiles)."""
    origins = sorted({o for pairs in by_lang.values() for o, _ in pairs})
    index = {o: i for i, o in enumerate(origins)}
    n = len(origins)
    sums = {lang: np.zeros(n) for lang in by_lang}
    counts = {lang: np.zeros(n) for lang in by_lang}
    for lang, pairs in by_lang.items():
        for o, score in pairs:
            sums[lang][index[o]] += score
            counts[lang][index[o]] += 1
    out = {lang: np.empty(BOOTSTRAP_ROUNDS) for lang in by_lang}
    step = max(1, 2_000_000 // max(n, 1))  # rounds per block: bounded memory for large runs
    for lo in range(0, BOOTSTRAP_ROUNDS, step):
        rounds = min(step, BOOTSTRAP_ROUNDS - lo)
        draws = rng.integers(0, n, size=(rounds, n))
        weight = np.zeros((rounds, n))
        np.add.at(weight, (np.repeat(np.arange(rounds), n), draws.ravel()), 1.0)
        for lang in by_lang:
            num, den = weight @ sums[lang], weight @ counts[lang]
            out[lang][lo: lo + rounds] = np.divide(num, den, out=np.full(rounds, np.nan), where=den > 0)
    return out


def language_table(records: Sequence[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """(languages, rows): per run (model, mode, shots) the score per language and tier, with CIs
    from one bootstrap over origins (see :func:`_cluster_boot`), seeded per run."""
    cells: dict[tuple[str, str, int], dict[str, list[tuple[str, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        cells[run_key(r)][r["lang"]].append((_origin(r), float(r["score"])))
    langs = sorted({r["lang"] for r in records}, key=lambda c: (get_language(c).tier != "high", c))
    rows = []
    for (model, mode, shots), by_lang in sorted(cells.items()):
        boots = _cluster_boot(by_lang, np.random.default_rng(_seed(model, mode, shots)))
        row: dict[str, Any] = {"model": model, "mode": mode, "shots": shots}
        for lang in langs:
            if lang in by_lang:
                row[lang] = float(np.mean([s for _, s in by_lang[lang]]))
                row[f"{lang}_ci"] = _ci(boots[lang])
                row[f"{lang}_n"] = len(by_lang[lang])
        tiers = {}
        for tier in ("high", "low"):
            members = [lang for lang in langs if lang in by_lang and get_language(lang).tier == tier]
            if members:
                tiers[tier] = np.mean([boots[lang] for lang in members], axis=0)
                row[f"{tier}_avg"] = float(np.mean([row[lang] for lang in members]))
                row[f"{tier}_avg_ci"] = _ci(tiers[tier])
                row[f"{tier}_avg_n"] = sum(row[f"{lang}_n"] for lang in members)
        if len(tiers) == 2:
            row["gap"] = row["high_avg"] - row["low_avg"]
            row["gap_ci"] = _ci(tiers["high"] - tiers["low"])
        rows.append(row)
    return langs, rows


def task_table(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(*run_key(r), r["task"])].append(r)
    rows = []
    for (model, mode, shots, task), recs in sorted(groups.items()):
        row: dict[str, Any] = {"model": model, "mode": mode, "shots": shots, "task": task, "n": len(recs),
                               "unparsed": sum(bool(r.get("unparsed")) for r in recs)}
        if task == "open_qa":
            row["rougeL"] = float(np.mean([r["score"] for r in recs]))
            row["chrf"] = float(np.mean([r.get("chrf", 0.0) for r in recs]))
        else:
            preds, golds = [label_of(r["pred"]) for r in recs], [label_of(r["gold"]) for r in recs]
            row.update(accuracy=accuracy(preds, golds), macro_f1=macro_f1(preds, golds))
        rows.append(row)
    return rows


def _lang_order(code: str) -> tuple[bool, str]:
    return get_language(code).tier != "high", code


def open_qa_table(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, mode, language[, judge]): open-QA ROUGE-L, chrF and unparsed answers, and the
    judge's verdicts of those answers (mean 1-5 over parsed verdicts, bootstrap CI, counts)."""
    answers: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    verdicts: dict[tuple, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        shots = int(r.get("shots") or 0)
        if is_judge_record(r):
            verdicts[(r["model"], r["of_mode"], shots, r["lang"])][r["judge"]].append(r)
        elif r["task"] == "open_qa":
            answers[(r["model"], r["mode"], shots, r["lang"])].append(r)
    rows = []
    for key in sorted(set(answers) | set(verdicts), key=lambda k: (k[0], k[1], k[2], _lang_order(k[3]))):
        recs = answers.get(key, [])
        base: dict[str, Any] = {"model": key[0], "mode": key[1], "shots": key[2], "lang": key[3], "n": len(recs)}
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
                    row["judge_ci"] = _ci(_boot(parsed, np.random.default_rng(_seed(*key, judge))))
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
            text += f" ({lo:.2f}–{hi:.2f}" + (f"; n={row[f'{c}_n']}" if f"{c}_n" in row else "") + ")"
        return text

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r, c) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def run_label(row: dict[str, Any], sep: str = " ") -> str:
    """``model (mode, k-shot)``: the run a row or a bar stands for."""
    return f"{row['model']}{sep}({row['mode']}, {row.get('shots', 0)}-shot)"


def _plots(out: Path, langs: list[str], rows: list[dict[str, Any]]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [run_label(r) for r in rows]
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
    fig, ax = plt.subplots(figsize=(max(5.0, 1.5 + 1.4 * len(gap_rows)), 4.0))
    if gap_rows:
        width = 0.27
        for k, (col, name, color) in enumerate([("high_avg", "high-resource avg", "tab:blue"),
                                                ("low_avg", "low-resource avg", "tab:orange"),
                                                ("gap", "gap (high - low)", "tab:red")]):
            vals = [r[col] for r in gap_rows]
            err = np.array([[r[col] - r[f"{col}_ci"][0], r[f"{col}_ci"][1] - r[col]] for r in gap_rows]).T
            ax.bar(np.arange(len(gap_rows)) + (k - 1) * width, vals, width, yerr=err, capsize=3, color=color,
                   label=name)
        ax.set_xticks(range(len(gap_rows)), [run_label(r, "\n") for r in gap_rows], fontsize=8, rotation=30,
                      ha="right")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no run covers both tiers", ha="center", va="center", transform=ax.transAxes)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("score")
    ax.set_title("Tier averages and gap (95% bootstrap CI, origins resampled)")
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
    lang_cols = ["model", "mode", "shots", *langs, *tiers]
    csv_cols = ["model", "mode", "shots"] + [x for c in [*langs, *tiers]
                                             for x in (c, f"{c}_ci", *([f"{c}_n"] if c != "gap" else []))]
    task_rows = task_table(records)
    task_cols = ["model", "mode", "shots", "task", "n", "accuracy", "macro_f1", "rougeL", "chrf", "unparsed"]
    files = {out / "leaderboard_languages.csv": _csv(rows, csv_cols),
             out / "leaderboard_tasks.csv": _csv(task_rows, task_cols)}
    md = ["# GlobMed-Bench leaderboard", "",
          "Score per language: accuracy (closed tasks; multi-answer items by exact set match) or "
          "ROUGE-L (open QA), with bootstrap 95% CI and the item count n in brackets. A row is one run: model, "
          "mode and shots (runs with other shots are never averaged together). Tier averages are macro over "
          "languages; gap = high - low. The CIs resample origins (an item and its translations together), "
          "jointly for every language, seeded per run.", "", "## Model x language", "",
          _md(rows, lang_cols, show_ci=[*langs, *tiers]), "", "## Model x task", "",
          _md(task_rows, task_cols), ""]
    open_rows = open_qa_table(every)
    if open_rows:
        open_cols = ["model", "mode", "shots", "lang", "n", "rougeL", "chrf", "unparsed", "judge_model", "judge", "judged",
                     "judge_unparsed"]
        files[out / "leaderboard_open_qa.csv"] = _csv(open_rows, [*open_cols[:10], "judge_ci", *open_cols[10:]])
        md += ["## Open QA: model x language", "",
               "ROUGE-L (0-1) and chrF (0-100) against the best reference; unparsed: CoT answers without a final "
               "answer (scored 0). judge: the LLM judge's mean verdict on its 1-5 rubric (`globmed/bench/judge.py`) "
               "with bootstrap 95% CI, over its parsed verdicts; judged: verdicts written; judge_unparsed: judge "
               "replies without a valid `Score: N` line (left out of the mean).", "",
               _md(open_rows, open_cols, show_ci=["judge"]), ""]
    from globmed.bench.headline import HEADLINE_COLUMNS, HEADLINE_NOTE, headline_table

    head_rows = headline_table(records)  # OLMES-style: the better of letter and cloze per cell
    if head_rows:
        files[out / "leaderboard_headline.csv"] = _csv(head_rows, HEADLINE_COLUMNS)
        md += ["## Headline (OLMES-style)", "", HEADLINE_NOTE, "", _md(head_rows, HEADLINE_COLUMNS), ""]
    files[out / "leaderboard.md"] = "\n".join(md).encode()
    from globmed.bench.leaderboard_html import leaderboard_html  # the page: sortable table, heatmap, tier gap

    files[out / "leaderboard.html"] = leaderboard_html(every, langs=langs, rows=rows, task_rows=task_rows,
                                                       open_rows=open_rows)
    for path, data in files.items():
        _write_atomic(path, data)
    return [*files, *_plots(out, langs, rows)]
