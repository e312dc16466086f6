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


class _Numbering:
    """A forked process that opens the state, says it is ready, and on :meth:`go` takes
    ``count`` journal numbers (:meth:`numbers` reads them)."""

    def __init__(self, path: Path, count: int) -> None:
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        out_r, out_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                state = SQLiteState(path, journal_flush_s=FLUSH_S)
                sync = state.backend.journal_sync()
                assert sync is not None
                os.write(ready_w, b"r")
                os.read(go_r, 1)
                numbers = [sync.next_seq() for _ in range(count)]
                os.write(out_w, ",".join(map(str, numbers)).encode())
            finally:
                os._exit(0)
        for end in (ready_w, go_r, out_w):
            os.close(end)
        os.read(ready_r, 1)
        os.close(ready_r)
        self._go, self._out = go_w, out_r

    def go(self) -> None:
        os.write(self._go, b"g")
        os.close(self._go)

    def done(self) -> bool:
        return os.waitpid(self.pid, os.WNOHANG) != (0, 0)

    def numbers(self) -> list[int]:
        with os.fdopen(self._out, "rb") as pipe:
            taken = [int(n) for n in pipe.read().decode().split(",")]
        os.waitpid(self.pid, 0)
        return taken


def test_processes_numbering_at_once_never_get_the_same_number(path: Path) -> None:
    children = [_Numbering(path, 3000) for _ in range(3)]
    for child in children:
        child.go()

    taken = [n for child in children for n in child.numbers()]

    assert len(taken) == 9000
    assert sorted(taken) == list(range(min(taken), min(taken) + 9000))  # none twice, no gap


def test_a_number_waits_while_another_process_holds_the_counter(path: Path) -> None:
    state = SQLiteState(path, journal_flush_s=FLUSH_S)
    sync = state.backend.journal_sync()
    assert sync is not None
    try:
        before = sync.next_seq()
        child = _Numbering(path, 1)
        with state.backend._changes._file.locked():  # type: ignore[attr-defined]
            child.go()
            time.sleep(0.3)
            assert not child.done()  # waiting for the lock
        assert child.numbers() == [before + 1]
    finally:
        state.close()
