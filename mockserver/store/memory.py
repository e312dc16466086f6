"""The in-memory State backend: one process, thread-safe, compact enough for a million records.

Per scope: an ``array`` of seqs in ascending order (pages are found with ``bisect``), a dict from
seq to the record as ``orjson`` bytes of ``[id, unique, data]``, a dict from id to seq and one
dict per unique key from value to seq. Records are decoded on read, so every returned dict is a
fresh copy. These structures hold only ints, strings and bytes, so the cyclic garbage collector
never walks them. Stored bytes are right-sized copies (see ``compact_json``).

One ``threading.RLock`` guards everything; encoding happens before taking it and decoding after
releasing it. The helpers above the class are shared with the SQLite backend.

Measured on the development container (2 shared cores, Python 3.11, orjson 3.13; CPU time,
medians), records of the Bunce shape (about 260 bytes of JSON, unique email, id = customer_id):

* ``insert_batch`` of 500 new records: 1.6 ms in a scope of 20,000, 2.1 ms in one of
  1,000,000 (target < 2 ms; the extra is cache misses in the big dicts).
* ``get`` / ``find``: 3 µs. ``count``: 1 µs.
* ``page(limit=100)`` in a scope of 1,000,000, first page, by either cursor or at any offset:
  0.21 ms, nearly all of it decoding the 100 records.
* ``append_journal`` 2 µs, ``take_fault`` with no fault 1 µs, ``hit`` 2 µs.
* memory: 520 bytes per record by ``tracemalloc`` (the test ``test_memory_budget_of_a_million_
  records``), 640 bytes of RSS: 1,000,000 records take about 0.6 GB.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
import uuid
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
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


def compact_json(value: Any) -> bytes:
    """``orjson.dumps`` in a right-sized bytes object, for values kept for a long time.

    orjson (3.12 and later) hands back a buffer of at least 4 KiB whatever the length of the
    JSON; keeping a million of those would cost 4 GB. The copy costs about 0.1 µs.
    """
    return bytes(memoryview(orjson.dumps(value)))


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value through orjson (so it refuses what SQLite could not store)."""
    return orjson.loads(orjson.dumps(value))


def window_start(window_s: float, now: float) -> float:
    """Start of the fixed rate-limit window that contains ``now``."""
    if window_s <= 0:
        raise ValueError(f"window_s must be positive, got {window_s!r}")
    return math.floor(now / window_s) * window_s


def fault_matches(fault: Fault, api: str, operation_id: str | None, method: str, path: str) -> bool:
    """Whether a request matches a fault (fields left as None match anything)."""
    return (
        (fault.api is None or fault.api == api)
        and (fault.operation_id is None or fault.operation_id == operation_id)
        and (fault.method is None or fault.method.upper() == method.upper())
        and (fault.path is None or fault.path == path)
    )


def check_page_args(limit: int, offset: int) -> None:
    """Refuse a negative limit or offset with a message that names it."""
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, got {offset}")


_NO_INDEX: dict[str, int] = {}  # stands for the index of a unique key nothing uses yet
_CONFLICTS: dict[str, InsertOutcome] = {}


def conflict_outcome(key: str) -> InsertOutcome:
    """The (immutable, so shared) outcome of an item skipped for ``key``."""
    outcome = _CONFLICTS.get(key)
    if outcome is None:
        outcome = _CONFLICTS[key] = InsertOutcome(conflict=key)
    return outcome


def claim_prefix() -> str:
    """A new claim's token prefix; the token of each item it claims is the prefix + its id."""
    return "clm_" + uuid.uuid4().hex[:20] + ":"


def encode_outcomes(outcomes: Sequence[InsertOutcome]) -> bytes:
    """A job's recorded insert outcomes: each created record's data, or the conflict's key."""
    return compact_json([o.record if o.record is not None else o.conflict for o in outcomes])


def decode_outcomes(blob: bytes) -> list[InsertOutcome]:
    """The outcomes :func:`encode_outcomes` recorded (fresh copies of the records)."""
    return [
        InsertOutcome(record=item) if isinstance(item, dict) else conflict_outcome(item)
        for item in orjson.loads(blob)
    ]


