"""``globmed release dataset``: gates on a built folder, then one Hub commit.

Gates (each a function returning a :class:`~globmed.release.GateResult`; all run, then any
failure stops the release listing every problem):

- ``licences``: every source in ``build_report.json`` is redistributable, or named in
  ``--allow-nonredistributable``;
- ``card``: the card renders from the report (StrictUndefined), its YAML ``configs`` are the
  ones the report's splits give, every ``data_files`` pattern matches files and every data file
  is in a config, and the files on disk are the files (and checksums) of the report;
- ``loads``: ``load_dataset(folder, config)`` works for every language config (fresh ``cache_dir``)
  and ``all`` resolves to exactly the folder's data files (loading it would read every file again);
- ``features``: every loaded split has exactly ``globmed.schema.FEATURES``;
- ``origin_split``: no ``origin_id`` appears in two splits;
- ``near_duplicates``: no train or validation entry duplicates or near-duplicates a test entry, in
  any language: the definition and the search of :mod:`globmed.quality.near_duplicates`, the very
  ones the build's decontamination ran, so a build passes by construction and an edited folder not.

What is uploaded: ``data/**.parquet``, ``README.md`` (re-rendered from the report, YAML merged
with the Hub's card), ``build_report.json`` (with local source paths reduced to their base
name). ``rejects.jsonl`` is NOT uploaded: it is a maintainer's debugging log of upstream rows
that failed validation or quality filters (ids, file names, row numbers, reasons), not part of
the dataset; the report keeps its counts per source, step and reason.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from globmed.cards import render_dataset_card
from globmed.errors import GlobmedError
from globmed.quality.forked import fork_map_started
from globmed.quality.near_duplicates import Definition, find_pairs, first_match, keyed_side, table_side
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
    split_card,
)

REPORT_FILE = "build_report.json"
CARD_FILE = "README.md"
DATA_DIR = "data"
DATASET_CARD_OURS = ("configs", "language", "license")
"""Card metadata keys the release computes; every other key on the Hub's card is kept."""


def read_report(folder: Path) -> dict[str, Any]:
    path = folder / REPORT_FILE
    if not folder.is_dir():
        raise GlobmedError(f"--folder {folder}: not a folder")
    if not path.exists():
        raise GlobmedError(f"--folder {folder}: no {REPORT_FILE}; is it a `globmed build` output?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise GlobmedError(f"{path}: not valid JSON ({exc})") from None


def data_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in (folder / DATA_DIR).rglob("*.parquet"))


# --- gates --------------------------------------------------------------------------------------

def _not_redistributable(source: dict[str, Any]) -> str:
    """What of a source is not redistributable: the source, or (licence per subset) some of its rows."""
    parts = source.get("not_redistributable") or []
    if not parts:
        return f"source {source['name']!r} (licence {source['license']}) is not redistributable"
    rows = "; ".join(f"{p['entries']} entries of {', '.join(p['subsets'])} (licence {p['license']})" for p in parts)
    return f"source {source['name']!r} has rows that are not redistributable: {rows}"


def gate_licences(report: dict[str, Any], allow: Sequence[str] = ()) -> GateResult:
    problems = [f"{_not_redistributable(s)}; leave it out of the "
                f"build or pass --allow-nonredistributable {s['name']} if you hold the rights"
                for s in report["sources"] if not s.get("redistributable") and s["name"] not in allow]
    return GateResult("licences", problems)


