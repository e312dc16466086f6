"""Webhook signing, endpoint matching, and real HTTP deliveries with retries and backoff."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson
import pytest
from shared import FakeClock

from mockserver import testing
from mockserver.errors import MockServerError
from mockserver.store import Delivery, State
from mockserver.webhooks import (
    DEFAULT_SIGNATURE_HEADER,
    EndpointError,
    SignatureError,
    WebhookDispatcher,
    is_valid_signature,
    sign,
    verify_signature,
)

SECRET = "whsec_test_secret"


# -- a real receiver -------------------------------------------------------------------------------
@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_problem: str | None  # None when verify_signature accepted it

    @property
    def json(self) -> dict[str, object]:
        parsed = orjson.loads(self.body)
        assert isinstance(parsed, dict)
        return parsed


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and verifies their signatures."""

    secret: str = SECRET
    fail_first: int = 0  # answer 500 to this many requests first
    status: int = 200  # then answer this
    delay_s: float = 0.0  # sleep before answering
    now: Callable[[], float] = time.time  # the verifier's clock
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: testing.ReceivedRequest) -> testing.Reply:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            header = headers.get(DEFAULT_SIGNATURE_HEADER.lower(), "")
            verify_signature(self.secret, request.body, header, now=self.now())
            problem = None
        except SignatureError as exc:
            problem = exc.reason
        with self._lock:
            self.requests.append(Received(request.path, headers, request.body, problem))
            n = len(self.requests)
        if self.delay_s:
            time.sleep(self.delay_s)
        code = 500 if n <= self.fail_first else self.status
        return testing.Reply.json(code, {"ok": code < 300})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    with testing.Receiver(rec.answer, path="/hooks/tamio") as server:
        rec.url = server.url
        yield rec


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def only_delivery(state: State) -> Delivery:
    [delivery] = state.deliveries.list()
    return delivery


# -- signing ---------------------------------------------------------------------------------------
BODY = b'{"event_type":"customer.created","data":{"customer":{"id":"c1"}}}'
TS = 1_700_000_000


def test_sign_has_the_documented_shape_and_signs_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    header = sign(SECRET, BODY, TS)
    expected = hmac.new(SECRET.encode(), f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={TS},s={expected}"
    assert re.fullmatch(r"t=\d+,s=[0-9a-f]{64}", header)


def test_sign_verify_round_trip() -> None:
    header = sign(SECRET, BODY, TS)
    verify_signature(SECRET, BODY, header, now=TS + 1)  # does not raise
    assert is_valid_signature(SECRET, BODY, header, now=TS)
    assert is_valid_signature(SECRET, BODY, header, now=TS + 300)  # exactly 5 minutes is fine
    assert is_valid_signature(SECRET, BODY, sign(SECRET, BODY, int(time.time())))  # real clock


@pytest.mark.parametrize(
    ("secret", "body", "now", "reason"),
    [
        (SECRET, BODY + b" ", TS, "does not match"),  # tampered body
        (SECRET, BODY.replace(b"c1", b"c2"), TS, "does not match"),
        ("whsec_other", BODY, TS, "does not match"),  # wrong secret
        (SECRET, BODY, TS + 301, "s old, beyond the 300 s tolerance"),  # stale
        (SECRET, BODY, TS + 3600, "s old, beyond the 300 s tolerance"),
        (SECRET, BODY, TS - 301, "in the future"),
    ],
    ids=["tampered-space", "tampered-value", "wrong-secret", "stale", "stale-hour", "future"],
)
def test_verify_rejects(secret: str, body: bytes, now: float, reason: str) -> None:
    header = sign(SECRET, BODY, TS)
    with pytest.raises(SignatureError) as info:
        verify_signature(secret, body, header, now=now)
    assert reason in info.value.reason
    assert isinstance(info.value, MockServerError)
    assert not is_valid_signature(secret, body, header, now=now)


def test_tolerance_is_configurable() -> None:
    header = sign(SECRET, BODY, TS)
    assert not is_valid_signature(SECRET, BODY, header, now=TS + 11, tolerance_s=10)
    assert is_valid_signature(SECRET, BODY, header, now=TS + 1000, tolerance_s=1000)


GOOD_SIG = sign(SECRET, BODY, TS).split(",s=")[1]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        "garbage",
        f"s={GOOD_SIG}",  # no timestamp
        f"t={TS}",  # no signature
        f"t=abc,s={GOOD_SIG}",  # timestamp not an integer
        f"t=-5,s={GOOD_SIG}",
        f"t={TS},s=nothex",
        f"t={TS},s={GOOD_SIG[:-2]}",  # too short
        f"t={TS},t={TS},s={GOOD_SIG}",  # twice
        f"t={TS};s={GOOD_SIG}",  # wrong separator
        f"{TS},{GOOD_SIG}",  # no keys
    ],
)
def test_malformed_headers_are_rejected(header: str) -> None:
    with pytest.raises(SignatureError, match="malformed header") as info:
        verify_signature(SECRET, BODY, header, now=TS)
    assert info.value.reason.startswith("malformed header")
    assert not is_valid_signature(SECRET, BODY, header, now=TS)


