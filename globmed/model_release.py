"""``globmed release model``: gates on a model folder + its bench results, a model card, one commit.

Gates:

- ``loads``: ``AutoModelForCausalLM.from_pretrained`` and ``AutoTokenizer.from_pretrained`` work;
- ``safetensors_only``: weights are ``*.safetensors``; no pickle-based ``.bin``/``.pt``/``.pth``/``.ckpt``/``.pkl``;
- ``chat_template``: the tokenizer has a chat template;
- ``end_of_turn``: ``generation_config.json``'s ``eos_token_id`` includes the token the chat
  template puts after an assistant turn (found by rendering a turn, not from a table);
- ``bench_results``: the model (and its base model) has results for every required language.

The scores go three ways: the card's tables, the card's ``model-index`` (``ModelCardData`` +
``EvalResult``: one result per language and scoring mode) and ``.eval_results/`` files. The Hub's
current convention (https://huggingface.co/docs/hub/eval-results; spec in hub-docs
``eval_results.yaml``; ``huggingface_hub.EvalResultEntry``) is one YAML file per benchmark and
variant under ``.eval_results/`` in the model repo, each a list of
``{dataset: {id, task_id}, value, notes?}``; the benchmark dataset repo declares its tasks in an
``eval.yaml``. We write ``.eval_results/globmed-bench_<mode>.yaml`` with one entry per language
(``task_id`` = the language config) and the mode in ``notes``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from globmed.bench.results import JUDGE_MODE, iter_records, unique_records
from globmed.errors import GlobmedError
from globmed.release import (
    CommitPlan,
    GateResult,
    PlannedFile,
    Printer,
    fetch_hub_card,
    gate_summary,
    hub_api,
    json_bytes,
    merge_card_metadata,
    publish,
    raise_on_failures,
    require_token,
)

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
MODEL_CARD_OURS = ("base_model", "datasets", "language", "license", "model-index", "pipeline_tag", "library_name")
BENCH_NAME = "GlobMed-Bench"


# --- bench results ------------------------------------------------------------------------------

def load_bench_summary(results_dir: Path) -> dict[str, Any]:
    """Read ``globmed bench --out`` results (per-item JSONL, one file per model under ``results/``)
    into what the model card shows::

        {"languages": [...], "files": [...],
         "models": {name: {mode: {"languages": {lang: {"score": s, "n": n}},
                                  "tiers": {"high": s, "low": s}, "gap": high - low | None}}}}

    A record is ``{"model", "mode", "lang", "task", "score", "shots", ...}``; a mode scored with
    k > 0 shots is reported as ``<mode>-<k>shot``. Scores are item means per language; tier scores
    are macro means over the tier's languages, as in the bench leaderboard.
    """
    from globmed.languages import get_language

    results_dir = Path(results_dir)
    folder = results_dir / "results" if (results_dir / "results").is_dir() else results_dir
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise GlobmedError(f"--results {results_dir}: no bench result files (*.jsonl) in {folder}")
    scores: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    # the bench's own reader: errors name file and line, a repeated record counts once (the first wins),
    # an older file's cloze records are read as the listed-options variant they were
    for rec in unique_records(r for path in files for r in iter_records(path)):
        if rec.get("mode") == JUDGE_MODE:
            continue  # an LLM judge's verdict on another mode's answer, not a score of its own
        try:
            mode = rec["mode"] if not rec.get("shots") else f"{rec['mode']}-{rec['shots']}shot"
            scores[rec["model"]][mode][rec["lang"]].append(float(rec["score"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise GlobmedError(f"{rec.get('key')!r} in {folder}: not a bench result record ({exc})") from None
    models: dict[str, Any] = {}
    for model, modes in scores.items():
        models[model] = {}
        for mode, by_lang in modes.items():
            langs = {lang: {"score": sum(v) / len(v), "n": len(v)} for lang, v in sorted(by_lang.items())}
            tiers = {}
            for tier in ("high", "low"):
                members = [langs[c]["score"] for c in langs if get_language(c).tier == tier]
                tiers[tier] = sum(members) / len(members) if members else None
            gap = tiers["high"] - tiers["low"] if None not in tiers.values() else None
            models[model][mode] = {"languages": langs, "tiers": tiers, "gap": gap}
    languages = sorted({c for m in scores.values() for by in m.values() for c in by},
                       key=lambda c: (get_language(c).tier != "high", c))
    return {"languages": languages, "models": models, "files": [p.name for p in files]}


# --- gates --------------------------------------------------------------------------------------

def gate_safetensors_only(model_dir: Path) -> GateResult:
    files = [p for p in model_dir.rglob("*") if p.is_file()]
    problems = [f"{p.relative_to(model_dir)}: pickle-based weights are not released (save weights as safetensors; "
                "training state such as training_args.bin, optimizer.pt or checkpoint-*/ does not belong in a release "
                "folder: release the merged model folder)" for p in files if p.suffix in PICKLE_SUFFIXES]
    if not any(p.suffix == ".safetensors" for p in files):
        problems.append(f"{model_dir}: no *.safetensors weights")
    return GateResult("safetensors_only", problems)


def gate_loads(model_dir: Path) -> tuple[GateResult, Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto")
    except Exception as exc:
        return GateResult("loads", [f"from_pretrained({str(model_dir)!r}) failed: {type(exc).__name__}: {exc}"]), None, None
    return GateResult("loads", []), model, tokenizer


def end_of_turn_token_id(tokenizer) -> int | None:
    """The first token the chat template writes after an assistant message's content."""
    marker = "GLOBMEDENDMARKER"
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}, {"role": "assistant", "content": marker}],
                                         tokenize=False)
    tail = text[text.rfind(marker) + len(marker):].lstrip(" ")
    ids = tokenizer(tail, add_special_tokens=False)["input_ids"] if tail else []
    return ids[0] if ids else None


