"""A bounded soak: a multi-worker production server under concurrent mixed load.

``mockserver serve --workers 2`` (two gunicorn processes sharing the SQLite state), 8 client
threads x 150 requests over loopback: Bunce bulk creates whose emails overlap between threads (in
varying letter case), single creates, gets and lists, plus a few Tamio imports. Afterwards: no 5xx
and no connection error happened, every customer the server acknowledged as created is readable,
and the account holds no email twice (case-insensitively) and nothing that was not acknowledged.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mockserver.testing import ServeProcess

from .support import (
    BUNCE,
    TAMIO,
    bunce_customer,
    check_response,
    problems_in_log,
    start_server,
    tamio_customer,
)

pytestmark = pytest.mark.slow

THREADS = 8
REQUESTS_PER_THREAD = 150
EMAILS = [f"soak{i}@example.com" for i in range(1500)]  # shared by every thread: creates collide
KEY = "sk_test_soak"
TOKEN = "tok_soak"
TIME_LIMIT_S = 120


@pytest.fixture(scope="module")
def soak_server() -> Iterator[ServeProcess]:
    server = start_server("--job-delay", "0.05")
    try:
        yield server
    finally:
        server.stop()


def _variant(rng: random.Random, email: str) -> str:
    return "".join(c.upper() if rng.random() < 0.3 else c for c in email)


class Client:
    """One thread's requests; remembers what the server acknowledged."""

    def __init__(self, index: int, base: str, deadline: float) -> None:
        self.index = index
        self.base = base
        self.rng = random.Random(index)
        self.session = requests.Session()
        self.deadline = deadline
        self.created: dict[str, str] = {}  # customer_id -> email as sent
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self.n = 0

    def new_id(self) -> str:
        self.n += 1
        return f"t{self.index}-{self.n}"

    def call(self, method: str, url: str, **kwargs: Any) -> requests.Response | None:
        try:
            response = self.session.request(method, url, timeout=30, **kwargs)
        except requests.RequestException as exc:
            self.errors.append(f"{method} {url}: {type(exc).__name__}: {exc}")
            return None
        self.statuses[response.status_code] += 1
        try:
            check_response(response, f"{method} {url}")
        except AssertionError as exc:
            self.errors.append(str(exc)[:500])
        return response

    def bulk(self) -> None:
        emails = self.rng.sample(EMAILS, self.rng.randint(1, 20))  # distinct within the batch
        batch = [bunce_customer(self.new_id(), _variant(self.rng, e)) for e in emails]
        response = self.call(
            "POST",
            f"{self.base}{BUNCE}/customers/bulk",
            json={"customers": batch},
            headers={"X-Authorization": KEY},
        )
        if response is None:
            return
        if response.status_code == 200:
            for item in batch:
                self.created[item["customer_id"]] = item["email"]
        elif response.status_code == 409:
            taken = {e.removesuffix(" is already taken") for e in response.json()["errors"]}
            failed = [item for item in batch if item["email"] in taken]
            assert len(failed) == len(response.json()["errors"]), response.text
            for item in batch:
                if item["email"] not in taken:
                    self.created[item["customer_id"]] = item["email"]
        else:
            self.errors.append(f"bulk answered {response.status_code}: {response.text[:300]}")

    def single(self) -> None:
        item = bunce_customer(self.new_id(), _variant(self.rng, self.rng.choice(EMAILS)))
        response = self.call(
            "POST", f"{self.base}{BUNCE}/customers", json=item, headers={"X-Authorization": KEY}
        )
        if response is not None:
            if response.status_code == 201:
                self.created[item["customer_id"]] = item["email"]
            elif response.status_code != 409:
                self.errors.append(f"create answered {response.status_code}: {response.text[:300]}")

    def get(self) -> None:
        if self.created and self.rng.random() < 0.8:
            customer_id = self.rng.choice(list(self.created))
            response = self.call(
                "GET",
                f"{self.base}{BUNCE}/customers/{customer_id}",
                headers={"X-Authorization": KEY},
            )
            if response is not None and response.status_code != 200:
                self.errors.append(
                    f"acknowledged {customer_id} not readable: {response.status_code}"
                )
        else:
            guess = f"t{self.rng.randint(0, 7)}-{self.rng.randint(1, 200)}"  # maybe not created
            self.call(
                "GET", f"{self.base}{BUNCE}/customers/{guess}", headers={"X-Authorization": KEY}
            )

    def list(self) -> None:
        self.call(
            "GET",
            f"{self.base}{BUNCE}/customers",
            params={"per_page": self.rng.randint(1, 100)},
            headers={"X-Authorization": KEY},
        )

    def tamio(self) -> None:
        emails = self.rng.sample(EMAILS, 3)
        body = {"customers": [tamio_customer("Soak", _variant(self.rng, e)) for e in emails]}
        self.call(
            "POST",
            f"{self.base}{TAMIO}/customers/bulk/create",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        self.call(
            "GET",
            f"{self.base}{TAMIO}/customers/list",
            params={"page": 1, "per_page": 50},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

    def run(self) -> None:
        actions = [self.bulk] * 4 + [self.single] * 2 + [self.get] * 3 + [self.list]
        for i in range(REQUESTS_PER_THREAD):
            if time.monotonic() > self.deadline:
                self.errors.append(f"time limit reached after {i} requests")
                return
            action = self.tamio if i % 25 == 0 else self.rng.choice(actions)
            try:
                action()
            except Exception as exc:  # an assertion about an answer: record it, keep going
                self.errors.append(f"{action.__name__}: {type(exc).__name__}: {exc}"[:500])
        self.session.close()


def _stored(base: str) -> list[dict[str, Any]]:
    """Every customer of the account, through the public list (cursor pages)."""
    customers: list[dict[str, Any]] = []
    params: dict[str, Any] = {"per_page": 100}
    with requests.Session() as session:
        for _ in range(1000):
            page = session.get(
                f"{base}{BUNCE}/customers",
                params=params,
                headers={"X-Authorization": KEY},
                timeout=30,
            )
            assert page.status_code == 200, page.text
            body = page.json()["data"]
            customers += body["data"]
            if not body["meta"]["has_next_page"]:
                return customers
            params["cursor"] = body["meta"]["next_page_cursor"]
    raise AssertionError("the list did not end")


def test_soak_mixed_concurrent_load_on_two_workers(soak_server: ServeProcess) -> None:
    base = soak_server.url
    deadline = time.monotonic() + TIME_LIMIT_S
    clients = [Client(i, base, deadline) for i in range(THREADS)]
    threads = [threading.Thread(target=c.run, name=f"soak-{c.index}") for c in clients]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIME_LIMIT_S + 30)
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "a soak thread hung"

    errors = [e for c in clients for e in c.errors]
    statuses = sum((c.statuses for c in clients), Counter())
    assert errors == [], f"{len(errors)} errors, first: {errors[:5]}"
    assert not [s for s in statuses if s >= 500], statuses
    assert sum(statuses.values()) >= THREADS * REQUESTS_PER_THREAD, statuses
    assert statuses[409] > 0, f"the emails were meant to collide: {statuses}"

    acknowledged: dict[str, str] = {}
    for client in clients:
        acknowledged.update(client.created)
    stored = _stored(base)
    by_id = {c["customer_id"]: c for c in stored}
    lowered = Counter(c["email"].lower() for c in stored)
    assert [e for e, n in lowered.items() if n > 1] == [], "an email is stored twice"
    assert len(by_id) == len(stored), "a customer_id is stored twice"
    missing = [cid for cid in acknowledged if cid not in by_id]
    assert missing == [], f"acknowledged but not stored: {missing[:10]}"
    unacknowledged = [cid for cid in by_id if cid not in acknowledged]
    assert unacknowledged == [], f"stored but never acknowledged: {unacknowledged[:10]}"
    for cid, email in acknowledged.items():
        assert by_id[cid]["email"] == email
    with requests.Session() as session:  # each one also readable on its own (either worker)
        for cid in list(acknowledged)[:: max(1, len(acknowledged) // 100)]:
            got = session.get(
                f"{base}{BUNCE}/customers/{cid}", headers={"X-Authorization": KEY}, timeout=30
            )
            assert got.status_code == 200 and got.json()["data"]["email"] == acknowledged[cid], (
                got.text
            )
    assert soak_server.healthy()
    assert problems_in_log(soak_server) == [], soak_server.log()[-5000:]
    print(
        f"soak: {sum(statuses.values())} requests in {elapsed:.1f} s, statuses {dict(statuses)}, "
        f"{len(acknowledged)} customers created"
    )
