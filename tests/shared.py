"""What test modules share besides fixtures (tests/conftest.py holds those): the state backends
the backend-parametrised fixtures run on, and a clock that moves only when told."""

from __future__ import annotations

import time
from pathlib import Path

BACKENDS = ["memory", "sqlite", "postgresql"]
"""Every state backend; the ``state`` fixture runs each test once per backend (PostgreSQL in a
fresh database on the session's throwaway server: tests/conftest.py)."""


def state_target(backend: str, folder: Path, name: str = "state") -> str | None:
    """What :func:`mockserver.store.open_state` opens for ``backend``: None (memory), or a
    fresh SQLite file in ``folder`` (``make_state`` creates PostgreSQL's databases itself)."""
    if backend == "memory":
        return None
    if backend == "sqlite":
        return str(folder / f"{name}.db")
    raise ValueError(f"unknown state backend {backend!r}; known: {', '.join(BACKENDS)}")


class FakeClock:
    """A clock that moves only when told. It starts at the current whole second (so a webhook
    receiver checking signatures against real time accepts what it signs), kept as ``start``."""

    def __init__(self, now: float | None = None) -> None:
        self.start = float(int(time.time())) if now is None else now
        self.now = self.start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
