"""Render dataset and model cards from the Jinja2 templates in ``dataset_cards/`` and
``model_cards/``.

Templates render in a sandboxed environment with ``StrictUndefined``: a variable the
template uses but the data lacks fails the render instead of printing nothing. The
data a card shows comes from the build report (and bench results), never typed by hand.
The YAML front matter is produced with ``yaml.safe_dump`` from a dict, not by the
template, so it is always valid YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.loaders import FunctionLoader
from jinja2.sandbox import SandboxedEnvironment

from globmed.errors import GlobmedError
from globmed.export import configs_yaml

PAPER_CITATION = """@article{yang2026globmed,
  title         = {Toward Global Large Language Models in Medicine},
  author        = {Yang, Rui and Li, Huitao and Xuan, Weihao and others},
  year          = {2026},
  eprint        = {2601.02186},
  archivePrefix = {arXiv},
  primaryClass  = {cs.CL},
  url           = {https://arxiv.org/abs/2601.02186}
}"""

TASK_CATEGORIES = {
    "mcq": ("multiple-choice", "multiple-choice-qa"),
    "yes_no_maybe": ("question-answering", "closed-domain-qa"),
    "nli": ("text-classification", "natural-language-inference"),
    "open_qa": ("question-answering", "open-domain-qa"),
}


def _load_template(package: str):
    def load(name: str):
        try:
            source = resources.files(package).joinpath(name).read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError):
            return None
        return source, None, lambda: False

    return load


def environment(package: str) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FunctionLoader(_load_template(package)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    env.filters["pct"] = lambda x, digits=1: "n/a" if x is None else f"{100 * float(x):.{digits}f}"
    return env


def render(package: str, template: str, context: Mapping[str, Any]) -> str:
    try:
        return environment(package).get_template(template).render(**context)
    except TemplateError as exc:
        raise GlobmedError(f"card template {package}/{template}: {exc}") from exc


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return label
    return "10M<n<100M"


def dataset_card_metadata(report: Mapping[str, Any]) -> dict[str, Any]:
    """The README's YAML front matter, computed from the build report."""
    langs = list(report["configs"])
    tasks = sorted(report["counts"]["by_task"])
    licenses = sorted({lic for s in report["sources"] for lic in (s.get("licenses") or [s["license"]])})
    meta: dict[str, Any] = {
        "pretty_name": "GlobMed (demo build)" if report.get("demo") else "GlobMed",
        "language": langs,
        "license": licenses[0] if len(licenses) == 1 else licenses,
        "multilinguality": "multilingual",
        "size_categories": [size_category(report["counts"]["total"])],
        "task_categories": sorted({TASK_CATEGORIES[t][0] for t in tasks}),
        "task_ids": sorted({TASK_CATEGORIES[t][1] for t in tasks}),
        "tags": ["medical", "multilingual", "low-resource-languages", "globmed"],
        "configs": configs_yaml({lang: report["splits_by_language"][lang] for lang in langs}),
    }
    if report.get("demo"):
        meta["tags"].append("demo")
    return meta


def render_dataset_card(report: Mapping[str, Any], template: str = "dataset_card.md.j2") -> str:
    """The full README.md (front matter + body) of a built dataset folder."""
    metadata = dataset_card_metadata(report)
    front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=1000)
    body = render("globmed.dataset_cards", template, {"report": report, "metadata": metadata,
                                                       "paper_citation": PAPER_CITATION})
    return f"---\n{front}---\n\n{body}"


def render_model_card(metadata: Mapping[str, Any], context: Mapping[str, Any],
                      template: str = "model_card.md.j2") -> str:
    """A model's README.md: ``metadata`` (``ModelCardData.to_dict()``, with ``model-index``) as
    YAML front matter, the body rendered from ``model_cards/`` with ``context`` (computed by
    ``globmed.model_release.card_context`` from bench results, recipe and build report)."""
    front = yaml.safe_dump(dict(metadata), sort_keys=False, allow_unicode=True, width=1000)
    body = render("globmed.model_cards", template, {**context, "metadata": metadata,
                                                     "paper_citation": PAPER_CITATION})
    return f"---\n{front}---\n\n{body}"
