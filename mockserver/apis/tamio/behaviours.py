"""Tamio (``/tamio/v2``): customers, bulk import jobs and ``customer.created`` webhooks.

A bulk create only schedules an import job and answers exactly ``{"status": 200}``. The job (run
by the background worker after ``settings.job_delay_s``, or at once through ``/__mock/jobs/flush``)
skips every email already in the account or repeated in the batch (recorded on the job with
error_code 10142) and creates the rest with ``source: "import"``. Each created customer emits a
``customer.created`` event to the registered webhook endpoints. When the import has finished, an
account notification records what it did (the vendor document: "once the import has been
completed, a notification will be dispatched to your account"); it is stored, bound to the job
like the import's customers and events, and read through ``GET /__mock/notifications``.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from mockserver.envelopes import Failure
from mockserver.ids import uuid4
from mockserver.packs import Call, Reply
from mockserver.services import Services
from mockserver.store import (
    InsertOutcome,
    Job,
    NewRecord,
    Notification,
    Scope,
    StoredRecord,
)

API = "tamio"
IMPORT_JOB = "tamio.import"
ALREADY_EXISTS = 10142


def _lower(code: Any) -> str | None:
    """A country or language code as stored and returned: lower-case (T5), or None if absent."""
    return None if code is None else str(code).lower()


def _address(info: dict[str, Any], *, shipping: bool, billing: bool) -> dict[str, Any]:
    """An Address object from billing_information / shipping_information (possibly partial)."""
    address: dict[str, Any] = {
        "id": uuid4(),
        "object": "address",
        "name": info.get("name"),
        "last_name": info.get("last_name"),
        "company": info.get("company"),
        "representative": info.get("representative"),
        "is_company": bool(info.get("is_company", False)),
        "email": info.get("email"),
        "phone": info.get("phone"),
        "address": info.get("address"),
        "city": info.get("city"),
        "postcode": info.get("postcode"),
        "state": info.get("state"),
        # A partial address (bulk items require no sub-field) keeps null for what was not sent.
        "country": _lower(info.get("country")),
        "locale": _lower(info.get("locale")),
        "shipping_address": shipping,
    }
    if billing:
        # T1: accept either spelling, store and return `vat`.
        address["vat"] = info.get("vat", info.get("vat_number"))
        address["verified_vat"] = False
        address["ip"] = None
    return address


def build_customer(
    item: dict[str, Any], *, source: str, now: float | None = None, seeded: bool = False
) -> dict[str, Any]:
    """The stored Customer object for one validated CustomerInput.

    Only seeded customers (control API, data sets) may bring their own ``id`` and ``created_at``;
    in a request those are unknown fields and ignored, so a client cannot pick a non-UUID id or
    an unparsable timestamp that breaks later answers.
    """
    billing_info = item.get("billing_information")
    shipping_info = item.get("shipping_information")
    billing = [_address(billing_info, shipping=False, billing=True)] if billing_info else []
    shipping: list[dict[str, Any]] = []
    if shipping_info:
        shipping.append(_address(shipping_info, shipping=True, billing=False))
    elif billing_info and (
        item.get("same_shipping_address") or billing_info.get("shipping_address")
    ):
        shipping.append(_address(billing_info, shipping=True, billing=False))
    category = item.get("category", "customer")
    return {
        "id": (seeded and item.get("id")) or uuid4(),
        "object": "customer",
        "name": item["name"],
        "last_name": item.get("last_name"),
        "email": item["email"],
        "company": item.get("company"),
        "phone": item.get("phone"),
        "country": str(item["country"]).lower(),
        "locale": str(item.get("locale") or "en").lower(),
        "timezone_offset": item.get("timezone_offset", "+00:00"),
        "category": category,
        "priority": item.get("priority", "normal"),
        "lead_status": "new_lead" if category == "lead" else None,
        "stripe_customer_id": None,
        "teammate_id": item.get("teammate_id"),
        "affiliate_partner_id": None,
        "has_notes": False,
        "source": source,
        "created_at": int(
            (seeded and item.get("created_at")) or (now if now is not None else time.time())
        ),
        "billing_addresses": billing,
        "shipping_addresses": shipping,
    }


def _record(customer: dict[str, Any]) -> NewRecord:
    return NewRecord(id=customer["id"], data=customer, unique={"email": customer["email"].lower()})


def _leads_flag(account: str) -> str:
    return f"tamio:has-leads:{account}"


def _insert(
    services: Services, account: str, records: list[NewRecord], job_id: str | None = None
) -> list[InsertOutcome]:
    """Insert customers; remember when an account got a lead (the list's fast path skips none).

    ``job_id``: an import's insert happens only while its job runs (``mockserver.store.records``).
    """
    outcomes = services.state.records.insert_batch(Scope(API, account), records, job_id=job_id)
    if any(o.record is not None and o.record.get("category") == "lead" for o in outcomes):
        services.state.flags.set(_leads_flag(account), True)
    return outcomes


def event_separator(call: Call) -> str:
    """The server setting wins, then the spec's ``x-mock.webhooks.event-separator``, then '.'."""
    configured = call.services.settings.event_separator
    return (
        configured
        if configured is not None
        else str(call.spec.settings.webhooks.get("event-separator", "."))
    )


def bulk_create_customers(call: Call) -> Reply:
    services = call.services
    services.jobs.schedule(
        IMPORT_JOB,
        API,
        call.account,
        {"customers": call.body["customers"], "event_separator": event_separator(call)},
        delay_s=services.settings.job_delay_s,
    )
    if services.settings.job_delay_s <= 0:
        services.wake()
    return Reply(200, {"status": 200})


def run_import(job: Job, services: Services) -> dict[str, Any]:
    """Create the customers of one import; duplicates are skipped with error_code 10142.

    Runs again, with the same outcome and nothing stored twice, when its worker died before
    finishing: the insert returns the outcomes it recorded and each event is keyed.
    """
    items: list[dict[str, Any]] = job.payload["customers"]
    now = services.clock()
    customers = [build_customer(item, source="import", now=now) for item in items]
    outcomes = _insert(services, job.account, [_record(c) for c in customers], job_id=job.id)
    created: list[str] = []
    failed: list[dict[str, Any]] = []
    event_type = f"customer{job.payload.get('event_separator', '.')}created"
    for index, (item, outcome) in enumerate(zip(items, outcomes, strict=True)):
        if outcome.record is not None:
            created.append(outcome.record["id"])
            services.webhooks.emit(  # keyed by the customer: a re-run stores it once
                API,
                job.account,
                event_type,
                {"customer": outcome.record},
                job_id=job.id,
                key=outcome.record["id"],
            )
        else:
            failed.append(
                {
                    "index": index,
                    "email": item["email"],
                    "error_code": ALREADY_EXISTS,
                    "error": f"A customer with the email {item['email']} already exists",
                }
            )
    services.state.notifications.add(
        import_notification(job, len(created), failed, services.clock()), job_id=job.id
    )
    services.wake()
    return {"created": len(created), "failed": failed, "customer_ids": created}


def import_notification(
    job: Job, created: int, failed: list[dict[str, Any]], now: float
) -> Notification:
    """The account notification of a finished import: what was created and what was skipped."""
    return Notification(
        id="ntf_" + job.id.removeprefix("job_"),  # one per job, also when the job runs again
        api=API,
        account=job.account,
        job_id=job.id,
        time=now,
        data={
            "created": created,
            "skipped": len(failed),
            "skipped_items": [
                {
                    "index": f["index"],
                    "email": f["email"],
                    "reason": f["error"],
                    "error_code": f["error_code"],
                }
                for f in failed
            ],
        },
    )


def create_customer(call: Call) -> Reply | Failure:
    services = call.services
    customer = build_customer(call.body, source="api", now=services.clock())
    outcome = _insert(services, call.account, [_record(customer)])[0]
    if outcome.record is None:
        return Failure(
            "duplicate", 400, f"A customer with the email {call.body['email']} already exists"
        )
    event_type = f"customer{event_separator(call)}created"
    services.webhooks.emit(API, call.account, event_type, {"customer": outcome.record})
    services.wake()
    return Reply(200, {"status": 200, "customer": outcome.record})


def retrieve_customer(call: Call) -> Reply | Failure:
    uuid = str(call.params["uuid"])
    found = call.services.state.records.get(Scope(API, call.account), uuid)
    if found is None:
        return Failure("not-found", 400, f"Customer {uuid} was not found")
    return Reply(200, {"status": 200, "customer": found})


def _moment(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) or str(value).isdigit():
        return float(value)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed.timestamp() if parsed.tzinfo else parsed.replace(tzinfo=None).timestamp()


def _matches(record: StoredRecord, params: dict[str, Any]) -> bool:
    customer = record.data
    text = params.get("filter")
    if text:
        needle = str(text).lower()
        haystack = " ".join(
            str(customer.get(k) or "") for k in ("name", "last_name", "email", "company")
        )
        if needle not in haystack.lower():
            return False
    countries = params.get("countries[]") or params.get("countries")
    if countries and customer["country"] not in {str(c).lower() for c in countries}:
        return False
    if not params.get("include_leads") and customer.get("category") == "lead":
        return False
    if params.get("teammate_id") and customer.get("teammate_id") != params["teammate_id"]:
        return False
    start, end = _moment(params.get("from")), _moment(params.get("to"))
    if start is not None and customer["created_at"] < start:
        return False
    return not (end is not None and customer["created_at"] > end)


FILTERS = ("filter", "countries[]", "countries", "teammate_id", "from", "to", "include_leads")
MAX_ROWS = 2**62


def list_customers(call: Call) -> Reply:
    params = call.params
    page, per_page = int(params["page"]), int(params["per_page"])
    sort_by = params.get("sort_by", "created_at")
    descending = params.get("order", "asc") == "desc"
    state, scope = call.services.state, Scope(API, call.account)
    offset = (page - 1) * per_page
    if (
        sort_by == "created_at"
        and not descending
        and not any(params.get(f) for f in FILTERS)
        and not state.flags.get(_leads_flag(call.account), False)
    ):
        # The common case stays an index lookup, however many customers are stored (leads must
        # be left out unless include_leads, so an account that has any takes the filtering path).
        # No store holds 2**62 customers; clamping keeps huge page/per_page within SQLite's INTEGER.
        if offset >= MAX_ROWS:
            total = state.records.count(scope)
            return Reply(200, {"status": 200, "total_results": total, "customers": []})
        result = state.records.page(scope, limit=min(per_page, MAX_ROWS), offset=offset)
        return Reply(
            200,
            {
                "status": 200,
                "total_results": result.total,
                "customers": [r.data for r in result.records],
            },
        )
    matching = [r for r in state.records.all(scope) if _matches(r, params)]
    matching.sort(
        key=lambda r: (
            str(r.data.get(sort_by) or "").lower()
            if sort_by != "created_at"
            else r.data["created_at"],
            r.seq,
        ),
        reverse=descending,
    )
    chosen = matching[offset : offset + per_page]
    return Reply(
        200, {"status": 200, "total_results": len(matching), "customers": [r.data for r in chosen]}
    )


def seed(services: Services, account: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Store customers given as CustomerInput-like JSON (optionally with their own ``id``)."""
    results: list[dict[str, Any]] = []
    records: list[NewRecord] = []
    positions: list[int] = []
    for index, item in enumerate(items):
        missing = [f for f in ("name", "email", "country") if not isinstance(item.get(f), str)]
        if missing:
            results.append({"error": f"item {index}: missing or non-string {', '.join(missing)}"})
            continue
        if not isinstance(item.get("created_at", 0), int | float):
            results.append({"error": f"item {index}: created_at must be a unix timestamp"})
            continue
        positions.append(index)
        source = str(item.get("source", "seed"))
        records.append(_record(build_customer(item, source=source, seeded=True)))
        results.append({})
    outcomes = _insert(services, account, records)
    for index, outcome in zip(positions, outcomes, strict=True):
        results[index] = (
            {"created": outcome.record}
            if outcome.record is not None
            else {"error": f"A customer with the email {items[index]['email']} already exists"}
        )
    return results
