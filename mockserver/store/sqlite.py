"""The SQLite backend: one file shared by several worker processes, surviving restarts.

It only stores: the statements are ``sql.SqlTx``'s (shared with any SQL backend), the rules
are in the concern modules. Here: the connections, the transactions and the file.

Each thread of each process gets its own connection (``threading.local``; a connection inherited
through ``fork`` is never reused). The file is in WAL mode with ``synchronous=NORMAL`` (OFF with
``durable=False``) and a 10 s busy timeout. A write transaction is ``BEGIN IMMEDIATE``, which
takes the write lock before the first read, so checks and writes of different processes never
interleave; writers queue for it on a lock file first (``_WriterQueue``). A ``direct()``
primitive is one statement, atomic on its own. A small mapped file (``-changes``) holds the
change counter (faults and flags), the reset epoch and the last journal seq that every process
reads; another (``-journal-writers``) the flush counts of the processes' journal writers
(:class:`SQLiteJournalSync`).

Measured on the development container (2 shared cores, SQLite 3.40, ext4; CPU time, medians),
records of the Bunce shape (about 260 bytes of JSON, unique email, id = customer_id):

* ``insert_batch`` of 500 new records: 7.2 ms in a scope of 20,000, 7.5 ms in one of 1,000,000
  (target < 10 ms). The fastest wall times match; with the 2 cores shared by other busy
  processes (load 6 to 9) the wall-time median was about 21 ms.
* ``get`` / ``find``: 10 µs. ``count``: 6 µs (the scope's count is kept in ``scopes``).
* ``page(limit=100)`` in a scope of 1,000,000: 0.3 ms for the first page or by either cursor,
  0.36 ms at offset 1,000; a deep offset costs about 50 ms per 1,000,000 records skipped
  (the skip walks the covering index).
* a journal append 41 µs (one INSERT), a fault lookup with none armed 5 µs.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import mmap
import os
import sqlite3
import struct
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from mockserver.store.codec import compact_json
from mockserver.store.model import JSON, Scope
from mockserver.store.sql import SQLITE, SqlTx

# 2 added the notifications table; a version-1 file gets it at open (every statement of the schema
# is CREATE ... IF NOT EXISTS). 3 added the leases of jobs and deliveries and a job's recorded
# progress (columns added by _ADDED_COLUMNS).
SCHEMA_VERSION = 3

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
_CHECKPOINT_EVERY_S = 0.1  # a writer checkpoints the WAL when the last checkpoint is this old
WAL_LIMIT_BYTES = 64 * 1024 * 1024  # a WAL file larger than this is checkpointed and truncated
_WAL_CHECK_EVERY_S = 0.25  # a writer looks at the WAL file's size at least this often,
_WAL_CHECK_EVERY_COMMITS = 8  # and after this many commits of its process (a fast stream of
# large batches can write megabytes in a quarter of a second)

logger = logging.getLogger("mockserver.store")


class _Connection:
    """One thread's connection, with the process that opened it (never reuse one across fork)."""

    __slots__ = ("__weakref__", "db", "pid", "tx")

    def __init__(self, db: sqlite3.Connection, tx: SqlTx) -> None:
        self.db = db
        self.tx = tx
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

    def __init__(self, path: str, wal_limit_bytes: int = WAL_LIMIT_BYTES) -> None:
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


# libc's flock(2) called with the GIL held (a PyDLL function keeps it): see _MappedFile.lock.
_flock_holding_gil = ctypes.PyDLL(None, use_errno=True).flock
_flock_holding_gil.argtypes = (ctypes.c_int, ctypes.c_int)
_flock_holding_gil.restype = ctypes.c_int