def gate_card(folder: Path, report: dict[str, Any]) -> tuple[GateResult, str | None]:
    """The card renders; its ``configs`` match the report and the files. Returns (result, card)."""
    try:
        card = render_dataset_card(report)
    except (GlobmedError, KeyError, TypeError) as exc:
        return GateResult("card", [f"the card does not render from {REPORT_FILE}: {exc}"]), None
    meta, _ = split_card(card)
    problems = []
    files = data_files(folder)
    configs = meta.get("configs") or []
    if not configs:
        problems.append("the card's YAML has no `configs`")
    covered: set[str] = set()
    for cfg in configs:
        for df in cfg.get("data_files", []):
            matched = [f for f in files if fnmatch.fnmatch(f, df["path"])]
            if not matched:
                problems.append(f"config {cfg['config_name']!r} split {df['split']!r}: "
                                f"no file matches {df['path']!r}")
            if cfg["config_name"] != "all":
                covered.update(matched)
    per_lang = {c["config_name"] for c in configs} - {"all"}
    if set(report["configs"]) != per_lang:
        problems.append(f"card configs {sorted(per_lang)} differ from the report's languages {sorted(report['configs'])}")
    problems += [f"{f}: a data file in no language config" for f in files if f not in covered]
    listed = {f["path"]: f for f in report.get("files", [])}
    for f in sorted(set(listed) - set(files)):
        problems.append(f"{f}: listed in {REPORT_FILE} but missing from the folder")
    for f in sorted(set(files) - set(listed)):
        problems.append(f"{f}: in the folder but not in {REPORT_FILE} (stale file from another build?)")
    for f in sorted(set(files) & set(listed)):
        digest = hashlib.sha256((folder / f).read_bytes()).hexdigest()
        if digest != listed[f]["sha256"]:
            problems.append(f"{f}: checksum differs from {REPORT_FILE} (file changed after the build)")
    return GateResult("card", problems), card


_KEY_COLUMNS = ["question", "options", "context"]


def _load_config(state: tuple[Path, Path, bool], task: tuple[str, str]) -> tuple[Any, str | None, dict] | list[str]:
    """``(load_dataset(folder, cfg), None, keys)`` into a fresh cache under ``cache_dir``, or ``(None, why,
    {})``; ``keys``: per split, the :func:`~globmed.quality.sketch_memo.text_keys` of its rows when
    ``with_keys`` (for the build's memo), made here, beside the other loads; for ``("resolve", cfg)``,
    :func:`_all_config_problems`."""
    from datasets import load_dataset

    folder, cache_dir, with_keys = state
    kind, cfg = task
    if kind == "resolve":
        return _all_config_problems(folder, cfg, cache_dir)
    try:
        dsd = load_dataset(str(folder), cfg, cache_dir=tempfile.mkdtemp(dir=cache_dir, prefix=f"{cfg}-"))
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}", {}
    keys = {}
    if with_keys:
        from globmed.quality.sketch_memo import text_keys

        try:
            keys = {split: text_keys(_arrow(ds, _KEY_COLUMNS)) for split, ds in dsd.items()}
        except (KeyError, ValueError, TypeError, NotImplementedError):  # (Arrow's errors are of these kinds)
            keys = {}  # columns missing or of another type: the features gate says so; no memo lookups
    return dsd, None, keys


def gate_loads(folder: Path, configs: Sequence[str], cache_dir: Path, workers: int = 2,
               union: str | None = None, keys: dict[str, dict[str, Any]] | None = None
               ) -> tuple[GateResult, dict[str, Any]]:
    """``load_dataset(folder, cfg)`` for every config, each into its own fresh cache; a failure is
    explained by the Parquet files (which file, which column) when they show why. A file that lacks
    a column fails the gate even when ``datasets`` loads it (it fills the column with nulls). When
    they all load, ``union`` (the ``all`` config), if given, must resolve to exactly the folder's
    data files (:func:`_all_config_problems`). The first config loads here while the rest load in up to
    ``workers`` forked processes (started once ``datasets`` is imported here, so that they inherit it);
    what comes back of a loaded config is its memory-mapped cache files' paths (a ``datasets`` table
    pickles so), not its rows. ``keys``, when given, receives per config and split the text keys of the
    rows (:mod:`globmed.quality.sketch_memo`)."""
    import datasets  # noqa: F401  (imported before the loaders fork)

    tasks = [("load", cfg) for cfg in configs] + ([("resolve", union)] if union else [])
    state = (folder, cache_dir, keys is not None)
    with fork_map_started(_load_config, state, tasks[1:], workers) as rest:
        results = [_load_config(state, task) for task in tasks[:1]]
        results += rest()
    loaded, problems = {}, []
    for cfg, (dsd, error, cfg_keys) in zip(configs, results, strict=False):
        if error is None:
            loaded[cfg] = dsd
            if keys is not None:
                keys[cfg] = cfg_keys
        else:
            why = parquet_schema_problems(folder, cfg) or [error]
            problems.append(f"load_dataset({str(folder)!r}, {cfg!r}) failed: {'; '.join(why)}")
    if not problems:
        problems = parquet_schema_problems(folder, "all", types=False)
    if not problems and union:
        problems = results[-1]
    return GateResult("loads", problems), loaded


