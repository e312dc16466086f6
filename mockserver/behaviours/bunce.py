"""Bunce (``/bunce/v1``): customers with duplicate-email partial failures.

The documented outcome of a bulk create: every item whose email already exists in the account
(case-insensitive) or repeats an earlier item of the batch, or whose customer_id is taken, fails
with ``"<value> is already taken"``; the others ARE created. When any item failed the answer is the
documented failure body with ``x-mock.conflict-status`` (409); otherwise the documented success
body. Check and insert happen in one atomic store operation, so racing requests (also across worker
processes) create an email once.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from mockserver.behaviours.registry import Call, Reply, behaviour, seeder
from mockserver.envelopes import Failure
from mockserver.ids import iso_now, iso_times, ulid, uuid7
from mockserver.services import Services
from mockserver.store.base import InsertOutcome, NewRecord, Scope

API = "bunce"


def new_customer(
    item: dict[str, Any], *, seeded: bool = False, created_at: str | None = None
) -> NewRecord:
    """The stored customer for one validated request item.

    An item needs ``email`` or ``customer_id`` (B2); without a ``customer_id`` the mock assigns a
    ULID, and without an ``email`` the customer has ``"email": null``. Only seeded customers
    (control API, data sets) may bring their own ``customer_created_at`` and ``device_id``s;
    from a request those extra fields are ignored (unknown fields are), since a client-chosen
    value would be stored unchecked and break every later answer.
    """
    customer_id = item.get("customer_id") or ulid()
    email = item.get("email")
    customer: dict[str, Any] = {
        "customer_id": customer_id,
        "first_name": item["first_name"],
        "last_name": item["last_name"],
        "email": email,
        "phone_no": item["phone_no"],
        "customer_created_at": (
            (seeded and item.get("customer_created_at")) or created_at or iso_now()
        ),
    }
    devices = item.get("devices")
    if devices:
        customer["devices"] = [
            {
                "device_id": (seeded and device.get("device_id")) or uuid7(),
                "device_type": device["device_type"],
                "device_token": device["device_token"],
            }
            for device in devices
        ]
    unique = {"email": email.lower()} if email is not None else {}
    return NewRecord(id=customer_id, data=customer, unique=unique)


def _taken(record: NewRecord, outcome: InsertOutcome) -> str:
    """``"<value> is already taken"``, naming the email as sent or the customer_id."""
    value = record.data["email"] if outcome.conflict == "email" else record.id
    return f"{value} is already taken"


@behaviour(API, "createCustomersBulk")
def create_customers_bulk(call: Call) -> Reply:
    # A bare array of customers, or {"customers": [...]}: the same rules and answers (B2).
    body = call.body
    items: list[dict[str, Any]] = body if isinstance(body, list) else body["customers"]
    scope = Scope(API, call.account)
    times = iso_times(len(items))
    records = [new_customer(i, created_at=t) for i, t in zip(items, times, strict=True)]
    outcomes = call.services.state.insert_batch(scope, records)
    errors = [_taken(r, o) for r, o in zip(records, outcomes, strict=True) if not o.created]
    if errors:
        message = (
            f"Errors encountered while creating. {len(errors)} out of {len(items)} customers failed"
        )
        failure = {"errors": errors, "message": message, "status": False}
        return Reply(call.spec.settings.conflict_status, failure)
    data = [o.record for o in outcomes]
    return Reply(200, {"data": data, "message": "Customers created successfully", "success": True})


@behaviour(API, "createCustomer")
def create_customer(call: Call) -> Reply | Failure:
    record = new_customer(call.body)
    (outcome,) = call.services.state.insert_batch(Scope(API, call.account), [record])
    if not outcome.created:
        message = _taken(record, outcome)
        return Failure("duplicate", call.spec.settings.conflict_status, message)
    return Reply(
        201, {"success": True, "message": "Customer created successfully", "data": outcome.record}
    )


@behaviour(API, "getCustomer")
def get_customer(call: Call) -> Reply | Failure:
    customer_id = call.params["customer_id"]
    found = call.services.state.get(Scope(API, call.account), customer_id)
    if found is None:
        return Failure("not-found", 404, f"Customer {customer_id} not found")
    return Reply(200, {"success": True, "message": "Customer fetched successfully", "data": found})


def encode_cursor(direction: str, seq: int) -> str:
    """An opaque cursor: unpadded base64url of ``{"seq":N,"dir":"next"|"prev"}``.

    The format of the cursors in the spec's examples, so a copied example is accepted.
    """
    text = orjson.dumps({"seq": seq, "dir": direction})
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int] | None:
    """``(direction, seq)`` of a cursor :func:`encode_cursor` made, or None for anything else."""
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:  # not base64, or not JSON
        return None
    if not isinstance(decoded, dict) or set(decoded) != {"seq", "dir"}:
        return None
    direction, seq = decoded["dir"], decoded["seq"]
    # Sequence numbers are non-negative 64-bit integers (SQLite's INTEGER); anything else was
    # not issued by the mock.
    if direction not in ("next", "prev") or type(seq) is not int or not 0 <= seq < 2**63:
        return None
    return direction, seq


def _split(value: Any) -> set[str] | None:
    if not value:
        return None
    return {part.strip() for part in str(value).split(",") if part.strip()}


@behaviour(API, "listCustomers")
def list_customers(call: Call) -> Reply | Failure:
    per_page = int(call.params.get("per_page", 20))
    state = call.services.state
    scope = Scope(API, call.account)
    after = before = None
    if call.params.get("cursor"):
        decoded = decode_cursor(str(call.params["cursor"]))
        if decoded is None:
            return Failure(
                "validation",
                call.spec.settings.validation_status,
                "cursor: not a cursor this API issued; use meta.next_page_cursor",
            )
        direction, seq = decoded
        after, before = (seq, None) if direction == "next" else (None, seq)
    ids = _split(call.params.get("customer_ids"))
    emails = _split(call.params.get("emails"))
    if ids is None and emails is None:
        page = state.page(scope, limit=per_page, after_seq=after, before_seq=before)
        records, has_prev, has_next = page.records, page.has_before, page.has_after
    else:
        lowered = {e.lower() for e in emails} if emails else None
        matching = [
            r
            for r in state.all(scope)
            if (ids is None or r.id in ids)
            and (lowered is None or str(r.data["email"] or "").lower() in lowered)
        ]
        if after is not None:
            start = next((i for i, r in enumerate(matching) if r.seq > after), len(matching))
            chosen = matching[start : start + per_page]
        elif before is not None:
            end = next((i for i, r in enumerate(matching) if r.seq >= before), len(matching))
            chosen = matching[max(0, end - per_page) : end]
        else:
            chosen = matching[:per_page]
        records = chosen
        has_prev = bool(chosen) and chosen[0].seq > matching[0].seq
        has_next = bool(chosen) and chosen[-1].seq < matching[-1].seq
    meta = {
        "has_next_page": has_next,
        "has_prev_page": has_prev,
        "next_page_cursor": (
            encode_cursor("next", records[-1].seq) if has_next and records else None
        ),
        "prev_page_cursor": encode_cursor("prev", records[0].seq) if has_prev and records else None,
        "per_page": per_page,
    }
    # The list in `data.data` and the cursors in `data.meta`, as the Node SDK reads them (B1).
    listed = {"data": [r.data for r in records], "meta": meta}
    message = "Customers fetched successfully"
    return Reply(200, {"success": True, "message": message, "data": listed})


@seeder(API)
def seed(services: Services, account: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Store customers given as JSON (the control API and data sets use this)."""
    required = ("first_name", "last_name", "phone_no")
    results: list[dict[str, Any]] = []
    records: list[NewRecord] = []
    positions: list[int] = []
    for index, item in enumerate(items):
        missing = [f for f in required if not isinstance(item.get(f), str)]
        if missing:
            results.append({"error": f"item {index}: missing or non-string {', '.join(missing)}"})
            continue
        keys = [item.get(f) for f in ("email", "customer_id")]
        if not any(isinstance(k, str) and k for k in keys) or any(
            k is not None and not isinstance(k, str) for k in keys
        ):
            problem = "needs a string email or customer_id (at least one)"
            results.append({"error": f"item {index}: {problem}"})
            continue
        devices = item.get("devices") or []
        fields = ("device_type", "device_token")
        if not isinstance(devices, list) or not all(
            isinstance(d, dict) and all(isinstance(d.get(f), str) for f in fields) for d in devices
        ):
            problem = "devices must be a list of {device_type, device_token}"
            results.append({"error": f"item {index}: {problem}"})
            continue
        positions.append(index)
        records.append(new_customer(item, seeded=True))
        results.append({})
    outcomes = services.state.insert_batch(Scope(API, account), records)
    for index, record, outcome in zip(positions, records, outcomes, strict=True):
        results[index] = (
            {"created": outcome.record} if outcome.created else {"error": _taken(record, outcome)}
        )
    return results
