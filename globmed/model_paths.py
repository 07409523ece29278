"""The model forms that ``globmed bench`` and ``globmed train`` both take: a model folder (or Hub
id), a folder holding one ``.gguf`` file (or that file), converted once to a cached safetensors
folder, and (for the bench) a PEFT adapter folder."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from globmed.errors import GlobmedError
from globmed.user_cache import cache_root

log = logging.getLogger(__name__)


def resolve_model_path(model: str | Path) -> tuple[str, dict[str, Any]]:
    """(path or id to load, extra from_pretrained kwargs) for a folder, .gguf file or Hub id."""
    path = Path(model)
    if path.is_file() and path.suffix == ".gguf":
        return str(path.parent), {"gguf_file": path.name}
    if path.is_dir():
        ggufs = sorted(path.glob("*.gguf"))
        if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
            if len(ggufs) == 1:
                return str(path), {"gguf_file": ggufs[0].name}
            if len(ggufs) > 1:
                raise GlobmedError(f"model folder {path} holds several .gguf files; pass one file: "
                                   + ", ".join(g.name for g in ggufs))
            raise GlobmedError(f"model folder {path} has no config.json, adapter_config.json or .gguf file")
        return str(path), {}
    if path.suffix or str(model).startswith((".", "/")):
        raise GlobmedError(f"model path {model} does not exist")
    return str(model), {}  # a Hub id


def gguf_cache_dir(folder: str, gguf_file: str) -> Path:
    """Where the dequantised safetensors copy of a GGUF model is kept (keyed by path, size, mtime)."""
    src = Path(folder) / gguf_file
    stat = src.stat()
    key = hashlib.sha256(f"{src.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_root() / "gguf" / f"{src.stem}-{key}"


def convert_gguf(folder: str, gguf_file: str, trust_remote_code: bool = False) -> Path:
    """Dequantise a GGUF model once into a safetensors folder (model + tokenizer) and return it.

    Loading a GGUF file converts every tensor and rebuilds the tokenizer (about a minute for
    SmolLM2-135M on 2 CPU cores); the cached copy loads in about a second. Written to a temporary
    folder and renamed, so an interrupted conversion leaves nothing half-written.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    out = gguf_cache_dir(folder, gguf_file)
    if (out / "config.json").exists():
        return out
    log.info("converting %s to safetensors in %s (once)", gguf_file, out)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file, trust_remote_code=trust_remote_code)
    net = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, trust_remote_code=trust_remote_code)
    config = AutoConfig.from_pretrained(folder, gguf_file=gguf_file, trust_remote_code=trust_remote_code)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    plain.load_state_dict(net.state_dict())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=".tmp-"))
    plain.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    try:
        os.replace(tmp, out)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def local_model(model: str | Path, trust_remote_code: bool = False) -> str:
    """What ``from_pretrained`` loads for ``model``: the model itself, or for a GGUF model its cached
    safetensors copy (converted once)."""
    path, extra = resolve_model_path(model)
    if "gguf_file" in extra:
        return str(convert_gguf(path, extra["gguf_file"], trust_remote_code=trust_remote_code))
    return path
