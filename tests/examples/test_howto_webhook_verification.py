"""How to: receive Tamio's customer.created webhooks and verify their signature.

``mockserver.webhook_receiver()`` starts a local endpoint and registers it; every delivery it gets
is recorded and its ``Tamio-Signature`` checked. Your own receiver does the same check:
HMAC-SHA256 over ``"<t>.<raw body>"`` with the endpoint's secret, compared with ``s``.
"""

import hashlib
import hmac

import requests


def verify(secret: str, raw_body: bytes, header: str) -> bool:
    """What a receiver in your application does with the Tamio-Signature header."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + raw_body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["s"])


def test_signed_customer_created_event(mockserver):
    receiver = mockserver.webhook_receiver("tamio")

    requests.post(mockserver.base_url("tamio") + "/customers/create", timeout=5,
                  headers={"Authorization": "Bearer hooks"},
                  json={"name": "Anna", "email": "anna@example.de", "country": "de"})
    mockserver.flush_jobs()  # deliver now instead of waiting for the background worker

    [delivery] = receiver.wait_for(1)
    assert delivery.verified  # the receiver's own check
    assert verify(receiver.secret, delivery.body, delivery.headers["Tamio-Signature"])
    assert not verify(receiver.secret, delivery.body + b" ", delivery.headers["Tamio-Signature"])
    event = delivery.event
    assert event["event_type"] == "customer.created"
    assert event["event_id"].startswith("whev_")
    assert event["data"]["customer"]["email"] == "anna@example.de"


def test_failed_deliveries_are_retried(mockserver):
    receiver = mockserver.webhook_receiver("tamio")
    receiver.fail_next(1)  # the endpoint answers 500 once

    requests.post(mockserver.base_url("tamio") + "/customers/create", timeout=5,
                  headers={"Authorization": "Bearer hooks"},
                  json={"name": "Ben", "email": "ben@example.de", "country": "de"})

    # The background worker retries with a short backoff in tests; the same event arrives twice.
    first, second = receiver.wait_for(2, timeout=10)
    assert first.event["event_id"] == second.event["event_id"]
    deliveries = requests.get(mockserver.url + "/__mock/webhooks/deliveries", timeout=5).json()
    assert len(deliveries["deliveries"]) == 1  # one delivery, two attempts
