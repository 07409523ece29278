"""Language identification: every text field of an entry must be in the entry's language.

An ensemble, each identifier voting only on languages it knows (``lid`` labels in
languages.yaml): a script check first, then fastText (``lid.176.ftz`` or any fastText LID
model), then ``py3langid`` where fastText cannot decide, then ``langdetect``. A language no
identifier knows (Wolof) is checked by script and by ruling out the known languages: fastText
must not find another registry language with confidence. Short fields (drug names, units,
labels) are not checked.

What real exam text taught it (IgakuQA, CMExam, RuMedBench, FrenchMedMCQA, PubMedQA):

- Kana present means Japanese (``lid_kana_min`` letters): kanji-heavy Japanese reads as Chinese
  to every identifier.
- Latin letters (eponyms, drug and gene names, units, formulas) do not count against a
  non-Latin language's script share; Latin words are weighed as words against the native words
  (Han, kana, Hangul: characters), and the identifiers read the text without them.
- A field with a little native text among mostly Latin words (an English case note inside a
  native item, ``HBsAg（﹢）、抗HBc（﹢）``) is no evidence either way.
- A verdict is *strong* (the row goes) or *weak*: a vote on fewer than ``lid_min_words`` plain
  words, or a claim of zh for Han-only text in a ja row. A weak verdict removes the row only when no other
  field of the item was found in its language: the item is judged as a whole.
- An identifier's claim of a language whose script the text is not written in is no vote, nor is
  a claim of Japanese for a text without kana.
"""

from __future__ import annotations

import multiprocessing
import weakref
from typing import Any

import numpy as np

from globmed.errors import GlobmedError
from globmed.languages import get_language, registry
from globmed.pipeline import Batch, Step, StepResult
from globmed.quality.config import QualityConfig
from globmed.quality.lid_parts import (
    LATIN_WORD,
    LID_ENV,
    FieldVerdicts,
    LangPlan,
    default_model_path,
    field_texts,
    load_fasttext,
    script_tables,
)
from globmed.quality.script_counts import script_counts

__all__ = ["LID_ENV", "FieldVerdicts", "LanguageIdStep", "LanguageIdentifier", "default_model_path", "field_texts",
           "load_fasttext"]

