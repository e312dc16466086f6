"""Webhook endpoints, signed event deliveries and retries.

Events are delivered by a real HTTP ``POST`` of the JSON event to each matching endpoint. Every
attempt is signed with the endpoint's secret in a header each API names (its spec's
``x-mock.webhooks.signature-header``, else its pack's default, else ``Webhook-Signature``)::

    <Signature-Header>: t=<unix seconds>,s=<hex HMAC-SHA256 of "<t>.<raw body>">

A complete 2xx answer marks the delivery ``delivered``. Anything else (another status, a refused
connection, no complete answer within the attempt's deadline of ``timeout_s`` seconds for the
whole request and response) is a failed attempt: the delivery is retried after a bounded
exponential backoff, ``min(cap, base * factor ** (attempt - 1))`` seconds, and marked ``failed``
after ``max_attempts``. Every attempt (status, duration, error text) is recorded in the state.

Each claimed delivery is leased (``lease_s``): an attempt is recorded only under the claim it
was made with, and a delivery whose sender died is claimed and attempted again when its lease
ends (a receiver may see an event twice only then, with the same ``event_id``). A job's events
get ids derived from the job and a key (the created customer's id), so a re-run of the job
stores each delivery once.

:func:`verify_signature` is what a receiver (or the mock's own verify-signature operation) uses to
check a delivery.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import logging
import math
import re
import secrets
import socket
import string
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import orjson

from mockserver.errors import MockServerError
from mockserver.inflight import InFlight
from mockserver.store import DEFAULT_LEASE_S, JSON, Attempt, Delivery, Endpoint, State

__all__ = [
    "DEFAULT_SIGNATURE_HEADER",
    "EndpointError",
    "SignatureError",
    "WebhookDispatcher",
    "is_valid_signature",
    "new_event_id",
    "sign",
    "verify_signature",
]

logger = logging.getLogger("mockserver.webhooks")

DEFAULT_TOLERANCE_S = 300
"""Signatures whose timestamp is more than 5 minutes away are rejected."""

DEFAULT_SIGNATURE_HEADER = "Webhook-Signature"
"""The header a delivery's signature travels in when its API names none."""

_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
_EVENT_ID_ALPHABET = string.ascii_lowercase + string.digits
_CLAIM_BATCH = 10
_MAX_RESPONSE_BYTES = 64 * 1024


class SignatureError(MockServerError):
    """A webhook signature header failed verification; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid webhook signature: {reason}")


class EndpointError(MockServerError, ValueError):
    """A webhook endpoint cannot be registered as given (bad URL, event list or secret)."""


# -- signing -------------------------------------------------------------------------------------
def _digest(secret: str, body: bytes, timestamp: int) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``: ``"t=<ts>,s=<hex>"``.

    ``s`` is the hex HMAC-SHA256, keyed with ``secret``, of ``"<timestamp>.<raw body>"``.
    """
    return f"t={int(timestamp)},s={_digest(secret, body, int(timestamp))}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    if not isinstance(header, str) or not header.strip():
        raise SignatureError("malformed header: empty, expected 't=<unix>,s=<hex>'")
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise SignatureError(f"malformed header: {part.strip()!r} is not key=value")
        if key == "t":
            if timestamp is not None:
                raise SignatureError("malformed header: 't' appears more than once")
            if not value.isascii() or not value.isdigit():
                raise SignatureError(f"malformed header: timestamp {value!r} is not an integer")
            timestamp = int(value)
        elif key == "s":
            if not _HEX_SIGNATURE.fullmatch(value):
                raise SignatureError(
                    "malformed header: signature is not 64 hex characters (HMAC-SHA256)"
                )
            signatures.append(value.lower())
        # Other keys are ignored, so a future scheme can be added beside 's'.
    if timestamp is None:
        raise SignatureError("malformed header: no timestamp 't=<unix>'")
    if not signatures:
        raise SignatureError("malformed header: no signature 's=<hex>'")
    return timestamp, signatures


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Check a signature header against the raw ``body``; raise :class:`SignatureError` if bad.

    Rejected: a malformed header, a signature that does not match (compared in constant time;
    any of several ``s=`` values may match, to allow secret rotation), and a timestamp more than
    ``tolerance_s`` seconds before or after ``now`` (default: the current time).
    """
    timestamp, signatures = _parse_header(header)
    expected = _digest(secret, body, timestamp).encode("ascii")
    matched = False
    for candidate in signatures:
        # No early exit: every candidate is compared, each in constant time.
        matched |= hmac.compare_digest(expected, candidate.encode("ascii"))
    if not matched:
        raise SignatureError("signature does not match the body and the endpoint's secret")
    current = time.time() if now is None else now
    age = current - timestamp
    if age > tolerance_s:
        raise SignatureError(
            f"timestamp {timestamp} is {int(age)} s old, beyond the {tolerance_s} s tolerance"
        )
    if -age > tolerance_s:
        raise SignatureError(
            f"timestamp {timestamp} is {int(-age)} s in the future, "
            f"beyond the {tolerance_s} s tolerance"
        )


def is_valid_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True when :func:`verify_signature` accepts the header, False otherwise."""
    try:
        verify_signature(secret, body, header, tolerance_s=tolerance_s, now=now)
    except SignatureError:
        return False
    return True