class _MappedFile:
    """A small file every process of the state maps into memory (reopened after a fork, grown
    to ``size`` bytes if it is new or from an older version); :meth:`locked` holds its ``flock``
    across processes."""

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        self._pid = -1
        self._fd = -1
        self._map: mmap.mmap | None = None

    def mapped(self) -> mmap.mmap:
        """The mapping (read on every request: no more than a pid check once it is open)."""
        if self._map is not None and self._pid == os.getpid():
            return self._map
        return self._opened()[1]

    @contextmanager
    def locked(self) -> Iterator[mmap.mmap]:
        """The mapping, with the file's ``flock`` held (for read-modify-write).

        The lock excludes other processes, not the threads of this one (they share the file
        descriptor): callers that may race within a process hold a thread lock around it.
        """
        fd, mapped = self.lock()
        try:
            yield mapped
        finally:
            self.unlock(fd)

    def lock(self) -> tuple[int, mmap.mmap]:
        """Take the ``flock`` (see :meth:`locked`); the descriptor to :meth:`unlock` and the
        mapping. A free lock is taken without letting go of the GIL: ``fcntl.flock`` lets go
        of it for the call, and with the process's other threads waiting for it (the journal
        writer, other requests) every request paid a switch to one of them and back (in
        process, a 2-customer create cost 108-118 µs of CPU with it, 81-83 µs without). Only a
        lock another process holds is waited for the usual way."""
        fd, mapped = self._opened()
        if _flock_holding_gil(fd, fcntl.LOCK_EX | fcntl.LOCK_NB) != 0:
            fcntl.flock(fd, fcntl.LOCK_EX)
        return fd, mapped

    @staticmethod
    def unlock(fd: int) -> None:
        """Let go of the ``flock`` :meth:`lock` took."""
        if _flock_holding_gil(fd, fcntl.LOCK_UN) != 0:  # pragma: no cover - a bad descriptor
            fcntl.flock(fd, fcntl.LOCK_UN)  # raises the OSError

    def _opened(self) -> tuple[int, mmap.mmap]:
        if self._pid != os.getpid() or self._map is None:
            with _WriterQueue._setup_lock:
                if self._pid != os.getpid() or self._map is None:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    if os.fstat(fd).st_size < self.size:
                        os.ftruncate(fd, self.size)
                    self._map = mmap.mmap(fd, self.size)
                    self._fd, self._pid = fd, os.getpid()
        assert self._map is not None
        return self._fd, self._map

    def close(self) -> None:
        if self._map is not None and self._pid == os.getpid():
            self._map.close()
            os.close(self._fd)
        self._map, self._fd, self._pid = None, -1, -1


_U64 = struct.Struct("<Q")


