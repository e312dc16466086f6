"""A stand-in for a deployment of the Bunce API that breaks the spec in known ways.

Each path answers one way (``/v1/customers/<case>``): ``fine`` as documented, ``undocumented`` a
status the spec does not list, ``missing`` without a required field, ``wrong-type`` a number where
a string belongs, ``accent`` a value whose violation message holds non-ASCII text, ``html`` an
HTML page, ``repeated`` repeated headers, ``slow`` late, ``drop`` not at all (the connection
closes). Every request it receives is kept in :attr:`BrokenUpstream.received`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from mockserver.testing import ReceivedRequest, Receiver, Reply

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
class BrokenUpstream:
    """Serves on 127.0.0.1 (a free port) until :meth:`stop`."""

    slow_s: float = 1.5
    _receiver: Receiver | None = None

    def start(self) -> BrokenUpstream:
        self._receiver = Receiver(self._answer, path="/v1", protocol_version="HTTP/1.1").start()
        return self

    @property
    def received(self) -> list[ReceivedRequest]:
        """Every request it received, in order."""
        assert self._receiver is not None
        return self._receiver.received

    def _answer(self, request: ReceivedRequest) -> Reply | None:
        case = request.path.split("?")[0].rsplit("/", 1)[-1]
        if case == "drop":
            return None  # the connection closes without an answer
        if case == "slow":
            time.sleep(self.slow_s)
            case = "fine"
        if case == "repeated":
            repeated = (("X-Note", "a"), ("X-Note", "b"), ("Set-Cookie", "first=1"),
                        ("Set-Cookie", "second=2"))
            return Reply.json(200, ANSWERS["fine"][1], *repeated)
        if case == "html":
            body = b"<html><body>Maintenance</body></html>"
            return self._reply(200, body, "text/html")
        if request.method == "POST" and request.path.startswith("/v1/customers/bulk"):
            count = len(json.loads(request.body).get("customers", []))
            return self._reply(207, json.dumps({
                "errors": ["johndoe21@example.com is already taken"],
                "message": f"Errors encountered while creating. 1 out of {count} "
                "customers failed",
                "status": False,
            }).encode())
        status, answer = ANSWERS.get(case, (404, {"success": False,
                                                   "message": "Customer not found"}))
        return self._reply(status, json.dumps(answer, ensure_ascii=False).encode())

    def _reply(self, status: int, body: bytes, kind: str = "application/json") -> Reply:
        headers = (("Content-Type", kind), ("X-Request-Id", f"req_{time.monotonic_ns()}"),
                   ("Set-Cookie", "session=upstream-session-secret; HttpOnly"))
        return Reply(status, body, headers)

    @property
    def url(self) -> str:
        """The base URL to proxy to (as ``https://sandbox.api.bunce.so/v1`` would be)."""
        assert self._receiver is not None
        return self._receiver.url

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.stop()
