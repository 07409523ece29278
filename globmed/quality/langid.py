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
from contextlib import suppress
from itertools import chain, compress, repeat
from typing import Any

import numpy as np

from globmed.errors import GlobmedError
from globmed.languages import get_language, registry
from globmed.pipeline import Batch, Step, StepResult
from globmed.quality.config import QualityConfig
from globmed.quality.lid_model import top_labels
from globmed.quality.lid_parts import (
    LATIN_WORD,
    LID_ENV,
    FieldVerdicts,
    LangPlan,
    default_model_path,
    field_texts,
    item_reasons,
    load_fasttext,
    py3langid_batch,
    script_tables,
)
from globmed.quality.script_counts import row_counts, script_classes, script_counts

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
        self._py3_batch = None
        if any(self.plans[c].py3langid for c in self.langs):  # loaded now: forked build workers inherit it
            with suppress(ImportError):  # (else reported where it is needed)
                self._py3_batch = py3langid_batch(tuple(sorted(self.py3_to_code)))
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
        # the byte tables of the script check, built here (a build's forked workers inherit them)
        self.classes = script_classes(self.table, self.latin, self.kana)
        # A text that no identifier's claim could count against (_claim: no other registry language's
        # script holds half its letters, or the language needs kana the text lacks) is kept whatever the
        # identifiers say: it is not identified. Looked for in the languages whose script no other language
        # shares (elsewhere another language of the same script can always claim the text); only when every
        # language an identifier can name has a plan.
        named = {*self.ft_to_code.values(), *self.py3_to_code.values(), *self.ld_to_code.values()}
        scripts_of = [p.script for p in plans]
        self._arrays["solo_script"] = np.array([scripts_of.count(p.script) == 1 for p in plans], bool) \
            if named <= set(self.plans) else np.zeros(len(plans), bool)
        # the top label alone decides when no language has two labels and acceptance needs a majority
        # (then a language's probability can reach its threshold only as the top label); else the top 3
        self._k = 1 if all(len(p.fasttext) <= 1 and p.accept >= 0.5 for p in plans) else 3

    def release_py3(self) -> None:
        """Let py3langid's model go (:attr:`py3_batch` loads it again when next needed)."""
        self._py3_batch = None
        py3langid_batch.cache_clear()

    @property
    def py3_batch(self):
        """py3langid over whole batches (vectorised; the same results as its ``classify``)."""
        if self._py3_batch is None:
            self._py3_batch = py3langid_batch(tuple(sorted(self.py3_to_code)))
        return self._py3_batch

    @property
    def py3(self):
        """py3langid's own identifier, restricted to the registry's labels."""
        return self.py3_batch.ident

    def check(self, texts: list[str], langs: list[str]) -> list[str | None]:
        """The reason each text is not in its language (``None``: kept), weak verdicts included."""
        return self.judge(texts, langs).reasons

    def judge(self, texts: list[str], langs: list[str], min_words: list[float] | None = None) -> FieldVerdicts:
        """Verdicts on ``texts``; a text with fewer than ``min_words[i]`` words (of any script) is not checked."""
        n = len(texts)
        if not n:
            return FieldVerdicts([], np.zeros(0, bool), np.zeros(0, bool))
        a = self._arrays
        distinct_langs = set(langs)
        try:
            if len(distinct_langs) == 1:  # a build's batch: one source file, one language
                plan_of = np.full(n, self._plan_index[langs[0]], np.int64)
            else:
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
        # (the key of a text is one string, "text NUL language NUL few", not a tuple: strings are not tracked by
        # the garbage collector, so a memo of many keys does not make its collections slower)
        m, memo, sub = self.max_chars, self._memo, LATIN_WORD.sub
        rows = todo.tolist()
        few_rows = few[todo].tolist()
        seen = [t[:m] for t in map(texts.__getitem__, rows)]
        for j in np.flatnonzero(strip[todo]).tolist():
            seen[j] = sub(" ", texts[rows[j]][:4 * m])[:m]
        if len(distinct_langs) == 1:
            tail = (f"\0{langs[0]}\0" + "0", f"\0{langs[0]}\0" + "1")
            keys = list(map(str.__add__, seen, map(tail.__getitem__, few_rows)))
        else:
            tails = {lang: (f"\0{lang}\0" + "0", f"\0{lang}\0" + "1") for lang in distinct_langs}
            keys = [t + tails[langs[i]][f] for t, i, f in zip(seen, rows, few_rows, strict=True)]
        first = dict(zip(keys, range(len(keys)), strict=True))  # distinct keys, in order of first appearance
        found = {key: memo[key] for key in first if key in memo}
        new = [key for key in first if key not in found]
        at = [first[key] for key in new]
        identified = self._identify([seen[j] for j in at], [langs[rows[j]] for j in at], [few_rows[j] for j in at])
        found.update(zip(new, identified, strict=True))
        if len(memo) + len(new) > self.memo_size:  # bounded: start over rather than grow
            memo.clear()
        memo.update(zip(new, identified, strict=True))
        # most verdicts are (None, False): only the others are written
        verdicts = list(map(found.__getitem__, keys))
        has_reason = off_script.copy()
        for j in compress(range(len(verdicts)), [reason is not None for reason, _ in verdicts]):
            i = rows[j]
            reasons[i], weak[i] = verdicts[j]
            has_reason[i] = True
        native = checked & ~mixed & ~has_reason
        return FieldVerdicts(reasons, weak, native)

    def _claims(self, texts: list[str], langs: list[str], claimed: list[str], few: list[bool]) -> list[bool | None]:
        """Per text, whether a claim that it is in ``claimed`` (not its ``lang``) is weak; ``None``: no vote at
        all (the text is not written in the claimed language's script)."""
        if not texts:
            return []
        out: list[bool | None] = []
        for counts, lang, other, is_few in zip(row_counts(texts, self.classes).tolist(), langs, claimed, few,
                                               strict=True):
            letters = counts[0]  # shares of the letters in a script row: 0.0 without letters
            claimed_plan, own = self.plans[other], self.plans[lang].script
            if (counts[claimed_plan.script] / letters if letters else 0.0) < 0.5:
                out.append(None)
            elif claimed_plan.kana_min and counts[self.kana] < claimed_plan.kana_min:
                out.append(None)  # Japanese without kana: Han-only text (a Chinese explanation, a term list)
            else:
                # Han-only text claimed zh in a ja row (or the reverse): both scripts cover it, no identifier tells
                shared = (own != self.latin and own != claimed_plan.script
                          and (counts[own] / letters if letters else 0.0) >= 0.9)
                out.append(is_few or shared)
        return out

    def _claim(self, text: str, lang: str, claimed: str, few: bool) -> bool | None:
        """:meth:`_claims` of one text."""
        return self._claims([text], [lang], [claimed], [few])[0]

    def _unclaimed(self, texts: list[str], plan_of: np.ndarray) -> np.ndarray:
        """Per text, whether no identifier's claim of another language could count (``_claim`` would be
        ``None`` for every other registry language): the text is kept whatever they say."""
        out = np.zeros(len(texts), bool)
        rows = np.flatnonzero(self._arrays["solo_script"][plan_of])
        if not len(rows):
            return out
        counts = row_counts([texts[i] for i in rows.tolist()], self.classes)
        letters = counts[:, 0].astype(np.float64)
        a = self._arrays
        # as _claim: the share of the letters in each language's script, and the kana a language needs
        share = np.divide(counts[:, a["script"]], letters[:, None], out=np.zeros((len(rows), len(a["script"]))),
                          where=letters[:, None] > 0)
        kana_min = a["kana_min"][None, :]
        claimable = (share >= 0.5) & ~((kana_min > 0) & (counts[:, [self.kana]] < kana_min))
        claimable[np.arange(len(rows)), plan_of[rows]] = False  # its own language is no claim against it
        out[rows] = ~claimable.any(axis=1)
        return out

    def _identify(self, texts: list[str], langs: list[str], few: list[bool]) -> list[tuple[str | None, bool]]:
        """fastText, then the fallbacks for what it leaves undecided, on texts that passed the script check."""
        out: list[tuple[str | None, bool]] = [(None, False)] * len(texts)
        if not texts:
            return out
        arrays = self._arrays
        plan_of = np.fromiter(map(self._plan_index.__getitem__, langs), np.int64, count=len(texts))
        # a text no identifier could claim for another language is kept without asking them
        asked = np.flatnonzero(~self._unclaimed(texts, plan_of))
        if len(asked) < len(texts):
            texts, langs, few = ([x[j] for j in asked.tolist()] for x in (texts, langs, few))
            plan_of = plan_of[asked]
        else:
            asked = None
        n, k = len(texts), self._k
        found: list[tuple[str | None, bool]] = [(None, False)] * n
        if not n:
            return out
        # fastText reads each distinct line once (a text can come with two languages, or as weak and not)
        lines = [t.replace("\n", " ") for t in texts]
        # fastText label -> plan number of its registry language (-1: not a registry language)
        code_of = self._label_plans
        if k == 1:
            best, best_p = top_labels(self.model, lines)
            top = np.fromiter(map(code_of.get, best, repeat(-1)), np.int64, count=n)
            p = np.array(best_p, np.float64)
            mine = np.where(top == plan_of, p, 0.0)
        else:
            distinct = list(dict.fromkeys(lines))
            labels, probs = self.model.predict(distinct, k=k)
            if len(distinct) < n:
                where = {line: j for j, line in enumerate(distinct)}
                labels, probs = [labels[where[line]] for line in lines], [probs[where[line]] for line in lines]
            flat = [code_of.get(lab, -1) for labs in labels for lab in (*labs, *("",) * (k - len(labs)))]
            lab_plan = np.array(flat, np.int64).reshape(n, k)
            prob = np.zeros((n, k))
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
        claiming = np.flatnonzero(rejected | ruled_out).tolist()
        claims = self._claims([texts[j] for j in claiming], [langs[j] for j in claiming],
                              [codes[top[j]] for j in claiming], [few[j] for j in claiming])
        for j, weak in zip(claiming, claims, strict=True):
            if weak is None:
                continue  # no vote: left to the fallbacks
            decided[j] = True
            note = f"; {langs[j]} ruled out" if ruled_out[j] else ""
            found[j] = (f"looks like {codes[top[j]]} (fasttext {p[j]:.2f}{note})", weak)
        undecided = np.flatnonzero(~decided).tolist()
        for j, verdict in zip(undecided, self._fallbacks([texts[j] for j in undecided], [langs[j] for j in undecided],
                                                         [few[j] for j in undecided]), strict=True):
            found[j] = verdict
        if asked is None:
            return found
        for j, verdict in zip(asked.tolist(), found, strict=True):
            out[j] = verdict
        return out

    def _fallbacks(self, texts: list[str], langs: list[str], few: list[bool]) -> list[tuple[str | None, bool]]:
        """py3langid (a whole batch at once), then langdetect, for texts fastText left undecided."""
        out: list[tuple[str | None, bool]] = [(None, False)] * len(texts)
        py3 = [i for i, lang in enumerate(langs) if self.plans[lang].py3langid]
        if py3:
            labels, probs = self.py3_batch.classify([texts[i] for i in py3])
            claiming = {}  # text number -> the registry language py3langid claims it for, confidently
            for i, label, p in zip(py3, labels, probs, strict=True):
                claimed = self.py3_to_code.get(label, label)
                if label not in self.plans[langs[i]].py3langid and p >= self.plans[langs[i]].reject \
                        and claimed in self.plans:
                    claiming[i] = claimed
            claims = dict(zip(claiming, self._claims([texts[i] for i in claiming], [langs[i] for i in claiming],
                                                     list(claiming.values()), [few[i] for i in claiming]),
                              strict=True))
            for i, label, p in zip(py3, labels, probs, strict=True):
                plan = self.plans[langs[i]]
                if label in plan.py3langid:
                    continue  # its pick among the registry languages it knows
                claimed = self.py3_to_code.get(label, label)
                if p >= plan.reject and claimed in self.plans:
                    weak = claims[i]
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
        """Stop the worker processes and let py3langid's model (about 250 MB) go; a later call starts and
        loads them again."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
        self.identifier.release_py3()

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
        langs = list(batch["lang"])
        fields = field_texts(batch, self.fields, float(self.settings.get("options_min_words", 3)))
        texts = list(chain.from_iterable(col for _, col, _ in fields))
        v = self._judge(texts, langs * len(fields), list(chain.from_iterable(col for _, _, col in fields)))
        reasons = item_reasons(v, [name for name, _, _ in fields], langs)
        return StepResult(batch, [r is None for r in reasons], reasons)
