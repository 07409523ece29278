"""The malloc settings of the numpy-heavy commands: freed arrays' memory is reused, not mapped afresh."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings")

# how many more bytes glibc holds in mmap'ed blocks (mallinfo2().hblkhd) while a 20 MB array lives
_PROBE = r"""
import ctypes, sys
import numpy as np
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
if not hasattr(libc, "mallinfo2"):
    print("skip"); sys.exit()
libc.mallinfo2.restype = Info
if sys.argv[1] == "tuned":
    from globmed.allocator import keep_freed_memory
    assert keep_freed_memory()
before = libc.mallinfo2().hblkhd
a = np.ones(20 << 17)  # 20 MB
mapped = libc.mallinfo2().hblkhd - before
print(mapped)
"""


def _probe(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True).stdout.split()
    if out == ["skip"]:
        pytest.skip("no mallinfo2 (not glibc 2.33+)")
    return int(out[0])


def test_large_arrays_come_from_the_reused_heap_once_tuned():
    mapped = _probe("default")
    assert mapped >= 20 << 20  # glibc's default: a block this large is its own mmap, unmapped when freed
    mapped = _probe("tuned")
    assert mapped == 0  # from the heap, whose freed top is kept for the next array


def test_the_cli_tunes_only_the_numpy_heavy_commands(monkeypatch):
    import globmed.allocator
    from globmed.cli import main

    calls = []
    monkeypatch.setattr(globmed.allocator, "keep_freed_memory", lambda: calls.append(1) or True)
    assert main(["languages"]) == 0
    assert not calls
    assert main(["build", "--source", "nonesuch", "--out", "/nonexistent/x"]) != 0  # a clear error, after tuning
    assert calls == [1]
