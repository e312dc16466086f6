"""Hand the memory of a large request back to the operating system once it is answered.

A 9 MiB body becomes about 40 MB of Python objects, and the customers built from it as much
again. Python frees them when the answer is sent; this module makes the process give the memory
back too, on glibc (elsewhere, macOS or musl, everything here does nothing).

* :func:`run_with_malloc`: ``mockserver serve`` runs itself again, before it loads anything, with
  ``PYTHONMALLOC=malloc``, so every Python object comes from glibc's ``malloc``. Python's own
  allocator hands a 1 MiB arena back only once every object in it is freed, and the few objects
  that outlive a large request (free lists, caches, prepared statements, the journal) are spread
  over the arenas the request filled: a worker kept 25 to 40 MB after the first 9 MiB create and
  5 to 25 MB more after each of the next. glibc returns every free page, whatever its neighbours.
* :func:`configure` fixes the mmap threshold at :data:`MMAP_THRESHOLD` (glibc otherwise raises it
  to the largest block freed so far, up to 32 MB, and later large blocks came from a heap whose
  free top is kept): blocks that large get their own mapping, returned the moment they are
  freed. And it gives every thread the same heap: with one heap per thread, each request thread
  that had served a large create kept about 14 MB of it.
* :func:`release` (``malloc_trim(0)``) returns the free pages of the heap. It costs about a
  millisecond per hundred MB of heap, so it runs only after a request whose body had at least
  :data:`RELEASE_AFTER_BYTES`.

What a worker keeps after that, about 14 MB after the first large create and nothing more after
the next ones answered by the same thread (each request thread keeps its own), is a block
allocated outside Python's allocators and kept for reuse (which library keeps it is not
identified yet). docs/reliability.md has the measurements.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

MMAP_THRESHOLD = 1024 * 1024
RELEASE_AFTER_BYTES = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)
_M_ARENA_MAX = -8


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


def run_with_malloc() -> None:
    """Run this program again, at once, with Python's objects allocated by glibc's ``malloc``.

    ``PYTHONMALLOC=malloc`` (read only when the interpreter starts, hence the ``exec``).
    Python's own allocator hands a 1 MiB arena back only once every object in it is freed, and
    the few objects that outlive a large request (free lists, caches, statements) are spread over
    the arenas it filled; glibc's :func:`release` returns every free page however its
    neighbours are used. Nothing happens elsewhere than on glibc, when the environment names an
    allocator already (also after the ``exec``), or when the ``exec`` fails.
    """
    if _LIBC is None or "PYTHONMALLOC" in os.environ:
        return
    os.environ["PYTHONMALLOC"] = "malloc"
    try:
        os.execv(sys.executable, sys.orig_argv)
    except OSError:
        del os.environ["PYTHONMALLOC"]


def configure() -> None:
    """Give every block of :data:`MMAP_THRESHOLD` or more its own mapping, and let every thread
    allocate from one heap (glibc only; before the process starts its threads)."""
    if _LIBC is not None:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        _LIBC.mallopt(_M_ARENA_MAX, 1)


def release() -> None:
    """Return the pages of freed blocks to the operating system (glibc only)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def release_after(size: int | None) -> bool:
    """Whether a request of ``size`` bytes is large enough to :func:`release` after."""
    return size is not None and size >= RELEASE_AFTER_BYTES
