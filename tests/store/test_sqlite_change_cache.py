"""Each worker process answers "is a fault armed?" and "is rate limiting on?" from a cache that a
shared change counter invalidates, so a fault or switch set through any worker applies at once in
every other one. Two states on one SQLite file stand for two worker processes here, and two
states on one PostgreSQL database for two hosts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.store import Fault, State, open_state


@pytest.fixture(params=["sqlite", "postgresql"])
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[State, State]]:
    if request.param == "postgresql":
        target = request.getfixturevalue("postgres_url")
    else:
        target = str(tmp_path / "state.sqlite3")
    a = open_state(target)
    b = open_state(target)
    yield a, b
    a.close()
    b.close()


def take(state: State) -> Fault | None:
    return state.faults.take("bunce", "createCustomersBulk", "POST", "/bunce/v1/customers/bulk")


def test_a_fault_armed_through_one_worker_hits_the_next_request_of_another(
    workers: tuple[State, State],
) -> None:
    a, b = workers
    assert take(a) is None  # a now caches "no fault armed"

    b.faults.add(Fault(id="f1", api="bunce", status=503, remaining=2))

    assert take(a) is not None
    assert take(a) is not None
    assert take(a) is None  # both uses consumed
    assert take(b) is None  # ... as the other worker sees too


def test_a_cleared_fault_stops_in_every_worker(workers: tuple[State, State]) -> None:
    a, b = workers
    b.faults.add(Fault(id="f1", status=503, remaining=5))
    assert take(a) is not None

    b.faults.clear()

    assert take(a) is None


def test_a_switch_flipped_through_one_worker_applies_in_another(
    workers: tuple[State, State],
) -> None:
    a, b = workers
    assert a.flags.get("rate-limit:bunce", False) is False

    b.flags.set("rate-limit:bunce", True)
    assert a.flags.get("rate-limit:bunce", False) is True

    b.reset()
    assert a.flags.get("rate-limit:bunce", False) is False


def test_a_flag_value_read_from_the_cache_is_a_copy(
    workers: tuple[State, State],
) -> None:
    a, _ = workers
    a.flags.set("settings", {"limit": 1})

    a.flags.get("settings")["limit"] = 99

    assert a.flags.get("settings") == {"limit": 1}