def gate_chat(model_dir: Path, tokenizer) -> list[GateResult]:
    if tokenizer is None:
        return [GateResult(n, [], skipped="the model does not load") for n in ("chat_template", "end_of_turn")]
    if not tokenizer.chat_template:
        return [GateResult("chat_template", [f"{model_dir}: the tokenizer has no chat template"]),
                GateResult("end_of_turn", [], skipped="no chat template")]
    eot = end_of_turn_token_id(tokenizer)
    problems = []
    gen_path = model_dir / "generation_config.json"
    if not gen_path.exists():
        problems.append(f"{gen_path}: missing; generation would not stop at the end of a turn")
    else:
        eos = json.loads(gen_path.read_text(encoding="utf-8")).get("eos_token_id")
        eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        if eot is None:
            problems.append("the chat template writes nothing after an assistant turn; cannot check eos_token_id")
        elif eot not in eos_ids:
            problems.append(f"{gen_path}: eos_token_id {sorted(eos_ids)} does not include the end-of-turn token "
                            f"{tokenizer.convert_ids_to_tokens(eot)!r} ({eot}); generation would run past the turn")
    return [GateResult("chat_template", []), GateResult("end_of_turn", problems)]


def gate_bench_results(summary: dict[str, Any], name: str, base_name: str | None,
                       langs: Sequence[str]) -> GateResult:
    problems = []
    for who in [name, base_name]:
        if who is None:
            continue
        if who not in summary["models"]:
            problems.append(f"no bench results for model {who!r} (results have: {', '.join(summary['models'])})")
            continue
        for mode, res in summary["models"][who].items():
            missing = [c for c in langs if c not in res["languages"]]
            if missing:
                problems.append(f"model {who!r} mode {mode!r}: no bench results for {', '.join(missing)}")
    return GateResult("bench_results", problems)


# --- card ---------------------------------------------------------------------------------------

@dataclass
class ModelRelease:
    model: Path
    repo_id: str
    results: Path
    name: str | None = None
    base_name: str | None = None
    base_model: str | None = None
    recipe: Path | None = None
    recipe_name: str | None = None
    """The recipe a run recorded in training_mixture.json came from (shown with its settings)."""
    dataset: Path | None = None
    dataset_repo_id: str = "org/globmed"
    langs: list[str] = field(default_factory=list)
    license: str = "apache-2.0"
    private: bool = False
    revision: str | None = None
    dry_run: bool = False
    compare_with_hub: bool = True


