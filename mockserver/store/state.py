"""The state: every concern's rules over one backend.

All of the mock's mutable state lives behind :class:`State`, one attribute per concern:
records (customers, scoped by API and account), jobs, the leases of what a process holds,
webhook endpoints, deliveries and notifications, the request journal, injected faults, flags
and rate-limit counters. Each concern writes its rules once; the backend (memory for one
process, SQLite for several worker processes and restarts) only stores.
"""

from __future__ import annotations

import os

from mockserver.store.backend import Backend
from mockserver.store.jobs import Jobs, Leases
from mockserver.store.journal import Journal
from mockserver.store.memory import MemoryBackend
from mockserver.store.records import Records
from mockserver.store.sqlite import WAL_LIMIT_BYTES, SQLiteBackend
from mockserver.store.switches import Faults, Flags, RateLimits
from mockserver.store.webhooks import Deliveries, Endpoints, Notifications


class State:
    """Everything mutable in the mock, by concern, over one :class:`Backend`.

    ``journal_limit`` bounds the request journal; ``journal_flush_s`` (a backend shared by
    processes) defers journal writes to a per-process thread (see ``journal``).
    """

    def __init__(
        self, backend: Backend, journal_limit: int = 1000, journal_flush_s: float | None = None
    ) -> None:
        self.backend = backend
        self.records = Records(backend)
        self.jobs = Jobs(backend)
        self.leases = Leases(backend)
        self.endpoints = Endpoints(backend)
        self.deliveries = Deliveries(backend)
        self.notifications = Notifications(backend)
        self.journal = Journal(backend, journal_limit, journal_flush_s)
        self.faults = Faults(backend)
        self.flags = Flags(backend)
        self.rate_limits = RateLimits(backend)

    def reset(self) -> None:
        """Forget everything: records, jobs, endpoints, deliveries, notifications, journal,
        faults, flags, hits. Sequence numbers continue where they were, and journal entries
        answered before the reset (in any process) are never stored."""
        self.journal.discard_pending()
        with self.backend.write() as tx:
            tx.clear_all()
            # Last, inside the write transaction: see journal's reset barrier.
            self.backend.bump_epoch()
        self.backend.bump_changes()

    def close(self) -> None:
        """Write what is pending and release the backend; further use raises (the memory
        backend stays usable)."""
        self.journal.close()
        self.backend.close()


class MemoryState(State):
    """The state in this process's memory (one process; see ``memory``)."""

    def __init__(self, journal_limit: int = 1000) -> None:
        super().__init__(MemoryBackend(), journal_limit)


class SQLiteState(State):
    """The state in the SQLite file at ``path``, shared by processes (see ``sqlite``).

    ``durable=False`` (for a file deleted at exit) skips fsyncs; ``journal_flush_s`` defers
    journal writes to a per-process thread.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        journal_limit: int = 1000,
        journal_flush_s: float | None = None,
        durable: bool = True,
        wal_limit_bytes: int = WAL_LIMIT_BYTES,
    ) -> None:
        if journal_limit < 1:  # before the file is opened
            raise ValueError(f"journal_limit must be at least 1, got {journal_limit}")
        self.sqlite = SQLiteBackend(path, durable=durable, wal_limit_bytes=wal_limit_bytes)
        self.path = self.sqlite.path
        super().__init__(self.sqlite, journal_limit, journal_flush_s)