def _clone_job(job: Job) -> Job:
    return replace(
        job,
        payload=copy_json(job.payload),
        result=None if job.result is None else copy_json(job.result),
    )


def _clone_delivery(delivery: Delivery) -> Delivery:
    return replace(
        delivery,
        event=copy_json(delivery.event),
        attempts=[replace(a) for a in delivery.attempts],
    )


def _data(blob: bytes) -> JSON:
    data: JSON = orjson.loads(blob)[2]
    return data


def _stored(seq: int, blob: bytes) -> StoredRecord:
    record_id, _, data = orjson.loads(blob)
    return StoredRecord(seq, record_id, data)


class _ScopeData:
    """The records of one scope and their indexes.

    Only ints, strings and bytes live in here, so these dicts stay untracked by the cyclic
    garbage collector: a full collection never walks a million entries.
    """

    __slots__ = ("ids", "rows", "seqs", "unique")

    def __init__(self) -> None:
        self.seqs = array("q")  # ascending
        self.rows: dict[int, bytes] = {}  # seq -> orjson of [id, unique, data]
        self.ids: dict[str, int] = {}  # id -> seq
        self.unique: dict[str, dict[str, int]] = {}  # key -> value -> seq

    def forget(self, seq: int, record_id: str, unique: Mapping[str, str]) -> None:
        """Take one record out of ``rows`` and the indexes (the caller fixes ``seqs``)."""
        self.rows.pop(seq, None)
        if self.ids.get(record_id) == seq:
            del self.ids[record_id]
        for key, value in unique.items():
            index = self.unique.get(key)
            if index is not None and index.get(value) == seq:
                del index[value]


