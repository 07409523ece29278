"""Where globmed keeps what it caches for a user (GGUF conversions, API replies, translations, the
builds' near-duplicate memos, py3langid's unpacked model)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$GLOBMED_CACHE``, else ``~/.cache/globmed``."""
    return Path(os.environ.get("GLOBMED_CACHE", Path.home() / ".cache" / "globmed"))