def pick_names(opts: ModelRelease, summary: dict[str, Any]) -> tuple[str, str | None]:
    name = opts.name or Path(opts.model).name
    base = opts.base_name
    if base is None:
        others = [m for m in summary["models"] if m != name]
        base = others[0] if len(others) == 1 else None
    return name, base


def results_rows(summary: dict[str, Any], name: str, base: str | None) -> list[dict[str, Any]]:
    """One table per mode: per language base vs model, then tiers and the gap."""
    from globmed.languages import get_language

    tables = []
    for mode, res in summary["models"][name].items():
        base_res = summary["models"].get(base, {}).get(mode) if base else None
        rows = []
        for lang, cell in res["languages"].items():
            b = base_res["languages"].get(lang, {}).get("score") if base_res else None
            rows.append({"lang": lang, "name": get_language(lang).name, "tier": get_language(lang).tier,
                         "n": cell["n"], "model": cell["score"], "base": b,
                         "delta": None if b is None else cell["score"] - b})
        tiers = []
        for tier in ("high", "low"):
            m, b = res["tiers"][tier], base_res["tiers"][tier] if base_res else None
            tiers.append({"tier": tier, "model": m, "base": b, "delta": None if m is None or b is None else m - b})
        b_gap = base_res["gap"] if base_res else None
        tables.append({"mode": mode, "rows": rows, "tiers": tiers, "gap": res["gap"], "base_gap": b_gap})
    return tables


def card_context(opts: ModelRelease, summary: dict[str, Any], name: str, base: str | None) -> dict[str, Any]:
    from globmed.train.record import read_record

    recipe = yaml.safe_load(opts.recipe.read_text(encoding="utf-8")) if opts.recipe else None
    if recipe is not None and not isinstance(recipe, dict):
        raise GlobmedError(f"--recipe {opts.recipe}: not a YAML mapping")
    record = read_record(Path(opts.model))  # written by globmed train: rows after weighting, settings
    settings = None if recipe or not record else record.get("recipe")
    base_model = opts.base_model or (recipe or {}).get("model_name_or_path")
    mixture = None
    if opts.dataset or record:
        mixture = {"by_language": {}, "by_task": {}, "total": None, "demo": False,
                   "rows": record["rows"] if record else None, "upsample": record["low_resource_upsample"] if record else None,
                   "max_train_samples": record.get("max_train_samples") if record else None}
        if opts.dataset:
            from globmed.dataset_release import read_report

            report = read_report(Path(opts.dataset))
            mixture.update(total=report["counts"]["by_split"]["train"], demo=bool(report.get("demo")))
            mixture["by_language"] = {c: {"entries": v["train"]} for c, v in report["counts"]["by_language"].items()}
            mixture["by_task"] = {t: {"entries": v["train"]} for t, v in report["counts"]["by_task"].items()}
        for key, rows in (("by_language", "rows_by_language"), ("by_task", "rows_by_task")):
            for k, n in (record or {}).get(rows, {}).items():
                mixture[key].setdefault(k, {"entries": None})["rows"] = n
            for cell in mixture[key].values():
                cell.setdefault("rows", None)
    return {"repo_id": opts.repo_id, "model_name": opts.repo_id.split("/")[-1], "name": name, "base_name": base, "base_model": base_model,
            "dataset_repo_id": opts.dataset_repo_id, "license": opts.license,
            "recipe_yaml": yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True) if recipe else None,
            "settings_yaml": yaml.safe_dump(settings, sort_keys=False, allow_unicode=True) if settings else None,
            "recipe_name": opts.recipe_name,
            "mixture": mixture, "tables": results_rows(summary, name, base), "bench_name": BENCH_NAME,
            "languages": card_languages(mixture, summary)}


def card_languages(mixture: dict[str, Any] | None, summary: dict[str, Any]) -> list[str]:
    """The card's ``language:``: every language the model trained on, then any benched only."""
    trained = [c for c, cell in (mixture or {}).get("by_language", {}).items()
               if (cell["rows"] if cell["rows"] is not None else cell["entries"] or 0) > 0]
    return trained + [c for c in summary["languages"] if c not in trained]


