"""leaderboard.html: data built from the report tables, escaping of user data, self-containment,
and the page in a real headless Chromium (Debian's package; `.ci/run` installs it through
scripts/ci_browser.sh): sorting and the low-resource filter read from the URL hash, checked in the
DOM after the script ran and in a screenshot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from globmed.bench.leaderboard_html import leaderboard_html, page_data, self_contained_problems
from globmed.bench.report import language_table, write_reports

EVIL = '<img src=x onerror=alert(1)></script><script>alert(2)</script>'
# per model and language, the item scores (origins src/0..3 shared across languages)
SCORES = {"Qwen3-8B": {"en": [1, 1, 1, 1], "sw": [1, 1, 0, 0], "yo": [1, 0, 0, 0]},
          EVIL: {"en": [1, 1, 1, 0], "sw": [0, 0, 0, 0], "yo": [1, 1, 0, 0]}}


def records(with_details: bool = True) -> list[dict]:
    out = []
    for model, by_lang in SCORES.items():
        for lang, scores in by_lang.items():
            for i, s in enumerate(scores):
                rec = {"key": f"letter|k0|src/{lang}/{i}", "model": model, "mode": "letter", "shots": 0,
                       "id": f"src/{lang}/{i}", "origin_id": f"src/{i}", "lang": lang,
                       "task": "mcq" if i < 2 else "yes_no_maybe", "gold": ["A"], "pred": ["A"] if s else None,
                       "correct": bool(s), "score": float(s), "unparsed": model == EVIL and lang == "sw"}
                if with_details and model == "Qwen3-8B":
                    rec.update(backend="vllm", size="8B")
                out.append(rec)
    return out


def write_results(folder: Path, recs: list[dict]) -> Path:
    (folder / "results").mkdir(parents=True, exist_ok=True)
    for n, model in enumerate(SCORES):
        lines = [json.dumps(r) + "\n" for r in recs if r["model"] == model]
        (folder / "results" / f"m{n}.jsonl").write_text("".join(lines), encoding="utf-8")
    return folder


def test_page_data_comes_from_the_report_tables_with_hover_details():
    recs = records()
    data = page_data(recs)
    langs, rows = language_table(recs)
    pooled = [c for c in data["cells"] if c["task"] == "all"]
    assert len(pooled) == len(rows) * len(langs) == 6
    for row in rows:
        for lang in langs:
            cell = next(c for c in pooled if c["model"] == row["model"] and c["lang"] == lang)
            assert cell["score"] == row[lang] and cell["n"] == row[f"{lang}_n"] == 4
            assert tuple(cell["ci"]) == row[f"{lang}_ci"]
    evil_sw = next(c for c in pooled if c["model"] == EVIL and c["lang"] == "sw")
    assert evil_sw["unparsed"] == 4 and evil_sw["tier"] == "low" and evil_sw["lang_name"] == "Swahili"
    # per task: the same language table on the task's records only (2 items per cell here)
    mcq_en = next(c for c in data["cells"] if c["task"] == "mcq" and c["model"] == EVIL and c["lang"] == "en")
    assert (mcq_en["score"], mcq_en["n"]) == (1.0, 2)
    assert data["tasks"] == ["all", "mcq", "yes_no_maybe"]
    qwen = next(s for s in data["summary"] if s["model"] == "Qwen3-8B")
    assert qwen["high_avg"] == 1.0 and qwen["low_avg"] == pytest.approx(0.375) and qwen["gap"] == pytest.approx(0.625)
    assert qwen["gap_ci"][0] <= qwen["gap"] <= qwen["gap_ci"][1]
    # size and backend as records carry them; records without them: size from the name, backend unknown
    assert (qwen["size"], qwen["size_params"], qwen["backend"]) == ("8B", 8e9, "vllm")
    old = page_data(records(with_details=False))
    assert {(s["model"], s["size"], s["backend"]) for s in old["summary"]} == {("Qwen3-8B", "8B", ""), (EVIL, "", "")}


def test_user_data_cannot_break_out_of_the_data_block():
    html = leaderboard_html(records()).decode()
    assert "<img" not in html and "alert(2)</script>" not in html
    assert html.count("<script") == 2 and html.count("</script>") == 2
    block = html.split('id="globmed-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(block)  # the escapes are plain JSON escapes: the name comes back intact
    assert {c["model"] for c in data["cells"]} == set(SCORES)
    assert self_contained_problems(html) == []


def test_self_contained_check_names_what_would_need_the_network():
    html = leaderboard_html(records()).decode()
    broken = html.replace("<title>", '<link rel="stylesheet" href="https://cdn.example/x.css"><title>')
    problems = self_contained_problems(broken)
    assert any("an element loads a resource" in p and "cdn.example" in p for p in problems), problems
    assert any("embeds another document" in p for p in problems)
    assert any("makes a request" in p for p in self_contained_problems(html.replace("JSON.parse(", "fetch('x');JSON.parse(")))
    no_csp = html.replace("Content-Security-Policy", "X-Nothing")
    assert any("Content-Security-Policy" in p for p in self_contained_problems(no_csp))


def test_bench_report_writes_the_page(tmp_path):
    folder = write_results(tmp_path / "bench", records())
    written = write_reports(sorted((folder / "results").glob("*.jsonl")), folder)
    page = folder / "leaderboard.html"
    assert page in written and page.read_bytes() == leaderboard_html(records())
    assert oct(page.stat().st_mode & 0o777) == "0o644"


# --- in a real browser -----------------------------------------------------------------------------

def chromium() -> str | None:
    for exe in (os.environ.get("GLOBMED_CHROMIUM"), "chromium", "chromium-browser"):
        if exe and shutil.which(exe):
            return shutil.which(exe)
    return None


needs_chromium = pytest.mark.skipif(chromium() is None, reason="no chromium on PATH (Debian: apt-get install chromium; "
                                    "`.ci/run` installs it with scripts/ci_browser.sh)")
WINDOW = (1280, 1400)


def run_chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / "profile"
    cmd = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
           "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
           "--virtual-time-budget=5000", *args]
    env = {**os.environ, "HOME": str(tmp)}  # chromium writes its caches under HOME
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=True)


class Dom(HTMLParser):
    """The rows of the page's tables as the script left them (attributes and text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict]] = {}
        self.tags: Counter = Counter()
        self._table: str | None = None
        self._row: dict | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] += 1
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = {"attrs": a, "cells": [], "cell_attrs": []}
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._row["cell_attrs"].append(a)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row["cells"].append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None


