"""``leaderboard.html``: one self-contained page of the bench results.

The page is built from the report's own tables (:func:`~globmed.bench.report.language_table`,
``task_table``, ``open_qa_table``), never from a second implementation of the scores, plus per-cell
details counted from the records (``n``, unparsed replies). It holds everything it needs: the data
as inline JSON, the script (``leaderboard.js``) and the style (``leaderboard.css``) inline, and a
Content-Security-Policy that forbids any network request, so it opens from disk or from a static
Space the same way.

Everything that comes from records (model names are user data) reaches the page only through the
JSON block, with ``<``, ``>``, ``&`` and the JavaScript line separators escaped, and the script
writes it with ``textContent``: a model called ``</script><img src=x onerror=...>`` is shown as
that text, never run.

The page reads its initial view from the URL hash (``#sort=score&dir=desc&tier=low``) and keeps
the hash in step with the controls, so a view can be linked (and a headless browser test can open
one).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from importlib import resources
from typing import Any

from globmed.bench.model_size import size_label, size_params
from globmed.languages import get_language

TITLE = "GlobMed-Bench leaderboard"
ALL_TASKS = "all"
"""The ``task`` of a cell that pools every task of a language (the leaderboard's language table)."""

CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

_JS_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _asset(name: str) -> str:
    return resources.files("globmed.bench").joinpath(name).read_text(encoding="utf-8")


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


def _ci(v: Any) -> list[float | None] | None:
    return None if not v else [_num(v[0]), _num(v[1])]


def _run_info(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per model: size and backend as records carry them; older records without them: the size
    read from the model name, backend unknown (empty)."""
    info: dict[str, dict[str, Any]] = {}
    for r in records:
        cur = info.setdefault(r["model"], {"size": None, "backend": None})
        cur["size"] = cur["size"] or r.get("size")
        cur["backend"] = cur["backend"] or r.get("backend")
    for model, cur in info.items():
        cur["size"] = cur["size"] or size_label(model) or ""
        cur["size_params"] = size_params(cur["size"])
        cur["backend"] = cur["backend"] or ""
    return info


def page_data(records: Sequence[dict[str, Any]], langs: Sequence[str] | None = None,
              rows: Sequence[dict[str, Any]] | None = None, task_rows: Sequence[dict[str, Any]] | None = None,
              open_rows: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The page's data from the bench records (judge verdicts included or not) and, when the caller
    has them already, the report's tables (else they are computed here)."""
    from globmed.bench.report import language_table, open_qa_table, run_key, task_table
    from globmed.bench.results import is_judge_record

    every = list(records)
    scored = [r for r in every if not is_judge_record(r)]
    if langs is None or rows is None:
        langs, rows = language_table(scored)
    task_rows = task_table(scored) if task_rows is None else task_rows
    open_rows = open_qa_table(every) if open_rows is None else open_rows
    info = _run_info(scored)
    unparsed: dict[tuple, int] = defaultdict(int)
    for r in scored:
        if r.get("unparsed"):
            unparsed[(*run_key(r), r["lang"], ALL_TASKS)] += 1
            unparsed[(*run_key(r), r["lang"], r["task"])] += 1

    def run_fields(row: dict[str, Any]) -> dict[str, Any]:
        return {"model": row["model"], **info.get(row["model"], {}), "mode": row["mode"], "shots": row["shots"]}

    tables = [(ALL_TASKS, langs, rows)]
    tasks = sorted({r["task"] for r in scored})
    for task in tasks:
        tables.append((task, *language_table([r for r in scored if r["task"] == task])))
    cells = []
    for task, t_langs, t_rows in tables:
        for row in t_rows:
            for lang in t_langs:
                if lang not in row:
                    continue
                language = get_language(lang)
                cells.append({**run_fields(row), "lang": lang, "lang_name": language.name, "tier": language.tier,
                              "task": task, "score": _num(row[lang]), "ci": _ci(row.get(f"{lang}_ci")),
                              "n": row[f"{lang}_n"],
                              "unparsed": unparsed[(row["model"], row["mode"], row["shots"], lang, task)]})
    summary = []
    for row in rows:
        item = run_fields(row)
        for col in ("high_avg", "low_avg", "gap"):
            item[col] = _num(row.get(col))
            item[f"{col}_ci"] = _ci(row.get(f"{col}_ci"))
            if col != "gap":
                item[f"{col}_n"] = row.get(f"{col}_n")
        summary.append(item)
    task_table_rows = [{**run_fields(r), **{k: _num(v) if isinstance(v, float) else v for k, v in r.items()
                                            if k not in ("model", "mode", "shots")}} for r in task_rows]
    open_table_rows = [{**run_fields(r), **{k: (_ci(v) if k.endswith("_ci") else _num(v) if isinstance(v, float) else v)
                                            for k, v in r.items() if k not in ("model", "mode", "shots")},
                        "tier": get_language(r["lang"]).tier} for r in open_rows]
    return {"title": TITLE,
            "languages": [{"code": c, "name": get_language(c).name, "tier": get_language(c).tier} for c in langs],
            "tasks": [ALL_TASKS, *tasks], "cells": cells, "summary": summary, "task_rows": task_table_rows,
            "open_rows": open_table_rows}


def _script_json(data: dict[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element: no ``</script>``, no ``<!--``, no HTML entity, no
    JavaScript line separator can appear in it."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _JS_UNSAFE[m.group()], text)


def render_page(data: dict[str, Any]) -> str:
    """The whole page as one HTML string (data, script and style inline)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE}</title>
<style>
{_asset("leaderboard.css")}
</style>
</head>
<body>
<header>
<h1>{TITLE}</h1>
<p class="lead">Score per run (model, mode, shots) and language: accuracy on closed tasks (multi-answer items by
exact set match), ROUGE-L on open QA; 95% bootstrap CIs resample origins (an item and its translations
together). Hover a cell for its item count and unparsed replies. Click a column to sort; the filters apply to
every view; the address keeps the view, so it can be shared.</p>
</header>
<section id="controls" aria-label="filters"></section>
<section><h2>Model &times; language</h2><div id="heatmap"></div></section>
<section><h2>Tier averages and gap (high &minus; low), 95% CI</h2><div id="tiergap"></div></section>
<section><h2>All cells</h2><p id="count" class="note"></p><div id="cells"></div></section>
<section><h2>Model &times; task</h2><div id="tasks"></div></section>
<section id="open-section"><h2>Open QA</h2><div id="openqa"></div></section>
<script type="application/json" id="globmed-data">{_script_json(data)}</script>
<script>
{_asset("leaderboard.js")}
</script>
</body>
</html>
"""


def leaderboard_html(records: Sequence[dict[str, Any]], **tables: Any) -> bytes:
    """``leaderboard.html`` for ``records`` (see :func:`page_data` for ``tables``), as UTF-8 bytes."""
    return render_page(page_data(records, **tables)).encode("utf-8")


_EXTERNAL = [
    (re.compile(r"""\b(?:src|href|action|poster|srcset)\s*=\s*["']?\s*(?!#|data:)[^"'\s>]+""", re.I),
     "an element loads a resource"),
    (re.compile(r"@import|url\(\s*['\"]?(?!data:)", re.I), "the style loads a resource"),
    (re.compile(r"\b(?:fetch|XMLHttpRequest|WebSocket|EventSource|importScripts)\s*\(", re.I),
     "the script makes a request"),
    (re.compile(r"<(?:iframe|object|embed|link|base)\b", re.I), "an element embeds another document"),
]


def self_contained_problems(html: str) -> list[str]:
    """Why the page would need the network to be viewed (empty when it does not): external
    ``src``/``href``, CSS imports or ``url()``, requests from the script, embedded documents; the
    data must be the one inline JSON block, and the CSP must forbid any request."""
    problems = []
    without_data = re.sub(r'(<script type="application/json" id="globmed-data">).*?(</script>)', r"\1\2", html,
                          count=1, flags=re.S)
    for pattern, what in _EXTERNAL:
        m = pattern.search(without_data)
        if m:
            line = without_data.count("\n", 0, m.start()) + 1
            problems.append(f"line {line}: {what} ({m.group().strip()!r})")
    if f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' not in html:
        problems.append("the Content-Security-Policy that forbids network requests is missing")
    if len(re.findall(r"<script\b", html, re.I)) != 2:
        problems.append("the page must have exactly two script elements (the data and the code)")
    return problems