def parquet_schema_problems(folder: Path, cfg: str, types: bool = True) -> list[str]:
    """What is wrong with the Parquet files of config ``cfg`` (``all``: every language): files that do not
    read as Parquet, and columns missing, unexpected or (``types``) of another type than
    ``globmed.schema.FEATURES`` (the features gate reports types of a folder that loads)."""
    import pyarrow.parquet as pq

    from globmed.schema import FEATURES

    want = FEATURES.arrow_schema
    pattern = "*/*.parquet" if cfg == "all" else f"{cfg}/*.parquet"
    problems = []
    for path in sorted((folder / DATA_DIR).glob(pattern)):
        rel = path.relative_to(folder).as_posix()
        try:
            got = pq.read_schema(path)
        except Exception as exc:
            problems.append(f"{rel} is not a readable Parquet file ({type(exc).__name__}: {exc})")
            continue
        missing = [n for n in want.names if n not in got.names]
        extra = [n for n in got.names if n not in want.names]
        retyped = [f"{n} is {got.field(n).type}, not {want.field(n).type}" for n in want.names
                   if types and n in got.names and not got.field(n).type.equals(want.field(n).type)]
        if missing:
            problems.append(f"{rel} lacks column{'s' * (len(missing) > 1)} {', '.join(missing)}")
        if extra:
            problems.append(f"{rel} has unexpected column{'s' * (len(extra) > 1)} {', '.join(extra)}")
        if retyped:
            problems.append(f"{rel}: {'; '.join(retyped)}")
    return problems


def gate_features(loaded: dict[str, Any]) -> GateResult:
    from globmed.schema import FEATURES

    problems = []
    for cfg, dsd in loaded.items():
        for split, ds in dsd.items():
            if ds.features != FEATURES:
                diff = sorted(set(ds.features) ^ set(FEATURES)) or [
                    k for k in FEATURES if k in ds.features and ds.features[k] != FEATURES[k]]
                problems.append(f"config {cfg!r} split {split!r}: features differ from globmed.schema.FEATURES "
                                f"(columns {', '.join(diff)})")
    return GateResult("features", problems)


def _rows(loaded: dict[str, Any]):
    """(split, dataset) over every language config (the `all` config repeats them)."""
    for cfg, dsd in loaded.items():
        if cfg == "all" and len(loaded) > 1:
            continue
        yield from dsd.items()


def _arrow(ds: Any, columns: Sequence[str]) -> Any:
    """The columns of a loaded split as one Arrow table (no rows through Python, no copy)."""
    if getattr(ds, "_indices", None) is None:  # as loaded: the split's rows are its Arrow table's, in order
        return ds.data.table.select(list(columns))
    return ds.select_columns(list(columns)).with_format("arrow")[:]


def gate_origin_split(loaded: dict[str, Any]) -> GateResult:
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = [_arrow(ds, ["origin_id"]).append_column("split", pa.repeat(pa.scalar(split, pa.string()), ds.num_rows))
             for split, ds in _rows(loaded)]
    if not parts:
        return GateResult("origin_split", [])
    groups = pa.concat_tables(parts).group_by("origin_id").aggregate([("split", "distinct")])
    groups = groups.filter(pc.greater(pc.list_value_length(groups.column("split_distinct")), 1))
    leaks = sorted((row["origin_id"], sorted(row["split_distinct"])) for row in groups.to_pylist())
    return GateResult("origin_split", [f"origin_id {o!r} is in splits {splits}" for o, splits in leaks])


