"""The long-lived objects one app shares between requests, behaviours and the control API."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from dataclasses import dataclass, field
from pathlib import Path

from mockserver.behaviours.registry import JOB_HANDLERS
from mockserver.config import Settings
from mockserver.jobs import JobRunner
from mockserver.store import State
from mockserver.store import open_state
from mockserver.webhooks import WebhookDispatcher
from mockserver.worker import BackgroundWorker

if TYPE_CHECKING:
    from mockserver.generate import DataGenerator


@dataclass(slots=True)
class Services:
    """State plus the job runner, webhook dispatcher and background worker built on it."""

    settings: Settings
    state: State
    jobs: JobRunner
    webhooks: WebhookDispatcher
    worker: BackgroundWorker | None = None
    clock: Callable[[], float] = time.time
    server_errors: list[BaseException] = field(default_factory=list)
    _generator: DataGenerator | None = None

    @property
    def generator(self) -> DataGenerator:
        """The seeded fake-data generator, built on first use (faker is slow to import)."""
        if self._generator is None:
            from mockserver.generate import DataGenerator

            self._generator = DataGenerator(seed=self.settings.seed)
        return self._generator

    @classmethod
    def build(cls, settings: Settings, state: State | None = None) -> Services:
        """Open the state (memory, or SQLite at ``settings.state_path``) and wire the workers."""
        state = state or open_state(settings.state_path, journal_limit=settings.journal_limit)
        webhooks = WebhookDispatcher(
            state,
            max_attempts=settings.webhook_max_attempts,
            backoff_base_s=settings.webhook_backoff_base_s,
            backoff_cap_s=settings.webhook_backoff_cap_s,
            timeout_s=settings.webhook_timeout_s,
        )
        jobs = JobRunner(state, {})
        services = cls(settings=settings, state=state, jobs=jobs, webhooks=webhooks)
        for kind, handler in JOB_HANDLERS.items():
            jobs.register(kind, functools.partial(handler, services=services))
        return services

    def start_background(self) -> None:
        """Start the thread that runs due jobs and webhook deliveries (idempotent)."""
        if self.worker is None:
            self.worker = BackgroundWorker(self.jobs, self.webhooks, self.state)
            self.worker.start()

    def stop_background(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def wake(self) -> None:
        """Tell the background worker that work became due (a job scheduled with no delay)."""
        if self.worker is not None:
            self.worker.wake()

    def load_dataset(self, path: str) -> dict[str, int]:
        """Store the customers of a data set file: ``{"<api>": {"<account>": [customer, ...]}}``.

        Returns how many customers were created per API; duplicates are skipped.
        """
        import orjson

        from mockserver.behaviours.registry import SEEDERS
        from mockserver.errors import ConfigError

        try:
            data = orjson.loads(Path(path).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigError(f"cannot load data set {path!r}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"data set {path!r} must map API names to accounts to customer lists")
        created: dict[str, int] = {}
        for api, accounts in data.items():
            if api.startswith("$") or api == "meta":
                continue
            if api not in SEEDERS or not isinstance(accounts, dict):
                raise ConfigError(f"data set {path!r}: unknown API {api!r}; known: {sorted(SEEDERS)}")
            for account, customers in accounts.items():
                results = SEEDERS[api](self, account, list(customers))
                created[api] = created.get(api, 0) + sum(1 for r in results if "created" in r)
        return created

    def flush(self) -> dict[str, int]:
        """Run every pending job and webhook delivery now, in this thread."""
        jobs = self.jobs.flush()
        delivered = self.webhooks.flush()
        return {"jobs": len(jobs), "deliveries": delivered}
