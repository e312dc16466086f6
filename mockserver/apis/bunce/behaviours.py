"""Bunce (``/bunce/v1``): customers with duplicate-email partial failures, updates and devices.

The documented outcome of a bulk create: every item whose email already exists in the account
(case-insensitive) or repeats an earlier item of the batch, or whose customer_id is taken, fails
with ``"<value> is already taken"``; the others ARE created. When any item failed the answer is the
documented failure body with ``x-mock.conflict-status`` (409); otherwise the documented success
body. Check and insert happen in one atomic store operation, so racing requests (also across worker
processes) create an email once. Updates (a customer's fields, its devices) are store changes
applied inside one critical section too, so an email is re-checked where it is written.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import orjson

from mockserver.envelopes import Failure
from mockserver.ids import iso_now, iso_times, ulid, uuid7
from mockserver.packs import Call, Reply
from mockserver.services import Services
from mockserver.store import (
    JSON,
    InsertOutcome,
    NewRecord,
    RecordChange,
    Revision,
    Scope,
    UpdateOutcome,
)
from mockserver.validation import SchemaValidator, Violation

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
    created_at = (seeded and item.get("customer_created_at")) or created_at or iso_now()
    customer: dict[str, Any] = {
        "customer_id": customer_id,
        "first_name": item["first_name"],
        "last_name": item["last_name"],
        "email": email,
        "phone_no": item["phone_no"],
        "customer_created_at": created_at,
    }
    devices = item.get("devices")
    if devices:
        customer["devices"] = [new_device(d, created_at, seeded=seeded) for d in devices]
    return NewRecord(id=customer_id, data=customer, unique=unique_keys(customer))


def new_device(device: dict[str, Any], created_at: str, *, seeded: bool = False) -> JSON:
    """A registered device: a fresh UUIDv7 ``device_id`` and the time it was registered (B7)."""
    return {
        "device_id": (seeded and device.get("device_id")) or uuid7(),
        "device_type": device["device_type"],
        "device_token": device["device_token"],
        "created_at": (seeded and device.get("created_at")) or created_at,
    }


def unique_keys(customer: JSON) -> dict[str, str]:
    """The customer's unique keys besides its id: the lower-cased email, when it has one."""
    email = customer.get("email")
    return {"email": email.lower()} if isinstance(email, str) else {}


def _taken(record: NewRecord, outcome: InsertOutcome) -> str:
    """``"<value> is already taken"``, naming the email as sent or the customer_id."""
    value = record.data["email"] if outcome.conflict == "email" else record.id
    return f"{value} is already taken"


def create_customers_bulk(call: Call) -> Reply:
    # A bare array of customers, or {"customers": [...]}: the same rules and answers (B2).
    body = call.body
    items: list[dict[str, Any]] = body if isinstance(body, list) else body["customers"]
    scope = Scope(API, call.account)
    times = iso_times(len(items))
    records = [new_customer(i, created_at=t) for i, t in zip(items, times, strict=True)]
    outcomes = call.services.state.records.insert_batch(scope, records)
    errors = [_taken(r, o) for r, o in zip(records, outcomes, strict=True) if not o.created]
    if errors:
        return _some_failed(call, "creating", errors, len(items))
    data = [o.record for o in outcomes]
    return Reply(200, {"data": data, "message": "Customers created successfully", "success": True})


def create_customer(call: Call) -> Reply | Failure:
    record = new_customer(call.body)
    (outcome,) = call.services.state.records.insert_batch(Scope(API, call.account), [record])
    if not outcome.created:
        message = _taken(record, outcome)
        return Failure("duplicate", call.spec.settings.conflict_status, message)
    return Reply(
        201, {"success": True, "message": "Customer created successfully", "data": outcome.record}
    )


def get_customer(call: Call) -> Reply | Failure:
    customer_id = call.params["customer_id"]
    found = call.services.state.records.get(Scope(API, call.account), customer_id)
    if found is None:
        return _not_found(customer_id)
    return Reply(200, {"success": True, "message": "Customer fetched successfully", "data": found})


