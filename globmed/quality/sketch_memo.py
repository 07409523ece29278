"""A build's near-duplicate work, kept for the release gates that check its folder.

The ``near_duplicates`` release gate searches the finished folder with the very definition the build
enforced (:mod:`globmed.quality.near_duplicates`): the same signatures of the same texts, the same exact
Jaccard of the same candidate pairs. Both are pure functions of text, so the build keeps what it computed
and the gate looks it up by content instead of computing it again:

- per row: the XXH3-128 of its comparison text before normalising (:func:`text_keys`) -> its MinHash
  signature, LSH band keys and duplicate key;
- per pair the decontamination verified: the duplicate keys of its two texts (XXH3-64 of each normalised
  text) -> their exact 5-gram Jaccard similarity;
- the decontamination's search itself: the duplicate keys of the texts on each of its sides (train and
  validation; test). Its verified pairs are every candidate pair of that search (:func:`find_pairs`), and
  whether two texts are candidates depends on those two texts alone: so a later search whose test texts
  were all on its test side and whose other texts were all on its other side has for candidates exactly
  the recorded pairs between its texts (:meth:`Memo.candidates`), and needs no LSH search of its own.

A lookup keyed by content can miss, never answer for another text: a row edited after the build has
another key and is computed again, and so is any pair it is in; a folder with a text the search did not
have on that side (an edited row, a row moved to another split) is searched in full. The gate's verdict
is the one it would reach without the memo, with it about three times as fast (a 500k build: 16 -> 5 s).

Kept under ``$GLOBMED_MEMO`` (default ``$GLOBMED_CACHE/near-duplicates``, ``~/.cache/globmed`` without
it; ``GLOBMED_MEMO=off`` keeps none), one folder per build folder and definition, the newest
:data:`KEEP` of them (about 0.7 KB per row: 300 MB for 500k rows). Its files are checked against the
XXH3-128 digests in its manifest before use; a memo that is missing, incomplete or of another
definition or code is not used (``globmed release dataset --recompute`` never uses one).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sys
import time
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc

from globmed.quality.near_duplicates import VerifiedPairs, _runs_of
from globmed.user_cache import cache_root

MEMO_ENV = "GLOBMED_MEMO"
KEEP = 4
"""Memo folders kept (the most recently written); older ones are removed when a build writes one."""
MANIFEST = "manifest.json"
_STALE_SECONDS = 24 * 3600
"""An unfinished memo folder (a build that was killed) older than this is removed."""
_PARTS = itertools.count()

# what the memo's values depend on besides the definition's settings: the code that computes them
_CODE = ("comparison_text.py", "codepoints.py", "minhash.py", "near_duplicates.py", "sketch_memo.py")


def memo_root() -> Path | None:
    """Where memos are kept, or None when ``GLOBMED_MEMO`` is ``off``/``0``/``none``."""
    value = os.environ.get(MEMO_ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "0", "off", "none", "false") else Path(value)
    return cache_root() / "near-duplicates"


def definition_digest(definition: Any) -> str:
    """A digest of what a signature, band key, duplicate key and similarity depend on: the definition's
    settings, the Unicode tables and the source of the modules that compute them."""
    from globmed.quality.near_duplicates import NGRAM

    h = hashlib.sha256(json.dumps([definition.num_perm, definition.bands, NGRAM, unicodedata.unidata_version,
                                   np.__version__.split(".")[0]]).encode())
    here = Path(__file__).resolve().parent
    for name in _CODE:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def _memo_path(root: Path, folder: Path, digest: str) -> Path:
    """The folder of the memo of the build of ``folder`` under a definition of digest ``digest``."""
    return root / f"{hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:16]}-{digest}"


def text_keys(table: pa.Table, workers: int = 1) -> np.ndarray:
    """``(n, 2)`` uint64: the XXH3-128 of each row's comparison text before normalising
    (:func:`~globmed.quality.comparison_text.joined_texts`), the key of its signature in a memo; in up to
    ``workers`` forked processes for a large table."""
    from globmed.quality.forked import can_fork, fork_map

    n = table.num_rows
    if n < 50_000 or not can_fork(workers, 2):
        return _text_keys(table, (0, n))
    step = -(-n // workers)
    spans = [(lo, min(lo + step, n)) for lo in range(0, n, step)]
    parts = fork_map(_text_keys, table, spans, workers)
    return np.concatenate(parts) if parts else np.zeros((0, 2), np.uint64)


def _text_keys(table: pa.Table, span: tuple[int, int]) -> np.ndarray:
    from globmed.quality.comparison_text import joined_texts

    lo, hi = span
    return joined_keys(joined_texts(table.slice(lo, hi - lo)))


def joined_keys(joined: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """:func:`text_keys` of texts already joined (:func:`~globmed.quality.comparison_text.joined_texts`)."""
    import xxhash

    joined = joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined
    if not len(joined):
        return np.zeros((0, 2), np.uint64)
    width = np.int64 if joined.type == pa.large_string() else np.int32
    offsets = np.frombuffer(joined.buffers()[1], width)[joined.offset: joined.offset + len(joined) + 1]
    data = memoryview(joined.buffers()[2] or b"")
    bounds = offsets.tolist()
    digest = xxhash.xxh3_128_digest
    raw = b"".join([digest(data[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    return np.frombuffer(raw, np.uint64).reshape(-1, 2)


def _write(folder: Path, stem: str, table: pa.Table) -> None:
    """An Arrow IPC file ``<stem>-<XXH3-128 of its bytes>.arrow``, whole or not at all (written beside, then
    renamed): the digest is made from the bytes in memory, so that keeping the memo reads nothing back."""
    import xxhash

    sink = pa.BufferOutputStream()
    with pyarrow.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    data = sink.getvalue()
    path = folder / f"{stem}-{xxhash.xxh3_128_hexdigest(memoryview(data))}.arrow"
    part = path.with_name(path.name + ".partial")
    with open(part, "wb") as f:
        f.write(memoryview(data))
    os.replace(part, path)


def _named_digest(name: str) -> str:
    """The digest :func:`_write` put in a file's name."""
    return name.rsplit("-", 1)[1].removesuffix(".arrow")


