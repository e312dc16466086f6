"""Rule 3, validation order and messages: security (401) -> content type (415) -> body size (413)
-> JSON parsing (400) -> parameters and body against the schema (400/422), every violation with
its JSON path."""

from __future__ import annotations

import json
import time

import pytest

from mockserver.bodies import MAX_DEPTH

from .support import (
    BUNCE_AUTH,
    BUNCE_CUSTOMER,
    BUNCE_JSON,
    MIB,
    TAMIO_AUTH,
    TAMIO_CUSTOMER,
    assert_envelope,
    body_of,
)

BUNCE_BULK = "/bunce/v1/customers/bulk"
TAMIO_BULK = "/tamio/v2/customers/bulk/create"
TAMIO_LIST = "/tamio/v2/customers/list"


def bulk(*customers: dict) -> bytes:
    return json.dumps({"customers": list(customers)}).encode()


# -- the order of checks ------------------------------------------------------------------------


def test_bad_auth_beats_everything_else(client) -> None:
    answer = client.post(
        BUNCE_BULK,
        data=b"{not json" + b" " * 1024,
        headers={"X-Authorization": "pk_nope", "Content-Type": "text/plain"},
    )
    assert answer.status_code == 401
    assert "Invalid API key" in assert_envelope("bunce", answer)["message"]


def test_content_type_is_checked_before_size(make_mock) -> None:
    client = make_mock(max_body_bytes=100).client
    answer = client.post(
        BUNCE_BULK, data=b"x" * 500, headers={**BUNCE_AUTH, "Content-Type": "text/plain"}
    )
    assert answer.status_code == 415


def test_size_is_checked_before_parsing(make_mock) -> None:
    client = make_mock(max_body_bytes=100).client
    answer = client.post(BUNCE_BULK, data=b"{not json" * 50, headers=BUNCE_JSON)
    assert answer.status_code == 413


def test_parsing_is_checked_before_the_schema(client) -> None:
    answer = client.post(BUNCE_BULK, data=b'{"customers": [}', headers=BUNCE_JSON)
    assert answer.status_code == 400
    assert assert_envelope("bunce", answer)["message"].startswith("body: malformed JSON")


def test_parameter_and_body_violations_are_reported_together(client) -> None:
    answer = client.get(f"{TAMIO_LIST}?page=abc&per_page=-1", headers=TAMIO_AUTH)
    assert answer.status_code == 400
    body = assert_envelope("tamio", answer)
    assert body["errors"] == [
        "page: 'abc' is not of type integer",
        "per_page: -1 is less than the minimum of 1",
    ]
    assert body["error"] == "page: 'abc' is not of type integer (and 1 more error)"
    assert body["error_code"] == 99001


# -- content type ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "text/plain;charset=UTF-8", "application/json"],
)
def test_tamio_parses_json_whatever_the_content_type_and_notes_it(
    mock, client, content_type
) -> None:
    headers = dict(TAMIO_AUTH)
    if content_type:
        headers["Content-Type"] = content_type
    answer = client.post(TAMIO_BULK, data=bulk(TAMIO_CUSTOMER), headers=headers)
    assert (answer.status_code, body_of(answer)) == (200, {"status": 200})
    notes = mock.requests()[-1]["notes"]
    if content_type in ("application/x-www-form-urlencoded", "text/plain;charset=UTF-8"):
        assert (
            f"body parsed as JSON although Content-Type is {content_type.split(';')[0]!r}" in notes
        )
    else:
        assert not [n for n in notes if "Content-Type" in n]


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (None, "Missing Content-Type; send 'Content-Type: application/json'"),
        ("text/plain", "Content-Type 'text/plain' is not accepted; send application/json"),
        (
            "application/x-www-form-urlencoded",
            "Content-Type 'application/x-www-form-urlencoded' is not accepted; "
            "send application/json",
        ),
        ("application/json; charset=latin-1", "charset 'latin-1' is not accepted; send UTF-8 JSON"),
    ],
)
def test_bunce_refuses_other_content_types_with_415(client, content_type, message) -> None:
    headers = dict(BUNCE_AUTH)
    if content_type:
        headers["Content-Type"] = content_type
    answer = client.post(BUNCE_BULK, data=bulk(BUNCE_CUSTOMER), headers=headers)
    assert answer.status_code == 415
    assert assert_envelope("bunce", answer)["message"] == message


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8"],
)
def test_bunce_accepts_json_with_a_utf8_charset_in_any_case(client, content_type) -> None:
    answer = client.post(
        BUNCE_BULK, data=bulk(BUNCE_CUSTOMER), headers={**BUNCE_AUTH, "Content-Type": content_type}
    )
    assert answer.status_code == 200


