"""The ``/__mock/`` control API over HTTP: stored customers, jobs, faults and rate limits."""

from __future__ import annotations

import time

import pytest
import requests

from mockserver.testing import MockServer

from .helpers import Bunce, Tamio, bunce_customer, tamio_customer

KEY = "sk_test_stateful"
TOKEN = "tok_stateful"


# -- stored customers ------------------------------------------------------------------------------
def test_seed_read_and_delete_customers_per_api_and_account(bunce: Bunce, control: str) -> None:
    where = {"api": "bunce", "account": KEY}

    seeded = requests.post(
        f"{control}/customers",
        params=where,
        timeout=5,
        json={"customers": [bunce_customer("0000", "johndoe@example.com")]},
    )

    assert seeded.status_code == 201
    assert seeded.json()["results"][0]["created"]["email"] == "johndoe@example.com"
    # Seeded customers are what the API sees, duplicates included.
    assert bunce.get("0000").status_code == 200
    assert bunce.bulk(bunce_customer("1", "johndoe@example.com")).status_code == 409
    assert bunce.bulk(bunce_customer("2", "jane@example.com")).status_code == 200
    listed = requests.get(f"{control}/customers", params=where, timeout=5).json()["customers"]
    assert [c["customer_id"] for c in listed] == ["0000", "2"]
    other = requests.get(
        f"{control}/customers", params={"api": "bunce", "account": "sk_test_other"}, timeout=5
    )
    assert other.json() == {"customers": []}

    again = requests.post(
        f"{control}/customers",
        params=where,
        timeout=5,
        json=[bunce_customer("3", "JOHNDOE@example.com")],
    )
    assert again.status_code == 409
    assert again.json()["results"] == [{"error": "JOHNDOE@example.com is already taken"}]

    deleted = requests.delete(f"{control}/customers", params=where, timeout=5)
    assert deleted.json() == {"deleted": 2}
    assert bunce.emails() == []
    assert bunce.bulk(bunce_customer("0000", "johndoe@example.com")).status_code == 200


def test_seeding_keeps_given_ids_and_reports_bad_items(tamio: Tamio, control: str) -> None:
    where = {"api": "tamio", "account": TOKEN}
    known_id = "3f6c1f0e-8a4b-4c55-9a53-0d2f7b1e9c11"

    response = requests.post(
        f"{control}/customers",
        params=where,
        timeout=5,
        json=[
            tamio_customer("Ann", "ann@example.com", id=known_id, created_at=1_700_000_000),
            {"name": "No email", "country": "es"},
            tamio_customer("Bad time", "bad@example.com", created_at="yesterday"),
        ],
    )

    assert response.status_code == 409
    created, no_email, bad_time = response.json()["results"]
    assert created["created"]["id"] == known_id
    assert "email" in no_email["error"]
    assert "created_at" in bad_time["error"]
    assert tamio.retrieve(known_id).json()["customer"]["created_at"] == 1_700_000_000


def test_seeding_bunce_devices_must_be_device_objects(control: str) -> None:
    response = requests.post(
        f"{control}/customers",
        params={"api": "bunce", "account": KEY},
        timeout=5,
        json=[bunce_customer("1", "ann@example.com", devices=[{"device_type": "ios"}])],
    )

    assert response.status_code == 409
    assert "devices" in response.json()["results"][0]["error"]


def test_customers_need_a_known_api_and_an_account(control: str) -> None:
    unknown_api = requests.get(
        f"{control}/customers", params={"api": "nope", "account": "x"}, timeout=5
    )
    no_account = requests.get(f"{control}/customers", params={"api": "bunce"}, timeout=5)

    assert unknown_api.status_code == 400
    assert "nope" in unknown_api.json()["detail"]
    assert no_account.status_code == 400
    assert "account" in no_account.json()["detail"]


# -- jobs ------------------------------------------------------------------------------------------
def test_flush_runs_a_pending_import_at_once(
    mockserver: MockServer, tamio: Tamio, control: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mockserver.services.settings, "job_delay_s", 3600.0)  # never by itself
    tamio.bulk_create(
        tamio_customer("Ann", "ann@example.com"), tamio_customer("Bob", "bob@example.com")
    )
    (pending,) = requests.get(f"{control}/jobs", timeout=5).json()["jobs"]
    assert pending["status"] == "pending"
    assert tamio.list().json()["total_results"] == 0

    flushed = requests.post(f"{control}/jobs/flush", timeout=10)

    assert flushed.status_code == 200
    assert flushed.json()["jobs"] == 1
    (done,) = requests.get(f"{control}/jobs", params={"status": "done"}, timeout=5).json()["jobs"]
    assert done["id"] == pending["id"]
    assert done["result"]["created"] == 2
    assert tamio.list().json()["total_results"] == 2


