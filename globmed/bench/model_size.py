"""A model's size as people write it (``135M``, ``1.7B``, ``8B``), read from its name or Hub id.

Bench records carry it (``size``) so the leaderboard can show and sort by it; records written
before they did get it from the model name at report time. No size in the name: ``None``.
"""

from __future__ import annotations

import re

# a number and a unit, not glued to a letter or digit before it (the "3" of "Qwen3", the "A3B" of
# "30B-A3B" are not sizes) nor to a letter after it ("4o" of gpt-4o, "2k" of a context length "2ktok")
_SIZE = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)([MmBbTt])(?![A-Za-z0-9])")
_SCALE = {"m": 1e6, "b": 1e9, "t": 1e12}


def size_label(*names: str | None) -> str | None:
    """The first size found in ``names`` (e.g. a model id, then a display name), as ``1.7B``."""
    for name in names:
        m = _SIZE.search(name or "")
        if m:
            return f"{m.group(1)}{m.group(2).upper()}"
    return None


def size_params(label: str | None) -> float | None:
    """The number of parameters a label stands for (``1.7B`` -> 1.7e9); None when it is not one."""
    m = _SIZE.fullmatch(label or "")
    return float(m.group(1)) * _SCALE[m.group(2).lower()] if m else None