class _ChangeCounter:
    """Three numbers in a shared 24-byte file: the change count, the reset epoch and the last
    journal seq handed out.

    The change count is bumped after every commit that changes faults or flags. Every request asks
    for an injected fault and the rate-limit switch; with the counter unchanged a process answers
    both from its cache (a memory read of the mapped file instead of two SQLite queries, ~60 µs of
    a ~600 µs request). A bump follows its commit, so a cache filled after reading the counter can
    only be older than the counter says, never newer.

    The reset epoch is bumped by every reset, inside its write transaction. A journal entry
    carries the epoch it was answered in, and the deferred writer stores only the entries of the
    current epoch (read under the write lock): an entry of a request answered before a reset
    that another process answered is never stored, however late its process flushes.

    The journal seq numbers the entries in the order they were answered, whichever process
    answered them and whenever that process commits them (see :class:`SQLiteJournalSync`).
    """

    _CHANGES, _EPOCH, _JOURNAL = 0, 8, 16  # offsets in the file
    _SIZE = 24

    def __init__(self, path: str) -> None:
        self._file = _MappedFile(path + "-changes", self._SIZE)

    def value(self) -> int:
        return int(_U64.unpack_from(self._file.mapped(), self._CHANGES)[0])

    def epoch(self) -> int:
        return int(_U64.unpack_from(self._file.mapped(), self._EPOCH)[0])

    def bump(self) -> None:
        self._bump(self._CHANGES)

    def bump_epoch(self) -> None:
        self._bump(self._EPOCH)

    def journal_seq(self) -> int:
        return int(struct.unpack_from("<Q", self._file.mapped(), self._JOURNAL)[0])

    def next_journal_seq(self) -> int:
        return self._bump(self._JOURNAL)

    def raise_journal_seq(self, at_least: int) -> None:
        """Make the last journal seq at least ``at_least`` (the journal table's, at open)."""
        with self._file.locked() as mapped:
            if struct.unpack_from("<Q", mapped, self._JOURNAL)[0] < at_least:
                struct.pack_into("<Q", mapped, self._JOURNAL, at_least)

    def _bump(self, offset: int) -> int:
        # lock() and unlock() rather than locked(): a generator-based context manager costs
        # as much as the rest of this, and every answer takes a journal seq here.
        fd, mapped = self._file.lock()
        try:
            bumped = (_U64.unpack_from(mapped, offset)[0] + 1) % (1 << 64)
            _U64.pack_into(mapped, offset, bumped)
        finally:
            self._file.unlock(fd)
        return int(bumped)

    def close(self) -> None:
        self._file.close()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SQLiteJournalSync:
    """One journal for the processes that share the file, each committing its entries in a
    thread of its own (``journal.py``):

    * an entry's seq is handed out as it is answered (:meth:`next_seq`, the counter in the
      ``-changes`` file), so the journal lists entries in the order they were answered,
      although a process may commit an older entry after another process committed a newer
      one;
    * each running writer thread has a slot in the mapped file ``<state>-journal-writers``: its
      pid and how many flushes it finished (256 slots of two 8-byte numbers). A reader waits
      until every other writer has started and finished a flush after the read began
      (:meth:`wait_for_writers`, a few milliseconds): every entry answered before then is
      committed. A slot whose process is gone is skipped, and taken by the next writer that
      starts; one that does not move during a whole wait is given up as stale (its writer, if
      it is only slow, takes a new one at its next flush).
    """

    SLOTS = 256
    _SLOT = 16  # bytes: pid, flushes

    def __init__(self, path: str, counter: _ChangeCounter) -> None:
        # (SQLite itself owns "-journal")
        self._file = _MappedFile(path + "-journal-writers", self.SLOTS * self._SLOT)
        self._counter = counter

    def _slot(self, mapped: mmap.mmap, slot: int) -> tuple[int, int]:
        pid, flushes = struct.unpack_from("<QQ", mapped, slot * self._SLOT)
        return int(pid), int(flushes)

    def next_seq(self) -> int:
        return self._counter.next_journal_seq()

    def last_seq(self) -> int:
        return self._counter.journal_seq()

    def join(self) -> int:
        with self._file.locked() as mapped:
            for slot in range(self.SLOTS):
                pid, _ = self._slot(mapped, slot)
                if pid == 0 or not _running(pid):
                    struct.pack_into("<QQ", mapped, slot * self._SLOT, os.getpid(), 0)
                    return slot
        logger.warning(
            "all %d journal writer slots of %s are taken: readers in other processes may not"
            " wait for the entries of this one (pid %d)",
            self.SLOTS,
            self._file.path,
            os.getpid(),
        )
        return -1

    def flushed(self, slot: int) -> int:
        if slot < 0:
            return slot
        mapped = self._file.mapped()
        pid, flushes = self._slot(mapped, slot)
        if pid != os.getpid():  # given up as stale by a reader: take a new one
            return self.join()
        # Only this writer writes its slot's count (an aligned 8-byte store).
        struct.pack_into("<Q", mapped, slot * self._SLOT + 8, flushes + 1)
        return slot

    def leave(self, slot: int) -> None:
        if slot < 0:
            return
        with self._file.locked() as mapped:
            if self._slot(mapped, slot)[0] == os.getpid():
                struct.pack_into("<QQ", mapped, slot * self._SLOT, 0, 0)

    def wait_for_writers(self, own: int, timeout: float) -> None:
        mapped = self._file.mapped()
        waiting: dict[int, tuple[int, int]] = {}  # slot -> (pid, flushes at the start)
        for slot in range(self.SLOTS):
            pid, flushes = self._slot(mapped, slot)
            if pid and slot != own:
                waiting[slot] = (pid, flushes)
        # A flush may be under way as the read begins: the one after it started later.
        deadline = time.monotonic() + timeout
        while waiting:
            for slot, (pid, start) in list(waiting.items()):
                now_pid, flushes = self._slot(mapped, slot)
                if now_pid != pid or flushes >= start + 2 or not _running(pid):
                    del waiting[slot]
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.001)
        for slot, (pid, start) in waiting.items():
            if self._slot(mapped, slot) == (pid, start):
                self._give_up(slot, pid, start)

    def _give_up(self, slot: int, pid: int, flushes: int) -> None:
        with self._file.locked() as mapped:
            if self._slot(mapped, slot) == (pid, flushes):
                struct.pack_into("<QQ", mapped, slot * self._SLOT, 0, 0)
        logger.warning("the journal writer of process %d did not flush: no longer waited for", pid)

    def close(self) -> None:
        self._file.close()


class _Direct:
    """Each primitive on its own (autocommit): this thread's connection."""

    __slots__ = ("_backend",)

    def __init__(self, backend: SQLiteBackend) -> None:
        self._backend = backend

    def __enter__(self) -> SqlTx:
        return self._backend._tx()

    def __exit__(self, *exc: object) -> None:
        pass


class _Read(_Direct):
    """One read transaction, so several SELECTs see the same snapshot."""

    __slots__ = ()

    def __enter__(self) -> SqlTx:
        tx = self._backend._tx()
        tx.db.execute(SQLITE.begin_read)
        return tx

    def __exit__(self, *exc: object) -> None:
        self._backend._tx().db.execute("COMMIT")