def test_verify_tolerates_spaces_unknown_keys_and_several_signatures() -> None:
    good = GOOD_SIG
    other = sign("whsec_old", BODY, TS).split(",s=")[1]
    assert is_valid_signature(SECRET, BODY, f" t={TS} , s={good} ", now=TS)
    assert is_valid_signature(SECRET, BODY, f"t={TS},v0=whatever,s={other},s={good}", now=TS)
    assert is_valid_signature(SECRET, BODY, f"t={TS},s={good.upper()}", now=TS)
    assert not is_valid_signature(SECRET, BODY, f"t={TS},s={other}", now=TS)


# -- endpoints and matching ------------------------------------------------------------------------
def test_register_generates_a_secret_and_stores_the_endpoint(state: State) -> None:
    dispatcher = WebhookDispatcher(state)
    endpoint = dispatcher.register("tamio", "https://example.test/hook")

    assert re.fullmatch(r"whsec_[0-9a-f]{48}", endpoint.secret)
    assert endpoint.events == ["*"] and endpoint.account is None
    [stored] = state.endpoints.list("tamio")
    assert (stored.id, stored.url, stored.secret) == (endpoint.id, endpoint.url, endpoint.secret)
    other = dispatcher.register("tamio", "http://127.0.0.1:9/x", secret="whsec_given")
    assert other.secret == "whsec_given" and other.id != endpoint.id


@pytest.mark.parametrize(
    "url",
    ["ftp://example.test/hook", "example.test/hook", "/relative", "http://", "http://h:notaport/"],
)
def test_register_refuses_non_http_urls(state: State, url: str) -> None:
    with pytest.raises(EndpointError, match="URL"):
        WebhookDispatcher(state).register("tamio", url)
    assert state.endpoints.list() == []


def test_register_refuses_empty_events_and_secret(state: State) -> None:
    dispatcher = WebhookDispatcher(state)
    with pytest.raises(EndpointError, match="events"):
        dispatcher.register("tamio", "http://127.0.0.1/x", events=[])
    with pytest.raises(EndpointError, match="secret"):
        dispatcher.register("tamio", "http://127.0.0.1/x", secret="")


def test_emit_matches_endpoints_by_api_account_and_event(state: State) -> None:
    dispatcher = WebhookDispatcher(state)
    url = "http://127.0.0.1:9/hook"
    everything = dispatcher.register("tamio", url)
    created_a1 = dispatcher.register("tamio", url, events=["customer.created"], account="a1")
    updated = dispatcher.register("tamio", url, events=["customer.updated"])
    both = dispatcher.register("tamio", url, events=["customer.created", "customer.updated"])
    dispatcher.register("bunce", url)  # another API never gets Tamio events

    def targets(account: str, event_type: str) -> set[str]:
        deliveries = dispatcher.emit("tamio", account, event_type, {"customer": {"id": "c"}})
        return {d.endpoint_id for d in deliveries}

    assert targets("a1", "customer.created") == {everything.id, created_a1.id, both.id}
    assert targets("a2", "customer.created") == {everything.id, both.id}
    assert targets("a1", "customer.updated") == {everything.id, updated.id, both.id}
    assert targets("a1", "customer.deleted") == {everything.id}
    assert dispatcher.emit("other-api", "a1", "customer.created", {}) == []
    assert len(state.deliveries.list()) == 3 + 2 + 3 + 1


