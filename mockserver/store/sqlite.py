"""The SQLite State backend: one file shared by several worker processes, surviving restarts.

Each thread of each process gets its own connection (``threading.local``; a connection inherited
through ``fork`` is never reused). The file is in WAL mode with ``synchronous=NORMAL`` and a 10 s
busy timeout. Every write that reads first runs in one ``BEGIN IMMEDIATE`` transaction, which takes
the write lock before the first read, so checks and writes of different processes never
interleave; single-statement writes are atomic on their own.

Records: a scope (api, account) is a row of ``scopes`` (with its record count, so ``total`` is
free); ``records`` has ``seq INTEGER PRIMARY KEY AUTOINCREMENT`` (never reused, across processes
too), ``UNIQUE (scope_id, id)`` and an index on ``(scope_id, seq)``; ``unique_keys`` has the
primary key ``(scope_id, key, value)``. ``insert_batch`` looks the batch's ids and unique values
up and writes the new rows with ``executemany``, all inside one ``BEGIN IMMEDIATE`` transaction;
the unique indexes stay the last word (a violation raises and rolls the whole batch back).

Measured on the development container (2 shared cores, SQLite 3.40, ext4; CPU time, medians),
records of the Bunce shape (about 260 bytes of JSON, unique email, id = customer_id):

* ``insert_batch`` of 500 new records: 7.2 ms in a scope of 20,000, 7.5 ms in one of 1,000,000
  (target < 10 ms). The fastest wall times match; with the 2 cores shared by other busy
  processes (load 6 to 9) the wall-time median was about 21 ms.
* ``get`` / ``find``: 10 µs. ``count``: 6 µs (the scope's count is kept in ``scopes``).
* ``page(limit=100)`` in a scope of 1,000,000: 0.3 ms for the first page or by either cursor,
  0.36 ms at offset 1,000; a deep offset costs about 50 ms per 1,000,000 records skipped
  (the skip walks the covering index).
* ``append_journal`` 41 µs (one INSERT), ``take_fault`` with no fault 5 µs, ``hit`` 20 µs.
"""

from __future__ import annotations

import atexit
import fcntl
import functools
import logging
import mmap
import os
import sqlite3
import struct
import threading
import time
import weakref
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from mockserver.store.base import (
    DEFAULT_LEASE_S,
    JSON,
    Attempt,
    Delivery,
    Endpoint,
    Fault,
    InsertOutcome,
    Job,
    JobGone,
    NewRecord,
    Notification,
    Page,
    RecordChange,
    Scope,
    StoredRecord,
    UpdateOutcome,
)
from mockserver.store.memory import (
    check_page_args,
    claim_prefix,
    compact_json,
    conflict_outcome,
    copy_json,
    decode_outcomes,
    encode_outcomes,
    window_start,
)

