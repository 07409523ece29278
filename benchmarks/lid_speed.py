"""CPU cost of the build's ``language_id`` step alone, over N synthetic entries, in one process.

Generates N synthetic entries (globmed.quality.synthetic, paper profile, ~10% seeded defects) or reads
a demo-format folder (``--source DIR``), reads them shard by shard as `globmed build` does, runs
``field_limits`` and ``normalise`` on batches of 10,000 (untimed), then times ``language_id`` on each
batch (``LanguageIdStep.__call__``, one process: what each of a build's shard workers does) and
prints one line:

    entries=N lid_cpu_s=X us_per_entry=Y fasttext_calls=Z init_cpu_s=W removed=R

lid_cpu_s: CPU time (``time.process_time``) of the step's calls, what each of a build's shard workers
spends; init_cpu_s: building the step (the fastText model, py3langid's model and its batch tables, the
script tables), which a build pays once in its main process and its forked workers inherit (earlier,
py3langid's model was loaded by the first call, in each worker, and counted in lid_cpu_s);
fasttext_calls: texts sent to fastText's predict; removed: rows the step rejected. fastText's predict
is bound by memory latency, so the figures move with what else runs on the machine: repeat and take
the least.

    python benchmarks/lid_speed.py --n 100000
    python benchmarks/lid_speed.py --source DIR     # a folder written before (the generation is untimed too)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="entries to generate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--source", type=Path, default=None, help="a demo-format folder to read instead")
    ap.add_argument("--batch-size", type=int, default=10_000)
    args = ap.parse_args()

    from globmed.pipeline import select
    from globmed.quality import load_quality_config
    from globmed.quality.langid import LanguageIdStep
    from globmed.quality.limits import FieldLimitsStep
    from globmed.quality.normalize import NormaliseStep
    from globmed.schema import Entry, entries_to_batch, validate_entry
    from globmed.sources.demo import DemoSource

    with tempfile.TemporaryDirectory(prefix="globmed-lid-speed-") as tmp:
        folder = args.source
        if folder is None:
            from globmed.languages import profile
            from globmed.quality.synthetic import generate

            folder = Path(tmp) / "src"
            generate(args.n, profile("paper"), seed=args.seed).write(folder)
        config = load_quality_config(workers=1)
        before = [FieldLimitsStep(config.data["limits"], config.origin), NormaliseStep(config.section("normalise"))]
        source = DemoSource()
        batches = []
        for shard in source.shards(folder, None):
            pending: list[Entry] = []
            for item in source.read_shard(folder, None, shard):
                if isinstance(item, Entry) and not validate_entry(item):
                    pending.append(item)
                if len(pending) >= args.batch_size:
                    batches.append(pending)
                    pending = []
            if pending:
                batches.append(pending)
        prepared = []
        for entries in batches:
            batch = entries_to_batch(entries)
            for step in before:
                result = step(batch)
                batch = select(result.batch, result.keep)
            prepared.append(batch)
        del batches

        t0 = time.process_time()
        step = LanguageIdStep(config)
        init = time.process_time() - t0
        calls = [0]
        model = step.identifier.model
        predict = model.predict

        class Counting:
            def predict(self, texts, k=1, threshold=0.0):
                calls[0] += 1 if isinstance(texts, str) else len(texts)
                return predict(texts, k=k, threshold=threshold)

            def predict_top(self, texts):  # predict(texts, k=1), where the model has it
                calls[0] += len(texts)
                return model.predict_top(texts)

            def __getattr__(self, name):
                return getattr(model, name)

        step.identifier.model = Counting()
        entries = removed = 0
        t0 = time.process_time()
        for batch in prepared:
            result = step(batch)
            entries += len(batch["id"])
            removed += sum(not k for k in result.keep)
        cpu = time.process_time() - t0
    print(f"entries={entries} lid_cpu_s={cpu:.2f} us_per_entry={cpu / max(entries, 1) * 1e6:.1f} "
          f"fasttext_calls={calls[0]} init_cpu_s={init:.2f} removed={removed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
