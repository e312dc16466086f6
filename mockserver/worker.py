"""The background thread that runs due jobs and sends due webhook deliveries.

One daemon thread loops: run due jobs, send due deliveries, then sleep until the earliest next due
time or the poll interval, whichever comes first. Polling is needed because several processes may
share an SQLite state and schedule work this process is not told about. Scheduling a job or
emitting an event through this process's runner/dispatcher wakes the thread at once.

Nothing kills the loop: an exception (in the loop itself, or raised by a job handler) is logged on
the ``mockserver.worker`` logger and kept in :attr:`BackgroundWorker.errors`, so the pytest
fixture can re-raise it in the test's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from mockserver.jobs import JobRunner
from mockserver.store.base import Job, State
from mockserver.webhooks import WebhookDispatcher

__all__ = ["BackgroundWorker"]

logger = logging.getLogger("mockserver.worker")

_MAX_ERRORS = 100


class BackgroundWorker:
    """Runs ``job_runner.run_due()`` and ``dispatcher.deliver_due()`` on a daemon thread.

    ``state`` defaults to the job runner's. ``poll_interval_s`` bounds every sleep. ``errors``
    holds the exceptions caught so far (the most recent ``100``), oldest first.
    """

    def __init__(
        self,
        job_runner: JobRunner,
        dispatcher: WebhookDispatcher,
        state: State | None = None,
        *,
        poll_interval_s: float = 0.05,
        clock: Callable[[], float] = time.time,
        name: str = "mockserver-worker",
    ) -> None:
        if poll_interval_s <= 0:
            raise ValueError(f"poll_interval_s must be > 0, got {poll_interval_s!r}")
        self._job_runner = job_runner
        self._dispatcher = dispatcher
        self._state = state if state is not None else job_runner.state
        self._poll = poll_interval_s
        self._clock = clock
        self._name = name
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
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
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (no-op when it is already running)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to stop and join it; True when it ended within ``timeout`` seconds.

        The current iteration (a running job, a delivery in flight) is finished first.
        """
        with self._lock:
            thread = self._thread
            self._stopping.set()
            self._wake.set()
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            logger.warning("worker thread did not stop within %.1f s", timeout)
            return False
        with self._lock:
            if self._thread is thread:
                self._thread = None
        return True

    def wake(self) -> None:
        """Make the thread look for due work now instead of finishing its sleep."""
        self._wake.set()

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

    # -- the loop ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        logger.debug("worker started")
        while not self._stopping.is_set():
            self._wake.clear()
            failed = False
            try:
                self._job_runner.run_due()
            except Exception as exc:
                failed = True
                logger.exception("running due jobs failed")
                self._record(exc)
            if self._stopping.is_set():
                break
            try:
                self._dispatcher.deliver_due()
            except Exception as exc:  # deliver_due should not raise; be safe anyway
                failed = True
                logger.exception("delivering webhooks failed")
                self._record(exc)
            if self._stopping.is_set():
                break
            self._wake.wait(self._poll if failed else self._sleep_time())
        logger.debug("worker stopped")

    def _sleep_time(self) -> float:
        """Seconds until the earliest due job or delivery, at most the poll interval."""
        try:
            dues = [
                due
                for due in (self._state.next_job_due(), self._state.next_delivery_due())
                if due is not None
            ]
        except Exception as exc:
            logger.exception("reading next due times failed")
            self._record(exc)
            return self._poll
        if not dues:
            return self._poll
        # A small floor keeps an item that is due but cannot be claimed from spinning the CPU.
        return max(0.001, min(self._poll, min(dues) - self._clock()))