def _split_tables(loaded: dict[str, Any]) -> dict[str, Any]:
    """One Arrow table per split over every language (the `all` config, else the language configs)."""
    import pyarrow as pa

    parts: dict[str, list] = defaultdict(list)
    for split, ds in _rows(loaded):
        parts[split].append(_arrow(ds, ["id", "question", "options", "context"]))
    return {split: pa.concat_tables(tables) for split, tables in parts.items()}


def _split_keys(loaded: dict[str, Any], keys: dict[str, dict[str, Any]] | None) -> dict[str, Any] | None:
    """The text keys of :func:`_split_tables`' rows, in its order, from :func:`gate_loads`' ``keys``; None
    when a config's are missing."""
    import numpy as np

    if keys is None:
        return None
    parts: dict[str, list] = defaultdict(list)
    for cfg, dsd in loaded.items():
        if cfg == "all" and len(loaded) > 1:
            continue
        for split in dsd:
            if split not in keys.get(cfg, {}):
                return None
            parts[split].append(keys[cfg][split])
    return {split: np.concatenate(arrays) for split, arrays in parts.items()}


def _sketches(store: Any, table: Any, memo: Any, at: Any = None) -> tuple[Any, Any, Any, int]:
    """``(signatures, duplicate keys, band keys, rows found in the memo)`` of a table's rows: from the
    build's memo where it has their text (:mod:`globmed.quality.sketch_memo`; ``at``: the rows' memo rows,
    :meth:`~globmed.quality.sketch_memo.Memo.find`, when already looked up), the rest computed."""
    import numpy as np
    import pyarrow as pa

    from globmed.quality.sketch_memo import text_keys

    if memo is None or not table.num_rows:
        return (*store.compute(table, bands=True), 0)
    at = memo.find(text_keys(table, workers=store.workers)) if at is None else at
    found = at >= 0
    if not found.any():
        return (*store.compute(table, bands=True), 0)
    sig, hashes, bands = memo.sketches(np.where(found, at, 0))
    miss = np.flatnonzero(~found)
    if len(miss):
        sig[miss], hashes[miss], bands[miss] = store.compute(table.take(pa.array(miss)), bands=True)
    return sig, hashes, bands, int(found.sum())


def gate_near_duplicates(loaded: dict[str, Any], definition: Definition | None = None, workers: int = 2,
                         memo: Any = None, keys: dict[str, dict[str, Any]] | None = None) -> GateResult:
    """No train/validation entry is a duplicate or near-duplicate of a test entry (any language). ``memo``:
    the build's :class:`~globmed.quality.sketch_memo.Memo`, whose signatures and similarities are used
    for the texts it has (the verdict is the same without it)."""
    import numpy as np
    import pyarrow as pa

    from globmed.quality.signatures import SignatureStore

    definition = definition or Definition.default()
    tables = _split_tables(loaded)
    test = tables.get("test")
    rest = [(split, tables[split]) for split in ("train", "validation") if split in tables]
    if test is None or not test.num_rows or not rest:
        return GateResult("near_duplicates", [])
    store = SignatureStore(definition, workers=workers)
    cols = ["id", "question", "options", "context"]
    test = test.select(cols)
    others = pa.concat_tables([t.select(cols) for _, t in rest])
    split_of = np.repeat(np.arange(len(rest)), [t.num_rows for _, t in rest])
    split_keys = _split_keys(loaded, keys) if memo is not None else None
    side_keys = [None, None] if split_keys is None else [
        np.concatenate([split_keys[split] for split, _ in rest]), split_keys["test"]]
    sides, from_memo, looked_up, searched = [], 0, [0, 0], None
    at = [None, None] if side_keys[0] is None else [memo.find(k) for k in side_keys]  # each row's memo row
    if at[0] is not None and all((a >= 0).all() for a in at):
        # every text in the memo, and each on the side of the build's own search it is on here: that search's
        # candidates between them are this one's (no LSH search, no signatures)
        hashes = [memo.duplicate_keys(a) for a in at]
        if memo.covers(*hashes, definition.threshold - definition.margin):
            searched = memo.candidates
            sides = [keyed_side(side, h) for side, h in zip((others, test), hashes, strict=True)]
    if searched is None:
        for side, side_at in zip((others, test), at, strict=True):  # band keys made in the signature workers
            sig, hashes, bands, hits = _sketches(store, side, memo, side_at)
            from_memo += hits
            sides.append(table_side(side, definition, sig, hashes, bands=bands))

    def known(hq: Any, hr: Any) -> tuple[Any, Any]:
        found, sim = memo.similarities(hq, hr)
        looked_up[:] = [int(found.sum()), len(found)]
        return found, sim

    q, r, sim = find_pairs(*sides, definition, workers=workers, known=None if memo is None else known,
                           searched=searched)
    problems = []
    test_ids, other_ids = test.column("id"), others.column("id")
    for i, (j, s) in first_match(q, r, sim).items():
        kind = "duplicate" if s == 1.0 else f"near-duplicate (5-gram Jaccard {s:.2f})"
        problems.append(f"test entry {test_ids[j].as_py()!r} is a {kind} of {rest[split_of[i]][0]} entry "
                        f"{other_ids[i].as_py()!r}")
    note = None
    rows = others.num_rows + test.num_rows
    if searched is not None:
        note = (f"from the build's memo: its search of all {rows:,} rows (its candidate pairs, not searched again), "
                f"the similarities of {looked_up[0]:,} of {looked_up[1]:,} candidate pairs; the rest computed")
    elif memo is not None:
        note = (f"from the build's memo: the signatures of {from_memo:,} of {rows:,} rows, "
                f"the similarities of {looked_up[0]:,} of {looked_up[1]:,} candidate pairs; the rest computed")
    return GateResult("near_duplicates", problems, note=note)


