"""The background threads that run due jobs and send due webhook deliveries.

Three kinds of daemon thread, so that no piece of work can hold up another:

* the **job** thread runs due jobs (imports) one after the other;
* the **delivery** thread claims due deliveries, at most as many as there are free senders
  (``delivery_threads``, 4 by default), and hands each to a **sender** thread of its own: a slow
  webhook receiver occupies one sender for at most its attempt's deadline, never an import;
* the **lease** thread renews, every third of the lease, the claims this process holds, so work
  that takes longer than a lease is not claimed again by another process meanwhile.

The job and delivery threads sleep until the earliest next due time (or a lease's end) or the
poll interval, whichever comes first; polling is needed because several processes may share an
SQLite state and schedule work this process is not told about. Scheduling a job or emitting an
event through this process's runner/dispatcher wakes them at once.

:meth:`BackgroundWorker.stop` lets the threads finish what they started (an import, an attempt)
and hands back, with :meth:`BackgroundWorker.release`, whatever is still claimed: another process,
or this one after a restart, takes it up at once. ``start`` after ``stop`` always gives the
process running threads again, even while threads of the stopped generation are still finishing
a slow attempt.

Nothing kills the loops: an exception (in a loop itself, or raised by a job handler) is logged on
the ``mockserver.worker`` logger and kept in :attr:`BackgroundWorker.errors`, so the pytest
fixture can re-raise it in the test's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from mockserver.jobs import JobRunner
from mockserver.store import Delivery, Job, State
from mockserver.webhooks import WebhookDispatcher

__all__ = ["BackgroundWorker"]

logger = logging.getLogger("mockserver.worker")

_MAX_ERRORS = 100


class _Generation:
    """The threads of one ``start()``; ``stopping`` ends them (and only them)."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.senders: set[threading.Thread] = set()
        self.senders_lock = threading.Lock()

    def alive(self) -> list[threading.Thread]:
        with self.senders_lock:
            senders = list(self.senders)
        return [t for t in [*self.threads, *senders] if t.is_alive()]


