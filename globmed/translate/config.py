"""The translation config: one YAML file (see ``recipes/translate/``), keys checked.

API keys are never part of the config: ``api_key_env`` names the environment variable
that holds the key, and the key is read from the environment when the backend starts.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from globmed.errors import GlobmedError, UnknownNameError
from globmed.user_cache import cache_root

BACKENDS: tuple[str, ...] = ("openai_chat", "seq2seq")
"""``openai_chat``: any OpenAI-compatible chat-completions server (hosted APIs, vLLM);
``seq2seq``: a local transformers model (NLLB-200, M2M-100, MADLAD-400)."""

MT_FAMILIES: tuple[str, ...] = ("nllb", "m2m100", "madlad")
RESPONSE_FORMATS: tuple[str, ...] = ("json_object", "json_schema", "none")
DEFAULT_CACHE = cache_root() / "translate.sqlite"


@dataclass
class TranslateConfig:
    backend: str
    model: str
    source_lang: str = "en"
    # openai_chat
    endpoints: list[str] = field(default_factory=list)
    api_key_env: str | None = None
    prompts: Path | None = None
    temperature: float = 0.0
    max_tokens: int = 4096
    response_format: str = "json_object"
    concurrency: int = 8
    max_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    timeout_s: float = 120.0
    # seq2seq
    family: str = "nllb"
    batch_size: int = 16
    device: str = "auto"
    max_new_tokens: int = 512
    num_beams: int = 1
    # shared
    cache: Path = DEFAULT_CACHE
    backward: bool = False
    """Also translate each translation back into ``source_lang`` and score it with chrF."""
    language_id: bool = False
    """Also run the quality step's language identifier (``globmed.quality``): a translation whose
    question or context does not read as the target language goes to the rejects."""
    min_score: float | None = None
    """Translations whose score is below this go to the rejects (``None``: keep every scored one)."""
    chunk_size: int = 64
    """Entries handed to the backend at a time (the progress bar and the cache advance per chunk)."""

    @property
    def system(self) -> str:
        """``<backend>:<model>``, stored in each translated entry's provenance."""
        return f"{self.backend}:{self.model}"

    def to_report(self) -> dict[str, Any]:
        """The settings as shown in reports (there is no secret in them: only the key's env var name)."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


def config_from_dict(data: dict[str, Any], origin: str = "config") -> TranslateConfig:
    if not isinstance(data, dict):
        raise GlobmedError(f"{origin}: expected a mapping of settings, got {type(data).__name__}")
    data = dict(data)
    known = {f.name for f in dataclasses.fields(TranslateConfig)}
    unknown = sorted(set(data) - known - {"endpoint"})
    if unknown:
        raise GlobmedError(f"{origin}: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    if "endpoint" in data:
        data["endpoints"] = [data.pop("endpoint"), *(data.get("endpoints") or [])]
    for name in ("backend", "model"):
        if not data.get(name):
            raise GlobmedError(f"{origin}: `{name}` is required")
    if data["backend"] not in BACKENDS:
        raise UnknownNameError("translation backend", data["backend"], BACKENDS)
    if isinstance(data.get("endpoints"), str):
        data["endpoints"] = [data["endpoints"]]
    for key in ("prompts", "cache"):
        if data.get(key) is not None:
            data[key] = Path(os.path.expanduser(str(data[key])))
    cfg = TranslateConfig(**data)
    if cfg.backend == "openai_chat" and not cfg.endpoints:
        raise GlobmedError(f"{origin}: backend openai_chat needs `endpoint` or `endpoints` (base URLs ending in /v1)")
    if cfg.family not in MT_FAMILIES:
        raise UnknownNameError("mt model family", cfg.family, MT_FAMILIES)
    if cfg.response_format not in RESPONSE_FORMATS:
        raise UnknownNameError("response_format", cfg.response_format, RESPONSE_FORMATS)
    for name in ("concurrency", "batch_size", "chunk_size", "max_tokens", "max_new_tokens"):
        if int(getattr(cfg, name)) < 1:
            raise GlobmedError(f"{origin}: `{name}` must be at least 1")
    if cfg.min_score is not None and not 0.0 <= cfg.min_score <= 1.0:
        raise GlobmedError(f"{origin}: `min_score` must be in [0, 1]")
    if cfg.api_key_env is not None and not isinstance(cfg.api_key_env, str):
        raise GlobmedError(f"{origin}: `api_key_env` is the NAME of an environment variable, not the key")
    return cfg


def load_config(path: str | Path, **overrides: Any) -> TranslateConfig:
    """Read a YAML config; ``overrides`` (non-None values) win over the file's settings.

    Relative ``prompts`` and ``cache`` paths are relative to the config file's folder.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise GlobmedError(f"translation config {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise GlobmedError(f"translation config {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise GlobmedError(f"translation config {path}: expected a mapping of settings")
    data.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("prompts", "cache"):
        value = data.get(key)
        if value is not None and not Path(os.path.expanduser(str(value))).is_absolute():
            data[key] = path.parent / str(value)
    return config_from_dict(data, str(path))