def test_emit_builds_the_event_envelope(state: State, clock: FakeClock) -> None:
    dispatcher = WebhookDispatcher(state, clock=clock)
    e1 = dispatcher.register("tamio", "http://127.0.0.1:9/a")
    e2 = dispatcher.register("tamio", "http://127.0.0.1:9/b")
    data = {"customer": {"id": "6e6edb99", "source": "import"}}

    deliveries = dispatcher.emit("tamio", "acct", "customer.created", data)

    assert {d.endpoint_id for d in deliveries} == {e1.id, e2.id}
    for delivery in deliveries:
        event = delivery.event
        assert re.fullmatch(r"whev_[a-z0-9]{17}", event["event_id"])
        assert event == {
            "event_id": event["event_id"],
            "event_type": "customer.created",
            "api_version": 2,
            "object": "event",
            "data": data,
            "endpoint_id": delivery.endpoint_id,
        }
        assert (delivery.status, delivery.due_at, delivery.attempts) == ("pending", clock.now, [])
    assert deliveries[0].event["event_id"] == deliveries[1].event["event_id"]  # one event
    stored = {d.id: d for d in state.deliveries.list()}
    assert {d.id for d in deliveries} == set(stored)
    assert stored[deliveries[0].id].event == deliveries[0].event
    assert state.deliveries.next_due() == clock.now


# -- delivery --------------------------------------------------------------------------------------
def test_a_delivery_is_posted_signed_and_marked_delivered(state: State, receiver: Receiver) -> None:
    dispatcher = WebhookDispatcher(state)
    endpoint = dispatcher.register("tamio", receiver.url + "?src=mock", secret=SECRET)
    [delivery] = dispatcher.emit("tamio", "acct", "customer.created", {"customer": {"id": "c1"}})

    assert dispatcher.deliver_due() == 1

    [req] = receiver.requests
    assert req.signature_problem is None
    assert req.path == "/hooks/tamio?src=mock"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["user-agent"] == "mockserver-webhooks/1"
    assert req.body == orjson.dumps(delivery.event)
    assert req.json["endpoint_id"] == endpoint.id
    stored = only_delivery(state)
    assert stored.status == "delivered"
    [attempt] = stored.attempts
    assert attempt.status == 200 and attempt.error is None and attempt.duration_ms >= 0
    assert dispatcher.deliver_due() == 0  # nothing left


def test_signature_header_name_and_user_agent_are_configurable(
    state: State, receiver: Receiver
) -> None:
    dispatcher = WebhookDispatcher(state, signature_header="X-Sig", user_agent="ua/9")
    dispatcher.register("tamio", receiver.url, secret=SECRET)
    dispatcher.emit("tamio", "a", "customer.created", {})
    dispatcher.deliver_due()
    [req] = receiver.requests
    assert DEFAULT_SIGNATURE_HEADER.lower() not in req.headers
    assert req.headers["user-agent"] == "ua/9"
    verify_signature(SECRET, req.body, req.headers["x-sig"])


def test_each_api_signs_in_its_own_header(state: State, receiver: Receiver) -> None:
    dispatcher = WebhookDispatcher(state)
    dispatcher.signature_headers.update({"shop": "Shop-Signature", "crm": "Crm-Signature"})
    for api in ("shop", "crm", "plain"):
        dispatcher.register(api, receiver.url, secret=SECRET)
        dispatcher.emit(api, "a", "customer.created", {"api": api})
    dispatcher.deliver_due()
    signed_in = {
        orjson.loads(r.body)["data"]["api"]: [h for h in r.headers if h.endswith("signature")]
        for r in receiver.requests
    }
    assert signed_in == {
        "shop": ["shop-signature"],
        "crm": ["crm-signature"],
        "plain": [DEFAULT_SIGNATURE_HEADER.lower()],  # an API that names no header
    }