def new_event_id(derived_from: str | None = None) -> str:
    """An event id: ``"whev_"`` followed by 17 ``[a-z0-9]`` characters.

    Random, or with ``derived_from`` always the same for the same text (a job's events).
    """
    if derived_from is None:
        return "whev_" + "".join(secrets.choice(_EVENT_ID_ALPHABET) for _ in range(17))
    number = int.from_bytes(hashlib.sha256(derived_from.encode("utf-8")).digest(), "big")
    chars = []
    for _ in range(17):
        number, index = divmod(number, len(_EVENT_ID_ALPHABET))
        chars.append(_EVENT_ID_ALPHABET[index])
    return "whev_" + "".join(chars)


# -- dispatching ---------------------------------------------------------------------------------
class WebhookDispatcher:
    """Registers endpoints, turns events into deliveries and POSTs them with retries.

    All bookkeeping lives in ``state`` (so every attempt is visible through the control API and
    several processes can share the work); ``deliveries.claim_due`` gives each due delivery to
    exactly one caller. Backoff and timeout settings are in seconds. Each API's deliveries are
    signed in the header :attr:`signature_headers` names for it (``signature_header`` for the
    others).
    """

    def __init__(
        self,
        state: State,
        *,
        signature_header: str = DEFAULT_SIGNATURE_HEADER,
        max_attempts: int = 5,
        backoff_base_s: float = 0.5,
        backoff_factor: float = 2.0,
        backoff_cap_s: float = 30.0,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        user_agent: str = "mockserver-webhooks/1",
        lease_s: float = DEFAULT_LEASE_S,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts!r}")
        if backoff_base_s < 0 or backoff_cap_s < 0 or backoff_factor < 1:
            raise ValueError(
                "backoff needs base >= 0, cap >= 0 and factor >= 1; got "
                f"base={backoff_base_s!r}, cap={backoff_cap_s!r}, factor={backoff_factor!r}"
            )
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        if lease_s <= timeout_s:
            raise ValueError(
                f"lease_s ({lease_s!r}) must be longer than an attempt's timeout_s ({timeout_s!r})"
            )
        self._state = state
        self.lease_s = lease_s
        self._held: set[str] = set()  # claims this dispatcher holds (claimed, not recorded)
        self._held_lock = threading.Lock()
        self.signature_header = signature_header
        self.signature_headers: dict[str, str] = {}
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_factor = backoff_factor
        self.backoff_cap_s = backoff_cap_s
        self.timeout_s = timeout_s
        self.user_agent = user_agent
        self._clock = clock
        self._error_listeners: list[Callable[[BaseException], None]] = []
        self._emit_listeners: list[Callable[[], None]] = []
        # Deliveries being sent by this instance right now, so flush() can wait for the worker's.
        self._inflight = InFlight()

    @property
    def state(self) -> State:
        """The state the endpoints and deliveries live in."""
        return self._state

    def add_error_listener(self, listener: Callable[[BaseException], None]) -> None:
        """Call ``listener(exc)`` on an internal error (a bug or a broken state, not a failed
        delivery: those are recorded as attempts)."""
        self._error_listeners.append(listener)

    def add_emit_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after :meth:`emit` created deliveries (a worker uses it to wake)."""
        self._emit_listeners.append(listener)

    def header_for(self, api: str) -> str:
        """The header ``api``'s deliveries carry their signature in."""
        return self.signature_headers.get(api, self.signature_header)

    def only_api(self) -> str:
        """The API an endpoint is for when none is named: the one API that sends webhooks
        (:attr:`signature_headers`); :class:`EndpointError` when there are none or several."""
        senders = sorted(self.signature_headers)
        if len(senders) != 1:
            listed = ", ".join(senders) or "none"
            raise EndpointError(
                f"name the API the endpoint is for; the APIs that send webhooks: {listed}"
            )
        return senders[0]

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), capped."""
        return float(
            min(self.backoff_cap_s, self.backoff_base_s * self.backoff_factor ** (attempt - 1))
        )

    # -- endpoints ---------------------------------------------------------------------------------
    def register(
        self,
        api: str,
        url: str,
        events: Sequence[str] = ("*",),
        secret: str | None = None,
        account: str | None = None,
    ) -> Endpoint:
        """Register an endpoint receiving ``events`` (``"*"``: all) of ``api``.

        With ``account`` set, only that account's events are sent to it. A secret
        (``"whsec_"`` + 48 hex characters) is generated when none is given. Raises
        :class:`EndpointError` for a URL that is not absolute http(s), an empty event list or an
        empty secret.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EndpointError(
                f"webhook URL {url!r} must be an absolute http:// or https:// URL with a host"
            )
        try:
            _ = parts.port
        except ValueError as exc:
            raise EndpointError(f"webhook URL {url!r} has an invalid port: {exc}") from None
        if isinstance(events, str):
            events = [events]
        event_list = [str(e) for e in events]
        if not event_list or any(not e for e in event_list):
            raise EndpointError("events must list at least one event type (or '*' for all)")
        if secret is not None and not secret:
            raise EndpointError("secret must not be empty (omit it to have one generated)")
        endpoint = Endpoint(
            id=str(uuid.uuid4()),
            api=api,
            url=url,
            secret=secret if secret is not None else "whsec_" + secrets.token_hex(24),
            events=event_list,
            account=account,
            created_at=self._clock(),
        )
        self._state.endpoints.add(endpoint)
        return endpoint

    def matching_endpoints(self, api: str, account: str, event_type: str) -> list[Endpoint]:
        """Endpoints of ``api`` that take ``event_type`` events of ``account``."""
        return [
            ep
            for ep in self._state.endpoints.list(api)
            if ep.api == api
            and (ep.account is None or ep.account == account)
            and (event_type in ep.events or "*" in ep.events)
        ]

    # -- events ------------------------------------------------------------------------------------
    def emit(
        self,
        api: str,
        account: str,
        event_type: str,
        data: JSON,
        *,
        job_id: str | None = None,
        key: str | None = None,
    ) -> list[Delivery]:
        """Create one pending delivery, due now, per endpoint matching the event.

        ``job_id``: an event a background job emits is stored only while the job runs (a reset
        removes it), so a reset cannot let an old import's events reach the next test's
        endpoints (:class:`~mockserver.store.JobGone` is raised instead). With ``key``
        too (unique within the job), the event and delivery ids derive from the job and the
        key, so a re-run of the job stores nothing twice.

        Each carries the event envelope ``{"event_id", "event_type", "api_version": 2,
        "object": "event", "data", "endpoint_id"}``; all deliveries of one emit share the
        ``event_id``. Returns the deliveries (empty when no endpoint matches).
        """
        endpoints = self.matching_endpoints(api, account, event_type)
        if not endpoints:
            return []
        once = f"{job_id}/{key}" if job_id is not None and key is not None else None
        event_id = new_event_id(once)
        now = self._clock()
        created: list[Delivery] = []
        for endpoint in endpoints:
            event: JSON = {
                "event_id": event_id,
                "event_type": event_type,
                "api_version": 2,
                "object": "event",
                "data": data,
                "endpoint_id": endpoint.id,
            }
            delivery = Delivery(
                id="whdel_"
                + (
                    uuid.uuid4().hex
                    if once is None
                    else hashlib.sha256(f"{once}/{endpoint.id}".encode()).hexdigest()[:32]
                ),
                endpoint_id=endpoint.id,
                event=event,
                due_at=now,
                created_at=now,
            )
            self._state.deliveries.add(delivery, job_id=job_id)
            created.append(delivery)
        for listener in list(self._emit_listeners):
            try:
                listener()
            except Exception:
                logger.exception("webhook emit listener failed")
        return created

    # -- leases ------------------------------------------------------------------------------------
    def held_claims(self) -> list[str]:
        """The claims of the deliveries this dispatcher has claimed and not recorded yet."""
        with self._held_lock:
            return list(self._held)

    def release_held(self) -> int:
        """Hand back every delivery this dispatcher holds (a stop); returns how many went back.

        An attempt still under way is recorded when it ends, unless another claim took the
        delivery meanwhile."""
        with self._held_lock:
            claims, self._held = list(self._held), set()
        return self._state.leases.release(claims) if claims else 0

    # -- delivering --------------------------------------------------------------------------------
    def claim(
        self, limit: int = _CLAIM_BATCH, now: float | None = None, *, due_by: float | None = None
    ) -> list[Delivery]:
        """Claim up to ``limit`` due deliveries (held until :meth:`send` records them)."""
        at = self._clock() if now is None else now
        claimed = self._state.deliveries.claim_due(
            at, limit=limit, lease_s=self.lease_s, due_by=due_by
        )
        with self._held_lock:
            self._held.update(d.claim for d in claimed if d.claim is not None)
        return claimed

    def send(self, delivery: Delivery, now: float | None = None) -> bool:
        """Make one attempt at a claimed delivery and record it; True when an attempt was made.

        Never raises: internal errors are logged and passed to the error listeners.
        """
        with self._inflight.track():
            try:
                endpoint = next(
                    (e for e in self._state.endpoints.list() if e.id == delivery.endpoint_id), None
                )
                self._attempt(delivery, endpoint, now)
                return True
            except Exception as exc:
                self._internal_error(exc, f"delivery {delivery.id} could not be recorded")
                return False
            finally:
                with self._held_lock:
                    self._held.discard(delivery.claim or "")

    def deliver_due(self, now: float | None = None) -> int:
        """POST every delivery due at ``now`` (default: the clock); returns the attempts made.

        Never raises: network failures become recorded attempts, internal errors are logged and
        passed to the error listeners.
        """
        try:
            return self._deliver_claimed(now, None)
        except Exception as exc:
            self._internal_error(exc, "delivering webhooks failed")
            return 0

    def flush(self, timeout_s: float = 10.0) -> int:
        """Deliver everything pending now, ignoring backoff waits, until each delivery is
        delivered or failed (or ``timeout_s`` passes). Returns the attempts made.

        Deliveries whose sender's lease ended are attempted too; deliveries that another thread
        of this process is sending are waited for, since they may come back for a retry.
        """
        deadline = time.monotonic() + timeout_s
        made = 0
        waited = False
        try:
            while time.monotonic() < deadline:
                count = self._deliver_claimed(None, deadline, due_by=math.inf)
                made += count
                if count:
                    waited = False
                    continue
                if waited or not self._wait_idle(deadline):
                    break
                waited = True  # look once more: what we waited for may be due for a retry
        except Exception as exc:
            self._internal_error(exc, "flushing webhooks failed")
        return made

    def _wait_idle(self, deadline: float) -> bool:
        return self._inflight.wait_idle(deadline)

    def _deliver_claimed(
        self, now: float | None, deadline: float | None, *, due_by: float | None = None
    ) -> int:
        made = 0
        while deadline is None or time.monotonic() < deadline:
            claimed = self.claim(_CLAIM_BATCH, now, due_by=due_by)
            if not claimed:
                break
            for delivery in claimed:
                made += self.send(delivery, now)
        return made

    def _attempt(self, delivery: Delivery, endpoint: Endpoint | None, now: float | None) -> None:
        started = self._clock()
        claim = delivery.claim
        if endpoint is None:
            attempt = Attempt(
                at=started, status=None, duration_ms=0.0, error="endpoint no longer registered"
            )
            self._state.deliveries.record_attempt(delivery.id, attempt, "failed", None, claim=claim)
            return
        body = orjson.dumps(delivery.event)
        headers = {
            "Content-Type": "application/json",
            self.header_for(endpoint.api): sign(endpoint.secret, body, int(started)),
            "User-Agent": self.user_agent,
        }
        status, error, duration_ms = self._post(endpoint.url, body, headers)
        attempt = Attempt(at=started, status=status, duration_ms=duration_ms, error=error)
        number = len(delivery.attempts) + 1
        if error is None and status is not None and 200 <= status < 300:
            outcome, next_due = "delivered", None
        elif number >= self.max_attempts:
            outcome, next_due = "failed", None
        else:
            base = self._clock() if now is None else now
            outcome, next_due = "pending", base + self.backoff(number)
        recorded = self._state.deliveries.record_attempt(
            delivery.id, attempt, outcome, next_due, claim=claim
        )
        if not recorded:
            logger.info(
                "attempt at delivery %s not recorded: a reset removed it or another claim holds it",
                delivery.id,
            )

    def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None, float]:
        """POST ``body``; returns (HTTP status or None, error text or None, duration in ms).

        The whole exchange (connect, send, the answer's head and up to 64 KiB of its body) has
        ``timeout_s`` seconds: a timer shuts the socket down when they pass, so a receiver that
        trickles its answer a byte at a time cannot hold the attempt (a socket timeout alone
        applies to each read, not to their sum).
        """
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn_cls = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        t0 = time.perf_counter()
        status: int | None = None
        error: str | None = None
        conn = conn_cls(parts.hostname or "", parts.port, timeout=self.timeout_s)
        expired = threading.Event()
        settled = threading.Lock()  # the answer is complete xor the deadline cut it

        def cut() -> None:
            with settled:
                expired.set()
                sock = conn.sock
                if sock is not None:
                    with contextlib.suppress(OSError):  # already closed
                        sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(self.timeout_s, cut)
        timer.daemon = True
        timer.start()
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            status = response.status
            response.read(_MAX_RESPONSE_BYTES)
            if not 200 <= status < 300:
                error = f"endpoint answered HTTP {status} {response.reason}".rstrip()
        except Exception as exc:  # refused, reset, timeout, TLS, DNS, bad response ...
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        finally:
            timer.cancel()
            with settled:
                cut_off = expired.is_set()
                conn.close()
        if cut_off:
            error = f"timed out: no complete answer within the attempt's {self.timeout_s:g} s"
        return status, error, round((time.perf_counter() - t0) * 1000.0, 3)

    def _internal_error(self, exc: BaseException, message: str) -> None:
        logger.error("%s: %s", message, exc, exc_info=exc)
        for listener in list(self._error_listeners):
            try:
                listener(exc)
            except Exception:
                logger.exception("webhook error listener failed")
