"""glibc ``malloc`` settings for the numpy-heavy commands (``globmed build``, ``globmed release``).

The quality steps and the release gates work in slices: each slice makes arrays of a few to some tens
of megabytes and frees them. glibc serves a block that large with its own ``mmap`` and gives it back
with ``munmap`` when it is freed (or trims the heap top back to the system), so the next slice's arrays
are fresh pages again: the kernel zeroes and maps every page on first touch. Measured on a 500k-entry
release gate, that was about a fifth of the command's CPU time, all of it system time.

:func:`keep_freed_memory` serves blocks up to 32 MB (glibc's ceiling for this setting) from the heap
and keeps up to 128 MB of freed heap for reuse (more would show in the build's memory peak). Forked workers inherit the settings. Elsewhere than on
glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
"""Blocks below this come from the heap (glibc accepts at most 32 MB on 64-bit systems)."""
TRIM_THRESHOLD = 128 << 20
"""Freed memory at the top of the heap kept for reuse rather than given back to the system."""


def keep_freed_memory() -> bool:
    """Apply the settings above to this process; whether the C library took them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no mallopt: not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
