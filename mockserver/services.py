"""The long-lived objects one app shares between requests, behaviours and the control API."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockserver.config import Settings
from mockserver.errors import ConfigError
from mockserver.jobs import JobRunner
from mockserver.packs import JobHandler, Registry
from mockserver.store import Job, State, open_state
from mockserver.validation import SchemaValidator, compile_schema
from mockserver.webhooks import WebhookDispatcher
from mockserver.worker import BackgroundWorker

if TYPE_CHECKING:
    from mockserver.openapi.spec import Spec


@dataclass(slots=True)
class Services:
    """State plus the job runner, webhook dispatcher and background worker built on it, and the
    registry of the app's API packs (their job handlers and seeders)."""

    settings: Settings
    registry: Registry
    state: State
    jobs: JobRunner
    webhooks: WebhookDispatcher
    worker: BackgroundWorker | None = None
    clock: Callable[[], float] = time.time
    server_errors: list[BaseException] = field(default_factory=list)
    # Per API, the schema a stored customer must satisfy (the request body of its pack's
    # item_operation, see expect_items), so seeding through the control API or a data set is
    # validated too.
    item_validators: dict[str, SchemaValidator] = field(default_factory=dict)

    def seed(self, api: str, account: str, items: list[Any]) -> list[dict[str, Any]]:
        """Store customers given as JSON; one ``{"created": ...}`` or ``{"error": ...}`` per item.

        Items that break the API's create schema are refused with the violations, not stored.
        Raises ConfigError when no pack of the app stores customers of ``api``.
        """
        seeder = self.registry.seeder(api)
        validator = self.item_validators.get(api)
        results: list[dict[str, Any]] = []
        valid: list[dict[str, Any]] = []
        positions: list[int] = []
        for index, item in enumerate(items):
            problems = validator.violations(item) if validator is not None else []
            if not isinstance(item, dict):
                results.append({"error": f"item {index}: expected a JSON object"})
            elif problems:
                results.append(
                    {"error": f"item {index}: " + "; ".join(p.message for p in problems[:5])}
                )
            else:
                positions.append(index)
                valid.append(item)
                results.append({})
        for index, result in zip(positions, seeder(self, account, valid), strict=True):
            results[index] = result
        return results

    @classmethod
    def build(
        cls, settings: Settings, registry: Registry | None = None, state: State | None = None
    ) -> Services:
        """Open the state (memory, an SQLite file or a PostgreSQL database: ``settings.state``)
        and wire the workers; the job runner runs the job kinds of ``registry``'s packs (none
        without one)."""
        registry = registry if registry is not None else Registry()
        flush_s = settings.journal_flush_ms / 1000 if settings.journal_flush_ms > 0 else None
        state = state or open_state(
            settings.state,
            journal_limit=settings.journal_limit,
            journal_flush_s=flush_s,
            durable=settings.state_durable,
            pool_size=settings.pool_size,
        )
        webhooks = WebhookDispatcher(
            state,
            max_attempts=settings.webhook_max_attempts,
            backoff_base_s=settings.webhook_backoff_base_s,
            backoff_cap_s=settings.webhook_backoff_cap_s,
            timeout_s=settings.webhook_timeout_s,
            lease_s=settings.lease_s,
        )
        jobs = JobRunner(state, {}, lease_s=settings.lease_s)
        services = cls(
            settings=settings, registry=registry, state=state, jobs=jobs, webhooks=webhooks
        )
        for kind, handler in registry.job_handlers.items():
            jobs.register(kind, functools.partial(_run_with, handler, services))
        return services

    def expect_items(self, specs: list[Spec]) -> None:
        """Validate the customers seeded for each of ``specs`` (control API, data sets) against
        the request body of its pack's ``item_operation``."""
        for spec in specs:
            pack = self.registry.pack(spec.name)
            item = pack.item_operation if pack is not None else None
            operation = spec.operation(item) if item else None
            media = operation.body_content.get("application/json") if operation else None
            if operation is None or media is None or media.schema is None:
                continue
            where = f"{operation.pointer}/requestBody/content/application~1json/schema"
            validator = compile_schema(
                media.schema, spec.document, (spec.file, where), spec.validators
            )
            if validator is not None:
                self.item_validators[spec.name] = validator

    def start_background(self) -> None:
        """Start the thread that runs due jobs and webhook deliveries (idempotent)."""
        if self.worker is None:
            self.worker = BackgroundWorker(self.jobs, self.webhooks, self.state)
            self.worker.start()

    def stop_background(self, timeout_s: float | None = None) -> None:
        """A graceful stop: finish the import and webhook attempts under way (for up to
        ``timeout_s``, by default a webhook attempt's deadline plus a second), then hand back
        whatever this process still holds, for another process or the next start to take up."""
        worker = self.worker
        if worker is not None:
            wait = self.settings.webhook_timeout_s + 1.0 if timeout_s is None else timeout_s
            worker.stop(wait)
            self.worker = None
        for holder in (self.jobs, self.webhooks):  # also what a flush claimed, worker or not
            holder.release_held()

    def reset(self) -> None:
        """Forget all state (and reload the data set given at start), pausing the worker meanwhile.

        A job in flight is finished against the old state first. A webhook attempt in flight is
        not waited for (a slow receiver would hold the reset for the attempt's whole deadline):
        its outcome is not recorded, the reset removed its delivery. The worker's threads start
        again whatever the stopped ones are still finishing. With several worker processes only
        this process's worker pauses; an import another process is running writes nothing after
        the reset (its insert is bound to its job, which the reset removed) and is dropped.
        """
        worker = self.worker
        if worker is not None:
            worker.stop(wait_for_deliveries=False)
        try:
            self.state.reset()
            del self.server_errors[:]
            if self.settings.dataset:  # a data set given at start is the "empty" state
                self.load_dataset(self.settings.dataset)
        finally:
            if worker is not None:
                worker.start()

    def wake(self) -> None:
        """Tell the background worker that work became due (a job scheduled with no delay)."""
        if self.worker is not None:
            self.worker.wake()

    def load_dataset(self, path: str) -> dict[str, int]:
        """Store the customers of a data set file: ``{"<api>": {"<account>": [customer, ...]}}``.

        Returns how many customers were created per API; duplicates are skipped.
        """
        import orjson

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
            if api not in self.registry.seeders or not isinstance(accounts, dict):
                known = ", ".join(sorted(self.registry.seeders)) or "none"
                raise ConfigError(f"data set {path!r}: unknown API {api!r}; known: {known}")
            for account, customers in accounts.items():
                results = self.seed(api, account, list(customers))
                created[api] = created.get(api, 0) + sum(1 for r in results if "created" in r)
        return created

    def flush(self) -> dict[str, int]:
        """Run every pending job and webhook delivery now, in this thread."""
        jobs = self.jobs.flush()
        delivered = self.webhooks.flush()
        return {"jobs": len(jobs), "deliveries": delivered}


def _run_with(handler: JobHandler, services: Services, job: Job) -> dict[str, Any]:
    return handler(job, services)
