"""Scale benchmark of a build followed by its own dataset release gates.

Generates N synthetic entries (globmed.quality.synthetic, ~10% seeded defects, near duplicates across
splits among them), runs `globmed build --source demo=DIR` with quality on, then
`globmed release dataset --folder OUT --repo-id org/globmed --dry-run` (offline), each in a child
process, and prints one line:

    entries=N build_s=S gate_s=G total_s=T peak_rss_mb=M build_cpu_s=C gate_cpu_s=D pairs=P

build_s, gate_s: wall time of each command; *_cpu_s: user + system CPU time of each command and its
children (comparable when other work shares the cores); peak_rss_mb: the highest summed proportional
set size (PSS, shared pages of forked workers counted once) of either command and its children, sampled
every 0.1 s, or less often when a sample is dear (build_scale.SAMPLE_SHARE: the sampler takes at most 5%
of a core from the commands it times); pairs: the test/train near-duplicate pairs the gate reports (a build
must pass its own gate: 0). Exits non-zero when the build fails or a gate other than near_duplicates fails.

    python benchmarks/release_scale.py --n 500000
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_scale import run_sampled, synthetic_build  # noqa: E402


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float, subprocess.Popen, str]:
    """(wall seconds, CPU seconds, peak PSS MB, process, its stdout + stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    wall, peak, proc = run_sampled(cmd, out, subprocess.STDOUT, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out.seek(0)
    return wall, cpu, peak, proc, out.read()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="entries to generate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="keep the build folder here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="globmed-release-scale-"))
    # the build's near-duplicate memo, which the gate reads, in the run's own folder: a run starts without one
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GLOBMED_MEMO": str(work / "memo")}
    try:
        out = args.keep or work / "out"
        build = synthetic_build(work, args.n, args.seed, out)
        build_s, build_cpu, build_peak, proc, log = _timed(build, env)
        if proc.returncode:
            sys.stderr.write(log)
            return proc.returncode
        gates = [sys.executable, "-m", "globmed", "release", "dataset", "--folder", str(out), "--repo-id",
                 "org/globmed", "--dry-run"]
        gate_s, gate_cpu, gate_peak, proc, log = _timed(gates, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pairs = len(re.findall(r"test entry '[^']+' is a (?:near-duplicate \(|duplicate of)", log))
    failed = [g for g in re.findall(r"gate (\w+): FAILED", log) if g != "near_duplicates"]
    print(f"entries={args.n} build_s={build_s:.1f} gate_s={gate_s:.1f} total_s={build_s + gate_s:.1f} "
          f"peak_rss_mb={max(build_peak, gate_peak):.0f} build_cpu_s={build_cpu:.1f} gate_cpu_s={gate_cpu:.1f} "
          f"pairs={pairs}")
    if failed or (proc.returncode and not pairs):
        sys.stderr.write(log[-4000:])
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
