"""The SQLite journal can be written by a per-process thread instead of inside each request.

With several worker processes, committing a journal entry inside every request made both processes
queue for SQLite's one write lock. Deferred, a request only queues its entry; a reader still sees
every entry of an answer sent before it asked, whichever process wrote it, in the order they
were answered.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.store import SQLiteState

FLUSH_S = 0.005


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


@pytest.fixture
def worker_a(path: Path) -> Iterator[SQLiteState]:
    state = SQLiteState(path, journal_flush_s=FLUSH_S)
    yield state
    state.close()


@pytest.fixture
def worker_b(path: Path) -> Iterator[SQLiteState]:
    # A second state on the same file stands for a second worker process: its own writer thread.
    state = SQLiteState(path, journal_flush_s=FLUSH_S)
    yield state
    state.close()


def entry(n: int) -> dict[str, object]:
    return {"api": "bunce", "operation_id": "getCustomer", "status": 200, "n": n}


def test_an_entry_is_readable_right_after_it_was_queued(worker_a: SQLiteState) -> None:
    assert worker_a.journal.append(entry(1)) == 0  # queued, not yet numbered

    [read] = worker_a.journal.read()

    assert read["n"] == 1 and read["seq"] > 0


def test_a_reader_sees_the_entries_another_process_queued(
    worker_a: SQLiteState, worker_b: SQLiteState
) -> None:
    for n in range(50):
        worker_a.journal.append(entry(n))

    assert [e["n"] for e in worker_b.journal.read()] == list(range(50))


def test_a_reader_waits_for_a_process_whose_writer_is_slower_than_its_own(
    path: Path, worker_b: SQLiteState
) -> None:
    slow = SQLiteState(path, journal_flush_s=0.2)  # commits its queue 5 times a second
    try:
        for n in range(50):
            slow.journal.append(entry(n))

        assert [e["n"] for e in worker_b.journal.read()] == list(range(50))
    finally:
        slow.close()


def test_entries_keep_the_order_they_were_answered_in_whichever_process_commits_first(
    path: Path, worker_b: SQLiteState
) -> None:
    slow = SQLiteState(path, journal_flush_s=0.2)
    try:
        slow.journal.append(entry(1))  # answered first, committed by its process later
        worker_b.journal.append(entry(2))
        worker_b.journal.flush()

        assert [e["n"] for e in worker_b.journal.read()] == [1, 2]
        assert [e["n"] for e in worker_b.journal.read(limit=1)] == [2]
    finally:
        slow.close()


def test_a_reader_does_not_wait_for_a_process_that_died(path: Path, worker_b: SQLiteState) -> None:
    child = os.fork()
    if child == 0:  # a worker that starts its journal writer, then is killed
        try:
            crashed = SQLiteState(path, journal_flush_s=60.0)
            crashed.journal.append(entry(99))  # queued, never committed
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    worker_b.journal.append(entry(1))

    started = time.monotonic()
    assert [e["n"] for e in worker_b.journal.read()] == [1]
    assert time.monotonic() - started < 1.0


def test_the_filters_and_the_bound_still_apply(path: Path) -> None:
    state = SQLiteState(path, journal_limit=10, journal_flush_s=FLUSH_S)
    try:
        for n in range(25):
            state.journal.append({**entry(n), "status": 404 if n % 2 else 200})

        assert [e["n"] for e in state.journal.read()] == list(range(15, 25))
        assert [e["n"] for e in state.journal.read(status=404, limit=2)] == [21, 23]
    finally:
        state.close()


def test_reset_drops_entries_still_queued(worker_a: SQLiteState) -> None:
    worker_a.journal.append(entry(1))

    worker_a.reset()

    assert worker_a.journal.read() == []


def test_close_commits_what_is_queued(path: Path, worker_b: SQLiteState) -> None:
    state = SQLiteState(path, journal_flush_s=60.0)  # the thread would not flush in time
    state.journal.append(entry(7))

    state.close()

    assert [e["n"] for e in worker_b.journal.read()] == [7]
