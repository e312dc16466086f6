"""Faker pools: up to 200 values per (locale, faker method), built once per process.

Each pool is built by a faker instance with a fixed seed, so it is the same in every process;
generators then sample it with their own seeded random stream.
"""

from __future__ import annotations

import threading
import zlib
from typing import Final

from faker import Faker

__all__ = ["pool"]

_POOL_SIZE: Final = 200
_POOLS: dict[tuple[str, str], tuple[str, ...]] = {}
_FAKERS: dict[str, Faker] = {}
_POOL_LOCK = threading.Lock()


def pool(locale: str, method: str) -> tuple[str, ...]:
    """Return up to ``_POOL_SIZE`` distinct values of ``Faker(locale).<method>()``.

    Built deterministically (a fixed seed per locale and method) and cached per process; a method
    the locale lacks falls back to ``en_US``."""
    key = (locale, method)
    found = _POOLS.get(key)
    if found is not None:
        return found
    with _POOL_LOCK:
        found = _POOLS.get(key)
        if found is not None:
            return found
        fake = _FAKERS.get(locale)
        if fake is None:
            fake = _FAKERS[locale] = Faker(locale)
        producer = getattr(fake, method, None)
        if producer is not None:
            fake.seed_instance(zlib.crc32(f"{locale}:{method}".encode()))
            seen: dict[str, None] = {}
            for _ in range(_POOL_SIZE * 2):
                seen[str(producer())] = None
                if len(seen) >= _POOL_SIZE:
                    break
            found = _POOLS[key] = tuple(seen)
            return found
    if locale == "en_US":
        raise AttributeError(f"faker has no provider method {method!r}")
    found = _POOLS[key] = pool("en_US", method)  # outside the lock: the lock is not re-entrant
    return found