class LanguageIdentifier:
    """Checks texts against their expected language; returns a reason or ``None`` per text."""

    def __init__(self, config: QualityConfig, langs: list[str]):
        settings = config.section("langid")
        scripts = config.section("scripts")
        self.table, script_index = script_tables(tuple((k, tuple(map(tuple, v))) for k, v in scripts.items()))
        for name in ("Latn", "Kana"):
            if name not in script_index:
                raise GlobmedError(f"{config.origin}: scripts has no ranges for {name!r}")
        self.latin, self.kana = script_index["Latn"], script_index["Kana"]
        self.script_names = {i: name for name, i in script_index.items()}
        char_scripts = {script_index[s] for s in settings.get("character_scripts", []) if s in script_index}
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

        def setting(code: str, key: str) -> Any:
            try:
                return config.lang_setting(code, key)
            except KeyError:
                raise GlobmedError(f"{config.origin}: langid has no {key!r} (the shipped globmed/quality/quality.yaml "
                                   f"lists every setting)") from None

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
                float(setting(code, "lid_accept_prob")), float(setting(code, "lid_reject_prob")),
                float(setting(code, "lid_rule_out_prob")), int(setting(code, "lid_min_letters")),
                float(setting(code, "lid_script_min_share")),
                int(setting(code, "lid_min_words")), float(setting(code, "lid_native_word_share")),
                int(setting(code, "lid_kana_min")))
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
            "min_words": np.array([p.min_words for p in plans], np.int64),
            "native_share": np.array([p.native_share for p in plans], np.float64),
            "kana_min": np.array([p.kana_min for p in plans], np.int64),
            "latin_lang": np.array([p.script == self.latin for p in plans], bool),
            "char_script": np.array([p.script in char_scripts for p in plans], bool),
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
        """The reason each text is not in its language (``None``: kept), weak verdicts included."""
        return self.judge(texts, langs).reasons

    def judge(self, texts: list[str], langs: list[str], min_words: list[float] | None = None) -> FieldVerdicts:
        """Verdicts on ``texts``; a text with fewer than ``min_words[i]`` words (of any script) is not checked."""
        n = len(texts)
        if not n:
            return FieldVerdicts([], np.zeros(0, bool), np.zeros(0, bool))
        a = self._arrays
        try:
            plan_of = np.fromiter(map(self._plan_index.__getitem__, langs), np.int64, count=n)
        except KeyError as exc:
            raise GlobmedError(f"language ID: no plan for language {exc.args[0]!r} (is its script in the "
                               f"quality config's scripts?)") from None
        c = script_counts(texts, a["script"][plan_of], self.table, self.latin, self.kana)
        latin_lang = a["latin_lang"][plan_of]
        checked = c.letters >= a["min_letters"][plan_of]
        if min_words is not None:
            checked &= c.words >= np.asarray(min_words, np.float64)
        # Latin letters (terms, units, formulas) do not count against a non-Latin script
        counted = np.where(latin_lang, c.letters, c.letters - c.latin)
        share = np.divide(c.native, counted, out=np.ones(n), where=counted > 0)
        off_script = checked & (share < a["script_share"][plan_of])
        kana_min = a["kana_min"][plan_of]
        kana = checked & ~off_script & (kana_min > 0) & (c.kana >= kana_min)
        units = np.where(a["char_script"][plan_of], c.native, c.native_words)
        mixed_total = units + c.latin_words
        word_share = np.divide(units, mixed_total, out=np.ones(n), where=mixed_total > 0)
        # native text too short to identify among mostly Latin words (an English note in a native item,
        # HBsAg（﹢）、抗HBc（﹢）): no evidence either way
        mixed = (checked & ~off_script & ~kana & ~latin_lang & (c.native > 0) & (c.native < a["min_letters"][plan_of])
                 & (word_share < a["native_share"][plan_of]))
        reasons: list[str | None] = [None] * n
        weak = np.zeros(n, bool)
        for i in np.flatnonzero(off_script):
            of = "letters" if latin_lang[i] else "non-Latin letters"
            reasons[i] = f"{share[i]:.0%} of {of} in the {get_language(langs[i]).script} script"
        todo = np.flatnonzero(checked & ~off_script & ~kana & ~mixed)
        # a non-Latin language's identifiers read the text without its Latin words; a vote on few words is weak
        strip = ~latin_lang & (c.latin > 0) & (c.native > 0)
        few = (latin_lang | (c.native == 0)) & (c.plain_words < a["min_words"][plan_of])
        # identifiers see the first max_chars characters; each distinct (language, text) once, and a text
        # seen in an earlier batch (option sets, label words, shared contexts repeat) is not identified again
        m, memo = self.max_chars, self._memo
        keys = [(langs[i], (LATIN_WORD.sub(" ", texts[i][:4 * m]) if strip[i] else texts[i])[:m], bool(few[i]))
                for i in todo]
        found = {key: memo[key] for key in dict.fromkeys(keys) if key in memo}
        new = [key for key in dict.fromkeys(keys) if key not in found]
        found.update(zip(new, self._identify([t for _, t, _ in new], [lang for lang, _, _ in new],
                                             [f for _, _, f in new]), strict=True))
        if len(memo) + len(new) > self.memo_size:  # bounded: start over rather than grow
            memo.clear()
        memo.update((key, found[key]) for key in new)
        for i, key in zip(todo, keys, strict=True):
            reasons[i], weak[i] = found[key]
        native = checked & ~mixed & np.array([r is None for r in reasons], bool)
        return FieldVerdicts(reasons, weak, native)

    def _script_share(self, text: str, script: int) -> float:
        """Share of the text's letters in script row ``script`` of the table."""
        cp = np.minimum(np.frombuffer(text.encode("utf-32-le"), np.uint32), 0xFFFF)
        letters = int(self.table[0][cp].sum())
        return float(self.table[script][cp].sum()) / letters if letters else 0.0

    def _kana(self, text: str) -> int:
        cp = np.minimum(np.frombuffer(text.encode("utf-32-le"), np.uint32), 0xFFFF)
        return int(self.table[self.kana][cp].sum())

    def _claim(self, text: str, lang: str, claimed: str, few: bool) -> bool | None:
        """Whether a claim that ``text`` is in ``claimed`` (not ``lang``) is weak; ``None``: no vote at all
        (the text is not written in the claimed language's script)."""
        claimed_script = self.plans[claimed].script
        if self._script_share(text, claimed_script) < 0.5:
            return None
        if self.plans[claimed].kana_min and self._kana(text) < self.plans[claimed].kana_min:
            return None  # Japanese without kana: Han-only text (a Chinese explanation, a term list)
        own = self.plans[lang].script
        # Han-only text claimed zh in a ja row (or the reverse): both scripts cover it, no identifier tells
        shared = own != self.latin and own != claimed_script and self._script_share(text, own) >= 0.9
        return few or shared

    def _identify(self, texts: list[str], langs: list[str], few: list[bool]) -> list[tuple[str | None, bool]]:
        """fastText, then the fallbacks for what it leaves undecided, on texts that passed the script check."""
        out: list[tuple[str | None, bool]] = [(None, False)] * len(texts)
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
        decided = accepted.copy()
        for j in np.flatnonzero(rejected | ruled_out):
            weak = self._claim(texts[j], langs[j], codes[top[j]], few[j])
            if weak is None:
                continue  # no vote: left to the fallbacks
            decided[j] = True
            note = f"; {langs[j]} ruled out" if ruled_out[j] else ""
            out[j] = (f"looks like {codes[top[j]]} (fasttext {p[j]:.2f}{note})", weak)
        undecided = np.flatnonzero(~decided)
        for j, verdict in zip(undecided, self._fallbacks([texts[j] for j in undecided], [langs[j] for j in undecided],
                                                         [few[j] for j in undecided]), strict=True):
            out[j] = verdict
        return out

    def _fallbacks(self, texts: list[str], langs: list[str], few: list[bool]) -> list[tuple[str | None, bool]]:
        """py3langid (a whole batch at once), then langdetect, for texts fastText left undecided."""
        out: list[tuple[str | None, bool]] = [(None, False)] * len(texts)
        py3 = [i for i, lang in enumerate(langs) if self.plans[lang].py3langid]
        if py3:
            labels, probs = self.py3_batch.classify([texts[i] for i in py3])
            for i, label, p in zip(py3, labels, probs, strict=True):
                plan = self.plans[langs[i]]
                if label in plan.py3langid:
                    continue  # its pick among the registry languages it knows
                claimed = self.py3_to_code.get(label, label)
                if p >= plan.reject and claimed in self.plans:
                    weak = self._claim(texts[i], langs[i], claimed, few[i])
                    if weak is not None:
                        out[i] = (f"looks like {claimed} (py3langid {p:.2f})", weak)
                        continue
                out[i] = self._langdetect(texts[i], plan, few[i])
        for i, lang in enumerate(langs):
            if not self.plans[lang].py3langid:
                out[i] = self._langdetect(texts[i], self.plans[lang], few[i])
        return out

    def _langdetect(self, text: str, plan: LangPlan, few: bool) -> tuple[str | None, bool]:
        if not (plan.langdetect and self.use_langdetect):
            return None, False  # nothing that knows the language could decide: keep
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        DetectorFactory.seed = 0
        try:
            ranked = detect_langs(text)
        except LangDetectException:
            return None, False
        best = ranked[0]
        other = self.ld_to_code.get(best.lang)
        if best.lang not in plan.langdetect and other is not None and best.prob >= plan.reject:
            weak = self._claim(text, plan.code, other, few)
            if weak is not None:
                return f"looks like {other} (langdetect {best.prob:.2f})", weak
        return None, False