class SQLiteBackend:
    """The state in one SQLite file (see the module docstring).

    ``path`` is created (with its schema) if missing. ``durable=False`` (for a file deleted at
    exit) skips SQLite's fsyncs and the WAL checkpoint at close.
    """

    shared = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        durable: bool = True,
        wal_limit_bytes: int = WAL_LIMIT_BYTES,
    ) -> None:
        self.path = os.fspath(path)
        if self.path in ("", ":memory:"):
            raise ValueError(
                f"SQLiteState needs a file path, got {self.path!r}; use MemoryState (no --state)"
                " for a state that lives in memory"
            )
        if sqlite3.sqlite_version_info < (3, 35, 0):
            raise RuntimeError(
                f"the SQLite state needs SQLite 3.35 or later (RETURNING), this Python has "
                f"{sqlite3.sqlite_version}; use the memory state (no --state) or a newer Python"
            )
        # NORMAL: in WAL mode a commit survives a crash of the process, and the WAL is fsynced
        # at checkpoints so it survives one of the OS too. OFF skips those fsyncs (a process
        # crash is still safe): for a temporary file it took 20% off a 2-customer create.
        self.durable = durable
        self._synchronous = "NORMAL" if durable else "OFF"
        self._local = threading.local()
        self._all: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._all_lock = threading.Lock()
        self._scope_ids: dict[Scope, int] = {}  # scopes rows are never deleted: ids are stable
        self._forked: list[_Connection] = []
        self.closed = False
        self._writers = _WriterQueue(self.path, wal_limit_bytes)
        self._changes = _ChangeCounter(self.path)
        self._journal_sync = SQLiteJournalSync(self.path, self._changes)
        self._direct = _Direct(self)
        self._read = _Read(self)
        try:
            self._create_schema(self.connection())
        except BaseException:
            self.close()
            raise

    # -- connections and transactions ----------------------------------------------------------
    def _holder(self) -> _Connection:
        holder: _Connection | None = getattr(self._local, "conn", None)
        if holder is not None:
            if holder.pid == os.getpid():
                return holder
            # Inherited through fork: never use it, and never close it here either (closing
            # could disturb the parent's locks); keep it referenced so it is not collected.
            self._forked.append(holder)
        if self.closed:
            raise RuntimeError(f"the SQLite state {self.path!r} is closed")
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        db.execute(f"PRAGMA synchronous = {self._synchronous}")
        db.execute("PRAGMA wal_autocheckpoint = 0")  # see _WriterQueue
        # When the WAL starts over, SQLite truncates a file larger than this back to it.
        db.execute(f"PRAGMA journal_size_limit = {self._writers.wal_limit_bytes}")
        holder = _Connection(db, SqlTx(db, SQLITE, self._scope_ids))
        self._local.conn = holder
        with self._all_lock:
            self._all.add(holder)
        return holder

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        return self._holder().db

    def _tx(self) -> SqlTx:
        return self._holder().tx

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
                for statement in SQLITE.schema():
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            # Journal seqs are handed out by the shared counter: never below one already used.
            used = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").fetchone()
            self._changes.raise_journal_seq(used[0] if used else 0)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextmanager
    def write(self) -> Iterator[SqlTx]:
        """One ``BEGIN IMMEDIATE`` transaction, after this process's turn in the writers'
        queue: committed at the end, rolled back on error."""
        tx = self._tx()
        db = tx.db
        with self._writers.turn():
            for statement in SQLITE.begin_write:
                db.execute(statement)
            tx.began()
            try:
                yield tx
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                tx.rolled_back()
                raise
            tx.committed()
            self._writers.bound_wal(db)
        self._writers.checkpoint_soon(db)

    def read(self) -> _Read:
        return self._read

    def direct(self) -> _Direct:
        return self._direct

    def changes(self) -> int:
        return self._changes.value()

    def bump_changes(self) -> None:
        self._changes.bump()

    def epoch(self) -> int:
        return self._changes.epoch()

    def encode_record(self, record_id: str, unique: Mapping[str, str], data: JSON) -> bytes:
        """The data's JSON, right-sized: rows wait for their executemany, and orjson's own
        buffers are 4 KiB each (a 75,000-customer create peaked 300 MB higher)."""
        return compact_json(data)

    def bump_epoch(self) -> None:
        self._changes.bump_epoch()

    def journal_sync(self) -> SQLiteJournalSync:
        return self._journal_sync

    def close(self) -> None:
        """Close every connection this backend opened (in any thread); further use raises.

        The WAL of a durable file is folded into the database and truncated first (unless other
        processes keep the file busy for more than half a second: the last one to stop does it
        then). A file that is not durable is thrown away: its WAL is left as it is.
        """
        if not self.closed and self.durable:
            try:
                with self._writers.turn():
                    truncate_wal(self.connection(), busy_ms=500)
            except (sqlite3.Error, OSError, RuntimeError):
                logger.warning("could not checkpoint %s at close", self.path, exc_info=True)
        self.closed = True
        with self._all_lock:
            holders = list(self._all)
            self._all.clear()
        for holder in holders:
            holder.db.close()
        self._local = threading.local()
        self._writers.close()
        self._changes.close()
        self._journal_sync.close()


__all__ = [
    "SCHEMA_VERSION",
    "SQLiteBackend",
    "SQLiteJournalSync",
    "checkpoint_file",
    "truncate_wal",
]
