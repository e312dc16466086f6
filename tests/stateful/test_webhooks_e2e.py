"""Webhooks end to end: a real local receiver registered through the control API gets signed
``customer.created`` events from a Tamio import, and failed deliveries are retried and recorded."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import requests

from mockserver import verify_signature
from mockserver.testing import MockServer, ReceivedRequest, Receiver, Reply, WebhookReceiver

from .helpers import Tamio, tamio_customer, wait_until

SIGNATURE = re.compile(r"^t=(\d+),s=([0-9a-f]{64})$")


def register(control: str, receiver: WebhookReceiver, **extra: Any) -> dict[str, Any]:
    response = requests.post(
        f"{control}/webhooks/endpoints",
        timeout=5,
        json={
            "api": "tamio",
            "url": receiver.url,
            "events": ["customer.created"],
            "secret": receiver.secret,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def deliveries(control: str) -> list[dict[str, Any]]:
    return list(requests.get(f"{control}/webhooks/deliveries", timeout=5).json()["deliveries"])


def test_an_import_of_n_customers_sends_n_signed_customer_created_events(
    tamio: Tamio, control: str, receiver: WebhookReceiver
) -> None:
    endpoint = register(control, receiver)
    emails = ["ann@example.com", "bob@example.com", "cid@example.com"]

    assert tamio.bulk_create(*(tamio_customer(e.split("@")[0], e) for e in emails)).json() == {
        "status": 200
    }

    received = receiver.wait_for(len(emails))
    assert len(received) == len(emails)
    for delivery in received:
        header = delivery.headers["Tamio-Signature"]
        assert SIGNATURE.match(header), header
        verify_signature(receiver.secret, delivery.body, header)  # raises SignatureError if wrong
        assert delivery.verified
        event = delivery.event
        assert set(event) == {
            "event_id",
            "event_type",
            "api_version",
            "object",
            "data",
            "endpoint_id",
        }
        assert event["event_id"].startswith("whev_")
        assert event["event_type"] == "customer.created"
        assert event["api_version"] == 2
        assert event["object"] == "event"
        assert event["endpoint_id"] == endpoint["id"]
        assert event["data"]["customer"]["source"] == "import"
    assert sorted(d.event["data"]["customer"]["email"] for d in received) == emails
    assert len({d.event["event_id"] for d in received}) == len(emails)
    # The customers in the events are the stored ones.
    stored = {c["id"]: c for c in tamio.list().json()["customers"]}
    for delivery in received:
        customer = delivery.event["data"]["customer"]
        assert stored[customer["id"]] == customer


def test_a_tampered_body_does_not_verify(
    tamio: Tamio, control: str, receiver: WebhookReceiver
) -> None:
    register(control, receiver)
    tamio.create(tamio_customer("Ann", "ann@example.com"))
    (delivery,) = receiver.wait_for(1)

    tampered = delivery.body.replace(b"ann@example.com", b"eve@example.com")

    header = delivery.headers["Tamio-Signature"]
    assert not _verifies("whsec_another_secret", delivery.body, header)
    assert not _verifies(receiver.secret, tampered, header)
    assert _verifies(receiver.secret, delivery.body, header)


def _verifies(secret: str, body: bytes, header: str) -> bool:
    from mockserver import SignatureError

    try:
        verify_signature(secret, body, header)
    except SignatureError:
        return False
    return True


def test_a_failed_delivery_is_retried_and_every_attempt_is_recorded(
    tamio: Tamio, control: str, receiver: WebhookReceiver
) -> None:
    endpoint = register(control, receiver)
    receiver.fail_next(1)

    tamio.bulk_create(tamio_customer("Ann", "ann@example.com"))

    first, second = receiver.wait_for(2)
    assert first.body == second.body  # the same event, re-sent
    assert first.verified and second.verified

    def delivered() -> list[dict[str, Any]]:
        found = deliveries(control)
        return found if found and found[0]["status"] == "delivered" else []

    (delivery,) = wait_until(delivered, what="the delivery to be marked delivered")
    assert delivery["endpoint_id"] == endpoint["id"]
    assert delivery["event"]["event_type"] == "customer.created"
    failed, succeeded = delivery["attempts"]
    assert failed["status"] == 500
    assert "500" in failed["error"]
    assert succeeded["status"] == 200
    assert succeeded["error"] is None
    assert failed["duration_ms"] >= 0 and succeeded["duration_ms"] >= 0
    assert succeeded["at"] > failed["at"]


def test_an_unreachable_endpoint_records_the_connection_error(tamio: Tamio, control: str) -> None:
    dead = WebhookReceiver(secret="whsec_dead", signature_header="Tamio-Signature").start()
    url = dead.url
    dead.stop()  # nothing listens on that port any more
    requests.post(f"{control}/webhooks/endpoints", json={"api": "tamio", "url": url}, timeout=5)

    tamio.create(tamio_customer("Ann", "ann@example.com"))

    def attempted() -> list[dict[str, Any]]:
        return [a for d in deliveries(control) for a in d["attempts"]]

    first = wait_until(attempted, what="a delivery attempt")[0]
    assert first["status"] is None
    assert first["error"]


class HeldReceiver:
    """A webhook endpoint that holds every answer until :meth:`release` (a slow receiver)."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.released = threading.Event()
        self.server = Receiver(self._answer, path="/hook").start()
        self.url = self.server.url

    def _answer(self, request: ReceivedRequest) -> Reply:
        self.arrived.set()
        self.released.wait(10)
        return Reply(200)

    def release(self) -> None:
        self.released.set()

    def stop(self) -> None:
        self.release()
        self.server.stop()


def test_reset_does_not_wait_for_a_delivery_in_flight_nor_record_it_afterwards(
    mockserver: MockServer, tamio: Tamio, control: str, receiver: WebhookReceiver
) -> None:
    held = HeldReceiver()
    try:
        requests.post(
            f"{control}/webhooks/endpoints", json={"api": "tamio", "url": held.url}, timeout=5
        )
        tamio.create(tamio_customer("Ann", "ann@example.com"))
        assert held.arrived.wait(5), "the delivery never arrived"

        started = time.monotonic()
        assert requests.post(f"{control}/reset", timeout=10).status_code == 200
        assert time.monotonic() - started < 2.0, "reset waited for the receiver"
        held.release()  # the attempt ends after the reset: its delivery is gone

        register(control, receiver)
        tamio.create(tamio_customer("Bob", "bob@example.com"))
        (delivery,) = receiver.wait_for(1)  # the worker runs again after the reset
        assert delivery.event["data"]["customer"]["email"] == "bob@example.com"
        time.sleep(0.2)
        mockserver.check()
        assert [d["status"] for d in deliveries(control)] == ["delivered"]
    finally:
        held.stop()


def test_an_endpoint_registered_for_one_account_gets_only_its_events(
    mockserver: MockServer, control: str, receiver: WebhookReceiver
) -> None:
    register(control, receiver, account="tok_mine")
    mine = Tamio(mockserver.base_url("tamio"), "tok_mine")
    theirs = Tamio(mockserver.base_url("tamio"), "tok_theirs")

    theirs.create(tamio_customer("Eve", "eve@example.com"))
    mine.create(tamio_customer("Ann", "ann@example.com"))

    (delivery,) = receiver.wait_for(1)
    assert delivery.event["data"]["customer"]["email"] == "ann@example.com"
    assert len(deliveries(control)) == 1
