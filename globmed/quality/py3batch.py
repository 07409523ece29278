"""Vectorised batch version of ``py3langid``'s ``LanguageIdentifier.classify``.

``py3langid`` walks a byte DFA in pure Python, one text at a time (~0.3 ms for a 240-character text).
:class:`BatchPy3` produces the same ``(label, confidence)`` pairs for a whole list of texts with numpy and
scipy.sparse:

1. each text is encoded exactly as py3langid does (``LanguageIdentifier._encode``: lower-case an
   all-uppercase text, NFC, UTF-8 with ``surrogatepass``; bytes are decoded with the same trimming rule);
2. texts are sorted by byte length and cut into chunks (at most ``chunk_size`` texts and ``max_cells``
   padded bytes each), so padding and memory stay small;
3. inside a chunk the DFA is stepped one byte position at a time for all texts still active (one gather
   per position), the few longest stragglers are finished in plain Python;
4. the (text, feature) hits are counted with one sort of integer keys, giving a canonical CSR matrix of
   ``log1p(count)``;
5. ``csr @ nb_ptc + nb_pc``, then exactly py3langid's ``_decide``: ``1/sqrt(n_bytes)`` temperature,
   softmax, alias-column merge (``sr``/``uz`` appear twice in the model), argmax, ``min_confidence``.

Scores are computed to about float64 accuracy (a row-centred float32 table plus a float64 per-row
constant), whereas py3langid accumulates them in float32: confidences agree with py3langid's to ~1e-5
relative with many languages, and within py3langid's own float32 noise (up to a few 1e-4 relative when
only two or three languages are enabled and the top probability is near 1/2); a label can only differ
when two languages tie to within that noise. Texts without any DFA feature (empty, digits only with this
model, ...) get py3langid's result: a uniform distribution (``norm_probs=True``) whose argmax is the first
aliased label (``sr`` with the full model), or ``RAW_FLOOR`` scores without ``norm_probs``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

__all__ = ["BatchPy3"]

_RAW_FLOOR = float(np.finfo(np.float32).min)  # py3langid.langid.RAW_FLOOR
_LOG1P = np.log1p(np.arange(1 << 16, dtype=np.float32))  # log1p of small feature counts, float32


class BatchPy3:
    """Batch ``classify`` for a configured py3langid ``LanguageIdentifier``.

    The DFA arrays are precomputed once (about 80 MB for the bundled model, plus a float32 copy of
    ``nb_ptc``: 57 MB for all 142 columns, ~8 MB for 21 languages). The language subset
    (``nb_ptc``/``nb_pc``/``nb_classes``, i.e. ``set_languages``) and ``min_confidence`` are read from
    ``ident`` and re-synchronised automatically if they change after construction.
    """

    def __init__(self, ident, *, chunk_size: int = 4096, max_cells: int = 4_000_000, tail: int = 8):
        if chunk_size < 1 or max_cells < 1:
            raise ValueError("chunk_size and max_cells must be positive")
        self.ident = ident
        self.chunk_size = int(chunk_size)
        self.max_cells = int(max_cells)
        self.tail = int(tail)  # finish a chunk in Python once this few texts are still being walked

        nm = np.asarray(ident.tk_nextmove)  # its own (unsigned) integer type: gathered with, not converted
        row = np.asarray(ident.tk_row, dtype=np.int64)
        out = np.asarray(ident.tk_output, dtype=np.int64)
        rowbase = row << 8
        if rowbase.max(initial=0) + 256 > np.iinfo(np.int32).max:
            raise ValueError("DFA too large for int32 indices")
        if out.size and (out.min() < np.iinfo(np.int32).min or out.max() > np.iinfo(np.int32).max):
            raise ValueError("DFA feature ids beyond int32")
        # Per transition index (rowbase[state] + byte): the next state's row base and its feature (-1: none).
        self._nm_rb = np.take(rowbase.astype(np.int32), nm)
        self._nm_out = np.take(out.astype(np.int32), nm)
        self._rb0 = int(rowbase[0])
        self._n_feat = int(ident.nb_ptc.shape[0])
        if out.max(initial=-1) >= self._n_feat:
            raise ValueError("DFA emits feature ids beyond nb_ptc's rows")
        # Plain-Python copies for the scalar tail.
        self._py_nm = ident.tk_nextmove
        self._py_rb = rowbase.tolist()
        self._py_out = out.tolist()
        self._model_key: tuple | None = None
        self._sync()

    # -- model (language subset) ------------------------------------------------------------------

    def _sync(self) -> None:
        ident = self.ident
        key = (id(ident.nb_ptc), id(ident.nb_pc), tuple(ident.nb_classes), bool(ident._norm_probs))
        if key == self._model_key:
            return
        if ident.nb_ptc.shape[0] != self._n_feat:
            raise ValueError("nb_ptc rows changed since BatchPy3 was built")
        # Centre each feature row: the per-row constant adds the same amount to every language, so the
        # float32 accumulation only carries the (small) differences between languages; the constant is
        # added back in float64. This keeps the scores at ~float64 accuracy with a float32 table.
        ptc = ident.nb_ptc
        centre = np.asarray(ptc.mean(axis=1, dtype=np.float64), dtype=np.float32)
        table = np.asarray(ptc, dtype=np.float32)
        if table is ptc or not table.flags.c_contiguous:
            table = np.array(table, dtype=np.float32, order="C")
        table -= centre[:, None]
        self._table = table
        self._centre = centre.astype(np.float64)
        self._pc = np.asarray(ident.nb_pc, dtype=np.float32)
        self._classes = list(ident.nb_classes)
        self._alias_pairs = list(ident._alias_pairs)
        self._norm_probs = bool(ident._norm_probs)
        self._model_key = key

    @property
    def classes(self) -> list[str]:
        self._sync()
        return list(self._classes)

    # -- public API -------------------------------------------------------------------------------

    def classify(self, texts: Iterable[str | bytes]) -> tuple[list[str], np.ndarray]:
        """``(labels, confidences)``, equal to ``zip(*[ident.classify(t) for t in texts])``."""
        self._sync()
        encode = self.ident._encode
        enc = []
        for t in texts:
            e = encode(t)
            enc.append(e if type(e) is bytes else bytes(e))
        n = len(enc)
        best = np.zeros(n, dtype=np.intp)
        conf = np.zeros(n, dtype=np.float64)
        if n:
            lens = np.fromiter(map(len, enc), dtype=np.int64, count=n)
            order = np.argsort(-lens, kind="stable")
            start = 0
            while start < n:
                longest = int(lens[order[start]])
                m = min(self.chunk_size, n - start, max(1, self.max_cells // max(longest, 1)))
                sel = order[start:start + m]
                best[sel], conf[sel] = self._chunk([enc[j] for j in sel], lens[sel])
                start += m
        classes = self._classes
        labels = [classes[i] for i in best.tolist()]
        min_conf = self.ident.min_confidence
        if min_conf is not None:
            for j in np.flatnonzero(conf < min_conf).tolist():
                labels[j] = "und"
        return labels, conf

    # -- internals --------------------------------------------------------------------------------

    def _walk(self, enc: list[bytes], lens: np.ndarray) -> np.ndarray:
        """Feature id per (byte position, text), -1 where none; texts sorted by length, descending."""
        n = len(enc)
        width = int(lens[0])
        feats = np.full((width, n), -1, dtype=np.int32)
        if width == 0:
            return feats
        padded = np.frombuffer(b"".join(e.ljust(width, b"\0") for e in enc), dtype=np.uint8)
        byte_at = np.ascontiguousarray(padded.reshape(n, width).T)  # byte position x text
        active = np.searchsorted(-lens, -np.arange(width), side="left")  # texts with len > position
        rb = np.full(n, self._rb0, dtype=np.int32)
        ix = np.empty(n, dtype=np.int32)
        nm_rb, nm_out = self._nm_rb, self._nm_out
        for p in range(width):
            k = int(active[p])
            if k <= self.tail:
                self._walk_tail(enc, lens, rb, feats, p, k)
                break
            np.add(rb[:k], byte_at[p, :k], out=ix[:k])
            np.take(nm_out, ix[:k], out=feats[p, :k], mode="clip")
            np.take(nm_rb, ix[:k], out=rb[:k], mode="clip")
        return feats

    def _walk_tail(self, enc, lens, rb, feats, p, k) -> None:
        nm, rowbase, out = self._py_nm, self._py_rb, self._py_out
        for j in range(k):
            r = int(rb[j])
            fs = []
            for byte in enc[j][p:]:
                s = nm[r + byte]
                fs.append(out[s])
                r = rowbase[s]
            feats[p:int(lens[j]), j] = fs

    def _counts(self, feats: np.ndarray) -> sp.csr_matrix:
        """CSR (texts x features) of log1p(feature count), from one sort of (text, feature) keys."""
        n = feats.shape[1]
        stride = self._n_feat  # key = text * n_feat + feature
        dtype = np.int32 if (n + 1) * stride < np.iinfo(np.int32).max else np.int64
        offsets = np.arange(n + 1, dtype=dtype) * dtype(stride)
        keys = np.add(feats, offsets[None, :n], dtype=dtype)[feats >= 0]
        keys.sort()
        if keys.size:
            first = np.empty(keys.size, dtype=bool)
            first[0] = True
            np.not_equal(keys[1:], keys[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            counts = np.diff(starts, append=keys.size)
            keys = keys[starts]
        else:
            counts = np.zeros(0, dtype=np.intp)
        indptr = np.searchsorted(keys, offsets)  # row t holds keys in [t*stride, (t+1)*stride)
        cols = (keys - keys // stride * stride).astype(np.int32)
        if counts.size and counts.max() >= _LOG1P.size:
            data = np.log1p(counts.astype(np.float32))
        else:
            data = _LOG1P[counts]  # == np.log1p(float32(count)), as py3langid computes it
        return sp.csr_matrix((data, cols, indptr), shape=(n, self._n_feat))

    def _chunk(self, enc: list[bytes], lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self._counts(self._walk(enc, lens))
        scores = np.asarray(x @ self._table, dtype=np.float64)
        scores += (x @ self._centre)[:, None]
        scores += self._pc
        empty = np.diff(x.indptr) == 0
        if self._norm_probs:
            scores[empty] = 0.0
            # T = sqrt(bytes), as py3langid's _decide
            scores *= (1.0 / np.sqrt(np.maximum(lens, 1).astype(np.float64)))[:, None]
            scores -= scores.max(axis=1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=1, keepdims=True)
            for i, j in self._alias_pairs:
                scores[:, i] += scores[:, j]
                scores[:, j] = 0.0
        else:
            scores[empty] = _RAW_FLOOR
            for i, j in self._alias_pairs:
                np.maximum(scores[:, i], scores[:, j], out=scores[:, i])
                scores[:, j] = _RAW_FLOOR
        best = scores.argmax(axis=1)
        conf = scores[np.arange(len(enc)), best].astype(np.float32).astype(np.float64)
        return best, conf

