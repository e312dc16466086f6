"""Helpers for tests that use the mock: the object the pytest fixture hands out, a webhook
receiver that verifies signatures, a local HTTP server that records what it gets
(:class:`Receiver`, for webhook endpoints and upstreams), and :func:`serve`, which runs
``mockserver serve`` as a subprocess.

``MockServer`` talks to the app's services directly (same process), so resetting, seeding and
reading the journal cost no HTTP round trip; clients under test use :meth:`MockServer.base_url`.
``serve`` starts the production server (gunicorn) on a free port, waits until it is healthy and
stops its whole process group (see :mod:`mockserver.launcher`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.config import Settings
from mockserver.control import check_body, notification_json
from mockserver.drift import DriftReport, summarise
from mockserver.engine import Engine
from mockserver.faults import build_fault
from mockserver.journal import JournalEntry
from mockserver.journal import read as read_journal
from mockserver.launcher import ServeProcess, StartError, serve
from mockserver.packs import ApiPack, Registry
from mockserver.receiver import ReceivedRequest, Receiver, Reply
from mockserver.server import ThreadedServer
from mockserver.services import Services
from mockserver.store import Fault, Scope
from mockserver.webhooks import DEFAULT_SIGNATURE_HEADER, SignatureError, verify_signature

__all__ = [
    "MockServer",
    "ReceivedEvent",
    "ReceivedRequest",
    "Receiver",
    "Reply",
    "ServeProcess",
    "ServerError",
    "StartError",
    "WebhookReceiver",
    "serve",
]


class ServerError(AssertionError):
    """Something failed inside the mock while a test ran (re-raised in the test thread)."""


@dataclass(slots=True)
class ReceivedEvent:
    """One webhook delivery as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    event: Any
    verified: bool
    error: str | None = None


@dataclass(slots=True)
class WebhookReceiver:
    """A local HTTP server (a :class:`Receiver`) that records webhook deliveries and verifies
    each signature.

    ``signature_header`` is the header the API signs its deliveries in
    (:meth:`MockServer.webhook_receiver` sets it). ``fail_next(n)`` makes the next ``n``
    deliveries get HTTP 500 (to see retries).
    """

    secret: str
    signature_header: str = DEFAULT_SIGNATURE_HEADER
    _fail: int = 0
    _receiver: Receiver | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> WebhookReceiver:
        self._receiver = Receiver(self._answer, path="/webhooks").start()
        return self

    @property
    def url(self) -> str:
        return self._started.url

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._fail = count

    def _answer(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            failing = self._fail > 0
            self._fail -= 1 if failing else 0
        return Reply(500 if failing else 200)

    @property
    def received(self) -> list[ReceivedEvent]:
        """Every delivery, in arrival order, its signature checked."""
        return [self._event(request) for request in self._started.received]

    def _event(self, request: ReceivedRequest) -> ReceivedEvent:
        header = request.header(self.signature_header) or ""
        try:
            verify_signature(self.secret, request.body, header)
            verified, error = True, None
        except SignatureError as exc:
            verified, error = False, str(exc)
        try:
            event = request.json()
        except ValueError:  # orjson.JSONDecodeError
            event = None
        return ReceivedEvent(request.headers, request.body, event, verified, error)

    @property
    def events(self) -> list[Any]:
        """The parsed events of every delivery (in arrival order)."""
        return [r.event for r in self.received]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedEvent]:
        """Block until ``count`` deliveries arrived; raise AssertionError on timeout."""
        self._started.wait_for(count, timeout, what="webhook deliveries")
        return self.received

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.stop()

    @property
    def _started(self) -> Receiver:
        assert self._receiver is not None, "start() the receiver first"
        return self._receiver


