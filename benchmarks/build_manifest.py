"""What the build's manifest costs: ``globmed.build_output`` hashes every file a build wrote (to know
later what a rebuild may replace), and checks the previous build's files again before replacing them.

Writes a folder in the export layout with P Parquet-sized files of random bytes (M MB in all), then
times ``write_manifest`` (a build's last step) and ``previous_files`` (a rebuild's checks: by size
at the start, by hash at the swap), and prints one line:

    files=P mb=M manifest_s=A start_check_s=B swap_check_s=C mb_per_s=M/A

    python benchmarks/build_manifest.py --mb 1000 --files 60
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=500, help="total size of the data files")
    parser.add_argument("--files", type=int, default=40, help="number of data files")
    args = parser.parse_args()
    from globmed.build_output import previous_files, write_manifest

    root = Path(tempfile.mkdtemp(prefix="globmed-manifest-"))
    try:
        size = args.mb * 1024 * 1024 // args.files
        for i in range(args.files):
            folder = root / "data" / f"l{i % 12}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"train-{i:05d}-of-{args.files:05d}.parquet").write_bytes(os.urandom(size))
        for name in ("README.md", "build_report.json", "rejects.jsonl"):
            (root / name).write_text("{}\n")
        t0 = time.perf_counter()
        write_manifest(root)
        manifest_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        previous_files(root, hashes=False)
        start_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        files = previous_files(root)
        check_s = time.perf_counter() - t0
        assert len(files) == args.files + 4
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"files={args.files} mb={args.mb} manifest_s={manifest_s:.2f} start_check_s={start_s:.3f} "
          f"swap_check_s={check_s:.2f} "
          f"mb_per_s={args.mb / manifest_s:.0f}")


if __name__ == "__main__":
    main()
