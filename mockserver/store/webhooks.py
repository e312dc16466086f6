"""Webhook endpoints, deliveries and account notifications: the rules, for every backend.

Deliveries are claimed like jobs (``jobs.Claimable``). A job's delivery and notification are
written only while the job is running (else :class:`JobGone`), and their ids derive from the
job, so a re-run of the job finds them stored and keeps them as they are.
"""

from __future__ import annotations

from dataclasses import replace

from mockserver.store.backend import Backend
from mockserver.store.codec import copy_json
from mockserver.store.jobs import Claimable, require_running
from mockserver.store.model import Attempt, Delivery, Endpoint, Notification


class Endpoints:
    """Webhook endpoints registered through the control API."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def add(self, endpoint: Endpoint) -> None:
        """Register an endpoint (a copy); a duplicate id is refused with ValueError."""
        with self._backend.direct() as tx:
            if not tx.insert_endpoint(replace(endpoint, events=list(endpoint.events))):
                raise ValueError(f"an endpoint with id {endpoint.id!r} already exists")

    def list(self, api: str | None = None) -> list[Endpoint]:
        """Endpoints, oldest first, optionally only those of one API."""
        with self._backend.read() as tx:
            return [e for e in tx.all_endpoints() if api is None or e.api == api]

    def delete(self, endpoint_id: str) -> bool:
        """Remove an endpoint (its deliveries stay, as history); False when there was none."""
        with self._backend.direct() as tx:
            return tx.delete_endpoint(endpoint_id)


class Deliveries(Claimable[Delivery]):
    """Events to deliver to endpoints, with their attempts. A delivery's status is pending,
    delivering (claimed), delivered or failed."""

    kind = "deliveries"

    def add(self, delivery: Delivery, *, job_id: str | None = None) -> bool:
        """Store a delivery; True when stored. A duplicate id raises ValueError.

        With ``job_id`` (an event a job emits), only while that job is running (else
        :class:`JobGone`, nothing stored), and a delivery whose id is already stored (a re-run
        of the job) is left as it is: False.
        """
        stored = replace(
            delivery, event=copy_json(delivery.event), attempts=list(delivery.attempts)
        )
        with self._backend.write() as tx:
            require_running(tx, job_id)
            if tx.insert_delivery(stored):
                return True
        if job_id is not None:
            return False
        raise ValueError(f"a delivery with id {delivery.id!r} already exists")

    def record_attempt(
        self,
        delivery_id: str,
        attempt: Attempt,
        status: str,
        next_due_at: float | None,
        *,
        claim: str | None = None,
    ) -> bool:
        """Append an attempt; set status (pending again with ``next_due_at`` for a retry; None
        keeps the due time) and end the claim.

        With ``claim``, only while the delivery is held by that claim, or was handed back and
        not claimed again since (an attempt that outlived its holder's stop still counts).
        False when nothing was recorded: the delivery no longer exists (a reset removed it
        while it was in flight), or another claim holds it.
        """
        with self._backend.write() as tx:
            delivery = tx.delivery(delivery_id)
            if delivery is None or (claim is not None and delivery.claim != claim):
                return False
            due_at = delivery.due_at if next_due_at is None else next_due_at
            tx.set_delivery(delivery_id, [*delivery.attempts, replace(attempt)], status, due_at)
            return True

    def list(self, endpoint_id: str | None = None) -> list[Delivery]:
        """Deliveries with all their attempts, oldest first, optionally of one endpoint."""
        with self._backend.read() as tx:
            return [
                d
                for d in tx.all_deliveries()
                if endpoint_id is None or d.endpoint_id == endpoint_id
            ]


class Notifications:
    """Notifications the mock records for an account (e.g. "your import has completed")."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def add(self, notification: Notification, *, job_id: str | None = None) -> None:
        """Store a notification (a duplicate id is refused with ValueError). With ``job_id`` (a
        job's own notification), only while that job is running (else :class:`JobGone`,
        nothing stored); a duplicate id is then kept as stored (a re-run of the job)."""
        stored = replace(notification, data=copy_json(notification.data))
        with self._backend.write() as tx:
            require_running(tx, job_id)
            if tx.insert_notification(stored) or job_id is not None:
                return
        raise ValueError(f"a notification with id {notification.id!r} already exists")

    def list(self, api: str | None = None, account: str | None = None) -> list[Notification]:
        """Notifications, oldest first; the filters combine with AND."""
        with self._backend.read() as tx:
            return [
                n
                for n in tx.all_notifications()
                if (api is None or n.api == api) and (account is None or n.account == account)
            ]
