"""How big and how slow ``leaderboard.html`` gets at leaderboard scale.

    python benchmarks/leaderboard_page.py [--models 40] [--modes 2] [--items 40] [--no-browser]

prints one line: ``records=N runs=R cells=C page_kib=K build_s=B build_cpu_s=.. browser_s=..``.

Synthetic records (the format ``globmed bench`` writes): every model x mode scored on ``--items``
origins in each language of the ``extended`` profile, over three tasks. ``build_s`` times
:func:`~globmed.bench.leaderboard_html.leaderboard_html` alone, with the report's language and task
tables given (as ``write_reports`` gives them); ``browser_s`` is a headless Chromium (when installed) loading
the page from disk, running its script and dumping the DOM, sorted by score and filtered to the
low-resource tier.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from globmed.bench.leaderboard_html import leaderboard_html  # noqa: E402
from globmed.bench.report import language_table, task_table  # noqa: E402
from globmed.languages import profile  # noqa: E402

TASKS = ("mcq", "yes_no_maybe", "nli")


def synthetic(models: int, modes: int, items: int) -> list[dict]:
    rng = random.Random(0)
    recs = []
    for m in range(models):
        skill = rng.random()
        for mode in ["letter", "cloze", "generative", "generative_cot"][:modes]:
            for lang in profile("extended"):
                for i in range(items):
                    ok = rng.random() < skill
                    recs.append({"key": f"{mode}|k0|src/{lang}/{i}", "model": f"org/model-{m}-{1 + m % 8}B",
                                 "mode": mode, "shots": 0, "id": f"src/{lang}/{i}", "origin_id": f"src/{i}",
                                 "lang": lang, "task": TASKS[i % 3], "score": float(ok), "correct": ok, "gold": ["A"],
                                 "pred": ["A"] if ok else ["B"],
                                 "unparsed": mode.startswith("generative") and rng.random() < 0.05,
                                 "backend": "vllm", "size": f"{1 + m % 8}B"})
    return recs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=40)
    ap.add_argument("--modes", type=int, default=2, choices=[1, 2, 3, 4])
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    recs = synthetic(args.models, args.modes, args.items)
    langs, rows = language_table(recs)
    task_rows = task_table(recs)
    t0, c0 = time.perf_counter(), time.process_time()
    page = leaderboard_html(recs, langs=langs, rows=rows, task_rows=task_rows)
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    browser = "n/a"
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe and not args.no_browser:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "leaderboard.html"
            path.write_bytes(page)
            t0 = time.perf_counter()
            out = subprocess.run([exe, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
                                  f"--user-data-dir={tmp}/profile", "--virtual-time-budget=10000", "--dump-dom",
                                  path.as_uri() + "#tier=low&sort=score"], capture_output=True, text=True,
                                 timeout=300, env={**os.environ, "HOME": tmp}, check=True).stdout
            browser = f"{time.perf_counter() - t0:.1f}"
            assert 'data-ready="1"' in out, "the page's script did not finish"
    cells = page.count(b'"lang_name":')
    print(f"records={len(recs)} runs={len(rows)} cells={cells} page_kib={len(page) / 1024:.0f} "
          f"build_s={build_s:.1f} build_cpu_s={build_cpu:.1f} browser_s={browser}")


if __name__ == "__main__":
    main()
