"""A local HTTP server for tests: :class:`Receiver` records every request it gets and answers
each as the test says. It stands in for a webhook endpoint or for the upstream API a proxy
forwards to. Import it from :mod:`mockserver.testing`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One request as the receiver got it."""

    method: str
    path: str
    """The path with its query string, as sent."""
    headers: dict[str, str]
    """The headers, their names as sent (see :meth:`header`)."""
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any letter case), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def json(self) -> Any:
        """The body, parsed as JSON."""
        return orjson.loads(self.body)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the receiver answers: a status, a body and headers (a name may repeat)."""

    status: int = 200
    body: bytes = b""
    headers: Sequence[tuple[str, str]] = ()

    @classmethod
    def json(cls, status: int, value: Any, *headers: tuple[str, str]) -> Reply:
        """A JSON answer (``Content-Type: application/json``)."""
        return cls(status, orjson.dumps(value), (("Content-Type", "application/json"), *headers))


Respond = Callable[[ReceivedRequest], "Reply | None"]
"""How a receiver answers a request; None closes the connection without an answer."""


def _ok(request: ReceivedRequest) -> Reply:
    return Reply()


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 (a free port), in background threads, that records every
    request in :attr:`received` and answers each with ``respond(request)`` (default: 200 with
    an empty body). ``respond`` runs in the request's own thread, after the request is recorded,
    so it may block (a slow receiver) while the test sees the request arrive. A context manager::

        with Receiver(lambda request: Reply(500)) as failing:
            register(failing.url)
            ...
            [request] = failing.wait_for(1)
    """

    respond: Respond = _ok
    path: str = "/"
    """The path :attr:`url` ends with (requests to any path are received)."""
    protocol_version: str = "HTTP/1.0"
    """``HTTP/1.1`` keeps connections open between requests."""
    received: list[ReceivedRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _port: int = 0
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> Receiver:
        """Listen and serve; returns self."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = self.protocol_version

            def _receive(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = ReceivedRequest(self.command, self.path, dict(self.headers), body)
                with receiver._arrived:
                    receiver.received.append(request)
                    receiver._arrived.notify_all()
                reply = receiver.respond(request)
                if reply is None:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _receive

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._port = int(self._server.server_address[1])
        # A short poll interval keeps stop() (shutdown waits one poll) from costing 0.5 s a test.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    @property
    def port(self) -> int:
        """The port it listens on (it keeps the number after :meth:`stop`)."""
        assert self._port, "start() the receiver first"
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` followed by :attr:`path`."""
        return f"http://127.0.0.1:{self.port}{self.path}"

    def wait_for(
        self, count: int, timeout: float = 5.0, what: str = "requests"
    ) -> list[ReceivedRequest]:
        """Block until ``count`` requests arrived and return them; AssertionError on timeout
        (``expected 2 requests, got 1``, with ``what`` naming them)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} {what}, got {len(self.received)}")
                self._arrived.wait(left)
            return list(self.received)

    def stop(self) -> None:
        """Stop listening (requests under way finish in their threads)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Receiver:
        return self.start() if self._server is None else self

    def __exit__(self, *exception: object) -> None:
        self.stop()