def test_failing_twice_then_succeeding_is_retried_and_ends_delivered(
    state: State, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.fail_first = 2
    receiver.now = clock
    dispatcher = WebhookDispatcher(
        state, clock=clock, backoff_base_s=1.0, backoff_factor=2.0, backoff_cap_s=30.0
    )
    dispatcher.register("tamio", receiver.url, secret=SECRET)
    dispatcher.emit("tamio", "acct", "customer.created", {"customer": {"id": "c1"}})
    t0 = clock.now

    assert dispatcher.deliver_due() == 1
    assert (only_delivery(state).status, only_delivery(state).due_at) == ("pending", t0 + 1)
    assert dispatcher.deliver_due() == 0  # backoff not over
    clock.advance(1)
    assert dispatcher.deliver_due() == 1
    assert (only_delivery(state).status, only_delivery(state).due_at) == ("pending", t0 + 1 + 2)
    clock.advance(1.5)
    assert dispatcher.deliver_due() == 0
    clock.advance(0.5)
    assert dispatcher.deliver_due() == 1

    delivery = only_delivery(state)
    assert delivery.status == "delivered"
    assert [a.status for a in delivery.attempts] == [500, 500, 200]
    assert [a.at for a in delivery.attempts] == [t0, t0 + 1, t0 + 3]
    assert delivery.attempts[0].error == "endpoint answered HTTP 500 Internal Server Error"
    assert delivery.attempts[2].error is None
    assert len(receiver.requests) == 3
    assert all(r.signature_problem is None for r in receiver.requests)
    assert len({r.json["event_id"] for r in receiver.requests}) == 1  # the same event each time
    signatures = {r.headers[DEFAULT_SIGNATURE_HEADER.lower()] for r in receiver.requests}
    assert len(signatures) == 3  # signed anew


def test_never_2xx_fails_after_max_attempts_with_growing_capped_backoff(
    state: State, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.status = 503
    receiver.now = clock
    dispatcher = WebhookDispatcher(
        state,
        clock=clock,
        max_attempts=6,
        backoff_base_s=1.0,
        backoff_factor=2.0,
        backoff_cap_s=5.0,
    )
    dispatcher.register("tamio", receiver.url, secret=SECRET)
    dispatcher.emit("tamio", "acct", "customer.created", {})

    waits: list[float] = []
    for _ in range(5):
        before = clock.now
        assert dispatcher.deliver_due() == 1
        delivery = only_delivery(state)
        assert delivery.status == "pending"
        waits.append(delivery.due_at - before)
        clock.now = delivery.due_at
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]  # 8 and 16 capped at 5

    assert dispatcher.deliver_due() == 1  # the 6th attempt is the last
    delivery = only_delivery(state)
    assert delivery.status == "failed"
    assert [a.status for a in delivery.attempts] == [503] * 6
    assert all(a.error and "HTTP 503" in a.error for a in delivery.attempts)
    assert state.deliveries.next_due() is None
    clock.advance(3600)
    assert dispatcher.deliver_due() == 0
    assert len(receiver.requests) == 6


def test_backoff_formula() -> None:
    from mockserver.store import MemoryState

    d = WebhookDispatcher(MemoryState(), backoff_base_s=0.5, backoff_factor=2, backoff_cap_s=30)
    assert [d.backoff(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_connection_refused_is_a_failed_attempt_with_error_text(
    state: State, clock: FakeClock
) -> None:
    dispatcher = WebhookDispatcher(state, clock=clock, max_attempts=2, backoff_base_s=1)
    dispatcher.register("tamio", f"http://127.0.0.1:{closed_port()}/hook")
    dispatcher.emit("tamio", "acct", "customer.created", {})

    assert dispatcher.deliver_due() == 1
    delivery = only_delivery(state)
    assert delivery.status == "pending" and delivery.due_at == clock.now + 1
    [attempt] = delivery.attempts
    assert attempt.status is None
    assert attempt.error is not None and "ConnectionRefusedError" in attempt.error

    clock.advance(1)
    assert dispatcher.deliver_due() == 1
    delivery = only_delivery(state)
    assert delivery.status == "failed"
    assert [a.status for a in delivery.attempts] == [None, None]


def test_a_slow_receiver_times_out(state: State, receiver: Receiver) -> None:
    receiver.delay_s = 1.0
    dispatcher = WebhookDispatcher(state, timeout_s=0.2, max_attempts=1)
    dispatcher.register("tamio", receiver.url, secret=SECRET)
    dispatcher.emit("tamio", "acct", "customer.created", {})

    started = time.monotonic()
    assert dispatcher.deliver_due() == 1
    assert time.monotonic() - started < 0.9

    delivery = only_delivery(state)
    assert delivery.status == "failed"
    [attempt] = delivery.attempts
    assert attempt.status is None
    assert attempt.error is not None and "timed out" in attempt.error


def test_flush_ignores_backoff_and_retries_until_delivered(
    state: State, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    dispatcher = WebhookDispatcher(state, backoff_base_s=60, backoff_cap_s=600)
    dispatcher.register("tamio", receiver.url, secret=SECRET)
    dispatcher.emit("tamio", "acct", "customer.created", {})
    dispatcher.emit("tamio", "acct", "customer.updated", {})

    started = time.monotonic()
    assert dispatcher.flush() == 4  # both answered 500 once, then 200
    assert time.monotonic() - started < 3

    assert sorted(d.status for d in state.deliveries.list()) == ["delivered", "delivered"]
    attempts = sorted([a.status for a in d.attempts] for d in state.deliveries.list())
    assert attempts == [[500, 200]] * 2
    assert dispatcher.flush() == 0


def test_flush_ends_failing_deliveries_after_max_attempts(state: State, receiver: Receiver) -> None:
    receiver.status = 500
    dispatcher = WebhookDispatcher(state, max_attempts=3, backoff_base_s=60)
    dispatcher.register("tamio", receiver.url, secret=SECRET)
    dispatcher.emit("tamio", "acct", "customer.created", {})

    assert dispatcher.flush() == 3
    delivery = only_delivery(state)
    assert delivery.status == "failed"
    assert [a.status for a in delivery.attempts] == [500, 500, 500]


def test_flush_stops_at_its_timeout(state: State, receiver: Receiver) -> None:
    receiver.delay_s = 0.3
    dispatcher = WebhookDispatcher(state, max_attempts=100, backoff_base_s=60)
    dispatcher.register("tamio", receiver.url, secret=SECRET)
    receiver.status = 500
    dispatcher.emit("tamio", "acct", "customer.created", {})

    started = time.monotonic()
    made = dispatcher.flush(timeout_s=0.5)
    assert time.monotonic() - started < 1.5
    assert 1 <= made <= 3
    assert only_delivery(state).status == "pending"


def test_a_deleted_endpoint_fails_its_deliveries(state: State) -> None:
    dispatcher = WebhookDispatcher(state)
    endpoint = dispatcher.register("tamio", "http://127.0.0.1:9/hook")
    dispatcher.emit("tamio", "acct", "customer.created", {})
    assert state.endpoints.delete(endpoint.id)

    assert dispatcher.deliver_due() == 1
    delivery = only_delivery(state)
    assert delivery.status == "failed"
    assert delivery.attempts[0].error == "endpoint no longer registered"


def test_deliver_due_and_flush_never_raise(state: State, monkeypatch: pytest.MonkeyPatch) -> None:
    dispatcher = WebhookDispatcher(state)
    seen: list[BaseException] = []
    dispatcher.add_error_listener(seen.append)
    dispatcher.register("tamio", "http://127.0.0.1:9/hook")
    dispatcher.emit("tamio", "acct", "customer.created", {})

    def broken(now: float, limit: int = 10, **lease: float | None) -> list[Delivery]:
        raise RuntimeError("state is gone")

    monkeypatch.setattr(state.deliveries, "claim_due", broken)
    assert dispatcher.deliver_due() == 0
    assert dispatcher.flush(timeout_s=0.5) == 0
    assert [str(e) for e in seen] == ["state is gone", "state is gone"]


def test_dispatcher_settings_are_checked(state: State) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        WebhookDispatcher(state, max_attempts=0)
    with pytest.raises(ValueError, match="backoff"):
        WebhookDispatcher(state, backoff_factor=0.5)
    with pytest.raises(ValueError, match="timeout"):
        WebhookDispatcher(state, timeout_s=0)
