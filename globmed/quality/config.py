"""The quality configuration: ``quality.yaml`` beside this module, per-language overrides from
``languages.yaml`` (a language block's ``lid_*`` keys), and overrides from the command line."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from globmed.errors import GlobmedError
from globmed.languages import get_language

LANG_KEYS = ("lid_accept_prob", "lid_reject_prob", "lid_rule_out_prob", "lid_min_letters",
             "lid_script_min_share")


@dataclass
class QualityConfig:
    """The parsed ``quality.yaml`` (sections: normalise, langid, rules, dedup, decontamination, scripts)."""

    data: dict[str, Any]
    origin: str = "globmed/quality/quality.yaml"
    external: list[Path] = field(default_factory=list)

    def section(self, name: str) -> dict[str, Any]:
        try:
            return self.data[name]
        except KeyError:
            raise GlobmedError(f"{self.origin}: section {name!r} is missing") from None

    def lang_setting(self, lang: str, key: str) -> Any:
        """A ``langid`` setting for one language: its languages.yaml key, else the default."""
        extra = get_language(lang).extra
        return extra[key] if key in extra else self.section("langid")[key]


def load_quality_config(path: Path | None = None, *, lid_model: Path | None = None,
                        external: list[Path] | None = None, workers: int | None = None) -> QualityConfig:
    """Read the shipped ``quality.yaml`` (or ``path``), then apply the explicit overrides."""
    if path is None:
        text = resources.files("globmed.quality").joinpath("quality.yaml").read_text(encoding="utf-8")
        origin = "globmed/quality/quality.yaml"
    else:
        path = Path(path)
        if not path.is_file():
            raise GlobmedError(f"--quality-config {path}: no such file")
        text, origin = path.read_text(encoding="utf-8"), str(path)
    try:
        data = copy.deepcopy(yaml.safe_load(text) or {})
    except yaml.YAMLError as exc:
        raise GlobmedError(f"{origin}: not valid YAML: {exc}") from None
    for name in ("normalise", "langid", "rules", "dedup", "decontamination", "scripts"):
        if not isinstance(data.get(name), dict):
            raise GlobmedError(f"{origin}: section {name!r} is missing or not a mapping")
    if data.get("limits") is not None and not isinstance(data["limits"], dict):
        raise GlobmedError(f"{origin}: section 'limits' is not a mapping of field -> characters")
    if lid_model is not None:
        data["langid"]["fasttext_model"] = str(lid_model)
    if workers is not None:
        data["langid"]["workers"] = workers
    files = [Path(p) for p in data["decontamination"].get("external") or []]
    files += [Path(p) for p in external or []]
    for file in files:
        if not file.is_file():
            raise GlobmedError(f"--decontaminate-against {file}: no such file")
    return QualityConfig(data, origin, files)
