"""What the build's quality steps remove from real upstream files, per source and language.

Each ``--source NAME=PATH`` is built on its own with the build's real pipeline (the adapter's
``read``, validation, the streaming and whole-build quality steps of ``globmed.quality``, the
``extended`` profile so every registry language is kept), into a temporary folder. One line per
source:

    source=igakuqa rows=1580 kept=1571 normalise=0 language_id=4 task_rules=0 ... \
        lid_by_lang=ja:4/1580 false_confirmed=0 reviewed=4 unreviewed=0

rows: entries the adapter yielded that passed validation (what the quality steps saw); adapter_rejects:
rows the adapter or validation rejected (not quality removals); each step:
rows it removed; lid_by_lang: language-ID removals / rows in, per language; false_confirmed:
removed rows that a person confirmed as genuine items in their language (``--reviewed``, a YAML
mapping of row id -> ``genuine`` or ``wrong`` with a note); unreviewed: removed rows the review
file does not name. ``--dump FILE`` writes every removed row (step, reason, the row's text) as
JSON Lines, to review.

    python benchmarks/real_data.py --source igakuqa=downloads/IgakuQA/data \
        --source frenchmedmcqa=downloads/FrenchMedMCQA/corpus \
        --reviewed tests/fixtures/real/reviewed_removals.yaml --dump /tmp/removed.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml


def _texts(source, path: Path, ids: set[str]) -> dict[str, dict]:
    """The removed rows' fields, read again through the adapter."""
    from globmed.schema import Entry

    out = {}
    for item in source.read(path):
        if isinstance(item, Entry) and item.id in ids:
            out[item.id] = {"question": item.question, "context": item.context[:300], "options": item.options,
                            "explanation": item.explanation[:300]}
    return out


def run_source(spec, steps_factory, reviewed: dict[str, str], workers: int) -> tuple[str, list[dict]]:
    from globmed.build import BuildOptions, build
    from globmed.sources.base import get_source

    with tempfile.TemporaryDirectory(prefix="globmed-real-") as tmp:
        out = Path(tmp) / "out"
        start = time.perf_counter()
        report = build(BuildOptions(out=out, sources=[spec], profile="extended", steps=steps_factory(),
                                    progress=False, workers=workers))
        seconds = time.perf_counter() - start
        rejects = [json.loads(line) for line in open(out / "rejects.jsonl", encoding="utf-8")]
    removed = [r for r in rejects if r.get("step") not in ("read", "validate")]
    steps = report["steps"]
    rows = steps[0]["entries_in"] if steps else report["counts"]["total"]
    fields = [f"source={spec.name}", f"rows={rows}", f"adapter_rejects={sum(report['rejects']['by_step'].get(k, 0) for k in ('read', 'validate'))}",
              f"kept={report['counts']['total']}"]
    fields += [f"{s['step']}={s['entries_in'] - s['entries_out']}" for s in steps]
    lid = next((s for s in steps if s["step"] == "language_id"), None)
    if lid is not None:
        fields.append("lid_by_lang=" + ",".join(f"{lang}:{v['in'] - v['out']}/{v['in']}"
                                                 for lang, v in lid["by_language"].items()))
    verdicts = Counter(reviewed.get(r["id"], "unreviewed") for r in removed)
    fields += [f"false_confirmed={verdicts['genuine']}", f"reviewed={verdicts['genuine'] + verdicts['wrong']}",
               f"unreviewed={verdicts['unreviewed']}", f"seconds={seconds:.1f}"]
    texts = _texts(get_source(spec.name), spec.path, {r["id"] for r in removed}) if removed else {}
    dump = [{"id": r["id"], "lang": r.get("lang"), "step": r["step"], "reason": r["reason"],
             "review": reviewed.get(r["id"]), **texts.get(r["id"], {})} for r in removed]
    return " ".join(fields), dump


def main() -> int:
    os.environ.setdefault("GLOBMED_MEMO", "off")  # its builds are temporary: no near-duplicate memo for a gate to read
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", action="append", required=True, metavar="NAME=PATH",
                    help="an adapter and its downloaded files (repeat for several sources)")
    ap.add_argument("--reviewed", type=Path, default=None,
                    help="YAML: removed row id -> genuine | wrong (a person's verdict on the removal)")
    ap.add_argument("--dump", type=Path, default=None, help="write every removed row here (JSON Lines)")
    ap.add_argument("--workers", type=int, default=1, help="build workers (default 1)")
    ap.add_argument("--lid-model", type=Path, default=None)
    args = ap.parse_args()

    from globmed.errors import GlobmedError
    from globmed.quality import load_quality_config, quality_steps
    from globmed.sources.base import SourceSpec

    reviewed: dict[str, str] = {}
    if args.reviewed:
        data = yaml.safe_load(args.reviewed.read_text(encoding="utf-8")) or {}
        for row_id, verdict in data.items():
            kind = verdict.get("verdict") if isinstance(verdict, dict) else verdict
            if kind not in ("genuine", "wrong"):
                raise SystemExit(f"{args.reviewed}: {row_id}: verdict {kind!r}, expected genuine or wrong")
            reviewed[row_id] = kind

    def steps():
        return quality_steps(load_quality_config(lid_model=args.lid_model, workers=1))

    dumped: list[dict] = []
    try:
        for text in args.source:
            spec = SourceSpec.parse(text)
            if spec.path is None:
                raise GlobmedError(f"--source {text!r}: give the downloaded files' path (NAME=PATH)")
            line, dump = run_source(spec, steps, reviewed, args.workers)
            print(line, flush=True)
            dumped += dump
    except GlobmedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.dump:
        tmp = args.dump.with_name(args.dump.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for row in dumped:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.replace(args.dump)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
