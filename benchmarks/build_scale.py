"""Scale benchmark of `globmed build` with quality control on.

Generates N synthetic entries over the 12 languages of the paper profile (globmed.quality.synthetic:
vignette-length mcq items in each language's script, ~10% seeded defects: wrong-language rows,
foreign options, exact and near duplicates, test copies in train, repeated options), writes them
as demo-format JSONL, then runs `globmed build --source demo=DIR` in a child process and prints one line:

    entries=N seconds=S entries_per_s=R peak_rss_mb=M

seconds: wall time of the build alone (generation excluded); peak_rss_mb: the peak of the summed
proportional set size (PSS, so pages shared by forked workers count once) of the build process and
its children, sampled every 0.1 s, or less often when a sample is dear (:data:`SAMPLE_SHARE`).

    python benchmarks/build_scale.py --n 100000
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _pss_mb(pid: int) -> float:
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total / 1024


def synthetic_build(work: Path, n: int, seed: int, out: Path, *extra: str) -> list[str]:
    """Write ``n`` synthetic entries (paper profile) under ``work/src``; the `globmed build` command over them."""
    from globmed.languages import profile
    from globmed.quality.synthetic import generate

    data = generate(n, profile("paper"), seed=seed)
    data.write(work / "src")
    del data
    return [sys.executable, "-m", "globmed", "build", "--source", f"demo={work / 'src'}", "--out", str(out),
            "--no-progress", "--force", *extra]


SAMPLE_EVERY = 0.1
"""Seconds between memory samples, at least."""
SAMPLE_SHARE = 0.05
"""At most this share of one core goes to sampling: reading the PSS of a process tree of a few GB walks its
page tables (about 30 ms for 3 x 2 GB here), and at 10 samples a second the sampler took a third of a core
from the command it measured (a 500k build: 60 s sampled, 52 s not)."""


def run_sampled(cmd: list[str], stdout: int | IO, stderr: int | IO, env: dict[str, str] | None = None
                ) -> tuple[float, float, subprocess.Popen]:
    """Run ``cmd``; (wall seconds, peak PSS MB of it and its children, the process). PSS is sampled every
    :data:`SAMPLE_EVERY` seconds, or less often when a sample costs more than :data:`SAMPLE_SHARE` of
    the time between samples."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, text=True, env=env)
    peak = 0.0
    while proc.poll() is None:
        began = time.perf_counter()
        peak = max(peak, _pss_mb(proc.pid))
        time.sleep(max(SAMPLE_EVERY, (time.perf_counter() - began) / SAMPLE_SHARE))
    return time.perf_counter() - start, peak, proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="entries to generate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="keep the build folder here")
    ap.add_argument("--no-quality", action="store_true", help="baseline: the same build without quality control")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="globmed-scale-"))
    try:
        cmd = synthetic_build(work, args.n, args.seed, args.keep or work / "out",
                              *(["--no-quality"] if args.no_quality else []))
        # the build's near-duplicate memo goes with a kept folder (for `globmed release dataset` on it), else
        # in the run's own folder
        env = None if args.keep else {**os.environ, "GLOBMED_MEMO": str(work / "memo")}
        seconds, peak, proc = run_sampled(cmd, subprocess.DEVNULL, subprocess.PIPE, env)
        if proc.returncode:
            sys.stderr.write(proc.stderr.read())
            return proc.returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"entries={args.n} seconds={seconds:.1f} entries_per_s={args.n / seconds:.0f} peak_rss_mb={peak:.0f}")
    # CPU time of the build and its workers, to stderr: comparable even when other work shares the cores
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"cpu_user_s={usage.ru_utime:.1f} cpu_sys_s={usage.ru_stime:.1f} load_avg_1m={os.getloadavg()[0]:.1f}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