# -- body size -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "path", "headers"),
    [("tamio", TAMIO_BULK, TAMIO_AUTH), ("bunce", BUNCE_BULK, BUNCE_JSON)],
)
def test_a_body_over_the_default_10_mib_is_413_in_the_envelope(client, api, path, headers) -> None:
    answer = client.post(path, data=b" " * (10 * MIB + 1), headers=headers)
    assert answer.status_code == 413
    body = assert_envelope(api, answer)
    if api == "tamio":
        assert body["error_code"] == 99413


def test_a_body_of_exactly_the_limit_is_read(make_mock) -> None:
    client = make_mock(max_body_bytes=1024).client
    payload = bulk(BUNCE_CUSTOMER)
    padded = payload + b" " * (1024 - len(payload))
    assert client.post(BUNCE_BULK, data=padded, headers=BUNCE_JSON).status_code == 200
    assert client.post(BUNCE_BULK, data=padded + b" ", headers=BUNCE_JSON).status_code == 413


# -- JSON parsing ----------------------------------------------------------------------------------

UNPARSABLE = {
    "truncated": (b'{"customers": [{"first_name": "Jo', "body: malformed JSON"),
    "not JSON": (b"customers=1&x=2", "body: malformed JSON"),
    "trailing garbage": (b'{"customers": []} extra', "body: malformed JSON"),
    "NaN": (b'{"customers": NaN}', "body: malformed JSON"),
    "invalid UTF-8": (b'{"customers": ["\xff\xfe"]}', "body: request body is not valid UTF-8"),
    "lone surrogate": (b'{"customers": ["\\ud800"]}', "body: request body is not valid UTF-8"),
    "10,000-deep nesting": (
        b"[" * 10_000 + b"]" * 10_000,
        "body: JSON nesting is deeper than 200 levels",
    ),
    "300-deep nesting in an ignored field": (
        b'{"customers": [], "extra": ' + b"[" * 300 + b"]" * 300 + b"}",
        "body: JSON nesting is deeper than 200 levels",
    ),
    "5,000-digit integer": (b'{"customers": 1' + b"0" * 5000 + b"}", "body: a number is too large"),
    "5,000-digit negative integer": (
        b'{"customers": -9' + b"9" * 5000 + b"}",
        "body: a number is too large",
    ),
    "5,000-digit fraction": (
        b'{"customers": 0.' + b"3" * 5000 + b"}",
        "body: a number has 5001 digits",
    ),
}


@pytest.mark.parametrize(("raw", "message"), UNPARSABLE.values(), ids=UNPARSABLE.keys())
@pytest.mark.parametrize(
    ("api", "path", "headers"),
    [("tamio", TAMIO_BULK, TAMIO_AUTH), ("bunce", BUNCE_BULK, BUNCE_JSON)],
)
def test_a_body_that_is_not_usable_json_is_400(client, api, path, headers, raw, message) -> None:
    answer = client.post(path, data=raw, headers=headers)
    assert answer.status_code == 400
    body = assert_envelope(api, answer)
    assert (body["error"] if api == "tamio" else body["message"]).startswith(message)
    if api == "tamio":
        assert body["error_code"] == 99002


def test_a_long_digit_run_inside_a_string_is_fine(client) -> None:
    customer = {**BUNCE_CUSTOMER, "phone_no": "+" + "1" * 5000}
    assert client.post(BUNCE_BULK, data=bulk(customer), headers=BUNCE_JSON).status_code == 200


@pytest.mark.parametrize(("depth", "status"), [(MAX_DEPTH, 200), (MAX_DEPTH + 1, 400)])
def test_nesting_up_to_the_limit_in_an_ignored_field_is_accepted(client, depth, status) -> None:
    lists = depth - 1  # inside the body's own object
    raw = bulk(BUNCE_CUSTOMER)[:-1] + b', "extra": ' + b"[" * lists + b"]" * lists + b"}"
    assert client.post(BUNCE_BULK, data=raw, headers=BUNCE_JSON).status_code == status


def test_an_empty_body_is_a_validation_error_naming_the_body(client) -> None:
    answer = client.post(BUNCE_BULK, data=b"", headers=BUNCE_JSON)
    assert answer.status_code == 422
    assert assert_envelope("bunce", answer)["message"] == "body: a JSON request body is required"


# -- schema violations with their JSON paths -------------------------------------------------------


def test_a_violation_names_the_item_and_field_by_its_path(client) -> None:
    customers = [{**TAMIO_CUSTOMER, "email": f"c{i}@example.com"} for i in range(3)]
    customers.append({**TAMIO_CUSTOMER, "email": "x"})
    answer = client.post(TAMIO_BULK, data=bulk(*customers), headers=TAMIO_AUTH)
    assert answer.status_code == 400
    body = assert_envelope("tamio", answer)
    assert body["error"] == "customers[3].email: 'x' is not a valid email"
    assert body["errors"] == ["customers[3].email: 'x' is not a valid email"]
    assert body["error_code"] == 99001