def eval_entries(summary: dict[str, Any], name: str, dataset_repo_id: str) -> dict[str, list]:
    """``.eval_results/<file>.yaml`` -> entries (huggingface_hub.EvalResultEntry), one file per mode."""
    from huggingface_hub import EvalResultEntry

    return {f".eval_results/globmed-bench_{mode}.yaml":
            [EvalResultEntry(dataset_id=dataset_repo_id, task_id=lang, value=round(cell["score"], 4),
                             notes=f"{mode} scoring, test split") for lang, cell in res["languages"].items()]
            for mode, res in summary["models"][name].items()}


def model_card_data(opts: ModelRelease, summary: dict[str, Any], name: str, base_model: str | None,
                    languages: list[str] | None = None):
    from huggingface_hub import EvalResult, ModelCardData

    results = [EvalResult(task_type="question-answering", dataset_type=opts.dataset_repo_id,
                          dataset_name=f"{BENCH_NAME} ({lang})", dataset_config=lang, dataset_split="test",
                          metric_type="accuracy", metric_name=f"accuracy ({mode})", metric_value=round(cell["score"], 4))
               for mode, res in summary["models"][name].items() for lang, cell in res["languages"].items()]
    return ModelCardData(base_model=base_model, datasets=[opts.dataset_repo_id], language=languages or summary["languages"],
                         license=opts.license, library_name="transformers", pipeline_tag="text-generation",
                         tags=["medical", "multilingual", "globmed", "trl", "sft"], eval_results=results,
                         model_name=opts.repo_id.split("/")[-1])


def render_card(opts: ModelRelease, summary: dict[str, Any], name: str, base: str | None) -> str:
    from globmed.cards import render_model_card

    ctx = card_context(opts, summary, name, base)
    data = model_card_data(opts, summary, name, ctx["base_model"], ctx["languages"])
    return render_model_card(data.to_dict(), ctx)


# --- the release --------------------------------------------------------------------------------

def release_model(opts: ModelRelease, api=None, echo: Printer = print) -> CommitPlan:
    from huggingface_hub import eval_result_entries_to_yaml

    if not opts.dry_run:
        if not opts.compare_with_hub:
            raise GlobmedError("an upload must merge the Hub's current card: compare_with_hub cannot be off")
        require_token()
    model_dir = Path(opts.model)
    if not model_dir.is_dir():
        raise GlobmedError(f"--model {model_dir}: not a folder")
    summary = load_bench_summary(opts.results)
    name, base = pick_names(opts, summary)
    results = [gate_safetensors_only(model_dir)]
    load_result, _model, tokenizer = gate_loads(model_dir)
    results += [load_result, *gate_chat(model_dir, tokenizer),
                gate_bench_results(summary, name, base, opts.langs or summary["languages"])]
    echo(gate_summary(results))
    raise_on_failures("model", results)
    card = render_card(opts, summary, name, base)
    api = api or hub_api()
    hub_card, note = (fetch_hub_card(api, opts.repo_id, "model", opts.revision, not opts.dry_run)
                      if opts.compare_with_hub else (None, "the Hub's current card was not fetched (offline demo)"))
    final_card = merge_card_metadata(card, hub_card, MODEL_CARD_OURS)
    files = [PlannedFile(p.relative_to(model_dir).as_posix(), local=p) for p in sorted(model_dir.rglob("*"))
             if p.is_file() and p.name != "README.md" and not p.relative_to(model_dir).as_posix().startswith(".")]
    files.append(PlannedFile("README.md", data=final_card.encode("utf-8")))
    for path, entries in eval_entries(summary, name, opts.dataset_repo_id).items():
        files.append(PlannedFile(path, data=yaml.safe_dump(eval_result_entries_to_yaml(entries), sort_keys=False,
                                                           allow_unicode=True).encode("utf-8")))
    files.append(PlannedFile("globmed_bench_summary.json", data=json_bytes(summary)))
    plan = CommitPlan(opts.repo_id, "model", files, hub_card, final_card,
                      f"{opts.repo_id.split('/')[-1]} with {BENCH_NAME} results", opts.revision, opts.private)
    if note:
        plan.notes.append(note)
    return publish(plan, api, opts.dry_run, echo)