def _all_config_problems(folder: Path, cfg: str, cache_dir: Path) -> list[str]:
    """The ``all`` config resolves (by ``datasets``' own resolution of the card's ``configs``) to every
    data file of the folder, each under its split; the files themselves were loaded by the language
    configs (the card gate has checked that every data file is in one)."""
    from datasets import load_dataset_builder

    try:
        builder = load_dataset_builder(str(folder), cfg, cache_dir=tempfile.mkdtemp(dir=cache_dir, prefix=f"{cfg}-"))
        resolved = {split: {Path(f).resolve() for f in listed} for split, listed in builder.config.data_files.items()}
    except Exception as exc:
        return [f"load_dataset({str(folder)!r}, {cfg!r}) failed: {type(exc).__name__}: {exc}"]
    expected: dict[str, set[Path]] = defaultdict(set)
    for f in data_files(folder):
        expected[Path(f).name.split("-", 1)[0]].add((folder / f).resolve())
    problems = []
    for split in sorted(set(resolved) | set(expected)):
        for f in sorted(resolved.get(split, set()) ^ expected.get(split, set())):
            rel = f.relative_to(folder.resolve()) if f.is_relative_to(folder.resolve()) else f
            state = (f"resolves to {rel}, which is not a {split} file of the folder" if f in resolved.get(split, set())
                     else f"does not include {rel}")
            problems.append(f"config {cfg!r} split {split!r} {state}")
    return problems


