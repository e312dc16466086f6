"""Each worker process answers "is a fault armed?" and "is rate limiting on?" from a cache that a
shared change counter invalidates, so a fault or switch set through any worker applies at once in
every other one. Two states on one file stand for two worker processes here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.store.base import Fault
from mockserver.store.sqlite import SQLiteState


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[SQLiteState, SQLiteState]]:
    a = SQLiteState(tmp_path / "state.sqlite3")
    b = SQLiteState(tmp_path / "state.sqlite3")
    yield a, b
    a.close()
    b.close()


def take(state: SQLiteState) -> Fault | None:
    return state.take_fault("bunce", "createCustomersBulk", "POST", "/bunce/v1/customers/bulk")


def test_a_fault_armed_through_one_worker_hits_the_next_request_of_another(
    workers: tuple[SQLiteState, SQLiteState],
) -> None:
    a, b = workers
    assert take(a) is None  # a now caches "no fault armed"

    b.add_fault(Fault(id="f1", api="bunce", status=503, remaining=2))

    assert take(a) is not None
    assert take(a) is not None
    assert take(a) is None  # both uses consumed
    assert take(b) is None  # ... as the other worker sees too


def test_a_cleared_fault_stops_in_every_worker(workers: tuple[SQLiteState, SQLiteState]) -> None:
    a, b = workers
    b.add_fault(Fault(id="f1", status=503, remaining=5))
    assert take(a) is not None

    b.clear_faults()

    assert take(a) is None


def test_a_switch_flipped_through_one_worker_applies_in_another(
    workers: tuple[SQLiteState, SQLiteState],
) -> None:
    a, b = workers
    assert a.get_flag("rate-limit:bunce", False) is False

    b.set_flag("rate-limit:bunce", True)
    assert a.get_flag("rate-limit:bunce", False) is True

    b.reset()
    assert a.get_flag("rate-limit:bunce", False) is False


def test_a_flag_value_read_from_the_cache_is_a_copy(
    workers: tuple[SQLiteState, SQLiteState],
) -> None:
    a, _ = workers
    a.set_flag("settings", {"limit": 1})

    a.get_flag("settings")["limit"] = 99

    assert a.get_flag("settings") == {"limit": 1}
