"""A stand-in for a deployment of the Bunce API that breaks the spec in known ways.

Each path answers one way (``/v1/customers/<case>``): ``fine`` as documented, ``undocumented`` a
status the spec does not list, ``missing`` without a required field, ``wrong-type`` a number where
a string belongs, ``accent`` a value whose violation message holds non-ASCII text, ``html`` an
HTML page, ``repeated`` repeated headers, ``slow`` late, ``drop`` not at all (the connection
closes). Every request it receives is kept in :attr:`BrokenUpstream.received`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CUSTOMER = {
    "customer_id": "0000",
    "first_name": "John",
    "last_name": "Doe",
    "email": "johndoe21@example.com",
    "phone_no": "+23481999999999",
    "customer_created_at": "2023-12-17T10:59:04.685126+01:00",
}


def customer(**changes: Any) -> dict[str, Any]:
    data = {**CUSTOMER, **changes}
    return {"success": True, "message": "Customer fetched successfully",
            "data": {k: v for k, v in data.items() if v is not None}}


ANSWERS: dict[str, tuple[int, Any]] = {
    "fine": (200, customer()),
    "undocumented": (403, {"success": False, "message": "This key may not read customers"}),
    "missing": (200, customer(customer_created_at=None)),
    "wrong-type": (200, customer(phone_no=23481999999999)),
    "accent": (200, customer(customer_created_at="hier à 10 h")),
}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class BrokenUpstream:
    """Serves on 127.0.0.1 (a free port) until :meth:`stop`."""

    slow_s: float = 1.5
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> BrokenUpstream:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                upstream.received.append(
                    Received(self.command, self.path, dict(self.headers.items()), body)
                )
                case = self.path.split("?")[0].rsplit("/", 1)[-1]
                if case == "drop":
                    self.close_connection = True
                    return
                if case == "slow":
                    time.sleep(upstream.slow_s)
                    case = "fine"
                if case == "repeated":
                    body = json.dumps(ANSWERS["fine"][1]).encode()
                    self.send_response(200)
                    for name, value in (("X-Note", "a"), ("X-Note", "b"),
                                        ("Set-Cookie", "first=1"), ("Set-Cookie", "second=2")):
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif case == "html":
                    self._send(200, b"<html><body>Maintenance</body></html>", "text/html")
                elif self.command == "POST" and self.path.startswith("/v1/customers/bulk"):
                    count = len(json.loads(body).get("customers", []))
                    self._send(207, json.dumps({
                        "errors": ["johndoe21@example.com is already taken"],
                        "message": f"Errors encountered while creating. 1 out of {count} "
                        "customers failed",
                        "status": False,
                    }).encode())
                else:
                    status, answer = ANSWERS.get(case, (404, {"success": False,
                                                               "message": "Customer not found"}))
                    self._send(status, json.dumps(answer, ensure_ascii=False).encode())

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Request-Id", f"req_{time.monotonic_ns()}")
                self.send_header("Set-Cookie", "session=upstream-session-secret; HttpOnly")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    @property
    def url(self) -> str:
        """The base URL to proxy to (as ``https://sandbox.api.bunce.so/v1`` would be)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
