"""The state interface every backend implements.

All of the mock's mutable state lives behind :class:`State`: stored records (customers) scoped by
API and account, background jobs, webhook endpoints and deliveries, the request journal, injected
faults, switches (flags) and rate-limit counters. The in-memory backend serves one process; the
SQLite backend is shared by several worker processes and survives restarts.

Rules every backend keeps:

* ``insert_batch`` is atomic: uniqueness is checked and records are written inside one critical
  section (a lock, or one ``BEGIN IMMEDIATE`` transaction), never check-then-insert across two.
  An exception leaves nothing of the batch written.
* ``update_batch`` likewise: each change reads the stored record, and its unique keys are checked
  again, inside the one critical section that writes it.
* Records are plain JSON-compatible dicts. Backends return copies: mutating a returned dict never
  changes what is stored.
* ``claim_*`` methods hand each due item to exactly one caller, also across processes, with a
  lease: the claim (a token, ``claim``) holds until ``lease_until``. A holder renews it while it
  works (``renew_claims``) and hands it back when it stops (``release_claims``); a claim whose
  lease ended (its process died) is claimed again by the next caller.
* A job's effects happen once however often it runs: ``insert_batch(..., job_id=)`` records the
  outcomes with the job in the same critical section and a re-run gets them back instead of
  inserting again; ``add_delivery(..., job_id=)`` keeps a delivery id it already stored.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

JSON = dict[str, Any]

DEFAULT_LEASE_S = 30.0
"""How long a claim holds unless its holder renews it (``claim_due_*(lease_s=...)``)."""


class JobGone(Exception):
    """The job a write belonged to is no longer running (a reset removed it): nothing written."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} is no longer running (the state was reset); nothing stored")
        self.job_id = job_id


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a record lives: one API (``"bunce"``) and one account (the credential)."""

    api: str
    account: str


_NO_KEYS: Mapping[str, str] = MappingProxyType({})


class NewRecord(NamedTuple):
    """A record to insert.

    ``id`` is the primary key inside the scope (Tamio: a UUID; Bunce: the client's customer_id).
    ``unique`` maps each unique key to its *normalised* value (the caller lower-cases emails), for
    example ``{"email": "a@b.co", "customer_id": "0000"}``. ``id`` is always unique as well.

    A named tuple (immutable, like a frozen dataclass, but built in half the time: a bulk create
    builds one per customer, and one :class:`InsertOutcome`).
    """

    id: str
    data: JSON
    unique: Mapping[str, str] = _NO_KEYS


class InsertOutcome(NamedTuple):
    """What happened to one item of a batch, in input order.

    Exactly one of ``record`` (created; the stored data) and ``conflict`` (the name of the unique
    key, or ``"id"``, that collided with a stored record or an earlier item of the same batch) is
    set.
    """

    record: JSON | None = None
    conflict: str | None = None

    @property
    def created(self) -> bool:
        return self.record is not None


class Revision(NamedTuple):
    """A record's new ``data`` and its *normalised* ``unique`` keys (all of them: a key left out
    is released), as a change computes them from the stored data."""

    data: JSON
    unique: Mapping[str, str] = _NO_KEYS


class RecordChange(NamedTuple):
    """A change to the record with ``id``.

    ``apply`` receives the stored data (a copy it may modify) inside the critical section and
    returns the :class:`Revision` to write, or None to leave the record as it is (a change that
    finds nothing to do, or refuses: it can keep its reason in a closure).
    """

    id: str
    apply: Callable[[JSON], Revision | None]


class UpdateOutcome(NamedTuple):
    """What happened to one change of a batch, in input order.

    ``record`` is the stored data after the change (also when ``apply`` returned None and
    nothing was written); None when no record has the id (``found`` False) or when a new unique
    value belongs to another record (``conflict`` names the key; nothing written).
    """

    record: JSON | None = None
    conflict: str | None = None
    found: bool = True

    @property
    def updated(self) -> bool:
        return self.record is not None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A stored record with its insertion sequence number (monotonic per State, never reused)."""

    seq: int
    id: str
    data: JSON


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records in insertion order, and the number of records in the scope."""

    records: list[StoredRecord]
    total: int
    has_before: bool
    has_after: bool


@dataclass(slots=True)
class Job:
    """A background job (a Tamio import). ``status`` is pending, running, done or failed (or,
    only on the object a runner returns, dropped: a reset removed the job while it ran).

    While running, ``claim`` is its holder's token and ``lease_until`` when the claim ends unless
    renewed; both are None otherwise."""

    id: str
    kind: str
    api: str
    account: str
    payload: JSON
    due_at: float
    status: str = "pending"
    result: JSON | None = None
    created_at: float = 0.0
    finished_at: float | None = None
    lease_until: float | None = None
    claim: str | None = None


@dataclass(slots=True)
class Endpoint:
    """A webhook endpoint registered through the control API.

    ``events`` lists event types to deliver (``["*"]`` means all). ``api``/``account`` limit it to
    events of one API and, when ``account`` is not None, of one account.
    """

    id: str
    api: str
    url: str
    secret: str
    events: list[str]
    account: str | None = None
    created_at: float = 0.0


@dataclass(slots=True)
class Attempt:
    """One delivery attempt: HTTP status (None when no answer), duration and error text."""

    at: float
    status: int | None
    duration_ms: float
    error: str | None = None


@dataclass(slots=True)
class Delivery:
    """One event to deliver to one endpoint.

    ``status`` is pending, delivering, delivered or failed. While delivering, ``claim`` is its
    holder's token and ``lease_until`` when the claim ends unless renewed.
    """

    id: str
    endpoint_id: str
    event: JSON
    due_at: float
    status: str = "pending"
    attempts: list[Attempt] = field(default_factory=list)
    created_at: float = 0.0
    lease_until: float | None = None
    claim: str | None = None


@dataclass(slots=True)
class Notification:
    """A notification the mock records for an account (e.g. "your import has completed").

    ``job_id`` names the background job that produced it (None when none did); ``data`` is the
    API's own content (for a Tamio import: counts created and skipped, and the skipped items).
    """

    id: str
    api: str
    account: str
    job_id: str | None
    time: float
    data: JSON = field(default_factory=dict)


@dataclass(slots=True)
class Fault:
    """A fault injected for the next ``remaining`` requests that match.

    Matching fields left as None match anything. Exactly what happens: answer ``status`` (with the
    API's envelope), sleep ``latency_ms`` first, or drop the connection (``drop``).
    """

    id: str
    api: str | None = None
    operation_id: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    latency_ms: int = 0
    drop: bool = False
    remaining: int = 1


@runtime_checkable
class State(Protocol):
    """Everything mutable in the mock. Implementations: MemoryState, SQLiteState."""

    # -- records -------------------------------------------------------------------------------
    def insert_batch(
        self, scope: Scope, records: Sequence[NewRecord], *, job_id: str | None = None
    ) -> list[InsertOutcome]:
        """Insert in order, atomically; items whose id or unique keys collide are skipped.

        With ``job_id`` (a background job's own writes) the batch is written only while that
        job is running, checked inside the same critical section; otherwise :class:`JobGone` is
        raised and nothing is written. A reset between a job's claim and its insert (another
        worker process's reset) must not bring the old job's records back. The outcomes are
        recorded with the job in that critical section: a later call for the same job (a re-run
        after its worker died) writes nothing and returns the recorded outcomes.
        """
        ...

    def update_batch(self, scope: Scope, changes: Sequence[RecordChange]) -> list[UpdateOutcome]:
        """Apply the changes in order, atomically: each reads its record, and its new unique
        values are checked against every other record, inside one critical section, so two
        racing updates never both take one email. A later change sees the earlier ones. A
        record keeps its id and its place (``seq``) in the insertion order. An exception
        (an unserialisable revision) leaves nothing of the batch written.
        """
        ...

    def get(self, scope: Scope, record_id: str) -> JSON | None:
        """The record with this id, or None."""
        ...

    def find(self, scope: Scope, key: str, value: str) -> JSON | None:
        """The record whose unique key ``key`` has the normalised ``value``, or None."""
        ...

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

        With ``before_seq`` the page holds the ``limit`` records just before that sequence number
        (still returned in ascending order).
        """
        ...

    def all(self, scope: Scope) -> list[StoredRecord]:
        """Every record of the scope in insertion order."""
        ...

    def count(self, scope: Scope) -> int: ...

    def delete(self, scope: Scope, record_id: str) -> bool:
        """Remove one record; False when there was none."""
        ...

    def clear_scope(self, scope: Scope) -> int:
        """Remove every record of one scope; returns how many."""
        ...

    def accounts(self, api: str) -> list[str]:
        """Accounts of an API that hold at least one record."""
        ...

    # -- jobs ----------------------------------------------------------------------------------
    def add_job(self, job: Job) -> None: ...

    def claim_due_jobs(
        self,
        now: float,
        limit: int = 10,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        due_by: float | None = None,
    ) -> list[Job]:
        """Mark due jobs running under a new claim and return them (earliest due first).

        Claimable: pending jobs due at ``due_by`` (default ``now``) or earlier, and running jobs
        whose lease ended at ``now`` or earlier (their holder is gone). The new lease ends at
        ``now + lease_s``. Each claim goes to one caller, also across processes.
        """
        ...

    def finish_job(self, job_id: str, status: str, result: JSON) -> bool:
        """Record the outcome; False when the job no longer exists (a reset removed it)."""
        ...

    def jobs(self, api: str | None = None, status: str | None = None) -> list[Job]: ...

    def next_job_due(self) -> float | None:
        """When a job can next be claimed: the earliest due_at of a pending job or lease_until
        of a running one (lets workers sleep precisely)."""
        ...

    # -- webhooks ------------------------------------------------------------------------------
    def add_endpoint(self, endpoint: Endpoint) -> None: ...

    def endpoints(self, api: str | None = None) -> list[Endpoint]: ...

    def delete_endpoint(self, endpoint_id: str) -> bool: ...

    def add_delivery(self, delivery: Delivery, *, job_id: str | None = None) -> bool:
        """Store a delivery; True when stored. A duplicate id raises ValueError.

        With ``job_id`` (an event a job emits), only while that job is running, as for
        ``insert_batch``; otherwise :class:`JobGone` and nothing is stored. A job's delivery
        whose id is already stored (a re-run of the job) is left as it is: False.
        """
        ...

    def claim_due_deliveries(
        self,
        now: float,
        limit: int = 10,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        due_by: float | None = None,
    ) -> list[Delivery]:
        """Mark due deliveries 'delivering' under a new claim and return them, as
        ``claim_due_jobs`` does (pending ones due by ``due_by``, delivering ones whose lease
        ended at ``now``)."""
        ...

    def record_attempt(
        self,
        delivery_id: str,
        attempt: Attempt,
        status: str,
        next_due_at: float | None,
        *,
        claim: str | None = None,
    ) -> bool:
        """Append an attempt; set status (pending again with next_due_at for a retry) and end
        the claim.

        With ``claim``, only while the delivery is held by that claim, or was handed back and
        not claimed again since (an attempt that outlived its holder's stop still counts).
        False when nothing was recorded: the delivery no longer exists (a reset removed it
        while it was in flight), or another claim holds it.
        """
        ...

    # -- leases --------------------------------------------------------------------------------
    def renew_claims(self, claims: Collection[str], lease_until: float) -> int:
        """Extend the lease of the jobs and deliveries still held by these claims; how many."""
        ...

    def release_claims(self, claims: Collection[str]) -> int:
        """Hand back the jobs and deliveries still held by these claims (pending again, due at
        their due time); returns how many. A holder that stops calls it."""
        ...

    def deliveries(self, endpoint_id: str | None = None) -> list[Delivery]: ...

    def next_delivery_due(self) -> float | None:
        """When a delivery can next be claimed (as ``next_job_due``)."""
        ...

    # -- notifications -------------------------------------------------------------------------
    def add_notification(self, notification: Notification, *, job_id: str | None = None) -> None:
        """Store a notification (a duplicate id is refused with ValueError). With ``job_id`` (a
        job's own notification), only while that job is running, as for ``insert_batch``;
        otherwise :class:`JobGone` and nothing is stored; a duplicate id is then kept as stored
        (a re-run of the job)."""
        ...

    def notifications(
        self, api: str | None = None, account: str | None = None
    ) -> list[Notification]:
        """Notifications, oldest first; the filters combine with AND."""
        ...

    # -- journal -------------------------------------------------------------------------------
    def append_journal(self, entry: JSON) -> int:
        """Store one entry, dropping the oldest beyond the bound; returns its sequence number."""
        ...

    def journal(
        self,
        *,
        api: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[JSON]:
        """Entries oldest first, each with its ``seq``; filters combine with AND."""
        ...

    # -- faults --------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None: ...

    def take_fault(
        self, api: str, operation_id: str | None, method: str, path: str
    ) -> Fault | None:
        """Atomically consume one use of the oldest matching fault (removed at zero)."""
        ...

    def faults(self) -> list[Fault]: ...

    def clear_faults(self) -> int:
        """Disarm every fault; returns how many were armed."""
        ...

    # -- flags and rate limits -----------------------------------------------------------------
    def set_flag(self, name: str, value: Any) -> None: ...

    def get_flag(self, name: str, default: Any = None) -> Any: ...

    def hit(self, key: str, window_s: float, now: float) -> int:
        """Count one hit for ``key`` in a fixed window of ``window_s`` seconds.

        Returns the window's count, this hit included.
        """
        ...

    # -- lifecycle -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything: records, jobs, endpoints, deliveries, notifications, journal, faults,
        flags, hits."""
        ...

    def close(self) -> None: ...