# -- faults ----------------------------------------------------------------------------------------
def test_a_status_fault_answers_the_next_n_matching_requests(bunce: Bunce, control: str) -> None:
    fault = requests.post(
        f"{control}/faults",
        timeout=5,
        json={
            "api": "bunce",
            "operation_id": "listCustomers",
            "status": 503,
            "count": 2,
        },
    )
    assert fault.status_code == 201

    assert bunce.get("0000").status_code == 404  # another operation: not affected
    first, second, third = bunce.list(), bunce.list(), bunce.list()

    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.json()["success"] is False  # in Bunce's envelope
    assert requests.get(f"{control}/faults", timeout=5).json() == {"faults": []}


def test_a_latency_fault_delays_the_answer(tamio: Tamio, control: str) -> None:
    requests.post(f"{control}/faults", json={"api": "tamio", "latency_ms": 300}, timeout=5)

    started = time.monotonic()
    slow = tamio.list()
    slow_s = time.monotonic() - started

    assert slow.status_code == 200  # late, but the normal answer
    assert slow_s >= 0.3
    assert requests.get(f"{control}/faults", timeout=5).json() == {"faults": []}  # used up


def test_a_dropped_connection_is_a_connection_error_for_the_client(
    bunce: Bunce, control: str
) -> None:
    requests.post(
        f"{control}/faults", json={"api": "bunce", "method": "POST", "drop": True}, timeout=5
    )

    with pytest.raises(requests.exceptions.ConnectionError):
        bunce.bulk(bunce_customer("1", "ann@example.com"))

    assert bunce.list().status_code == 200  # only the next matching request was dropped
    assert bunce.emails() == []  # the dropped request never reached the behaviour


def test_faults_are_refused_when_they_make_no_sense(control: str) -> None:
    nothing = requests.post(f"{control}/faults", json={"api": "bunce"}, timeout=5)
    bad_op = requests.post(
        f"{control}/faults", json={"api": "bunce", "operation_id": "nope", "status": 500}, timeout=5
    )

    assert nothing.status_code == 400
    assert bad_op.status_code == 400


# -- rate limits -----------------------------------------------------------------------------------
@pytest.fixture
def frozen_clock(mockserver: MockServer, monkeypatch: pytest.MonkeyPatch) -> float:
    """Stop the mock's clock in the middle of a minute, so a rate-limit window cannot roll over."""
    now = 1_800_000_030.0
    monkeypatch.setattr(mockserver.services, "clock", lambda: now)
    return now


def test_bunce_answers_429_once_over_500_requests_a_minute(
    mockserver: MockServer, bunce: Bunce, control: str, frozen_clock: float
) -> None:
    assert bunce.list().status_code == 200  # off by default
    switched = requests.put(
        f"{control}/rate-limits", json={"api": "bunce", "enabled": True}, timeout=5
    )
    assert switched.json() == {"api": "bunce", "enabled": True}
    # Bunce counts per client address; spend 499 of the 500 requests without 499 round trips.
    for _ in range(499):
        mockserver.services.state.rate_limits.hit("bunce:127.0.0.1", 60, frozen_clock)

    five_hundredth = bunce.list()
    limited = bunce.list()

    assert five_hundredth.status_code == 200
    assert limited.status_code == 429
    assert limited.json() == {
        "success": False,
        "message": "You have reached maximum request limit.",
    }
    assert int(limited.headers["Retry-After"]) > 0
    assert (
        Bunce(mockserver.base_url("bunce"), "sk_test_other").list().status_code == 429
    )  # same address

    requests.put(f"{control}/rate-limits", json={"api": "bunce", "enabled": False}, timeout=5)
    assert bunce.list().status_code == 200


def test_tamio_answers_429_over_10_requests_a_second_per_token(
    mockserver: MockServer, tamio: Tamio, control: str, frozen_clock: float
) -> None:
    requests.put(f"{control}/rate-limits", json={"api": "tamio", "enabled": True}, timeout=5)

    statuses = [tamio.list().status_code for _ in range(11)]

    assert statuses == [200] * 10 + [429]
    limited = tamio.list()
    assert limited.json()["status"] == 429
    assert limited.json()["error_code"] == 99429
    assert int(limited.headers["Retry-After"]) >= 1
    assert Tamio(mockserver.base_url("tamio"), "another-token").list().status_code == 200
    rate_limits = requests.get(f"{control}/rate-limits", timeout=5).json()["rate_limits"]
    assert {"api": "tamio", "enabled": True, "limit": 10} in rate_limits


def test_reset_forgets_customers_faults_and_switches(bunce: Bunce, control: str) -> None:
    bunce.bulk(bunce_customer("1", "ann@example.com"))
    requests.post(f"{control}/faults", json={"api": "bunce", "status": 500}, timeout=5)
    requests.put(f"{control}/rate-limits", json={"api": "bunce", "enabled": True}, timeout=5)

    assert requests.post(f"{control}/reset", timeout=5).json() == {"reset": True}

    assert requests.get(f"{control}/faults", timeout=5).json() == {"faults": []}
    assert bunce.emails() == []
    rate_limits = requests.get(f"{control}/rate-limits", timeout=5).json()["rate_limits"]
    assert all(not r["enabled"] for r in rate_limits)
