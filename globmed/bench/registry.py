"""The model registry (``models.yaml``) and ad-hoc model specs from the command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from globmed.bench.backends import BACKENDS
from globmed.bench.scoring import MODES
from globmed.errors import GlobmedError, UnknownNameError


@dataclass
class ModelSpec:
    name: str
    backend: str
    model: str
    modes: list[str] = field(default_factory=lambda: ["letter"])
    max_new_tokens: int = 32
    """Reply budget of the ``generative`` mode on closed tasks (a letter or yes/no/maybe)."""
    open_max_new_tokens: int = 256
    """Reply budget of the ``generative`` mode on open QA (a free-text answer compared with references)."""
    cot_max_new_tokens: int = 512
    """Reply budget of the ``generative_cot`` mode (reasoning, then the final answer)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Backend settings (chat, trust_remote_code, base_url, api_key_env, concurrency, tokenizer, ...)."""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise UnknownNameError(f"backend of model {self.name!r}", self.backend, BACKENDS)
        bad = [m for m in self.modes if m not in MODES]
        if bad:
            raise GlobmedError(f"model {self.name!r}: unknown mode(s) {bad}; valid: {', '.join(MODES)}")
        for key in BUDGETS:
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise GlobmedError(f"model {self.name!r}: {key} must be a positive integer, got {value!r}")

    def max_new_tokens_for(self, mode: str) -> int:
        return self.cot_max_new_tokens if mode == "generative_cot" else self.max_new_tokens

    def budgets_for(self, mode: str) -> dict[str, int]:
        """Keyword arguments of a generative scorer: the reply budget(s) of ``mode``."""
        budgets = {"max_new_tokens": self.max_new_tokens_for(mode)}
        if mode != "generative_cot":  # CoT's budget covers reasoning and answer, open or closed
            budgets["open_max_new_tokens"] = self.open_max_new_tokens
        return budgets


BUDGETS = ("max_new_tokens", "open_max_new_tokens", "cot_max_new_tokens")


@cache
def registry_data() -> dict[str, Any]:
    text = resources.files("globmed.bench").joinpath("models.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_models_file(path: str | Path | None) -> dict[str, Any]:
    """The package's registry, with the ``models:`` and ``groups:`` of a user's own registry file
    (``--models-file``, the same format as models.yaml) added over it (a user's entry of the same
    name wins)."""
    base = registry_data()
    if path is None:
        return base
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GlobmedError(f"--models-file {path}: cannot read it ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise GlobmedError(f"--models-file {path}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models", {}), dict) \
            or not isinstance(data.get("groups", {}), dict) or not (data.get("models") or data.get("groups")):
        raise GlobmedError(f"--models-file {path}: expected a mapping with `models:` (name -> backend, model, ...) "
                           "and/or `groups:` (name -> list of model names), as globmed/bench/models.yaml")
    for name, entry in (data.get("models") or {}).items():
        if not isinstance(entry, dict):
            raise GlobmedError(f"--models-file {path}: model {name!r} must be a mapping (backend, model, ...)")
    return {"models": {**base["models"], **(data.get("models") or {})},
            "groups": {**base.get("groups", {}), **(data.get("groups") or {})}}


ENDPOINT_PREFIX = "openai:"


def endpoint_spec(value: str, api_key_env: str | None = None, name: str | None = None,
                  modes: list[str] | None = None) -> ModelSpec | None:
    """``openai:MODEL@BASE_URL`` (the ``openai:`` prefix optional when the URL is http(s)): a model
    behind an OpenAI-compatible endpoint (a ``vllm serve``, a hosted API). Named ``MODEL@BASE_URL``
    (credentials in the URL left out) unless ``name`` is given; the key is read from the environment
    variable ``api_key_env`` (default ``OPENAI_API_KEY``). ``None`` when ``value`` is no such spec."""
    model, sep, url = value.removeprefix(ENDPOINT_PREFIX).partition("@")
    if not sep or not model or not url.startswith(("http://", "https://")):
        if value.startswith(ENDPOINT_PREFIX):
            raise GlobmedError(f"{value!r}: expected openai:MODEL@BASE_URL, e.g. "
                               "openai:Qwen/Qwen3-8B@http://localhost:8000/v1")
        return None
    parts = urlsplit(url)
    where = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl().rstrip("/")
    return ModelSpec(name=name or f"{model}@{where}", backend="openai", model=model,
                     modes=modes or ["generative"],
                     settings={"base_url": url, "api_key_env": api_key_env or "OPENAI_API_KEY"})


def spec_from_entry(name: str, entry: dict[str, Any]) -> ModelSpec:
    entry = dict(entry)
    try:
        backend, model = entry.pop("backend"), entry.pop("model")
    except KeyError as exc:
        raise GlobmedError(f"models.yaml: model {name!r} lacks {exc.args[0]!r}") from None
    modes = entry.pop("modes", ["letter"])
    budgets = {k: entry.pop(k) for k in BUDGETS if k in entry}
    return ModelSpec(name=name, backend=backend, model=model, modes=list(modes), settings=entry, **budgets)


def resolve_models(names: str, models_file: str | Path | None = None) -> list[ModelSpec]:
    """Comma-separated registry names and/or group names -> specs (in order, without repeats); the
    registry is models.yaml plus ``models_file`` (see :func:`load_models_file`)."""
    data = load_models_file(models_file)
    models, groups = data["models"], data.get("groups", {})
    out: list[str] = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name in groups:
            out.extend(groups[name])
        elif name in models:
            out.append(name)
        else:
            raise UnknownNameError("model or model group", name, [*models, *groups])
    missing = [n for n in out if n not in models]
    if missing:
        raise GlobmedError(f"model group(s) name unknown model(s) {missing}")
    return [spec_from_entry(n, models[n]) for n in dict.fromkeys(out)]


def adhoc_spec(model: str, backend: str = "transformers", modes: list[str] | None = None,
               name: str | None = None, **settings: Any) -> ModelSpec:
    """A spec for ``--model PATH``: named after the folder (or file) unless ``name`` is given."""
    path = Path(model)
    ggufs = sorted(path.glob("*.gguf")) if path.is_dir() and not (path / "config.json").exists() else []
    if len(ggufs) == 1:
        path = ggufs[0]
    label = name or (path.stem if path.suffix == ".gguf" else path.name) or model
    return ModelSpec(name=label, backend=backend, model=model, modes=modes or ["letter", "cloze"],
                     settings={k: v for k, v in settings.items() if v is not None})
