"""Freed memory kept for reuse: large temporaries without a page fault per 4 KiB.

glibc's malloc serves blocks above its mmap threshold (128 KiB, raised as such blocks are
freed, up to 32 MiB) by mmap, and gives the free top of its heap back to the OS beyond a
trim threshold (twice the mmap threshold).  A step that makes several multi-megabyte
temporaries at once (a convolution's column matrix, its product, its result) goes past the
trim threshold when they are freed, so the next call gets fresh pages and faults on every
4 KiB of them: on 2 cores the forward convolution of LeNet's first layer (batch 128, 7 MB
of columns) took 11.1 ms instead of 1.9 ms, its filter gradient 9.6 ms instead of 4.9 ms.

theon therefore fixes both thresholds once, when it is imported: blocks up to
``MMAP_THRESHOLD`` (glibc's own ceiling) come from the heap, and up to ``TRIM_THRESHOLD`` of
free heap is kept.  At import, not at the first compile, because a model's set-up pays too:
initial weights drawn in float64 and cast to float32 leave the float64 block free in the
heap, where ``theon.shared``'s copy of the weights then lands without faulting (a warm
start of the 784-500-10 MLP step: graph construction 3.2 -> 2.2 ms, median of 15).  A
process using theon may thus hold up to that much freed memory.  Blocks larger than
``MMAP_THRESHOLD`` are mapped and unmapped as before.  Nothing changes where the user set
either threshold (``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` in the
environment), where ``THEON_FLAGS=keep_freed_memory=0`` (read at import: setting
``theon.config.keep_freed_memory`` later changes nothing), or where the C library has no
glibc ``mallopt``.
"""
import ctypes
import os
import sys

from ..config import config

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")

_applied = None  # None: not tried yet; else whether the thresholds were set


def keep_freed_memory():
    """Set malloc's thresholds as the module describes, once per process; returns whether
    they are set (by this call or an earlier one)."""
    global _applied
    if _applied is None:
        _applied = _apply()
    return _applied


def _apply():
    if not config.keep_freed_memory or not sys.platform.startswith("linux"):
        return False
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
