"""Injected faults, flags (switches) and rate-limit counters: the rules, for every backend.

Every request asks for a fault and (when rate limits are on) reads a flag, so both are
answered from a per-process cache while the backend's change counter (``Backend.changes``,
bumped after every commit that changes faults or flags) stays the same. A bump follows its
commit, and the counter is read before the store, so a cache can only be older than the
counter says, never newer.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import orjson

from mockserver.store.backend import Backend
from mockserver.store.codec import compact_json
from mockserver.store.model import Fault


def fault_matches(fault: Fault, api: str, operation_id: str | None, method: str, path: str) -> bool:
    """Whether a request matches a fault (fields left as None match anything)."""
    return (
        (fault.api is None or fault.api == api)
        and (fault.operation_id is None or fault.operation_id == operation_id)
        and (fault.method is None or fault.method.upper() == method.upper())
        and (fault.path is None or fault.path == path)
    )


def window_start(window_s: float, now: float) -> float:
    """Start of the fixed rate-limit window that contains ``now``."""
    if window_s <= 0:
        raise ValueError(f"window_s must be positive, got {window_s!r}")
    return math.floor(now / window_s) * window_s


class Faults:
    """Faults injected for the next ``remaining`` requests that match, oldest first."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._seen: tuple[int, bool] = (-1, True)  # (change counter, whether any is armed)

    def add(self, fault: Fault) -> None:
        """Add a fault after the existing ones; a duplicate id or ``remaining < 1`` is refused."""
        if fault.remaining < 1:
            raise ValueError(f"a fault needs remaining >= 1, got {fault.remaining}")
        with self._backend.direct() as tx:
            added = tx.insert_fault(replace(fault))
        if not added:
            raise ValueError(f"a fault with id {fault.id!r} already exists")
        self._backend.bump_changes()

    def take(self, api: str, operation_id: str | None, method: str, path: str) -> Fault | None:
        """Atomically consume one use of the oldest matching fault (removed at zero); the
        fault as it is after this use."""
        seen = self._backend.changes()
        known, armed = self._seen
        if known == seen and not armed:
            return None  # the common case: nothing changed since we last saw no fault
        with self._backend.direct() as tx:
            armed = tx.any_fault()
        self._seen = (seen, armed)
        if not armed:
            return None
        with self._backend.write() as tx:
            fault = next(
                (f for f in tx.faults() if fault_matches(f, api, operation_id, method, path)), None
            )
            if fault is None:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                tx.delete_fault(fault.id)
            else:
                tx.set_fault_remaining(fault.id, fault.remaining)
        self._backend.bump_changes()
        return fault

    def list(self) -> list[Fault]:
        """Active faults, oldest first."""
        with self._backend.read() as tx:
            return tx.faults()

    def clear(self) -> int:
        """Disarm every fault; returns how many were armed."""
        with self._backend.write() as tx:
            cleared = tx.clear_faults()
        self._backend.bump_changes()
        return cleared


class Flags:
    """Named JSON values (switches such as the rate limit)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._seen: tuple[int, dict[str, bytes]] = (-1, {})  # (change counter, flags as stored)

    def set(self, name: str, value: Any) -> None:
        """Store a JSON value under ``name``."""
        blob = compact_json(value)
        with self._backend.direct() as tx:
            tx.set_flag(name, blob)
        self._backend.bump_changes()

    def get(self, name: str, default: Any = None) -> Any:
        """The value stored under ``name`` (a copy), or ``default``."""
        seen = self._backend.changes()
        known, flags = self._seen
        if known != seen:
            with self._backend.direct() as tx:
                flags = tx.flags()
            self._seen = (seen, flags)
        blob = flags.get(name)
        return default if blob is None else orjson.loads(blob)


class RateLimits:
    """Hit counters in fixed windows."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def hit(self, key: str, window_s: float, now: float) -> int:
        """Count one hit for ``key`` in a fixed window of ``window_s`` seconds; returns the
        window's count, this hit included. A hit stamped in an earlier window than the current
        one (a late clock) counts in the current window."""
        start = window_start(window_s, now)
        with self._backend.write() as tx:
            current = tx.hit_window(key)
            if current is None or start > current[0]:
                current = (start, 1)
            else:
                current = (current[0], current[1] + 1)
            tx.set_hit(key, *current)
        return current[1]
