"""Background jobs, and the claim rule jobs and webhook deliveries share.

A claim hands each due item to exactly one caller, also across processes, with a lease: the
claim (a token, ``claim``) holds until ``lease_until``. A holder renews it while it works
(:class:`Leases`) and hands it back when it stops; a claim whose lease ended (its process died)
is claimed again by the next caller. Claimable: pending items due by ``due_by`` (default
``now``) and held items whose lease ended by ``now``, earliest due first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection
from typing import Generic, TypeVar

from mockserver.store.backend import Backend, Kind, Tx
from mockserver.store.codec import copy_json
from mockserver.store.model import DEFAULT_LEASE_S, JSON, Delivery, Job, JobGone

HOLDING: dict[Kind, str] = {"jobs": "running", "deliveries": "delivering"}
"""The status of a claimed item, by kind (pending is the status of an unclaimed one)."""

T = TypeVar("T", Job, Delivery)


def require_running(tx: Tx, job_id: str | None) -> None:
    """The job-bound write: raise :class:`JobGone` unless ``job_id`` is None or that job is
    running. A reset answered by another process removes the job; its import, already under
    way, must then write nothing."""
    if job_id is not None and tx.job_status(job_id) != "running":
        raise JobGone(job_id)


def claim_prefix() -> str:
    """A new claim's token prefix; the token of each item it claims is the prefix + its id."""
    return "clm_" + uuid.uuid4().hex[:20] + ":"


class Claimable(Generic[T]):
    """Items claimed by the rule of the module docstring: jobs or deliveries (``kind``)."""

    kind: Kind

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._holding = HOLDING[self.kind]

    def claim_due(
        self,
        now: float,
        limit: int = 10,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        due_by: float | None = None,
    ) -> list[T]:
        """Mark due items held (running, delivering) under a new claim and return them,
        earliest due first: pending ones due by ``due_by`` (default ``now``), held ones whose
        lease ended by ``now``. The new lease ends at ``now + lease_s``. Each claim goes to one
        caller, also across processes."""
        due_by = now if due_by is None else max(now, due_by)
        limit = max(limit, 0)
        # A read first: the idle poll of every worker stays off the write lock.
        due = self.next_due()
        if due is None or due > due_by or not limit:
            return []
        kind, holding = self.kind, self._holding
        with self._backend.write() as tx:
            candidates = tx.lapsed(kind, holding, now, limit) + tx.pending_due(kind, due_by, limit)
            taken = [item_id for _, _, item_id in sorted(candidates)[:limit]]
            claimed: list[T] = tx.hold(kind, taken, holding, now + lease_s, claim_prefix())
        return claimed

    def next_due(self) -> float | None:
        """When an item can next be claimed: the earliest due_at of a pending one or
        lease_until of a held one (lets workers sleep precisely)."""
        with self._backend.direct() as tx:
            dues = (tx.earliest_due(self.kind), tx.earliest_lapse(self.kind, self._holding))
        return min((t for t in dues if t is not None), default=None)


class Jobs(Claimable[Job]):
    """Background jobs (a Tamio import). A job's status is pending, running, done or failed."""

    kind = "jobs"

    def add(self, job: Job) -> None:
        """Store a job (a copy); a second job with the same id is refused with ValueError."""
        with self._backend.direct() as tx:
            if not tx.insert_job(job):
                raise ValueError(f"a job with id {job.id!r} already exists")

    def finish(self, job_id: str, status: str, result: JSON) -> bool:
        """Record a job's final status and result (its claim ends); False when the job no
        longer exists (a reset removed it)."""
        stored = copy_json(result)  # refused before anything is written
        with self._backend.direct() as tx:
            return tx.finish_job(job_id, status, stored, time.time())

    def list(self, api: str | None = None, status: str | None = None) -> list[Job]:
        """Jobs, oldest (by ``created_at``, then insertion) first; filters combine with AND."""
        with self._backend.read() as tx:
            jobs = tx.all_jobs()
        return [
            j
            for j in jobs
            if (api is None or j.api == api) and (status is None or j.status == status)
        ]


class Leases:
    """The leases of what a process holds, jobs and deliveries alike."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def renew(self, claims: Collection[str], lease_until: float) -> int:
        """Extend the lease of the jobs and deliveries still held by these claims; how many."""
        if not claims:
            return 0
        with self._backend.write() as tx:
            return sum(
                tx.set_leases(kind, holding, claims, lease_until)
                for kind, holding in HOLDING.items()
            )

    def release(self, claims: Collection[str]) -> int:
        """Hand back the jobs and deliveries these claims still hold: pending again, due at their
        due time; how many. The claim token stays on a handed-back delivery until it is claimed
        again, so an attempt that outlives the hand-back is still recorded. A stopping holder
        calls it."""
        if not claims:
            return 0
        with self._backend.write() as tx:
            return sum(tx.hand_back(kind, holding, claims) for kind, holding in HOLDING.items())