def dom(tmp: Path, page: Path, hash_: str) -> Dom:
    parser = Dom()
    parser.feed(run_chromium(tmp, "--dump-dom", page.as_uri() + hash_).stdout)
    return parser


def body_rows(table: list[dict]) -> list[dict]:
    return [r for r in table if "data-lang" in r["attrs"] or "data-model" in r["attrs"]]


def read_png(path: Path) -> tuple[int, int, Counter]:
    """(width, height, how many pixels of each RGB colour) of a screenshot (Pillow comes with matplotlib)."""
    from PIL import Image

    with Image.open(path) as img:
        assert img.format == "PNG"
        rgb = img.convert("RGB")
        return rgb.width, rgb.height, Counter(dict((c, n) for n, c in rgb.getcolors(maxcolors=1 << 24)))


# heatmap colours of scores that fall on the page's viridis stops
YELLOW_1_0, GREEN_0_75, TEAL_0_5, PURPLE_0_0 = (253, 231, 37), (94, 201, 98), (33, 145, 140), (68, 1, 84)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    folder = write_results(tmp_path_factory.mktemp("bench"), records())
    write_reports(sorted((folder / "results").glob("*.jsonl")), folder)
    return folder / "leaderboard.html"


@needs_chromium
def test_browser_sorts_by_score_from_the_address(page, tmp_path):
    d = dom(tmp_path, page, "#sort=score&dir=desc")
    rows = body_rows(d.tables["cells-table"])
    scores = [float(r["attrs"]["data-score"]) for r in rows]
    assert len(rows) == 6 and scores == sorted(scores, reverse=True) and scores[0] == 1.0
    assert [(r["attrs"]["data-model"], r["attrs"]["data-lang"]) for r in rows[:2]] == [("Qwen3-8B", "en"), (EVIL, "en")]
    assert (rows[-1]["attrs"]["data-model"], rows[-1]["attrs"]["data-lang"]) == (EVIL, "sw")
    assert rows[0]["cells"][:4] == ["Qwen3-8B", "8B", "vllm", "letter"]
    # the other direction, and a text column
    asc = [float(r["attrs"]["data-score"]) for r in body_rows(dom(tmp_path, page, "#sort=score&dir=asc").tables["cells-table"])]
    assert asc == sorted(scores)
    by_lang = [r["attrs"]["data-lang"] for r in body_rows(dom(tmp_path, page, "#sort=lang&dir=asc").tables["cells-table"])]
    assert by_lang == sorted(by_lang)
    # the model name is text, never markup: no <img> and no third script in the live DOM
    assert d.tags["img"] == 0 and d.tags["script"] == 2
    assert EVIL in [r["cells"][0] for r in rows]
    # hover: per-cell counts and unparsed replies
    heat = body_rows(d.tables["heatmap-table"])
    evil = next(r for r in heat if r["attrs"]["data-model"] == EVIL)
    sw = next(a for a in evil["cell_attrs"] if a.get("data-lang") == "sw")
    assert "n = 4 items, unparsed replies = 4" in sw["title"] and sw["data-score"] == "0"