_WORKER: LanguageIdentifier | None = None


def _init_worker(config: QualityConfig, langs: list[str]) -> None:
    global _WORKER
    _WORKER = LanguageIdentifier(config, langs)


def _judge_in_worker(args: tuple[list[str], list[str], list[float]]) -> FieldVerdicts:
    assert _WORKER is not None
    return _WORKER.judge(*args)


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
                                           "min_letters": p.min_letters, "script_share": p.script_share,
                                           "min_words": p.min_words, "native_word_share": p.native_share,
                                           "kana_min": p.kana_min}
                                       for c, p in ((c, self.identifier.plans[c]) for c in self.langs)},
        }

    def close(self) -> None:
        """Stop the worker processes (a later call starts new ones)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    def _judge(self, texts: list[str], langs: list[str], min_words: list[float]) -> FieldVerdicts:
        if self.workers == 1 or len(texts) < 2000 or multiprocessing.current_process().daemon:
            # (a build's shard worker is a daemon: it cannot start processes, and needs none)
            return self.identifier.judge(texts, langs, min_words)
        if self._pool is None:
            ctx = multiprocessing.get_context("fork")
            self._pool = ctx.Pool(self.workers, initializer=_init_worker, initargs=(self.config, self.langs))
            weakref.finalize(self, self._pool.terminate)
        size = -(-len(texts) // self.workers)
        chunks = [(texts[i: i + size], langs[i: i + size], min_words[i: i + size]) for i in range(0, len(texts), size)]
        return FieldVerdicts.concat(self._pool.map(_judge_in_worker, chunks))

    def __call__(self, batch: Batch) -> StepResult:
        n = len(batch["id"])
        langs = list(batch["lang"])
        fields = field_texts(batch, self.fields, float(self.settings.get("options_min_words", 3)))
        texts = [t for _, col, _ in fields for t in col]
        v = self._judge(texts, langs * len(fields), [w for _, _, col in fields for w in col])
        # the item is judged as a whole: a weak verdict on one field stands only when no other field is native
        names = [name for name, _, _ in fields]
        weak = v.weak.reshape(len(fields), n)
        native = v.native.reshape(len(fields), n).any(axis=0)
        strong: list[str | None] = [None] * n
        first_weak: list[str | None] = [None] * n
        for k in np.flatnonzero([r is not None for r in v.reasons]):
            f, i = divmod(int(k), n)
            chosen = first_weak if weak[f, i] else strong
            if chosen[i] is None:
                chosen[i] = f"{names[f]}: {v.reasons[k]}, expected {langs[i]}"
        reasons = [s if s is not None else None if native[i] else w
                   for i, (s, w) in enumerate(zip(strong, first_weak, strict=True))]
        return StepResult(batch, [r is None for r in reasons], reasons)