class BackgroundWorker:
    """Runs due jobs and delivers due webhooks on daemon threads (see the module docstring).

    ``state`` defaults to the job runner's. ``poll_interval_s`` bounds every sleep.
    ``delivery_threads`` is how many webhook attempts may be under way at once. ``errors`` holds
    the exceptions caught so far (the most recent ``100``), oldest first.
    """

    def __init__(
        self,
        job_runner: JobRunner,
        dispatcher: WebhookDispatcher,
        state: State | None = None,
        *,
        poll_interval_s: float = 0.05,
        delivery_threads: int = 4,
        clock: Callable[[], float] = time.time,
        name: str = "mockserver-worker",
    ) -> None:
        if poll_interval_s <= 0:
            raise ValueError(f"poll_interval_s must be > 0, got {poll_interval_s!r}")
        if delivery_threads < 1:
            raise ValueError(f"delivery_threads must be >= 1, got {delivery_threads!r}")
        self._job_runner = job_runner
        self._dispatcher = dispatcher
        self._state = state if state is not None else job_runner.state
        self._poll = poll_interval_s
        self._senders = delivery_threads
        self._clock = clock
        self._name = name
        self._wake_jobs = threading.Event()
        self._wake_deliveries = threading.Event()
        self._generation: _Generation | None = None
        self._lock = threading.Lock()
        self.errors: list[BaseException] = []
        job_runner.add_error_listener(self._on_job_error)
        job_runner.add_schedule_listener(self.wake)
        dispatcher.add_error_listener(self._record)
        dispatcher.add_emit_listener(self.wake)

    @property
    def job_runner(self) -> JobRunner:
        """The runner whose due jobs this worker runs."""
        return self._job_runner

    @property
    def dispatcher(self) -> WebhookDispatcher:
        """The dispatcher whose due deliveries this worker sends."""
        return self._dispatcher

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while the threads of a started (and not stopped) generation are alive."""
        generation = self._generation
        return (
            generation is not None
            and not generation.stopping.is_set()
            and all(t.is_alive() for t in generation.threads)
        )

    def start(self) -> None:
        """Start the threads (no-op when they are running). After :meth:`stop` a new set starts
        at once, whatever the stopped ones are still finishing."""
        with self._lock:
            if self._generation is not None and not self._generation.stopping.is_set():
                return
            generation = self._generation = _Generation()
            for target, suffix in (
                (self._job_loop, "jobs"),
                (self._delivery_loop, "deliveries"),
                (self._lease_loop, "leases"),
            ):
                thread = threading.Thread(
                    target=target, args=(generation,), name=f"{self._name}-{suffix}", daemon=True
                )
                generation.threads.append(thread)
            for thread in generation.threads:
                thread.start()

    def stop(self, timeout: float = 5.0, *, wait_for_deliveries: bool = True) -> bool:
        """Ask the threads to stop and join them; True when they ended within ``timeout`` s.

        A job under way is finished first; so is a webhook attempt under way unless
        ``wait_for_deliveries`` is False (a reset: the attempt's outcome is not recorded for a
        delivery the reset removed). Claims are not handed back here: see :meth:`release`.
        """
        with self._lock:
            generation = self._generation
            if generation is None:
                return True
            generation.stopping.set()
        self.wake()
        deadline = time.monotonic() + timeout
        waiting = (
            generation.alive()
            if wait_for_deliveries
            else [t for t in generation.threads if t.is_alive()]
        )
        for thread in waiting:
            thread.join(max(0.0, deadline - time.monotonic()))
        late = [t.name for t in waiting if t.is_alive()]
        if late:
            logger.info(
                "%d background thread(s) still finishing after %.1f s: %s",
                len(late),
                timeout,
                ", ".join(late),
            )
        return not late

    def release(self) -> int:
        """Hand back every job and delivery this process still holds (after :meth:`stop`, when
        the process is about to exit); returns how many went back."""
        released = 0
        for holder in (self._job_runner, self._dispatcher):
            try:
                released += holder.release_held()
            except Exception as exc:
                logger.exception("handing back claimed work failed")
                self._record(exc)
        return released

    def wake(self) -> None:
        """Make the threads look for due work now instead of finishing their sleep."""
        self._wake_jobs.set()
        self._wake_deliveries.set()

    # -- errors ------------------------------------------------------------------------------------
    def take_errors(self) -> list[BaseException]:
        """Return the captured errors and forget them."""
        with self._lock:
            taken = list(self.errors)
            self.errors.clear()
        return taken

    def raise_errors(self) -> None:
        """Re-raise the first captured error (forgetting all of them), if there is one."""
        taken = self.take_errors()
        if taken:
            raise taken[0]

    def _record(self, exc: BaseException) -> None:
        with self._lock:
            self.errors.append(exc)
            del self.errors[:-_MAX_ERRORS]

    def _on_job_error(self, job: Job, exc: BaseException) -> None:
        self._record(exc)

    # -- the loops ---------------------------------------------------------------------------------
    def _job_loop(self, generation: _Generation) -> None:
        stopping = generation.stopping
        while not stopping.is_set():
            self._wake_jobs.clear()
            failed = False
            try:
                self._job_runner.run_due(stop=stopping)
            except Exception as exc:
                failed = True
                logger.exception("running due jobs failed")
                self._record(exc)
            if stopping.is_set():
                break
            self._wake_jobs.wait(
                self._poll if failed else self._sleep_time(self._state.jobs.next_due)
            )

    def _delivery_loop(self, generation: _Generation) -> None:
        stopping = generation.stopping
        while not stopping.is_set():
            self._wake_deliveries.clear()
            with generation.senders_lock:
                generation.senders = {t for t in generation.senders if t.is_alive()}
                free = self._senders - len(generation.senders)
            claimed: list[Delivery] = []
            if free > 0:
                try:
                    claimed = self._dispatcher.claim(free)
                except Exception as exc:
                    logger.exception("claiming due webhook deliveries failed")
                    self._record(exc)
            for delivery in claimed:
                sender = threading.Thread(
                    target=self._send,
                    args=(delivery,),
                    name=f"{self._name}-send-{delivery.id}",
                    daemon=True,
                )
                with generation.senders_lock:
                    generation.senders.add(sender)
                sender.start()
            if stopping.is_set():
                break
            if claimed and free - len(claimed) > 0:
                continue  # maybe more are due
            busy = free <= len(claimed)
            self._wake_deliveries.wait(
                self._poll if busy else self._sleep_time(self._state.deliveries.next_due)
            )

    def _send(self, delivery: Delivery) -> None:
        self._dispatcher.send(delivery)  # never raises
        self._wake_deliveries.set()  # a sender is free again

    def _lease_loop(self, generation: _Generation) -> None:
        period = min(self._job_runner.lease_s, self._dispatcher.lease_s) / 3
        while not generation.stopping.wait(period):
            claims = self._job_runner.held_claims() + self._dispatcher.held_claims()
            if not claims:
                continue
            lease_s = min(self._job_runner.lease_s, self._dispatcher.lease_s)
            try:
                self._state.leases.renew(claims, self._clock() + lease_s)
            except Exception as exc:
                logger.exception("renewing the leases of claimed work failed")
                self._record(exc)

    def _sleep_time(self, next_due: Callable[[], float | None]) -> float:
        """Seconds until the earliest due item (or lease end), at most the poll interval."""
        try:
            due = next_due()
        except Exception as exc:
            logger.exception("reading next due times failed")
            self._record(exc)
            return self._poll
        if due is None:
            return self._poll
        # A small floor keeps an item that is due but cannot be claimed from spinning the CPU.
        return max(0.001, min(self._poll, due - self._clock()))
