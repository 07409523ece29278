"""Reading one large upstream file in parallel parts: `globmed build` of a MedMCQA-format file with
one worker process and with two.

Writes N English mcq rows (globmed.quality.synthetic's vignettes, with its seeded defects) as
MedMCQA's original release (``train.json``, JSON Lines, ``opa``..``opd``, 1-based ``cop``; the
real file has 182,822 rows), builds it with quality control on, ``--workers 1`` then
``--workers 2``, checks that both builds wrote the same files, and prints one line:

    rows=N parts=P workers1_s=A workers2_s=B speedup=A/B

    python benchmarks/source_parts.py --rows 180000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_medmcqa(n: int, folder: Path, seed: int) -> Path:
    """``folder/medmcqa/train.json`` with ``n`` rows made from the synthetic English items."""
    from globmed.quality.synthetic import generate

    generate(n, ["en"], seed=seed).write(folder / "demo")
    (folder / "medmcqa").mkdir(parents=True)
    with open(folder / "demo" / "en.jsonl", encoding="utf-8") as src, \
            open(folder / "medmcqa" / "train.json", "w", encoding="utf-8") as out:
        for line in src:
            row = json.loads(line)
            keys = list(row["options"])[:4]
            options = [row["options"][k] for k in keys]
            options += [f"None of the above ({i})" for i in range(len(options), 4)]
            cop = keys.index(row["answer_idx"]) + 1 if row["answer_idx"] in keys else 1
            out.write(json.dumps({"id": row["qid"], "question": row["question"], "opa": options[0],
                                  "opb": options[1], "opc": options[2], "opd": options[3], "cop": cop,
                                  "choice_type": "single", "exp": row.get("explanation", ""),
                                  "subject_name": "Medicine", "topic_name": None}, ensure_ascii=False) + "\n")
    shutil.rmtree(folder / "demo")
    return folder / "medmcqa"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from globmed.sources.medmcqa import MedMCQASource

    work = Path(tempfile.mkdtemp(prefix="globmed-parts-"))
    try:
        src = write_medmcqa(args.rows, work, args.seed)
        parts = len(MedMCQASource().shards(src))
        seconds = {}
        for workers in (1, 2):
            cmd = [sys.executable, "-m", "globmed", "build", "--source", f"medmcqa={src}",
                   "--langs", "en", "--out", str(work / f"out{workers}"), "--no-progress", "--force",
                   "--workers", str(workers)]
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            seconds[workers] = time.perf_counter() - start
            if proc.returncode:
                sys.stderr.write(proc.stderr[-3000:])
                return proc.returncode
        files = sorted(p.relative_to(work / "out1") for p in (work / "out1").rglob("*") if p.is_file())
        differ = [str(f) for f in files if (work / "out1" / f).read_bytes() != (work / "out2" / f).read_bytes()]
        if differ:
            sys.stderr.write(f"the two builds differ: {differ}\n")
            return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"rows={args.rows} parts={parts} workers1_s={seconds[1]:.1f} workers2_s={seconds[2]:.1f} "
          f"speedup={seconds[1] / seconds[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
