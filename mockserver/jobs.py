"""Background jobs: schedule work for later and run it when it falls due.

A :class:`JobRunner` stores jobs in the shared :class:`~mockserver.store.State` (so several
processes sharing an SQLite state can each pick up due jobs; ``state.jobs.claim_due`` hands each
job to exactly one of them) and runs the handler registered for the job's ``kind``. A handler
returns the job's result (a JSON-compatible dict) or raises: the exception marks the job
``failed`` with ``{"error": "<ExceptionType>: <message>"}`` and never escapes the runner, so a
worker loop survives.

Handlers may schedule further jobs; :meth:`JobRunner.flush` keeps running until nothing is pending.

Every claim is a lease of ``lease_s`` seconds: the runner keeps the claims it holds
(:meth:`JobRunner.held_claims`, renewed by the background worker while a job runs) and
:meth:`JobRunner.release_held` hands back those it has not finished when it stops. A job whose
holder died is claimed again once its lease ends; its handler must then duplicate nothing
(``insert_batch(..., job_id=)`` returns the recorded outcomes of the first run).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping

from mockserver.inflight import InFlight
from mockserver.store import DEFAULT_LEASE_S, JSON, Job, JobGone, State

__all__ = ["JobHandler", "JobRunner"]

logger = logging.getLogger("mockserver.jobs")

JobHandler = Callable[[Job], JSON]
"""Runs one job and returns its result; raising marks the job failed."""

JobErrorListener = Callable[[Job, BaseException], None]
"""Told about every exception a handler raised (after the job was marked failed)."""

_CLAIM_BATCH = 10
_MAX_ROUNDS = 10_000  # guards flush() against a handler that keeps scheduling due jobs forever


class JobRunner:
    """Schedules jobs in the state and runs the due ones with their kind's handler.

    ``handlers`` maps a job kind (e.g. ``"<api>.import"``) to its handler. ``clock`` gives the
    current time in seconds since the epoch; tests pass a fake one to control due times.

    The runner is thread-safe: the background worker and a control-API request (``flush``) may use
    the same instance at the same time; each job runs once because the state claims it atomically.
    """

    def __init__(
        self,
        state: State,
        handlers: Mapping[str, Callable[[Job], JSON]],
        *,
        clock: Callable[[], float] = time.time,
        lease_s: float = DEFAULT_LEASE_S,
    ) -> None:
        if lease_s <= 0:
            raise ValueError(f"lease_s must be > 0, got {lease_s!r}")
        self._state = state
        self._handlers: dict[str, Callable[[Job], JSON]] = dict(handlers)
        self._clock = clock
        self.lease_s = lease_s
        self._held: set[str] = set()  # claims this runner holds (claimed, not finished)
        self._held_lock = threading.Lock()
        self._error_listeners: list[JobErrorListener] = []
        self._schedule_listeners: list[Callable[[], None]] = []
        # Jobs being run by this instance right now, so flush() can wait for the worker thread's.
        self._inflight = InFlight()
        self._local = threading.local()

    @property
    def state(self) -> State:
        """The state the jobs live in."""
        return self._state

    def register(self, kind: str, handler: Callable[[Job], JSON]) -> None:
        """Add or replace the handler for ``kind``."""
        self._handlers[kind] = handler

    def add_error_listener(self, listener: JobErrorListener) -> None:
        """Call ``listener(job, exc)`` whenever a handler raises (the job is already failed)."""
        self._error_listeners.append(listener)

    def add_schedule_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each :meth:`schedule` (a worker uses it to wake up)."""
        self._schedule_listeners.append(listener)

    # -- scheduling --------------------------------------------------------------------------------
    def schedule(self, kind: str, api: str, account: str, payload: JSON, delay_s: float) -> Job:
        """Store a pending job of ``kind`` that falls due ``delay_s`` seconds from now.

        Raises :class:`ValueError` for a negative delay. The kind need not have a handler yet; a
        job without one fails when it runs, with an error naming the kind.
        """
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s!r}")
        now = self._clock()
        job = Job(
            id="job_" + uuid.uuid4().hex,
            kind=kind,
            api=api,
            account=account,
            payload=payload,
            due_at=now + delay_s,
            created_at=now,
        )
        self._state.jobs.add(job)
        for listener in list(self._schedule_listeners):
            try:
                listener()
            except Exception:
                logger.exception("job schedule listener failed")
        return job

    # -- leases ------------------------------------------------------------------------------------
    def held_claims(self) -> list[str]:
        """The claims of the jobs this runner has claimed and not finished yet."""
        with self._held_lock:
            return list(self._held)

    def release_held(self) -> int:
        """Hand back every job this runner holds (a stop); returns how many went back."""
        with self._held_lock:
            claims, self._held = list(self._held), set()
        return self._state.leases.release(claims) if claims else 0

    def _hold(self, jobs: list[Job]) -> None:
        with self._held_lock:
            self._held.update(job.claim for job in jobs if job.claim is not None)

    def _let_go(self, job: Job) -> None:
        with self._held_lock:
            self._held.discard(job.claim or "")

    # -- running -----------------------------------------------------------------------------------
    def run_due(
        self,
        now: float | None = None,
        *,
        due_by: float | None = None,
        stop: threading.Event | None = None,
    ) -> list[Job]:
        """Claim every job due at ``now`` (default: the clock), run it and record the outcome.

        ``due_by`` claims pending jobs due up to then (a flush: infinity); jobs whose holder's
        lease ended by ``now`` are claimed too. Once ``stop`` is set, the jobs claimed and not
        started yet are handed back. Returns the jobs run, each with its final ``status``
        (``done`` or ``failed``; ``dropped`` when a reset removed the job while it ran, so
        nothing of it was stored), ``result`` and ``finished_at``. Jobs that a handler
        schedules and that are already due are run too.
        """
        ran: list[Job] = []
        broken: Exception | None = None
        for _ in range(_MAX_ROUNDS):
            if stop is not None and stop.is_set():
                break
            at = self._clock() if now is None else now
            claimed = self._state.jobs.claim_due(
                at, limit=_CLAIM_BATCH, lease_s=self.lease_s, due_by=due_by
            )
            if not claimed:
                break
            self._hold(claimed)
            for index, job in enumerate(claimed):
                if stop is not None and stop.is_set():
                    rest = [j.claim for j in claimed[index:] if j.claim is not None]
                    with self._held_lock:
                        self._held.difference_update(rest)
                    self._state.leases.release(rest)
                    break
                try:
                    ran.append(self._run_one(job))
                except Exception as exc:  # the state could not record the outcome
                    broken = broken or exc
                finally:
                    self._let_go(job)
            if broken is not None:
                raise broken
        return ran

    def flush(self, timeout_s: float = 10.0) -> list[Job]:
        """Run every pending job now, whatever its due time, until none is left.

        Jobs whose holder's lease ended are run too; a job another live process holds is left
        to it. Also waits (up to ``timeout_s``) for jobs that another thread of this process is
        running at the moment, since they may schedule more. Returns the jobs this call ran.
        """
        deadline = time.monotonic() + timeout_s
        ran: list[Job] = []
        waited = False
        for _ in range(_MAX_ROUNDS):
            batch = self.run_due(due_by=math.inf)
            ran.extend(batch)
            if batch:
                waited = False
                continue
            if waited or time.monotonic() >= deadline or not self._wait_idle(deadline):
                break
            waited = True  # look once more: the jobs waited for may have scheduled others
        return ran

    def _wait_idle(self, deadline: float) -> bool:
        """Wait until no other thread of this runner is inside a handler; False on timeout."""
        if getattr(self._local, "depth", 0):
            return True  # flush() called from inside a handler: do not wait for ourselves
        return self._inflight.wait_idle(deadline)

    def _run_one(self, job: Job) -> Job:
        handler = self._handlers.get(job.kind)
        error: BaseException | None = None
        result: JSON
        self._local.depth = getattr(self._local, "depth", 0) + 1
        with self._inflight.track():
            try:
                if handler is None:
                    known = ", ".join(sorted(self._handlers)) or "none"
                    result = {"error": f"no handler for job kind {job.kind!r} (known: {known})"}
                    status = "failed"
                else:
                    try:
                        returned: object = handler(job)
                        if not isinstance(returned, dict):
                            raise TypeError(
                                f"handler for {job.kind!r} returned {type(returned).__name__}, "
                                "expected a dict"
                            )
                        result = returned
                        status = "done"
                    except JobGone:
                        # A reset (in another worker process) removed the job after it was
                        # claimed: its writes were refused and there is no row to finish.
                        logger.info("job %s was removed by a reset; its result is dropped", job.id)
                        job.status = "dropped"
                        return job
                    except Exception as exc:
                        logger.exception("job %s (%s) failed", job.id, job.kind)
                        error = exc
                        result = {"error": f"{type(exc).__name__}: {exc}"}
                        status = "failed"
                try:
                    self._state.jobs.finish(job.id, status, result)
                except Exception as exc:
                    # Most likely a result the backend cannot store: keep the job from staying
                    # 'running' forever by recording why.
                    logger.exception("could not store the result of job %s", job.id)
                    error = error or exc
                    result = {
                        "error": f"could not store the job result: {type(exc).__name__}: {exc}"
                    }
                    status = "failed"
                    self._state.jobs.finish(
                        job.id, status, result
                    )  # if this fails too, let it raise
            finally:
                self._local.depth -= 1
        job.status = status
        job.result = result
        job.finished_at = self._clock()
        if error is not None:
            for listener in list(self._error_listeners):
                try:
                    listener(job, error)
                except Exception:
                    logger.exception("job error listener failed")
        return job