# 2 added the notifications table; a version-1 file gets it at open (every statement of the schema
# is CREATE ... IF NOT EXISTS). 3 added the leases of jobs and deliveries and a job's recorded
# progress (columns added by _ADDED_COLUMNS).
SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scopes (
    scope_id INTEGER PRIMARY KEY AUTOINCREMENT,
    api TEXT NOT NULL,
    account TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    UNIQUE (api, account)
);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    scope_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    data BLOB NOT NULL,
    uniq BLOB,
    UNIQUE (scope_id, id)
);
CREATE INDEX IF NOT EXISTS records_scope_seq ON records (scope_id, seq);
CREATE TABLE IF NOT EXISTS unique_keys (
    scope_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (scope_id, key, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    api TEXT NOT NULL,
    account TEXT NOT NULL,
    payload BLOB NOT NULL,
    due_at REAL NOT NULL,
    status TEXT NOT NULL,
    result BLOB,
    created_at REAL NOT NULL,
    finished_at REAL,
    lease_until REAL,
    claim TEXT,
    progress BLOB
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (status, due_at);
CREATE TABLE IF NOT EXISTS endpoints (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    api TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events BLOB NOT NULL,
    account TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    endpoint_id TEXT NOT NULL,
    event BLOB NOT NULL,
    due_at REAL NOT NULL,
    status TEXT NOT NULL,
    attempts TEXT NOT NULL,
    created_at REAL NOT NULL,
    lease_until REAL,
    claim TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, due_at);
CREATE INDEX IF NOT EXISTS deliveries_endpoint ON deliveries (endpoint_id);
CREATE TABLE IF NOT EXISTS notifications (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    api TEXT NOT NULL,
    account TEXT NOT NULL,
    job_id TEXT,
    time REAL NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    api TEXT,
    operation_id TEXT,
    status INTEGER,
    entry BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    api TEXT,
    operation_id TEXT,
    method TEXT,
    path TEXT,
    status INTEGER,
    latency_ms INTEGER NOT NULL,
    drop_ INTEGER NOT NULL,
    remaining INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS flags (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS hits (
    key TEXT PRIMARY KEY,
    window_start REAL NOT NULL,
    count INTEGER NOT NULL
);
"""

# Columns added since version 1, as (table, column, type): a file written by an older mockserver
# gets those it lacks at open.
_ADDED_COLUMNS = [
    ("jobs", "lease_until", "REAL"),  # 3: leases and a job's recorded progress
    ("jobs", "claim", "TEXT"),
    ("jobs", "progress", "BLOB"),
    ("deliveries", "lease_until", "REAL"),
    ("deliveries", "claim", "TEXT"),
]

_BUSY_TIMEOUT_MS = 10_000
_MIN_SEQ = -(2**63)
_MAX_SEQ = 2**63 - 1
_JOURNAL_TRIM_EVERY = 100  # trim when a journal seq is a multiple of this
_CHECKPOINT_EVERY_S = 0.1  # a writer checkpoints the WAL when the last checkpoint is this old
_WAL_LIMIT_BYTES = 64 * 1024 * 1024  # a WAL file larger than this is checkpointed and truncated
_WAL_CHECK_EVERY_S = 0.25  # a writer looks at the WAL file's size at least this often,
_WAL_CHECK_EVERY_COMMITS = 8  # and after this many commits of its process (a fast stream of
# large batches can write megabytes in a quarter of a second)

_JOB_COLUMNS = (
    "id, kind, api, account, payload, due_at, status, result, created_at, finished_at,"
    " lease_until, claim"
)
_DELIVERY_COLUMNS = (
    "id, endpoint_id, event, due_at, status, attempts, created_at, lease_until, claim"
)
_NOTIFICATION_COLUMNS = "id, api, account, job_id, time, data"
_FAULT_COLUMNS = "id, api, operation_id, method, path, status, latency_ms, drop_, remaining"

# The taken-key lookups bind every value as a parameter. (A JSON array read with json_each
# was tried first: SQLite's JSON functions cut a string at an escaped NUL, so an id holding
# one was never found taken and its insert broke the unique index.) The lists are sent in
# chunks whose lengths are powers of two, padded with NULL (which matches nothing), so a
# handful of prepared statements serve every batch size.
_TAKEN_CHUNK = 256


@functools.cache
def _sql_taken(table: str, column: str, by_key: bool, size: int) -> str:
    marks = ",".join("?" * size)
    key = " AND key = ?" if by_key else ""
    return f"SELECT {column} FROM {table} WHERE scope_id = ?{key} AND {column} IN ({marks})"


def _taken(
    db: sqlite3.Connection, scope_id: int, values: Sequence[str], key: str | None = None
) -> set[str]:
    """Which of ``values`` are taken in the scope: record ids, or the values of unique ``key``."""
    table, column = ("records", "id") if key is None else ("unique_keys", "value")
    head: tuple[Any, ...] = (scope_id,) if key is None else (scope_id, key)
    found: set[str] = set()
    for start in range(0, len(values), _TAKEN_CHUNK):
        chunk = list(values[start : start + _TAKEN_CHUNK])
        size = 1 << max(len(chunk) - 1, 0).bit_length()
        sql = _sql_taken(table, column, key is not None, size)
        padded = (*head, *chunk, *([None] * (size - len(chunk))))
        found.update(row[0] for row in db.execute(sql, padded))
    return found
_SQL_LAST_SEQ = (
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'records'), 0),"
    " coalesce((SELECT max(seq) FROM records), 0))"
)


def _page_query(order: str, skipping: bool) -> str:
    window = (
        f"FROM records WHERE scope_id = ? AND seq > ? AND seq < ? ORDER BY seq {order}"
        " LIMIT ? OFFSET ?"
    )
    if not skipping:
        return f"SELECT seq, id, data {window}"
    # The offset is skipped on the covering (scope_id, seq) index alone and only the page's rows
    # are read from the table: twice as fast as a plain OFFSET over the table.
    return (
        f"SELECT seq, id, data FROM records WHERE seq IN (SELECT seq {window}) ORDER BY seq {order}"
    )


# (upward, with an offset) -> query
_SQL_PAGE = {
    (upward, skipping): _page_query("ASC" if upward else "DESC", skipping)
    for upward in (True, False)
    for skipping in (True, False)
}
_SQL_ANY_BELOW = "SELECT EXISTS (SELECT 1 FROM records WHERE scope_id = ? AND seq < ?)"
_SQL_ANY_FROM = "SELECT EXISTS (SELECT 1 FROM records WHERE scope_id = ? AND seq >= ?)"


def _job(row: Any) -> Job:
    return Job(
        id=row[0],
        kind=row[1],
        api=row[2],
        account=row[3],
        payload=orjson.loads(row[4]),
        due_at=row[5],
        status=row[6],
        result=None if row[7] is None else orjson.loads(row[7]),
        created_at=row[8],
        finished_at=row[9],
        lease_until=row[10],
        claim=row[11],
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row[0],
        endpoint_id=row[1],
        event=orjson.loads(row[2]),
        due_at=row[3],
        status=row[4],
        attempts=[Attempt(**a) for a in orjson.loads(row[5])],
        created_at=row[6],
        lease_until=row[7],
        claim=row[8],
    )


def _notification(row: Any) -> Notification:
    return Notification(
        id=row[0], api=row[1], account=row[2], job_id=row[3], time=row[4], data=orjson.loads(row[5])
    )


def _fault(row: Any) -> Fault:
    return Fault(
        id=row[0],
        api=row[1],
        operation_id=row[2],
        method=row[3],
        path=row[4],
        status=row[5],
        latency_ms=row[6],
        drop=bool(row[7]),
        remaining=row[8],
    )


def _attempt_json(attempt: Attempt) -> JSON:
    return {
        "at": attempt.at,
        "status": attempt.status,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
    }


logger = logging.getLogger("mockserver.store")


class _Connection:
    """One thread's connection, with the process that opened it (never reuse one across fork)."""

    __slots__ = ("__weakref__", "db", "pid")

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.pid = os.getpid()


class _WriterQueue:
    """Writers take turns here before they ask SQLite for its write lock.

    SQLite's busy handler polls: a writer that finds the lock taken sleeps 1, 2, 5, 10, 15, 20,
    25 ... ms before it tries again, although a write holds the lock for well under 1 ms. Under
    load (8 threads x 2 workers, every request writes its journal entry) those sleeps were most
    of the latency and capped the throughput (docs/benchmarks.md). Here a writer waits on a
    ``threading.RLock`` (the threads of one process), then on ``flock`` of ``<state>-writer.lock``
    (the processes): both wake the next writer the moment the lock is released. Re-entrant per
    thread; re-opened after ``fork`` (a child must not share the parent's open file).

    Automatic WAL checkpoints are off for the same reason: SQLite runs them inside the commit,
    with an fsync, while every other writer waits (a 500-customer insert took 29 ms on average
    with them, 16 ms without). :meth:`checkpoint_soon` runs a PASSIVE one after the turn instead.
    """

    _setup_lock = threading.Lock()

    def __init__(self, path: str, wal_limit_bytes: int = _WAL_LIMIT_BYTES) -> None:
        self.path = path + "-writer.lock"
        self.wal_path = path + "-wal"
        self.wal_limit_bytes = wal_limit_bytes
        self._last_size_check = 0.0
        self._commits_unchecked = 0
        self._pid = -1
        self._lock = threading.RLock()
        self._fd = -1
        self._depth = threading.local()
        self._checkpointing = threading.Lock()
        self._last_checkpoint = 0.0

    def _ready(self) -> tuple[threading.RLock, int]:
        if self._pid != os.getpid():
            with self._setup_lock:
                if self._pid != os.getpid():
                    if self._fd >= 0:  # inherited through fork
                        os.close(self._fd)
                    self._lock = threading.RLock()
                    self._checkpointing = threading.Lock()
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    self._pid = os.getpid()
        return self._lock, self._fd

    @contextmanager
    def turn(self) -> Iterator[None]:
        lock, fd = self._ready()
        with lock:
            depth = getattr(self._depth, "n", 0)
            if depth == 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._depth.n = depth + 1
            try:
                yield
            finally:
                self._depth.n = depth
                if depth == 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def checkpoint_soon(self, db: sqlite3.Connection) -> None:
        """After a write (outside the turn): a PASSIVE checkpoint when the last one is 0.1 s old.

        PASSIVE never waits for readers or writers; one thread per process runs it at a time.
        """
        now = time.monotonic()
        if now - self._last_checkpoint < _CHECKPOINT_EVERY_S:
            return
        self._ready()
        if not self._checkpointing.acquire(blocking=False):
            return
        try:
            self._last_checkpoint = now
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.OperationalError:
            pass  # busy: another process is checkpointing
        finally:
            self._checkpointing.release()

    def bound_wal(self, db: sqlite3.Connection) -> None:
        """Inside the turn, after a commit: a TRUNCATE checkpoint when the WAL file has grown
        past ``wal_limit_bytes`` (its size is looked at after every 8th commit, and at least
        every 0.25 s).

        PASSIVE checkpoints copy the WAL into the database but never shrink the file, and the
        WAL only starts over from its beginning at a moment no reader uses it: with readers of
        several processes always under way, a 60 s stream of creates grew it to 999 MB. TRUNCATE
        waits (up to 2 s) for the readers of older snapshots, then empties the file; other
        writers wait their turn meanwhile, on the turn's lock rather than SQLite's busy polls.
        """
        now = time.monotonic()
        self._commits_unchecked += 1
        if (
            self._commits_unchecked < _WAL_CHECK_EVERY_COMMITS
            and now - self._last_size_check < _WAL_CHECK_EVERY_S
        ):
            return
        self._last_size_check, self._commits_unchecked = now, 0
        try:
            size = os.stat(self.wal_path).st_size
        except OSError:
            return
        if size > self.wal_limit_bytes:
            truncate_wal(db, busy_ms=2000)

    def close(self) -> None:
        if self._fd >= 0 and self._pid == os.getpid():
            os.close(self._fd)
        self._fd, self._pid = -1, -1


def truncate_wal(db: sqlite3.Connection, busy_ms: int = 2000) -> bool:
    """Checkpoint the whole WAL into the database and truncate the WAL file to zero bytes,
    waiting up to ``busy_ms`` for other connections' readers and writer; True when done."""
    db.execute(f"PRAGMA busy_timeout = {busy_ms}")
    try:
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.OperationalError:
        busy = 1
    finally:
        db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    return not busy


def checkpoint_file(path: str | os.PathLike[str]) -> bool:
    """Fold the WAL of the state file at ``path`` into it and truncate the WAL (at a clean stop,
    once no process uses the file any more); True when done, False if the file is busy."""
    db = sqlite3.connect(os.fspath(path), timeout=2.0, isolation_level=None)
    try:
        return truncate_wal(db)
    finally:
        db.close()


class _JournalGroup:
    """The journal entries of one process waiting for their transaction (see append_journal)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.cond = threading.Condition(threading.Lock())
        self.queue: list[tuple[int, tuple[Any, ...]]] = []
        self.next_ticket = 0
        self.writing = False
        self.done: dict[int, int | BaseException] = {}

    def result(self, ticket: int) -> int:
        outcome = self.done.pop(ticket)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class _ChangeCounter:
    """Two numbers in a shared 16-byte file: the change count and the reset epoch.

    The change count is bumped after every commit that changes faults or flags. Every request asks
    for an injected fault and the rate-limit switch; with the counter unchanged a process answers
    both from its cache (a memory read of the mapped file instead of two SQLite queries, ~60 µs of
    a ~600 µs request). A bump follows its commit, so a cache filled after reading the counter can
    only be older than the counter says, never newer.

    The reset epoch is bumped by every reset, inside its write transaction. A journal entry
    carries the epoch it was answered in, and the deferred writer stores only the entries of the
    current epoch (read under the write lock): an entry of a request answered before a reset
    that another process answered is never stored, however late its process flushes.
    """

    _CHANGES, _EPOCH = 0, 8  # offsets in the file

    def __init__(self, path: str) -> None:
        self.path = path + "-changes"
        self._pid = -1
        self._fd = -1
        self._map: mmap.mmap | None = None

    def _mapped(self) -> tuple[int, mmap.mmap]:
        if self._pid != os.getpid() or self._map is None:
            with _WriterQueue._setup_lock:
                if self._pid != os.getpid() or self._map is None:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    if os.fstat(fd).st_size < 16:  # new, or written by a version without epochs
                        os.ftruncate(fd, 16)
                    self._map = mmap.mmap(fd, 16)
                    self._fd, self._pid = fd, os.getpid()
        assert self._map is not None
        return self._fd, self._map

    def value(self) -> int:
        return int(struct.unpack_from("<Q", self._mapped()[1], self._CHANGES)[0])

    def epoch(self) -> int:
        return int(struct.unpack_from("<Q", self._mapped()[1], self._EPOCH)[0])

    def bump(self) -> None:
        self._bump(self._CHANGES)

    def bump_epoch(self) -> None:
        self._bump(self._EPOCH)

    def _bump(self, offset: int) -> None:
        fd, mapped = self._mapped()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            current = struct.unpack_from("<Q", mapped, offset)[0]
            struct.pack_into("<Q", mapped, offset, (current + 1) % (1 << 64))
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._map is not None and self._pid == os.getpid():
            self._map.close()
            os.close(self._fd)
        self._map, self._fd, self._pid = None, -1, -1


class _JournalWriter:
    """Deferred journal: one daemon thread per process commits the queued entries every flush_s.

    With several worker processes, a synchronous journal write per request made every request of
    both processes queue for SQLite's single write lock (docs/benchmarks.md); deferred, a request
    only appends to a list. Readers flush their own process's queue and wait a few flush periods
    for the other processes' (see SQLiteState.journal).
    """

    def __init__(self, state: SQLiteState, flush_s: float) -> None:
        self.pid = os.getpid()
        self.state = state
        self.flush_s = flush_s
        self.queue: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()
        self.flushing = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="mockserver-journal", daemon=True)
        self.thread.start()
        atexit.register(self.flush)

    def put(self, row: tuple[Any, ...]) -> None:
        with self.lock:
            self.queue.append(row)

    def discard(self) -> None:
        with self.lock:
            self.queue.clear()

    def flush(self) -> None:
        """Commit every queued entry now (also called by readers, and at exit)."""
        if os.getpid() != self.pid:  # an atexit handler inherited through fork: not ours
            return
        with self.flushing:
            with self.lock:
                rows, self.queue = self.queue, []
            if rows and not self.state._closed:
                self.state._write_journal(rows)

    def _loop(self) -> None:
        while not self.stopped.wait(self.flush_s):
            try:
                self.flush()
            except Exception:  # a broken state must not kill the thread; the next flush retries
                logger.exception("writing the journal failed")


class SQLiteState:
    """All mock state in one SQLite file; see the module docstring for the design and costs.

    ``path`` is created (with its schema) if missing. ``journal_limit`` bounds the request
    journal. ``durable=False`` (for a file deleted at exit) skips SQLite's fsyncs. In
    ``insert_batch`` an item's unique keys are checked in the order of its ``unique`` mapping,
    then its ``id``; the first collision is the reported ``conflict``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        journal_limit: int = 1000,
        journal_flush_s: float | None = None,
        durable: bool = True,
        wal_limit_bytes: int = _WAL_LIMIT_BYTES,
    ) -> None:
        if journal_limit < 1:
            raise ValueError(f"journal_limit must be at least 1, got {journal_limit}")
        self.path = os.fspath(path)
        if self.path in ("", ":memory:"):
            raise ValueError(
                f"SQLiteState needs a file path, got {self.path!r}; use MemoryState for a "
                "state that lives in memory"
            )
        self._journal_limit = journal_limit
        # NORMAL: in WAL mode a commit survives a crash of the process, and the WAL is fsynced
        # at checkpoints so it survives one of the OS too. OFF skips those fsyncs (a process
        # crash is still safe): for a temporary file it took 20% off a 2-customer create.
        self._synchronous = "NORMAL" if durable else "OFF"
        self._local = threading.local()
        self._all: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._all_lock = threading.Lock()
        self._scope_ids: dict[Scope, int] = {}  # scopes rows are never deleted, so ids are stable
        self._forked: list[_Connection] = []
        self._closed = False
        self._writers = _WriterQueue(self.path, wal_limit_bytes)
        self._changes = _ChangeCounter(self.path)
        # (counter value, whether any fault is armed) and (counter value, flags as stored).
        self._faults_seen: tuple[int, bool] = (-1, True)
        self._flags_seen: tuple[int, dict[str, bytes]] = (-1, {})
        self._journal_groups: _JournalGroup | None = None
        # None: every append_journal commits before it returns. A number: entries are committed
        # by a per-process thread at that interval (for several worker processes).
        self._journal_flush_s = journal_flush_s
        self._journal_writer: _JournalWriter | None = None
        if sqlite3.sqlite_version_info < (3, 35, 0):
            raise RuntimeError(
                f"SQLiteState needs SQLite 3.35 or later (RETURNING), this Python has "
                f"{sqlite3.sqlite_version}; use MemoryState (no --state) or a newer Python"
            )
        try:
            self._create_schema(self._conn())
        except BaseException:
            self.close()
            raise

    # -- connections and transactions ----------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        holder: _Connection | None = getattr(self._local, "conn", None)
        if holder is not None:
            if holder.pid == os.getpid():
                return holder.db
            # Inherited through fork: never use it, and never close it here either (closing
            # could disturb the parent's locks); keep it referenced so it is not collected.
            self._forked.append(holder)
        if self._closed:
            raise RuntimeError(f"SQLiteState({self.path!r}) is closed")
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        db.execute(f"PRAGMA synchronous = {self._synchronous}")
        db.execute("PRAGMA wal_autocheckpoint = 0")  # see _WriterQueue
        # When the WAL starts over, SQLite truncates a file larger than this back to it.
        db.execute(f"PRAGMA journal_size_limit = {self._writers.wal_limit_bytes}")
        holder = _Connection(db)
        self._local.conn = holder
        with self._all_lock:
            self._all.add(holder)
        return db

    def _create_schema(self, db: sqlite3.Connection) -> None:
        for _ in range(100):  # switching needs a moment without other connections' locks
            try:
                if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal":
                    break
            except sqlite3.OperationalError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError(f"could not switch {self.path} to WAL mode: the file stays locked")
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"the state file has schema version {version}, newer than this mockserver "
                    f"({SCHEMA_VERSION}); upgrade mockserver or start with a new --state file"
                )
            if version < SCHEMA_VERSION:
                for table, column, kind in _ADDED_COLUMNS if version else ():
                    present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                    if column not in present:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed at the end, rolled back on error."""
        db = self._conn()
        with self._writers.turn():
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            self._writers.bound_wal(db)
        self._writers.checkpoint_soon(db)

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction, so several SELECTs see the same snapshot."""
        db = self._conn()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def _scope_id(self, db: sqlite3.Connection, scope: Scope) -> int | None:
        """The id of a scope's row, or None while the scope has never held a record."""
        scope_id = self._scope_ids.get(scope)
        if scope_id is None:
            row = db.execute(
                "SELECT scope_id FROM scopes WHERE api = ? AND account = ?",
                (scope.api, scope.account),
            ).fetchone()
            if row is None:
                return None
            # Only a committed row gets here (no caller creates one in its transaction), and
            # scopes rows are never deleted: the id can be kept for good.
            scope_id = self._scope_ids[scope] = row[0]
        return scope_id

    def _create_scope(self, db: sqlite3.Connection, scope: Scope) -> tuple[int, bool]:
        """The id of a scope's row, created if missing, inside the caller's write transaction,
        and whether this call created it (a scope created just now holds no records yet).

        Not cached here: should the transaction roll back, the row and its id are gone.
        """
        created = db.execute(
            "INSERT OR IGNORE INTO scopes (api, account) VALUES (?, ?) RETURNING scope_id",
            (scope.api, scope.account),
        ).fetchone()
        if created is not None:
            return int(created[0]), True
        row = db.execute(
            "SELECT scope_id FROM scopes WHERE api = ? AND account = ?", (scope.api, scope.account)
        ).fetchone()
        return int(row[0]), False

    # -- records -------------------------------------------------------------------------------
    def insert_batch(
        self, scope: Scope, records: Sequence[NewRecord], *, job_id: str | None = None
    ) -> list[InsertOutcome]:
        """Insert in order, atomically; items whose id or unique keys collide are skipped.

        A created item's outcome holds the ``data`` passed in (what is stored is its JSON).
        """
        if not records:
            return []
        # Encode first: a value orjson refuses raises here, before the transaction starts. The
        # blobs are right-sized (compact_json): a 100,000-customer batch held 4 KiB per record.
        blobs = [compact_json(r.data) for r in records]
        values: dict[str, list[str]] = {}
        for r in records:
            for key, value in r.unique.items():
                if not isinstance(value, str):  # as the memory state, before anything is written
                    raise TypeError(f"unique key {key!r} of {r.id!r} is not a string: {value!r}")
                values.setdefault(key, []).append(value)
        outcomes: list[InsertOutcome] = []
        with self._write() as db:
            if job_id is not None:
                row = db.execute(
                    "SELECT status, progress FROM jobs WHERE id = ?", (job_id,)
                ).fetchone()
                if row is None or row[0] != "running":
                    raise JobGone(job_id)
                if row[1] is not None:  # a re-run: the job's insert is done already
                    return decode_outcomes(row[1])
            known = self._scope_ids.get(scope)
            scope_id, new_scope = (known, False) if known else self._create_scope(db, scope)
            taken_ids: set[str]
            taken: dict[str, set[str]]
            if new_scope:  # a new account (a fresh test's) has nothing to collide with
                taken_ids, taken = set(), {key: set() for key in values}
            else:
                taken_ids = _taken(db, scope_id, [r.id for r in records])
                taken = {key: _taken(db, scope_id, vals, key) for key, vals in values.items()}
            seq = db.execute(_SQL_LAST_SEQ).fetchone()[0]
            record_rows: list[tuple[int, int, str, bytes, bytes | None]] = []
            key_rows: list[tuple[int, str, str, int]] = []
            for record, blob in zip(records, blobs, strict=True):
                pairs = record.unique.items()
                conflict = next((k for k, v in pairs if v in taken[k]), None)
                if conflict is None and record.id in taken_ids:
                    conflict = "id"
                if conflict is not None:
                    outcomes.append(conflict_outcome(conflict))
                    continue
                seq += 1
                taken_ids.add(record.id)
                for key, value in pairs:
                    taken[key].add(value)
                    key_rows.append((scope_id, key, value, seq))
                flat = [x for pair in pairs for x in pair]
                record_rows.append(
                    (seq, scope_id, record.id, blob, compact_json(flat) if flat else None)
                )
                outcomes.append(InsertOutcome(record=record.data))
            if record_rows:
                db.executemany(
                    "INSERT INTO records (seq, scope_id, id, data, uniq) VALUES (?, ?, ?, ?, ?)",
                    record_rows,
                )
                db.executemany(
                    "INSERT INTO unique_keys (scope_id, key, value, seq) VALUES (?, ?, ?, ?)",
                    key_rows,
                )
                db.execute(
                    "UPDATE scopes SET n = n + ? WHERE scope_id = ?", (len(record_rows), scope_id)
                )
            if job_id is not None:
                db.execute(
                    "UPDATE jobs SET progress = ? WHERE id = ?", (encode_outcomes(outcomes), job_id)
                )
        self._scope_ids[scope] = scope_id  # committed now
        return outcomes

    def update_batch(self, scope: Scope, changes: Sequence[RecordChange]) -> list[UpdateOutcome]:
        """Apply the changes in order in one ``BEGIN IMMEDIATE`` transaction (see :class:`State`):
        each reads its row and checks its new unique values after taking the write lock."""
        outcomes: list[UpdateOutcome] = []
        if not changes:
            return outcomes
        with self._write() as db:
            scope_id = self._scope_id(db, scope)
            for change in changes:
                row = db.execute(
                    "SELECT seq, data, uniq FROM records WHERE scope_id = ? AND id = ?",
                    (scope_id, change.id),
                ).fetchone()
                if row is None:
                    outcomes.append(UpdateOutcome(found=False))
                    continue
                seq, before, flat_before = row
                revision = change.apply(orjson.loads(before))
                if revision is None:
                    outcomes.append(UpdateOutcome(record=orjson.loads(before)))
                    continue
                unique = dict(revision.unique)
                conflict = None
                for key, value in unique.items():
                    holder = db.execute(
                        "SELECT seq FROM unique_keys WHERE scope_id = ? AND key = ? AND value = ?",
                        (scope_id, key, value),
                    ).fetchone()
                    if holder is not None and holder[0] != seq:
                        conflict = key
                        break
                if conflict is not None:
                    outcomes.append(UpdateOutcome(conflict=conflict))
                    continue
                blob = orjson.dumps(revision.data)
                flat = [x for pair in unique.items() for x in pair]
                db.execute(
                    "UPDATE records SET data = ?, uniq = ? WHERE seq = ?",
                    (blob, orjson.dumps(flat) if flat else None, seq),
                )
                gone = orjson.loads(flat_before) if flat_before is not None else []
                db.executemany(  # by primary key, as `delete` does (no index on seq)
                    "DELETE FROM unique_keys WHERE scope_id = ? AND key = ? AND value = ?",
                    [(scope_id, gone[i], gone[i + 1]) for i in range(0, len(gone), 2)],
                )
                db.executemany(
                    "INSERT INTO unique_keys (scope_id, key, value, seq) VALUES (?, ?, ?, ?)",
                    [(scope_id, key, value, seq) for key, value in unique.items()],
                )
                outcomes.append(UpdateOutcome(record=orjson.loads(blob)))
        return outcomes

    def get(self, scope: Scope, record_id: str) -> JSON | None:
        """The record with this id, or None."""
        db = self._conn()
        scope_id = self._scope_id(db, scope)
        row = db.execute(
            "SELECT data FROM records WHERE scope_id = ? AND id = ?", (scope_id, record_id)
        ).fetchone()
        return None if row is None else orjson.loads(row[0])

    def find(self, scope: Scope, key: str, value: str) -> JSON | None:
        """The record whose unique key ``key`` has the normalised ``value``, or None."""
        db = self._conn()
        scope_id = self._scope_id(db, scope)
        row = db.execute(
            "SELECT r.data FROM unique_keys u JOIN records r ON r.seq = u.seq"
            " WHERE u.scope_id = ? AND u.key = ? AND u.value = ?",
            (scope_id, key, value),
        ).fetchone()
        return None if row is None else orjson.loads(row[0])

    def page(
        self,
        scope: Scope,
        *,
        limit: int,
        offset: int = 0,
        after_seq: int | None = None,
        before_seq: int | None = None,
    ) -> Page:
        """Records in insertion order: ``offset`` skips, ``after_seq``/``before_seq`` are cursors.

        The window is the records with ``after_seq < seq < before_seq``. Without ``before_seq``
        the page starts ``offset`` records into the window; with it the page ends ``offset``
        records before the window's end (and holds the ``limit`` records before that point).
        """
        check_page_args(limit, offset)
        low = _MIN_SEQ if after_seq is None else after_seq
        high = _MAX_SEQ if before_seq is None else before_seq
        upward = before_seq is None
        with self._read() as db:
            scope_id = self._scope_id(db, scope)
            if scope_id is None:
                return Page(records=[], total=0, has_before=False, has_after=False)
            total = db.execute("SELECT n FROM scopes WHERE scope_id = ?", (scope_id,)).fetchone()[0]
            # With limit 0 one row is still read: it tells where the (empty) page stands.
            rows = db.execute(
                _SQL_PAGE[upward, offset > 0], (scope_id, low, high, max(limit, 1), offset)
            ).fetchall()
            if not upward:
                rows.reverse()
            # Whether records exist before / after the page is one question about one seq,
            # "cut": has_before means some seq < cut, has_after some seq >= cut.
            if limit and rows:
                before_cut, after_cut = rows[0][0], rows[-1][0] + 1
            else:
                if rows:  # limit 0: the page stands just before (up) or after (down) this row
                    cut = rows[0][0] if upward else rows[0][0] + 1
                    rows = []
                elif upward:  # the window is used up, and it runs to the end of the scope
                    cut = _MAX_SEQ
                else:  # nothing left before the cursor: the page stands at the window's start
                    cut = low + 1
                before_cut = after_cut = cut
            has_before = bool(db.execute(_SQL_ANY_BELOW, (scope_id, before_cut)).fetchone()[0])
            has_after = bool(db.execute(_SQL_ANY_FROM, (scope_id, after_cut)).fetchone()[0])
        return Page(
            records=[StoredRecord(r[0], r[1], orjson.loads(r[2])) for r in rows],
            total=total,
            has_before=has_before,
            has_after=has_after,
        )

    def all(self, scope: Scope) -> list[StoredRecord]:
        """Every record of the scope in insertion order."""
        db = self._conn()
        scope_id = self._scope_id(db, scope)
        rows = db.execute(
            "SELECT seq, id, data FROM records WHERE scope_id = ? ORDER BY seq", (scope_id,)
        ).fetchall()
        return [StoredRecord(r[0], r[1], orjson.loads(r[2])) for r in rows]

    def count(self, scope: Scope) -> int:
        """How many records the scope holds."""
        db = self._conn()
        row = db.execute(
            "SELECT n FROM scopes WHERE scope_id = ?", (self._scope_id(db, scope),)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def delete(self, scope: Scope, record_id: str) -> bool:
        """Remove one record; False when there was none."""
        with self._write() as db:
            scope_id = self._scope_id(db, scope)
            row = db.execute(
                "DELETE FROM records WHERE scope_id = ? AND id = ? RETURNING uniq",
                (scope_id, record_id),
            ).fetchone()
            if row is None:
                return False
            flat = orjson.loads(row[0]) if row[0] is not None else []
            db.executemany(
                "DELETE FROM unique_keys WHERE scope_id = ? AND key = ? AND value = ?",
                [(scope_id, flat[i], flat[i + 1]) for i in range(0, len(flat), 2)],
            )
            db.execute("UPDATE scopes SET n = n - 1 WHERE scope_id = ?", (scope_id,))
            return True

    def clear_scope(self, scope: Scope) -> int:
        """Remove every record of one scope; returns how many."""
        with self._write() as db:
            scope_id = self._scope_id(db, scope)
            removed = db.execute("DELETE FROM records WHERE scope_id = ?", (scope_id,)).rowcount
            db.execute("DELETE FROM unique_keys WHERE scope_id = ?", (scope_id,))
            db.execute("UPDATE scopes SET n = 0 WHERE scope_id = ?", (scope_id,))
            return int(removed)

    def accounts(self, api: str) -> list[str]:
        """Accounts of an API that hold at least one record, sorted."""
        rows = self._conn().execute(
            "SELECT account FROM scopes WHERE api = ? AND n > 0 ORDER BY account", (api,)
        )
        return [row[0] for row in rows]

    # -- jobs ----------------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        """Store a job; a second job with the same id is refused with ValueError."""
        params = (
            job.id,
            job.kind,
            job.api,
            job.account,
            orjson.dumps(job.payload),
            job.due_at,
            job.status,
            None if job.result is None else orjson.dumps(job.result),
            job.created_at,
            job.finished_at,
            job.lease_until,
            job.claim,
        )
        try:
            self._conn().execute(
                f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"a job with id {job.id!r} already exists") from None

    def claim_due_jobs(
        self,
        now: float,
        limit: int = 10,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        due_by: float | None = None,
    ) -> list[Job]:
        """Mark due jobs running under a new claim and return them (earliest due first): pending
        ones due by ``due_by`` (default ``now``), running ones whose lease ended by ``now``."""
        rows = self._claim("jobs", "running", _JOB_COLUMNS, now, limit, lease_s, due_by)
        return [_job(r) for r in rows]

    def _claim(
        self,
        table: str,
        holding: str,
        columns: str,
        now: float,
        limit: int,
        lease_s: float,
        due_by: float | None,
    ) -> list[Any]:
        due_by = now if due_by is None else max(now, due_by)
        # A read first: the idle poll of every worker stays off the write lock.
        due = self._next_due(table, holding)
        if due is None or due > due_by:
            return []
        with self._write() as db:
            rows = db.execute(
                f"UPDATE {table} SET status = ?1, lease_until = ?2, claim = ?3 || id"
                f" WHERE pos IN (SELECT pos FROM {table}"
                " WHERE (status = 'pending' AND due_at <= ?4)"
                " OR (status = ?1 AND lease_until <= ?5) ORDER BY due_at, pos LIMIT ?6)"
                f" RETURNING pos, due_at, {columns}",
                (holding, now + lease_s, claim_prefix(), due_by, now, max(limit, 0)),
            ).fetchall()
        rows.sort(key=lambda r: (r[1], r[0]))  # RETURNING order is unspecified
        return [r[2:] for r in rows]

    def _next_due(self, table: str, holding: str) -> float | None:
        row = (
            self._conn()
            .execute(
                f"SELECT min(t) FROM (SELECT min(due_at) AS t FROM {table} WHERE status = 'pending'"
                f" UNION ALL SELECT min(lease_until) FROM {table} WHERE status = ?)",
                (holding,),
            )
            .fetchone()
        )
        return None if row[0] is None else float(row[0])

    def finish_job(self, job_id: str, status: str, result: JSON) -> bool:
        """Record a job's final status and result (its claim ends); False for an unknown (e.g.
        reset) job."""
        changed = (
            self._conn()
            .execute(
                "UPDATE jobs SET status = ?, result = ?, finished_at = ?, lease_until = NULL,"
                " claim = NULL WHERE id = ?",
                (status, orjson.dumps(result), time.time(), job_id),
            )
            .rowcount
        )
        return bool(changed)

    def jobs(self, api: str | None = None, status: str | None = None) -> list[Job]:
        """Jobs, oldest (by ``created_at``, then insertion) first; filters combine with AND."""
        rows = self._conn().execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR api = ?1)"
            " AND (?2 IS NULL OR status = ?2) ORDER BY created_at, pos",
            (api, status),
        )
        return [_job(r) for r in rows]

    def next_job_due(self) -> float | None:
        """When a job can next be claimed: a pending job's due_at or a running one's lease end."""
        return self._next_due("jobs", "running")

    # -- webhooks ------------------------------------------------------------------------------
    def add_endpoint(self, endpoint: Endpoint) -> None:
        """Register an endpoint; a duplicate id is refused with ValueError."""
        try:
            self._conn().execute(
                "INSERT INTO endpoints (id, api, url, secret, events, account, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    endpoint.id,
                    endpoint.api,
                    endpoint.url,
                    endpoint.secret,
                    orjson.dumps(endpoint.events),
                    endpoint.account,
                    endpoint.created_at,
                ),
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"an endpoint with id {endpoint.id!r} already exists") from None

    def endpoints(self, api: str | None = None) -> list[Endpoint]:
        """Endpoints, oldest first, optionally only those of one API."""
        rows = self._conn().execute(
            "SELECT id, api, url, secret, events, account, created_at FROM endpoints"
            " WHERE ?1 IS NULL OR api = ?1 ORDER BY created_at, pos",
            (api,),
        )
        return [
            Endpoint(
                id=r[0],
                api=r[1],
                url=r[2],
                secret=r[3],
                events=orjson.loads(r[4]),
                account=r[5],
                created_at=r[6],
            )
            for r in rows
        ]

    def delete_endpoint(self, endpoint_id: str) -> bool:
        """Remove an endpoint (its deliveries stay, as history); False when there was none."""
        db = self._conn()
        return db.execute("DELETE FROM endpoints WHERE id = ?", (endpoint_id,)).rowcount > 0

    def add_delivery(self, delivery: Delivery, *, job_id: str | None = None) -> bool:
        """Store a delivery; a duplicate id is refused with ValueError. With ``job_id``, only
        while that job is running (one statement checks and inserts; else :class:`JobGone`), and
        a duplicate id is kept as stored (False)."""
        params = (
            delivery.id,
            delivery.endpoint_id,
            orjson.dumps(delivery.event),
            delivery.due_at,
            delivery.status,
            orjson.dumps([_attempt_json(a) for a in delivery.attempts]).decode(),
            delivery.created_at,
            delivery.lease_until,
            delivery.claim,
        )
        try:
            if job_id is None:
                self._conn().execute(
                    f"INSERT INTO deliveries ({_DELIVERY_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params,
                )
                return True
            inserted = self._conn().execute(
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?"
                " WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ? AND status = 'running')"
                " ON CONFLICT (id) DO NOTHING",
                (*params, job_id),
            )
            if inserted.rowcount:
                return True
            if not self._job_running(job_id):
                raise JobGone(job_id)
            return False  # stored by an earlier run of the job
        except sqlite3.IntegrityError:
            raise ValueError(f"a delivery with id {delivery.id!r} already exists") from None

    def claim_due_deliveries(
        self,
        now: float,
        limit: int = 10,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        due_by: float | None = None,
    ) -> list[Delivery]:
        """Mark due deliveries 'delivering' under a new claim and return them, as
        ``claim_due_jobs`` does."""
        rows = self._claim(
            "deliveries", "delivering", _DELIVERY_COLUMNS, now, limit, lease_s, due_by
        )
        return [_delivery(r) for r in rows]

    def record_attempt(
        self,
        delivery_id: str,
        attempt: Attempt,
        status: str,
        next_due_at: float | None,
        *,
        claim: str | None = None,
    ) -> bool:
        """Append an attempt; set status (pending again with next_due_at for a retry).

        ``next_due_at`` None keeps the current due time. False for an unknown (reset) delivery
        or one that another claim holds (one statement checks and writes).
        """
        changed = (
            self._conn()
            .execute(
                "UPDATE deliveries SET attempts = json_insert(attempts, '$[#]', json(?)),"
                " status = ?, due_at = coalesce(?, due_at), lease_until = NULL, claim = NULL"
                " WHERE id = ? AND (?5 IS NULL OR claim = ?5)",
                (
                    orjson.dumps(_attempt_json(attempt)).decode(),
                    status,
                    next_due_at,
                    delivery_id,
                    claim,
                ),
            )
            .rowcount
        )
        return bool(changed)

    def deliveries(self, endpoint_id: str | None = None) -> list[Delivery]:
        """Deliveries with all their attempts, oldest first, optionally of one endpoint."""
        rows = self._conn().execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE ?1 IS NULL OR endpoint_id = ?1"
            " ORDER BY created_at, pos",
            (endpoint_id,),
        )
        return [_delivery(r) for r in rows]

    def next_delivery_due(self) -> float | None:
        """When a delivery can next be claimed (as ``next_job_due``)."""
        return self._next_due("deliveries", "delivering")

    # -- leases --------------------------------------------------------------------------------
    def renew_claims(self, claims: Collection[str], lease_until: float) -> int:
        """Extend the lease of the jobs and deliveries still held by these claims; how many."""
        if not claims:
            return 0
        wanted = orjson.dumps(list(claims))
        renewed = 0
        with self._write() as db:
            for table, holding in (("jobs", "running"), ("deliveries", "delivering")):
                renewed += db.execute(
                    f"UPDATE {table} SET lease_until = ? WHERE status = ?"
                    " AND claim IN (SELECT value FROM json_each(?))",
                    (lease_until, holding, wanted),
                ).rowcount
        return renewed

    def release_claims(self, claims: Collection[str]) -> int:
        """Hand back the jobs and deliveries these claims still hold: pending again, due at their
        due time. The claim token stays on a handed-back delivery until it is claimed again, so
        an attempt that outlives the hand-back is still recorded."""
        if not claims:
            return 0
        wanted = orjson.dumps(list(claims))
        released = 0
        with self._write() as db:
            for table, holding in (("jobs", "running"), ("deliveries", "delivering")):
                released += db.execute(
                    f"UPDATE {table} SET status = 'pending', lease_until = NULL WHERE status = ?"
                    " AND claim IN (SELECT value FROM json_each(?))",
                    (holding, wanted),
                ).rowcount
        return released

    # -- notifications -------------------------------------------------------------------------
    def add_notification(self, notification: Notification, *, job_id: str | None = None) -> None:
        """Store a notification; a duplicate id is refused with ValueError. With ``job_id``, only
        while that job is running (one statement checks and inserts; else :class:`JobGone`), and
        a duplicate id is kept as stored (a re-run of the job)."""
        params = (
            notification.id,
            notification.api,
            notification.account,
            notification.job_id,
            notification.time,
            orjson.dumps(notification.data),
        )
        try:
            inserted = self._conn().execute(
                f"INSERT INTO notifications ({_NOTIFICATION_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?"
                " WHERE ?7 IS NULL OR EXISTS"
                " (SELECT 1 FROM jobs WHERE id = ?7 AND status = 'running')",
                (*params, job_id),
            )
        except sqlite3.IntegrityError:
            if job_id is not None and self._job_running(job_id):
                return  # stored by an earlier run of the job: kept as it is
            raise ValueError(f"a notification with id {notification.id!r} already exists") from None
        if job_id is not None and inserted.rowcount == 0:
            raise JobGone(job_id)

    def _job_running(self, job_id: str) -> bool:
        row = (
            self._conn()
            .execute("SELECT 1 FROM jobs WHERE id = ? AND status = 'running'", (job_id,))
            .fetchone()
        )
        return row is not None

    def notifications(
        self, api: str | None = None, account: str | None = None
    ) -> list[Notification]:
        """Notifications, oldest first (insertion order); the filters combine with AND."""
        rows = self._conn().execute(
            f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications WHERE (?1 IS NULL OR api = ?1)"
            " AND (?2 IS NULL OR account = ?2) ORDER BY pos",
            (api, account),
        )
        return [_notification(r) for r in rows]

    # -- journal -------------------------------------------------------------------------------
    def append_journal(self, entry: JSON) -> int:
        """Store one entry, dropping the oldest beyond the bound; returns its sequence number.

        The top-level ``api``, ``operation_id`` and ``status`` keys are what ``journal`` filters
        on. Every hundredth entry (by seq, across processes) also trims the table.

        Group commit: under load, the entries of the threads of a process share one transaction.
        A thread queues its entry, then either writes every queued entry itself or waits for the
        thread that is writing them; either way its entry is committed when this returns (as
        before: a journal read right after the answer sees it). One transaction per entry cost
        about 50 µs of CPU (a WAL frame or two, plus the writers' lock).
        """
        status = entry.get("status")
        row = (
            entry.get("api"),
            entry.get("operation_id"),
            status if isinstance(status, int) else None,
            compact_json(entry),  # queued until the flush: right-sized, not 4 KiB a row
            self._changes.epoch(),  # a reset in any process drops the entry (see _ChangeCounter)
        )
        if self._journal_flush_s is not None:
            self._deferred_journal().put(row)
            return 0  # deferred: the sequence number is known once the writer commits it
        group = self._journal_group()
        with group.cond:
            ticket = group.next_ticket
            group.next_ticket += 1
            group.queue.append((ticket, row))
            while ticket not in group.done:
                if not group.writing:
                    group.writing = True
                    batch, group.queue = group.queue, []
                    break
                group.cond.wait()
            else:
                return group.result(ticket)
        outcome: list[int] | BaseException
        try:
            outcome = self._write_journal([r for _, r in batch])
        except BaseException as exc:
            outcome = exc
        with group.cond:
            group.writing = False
            for index, (waiting, _) in enumerate(batch):
                if isinstance(outcome, BaseException):
                    group.done[waiting] = outcome
                else:
                    group.done[waiting] = outcome[index]
            group.cond.notify_all()
            return group.result(ticket)

    def _deferred_journal(self) -> _JournalWriter:
        writer = self._journal_writer
        if writer is None or writer.pid != os.getpid():  # none yet, or inherited through fork
            with _WriterQueue._setup_lock:
                writer = self._journal_writer
                if writer is None or writer.pid != os.getpid():
                    assert self._journal_flush_s is not None
                    writer = self._journal_writer = _JournalWriter(self, self._journal_flush_s)
        return writer

    def _settle_journal(self) -> None:
        """Before a read: commit this process's queue, then give the other processes' writers
        time to commit theirs (entries of answers sent before the read are then visible)."""
        if self._journal_flush_s is None:
            return
        self._deferred_journal().flush()
        time.sleep(3 * self._journal_flush_s)

    def _journal_group(self) -> _JournalGroup:
        group = self._journal_groups
        if group is None or group.pid != os.getpid():  # none yet, or inherited through fork
            with _WriterQueue._setup_lock:
                group = self._journal_groups
                if group is None or group.pid != os.getpid():
                    group = self._journal_groups = _JournalGroup()
        return group

    def _write_journal(self, rows: list[tuple[Any, ...]]) -> list[int]:
        """Store queued rows (the entry's columns, then its epoch); the sequence number of each,
        0 for a row answered before the latest reset (not stored)."""
        with self._write() as db:
            epoch = self._changes.epoch()  # under the write lock: no reset is half done
            current = [row[:4] for row in rows if row[4] == epoch]
            if not current:
                return [0] * len(rows)
            db.executemany(
                "INSERT INTO journal (api, operation_id, status, entry) VALUES (?, ?, ?, ?)",
                current,
            )
            last = int(db.execute("SELECT last_insert_rowid()").fetchone()[0])
            first = last - len(current) + 1  # one transaction under the write lock: consecutive
            if last // _JOURNAL_TRIM_EVERY > (first - 1) // _JOURNAL_TRIM_EVERY:
                multiple = last - last % _JOURNAL_TRIM_EVERY
                db.execute("DELETE FROM journal WHERE seq <= ?", (multiple - self._journal_limit,))
        seqs = iter(range(first, last + 1))
        return [next(seqs) if row[4] == epoch else 0 for row in rows]

    def journal(
        self,
        *,
        api: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[JSON]:
        """Entries oldest first, each with its ``seq``; filters combine with AND.

        ``since`` keeps entries with ``seq > since``; ``limit`` keeps the newest ``limit`` matches.
        Only the newest ``journal_limit`` entries are visible, also between two trims.
        """
        self._settle_journal()
        rows = (
            self._conn()
            .execute(
                "SELECT seq, entry FROM journal WHERE seq >= coalesce((SELECT seq FROM journal"
                " ORDER BY seq DESC LIMIT 1 OFFSET ?1), 0)"
                " AND (?2 IS NULL OR api = ?2) AND (?3 IS NULL OR operation_id = ?3)"
                " AND (?4 IS NULL OR status = ?4) AND (?5 IS NULL OR seq > ?5)"
                " ORDER BY seq DESC LIMIT ?6",
                (
                    self._journal_limit - 1,
                    api,
                    operation_id,
                    status,
                    since,
                    -1 if limit is None else max(limit, 0),
                ),
            )
            .fetchall()
        )
        rows.reverse()
        return [{**orjson.loads(blob), "seq": seq} for seq, blob in rows]

    # -- faults --------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        """Add a fault after the existing ones; a duplicate id or ``remaining < 1`` is refused."""
        if fault.remaining < 1:
            raise ValueError(f"a fault needs remaining >= 1, got {fault.remaining}")
        try:
            self._conn().execute(
                f"INSERT INTO faults ({_FAULT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    fault.id,
                    fault.api,
                    fault.operation_id,
                    fault.method,
                    fault.path,
                    fault.status,
                    fault.latency_ms,
                    int(fault.drop),
                    fault.remaining,
                ),
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"a fault with id {fault.id!r} already exists") from None
        self._changes.bump()

    def take_fault(
        self, api: str, operation_id: str | None, method: str, path: str
    ) -> Fault | None:
        """Atomically consume one use of the oldest matching fault (removed at zero)."""
        seen = self._changes.value()
        known, armed = self._faults_seen
        if known == seen and not armed:
            return None  # the common case: nothing changed since we last saw no fault
        db = self._conn()
        armed = db.execute("SELECT pos FROM faults LIMIT 1").fetchone() is not None
        self._faults_seen = (seen, armed)
        if not armed:
            return None
        with self._write() as db:
            row = db.execute(
                "UPDATE faults SET remaining = remaining - 1 WHERE pos = (SELECT pos FROM faults"
                " WHERE (api IS NULL OR api = ?) AND (operation_id IS NULL OR operation_id = ?)"
                " AND (method IS NULL OR upper(method) = upper(?))"
                " AND (path IS NULL OR path = ?) ORDER BY pos LIMIT 1)"
                f" RETURNING {_FAULT_COLUMNS}",
                (api, operation_id, method, path),
            ).fetchone()
            if row is not None and row[8] <= 0:
                db.execute("DELETE FROM faults WHERE id = ?", (row[0],))
        if row is None:
            return None
        self._changes.bump()
        return _fault(row)

    def clear_faults(self) -> int:
        """Disarm every fault; returns how many were armed."""
        with self._write() as conn:
            cleared = int(conn.execute("DELETE FROM faults").rowcount)
        self._changes.bump()
        return cleared

    def faults(self) -> list[Fault]:
        """Active faults, oldest first."""
        rows = self._conn().execute(f"SELECT {_FAULT_COLUMNS} FROM faults ORDER BY pos")
        return [_fault(r) for r in rows]

    # -- flags and rate limits -----------------------------------------------------------------
    def set_flag(self, name: str, value: Any) -> None:
        """Store a JSON value under ``name``."""
        self._conn().execute(
            "INSERT OR REPLACE INTO flags (name, value) VALUES (?, ?)", (name, orjson.dumps(value))
        )
        self._changes.bump()

    def get_flag(self, name: str, default: Any = None) -> Any:
        """The value stored under ``name``, or ``default``."""
        seen = self._changes.value()
        known, flags = self._flags_seen
        if known != seen:
            rows = self._conn().execute("SELECT name, value FROM flags").fetchall()
            flags = {flag: bytes(blob) for flag, blob in rows}
            self._flags_seen = (seen, flags)
        blob = flags.get(name)
        return default if blob is None else orjson.loads(blob)

    def hit(self, key: str, window_s: float, now: float) -> int:
        """Count one hit for ``key`` in a fixed window of ``window_s`` seconds; returns the count.

        One statement, so atomic across processes. A hit stamped in an earlier window than the
        current one (a late clock) counts in the current window.
        """
        start = window_start(window_s, now)
        row = (
            self._conn()
            .execute(
                "INSERT INTO hits (key, window_start, count) VALUES (?, ?, 1)"
                " ON CONFLICT (key) DO UPDATE SET"
                " count = CASE WHEN excluded.window_start > window_start THEN 1 ELSE count + 1 END,"
                " window_start = max(window_start, excluded.window_start)"
                " RETURNING count",
                (key, start),
            )
            .fetchone()
        )
        return int(row[0])

    # -- lifecycle -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything; sequence numbers continue where they were."""
        if self._journal_writer is not None and self._journal_writer.pid == os.getpid():
            self._journal_writer.discard()
        with self._write() as db:
            for table in (
                "records",
                "unique_keys",
                "jobs",
                "endpoints",
                "deliveries",
                "notifications",
                "journal",
                "faults",
                "flags",
                "hits",
            ):
                db.execute(f"DELETE FROM {table}")
            db.execute("UPDATE scopes SET n = 0")
            # Last, under the write lock: entries any process answered before this reset are
            # dropped when its journal writer gets to them (see _ChangeCounter).
            self._changes.bump_epoch()
        self._changes.bump()

    def close(self) -> None:
        """Close every connection this state opened (in any thread); further use raises.

        The WAL is folded into the database and truncated first (unless other processes keep
        the file busy for more than half a second: the last one to stop does it then).
        """
        writer = self._journal_writer
        if writer is not None and writer.pid == os.getpid() and not self._closed:
            writer.stopped.set()
            writer.flush()
        if not self._closed:
            try:
                with self._writers.turn():
                    truncate_wal(self._conn(), busy_ms=500)
            except (sqlite3.Error, OSError, RuntimeError):
                logger.warning("could not checkpoint %s at close", self.path, exc_info=True)
        self._closed = True
        with self._all_lock:
            holders = list(self._all)
            self._all.clear()
        for holder in holders:
            holder.db.close()
        self._local = threading.local()
        self._writers.close()
        self._changes.close()


__all__ = ["SCHEMA_VERSION", "SQLiteState", "checkpoint_file", "copy_json"]