# -- updates -------------------------------------------------------------------------------------
_EMAIL = SchemaValidator({"type": "string", "format": "email"})


def _some_failed(call: Call, doing: str, errors: list[str], total: int) -> Reply:
    """The documented partial-failure answer of a batch (the others were written)."""
    message = f"Errors encountered while {doing}. {len(errors)} out of {total} customers failed"
    failure = {"errors": errors, "message": message, "status": False}
    return Reply(call.spec.settings.conflict_status, failure)


class _Refusal:
    """Why a change left its customer as it was (set inside the store's critical section)."""

    __slots__ = ("failure",)

    def __init__(self) -> None:
        self.failure: Failure | None = None


def _change_devices(
    call: Call, customer_id: str, apply: Callable[[JSON], Revision | None], refusal: _Refusal
) -> Failure | None:
    """Run ``apply`` on the stored customer atomically; the failure to answer, or None."""
    (outcome,) = call.services.state.records.update_batch(
        Scope(API, call.account), [RecordChange(customer_id, apply)]
    )
    if not outcome.found:
        return _not_found(customer_id)
    return refusal.failure


def _register(customer: JSON, devices: list[dict[str, Any]], now: str) -> list[JSON]:
    """Add the devices whose token the customer does not have yet; returns the ones added."""
    registered = customer.setdefault("devices", [])
    tokens = {d["device_token"] for d in registered}
    added = []
    for device in devices:
        if device["device_token"] not in tokens:
            tokens.add(device["device_token"])
            added.append(new_device(device, now))
    registered.extend(added)
    if not registered:
        del customer["devices"]
    return added


def _updating(fields: dict[str, Any], now: str, *, email_if_invalid: bool = False) -> Any:
    """The store change for an update: the fields sent replace the stored ones (B5), devices
    are registered (B7), ``updated_at`` is set. With ``email_if_invalid`` (bulk update) the email
    replaces only a missing or invalid one, as the edit-bulk page says."""

    def apply(customer: JSON) -> Revision:
        for name in ("first_name", "last_name", "phone_no"):
            if name in fields:
                customer[name] = fields[name]
        email = fields.get("email")
        stored = customer.get("email")
        if email is not None and not (email_if_invalid and stored and _EMAIL.is_valid(stored)):
            customer["email"] = email
        if fields.get("devices"):
            _register(customer, fields["devices"], now)
        customer["updated_at"] = now
        return Revision(customer, unique_keys(customer))

    return apply


def _not_found(customer_id: str) -> Failure:
    return Failure("not-found", 404, f"Customer {customer_id} not found")


def update_customer(call: Call) -> Reply | Failure:
    customer_id = call.params["customer_id"]
    change = RecordChange(customer_id, _updating(call.body, iso_now()))
    (outcome,) = call.services.state.records.update_batch(Scope(API, call.account), [change])
    if not outcome.found:
        return _not_found(customer_id)
    if outcome.conflict is not None:
        message = f"{call.body['email']} is already taken"
        return Failure("duplicate", call.spec.settings.conflict_status, message)
    return Reply(
        200, {"success": True, "message": "Customer updated successfully", "data": outcome.record}
    )


def _update_error(item: dict[str, Any], outcome: UpdateOutcome) -> str | None:
    if not outcome.found:
        return f"{item['customer_id']} not found"
    if outcome.conflict is not None:
        return f"{item['email']} is already taken"
    return None


def update_customers_bulk(call: Call) -> Reply:
    items: list[dict[str, Any]] = call.body["customers"]
    now = iso_now()
    changes = [
        RecordChange(item["customer_id"], _updating(item, now, email_if_invalid=True))
        for item in items
    ]
    outcomes = call.services.state.records.update_batch(Scope(API, call.account), changes)
    errors = [e for i, o in zip(items, outcomes, strict=True) if (e := _update_error(i, o))]
    if errors:
        return _some_failed(call, "updating", errors, len(items))
    data = [o.record for o in outcomes]
    return Reply(200, {"success": True, "message": "Customers updated successfully", "data": data})


