"""Clients and helpers for the stateful tests: every request goes over real HTTP (``requests``).

Most tests use the plugin's ``mockserver`` fixture (a werkzeug server on a thread, reset per test).
The few ``slow`` tests start ``mockserver serve`` (gunicorn) as a subprocess with :func:`serve`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

MOCKSERVER = Path(sys.executable).with_name("mockserver")


def bunce_customer(customer_id: str, email: str, **extra: Any) -> dict[str, Any]:
    """One Bunce customer item as the documented samples send it."""
    return {
        "customer_id": customer_id,
        "first_name": "John",
        "last_name": "Doe",
        "email": email,
        "phone_no": "+23481999999999",
        **extra,
    }


def tamio_customer(name: str, email: str, country: str = "es", **extra: Any) -> dict[str, Any]:
    """One Tamio CustomerInput with the required fields."""
    return {"name": name, "email": email, "country": country, **extra}


class Bunce:
    """A tiny Bunce client: base URL plus the account's secret key."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["X-Authorization"] = key

    def bulk(self, *customers: dict[str, Any]) -> requests.Response:
        return self.session.post(
            f"{self.base_url}/customers/bulk", json={"customers": list(customers)}
        )

    def create(self, customer: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.base_url}/customers", json=customer)

    def get(self, customer_id: str) -> requests.Response:
        return self.session.get(f"{self.base_url}/customers/{customer_id}")

    def list(self, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base_url}/customers", params=params)

    def update(self, customer_id: str, fields: dict[str, Any]) -> requests.Response:
        return self.session.put(f"{self.base_url}/customers/{customer_id}", json=fields)

    def bulk_update(self, *customers: dict[str, Any]) -> requests.Response:
        return self.session.put(
            f"{self.base_url}/customers/bulk-update", json={"customers": list(customers)}
        )

    def add_devices(self, customer_id: str, *devices: dict[str, Any]) -> requests.Response:
        return self.session.post(
            f"{self.base_url}/customers/{customer_id}/devices", json={"devices": list(devices)}
        )

    def devices(self, customer_id: str) -> requests.Response:
        return self.session.get(f"{self.base_url}/customers/{customer_id}/devices")

    def update_device(self, customer_id: str, change: dict[str, Any]) -> requests.Response:
        return self.session.patch(f"{self.base_url}/customers/{customer_id}/devices", json=change)

    def emails(self) -> list[str]:
        """Every stored email of the account, through ``GET /customers`` (all pages)."""
        emails: list[str] = []
        params: dict[str, Any] = {"per_page": 100}
        while True:
            page = self.list(**params)
            assert page.status_code == 200, page.text
            body = page.json()["data"]
            emails += [c["email"] for c in body["data"]]
            if not body["meta"]["has_next_page"]:
                return emails
            params["cursor"] = body["meta"]["next_page_cursor"]


class Tamio:
    """A tiny Tamio client: base URL plus the account's bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def bulk_create(self, *customers: dict[str, Any]) -> requests.Response:
        return self.session.post(
            f"{self.base_url}/customers/bulk/create", json={"customers": list(customers)}
        )

    def create(self, customer: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.base_url}/customers/create", json=customer)

    def retrieve(self, uuid: str) -> requests.Response:
        return self.session.get(f"{self.base_url}/customers/retrieve/{uuid}")

    def list(self, params: Any = None, **kwargs: Any) -> requests.Response:
        query = params if params is not None else {"page": 1, "per_page": 100, **kwargs}
        return self.session.get(f"{self.base_url}/customers/list", params=query)


def wait_until(
    condition: Any, timeout: float = 5.0, interval: float = 0.02, what: str = "condition"
) -> Any:
    """Poll ``condition()`` until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# -- `mockserver serve` as a subprocess ----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServedMock:
    """A running ``mockserver serve`` process."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    clients: list[Bunce | Tamio] = field(default_factory=list)

    def base_url(self, api: str) -> str:
        return f"{self.url}/{api}/{'v1' if api == 'bunce' else 'v2'}"

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's output (for assertion messages)."""
        return self.log.read_text(errors="replace")[-chars:]

    def bunce(self, key: str) -> Bunce:
        """A Bunce client for this server (its connections are closed by :meth:`stop`)."""
        self.clients.append(Bunce(self.base_url("bunce"), key))
        return self.clients[-1]  # type: ignore[return-value]

    def tamio(self, token: str) -> Tamio:
        """A Tamio client for this server (its connections are closed by :meth:`stop`)."""
        self.clients.append(Tamio(self.base_url("tamio"), token))
        return self.clients[-1]  # type: ignore[return-value]

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM the whole process group (gunicorn master and workers); wait for the exit."""
        for client in self.clients:
            client.session.close()  # gunicorn waits for idle keep-alive connections otherwise
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        return self.process.returncode


def start_serve(*args: str, log: Path, timeout: float = 30.0) -> ServedMock:
    """Start ``mockserver serve --port <free> ARGS`` and wait until /__mock/health answers."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                str(MOCKSERVER),
                "serve",
                "--port",
                str(port),
                "--quiet",
                "--log-level",
                "warning",
                *args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = ServedMock(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(
                f"mockserver serve exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            if requests.get(f"{served.url}/__mock/health", timeout=2).status_code == 200:
                return served
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or the socket is open but no worker has booted yet
        if time.monotonic() > deadline:
            served.stop()
            raise AssertionError(
                f"mockserver serve not healthy after {timeout} s:\n{log.read_text()}"
            )
        time.sleep(0.05)


@contextmanager
def serve(*args: str, log: Path) -> Iterator[ServedMock]:
    """``mockserver serve`` for the duration of a ``with`` block; always stopped afterwards."""
    served = start_serve(*args, log=log)
    try:
        yield served
    finally:
        served.stop()