def run_dataset_gates(folder: Path, report: dict[str, Any], allow_nonredistributable: Sequence[str] = (),
                      near_dup_threshold: float | None = None, recompute: bool = False
                      ) -> tuple[list[GateResult], str | None]:
    """Every dataset gate on ``folder``; ``recompute``: the near-duplicate search does not use the build's
    memo (:mod:`globmed.quality.sketch_memo`)."""
    results = [gate_licences(report, allow_nonredistributable)]
    card_result, card = gate_card(folder, report)
    results.append(card_result)
    configs = list(split_card(card)[0].get("configs", [])) if card else []
    names = [c["config_name"] for c in configs] or ["all", *report.get("configs", [])]
    cache = Path(tempfile.mkdtemp(prefix="globmed-release-gates-"))
    try:
        # every language config is loaded; `all` (their union) must resolve to exactly their files, so
        # that each Parquet file is read once and the rows of every language are checked once
        langs = [n for n in names if n != "all"]
        definition = Definition.default()
        if near_dup_threshold is not None:
            definition = dataclasses.replace(definition, threshold=near_dup_threshold)
        from globmed.quality.sketch_memo import Memo

        # with a memo of the build, the loaders make the rows' text keys too
        keys: dict[str, dict[str, Any]] | None = None if recompute or not Memo.kept(folder, definition) else {}
        load_result, loaded = gate_loads(folder, langs or names, cache, union="all" if langs and "all" in names else None,
                                         keys=keys)
        results.append(load_result)
        if load_result.ok:
            memo = None if keys is None else Memo.open(folder, definition)
            results += [gate_features(loaded), gate_origin_split(loaded),
                        gate_near_duplicates(loaded, definition, memo=memo, keys=keys)]
        else:
            results += [GateResult(n, [], skipped="the folder does not load")
                        for n in ("features", "origin_split", "near_duplicates")]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return results, card


# --- the release --------------------------------------------------------------------------------

def public_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report as uploaded: local paths of upstream files reduced to their base name."""
    out = json.loads(json.dumps(report))
    for s in out.get("sources", []):
        if s.get("path") and s["path"] != "(default)":
            s["path"] = Path(s["path"]).name
    return out


@dataclass
class DatasetRelease:
    folder: Path
    repo_id: str
    private: bool = False
    revision: str | None = None
    dry_run: bool = False
    allow_nonredistributable: Sequence[str] = ()
    near_dup_threshold: float | None = None
    """None: the definition's threshold (``dedup.threshold`` in ``globmed/quality/quality.yaml``)."""
    recompute: bool = False
    """Compute every signature and similarity of the near-duplicate search, not using the build's memo."""
    compare_with_hub: bool = True
    """Fetch the Hub's current card (to merge its metadata and show the diff); the demo turns it off."""


def plan_dataset_commit(opts: DatasetRelease, report: dict[str, Any], card: str, api) -> CommitPlan:
    report = {**report, "repo_id": opts.repo_id}
    card = render_dataset_card(report)  # loading examples name the repo we release to
    hub_card, note = (fetch_hub_card(api, opts.repo_id, "dataset", opts.revision, not opts.dry_run) if opts.compare_with_hub
                      else (None, "the Hub's current card was not fetched (offline demo)"))
    final_card = merge_card_metadata(card, hub_card, DATASET_CARD_OURS)
    files = [PlannedFile(f, local=opts.folder / f) for f in data_files(opts.folder)]
    files += [PlannedFile(CARD_FILE, data=final_card.encode("utf-8")),
              PlannedFile(REPORT_FILE, data=json_bytes(public_report(report)))]
    counts = report["counts"]
    message = (f"GlobMed {report['globmed_version']}: {counts['total']:,} entries in "
               f"{len(report['configs'])} languages")
    plan = CommitPlan(opts.repo_id, "dataset", files, hub_card, final_card, message, opts.revision, opts.private)
    if note:
        plan.notes.append(note)
    plan.notes.append("rejects.jsonl is not uploaded (a build log of upstream rows; its counts are in the report)")
    return plan


def release_dataset(opts: DatasetRelease, api=None, echo: Printer = print) -> CommitPlan:
    """Run the gates, then upload (or, with ``dry_run``, print the plan). Returns the plan."""
    if not opts.dry_run and not opts.compare_with_hub:
        raise GlobmedError("an upload must merge the Hub's current card: compare_with_hub cannot be off")
    if not opts.dry_run:
        require_token()
    folder = Path(opts.folder)
    report = read_report(folder)
    results, card = run_dataset_gates(folder, report, opts.allow_nonredistributable, opts.near_dup_threshold,
                                      opts.recompute)
    echo(gate_summary(results))
    raise_on_failures("dataset", results)
    api = api or hub_api()
    plan = plan_dataset_commit(opts, report, card, api)
    return publish(plan, api, opts.dry_run, echo)
