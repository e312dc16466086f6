"""Hand the memory of a large request back to the operating system once it is answered.

A 9 MiB body becomes about 40 MB of Python objects, and the customers built from it as much
again. Python frees them when the answer is sent, but glibc kept the memory: a ``--workers 2``
worker that answered one such create stayed about 40 MB above its size before it (82 MB instead
of 43, under gunicorn's gthread worker), however long it then idled, for two reasons this module
removes (16 to 29 MB stayed there).

* glibc raises its mmap threshold to the size of the largest block freed so far (up to 32 MB), so
  after the first large body every later one (the body, the parser's buffers, the answer) came
  from a thread's malloc arena instead of its own mapping, and an arena's free top is kept.
  :func:`configure` fixes the threshold at :data:`MMAP_THRESHOLD` (which also fixes the trim
  threshold): blocks that large always get their own mapping, returned the moment they are freed.
* Freed small blocks stay in the arenas' free lists. :func:`release` (``malloc_trim(0)``) returns
  their pages. It costs about a millisecond per hundred MB of heap, so it runs only after a
  request whose body had at least :data:`RELEASE_AFTER_BYTES`.

Elsewhere than on glibc (macOS, musl) both do nothing.

Under the buffering worker (:mod:`mockserver.httpworker`) a worker stayed about 45 MB above its
size before such a request. Part of it was the request's bytes, held by the parser that a
kept-alive connection keeps (:class:`~mockserver.httpworker.SingleChunk` lets go of them now).
What stays after that (25 to 35 MB after the first 9 MiB create) is out of this module's reach:
pymalloc's 1 MiB arenas, which go back only when every object in them is freed and which the few
objects that outlive a request keep (12 to 30 MB of empty pools), and a 16 MiB block a C
extension allocated outside Python's allocators (not identified yet).
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

MMAP_THRESHOLD = 1024 * 1024
RELEASE_AFTER_BYTES = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)


def _glibc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library the interpreter runs on
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


_LIBC = _glibc()


def configure() -> None:
    """Give every block of :data:`MMAP_THRESHOLD` or more its own mapping (glibc only)."""
    if _LIBC is not None:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release() -> None:
    """Return the pages of freed blocks to the operating system (glibc only)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def release_after(size: int | None) -> bool:
    """Whether a request of ``size`` bytes is large enough to :func:`release` after."""
    return size is not None and size >= RELEASE_AFTER_BYTES
