"""Hand the memory of a large request back to the operating system once it is answered.

A 9 MiB body becomes about 40 MB of Python objects, and the customers built from it as much
again. Python frees them when the answer is sent; this module makes the process give the pages
back too, on CPython with glibc (elsewhere everything here does nothing). A ``--workers 2``
worker is then within 2 to 3 MB of its size after each of three such creates (the page cache of
the SQLite connection that wrote); it kept 25 to 27 MB after the first and 36 to 46 MB after the
third (docs/reliability.md).

* :func:`outside_pymalloc`: while a request whose body has :data:`RELEASE_AFTER_BYTES` or more
  is handled, new Python objects come from glibc's ``malloc`` instead of Python's allocator
  (pymalloc). pymalloc hands one of its 1 MiB arenas back only once every object in it is freed,
  and whatever the process allocates while the request runs and keeps (a background thread's
  SQLite cursor and the weak reference its connection keeps, a refilled free list, a cache entry)
  lands in the arenas the request filled and held them: 20 to 30 MB after the first create, 10 to
  15 MB more after each of the next. The switch goes through CPython's allocator API
  (``PyMem_GetAllocator``/``PyMem_SetAllocator``): new blocks come from the raw domain's
  ``malloc``, while resizing and freeing stay pymalloc's, which hand every block that is not
  theirs to glibc, so a block of either allocator is freed correctly whenever that happens.
  Small requests never switch and keep pymalloc's speed; those that run while a large one does
  use glibc for that while.
* :func:`configure` fixes glibc's mmap threshold at :data:`MMAP_THRESHOLD` (glibc otherwise
  raises it to the largest block freed so far, up to 32 MB, and later large blocks came from a
  heap whose free top is kept): blocks that large get their own mapping, returned the moment
  they are freed.
* :func:`release` (``malloc_trim(0)``) returns the free pages of glibc's heaps. It costs about a
  millisecond per hundred MB of heap, so it runs only after a large request: in the gunicorn
  worker once its thread is done with the request (:mod:`mockserver.httpworker`; gunicorn frees
  the request's buffers after the answer is closed, and pages freed after a trim stayed, 16 MB
  after one create in three), and in the app once the answer is sent (other WSGI servers).

The switch is skipped (pymalloc stays, and with it what it keeps) when Python's allocators are
not the plain ones: ``PYTHONMALLOC`` set to another, or wrapped by debug hooks (``-X dev``, a
debug build) or tracemalloc. An allocator someone else sets while a large request runs stays.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

MMAP_THRESHOLD = 1024 * 1024
RELEASE_AFTER_BYTES = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
_RAW, _MEM, _OBJ = 0, 1, 2  # CPython's PyMemAllocatorDomain

T = TypeVar("T")


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


class _Allocator(ctypes.Structure):
    """CPython's ``PyMemAllocatorEx``: a context and its malloc, calloc, realloc and free."""

    _fields_ = [(name, ctypes.c_void_p) for name in ("ctx", "malloc", "calloc", "realloc", "free")]


def _python_api() -> Any:
    if sys.implementation.name != "cpython":
        return None
    try:
        api = ctypes.pythonapi  # called with the GIL held, as the allocator API requires
        for name in ("PyMem_GetAllocator", "PyMem_SetAllocator"):
            function = getattr(api, name)
            function.argtypes = [ctypes.c_int, ctypes.POINTER(_Allocator)]
            function.restype = None
    except (AttributeError, OSError):
        return None
    return api


_LIBC = _glibc()
_API: Any = _python_api() if _LIBC is not None else None


def configure() -> None:
    """Give every block of :data:`MMAP_THRESHOLD` or more its own mapping (glibc only)."""
    if _LIBC is not None:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release() -> None:
    """Return the pages of freed blocks to the operating system (glibc only)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


class _ServerRelease(threading.local):
    active = False  # the server running this thread's request releases after it


_server_release = _ServerRelease()


def server_releases(active: bool) -> None:
    """Say whether the server that runs this thread's request calls :func:`release` after it
    (the buffering worker does, once gunicorn has freed the request's buffers), so that the
    app does not release too (:func:`app_releases`)."""
    _server_release.active = active


def app_releases() -> bool:
    """Whether the app releases after a large request itself: unless the server said it will."""
    return not _server_release.active


def release_after(size: int | None) -> bool:
    """Whether a request of ``size`` bytes is large enough to :func:`release` after, and to be
    handled :func:`outside_pymalloc`."""
    return size is not None and size >= RELEASE_AFTER_BYTES


class _Switch:
    """Which allocator Python's object and memory domains use; glibc's while any large
    request runs (a count, since several may overlap)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.saved: dict[int, _Allocator] = {}  # pymalloc's, while glibc's are set
        self.glibc: dict[int, _Allocator] = {}

    def enter(self) -> None:
        with self.lock:
            self.running += 1
            if self.running == 1:
                self._to_glibc()

    def leave(self) -> None:
        with self.lock:
            self.running -= 1
            if self.running == 0 and self.saved:
                self._to_pymalloc()

    def _to_glibc(self) -> None:
        current = {domain: _get(domain) for domain in (_RAW, _MEM, _OBJ)}
        raw, mem, obj = current[_RAW], current[_MEM], current[_OBJ]
        plain = raw.ctx is None and mem.ctx is None and obj.ctx is None  # no hooks, no debug
        # Debug hooks and tracemalloc wrap the allocators (with a context); PYTHONMALLOC=malloc
        # makes the object domain glibc's already: then nothing is switched.
        if not plain or obj.malloc == raw.malloc or mem.malloc != obj.malloc:
            return
        for domain in (_MEM, _OBJ):
            own = current[domain]
            glibc = _Allocator(None, raw.malloc, raw.calloc, own.realloc, own.free)
            _API.PyMem_SetAllocator(domain, ctypes.byref(glibc))
            self.saved[domain], self.glibc[domain] = own, glibc

    def _to_pymalloc(self) -> None:
        for domain, own in self.saved.items():
            now, set_here = _get(domain), self.glibc[domain]
            if (now.malloc, now.free) == (set_here.malloc, set_here.free):  # nobody else's since
                _API.PyMem_SetAllocator(domain, ctypes.byref(own))
        self.saved, self.glibc = {}, {}


def _get(domain: int) -> _Allocator:
    allocator = _Allocator()
    _API.PyMem_GetAllocator(domain, ctypes.byref(allocator))
    return allocator


_SWITCH = _Switch()


def outside_pymalloc(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` with the objects it makes allocated by glibc's ``malloc`` (CPython on
    glibc; elsewhere it is just called)."""
    if _API is None:
        return function(*args)
    _SWITCH.enter()
    try:
        return function(*args)
    finally:
        _SWITCH.leave()


def uses_pymalloc() -> bool:
    """Whether new Python objects come from pymalloc now (False inside :func:`outside_pymalloc`
    where the switch is made)."""
    if _API is None:
        return True
    return bool(_get(_OBJ).malloc != _get(_RAW).malloc)
