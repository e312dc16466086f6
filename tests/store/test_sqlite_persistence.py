"""SQLiteState on disk: everything survives a restart, the file's settings, its limits."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from mockserver.config import Settings
from mockserver.services import Services
from mockserver.store import (
    Attempt,
    Delivery,
    Endpoint,
    Fault,
    Job,
    Notification,
    Scope,
    SQLiteState,
    open_state,
)
from mockserver.store.sqlite import SCHEMA_VERSION

from . import customer

SCOPE = Scope("bunce", "sk_test_keep")
T0 = 1_700_000_000.0


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def test_everything_survives_close_and_reopen(path: Path) -> None:
    state = SQLiteState(path)
    state.records.insert_batch(SCOPE, [customer(n) for n in range(5)])
    state.records.insert_batch(Scope("tamio", "tok"), [customer(9)])
    state.jobs.add(Job("job_1", "import", "tamio", "tok", {"items": [1, 2]}, due_at=T0))
    state.jobs.add(Job("job_2", "import", "tamio", "tok", {}, due_at=T0 + 60, created_at=T0 + 1))
    state.jobs.claim_due(T0)
    state.jobs.finish("job_1", "done", {"created": 2})
    state.endpoints.add(Endpoint("we_1", "tamio", "http://127.0.0.1:9/h", "whsec_x", ["*"]))
    state.deliveries.add(Delivery("whdel_1", "we_1", {"event_id": "whev_1"}, due_at=T0))
    state.deliveries.claim_due(T0)
    attempt = Attempt(at=T0, status=502, duration_ms=8.0, error="HTTP 502")
    state.deliveries.record_attempt("whdel_1", attempt, "pending", T0 + 30)
    state.faults.add(Fault(id="f1", api="bunce", status=503, remaining=3))
    state.flags.set("tamio.rate_limit", {"on": True})
    journal_seq = state.journal.append({"api": "bunce", "status": 200})
    last_seq = state.records.all(SCOPE)[-1].seq
    state.close()

    again = SQLiteState(path)

    assert again.records.count(SCOPE) == 5
    assert again.records.get(SCOPE, "cus_00000003") == customer(3).data
    assert again.records.find(SCOPE, "email", "user4@example.com") == customer(4).data
    page = again.records.page(SCOPE, limit=2, after_seq=again.records.all(SCOPE)[2].seq)
    assert [r.id for r in page.records] == ["cus_00000003", "cus_00000004"]
    assert again.records.accounts("bunce") == ["sk_test_keep"]
    assert [(j.id, j.status, j.result) for j in again.jobs.list()] == [
        ("job_1", "done", {"created": 2}),
        ("job_2", "pending", None),
    ]
    assert again.jobs.next_due() == T0 + 60
    assert [e.id for e in again.endpoints.list("tamio")] == ["we_1"]
    [stored] = again.deliveries.list("we_1")
    assert (stored.status, stored.due_at, stored.attempts) == ("pending", T0 + 30, [attempt])
    assert again.faults.list() == [Fault(id="f1", api="bunce", status=503, remaining=3)]
    assert again.flags.get("tamio.rate_limit") == {"on": True}
    assert [e["seq"] for e in again.journal.read()] == [journal_seq]
    # Duplicates are still refused, and sequence numbers go on from where they were.
    assert again.records.insert_batch(SCOPE, [customer(1)])[0].conflict == "email"
    again.records.insert_batch(SCOPE, [customer(7)])
    assert again.records.all(SCOPE)[-1].seq > last_seq
    assert again.journal.append({"api": "bunce"}) > journal_seq
    again.close()


def test_the_file_is_in_wal_mode_with_its_schema_version(path: Path) -> None:
    SQLiteState(path).close()

    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()


def synchronous_of(state: SQLiteState) -> int:
    """SQLite's ``synchronous`` setting (0 OFF, 1 NORMAL) on the state's own connection."""
    return int(state.sqlite.connection().execute("PRAGMA synchronous").fetchone()[0])


def test_a_kept_state_file_is_fsynced_at_checkpoints(path: Path) -> None:
    state = open_state(path)
    try:
        assert isinstance(state, SQLiteState)
        assert synchronous_of(state) == 1  # NORMAL: survives an OS crash after a checkpoint
    finally:
        state.close()


def test_a_throwaway_state_file_skips_fsyncs_and_still_keeps_every_commit(path: Path) -> None:
    # `serve --workers N` without --state: the file is deleted at exit, so nothing is fsynced.
    state = Services.build(
        Settings(state=str(path), state_durable=False, background=False)
    ).state
    assert isinstance(state, SQLiteState)
    assert synchronous_of(state) == 0
    state.records.insert_batch(SCOPE, [customer(1, "ann@example.com", "1")])
    state.close()

    reopened = SQLiteState(path)
    try:
        assert reopened.records.get(SCOPE, "1") is not None  # a process that ends loses nothing
    finally:
        reopened.close()


def test_a_file_from_a_newer_mockserver_is_refused(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()

    with pytest.raises(RuntimeError, match="newer than this mockserver"):
        SQLiteState(path)


def test_a_file_of_schema_version_1_gains_the_notifications_table(path: Path) -> None:
    SQLiteState(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE notifications")
    db.execute("PRAGMA user_version = 1")
    db.close()

    state = SQLiteState(path)
    try:
        state.notifications.add(Notification("ntf_1", "tamio", "tok", None, T0, {"created": 1}))
        assert [n.data for n in state.notifications.list()] == [{"created": 1}]
    finally:
        state.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_a_file_path_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MemoryState"):
        SQLiteState(":memory:")
    assert isinstance(open_state(str(tmp_path / "x.db")), SQLiteState)


def test_the_journal_table_stays_bounded(path: Path) -> None:
    state = SQLiteState(path, journal_limit=10)
    for n in range(450):
        state.journal.append({"api": "bunce", "n": n})

    assert [e["n"] for e in state.journal.read()] == list(range(440, 450))
    state.close()
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT count(*) FROM journal").fetchone()[0]
    finally:
        db.close()
    assert rows <= 10 + 100  # trimmed every hundredth entry


def test_each_thread_has_its_own_connection_and_close_closes_them_all(path: Path) -> None:
    state = SQLiteState(path)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            state.records.insert_batch(SCOPE, [customer(n)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert state.records.count(SCOPE) == 4
    state.close()
    with pytest.raises((RuntimeError, sqlite3.ProgrammingError)):
        state.records.count(SCOPE)


def test_a_file_of_schema_version_1_is_upgraded_with_its_jobs_kept(path: Path) -> None:
    state = SQLiteState(path)
    state.jobs.add(Job("job_1", "import", "tamio", "tok", {"items": [1]}, due_at=T0))
    state.close()
    db = sqlite3.connect(path)  # what a mockserver without leases wrote
    for table, column in [
        ("jobs", "lease_until"),
        ("jobs", "claim"),
        ("jobs", "progress"),
        ("deliveries", "lease_until"),
        ("deliveries", "claim"),
    ]:
        db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()

    again = SQLiteState(path)
    [claimed] = again.jobs.claim_due(T0, lease_s=10)

    assert (claimed.id, claimed.lease_until) == ("job_1", T0 + 10)
    assert again.sqlite.connection().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    again.close()


def test_the_wal_stays_bounded_under_a_stream_of_writes_and_is_emptied_at_close(
    path: Path,
) -> None:
    state = SQLiteState(path, wal_limit_bytes=512 * 1024)
    wal = Path(f"{path}-wal")
    stop = threading.Event()

    def reader(offset_s: float) -> None:
        # Two readers whose snapshots overlap: the WAL never gets a moment without a reader,
        # so PASSIVE checkpoints alone never let it start over (it grew to 999 MB that way).
        db = sqlite3.connect(path, isolation_level=None)
        time.sleep(offset_s)
        while not stop.is_set():
            db.execute("BEGIN")
            db.execute("SELECT count(*) FROM records").fetchone()
            time.sleep(0.03)
            db.execute("COMMIT")
        db.close()

    readers = [threading.Thread(target=reader, args=(n * 0.015,)) for n in range(2)]
    for thread in readers:
        thread.start()
    peak = 0
    try:
        for batch in range(100):  # 20,000 customers, about 8 MB of database
            state.records.insert_batch(SCOPE, [customer(batch * 200 + n) for n in range(200)])
            peak = max(peak, wal.stat().st_size)
    finally:
        stop.set()
        for thread in readers:
            thread.join()

    assert state.records.count(SCOPE) == 20_000
    assert path.stat().st_size > 6 * 1024 * 1024
    assert peak < 4 * 1024 * 1024, f"the WAL grew to {peak} bytes"
    state.close()
    assert not wal.exists() or wal.stat().st_size == 0
