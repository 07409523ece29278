"""Write GlobMed in the exact layout of its Hub dataset repo.

::

    DIR/
      README.md                                  card; YAML `configs:` one per language + `all`
      data/<lang>/<split>-00000-of-00001.parquet
      build_report.json
      rejects.jsonl
      .globmed-build.json                        manifest of the build's files (globmed.build_output)

Parquet files carry the ``datasets.Features`` in their schema metadata, rows are
sorted by ``id``, and nothing time- or machine-dependent is written, so the same
inputs give byte-identical files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from globmed.schema import ARROW_SCHEMA, COLUMNS, SPLITS

DATA_DIR = "data"
ALL_CONFIG = "all"
DEFAULT_SHARD_ROWS = 100_000
EXPORT_SCHEMA = ARROW_SCHEMA


@dataclass(frozen=True)
class WrittenFile:
    path: str
    """Relative to the export folder, with forward slashes."""
    lang: str
    split: str
    rows: int
    sha256: str

    def to_dict(self) -> dict:
        return {"path": self.path, "lang": self.lang, "split": self.split, "rows": self.rows, "sha256": self.sha256}


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def config_data_files(lang: str, splits: Sequence[str] = SPLITS) -> list[dict[str, str]]:
    base = f"{DATA_DIR}/*" if lang == ALL_CONFIG else f"{DATA_DIR}/{lang}"
    return [{"split": split, "path": f"{base}/{split}-*"} for split in SPLITS if split in splits]


def configs_yaml(splits_by_lang: Mapping[str, Sequence[str]]) -> list[dict]:
    """The README's ``configs:`` list: ``all`` (the default) then one config per language,
    each listing the splits that have rows (``datasets`` cannot load an empty split)."""
    every = {s for splits in splits_by_lang.values() for s in splits}
    configs = [{"config_name": ALL_CONFIG, "data_files": config_data_files(ALL_CONFIG, every), "default": True}]
    configs += [{"config_name": lang, "data_files": config_data_files(lang, splits)}
                for lang, splits in splits_by_lang.items()]
    return configs


def to_export_table(table: pa.Table) -> pa.Table:
    """Keep the exported columns, in schema order, with the exact exported types and metadata."""
    return table.select(list(COLUMNS)).cast(EXPORT_SCHEMA)


def write_split(table: pa.Table, out_dir: Path, lang: str, split: str, shard_rows: int) -> list[WrittenFile]:
    """Write one language's split as shards sorted by id; an empty split writes nothing."""
    if shard_rows < 1:
        raise ValueError("shard_rows must be >= 1")
    if not table.num_rows:
        return []
    table = to_export_table(table)
    order = pc.sort_indices(table, sort_keys=[("id", "ascending")]).to_numpy()
    # rows read in id order (most sources' files) need no reordering; one chunk either way (the bytes written
    # depend on the chunks)
    table = table.combine_chunks() if (order[1:] > order[:-1]).all() else table.take(pa.array(order))
    count = -(-table.num_rows // shard_rows)
    folder = out_dir / DATA_DIR / lang
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(count):
        part = table.slice(index * shard_rows, shard_rows)
        path = folder / shard_name(split, index, count)
        pq.write_table(part, path, compression="zstd", row_group_size=10_000)
        written.append(
            WrittenFile(
                path=path.relative_to(out_dir).as_posix(),
                lang=lang,
                split=split,
                rows=part.num_rows,
                sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            )
        )
    return written
