"""What test modules share besides fixtures (tests/conftest.py holds those): the state backends
the backend-parametrised fixtures run on, a clock that moves only when told, the customer
items of the bundled APIs' bulk creates, and a free port."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

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


def bunce_customer(customer_id: str, email: str, **extra: Any) -> dict[str, Any]:
    """One Bunce customer item as the documented samples send it."""
    return {
        "customer_id": customer_id,
        "first_name": "John",
        "last_name": "Doe",
        "email": email,
        "phone_no": "+23481999999999",
        **extra,
    }


def tamio_customer(name: str, email: str, country: str = "es", **extra: Any) -> dict[str, Any]:
    """One Tamio CustomerInput with the required fields."""
    return {"name": name, "email": email, "country": country, **extra}


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on (free as the probe that found it closes)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
