"""The request journal: its bound, its filters and its reset barrier, for every backend.

An entry is a JSON-able dict; its top-level ``api``, ``operation_id`` and ``status`` are what
``read`` filters on, and ``read`` hands each back with its ``seq``. Only the newest ``limit``
entries are visible; older ones are dropped every hundredth entry (so a store holds at most
``limit + 100``).

How an entry reaches the store depends on the backend:

* one process (memory): written when ``append`` is called;
* shared by processes (SQLite): group commit (the entries of one process's threads share one
  transaction; each ``append`` returns once its entry is committed), or, with ``flush_s``, a
  per-process daemon thread that commits the queued entries every ``flush_s`` seconds, so
  requests never wait for the shared write lock.

A backend whose processes commit later than they answer gives a :class:`JournalSync`: each entry
is numbered as it is answered (so the journal keeps the order of answers, whichever process
commits first), and a read flushes this process's queue, then waits until every other
process's writer has flushed once since the read began (a few ms). It returns the entries up to
the last number handed out when it began: all of them are committed by then, so a reader
that pages with ``since`` never skips one that is committed later.

Each entry carries the reset epoch it was answered in, and only entries of the current epoch
(read inside the write transaction) are stored: a reset answered by one process is a barrier
for the entries every other process still holds.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

import orjson

from mockserver.store.backend import Backend, JournalRow, JournalSync
from mockserver.store.codec import compact_json
from mockserver.store.model import JSON

TRIM_EVERY = 100  # the journal is trimmed when a seq is a multiple of this

logger = logging.getLogger("mockserver.store")

_setup_lock = threading.Lock()

# A row, the reset epoch it was answered in, and its seq (0: numbered when committed).
Queued = tuple[JournalRow, int, int]

_SETTLE_TIMEOUT_S = 5.0  # a read waits at most this long for the other processes' writers


class _Group:
    """The entries of one process waiting for their transaction (group commit)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.cond = threading.Condition(threading.Lock())
        self.queue: list[tuple[int, Queued]] = []
        self.next_ticket = 0
        self.writing = False
        self.done: dict[int, int | BaseException] = {}

    def result(self, ticket: int) -> int:
        outcome = self.done.pop(ticket)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class _Deferred:
    """One daemon thread per process that commits the queued entries every ``flush_s``."""

    def __init__(self, journal: Journal, flush_s: float, sync: JournalSync | None) -> None:
        self.pid = os.getpid()
        self.journal = journal
        self.flush_s = flush_s
        self.sync = sync
        self.slot = sync.join() if sync is not None else -1
        self.queue: list[Queued] = []
        self.lock = threading.Lock()
        self.flushing = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="mockserver-journal", daemon=True)
        self.thread.start()
        atexit.register(self.flush)

    def put(self, row: JournalRow, epoch: int) -> None:
        with self.lock:
            # Numbered under the lock a flush takes its batch under: an entry numbered before a
            # read began is in the batch of any flush that starts after it.
            seq = self.sync.next_seq() if self.sync is not None else 0
            self.queue.append((row, epoch, seq))

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
            if self.journal.closed:
                return
            if rows:
                self.journal.store(rows)
            if self.sync is not None:
                self.slot = self.sync.flushed(self.slot)

    def leave(self) -> None:
        """Give up the writer's slot (after the last flush)."""
        with self.flushing:
            if self.sync is not None:
                self.sync.leave(self.slot)
            self.slot = -1

    def _loop(self) -> None:
        while not self.stopped.wait(self.flush_s):
            try:
                self.flush()
            except Exception:  # a broken state must not kill the thread; the next flush retries
                logger.exception("writing the journal failed")