class MemoWriter:
    """The memo of one build, written as it runs: row files by the streaming workers (:meth:`add_rows`, in
    whichever process computes the signatures), the verified pairs by the decontamination step; made the
    folder's memo by :meth:`commit` once the build folder is in place, or removed by :meth:`discard`."""

    def __init__(self, root: Path, folder: Path, digest: str):
        self.root, self.folder, self.digest = root, Path(folder).resolve(), digest
        self.work = root / f".building-{uuid.uuid4().hex[:12]}"
        self.failed = False

    @classmethod
    def begin(cls, folder: Path, definition: Any) -> MemoWriter | None:
        """A writer for the build of ``folder``, or None when memos are off or the root cannot be written."""
        root = memo_root()
        if root is None:
            return None
        try:  # (the digest reads the package's own sources: a package without them keeps no memo)
            writer = cls(root, folder, definition_digest(definition))
            writer.work.mkdir(parents=True)
        except OSError:
            return None
        return writer

    def _guard(self, write) -> None:
        if self.failed:
            return
        try:
            write()
        except OSError:  # a full or read-only cache disk costs the gate time, never the build
            self.failed = True

    def add_rows(self, keys: np.ndarray, sig: np.ndarray, bands: np.ndarray, hashes: np.ndarray) -> None:
        """Keep the signatures, band keys and duplicate keys of rows whose :func:`text_keys` are ``keys``."""
        if not len(keys):
            return
        from globmed.quality.signatures import fixed_width

        table = pa.table({"key": fixed_width(keys, "<u8"), "sig": fixed_width(sig, "<u4"),
                          "bands": fixed_width(bands, "<u8"), "hash": pa.array(hashes, pa.uint64())})
        self._guard(lambda: _write(self.work, f"rows-{os.getpid()}-{next(_PARTS)}", table))

    def add_pairs(self, hash_a: np.ndarray, hash_b: np.ndarray, sim: np.ndarray) -> None:
        """Keep the exact similarity of each pair of texts whose duplicate keys are ``(hash_a, hash_b)``."""
        if not len(sim):
            return
        lo, hi = np.minimum(hash_a, hash_b), np.maximum(hash_a, hash_b)  # the similarity is symmetric
        table = pa.table({"a": pa.array(lo, pa.uint64()), "b": pa.array(hi, pa.uint64()),
                          "sim": pa.array(np.asarray(sim, np.float64))})
        self._guard(lambda: _write(self.work, f"pairs-{os.getpid()}-{next(_PARTS)}", table))

    def add_search(self, hash_q: np.ndarray, hash_r: np.ndarray, low: float) -> None:
        """Keep the duplicate keys of the texts on each side of a search whose every candidate pair goes to
        :meth:`add_pairs` (:func:`~globmed.quality.near_duplicates.find_pairs`' ``verified``); ``low``: the
        estimated similarity from which it took a candidate (``threshold - margin``)."""
        sides = [np.unique(np.asarray(h, np.uint64)) for h in (hash_q, hash_r)]
        table = pa.table({"hash": pa.array(np.concatenate(sides), pa.uint64()),
                          "side": pa.array(np.repeat([0, 1], [len(x) for x in sides]).astype(np.uint8)),
                          "low": pa.array(np.full(sum(map(len, sides)), low, np.float64))})
        self._guard(lambda: _write(self.work, f"search-{os.getpid()}-{next(_PARTS)}", table))

    def commit(self) -> Path | None:
        """Make this the memo of the build folder (replacing its previous one); older memos beyond
        :data:`KEEP` and stale unfinished ones go. Returns the memo's folder (None: not kept)."""
        if self.failed or not self.work.is_dir():
            self.discard()
            return None
        final = _memo_path(self.root, self.folder, self.digest)
        try:
            files = sorted(p.name for p in self.work.glob("*.arrow"))
            manifest = {"folder": str(self.folder), "definition": self.digest, "written": time.time(),
                        "files": {name: _named_digest(name) for name in files}}
            (self.work / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            old = final.with_name(final.name + f".old-{uuid.uuid4().hex[:8]}")
            if final.exists():
                final.rename(old)
            self.work.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        except OSError:
            self.discard()
            return None
        _prune(self.root, keep=final)
        return final

    def discard(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def _prune(root: Path, keep: Path) -> None:
    memos = []
    for path in root.iterdir():
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            continue
        if path.name.startswith(".") or ".old-" in path.name:
            if age > _STALE_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        elif path.is_dir() and path != keep:
            memos.append((path.stat().st_mtime, path))
    for _, path in sorted(memos, reverse=True)[KEEP - 1:]:
        shutil.rmtree(path, ignore_errors=True)


class Memo:
    """A build folder's memo, read for its release gates."""

    def __init__(self, path: Path, rows: list[pa.Table], pairs: pa.Table, searches: list[pa.Table] = ()):
        from globmed.quality.signatures import from_fixed_width

        self.path = path
        keys = np.concatenate([from_fixed_width(t.column("key"), "<u8") for t in rows])
        # by the key's high half: a lookup checks the low half of the first row with its high half, so that two
        # texts sharing one (about one chance in 2^64 per pair) can only miss (and be computed), never mix
        self._rows = np.argsort(keys[:, 0], kind="stable")
        self._hi, self._lo = keys[self._rows, 0], keys[self._rows, 1]
        # the signatures and band keys stay in their mapped files: only the rows a gate asks for are copied
        self._starts = np.cumsum([0] + [t.num_rows for t in rows])
        self._sig = [from_fixed_width(t.column("sig"), "<u4") for t in rows]
        self._bands = [from_fixed_width(t.column("bands"), "<u8") for t in rows]
        self._hash = np.concatenate([t.column("hash").to_numpy() for t in rows])
        self._pairs = VerifiedPairs(pairs.column("a").to_numpy(), pairs.column("b").to_numpy(),
                                    pairs.column("sim").to_numpy())
        self._searches = []  # per recorded search: its low, the sorted keys of the texts on each of its sides
        for t in searches:
            side, hashes, low = (t.column(c).to_numpy() for c in ("side", "hash", "low"))
            if len(low) and (low == low[0]).all():
                self._searches.append((float(low[0]), *(np.sort(hashes[side == k]) for k in (0, 1))))

    @staticmethod
    def _kept(folder: Path, definition: Any) -> tuple[Path, str] | None:
        """``(the memo's folder, the definition's digest)`` when a memo of ``folder`` is kept, else None."""
        root = memo_root()
        if root is None:
            return None
        try:
            digest = definition_digest(definition)
        except OSError:  # the package's sources cannot be read: no memo is used
            return None
        path = _memo_path(root, folder, digest)
        return (path, digest) if (path / MANIFEST).is_file() else None

    @classmethod
    def kept(cls, folder: Path, definition: Any) -> bool:
        """Whether a memo of ``folder`` under ``definition`` is kept (:meth:`open` checks it)."""
        return cls._kept(folder, definition) is not None

    @classmethod
    def open(cls, folder: Path, definition: Any) -> Memo | None:
        """The memo of the build of ``folder`` under ``definition``, or None (none kept, incomplete, altered,
        or of another definition or code)."""
        found = cls._kept(folder, definition)
        if found is None:  # none kept for this folder and definition: nothing to say
            return None
        path, digest = found
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("definition") != digest or manifest.get("folder") != str(Path(folder).resolve()):
                return None
            files = manifest["files"]
            if sorted(p.name for p in path.glob("*.arrow")) != sorted(files):
                return None
            tables: dict[str, list[pa.Table]] = {"rows": [], "pairs": [], "search": []}
            import xxhash

            for name, want in files.items():
                mapped = pa.memory_map(str(path / name))  # checked and read from the one mapping
                if xxhash.xxh3_128_hexdigest(memoryview(mapped.read_buffer())) != want:
                    return None
                mapped.seek(0)
                tables[name.split("-", 1)[0]].append(pyarrow.ipc.open_file(mapped).read_all())
            pairs = (pa.concat_tables(tables["pairs"]) if tables["pairs"] else
                     pa.table({"a": pa.array([], pa.uint64()), "b": pa.array([], pa.uint64()),
                               "sim": pa.array([], pa.float64())}))
            if not tables["rows"]:
                return None
            return cls(path, tables["rows"], pairs, tables["search"])
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            print(f"near-duplicate memo {path} not used ({type(exc).__name__}: {exc})", file=sys.stderr)
            return None

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The memo row of each key (``-1``: not in the memo)."""
        at = np.searchsorted(self._hi, keys[:, 0])
        at = np.minimum(at, max(len(self._hi) - 1, 0))
        hit = (len(self._hi) > 0) & (self._hi[at] == keys[:, 0]) & (self._lo[at] == keys[:, 1])
        return np.where(hit, self._rows[at], -1)

    def sketches(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(signatures, duplicate keys, band keys)`` of memo rows (from :meth:`find`)."""
        return _gather(self._sig, self._starts, rows), self._hash[rows], _gather(self._bands, self._starts, rows)

    def duplicate_keys(self, rows: np.ndarray) -> np.ndarray:
        """The duplicate keys of memo rows (from :meth:`find`)."""
        return self._hash[rows]

    def similarities(self, hash_a: np.ndarray, hash_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(known, similarity)`` of each pair of texts with duplicate keys ``(hash_a[i], hash_b[i])``."""
        return self._pairs.lookup(hash_a, hash_b)

    def covers(self, hash_q: np.ndarray, hash_r: np.ndarray, low: float) -> bool:
        """Whether a recorded search with the same ``low`` (the estimate from which a pair is a candidate:
        another threshold or margin has other candidates) had every text of ``hash_q`` on its query side
        and every text of ``hash_r`` on its ref side (then :meth:`candidates` gives a search of them its
        candidates)."""
        return any(low == searched and _all_in(hash_q, q) and _all_in(hash_r, r) for searched, q, r in self._searches)

    def candidates(self, hash_q: np.ndarray, hash_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(query rows, ref rows)``: the pairs of rows whose texts (duplicate keys ``hash_q[i]``,
        ``hash_r[j]``) are a verified pair of the memo, either way round. When :meth:`covers` holds, these
        are the candidate pairs of different texts of a search of them."""
        lower, higher = self._pairs.pairs()
        if not len(lower) or not len(hash_q) or not len(hash_r):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        a, b = np.concatenate([lower, higher]), np.concatenate([higher, lower])
        order_q, order_r = np.argsort(hash_q, kind="stable"), np.argsort(hash_r, kind="stable")
        lo_q, n_q = _runs_of(hash_q[order_q], a)
        lo_r, n_r = _runs_of(hash_r[order_r], b)
        size = n_q * n_r  # rows of the query text times rows of the ref text (1 x 1 without repeated texts)
        pair = np.repeat(np.arange(len(a)), size)
        within = np.arange(len(pair)) - np.repeat(np.cumsum(size) - size, size)
        return order_q[lo_q[pair] + within // n_r[pair]], order_r[lo_r[pair] + within % n_r[pair]]


def _all_in(values: np.ndarray, sorted_keys: np.ndarray) -> bool:
    return bool((_runs_of(sorted_keys, values)[1] > 0).all())


def _gather(parts: list[np.ndarray], starts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (numbered across ``parts``, part ``i`` from ``starts[i]``) of 2-D arrays, copied once."""
    out = np.empty((len(rows), parts[0].shape[1]), parts[0].dtype)
    part = np.searchsorted(starts, rows, side="right") - 1
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(len(parts) + 1))
    for i, values in enumerate(parts):
        at = order[bounds[i]: bounds[i + 1]]
        if len(at):
            out[at] = values[rows[at] - starts[i]]
    return out