def test_every_violation_is_listed_and_journalled(mock, client) -> None:
    second = {k: v for k, v in BUNCE_CUSTOMER.items() if k not in ("customer_id", "email")}
    third = {**BUNCE_CUSTOMER, "email": "nope", "devices": [{"device_type": "ios"}]}
    answer = client.post(BUNCE_BULK, data=bulk(BUNCE_CUSTOMER, second, third), headers=BUNCE_JSON)
    assert answer.status_code == 422
    body = assert_envelope("bunce", answer)
    assert body["message"] == "customers[1]: needs email or customer_id (and 2 more errors)"
    assert sorted(body["errors"]) == [
        "customers[1]: needs email or customer_id",
        "customers[2].devices[0].device_token: is required",
        "customers[2].email: 'nope' is not a valid email",
    ]
    violations = mock.requests()[-1]["violations"]
    assert {
        "location": "body",
        "field": "customers[1]",
        "problem": "needs email or customer_id",
    } in violations


def test_a_json_null_body_is_a_type_violation(client) -> None:
    answer = client.post(BUNCE_BULK, data=b"null", headers=BUNCE_JSON)
    assert answer.status_code == 422
    assert (
        assert_envelope("bunce", answer)["message"] == "body: None is not of type object or array"
    )


def test_a_refused_bulk_create_creates_nothing(mock, client) -> None:
    bad = {**BUNCE_CUSTOMER, "customer_id": "1111", "email": "not-an-email"}
    assert (
        client.post(BUNCE_BULK, data=bulk(BUNCE_CUSTOMER, bad), headers=BUNCE_JSON).status_code
        == 422
    )
    assert mock.customers("bunce", BUNCE_AUTH["X-Authorization"]) == []


def test_missing_required_query_parameters_are_named(client) -> None:
    answer = client.get(TAMIO_LIST, headers=TAMIO_AUTH)
    assert assert_envelope("tamio", answer)["errors"] == [
        "page: required query parameter is missing",
        "per_page: required query parameter is missing",
    ]


# -- many violations: reported quickly, capped -----------------------------------------------------


def test_a_hundred_thousand_invalid_items_get_a_quick_capped_answer(client) -> None:
    started = time.perf_counter()
    answer = client.post(BUNCE_BULK, data=bulk(*[{"email": "x"}] * 100_000), headers=BUNCE_JSON)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 422
    errors = assert_envelope("bunce", answer)["errors"]
    assert len(errors) == 1000  # at most MAX_VIOLATIONS, in item order
    assert errors[0] == "customers[0].first_name: is required"
    assert "customers[0].email: 'x' is not a valid email" in errors[:4]
    assert errors[-1].startswith("customers[249].")  # four per item, item by item
    assert elapsed < 10, f"{elapsed:.1f} s (every error used to be built first: 25 s)"


@pytest.mark.parametrize(
    ("api", "operation"), [("tamio", "bulkCreateCustomers"), ("bunce", "createCustomersBulk")]
)
def test_a_long_array_reports_the_same_violations_as_a_short_one(
    mock, monkeypatch, api, operation
) -> None:
    good = TAMIO_CUSTOMER if api == "tamio" else BUNCE_CUSTOMER
    items = [{**good, "email": f"c{i}@example.com"} for i in range(1500)]
    items[3] = {k: v for k, v in good.items() if k not in ("email", "customer_id")}
    items[1200] = {**good, "email": "x", "extra": [1, 2]}
    body = {"customers": items, "note": 5}
    validator = mock.engine.by_name[api].compiled[operation].body_validator
    split = validator.violations(body)
    monkeypatch.setattr("mockserver.validation.SPLIT_ITEMS", 10**9)
    whole = validator.violations(body)
    assert sorted(map(str, split)) == sorted(map(str, whole))
    missing = "customers[3]" if api == "bunce" else "customers[3].email"
    assert {v.field for v in split} >= {missing, "customers[1200].email"}


def test_routing_comes_before_an_armed_fault(mock, client) -> None:
    mock.fault(api="bunce", status=500)
    assert client.get("/bunce/v1/nowhere", headers=BUNCE_AUTH).status_code == 404
    assert len(mock.services.state.faults.list()) == 1  # not consumed by a path no operation has


def test_an_armed_fault_answers_before_authentication(mock, client) -> None:
    mock.fault(api="bunce", status=500)
    answer = client.get("/bunce/v1/customers")  # no credential
    assert answer.status_code == 500
    assert mock.services.state.faults.list() == []


def test_the_schema_is_checked_before_a_prefer_header_is_honoured(client) -> None:
    invalid = client.post(
        BUNCE_BULK, json={"customers": [{}]}, headers={**BUNCE_JSON, "Prefer": "code=200"}
    )
    assert invalid.status_code == 422
    valid = client.post(
        BUNCE_BULK,
        json={"customers": [BUNCE_CUSTOMER]},
        headers={**BUNCE_JSON, "Prefer": "code=299"},
    )
    assert valid.status_code == 422
    assert "299" in assert_envelope("bunce", valid)["message"]