class MemoryState:
    """All mock state in this process's memory; see the module docstring for costs.

    ``journal_limit`` bounds the request journal (the oldest entries are dropped).
    In ``insert_batch`` an item's unique keys are checked in the order of its ``unique`` mapping,
    then its ``id``; the first collision is the reported ``conflict``.
    """

    def __init__(self, journal_limit: int = 1000) -> None:
        if journal_limit < 1:
            raise ValueError(f"journal_limit must be at least 1, got {journal_limit}")
        self._lock = threading.RLock()
        self._journal_limit = journal_limit
        self._seq = 0
        self._journal_seq = 0
        self._pos = 0  # insertion order of jobs and deliveries, for the due-time heaps
        self._init_data()

    def _init_data(self) -> None:
        self._scopes: dict[Scope, _ScopeData] = {}
        self._jobs: dict[str, Job] = {}
        self._job_heap: list[tuple[float, int, str]] = []
        self._running: set[str] = set()  # ids of jobs held by a claim
        self._progress: dict[str, bytes] = {}  # job id -> its recorded insert outcomes
        self._endpoints: dict[str, Endpoint] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._delivery_heap: list[tuple[float, int, str]] = []
        self._notifications: dict[str, Notification] = {}
        self._delivering: set[str] = set()  # ids of deliveries held by a claim
        # (seq, api, operation_id, status, entry as orjson bytes)
        self._journal: deque[tuple[int, Any, Any, Any, bytes]] = deque(maxlen=self._journal_limit)
        self._faults: list[Fault] = []
        self._flags: dict[str, bytes] = {}
        self._hits: dict[str, tuple[float, int]] = {}

    # -- records -------------------------------------------------------------------------------
    def _require_running(self, job_id: str | None) -> None:
        """Raise :class:`JobGone` unless ``job_id`` is None or that job is running (lock held)."""
        if job_id is None:
            return
        job = self._jobs.get(job_id)
        if job is None or job.status != "running":
            raise JobGone(job_id)

    def insert_batch(
        self, scope: Scope, records: Sequence[NewRecord], *, job_id: str | None = None
    ) -> list[InsertOutcome]:
        """Insert in order, atomically; items whose id or unique keys collide are skipped.

        A created item's outcome holds the ``data`` passed in (the store keeps its own encoded
        copy, so changing that dict later changes nothing stored). A job's outcomes are recorded
        with it; a re-run of the job gets them back (copies) and writes nothing.
        """
        # Encode first: a value orjson refuses raises here, before anything is written.
        prepared = [(r, compact_json((r.id, dict(r.unique), r.data))) for r in records]
        outcomes: list[InsertOutcome] = []
        with self._lock:
            self._require_running(job_id)
            if job_id is not None and job_id in self._progress:
                return decode_outcomes(self._progress[job_id])
            scope_data = self._scopes.get(scope) or _ScopeData()
            seqs, rows, ids, indexes = (
                scope_data.seqs,
                scope_data.rows,
                scope_data.ids,
                scope_data.unique,
            )
            first, seq = len(seqs), self._seq
            added: list[tuple[int, NewRecord]] = []
            # Each created record goes into the indexes at once, so later items of the batch are
            # checked against it like against any stored record. Should anything raise, what was
            # added is taken out again before the lock is released.
            try:
                for record, blob in prepared:
                    conflict = None
                    unique = record.unique
                    for key, value in unique.items():
                        if value in indexes.get(key, _NO_INDEX):  # hashes value before any write
                            conflict = key
                            break
                    else:
                        if record.id in ids:
                            conflict = "id"
                    if conflict is not None:
                        outcomes.append(conflict_outcome(conflict))
                        continue
                    seq += 1
                    added.append((seq, record))
                    rows[seq] = blob
                    seqs.append(seq)
                    ids[record.id] = seq
                    for key, value in unique.items():
                        index = indexes.get(key)
                        if index is None:
                            index = indexes[key] = {}
                        index[value] = seq
                    outcomes.append(InsertOutcome(record=record.data))
            except BaseException:
                for added_seq, record in added:
                    scope_data.forget(added_seq, record.id, record.unique)
                del seqs[first:]
                raise
            if added:
                self._scopes[scope] = scope_data
                self._seq = seq
            if job_id is not None:
                self._progress[job_id] = encode_outcomes(outcomes)
        return outcomes

    def update_batch(self, scope: Scope, changes: Sequence[RecordChange]) -> list[UpdateOutcome]:
        """Apply the changes in order, atomically (see :class:`State`)."""
        outcomes: list[UpdateOutcome] = []
        with self._lock:
            scope_data = self._scopes.get(scope)
            if scope_data is None:
                return [UpdateOutcome(found=False) for _ in changes]
            # (seq, blob before, unique before) of each write, to undo them should one raise.
            undo: list[tuple[int, bytes, Mapping[str, str]]] = []
            try:
                for change in changes:
                    seq = scope_data.ids.get(change.id)
                    if seq is None:
                        outcomes.append(UpdateOutcome(found=False))
                        continue
                    before = scope_data.rows[seq]
                    record_id, unique_before, data = orjson.loads(before)
                    revision = change.apply(data)
                    if revision is None:
                        outcomes.append(UpdateOutcome(record=_data(before)))
                        continue
                    unique = dict(revision.unique)
                    indexes = scope_data.unique
                    conflict = next(
                        (k for k, v in unique.items() if indexes.get(k, {}).get(v, seq) != seq),
                        None,
                    )
                    if conflict is not None:
                        outcomes.append(UpdateOutcome(conflict=conflict))
                        continue
                    blob = compact_json((record_id, unique, revision.data))
                    self._rewrite(scope_data, seq, record_id, unique_before, unique, blob)
                    undo.append((seq, before, unique_before))
                    outcomes.append(UpdateOutcome(record=_data(blob)))
            except BaseException:
                for seq, before, unique_before in reversed(undo):
                    record_id, unique_now, _ = orjson.loads(scope_data.rows[seq])
                    self._rewrite(scope_data, seq, record_id, unique_now, unique_before, before)
                raise
        return outcomes

    @staticmethod
    def _rewrite(
        scope_data: _ScopeData,
        seq: int,
        record_id: str,
        unique_before: Mapping[str, str],
        unique: Mapping[str, str],
        blob: bytes,
    ) -> None:
        """Store ``blob`` for ``seq``; move its unique keys from ``unique_before`` (lock held)."""
        for key, value in unique_before.items():
            index = scope_data.unique.get(key)
            if index is not None and index.get(value) == seq:
                del index[value]
        for key, value in unique.items():
            scope_data.unique.setdefault(key, {})[value] = seq
        scope_data.rows[seq] = blob
        scope_data.ids[record_id] = seq

    def get(self, scope: Scope, record_id: str) -> JSON | None:
        """The record with this id, or None."""
        with self._lock:
            scope_data = self._scopes.get(scope)
            if scope_data is None:
                return None
            blob = scope_data.rows.get(scope_data.ids.get(record_id, 0))
        return None if blob is None else _data(blob)

    def find(self, scope: Scope, key: str, value: str) -> JSON | None:
        """The record whose unique key ``key`` has the normalised ``value``, or None."""
        with self._lock:
            scope_data = self._scopes.get(scope)
            if scope_data is None:
                return None
            seq = scope_data.unique.get(key, {}).get(value, 0)
            blob = scope_data.rows.get(seq)
        return None if blob is None else _data(blob)

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
        with self._lock:
            scope_data = self._scopes.get(scope)
            if scope_data is None:
                return Page(records=[], total=0, has_before=False, has_after=False)
            seqs, rows = scope_data.seqs, scope_data.rows
            total = len(seqs)
            lo = 0 if after_seq is None else bisect_right(seqs, after_seq)
            hi = total if before_seq is None else bisect_left(seqs, before_seq)
            if before_seq is None:
                start = min(hi, lo + offset)
                end = min(hi, start + limit)
            else:
                end = max(lo, hi - offset)
                start = max(lo, end - limit)
            picked = [(seq, rows[seq]) for seq in seqs[start:end]]
        return Page(
            records=[_stored(seq, blob) for seq, blob in picked],
            total=total,
            has_before=start > 0,
            has_after=end < total,
        )

    def all(self, scope: Scope) -> list[StoredRecord]:
        """Every record of the scope in insertion order."""
        with self._lock:
            scope_data = self._scopes.get(scope)
            if scope_data is None:
                return []
            picked = [(seq, scope_data.rows[seq]) for seq in scope_data.seqs]
        return [_stored(seq, blob) for seq, blob in picked]

    def count(self, scope: Scope) -> int:
        """How many records the scope holds."""
        with self._lock:
            scope_data = self._scopes.get(scope)
            return len(scope_data.seqs) if scope_data is not None else 0

    def delete(self, scope: Scope, record_id: str) -> bool:
        """Remove one record; False when there was none."""
        with self._lock:
            scope_data = self._scopes.get(scope)
            seq = scope_data.ids.get(record_id) if scope_data is not None else None
            if scope_data is None or seq is None:
                return False
            stored_id, unique, _ = orjson.loads(scope_data.rows[seq])
            scope_data.forget(seq, stored_id, unique)
            seqs = scope_data.seqs
            del seqs[bisect_left(seqs, seq)]
            if not seqs:
                del self._scopes[scope]
            return True

    def clear_scope(self, scope: Scope) -> int:
        """Remove every record of one scope; returns how many."""
        with self._lock:
            scope_data = self._scopes.pop(scope, None)
            return len(scope_data.seqs) if scope_data is not None else 0

    def accounts(self, api: str) -> list[str]:
        """Accounts of an API that hold at least one record, sorted."""
        with self._lock:
            return sorted(s.account for s in self._scopes if s.api == api)

    # -- jobs ----------------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        """Store a job (a copy); a second job with the same id is refused with ValueError."""
        stored = _clone_job(job)
        with self._lock:
            if job.id in self._jobs:
                raise ValueError(f"a job with id {job.id!r} already exists")
            self._jobs[job.id] = stored
            if stored.status == "pending":
                self._push(self._job_heap, stored.due_at, stored.id)

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
        with self._lock:
            claimed: list[Job] = self._claim(
                self._job_heap, self._jobs, self._running, "pending", "running",
                now, limit, lease_s, due_by,
            )  # fmt: skip
            return [_clone_job(job) for job in claimed]

    def finish_job(self, job_id: str, status: str, result: JSON) -> bool:
        """Record a job's final status and result (its claim ends); False for an unknown (e.g.
        reset) job."""
        stored_result = copy_json(result)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return False
            job.status = status
            job.result = stored_result
            job.finished_at = time.time()
            job.lease_until = job.claim = None
            self._running.discard(job_id)
            if status == "pending":
                self._push(self._job_heap, job.due_at, job.id)
            return True

    def jobs(self, api: str | None = None, status: str | None = None) -> list[Job]:
        """Jobs, oldest (by ``created_at``, then insertion) first; filters combine with AND."""
        with self._lock:
            found = [
                j
                for j in self._jobs.values()
                if (api is None or j.api == api) and (status is None or j.status == status)
            ]
            found.sort(key=lambda j: j.created_at)
            return [_clone_job(j) for j in found]

    def next_job_due(self) -> float | None:
        """When a job can next be claimed: a pending job's due_at or a running one's lease end."""
        with self._lock:
            return self._next(self._job_heap, self._jobs, self._running, "pending")

    # -- webhooks ------------------------------------------------------------------------------
    def add_endpoint(self, endpoint: Endpoint) -> None:
        """Register an endpoint (a copy); a duplicate id is refused with ValueError."""
        stored = replace(endpoint, events=list(endpoint.events))
        with self._lock:
            if endpoint.id in self._endpoints:
                raise ValueError(f"an endpoint with id {endpoint.id!r} already exists")
            self._endpoints[endpoint.id] = stored

    def endpoints(self, api: str | None = None) -> list[Endpoint]:
        """Endpoints, oldest first, optionally only those of one API."""
        with self._lock:
            found = [e for e in self._endpoints.values() if api is None or e.api == api]
        found.sort(key=lambda e: e.created_at)
        return [replace(e, events=list(e.events)) for e in found]

    def delete_endpoint(self, endpoint_id: str) -> bool:
        """Remove an endpoint (its deliveries stay, as history); False when there was none."""
        with self._lock:
            return self._endpoints.pop(endpoint_id, None) is not None

    def add_delivery(self, delivery: Delivery, *, job_id: str | None = None) -> bool:
        """Store a delivery (a copy); a duplicate id is refused with ValueError. With
        ``job_id``, only while that job is running (else :class:`JobGone`), and a duplicate id
        is kept as stored (False)."""
        stored = _clone_delivery(delivery)
        with self._lock:
            self._require_running(job_id)
            if delivery.id in self._deliveries:
                if job_id is not None:
                    return False
                raise ValueError(f"a delivery with id {delivery.id!r} already exists")
            self._deliveries[delivery.id] = stored
            if stored.status == "pending":
                self._push(self._delivery_heap, stored.due_at, stored.id)
            return True

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
        with self._lock:
            claimed: list[Delivery] = self._claim(
                self._delivery_heap, self._deliveries, self._delivering, "pending", "delivering",
                now, limit, lease_s, due_by,
            )  # fmt: skip
            return [_clone_delivery(d) for d in claimed]

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
        or one that another claim holds.
        """
        with self._lock:
            delivery = self._deliveries.get(delivery_id)
            if delivery is None or (claim is not None and delivery.claim != claim):
                return False
            delivery.attempts.append(replace(attempt))
            delivery.status = status
            delivery.lease_until = delivery.claim = None
            self._delivering.discard(delivery_id)
            if next_due_at is not None:
                delivery.due_at = next_due_at
            if status == "pending":
                self._push(self._delivery_heap, delivery.due_at, delivery.id)
            return True

    def deliveries(self, endpoint_id: str | None = None) -> list[Delivery]:
        """Deliveries with all their attempts, oldest first, optionally of one endpoint."""
        with self._lock:
            found = [
                d
                for d in self._deliveries.values()
                if endpoint_id is None or d.endpoint_id == endpoint_id
            ]
            found.sort(key=lambda d: d.created_at)
            return [_clone_delivery(d) for d in found]

    def next_delivery_due(self) -> float | None:
        """When a delivery can next be claimed (as ``next_job_due``)."""
        with self._lock:
            return self._next(self._delivery_heap, self._deliveries, self._delivering, "pending")

    # -- leases --------------------------------------------------------------------------------
    def renew_claims(self, claims: Collection[str], lease_until: float) -> int:
        """Extend the lease of the jobs and deliveries still held by these claims; how many."""
        wanted = set(claims)
        renewed = 0
        with self._lock:
            for held, items in ((self._running, self._jobs), (self._delivering, self._deliveries)):
                for item_id in held:
                    item = items[item_id]
                    if item.claim in wanted:
                        item.lease_until = lease_until
                        renewed += 1
        return renewed

    def release_claims(self, claims: Collection[str]) -> int:
        """Hand back the jobs and deliveries these claims still hold: pending again, due at their
        due time. The claim token stays on a handed-back delivery until it is claimed again, so
        an attempt that outlives the hand-back is still recorded."""
        wanted = set(claims)
        released = 0
        with self._lock:
            for held, items, heap in (
                (self._running, self._jobs, self._job_heap),
                (self._delivering, self._deliveries, self._delivery_heap),
            ):
                mine = [i for i in held if items[i].claim in wanted]
                for item_id in sorted(mine, key=lambda i: items[i].created_at):
                    item = items[item_id]
                    item.status = "pending"
                    item.lease_until = None
                    held.discard(item_id)
                    self._push(heap, item.due_at, item_id)
                    released += 1
        return released

    def _claim(
        self,
        heap: list[tuple[float, int, str]],
        items: dict[str, Any],
        held: set[str],
        pending: str,
        holding: str,
        now: float,
        limit: int,
        lease_s: float,
        due_by: float | None,
    ) -> list[Any]:
        """Claim (lock held) items whose lease ended by ``now``, then pending ones due by
        ``due_by``, up to ``limit``; earliest due first."""
        expired = sorted(
            (i for i in held if items[i].lease_until <= now), key=lambda i: items[i].due_at
        )[: max(limit, 0)]
        taken = expired + self._pop_due(
            heap, items, pending, now if due_by is None else due_by, max(limit, 0) - len(expired)
        )
        prefix = claim_prefix()
        claimed = [items[item_id] for item_id in taken]
        for item in claimed:
            item.status = holding
            item.lease_until = now + lease_s
            item.claim = prefix + item.id
            held.add(item.id)
        claimed.sort(key=lambda item: item.due_at)
        return claimed

    def _next(
        self, heap: list[tuple[float, int, str]], items: dict[str, Any], held: set[str], status: str
    ) -> float | None:
        dues = [items[i].lease_until for i in held]
        pending = self._peek_due(heap, items, status)
        if pending is not None:
            dues.append(pending)
        return min(dues) if dues else None

    # -- notifications -------------------------------------------------------------------------
    def add_notification(self, notification: Notification, *, job_id: str | None = None) -> None:
        """Store a notification (a copy); a duplicate id is refused with ValueError. With
        ``job_id``, only while that job is running (else :class:`JobGone`), and a duplicate id
        is kept as stored (a re-run of the job)."""
        stored = replace(notification, data=copy_json(notification.data))
        with self._lock:
            self._require_running(job_id)
            if notification.id in self._notifications:
                if job_id is not None:
                    return  # stored by an earlier run of the job: kept as it is
                raise ValueError(f"a notification with id {notification.id!r} already exists")
            self._notifications[notification.id] = stored

    def notifications(
        self, api: str | None = None, account: str | None = None
    ) -> list[Notification]:
        """Notifications, oldest first (insertion order); the filters combine with AND."""
        with self._lock:
            found = [
                n
                for n in self._notifications.values()
                if (api is None or n.api == api) and (account is None or n.account == account)
            ]
        return [replace(n, data=copy_json(n.data)) for n in found]

    # A heap entry is (due_at, insertion position, id). Entries are never updated in place: a
    # stale one (item gone, no longer pending, or due at another time) is dropped when reached.
    def _push(self, heap: list[tuple[float, int, str]], due_at: float, item_id: str) -> None:
        self._pos += 1
        heapq.heappush(heap, (due_at, self._pos, item_id))

    @staticmethod
    def _live(entry: tuple[float, int, str], items: dict[str, Any], status: str) -> bool:
        item = items.get(entry[2])
        return item is not None and item.status == status and item.due_at == entry[0]

    def _pop_due(
        self,
        heap: list[tuple[float, int, str]],
        items: dict[str, Any],
        status: str,
        now: float,
        limit: int,
    ) -> list[str]:
        taken: list[str] = []
        while heap and heap[0][0] <= now and len(taken) < limit:
            entry = heapq.heappop(heap)
            if self._live(entry, items, status) and entry[2] not in taken:
                taken.append(entry[2])
        return taken

    def _peek_due(
        self, heap: list[tuple[float, int, str]], items: dict[str, Any], status: str
    ) -> float | None:
        while heap and not self._live(heap[0], items, status):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    # -- journal -------------------------------------------------------------------------------
    def append_journal(self, entry: JSON) -> int:
        """Store one entry, dropping the oldest beyond the bound; returns its sequence number.

        The top-level ``api``, ``operation_id`` and ``status`` keys are what ``journal`` filters on.
        """
        blob = compact_json(entry)
        api, operation_id, status = entry.get("api"), entry.get("operation_id"), entry.get("status")
        with self._lock:
            self._journal_seq += 1
            seq = self._journal_seq
            self._journal.append((seq, api, operation_id, status, blob))
        return seq

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
        """
        with self._lock:
            entries = list(self._journal)
        picked: list[tuple[int, bytes]] = []
        for seq, e_api, e_operation_id, e_status, blob in reversed(entries):
            if limit is not None and len(picked) >= limit:
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

    # -- faults --------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        """Add a fault after the existing ones; a duplicate id or ``remaining < 1`` is refused."""
        if fault.remaining < 1:
            raise ValueError(f"a fault needs remaining >= 1, got {fault.remaining}")
        with self._lock:
            if any(f.id == fault.id for f in self._faults):
                raise ValueError(f"a fault with id {fault.id!r} already exists")
            self._faults.append(replace(fault))

    def take_fault(
        self, api: str, operation_id: str | None, method: str, path: str
    ) -> Fault | None:
        """Atomically consume one use of the oldest matching fault (removed at zero)."""
        if not self._faults:  # the common case, decided without the lock
            return None
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault_matches(fault, api, operation_id, method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._faults[i]
                    return replace(fault)
        return None

    def clear_faults(self) -> int:
        """Disarm every fault; returns how many were armed."""
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
            return count

    def faults(self) -> list[Fault]:
        """Active faults, oldest first."""
        with self._lock:
            return [replace(f) for f in self._faults]

    # -- flags and rate limits -----------------------------------------------------------------
    def set_flag(self, name: str, value: Any) -> None:
        """Store a JSON value under ``name``."""
        blob = compact_json(value)
        with self._lock:
            self._flags[name] = blob

    def get_flag(self, name: str, default: Any = None) -> Any:
        """The value stored under ``name`` (a copy), or ``default``."""
        with self._lock:
            blob = self._flags.get(name)
        return default if blob is None else orjson.loads(blob)

    def hit(self, key: str, window_s: float, now: float) -> int:
        """Count one hit for ``key`` in a fixed window of ``window_s`` seconds; returns the count.

        A hit stamped in an earlier window than the current one (a late clock) counts in the
        current window.
        """
        start = window_start(window_s, now)
        with self._lock:
            current = self._hits.get(key)
            if current is None or start > current[0]:
                current = (start, 1)
            else:
                current = (current[0], current[1] + 1)
            self._hits[key] = current
            return current[1]

    # -- lifecycle -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything; sequence numbers continue where they were."""
        with self._lock:
            self._init_data()

    def close(self) -> None:
        """Nothing to release; the state stays usable."""