class Journal:
    """The bounded request journal (see the module docstring).

    ``flush_s`` (a store shared by processes only) defers the writes to a per-process thread.
    """

    def __init__(self, backend: Backend, limit: int = 1000, flush_s: float | None = None) -> None:
        if limit < 1:
            raise ValueError(f"journal_limit must be at least 1, got {limit}")
        self._backend = backend
        self._limit = limit
        self._flush_s = flush_s if backend.shared else None
        self._group: _Group | None = None
        self._deferred: _Deferred | None = None
        # Numbering entries as they are answered (see the module docstring): shared stores only.
        self._sync = backend.journal_sync() if backend.shared else None
        self.closed = False

    def append(self, entry: JSON) -> int:
        """Store one entry; its sequence number (0 when deferred: known once written)."""
        status = entry.get("status")
        row = (
            entry.get("api"),
            entry.get("operation_id"),
            status if isinstance(status, int) else None,
            compact_json(entry),  # kept until written: right-sized, not 4 KiB a row
        )
        epoch = self._backend.epoch()
        if self._flush_s is not None:
            self._deferred_writer().put(row, epoch)
            return 0
        if not self._backend.shared:
            return self.store([(row, epoch, 0)])[0]
        return self._group_commit(row, epoch)

    def store(self, queued: list[Queued]) -> list[int]:
        """Write entries in one transaction, trimming the journal when a seq passes a multiple
        of 100; the seq of each, 0 for one answered before the latest reset (not stored).

        Entries numbered as they were answered (a seq other than 0) keep their numbers; with a
        :class:`JournalSync` the others are numbered now."""
        backend, sync = self._backend, self._sync
        with backend.write() as tx:
            epoch = backend.epoch()  # inside the write transaction: no reset half done
            rows: list[JournalRow] = []
            numbered: list[int] = []
            for row, answered, seq in queued:  # one pass: this runs for every request
                if answered == epoch:
                    rows.append(row)
                    if not seq and sync is not None:  # every seq from the shared counter
                        seq = sync.next_seq()
                    if seq:
                        numbered.append(seq)
            if not rows:
                return [0] * len(queued)
            last = tx.append_journal(rows, numbered)
            first = min(numbered) if numbered else last - len(rows) + 1
            if last // TRIM_EVERY > (first - 1) // TRIM_EVERY:
                tx.trim_journal(last - last % TRIM_EVERY - self._limit)
        seqs = iter(numbered or range(first, last + 1))
        return [next(seqs) if answered == epoch else 0 for _, answered, _ in queued]

    def read(
        self,
        *,
        api: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[JSON]:
        """Entries oldest first, each with its ``seq``; filters combine with AND.

        ``since`` keeps entries with ``seq > since``; ``limit`` keeps the newest ``limit``
        matches. Only the newest ``journal_limit`` entries are visible, also between two trims.
        """
        horizon = self._settle()
        picked: list[tuple[int, bytes]] = []
        filtered = api is not None or operation_id is not None or status is not None
        batch = min(self._limit, 200 if filtered or limit is None else max(limit, 1))
        with self._backend.read() as tx:
            visible = 0
            for seq, e_api, e_operation_id, e_status, blob in tx.journal_newest_first(batch):
                if horizon is not None and seq > horizon:
                    continue  # answered after the read began: the next read has it
                visible += 1
                if visible > self._limit or (limit is not None and len(picked) >= limit):
                    break
                if since is not None and seq <= since:
                    break
                if (
                    (api is None or e_api == api)
                    and (operation_id is None or e_operation_id == operation_id)
                    and (status is None or e_status == status)
                ):
                    picked.append((seq, blob))
        picked.reverse()
        return [{**orjson.loads(blob), "seq": seq} for seq, blob in picked]

    def discard_pending(self) -> None:
        """Drop this process's entries not written yet (a reset does)."""
        writer = self._deferred
        if writer is not None and writer.pid == os.getpid():
            writer.discard()

    def close(self) -> None:
        """Write this process's pending entries and stop its writer thread."""
        writer = self._deferred
        if writer is not None and writer.pid == os.getpid() and not self.closed:
            writer.stopped.set()
            writer.flush()
            writer.leave()
        self.closed = True

    def flush(self) -> None:
        """Write this process's pending entries now."""
        writer = self._deferred
        if writer is not None and writer.pid == os.getpid():
            writer.flush()

    def _settle(self) -> int | None:
        """Before a read: commit this process's queue and wait until the other processes'
        writers committed theirs; the last seq of an entry answered before the read began
        (None: every seq that is stored may be read)."""
        if self._flush_s is None:
            return None
        sync = self._sync
        if sync is None:  # no way to know: give the other writers a few periods
            self._deferred_writer().flush()
            time.sleep(3 * self._flush_s)
            return None
        horizon = sync.last_seq()
        writer = self._deferred_writer()
        writer.flush()
        sync.wait_for_writers(writer.slot, _SETTLE_TIMEOUT_S)
        return horizon

    def _deferred_writer(self) -> _Deferred:
        writer = self._deferred
        if writer is None or writer.pid != os.getpid():  # none yet, or inherited through fork
            with _setup_lock:
                writer = self._deferred
                if writer is None or writer.pid != os.getpid():
                    assert self._flush_s is not None
                    writer = self._deferred = _Deferred(self, self._flush_s, self._sync)
        return writer

    def _group_commit(self, row: JournalRow, epoch: int) -> int:
        """Group commit: a thread queues its entry, then either writes every queued entry
        itself or waits for the thread that is writing them; either way its entry is committed
        when this returns. (One transaction per entry cost about 50 µs of CPU on SQLite.)"""
        group = self._group
        if group is None or group.pid != os.getpid():  # none yet, or inherited through fork
            with _setup_lock:
                group = self._group
                if group is None or group.pid != os.getpid():
                    group = self._group = _Group()
        with group.cond:
            ticket = group.next_ticket
            group.next_ticket += 1
            seq = self._sync.next_seq() if self._sync is not None else 0
            group.queue.append((ticket, (row, epoch, seq)))
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
            outcome = self.store([q for _, q in batch])
        except BaseException as exc:
            outcome = exc
        with group.cond:
            group.writing = False
            for index, (waiting, _) in enumerate(batch):
                group.done[waiting] = (
                    outcome if isinstance(outcome, BaseException) else outcome[index]
                )
            group.cond.notify_all()
            return group.result(ticket)


__all__ = ["TRIM_EVERY", "Journal"]
