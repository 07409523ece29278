"""Test items and k-shot examples, read only through ``datasets.load_dataset``.

A local build folder is loaded with a fresh ``cache_dir`` each time: ``datasets`` caches a local
folder under its base name and config, not its content, so a rebuilt folder would otherwise
return stale rows. That cache (``<tmp>/globmed-bench-ds-<pid>-*``) is removed once the rows are read;
one left by a killed bench is removed by the next bench once its pid is no longer running.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from globmed.build_output import pid_alive
from globmed.errors import GlobmedError
from globmed.schema import TASKS

CACHE_PREFIX = "globmed-bench-ds-"
_CACHE_NAME = re.compile(rf"^{CACHE_PREFIX}(\d+)-")


def load_split(dataset: str | Path, lang: str, split: str) -> list[dict[str, Any]]:
    """Rows of one language config and split of a build folder or Hub dataset id."""
    if not Path(dataset).is_dir():
        return _load_split(dataset, lang, split)
    remove_stale_caches()
    with tempfile.TemporaryDirectory(prefix=f"{CACHE_PREFIX}{os.getpid()}-", ignore_cleanup_errors=True) as cache:
        return _load_split(dataset, lang, split, cache_dir=cache)


def remove_stale_caches() -> list[Path]:
    """Remove the dataset caches of benches that no longer run (killed before cleaning up)."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{CACHE_PREFIX}*"):
        m = _CACHE_NAME.match(path.name)
        if m and path.is_dir() and not path.is_symlink() and not pid_alive(int(m.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


    return True


def _load_split(dataset: str | Path, lang: str, split: str, **kwargs: Any) -> list[dict[str, Any]]:
    from datasets import load_dataset

    try:
        ds = load_dataset(str(dataset), lang, split=split, **kwargs)
    except ValueError as exc:  # unknown config or split
        raise GlobmedError(f"dataset {dataset}: cannot load config {lang!r} split {split!r}: {exc}") from exc
    except FileNotFoundError as exc:
        raise GlobmedError(f"dataset {dataset}: not found ({exc})") from exc
    return [dict(r) for r in ds]


def load_items(dataset: str | Path, lang: str, tasks: Sequence[str] | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """Test items of ``lang``, optionally only ``tasks``, in dataset order, at most ``limit``."""
    bad = [t for t in tasks or () if t not in TASKS]
    if bad:
        raise GlobmedError(f"unknown task(s) {bad}; valid: {', '.join(TASKS)}")
    rows = load_split(dataset, lang, "test")
    if tasks:
        rows = [r for r in rows if r["task"] in tasks]
    return rows[:limit] if limit else rows


def load_shots(dataset: str | Path, lang: str, k: int) -> dict[str, list[dict[str, Any]]]:
    """The first ``k`` validation rows of each task of ``lang`` (same task as the item they prefix)."""
    if k <= 0:
        return {}
    rows = load_split(dataset, lang, "validation")
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        lst = by_task.setdefault(row["task"], [])
        if len(lst) < k:
            lst.append(row)
    return by_task