@needs_chromium
def test_browser_filters_to_the_low_resource_tier(page, tmp_path):
    d = dom(tmp_path, page, "#tier=low&sort=score&dir=desc")
    rows = body_rows(d.tables["cells-table"])
    assert {r["attrs"]["data-tier"] for r in rows} == {"low"} and len(rows) == 4
    assert {r["attrs"]["data-lang"] for r in rows} == {"sw", "yo"}
    header = d.tables["heatmap-table"][0]["cell_attrs"]
    assert [a.get("data-lang") for a in header] == [None, "sw", "yo"]  # the run column, then the low tier only


@needs_chromium
def test_browser_screenshot_shows_the_cells_the_filter_keeps(page, tmp_path):
    shots = {}
    for name, hash_ in (("all", "#sort=score&dir=desc"), ("low", "#tier=low")):
        png = tmp_path / f"{name}.png"
        run_chromium(tmp_path, f"--screenshot={png}", page.as_uri() + hash_)
        width, height, counts = read_png(png)
        assert (width, height) == WINDOW
        shots[name] = counts
    for counts in shots.values():
        assert len(counts) > 50 and counts.most_common(1)[0][1] < 0.97 * WINDOW[0] * WINDOW[1]  # drawn, not blank
    cell = 600  # a heatmap cell is ~57 x 32 pixels; the colour ramp of the legend holds each colour in a few
    full, low = shots["all"], shots["low"]
    assert full[YELLOW_1_0] > cell and full[GREEN_0_75] > cell and full[TEAL_0_5] > cell and full[PURPLE_0_0] > cell
    # filtered to the low tier: the high-resource cells (en: 1.0 and 0.75) are gone, the low ones stay
    assert low[YELLOW_1_0] < cell / 4 and low[GREEN_0_75] < cell / 4
    assert low[TEAL_0_5] > cell and low[PURPLE_0_0] > cell


def test_model_size_is_read_from_an_id_or_name():
    from globmed.bench.model_size import size_label, size_params

    cases = {"HuggingFaceTB/SmolLM2-135M-Instruct": "135M", "Qwen/Qwen3-1.7B": "1.7B", "google/gemma-2-9b-it": "9B",
             "Qwen/Qwen3-30B-A3B": "30B", "gpt-4o-mini": None, "Qwen3": None, "tiny": None}
    assert {name: size_label(name) for name in cases} == cases
    assert size_label("gpt-4o-mini", "my-7b-run") == "7B"  # the first name with a size wins
    assert (size_params("1.7B"), size_params("135M"), size_params(""), size_params("big")) == (1.7e9, 1.35e8, None, None)
