"""The journal entry: one typed object (mockserver.journal.JournalEntry) that the engine fills in
and every reader gets back; the JSON of GET /__mock/requests and of the fixture keeps its shape;
each violation keeps the JSON Schema keyword it broke and where that keyword sits."""

from __future__ import annotations

from mockserver.journal import UNSET, Finding, JournalEntry, UpstreamCall
from mockserver.validation import SchemaValidator, Violation

from .support import BUNCE_AUTH, BUNCE_CUSTOMER, BUNCE_JSON, TAMIO_AUTH, body_of

BULK = "/bunce/v1/customers/bulk"


def test_a_violation_keeps_its_keyword_and_schema_path(mock, client) -> None:
    client.post(BULK, headers=BUNCE_JSON, json={"customers": [{**BUNCE_CUSTOMER, "email": "x"}]})
    [entry] = mock.journal()
    [violation] = entry.violations
    assert violation.field == "customers[0].email"
    assert violation.keyword == "format"
    assert violation.schema_pointer == "/components/schemas/CustomerInput/properties/email/format"
    assert violation.problem == "'x' is not a valid email"


def test_a_missing_parameter_is_a_required_violation(mock, client) -> None:
    client.get("/tamio/v2/customers/list?page=1", headers=TAMIO_AUTH)
    [entry] = mock.journal()
    assert [(v.location, v.field, v.keyword) for v in entry.violations] == [
        ("query", "per_page", "required")
    ]


def test_served_violations_are_location_field_and_problem_as_before(mock, client) -> None:
    client.post(BULK, headers=BUNCE_JSON, json={"customers": [{"email": "x"}]})
    served = body_of(client.get("/__mock/requests"))["requests"]
    assert served == mock.requests()  # the fixture returns what the control API serves
    assert {
        "location": "body",
        "field": "customers[0].first_name",
        "problem": "is required",
    } in served[0]["violations"]
    assert all(set(v) == {"location", "field", "problem"} for v in served[0]["violations"])


def test_the_served_entry_has_the_documented_fields_and_only_those_set(client) -> None:
    client.post(BULK, headers=BUNCE_JSON, json={"customers": [BUNCE_CUSTOMER]})
    client.post(BULK, headers=BUNCE_JSON, json={"customers": []})
    client.get("/bunce/v1/nowhere", headers=BUNCE_AUTH)
    created, refused, unknown = body_of(client.get("/__mock/requests"))["requests"]
    common = {"seq", "time", "api", "operation_id", "method", "path", "query", "notes"}
    answered = {"status", "duration_ms", "response"}
    assert set(created) == common | answered | {"account", "body"}
    assert set(refused) == common | answered | {"account", "body", "violations", "error"}
    assert set(unknown) == common | answered | {"error"}
    assert unknown["operation_id"] is None
    bodiless = body_of(client.get("/__mock/requests?bodies=false"))["requests"][0]
    assert set(bodiless) == common | {"status", "duration_ms", "account"}


def test_an_entry_survives_the_journal_with_every_field() -> None:
    entry = JournalEntry(
        1.5,
        "bunce",
        "POST",
        "/bunce/v1/customers/bulk",
        "page=1",
        operation_id="createCustomersBulk",
        notes=["forwarded to http://127.0.0.1:9/customers/bulk"],
        seq=7,
        status=502,
        duration_ms=3.25,
        account="sk_test_***",
        violations=[
            Violation("body", ("customers", 0, "email"), "is required", "required", ("required",))
        ],
        error="refused",
        body=None,  # a JSON null body is kept as null, not left out
        response={"success": False},
        response_violations=["status 502 is not documented"],
        drift=[Finding("response", "status", "status", "502 is not documented")],
        upstream=UpstreamCall("http://127.0.0.1:9/customers/bulk", error="refused", message="no"),
        recorded=None,  # recording was attempted and failed
    )
    record = entry.to_record()
    assert record["violations"][0]["schema_path"] == ["required"]
    assert JournalEntry.from_record(record) == entry
    served = entry.to_json()
    assert served["body"] is None and served["recorded"] is None
    assert served["violations"] == [
        {"location": "body", "field": "customers[0].email", "problem": "is required"}
    ]
    assert served["upstream"] == {
        "url": "http://127.0.0.1:9/customers/bulk",
        "error": "refused",
        "message": "no",
    }
    bare = JournalEntry(1.5, "bunce", "GET", "/bunce/v1/customers")
    assert bare.body is UNSET and "body" not in bare.to_json() and "recorded" not in bare.to_json()


def test_schema_paths_name_the_keyword_inside_the_schema_validated() -> None:
    inline = SchemaValidator(
        {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"type": "string", "maxLength": 2}}
            },
        }
    )
    [violation] = inline.violations({"items": ["ok", "long"]})
    assert (violation.field, violation.keyword, violation.schema_pointer) == (
        "items[1]",
        "maxLength",
        "/properties/items/items/maxLength",
    )
    # Over 1000 items the array is checked item by item: the schema path is the same.
    many = inline.violations({"items": ["ok"] * 1000 + ["long"]})
    assert [(v.field, v.schema_pointer) for v in many] == [
        ("items[1000]", "/properties/items/items/maxLength")
    ]
    # A root oneOf is reported through the branch of the instance's type.
    either = SchemaValidator(
        {"oneOf": [{"type": "string"}, {"type": "object", "required": ["id"]}]}
    )
    [missing] = either.violations({})
    assert (missing.field, missing.keyword, missing.schema_pointer) == (
        "id",
        "required",
        "/oneOf/1/required",
    )