class MockServer:
    """A running mock (or an in-process one) and everything a test asks of it."""

    def __init__(
        self,
        app: Flask,
        server: ThreadedServer | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.app = app
        self.engine: Engine = app.extensions["mockserver"]
        self.services: Services = self.engine.services
        self.server = server
        self.ca_bundle = ca_bundle
        """The CA certificate (PEM) a client must trust to reach this server over HTTPS: the
        mock's local CA, or None (plain HTTP, or the user's own ``tls_cert``)."""
        self.receivers: list[WebhookReceiver] = []

    @classmethod
    def start(
        cls,
        settings: Settings,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        apis: Registry | list[ApiPack] | None = None,
    ) -> MockServer:
        """Build the app and serve it on a background thread (port 0: a free one).

        With ``settings.tls`` (or ``tls_cert``) it serves HTTPS; see :attr:`ca_bundle`.
        ``apis``: the API packs to serve with (default: the bundled and installed ones).
        """
        context = None
        ca_bundle = None
        if settings.tls or settings.tls_cert or settings.tls_key:
            from mockserver import tls

            settings, files = tls.resolve(settings)
            assert files is not None
            context = tls.server_context(files)
            ca_bundle = files.ca_bundle
        app = create_app(settings, apis=apis)
        return cls(app, ThreadedServer(app, host, port, ssl_context=context).start(), ca_bundle)

    @classmethod
    def in_process(
        cls, settings: Settings, *, apis: Registry | list[ApiPack] | None = None
    ) -> MockServer:
        """Build the app without a socket; use :attr:`client` (a Flask test client)."""
        return cls(create_app(settings, apis=apis))

    # -- addresses -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The server's root URL (``http://127.0.0.1:PORT``, or ``https://`` over TLS)."""
        if self.server is None:
            return "http://localhost"
        return self.server.url

    def base_url(self, api: str) -> str:
        """The base URL a client of ``api`` should use, e.g. ``http://127.0.0.1:PORT/<api>/v1``
        (``https://`` when the server speaks TLS)."""
        if api not in self.engine.by_name:
            raise KeyError(f"no API {api!r}; mounted: {', '.join(self.engine.by_name)}")
        return self.url + self.engine.by_name[api].mount

    @property
    def client(self) -> FlaskClient:
        """A Flask test client for in-process requests (no socket)."""
        return self.app.test_client()

    # -- lifecycle -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget all state, journal, faults, jobs and webhooks; reload the configured data set."""
        self.services.reset()  # waits for a job or delivery of the previous test still in flight
        if self.services.worker is not None:
            self.services.worker.take_errors()
        for receiver in self.receivers:
            receiver.stop()
        self.receivers.clear()

    def check(self) -> None:
        """Re-raise, in the calling (test) thread, any error raised inside the mock."""
        errors = list(self.services.server_errors)
        if self.services.worker is not None:
            errors += self.services.worker.take_errors()
        del self.services.server_errors[:]
        if errors:
            details = "\n".join(f"- {type(e).__name__}: {e}" for e in errors)
            raise ServerError(f"{len(errors)} error(s) inside the mock:\n{details}") from errors[0]

    def stop(self) -> None:
        for receiver in self.receivers:
            receiver.stop()
        self.services.stop_background()
        if self.server is not None:
            self.server.stop()

    @contextmanager
    def fresh(self) -> Iterator[MockServer]:
        """The mock for one test: :meth:`reset` first, :meth:`check` after (errors inside the
        mock are raised in the test's thread). What the ``mockserver`` fixture does::

            with session_mock.fresh() as mock:
                yield mock
        """
        self.reset()
        yield self
        self.check()

    def __enter__(self) -> MockServer:
        return self

    def __exit__(self, *exception: object) -> None:
        self.stop()

    # -- the journal ---------------------------------------------------------------------------
    def requests(
        self, api: str | None = None, operation: str | None = None, status: int | None = None
    ) -> list[dict[str, Any]]:
        """Journal entries (oldest first), filtered by API, operationId and status, as
        ``GET /__mock/requests`` lists them."""
        return [e.to_json() for e in self.journal(api, operation, status)]

    def journal(
        self, api: str | None = None, operation: str | None = None, status: int | None = None
    ) -> list[JournalEntry]:
        """Journal entries (oldest first) as typed objects, filtered as :meth:`requests`; each
        violation also names the JSON Schema keyword it broke and where (``schema_path``)."""
        return read_journal(self.services.state, api=api, operation_id=operation, status=status)

    def assert_called(
        self, operation_id: str, times: int | None = None, api: str | None = None
    ) -> list[dict[str, Any]]:
        """Assert the operation was called (exactly ``times`` times if given); return the calls."""
        calls = self.requests(api=api, operation=operation_id)
        if (times is None and not calls) or (times is not None and len(calls) != times):
            seen = [
                f"{e.method} {e.path} -> {e.status} ({e.operation_id})" for e in self.journal()
            ]
            expected = "at least once" if times is None else f"{times} time(s)"
            raise AssertionError(
                f"expected {operation_id} to be called {expected}, it was called {len(calls)} "
                f"time(s). Requests seen:\n  " + ("\n  ".join(seen) or "(none)")
            )
        return calls

    @property
    def violations(self) -> list[dict[str, Any]]:
        """Requests the mock rejected as invalid, with their violations (empty: all were valid)."""
        return [e.to_json() for e in self.journal() if e.violations]

    def drift(self, api: str | None = None) -> DriftReport:
        """Where the proxied (or replayed) API and its spec disagree, from the journal
        (``report.drift`` is False when they agree; see docs/proxy.md)."""
        return summarise(self.journal(api=api))

    # -- state ---------------------------------------------------------------------------------
    def customers(self, api: str, account: str) -> list[dict[str, Any]]:
        """The customers stored for ``api`` and ``account`` (the credential), oldest first."""
        return [r.data for r in self.services.state.records.all(Scope(api, account))]

    def notifications(
        self, api: str | None = None, account: str | None = None
    ) -> list[dict[str, Any]]:
        """Account notifications, oldest first, as ``GET /__mock/notifications`` lists them.

        A pack's background job may record one when it finishes (an import: what it created and
        what it skipped), with ``job_id`` and ``time``; ``account`` is masked as in the journal.
        Filter by ``api`` and by ``account`` (the credential). Run :meth:`flush_jobs` first to
        finish pending jobs.
        """
        found = self.services.state.notifications.list(api=api, account=account)
        return [notification_json(n) for n in found]

    def seed(
        self, api: str, account: str, customers: Iterable[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Store customers directly; returns one ``{"created": ...}`` or ``{"error": ...}`` each."""
        return self.services.seed(api, account, list(customers))

    def fault(
        self,
        *,
        api: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        latency_ms: int = 0,
        drop: bool = False,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """Inject a fault for the next ``count`` matching requests.

        ``path`` is the full request path (``/<api>/v1/customers/7``). ValueError when malformed,
        or when ``status`` is one an operation the fault can hit does not document (the message
        lists the statuses they document).
        """
        given = {
            "api": api,
            "operation_id": operation_id,
            "method": method,
            "path": path,
            "status": status,
            "latency_ms": latency_ms,
            "drop": drop,
            "count": count,
        }
        request = {key: value for key, value in given.items() if value is not None}
        check_body("addFault", request)  # as POST /__mock/faults: ValueError naming the field
        fault = build_fault({name: a.spec for name, a in self.engine.by_name.items()}, request)
        self.services.state.faults.add(fault)
        return fault

    def rate_limit(self, api: str, enabled: bool = True) -> None:
        """Switch rate-limit emulation for ``api`` on or off."""
        self.services.state.flags.set(f"rate-limit:{api}", enabled)

    def flush_jobs(self) -> dict[str, int]:
        """Run every pending background job and webhook delivery now."""
        return self.services.flush()

    def webhook_receiver(
        self, api: str | None = None, events: Iterable[str] = ("*",), account: str | None = None
    ) -> WebhookReceiver:
        """Start a local receiver, register it as a webhook endpoint of ``api`` (by default the
        one mounted API that sends webhooks), and return it. It checks each delivery's signature
        in the header ``api`` signs in."""
        webhooks = self.services.webhooks
        api = api or webhooks.only_api()
        endpoint_secret = "whsec_test_" + str(len(self.receivers))
        receiver = WebhookReceiver(endpoint_secret, webhooks.header_for(api)).start()
        self.services.webhooks.register(
            api, receiver.url, list(events), secret=endpoint_secret, account=account
        )
        self.receivers.append(receiver)
        return receiver
