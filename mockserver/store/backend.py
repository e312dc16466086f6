"""What a backend provides: transactions, and storage primitives inside them.

A backend only stores. It knows nothing of conflicts, running jobs, claims, fault matching or
the journal's bound: those rules live once in the concern modules (``records``, ``jobs``,
``webhooks``, ``journal``, ``switches``), which call the primitives below inside a
transaction the backend provides:

* ``write()``: exclusive; every read sees what this transaction wrote, and no other writer
  (thread or process) runs until it ends. An exception rolls it back. Memory: one lock (and an
  undo log for record writes); SQLite: the writers' turn and ``BEGIN IMMEDIATE``.
* ``read()``: one consistent snapshot for several reads.
* ``direct()``: each primitive is atomic on its own (one statement); for a rule that calls
  exactly one primitive, so it costs no transaction.

A primitive is an index lookup, an insert-if-absent, a row update: it never decides. Values
cross as plain data: records as the caller's ``NewRecord`` with the bytes the backend encoded
(``encode_record``), jobs and deliveries as the
model's dataclasses (a backend hands back copies). ``kind`` names the claimable items:
``"jobs"`` or ``"deliveries"``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, NamedTuple, Protocol

from mockserver.store.model import JSON, Attempt, Delivery, Endpoint, Fault, Job

# isort: split
from mockserver.store.model import NewRecord, Notification, Scope, StoredRecord

Kind = Literal["jobs", "deliveries"]
Due = tuple[float, int, str]
"""A claimable item: (its due time, its insertion position, its id); sorts in claim order."""


class StoredRow(NamedTuple):
    """A stored record with everything a change needs: seq, id, unique keys, data."""

    seq: int
    id: str
    unique: Mapping[str, str]
    data: JSON


JournalRow = tuple[Any, Any, Any, bytes]
"""A journal entry as stored: api, operation_id, status (int or None), the entry's JSON."""


class RecordRows(Protocol):
    """Records by scope, in insertion order (``seq``: monotonic, never reused)."""

    def open_scope(self, scope: Scope) -> bool:
        """Make sure ``scope`` exists for records about to be added in this write transaction;
        True when it is created now (it holds nothing yet: nothing of it can be taken)."""
        ...

    def taken_ids(self, scope: Scope, ids: Sequence[str]) -> set[str]: ...
    def taken_values(self, scope: Scope, key: str, values: Sequence[str]) -> set[str]: ...
    def add_records(
        self, scope: Scope, records: Sequence[NewRecord], blobs: Sequence[bytes]
    ) -> None:
        """Store the records (their data as ``Backend.encode_record`` made it), new seqs."""
        ...

    def record(self, scope: Scope, record_id: str) -> StoredRow | None: ...
    def record_data(self, scope: Scope, record_id: str) -> JSON | None: ...
    def record_by_key(self, scope: Scope, key: str, value: str) -> JSON | None: ...
    def key_holder(self, scope: Scope, key: str, value: str) -> int | None: ...
    def rewrite_record(
        self, scope: Scope, row: StoredRow, unique: Mapping[str, str], blob: bytes
    ) -> None: ...
    def delete_record(self, scope: Scope, record_id: str) -> bool: ...
    def clear_records(self, scope: Scope) -> int: ...
    def count(self, scope: Scope) -> int: ...
    def accounts(self, api: str) -> list[str]:
        """Accounts of ``api`` whose scope holds a record, sorted."""
        ...

    def seq_window(
        self, scope: Scope, after: int | None, before: int | None, skip: int, limit: int, up: bool
    ) -> list[StoredRecord]:
        """Up to ``limit`` records with ``after < seq < before`` (None: unbounded), ascending;
        ``up``: the first after skipping ``skip``, else the last before skipping ``skip`` from
        the end."""
        ...

    def any_seq_below(self, scope: Scope, seq: int) -> bool: ...
    def any_seq_from(self, scope: Scope, seq: int) -> bool: ...
    def all_records(self, scope: Scope) -> list[StoredRecord]: ...


class JobRows(Protocol):
    """Background jobs by id; ``progress`` is a job's recorded insert outcomes."""

    def insert_job(self, job: Job) -> bool:
        """Store a copy; False (nothing stored) when the id is taken."""
        ...

    def job_status(self, job_id: str) -> str | None: ...
    def job_progress(self, job_id: str) -> bytes | None: ...
    def set_job_progress(self, job_id: str, blob: bytes) -> None: ...
    def finish_job(self, job_id: str, status: str, result: JSON, finished_at: float) -> bool:
        """Set status, result and finished_at and end the claim; False for an unknown job."""
        ...

    def all_jobs(self) -> list[Job]:
        """Every job, by ``created_at`` then insertion."""
        ...


class ClaimRows(Protocol):
    """The claimable items of one ``kind``: pending ones by due time, held ones by lease."""

    def pending_due(self, kind: Kind, upto: float, limit: int) -> list[Due]:
        """Up to ``limit`` pending items with ``due_at <= upto``, in (due_at, pos) order."""
        ...

    def lapsed(self, kind: Kind, status: str, upto: float, limit: int) -> list[Due]:
        """Up to ``limit`` items in ``status`` with ``lease_until <= upto``, in (due_at, pos)
        order."""
        ...

    def earliest_due(self, kind: Kind) -> float | None: ...
    def earliest_lapse(self, kind: Kind, status: str) -> float | None: ...
    def hold(
        self, kind: Kind, ids: Sequence[str], status: str, lease_until: float, prefix: str
    ) -> list[Any]:
        """Set status and lease of these items, claim = ``prefix`` + id; the items, in order."""
        ...

    def set_leases(
        self, kind: Kind, status: str, claims: Collection[str], lease_until: float
    ) -> int: ...
    def hand_back(self, kind: Kind, status: str, claims: Collection[str]) -> int:
        """Items in ``status`` under these claims: pending again, lease ended (the claim token
        stays until the next claim); how many."""
        ...


