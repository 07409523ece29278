"""Quality control of the build: a chain of small steps over the entry stream.

Streaming steps (:class:`globmed.pipeline.Step`, on batches as they are read):
``field_limits`` -> ``normalise`` -> ``language_id`` -> ``task_rules``. Whole-build steps
(:class:`globmed.pipeline.TableStep`, after split assignment, test rows first):
``translation_rules`` -> ``exact_dedup`` -> ``near_dedup`` -> ``decontamination``.
Everything is configured in ``quality.yaml`` beside this module; per-language language-ID
thresholds are ``lid_*`` keys in ``languages.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence

from globmed.pipeline import Step, TableStep
from globmed.quality.config import QualityConfig, load_quality_config
from globmed.quality.decontam import DecontaminationStep
from globmed.quality.dedup import ExactDedupStep, NearDedupStep
from globmed.quality.langid import LanguageIdStep, default_model_path
from globmed.quality.limits import FieldLimitsStep
from globmed.quality.near_duplicates import Definition
from globmed.quality.normalize import NormaliseStep
from globmed.quality.rules import TaskRulesStep, TranslationRulesStep
from globmed.quality.signatures import SignatureStore

__all__ = ["QualityConfig", "load_quality_config", "quality_steps", "default_model_path"]


def quality_steps(config: QualityConfig | None = None, langs: Sequence[str] | None = None,
                  *, skip: Sequence[str] = ()) -> list[Step | TableStep]:
    """The configured steps in order (``skip``: step names to leave out)."""
    config = config or load_quality_config()
    dedup = config.section("dedup")
    workers = int(config.section("langid").get("workers", 1))
    store = SignatureStore(Definition.from_settings(dedup), workers)
    limits = config.data.get("limits")  # optional: a quality.yaml without it sets no size limits
    makers = {
        "field_limits": lambda: FieldLimitsStep(limits, config.origin) if limits else None,
        "normalise": lambda: NormaliseStep(config.section("normalise")),
        "language_id": lambda: LanguageIdStep(config, list(langs) if langs else None),
        "task_rules": lambda: TaskRulesStep(config.section("rules")),
        "translation_rules": lambda: TranslationRulesStep(config.section("rules")),
        "exact_dedup": lambda: ExactDedupStep(store) if dedup.get("exact", True) else None,
        "near_dedup": lambda: NearDedupStep(dedup, store) if dedup.get("near", True) else None,
        "decontamination": lambda: DecontaminationStep(config.section("decontamination"), store, config.external),
    }
    unknown = set(skip) - set(makers)
    if unknown:
        raise ValueError(f"unknown quality step(s) {sorted(unknown)}; valid: {', '.join(makers)}")
    steps = [make() for name, make in makers.items() if name not in skip]
    return [s for s in steps if s is not None]


def step_names() -> tuple[str, ...]:
    return ("field_limits", "normalise", "language_id", "task_rules", "translation_rules", "exact_dedup", "near_dedup",
            "decontamination")


__all__ += ["step_names"]
