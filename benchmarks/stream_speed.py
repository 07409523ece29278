"""The build's streaming path, without language ID and the signature columns, in one process.

Writes N synthetic entries (globmed.quality.synthetic, 12 languages, its seeded defects) in the demo
source's format, then reads them the way a build's worker does (``globmed.build._read_shard``: the
demo source's shards, every entry validated and admitted into a ``_Stream``), running the streaming
steps ``field_limits``, ``normalise`` and ``task_rules`` on each batch and making its Arrow table.
Prints one line, CPU seconds (``time.process_time``), the best of ``--repeat`` runs:

    entries=N read_validate_cpu_s=A steps_cpu_s=B total_cpu_s=A+B us_per_entry=.. send_cpu_s=C

``read_validate``: reading the JSON Lines, making and validating the entries; ``steps``: each
batch's columns, the steps, their counts and rejects, and the Arrow table (``_Stream.flush``);
``send``: pickling each part's result, as a worker does to hand it to the build process (not in
the total).

    python benchmarks/stream_speed.py --n 100000
    python benchmarks/stream_speed.py --data DIR       # an existing folder of <lang>.jsonl files
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import tempfile
import time
from pathlib import Path


def run_once(data: Path) -> tuple[int, float, float, float]:
    """``(entries, read_validate_cpu_s, steps_cpu_s, send_cpu_s)`` of one pass over ``data``."""
    import globmed.build as build
    from globmed.languages import resolve_languages
    from globmed.quality import quality_steps
    from globmed.sources.demo import DemoSource

    langs = resolve_languages("paper", None)
    steps = [s for s in quality_steps(langs=langs, skip=("language_id",)) if not getattr(s, "needs_split", False)]
    opts = build.BuildOptions(out=Path("unused"), sources=(), steps=steps)
    source = DemoSource()
    wanted = set(langs)
    flush_cpu = 0.0
    flush = build._Stream.flush

    def timed_flush(self) -> None:
        nonlocal flush_cpu
        t0 = time.process_time()
        flush(self)
        flush_cpu += time.process_time() - t0

    build._SHARD_CONTEXT = (opts, wanted, [(source, data)], steps, [], wanted)
    build._Stream.flush = timed_flush  # type: ignore[method-assign]
    entries, send = 0, 0.0
    try:
        t0 = time.process_time()
        for shard in source.shards(data, wanted):
            stream = build._read_shard((0, shard))  # what a build's worker does with each part
            entries += stream.read_items
            t1 = time.process_time()
            pickle.dumps(stream)  # and how it sends the result to the build process
            send += time.process_time() - t1
        total = time.process_time() - t0 - send
    finally:
        build._SHARD_CONTEXT = None
        build._Stream.flush = flush  # type: ignore[method-assign]
    return entries, total - flush_cpu, flush_cpu, send


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="synthetic entries to write (without --data)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, help="read this folder of <lang>.jsonl files instead")
    ap.add_argument("--repeat", type=int, default=3, help="passes; the line gives the best of them")
    args = ap.parse_args()

    work = None
    data = args.data
    if data is None:
        from globmed.languages import profile
        from globmed.quality.synthetic import generate

        work = Path(tempfile.mkdtemp(prefix="globmed-stream-"))
        data = work / "demo"
        generate(args.n, profile("paper"), seed=args.seed).write(data)
    try:
        runs = [run_once(data) for _ in range(max(1, args.repeat))]
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    entries = runs[0][0]
    read = min(r[1] for r in runs)
    steps = min(r[2] for r in runs)
    send = min(r[3] for r in runs)
    total = min(r[1] + r[2] for r in runs)
    print(f"entries={entries} read_validate_cpu_s={read:.2f} steps_cpu_s={steps:.2f} total_cpu_s={total:.2f} "
          f"us_per_entry={total / max(entries, 1) * 1e6:.1f} send_cpu_s={send:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