class WebhookRows(Protocol):
    """Webhook endpoints, deliveries (with their attempts) and account notifications."""

    def insert_endpoint(self, endpoint: Endpoint) -> bool: ...
    def all_endpoints(self) -> list[Endpoint]: ...
    def delete_endpoint(self, endpoint_id: str) -> bool: ...
    def insert_delivery(self, delivery: Delivery) -> bool: ...
    def delivery(self, delivery_id: str) -> Delivery | None: ...
    def set_delivery(
        self, delivery_id: str, attempts: list[Attempt], status: str, due_at: float
    ) -> None:
        """Store the attempts, status and due time; the claim ends (lease and token)."""
        ...

    def all_deliveries(self) -> list[Delivery]:
        """Every delivery, by ``created_at`` then insertion."""
        ...

    def insert_notification(self, notification: Notification) -> bool: ...
    def all_notifications(self) -> list[Notification]: ...


class JournalRows(Protocol):
    """The request journal: rows with increasing sequence numbers."""

    def append_journal(self, rows: Sequence[JournalRow], seqs: Sequence[int] = ()) -> int:
        """Store the rows with consecutive seqs, or with ``seqs`` (one per row, handed out by
        the backend's :class:`JournalSync`); the last seq stored."""
        ...

    def trim_journal(self, upto: int) -> None:
        """Drop the rows with ``seq <= upto``."""
        ...

    def journal_newest_first(self, batch: int) -> Iterable[tuple[int, Any, Any, Any, bytes]]:
        """(seq, api, operation_id, status, entry) rows, newest first; read ``batch`` at a
        time where that matters (the reader usually stops early)."""
        ...


class SwitchRows(Protocol):
    """Injected faults (oldest first), flags and rate-limit windows."""

    def insert_fault(self, fault: Fault) -> bool: ...
    def faults(self) -> list[Fault]: ...
    def any_fault(self) -> bool: ...
    def set_fault_remaining(self, fault_id: str, remaining: int) -> None: ...
    def delete_fault(self, fault_id: str) -> None: ...
    def clear_faults(self) -> int: ...
    def set_flag(self, name: str, blob: bytes) -> None: ...
    def flags(self) -> dict[str, bytes]: ...
    def hit_window(self, key: str) -> tuple[float, int] | None: ...
    def set_hit(self, key: str, start: float, count: int) -> None: ...


class Tx(RecordRows, JobRows, ClaimRows, WebhookRows, JournalRows, SwitchRows, Protocol):
    """Everything a transaction can read and write."""

    def clear_all(self) -> None:
        """Forget everything stored; sequence numbers continue where they were."""
        ...


class JournalSync(Protocol):
    """How the processes that share a store keep one journal: the order entries were answered
    in, and a reader that sees every entry answered before it asked, although each process
    commits its entries later, in a thread of its own (``journal.py``)."""

    def next_seq(self) -> int:
        """The seq of an entry answered now (in the order of answers, across processes)."""
        ...

    def last_seq(self) -> int:
        """The last seq handed out."""
        ...

    def join(self) -> int:
        """A writer thread starts: its slot, which :meth:`flushed` and :meth:`leave` name."""
        ...

    def flushed(self, slot: int) -> int:
        """The writer of ``slot`` finished a flush (everything it had queued is committed);
        its slot (a new one if a reader gave the old one up as stale)."""
        ...

    def leave(self, slot: int) -> None:
        """The writer of ``slot`` stopped."""
        ...

    def wait_for_writers(self, own: int, timeout: float) -> None:
        """Return once every other running writer has started and finished a flush after
        this call began (or ``timeout`` seconds passed)."""
        ...


class Backend(Protocol):
    """Where the state is stored, and the transactions to reach it.

    ``shared`` is True when several processes use the store (its journal writes are then
    grouped, or deferred to a thread: see ``journal``).
    """

    shared: bool

    def write(self) -> AbstractContextManager[Tx]: ...
    def read(self) -> AbstractContextManager[Tx]: ...
    def direct(self) -> AbstractContextManager[Tx]: ...
    def changes(self) -> int:
        """A number that changes after every commit that changed faults or flags (caches of
        them are good while it stays the same)."""
        ...

    def bump_changes(self) -> None: ...
    def encode_record(self, record_id: str, unique: Mapping[str, str], data: JSON) -> bytes:
        """A record as this backend stores it (outside any transaction; raises for data JSON
        cannot hold, before anything is written)."""
        ...

    def epoch(self) -> int:
        """The reset epoch: how many resets there were (for the journal's barrier)."""
        ...

    def bump_epoch(self) -> None:
        """Inside the reset's write transaction."""
        ...

    def journal_sync(self) -> JournalSync | None:
        """How processes that defer their journal writes keep one journal (None: the store
        is not shared, or every journal write is committed before its answer is sent)."""
        ...

    def close(self) -> None: ...


__all__ = [
    "Backend",
    "ClaimRows",
    "Due",
    "JobRows",
    "JournalRow",
    "JournalRows",
    "JournalSync",
    "Kind",
    "RecordRows",
    "StoredRow",
    "SwitchRows",
    "Tx",
    "WebhookRows",
]