# -- devices -------------------------------------------------------------------------------------
def _token_taken(customer_id: str, token: str, status: int) -> Failure:
    message = f"Customer {customer_id} already has a device with device_token {token}"
    return Failure("duplicate", status, message)


def create_customer_devices(call: Call) -> Reply | Failure:
    customer_id = call.params["customer_id"]
    sent: list[dict[str, Any]] = call.body["devices"]
    now = iso_now()
    refusal = _Refusal()
    added: list[JSON] = []

    def apply(customer: JSON) -> Revision | None:
        tokens = {d["device_token"] for d in customer.get("devices", [])}
        for device in sent:
            if device["device_token"] in tokens:  # stored, or sent twice
                status = call.spec.settings.conflict_status
                refusal.failure = _token_taken(customer_id, device["device_token"], status)
                return None
            tokens.add(device["device_token"])
        added[:] = _register(customer, sent, now)
        customer["updated_at"] = now
        return Revision(customer, unique_keys(customer))

    failure = _change_devices(call, customer_id, apply, refusal)
    if failure is not None:
        return failure
    return Reply(201, {"success": True, "message": "Devices created successfully", "data": added})


def get_customer_devices(call: Call) -> Reply | Failure:
    customer_id = call.params["customer_id"]
    found = call.services.state.records.get(Scope(API, call.account), customer_id)
    if found is None:
        return _not_found(customer_id)
    devices = found.get("devices", [])
    return Reply(200, {"success": True, "message": "Devices fetched successfully", "data": devices})


def update_customer_device(call: Call) -> Reply | Failure:
    customer_id = call.params["customer_id"]
    current: str = call.body["current_device_token"]
    new_type, new_token = call.body.get("device_type"), call.body.get("device_token")
    now = iso_now()
    refusal = _Refusal()
    changed: list[JSON] = []

    def apply(customer: JSON) -> Revision | None:
        devices = customer.get("devices", [])
        device = next((d for d in devices if d["device_token"] == current), None)
        if device is None:
            message = f"Customer {customer_id} has no device with device_token {current}"
            refusal.failure = Failure("not-found", 404, message)
            return None
        tokens = {d["device_token"] for d in devices}
        if new_token is not None and new_token != current and new_token in tokens:
            status = call.spec.settings.conflict_status
            refusal.failure = _token_taken(customer_id, new_token, status)
            return None
        if new_type is not None:
            device["device_type"] = new_type
        if new_token is not None:
            device["device_token"] = new_token
        customer["updated_at"] = now
        changed.append(device)
        return Revision(customer, unique_keys(customer))

    failure = _change_devices(call, customer_id, apply, refusal)
    if failure is not None:
        return failure
    message = "Device updated successfully"
    return Reply(200, {"success": True, "message": message, "data": changed[0]})


# -- list ----------------------------------------------------------------------------------------
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


def list_customers(call: Call) -> Reply | Failure:
    per_page = int(call.params.get("per_page", 20))
    state = call.services.state
    scope = Scope(API, call.account)
    after = before = None
    if call.params.get("cursor"):
        decoded = decode_cursor(str(call.params["cursor"]))
        if decoded is None:
            problem = "not a cursor this API issued; use data.meta.next_page_cursor"
            violation = Violation("query", ("cursor",), problem)
            status = call.spec.settings.validation_status
            return Failure.from_violations("validation", status, [violation])
        direction, seq = decoded
        after, before = (seq, None) if direction == "next" else (None, seq)
    ids = _split(call.params.get("customer_ids"))
    emails = _split(call.params.get("emails"))
    if ids is None and emails is None:
        page = state.records.page(scope, limit=per_page, after_seq=after, before_seq=before)
        records, has_prev, has_next = page.records, page.has_before, page.has_after
    else:
        lowered = {e.lower() for e in emails} if emails else None
        matching = [
            r
            for r in state.records.all(scope)
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
    outcomes = services.state.records.insert_batch(Scope(API, account), records)
    for index, record, outcome in zip(positions, records, outcomes, strict=True):
        results[index] = (
            {"created": outcome.record} if outcome.created else {"error": _taken(record, outcome)}
        )
    return results
