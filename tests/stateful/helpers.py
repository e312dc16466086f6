"""Clients and helpers for the stateful tests: every request goes over real HTTP (``requests``).

Most tests use the plugin's ``mockserver`` fixture (a werkzeug server on a thread, reset per test).
The few ``slow`` tests start ``mockserver serve`` (gunicorn) as a subprocess with
:func:`mockserver.testing.serve`.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from shared import bunce_customer as bunce_customer  # the modules here import them from this one
from shared import tamio_customer as tamio_customer

from mockserver.testing import ServeProcess


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


# -- clients of a `mockserver serve` subprocess (mockserver.testing.serve) -----------------------
def bunce_of(served: ServeProcess, key: str) -> Bunce:
    """A Bunce client of ``served``; its connections close before the server stops (an idle
    keep-alive connection would hold up gunicorn's graceful stop)."""
    client = Bunce(served.base_url("bunce"), key)
    served.before_stop.append(client.session.close)
    return client


def tamio_of(served: ServeProcess, token: str) -> Tamio:
    """A Tamio client of ``served``, closed like :func:`bunce_of`'s."""
    client = Tamio(served.base_url("tamio"), token)
    served.before_stop.append(client.session.close)
    return client
