"""The values the state stores and hands back: records and their outcomes, jobs, webhook
endpoints and deliveries, notifications and faults.

Plain data, no behaviour: the rules live in the concern modules (``records``, ``jobs``,
``webhooks``, ``journal``, ``switches``), the storage in the backends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

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
