"""Rule 9: no malformed or hostile request gets a 5xx or a body that is not JSON.

A battery over every operation of both bundled APIs. Besides "no 5xx, always JSON", each answer
must be in the API's envelope and, when an operation was matched, documented by that operation
(status and schema), as schemathesis would demand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from mockserver.testing import MockServer

from .support import (
    BODY_OPERATIONS,
    CREATE_OPERATIONS,
    MIB,
    ON_A_CUSTOMER,
    OPERATIONS,
    VALIDATION_STATUS,
    Op,
    assert_envelope,
    body_of,
)


def send(
    client,
    op: Op,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    method: str | None = None,
    path: str | None = None,
) -> Any:
    if body is None and op.has_body:
        body = json.dumps(op.body).encode()
    target = path or op.path
    query = op.query if query is None else query
    if query:
        target += "?" + urlencode(query)
    return client.open(
        target,
        method=method or op.method,
        data=body,
        headers=op.headers if headers is None else headers,
    )


def assert_sane(mock: MockServer, op: Op, answer: Any) -> dict[str, Any]:
    """Not a 5xx, JSON in the API's envelope, and documented by the operation it reached."""
    assert answer.status_code < 500, answer.get_data(as_text=True)[:500]
    body = body_of(answer)
    # Bunce's bulk partial failure has its own documented body (`status`, not `success`); the
    # response check below holds it to that.
    bulk_failure = op.api == "bunce" and isinstance(body, dict) and body.get("status") is False
    if answer.status_code >= 400 and not bulk_failure:
        assert_envelope(op.api, answer)
    entry = mock.requests()[-1]
    if entry["operation_id"] is not None:
        api = mock.engine.by_name[op.api]
        compiled = api.compiled[entry["operation_id"]]
        assert compiled.operation.response_for(answer.status_code) is not None, (
            f"{op.api}.{entry['operation_id']} does not document {answer.status_code}"
        )
        validator = api.response_validator(compiled, answer.status_code, "application/json")
        if validator is not None:
            assert validator.violations(body, "response") == [], body
    return body


def test_the_battery_covers_every_operation(mock) -> None:
    covered = {(op.api, op.operation_id) for op in OPERATIONS}
    documented = {
        (a.spec.name, o.operation_id)
        for a in mock.engine.apis
        if a.spec.name in ("tamio", "bunce")
        for o in a.spec.operations
    }
    assert covered == documented


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
def test_the_well_formed_request_is_accepted(mock, client, op) -> None:
    answer = send(client, op)
    body = assert_sane(mock, op, answer)
    if op.operation_id not in ON_A_CUSTOMER:
        assert answer.status_code in (200, 201), body
    else:  # the store is empty: the customer is unknown, and the answer says so
        assert answer.status_code in (400, 404, 409), body


# -- bodies ----------------------------------------------------------------------------------------


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


BODIES: dict[str, tuple[Callable[[Op], bytes], int | str]] = {
    "truncated JSON": (lambda op: json.dumps(op.body).encode()[:-3], 400),
    "malformed JSON": (lambda op: b"{'customers': [}", 400),
    "invalid UTF-8": (lambda op: b'{"name": "\xc3\x28"}', 400),
    "UTF-16": (lambda op: json.dumps(op.body).encode("utf-16"), 400),
    "JSON null": (lambda op: b"null", "validation"),
    "JSON array": (lambda op: b"[]", "validation"),
    "JSON string": (lambda op: b'"customers"', "validation"),
    "empty": (lambda op: b"", "validation"),
    "whitespace": (lambda op: b" \r\n\t ", "validation"),
    "wrong types": (
        lambda op: json.dumps({k: [1, {"a": None}] for k in op.body}).encode(),
        "validation",
    ),
    "customers is a string": (lambda op: b'{"customers": "all of them"}', "validation"),
    "null items": (lambda op: b'{"customers": [null, 1, "x", []]}', "validation"),
    "12 MiB": (lambda op: b'{"customers": "' + b"a" * (12 * MIB) + b'"}', 413),
    "10,000-deep nesting": (lambda op: deep(10_000), 400),
    "600-deep nesting in a field": (lambda op: b'{"customers": ' + deep(600) + b"}", 400),
    "5,000-digit number": (lambda op: b'{"customers": 1' + b"0" * 5000 + b"}", 400),
    "5,000-digit fraction": (lambda op: b'{"customers": 0.' + b"1" * 5000 + b"}", 400),
    "NaN": (lambda op: b'{"customers": NaN}', 400),
    "BOM": (lambda op: b"\xef\xbb\xbf" + json.dumps(op.body).encode(), 400),
    "NUL bytes": (lambda op: b'{"name": "\x00"}\x00', 400),
}


@pytest.mark.parametrize(("make_body", "expected"), BODIES.values(), ids=BODIES.keys())
@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=lambda op: op.id)
def test_a_hostile_body_is_refused_in_the_envelope(mock, client, op, make_body, expected) -> None:
    body = make_body(op)
    answer = send(client, op, body=body)
    assert_sane(mock, op, answer)
    if expected == "validation" and op.open_body and body.startswith(b"{\"customers\""):
        expected = 404  # an unknown field is ignored: a valid update of an unknown customer
    assert answer.status_code == (
        VALIDATION_STATUS[op.api] if expected == "validation" else expected
    )


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=lambda op: op.id)
def test_unknown_fields_are_ignored_even_deeply_nested_ones(mock, client, op) -> None:
    item = {**(op.body["customers"][0] if "customers" in op.body else op.body)}
    item["extra"] = json.loads(deep(200))
    body = {"customers": [item]} if "customers" in op.body else item
    assert_sane(mock, op, send(client, op, body=json.dumps(body).encode()))


SNEAKY_FIELDS = {
    "an id": {"id": "not-a-uuid"},
    "a created_at": {"created_at": "yesterday"},
    "a customer_created_at": {"customer_created_at": "yesterday"},
    "a device_id": {"devices": [{"device_type": "ios", "device_token": "t", "device_id": "nope"}]},
}


@pytest.mark.parametrize("fields", SNEAKY_FIELDS.values(), ids=SNEAKY_FIELDS.keys())
@pytest.mark.parametrize("op", CREATE_OPERATIONS, ids=lambda op: op.id)
def test_fields_the_mock_sets_itself_cannot_be_smuggled_in(mock, client, op, fields) -> None:
    item = {**(op.body["customers"][0] if "customers" in op.body else op.body), **fields}
    body = {"customers": [item]} if "customers" in op.body else item
    assert_sane(mock, op, send(client, op, body=json.dumps(body).encode()))
    mock.flush_jobs()  # Tamio's bulk import stores its customers in a job
    [listing] = [o for o in OPERATIONS if o.operation_id == "listCustomers" and o.api == op.api]
    listed = assert_sane(mock, listing, send(client, listing))
    stored = listed["customers"] if op.api == "tamio" else listed["data"]["data"]
    assert len(stored) == 1  # stored, and listed back in a shape the spec documents


# -- auth, methods, paths --------------------------------------------------------------------------

CREDENTIALS = {  # headers, and whether each API must refuse them
    "missing": ({}, True),
    "empty": ({"Authorization": "", "X-Authorization": ""}, True),
    "wrong scheme": (
        {"Authorization": "Basic dXNlcjpwYXNz", "X-Authorization": "Basic dXNlcjpwYXNz"},
        True,
    ),
    "bearer without token": ({"Authorization": "Bearer", "X-Authorization": "Bearer"}, True),
    "other key kind": ({"Authorization": "Token sk_test_1", "X-Authorization": "pk_live_1"}, True),
    "whitespace in key": ({"Authorization": "Bearer  ", "X-Authorization": "sk_test_ 1"}, True),
    "very long but valid": (
        {"Authorization": "Bearer " + "a" * 6000, "X-Authorization": "sk_test_" + "\u00e9" * 3000},
        False,
    ),
}


@pytest.mark.parametrize(("credential", "refused"), CREDENTIALS.values(), ids=CREDENTIALS.keys())
@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
def test_a_wrong_or_missing_credential_is_401(mock, client, op, credential, refused) -> None:
    headers = {**{k: v for k, v in op.headers.items() if k == "Content-Type"}, **credential}
    answer = send(client, op, headers=headers)
    assert_sane(mock, op, answer)
    assert (answer.status_code == 401) is refused


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND"])
@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
def test_any_method_is_answered_in_json(mock, client, op, method) -> None:
    answer = send(client, op, method=method)
    assert_sane(mock, op, answer)
    # Another operation of the path (getCustomer of the customer "bulk", say) answers for itself.
    api = mock.engine.by_name[op.api]
    other_operation = api.router.match(method, op.path[len(api.mount) :]).found
    if method != op.method and not other_operation:
        assert answer.status_code == 405 and answer.headers["Allow"]


SUFFIXES = ["/x", "/..", "/%2e%2e/%2e%2e", "/%00", "/%ff%fe", "//", "/" + "a" * 5000, "/%7B%7D"]


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
def test_an_unknown_or_odd_path_is_answered_in_json(mock, client, op, suffix) -> None:
    answer = send(client, op, path=op.path + suffix)
    assert_sane(mock, op, answer)


# -- query parameters ------------------------------------------------------------------------------

QUERIES = [
    {"page": "abc", "per_page": "-1"},
    {"page": "0", "per_page": "0"},
    {"page": "1.5", "per_page": "1e3"},
    {"page": "99999999999999999999999999", "per_page": "99999999999999999999999999"},
    {"page": "1" + "0" * 5000, "per_page": "10"},
    {"page": "", "per_page": ""},
    {"page": "\u0000", "per_page": "\ufffd"},
    {
        "page": "1",
        "per_page": "10",
        "cursor": "not-a-cursor",
        "order": "sideways",
        "sort_by": "shoe_size",
    },
    {
        "page": "1",
        "per_page": "10",
        "from": "yesterday",
        "to": "2020-13-45",
        "include_leads": "maybe",
    },
    {"page": "1", "per_page": "10", "countries[]": "germany", "teammate_id": "nope"},
    {
        "page": "1",
        "per_page": "10",
        "cursor": "YToxOTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
        "customer_ids": ",,,",
    },
    {"page": "1", "per_page": "10", "cursor": "Yjot", "emails": "@,@"},
    {"page": "1", "per_page": "10", "from": "1" + "0" * 400, "to": "-1"},
]


@pytest.mark.parametrize("query", QUERIES, ids=[str(i) for i in range(len(QUERIES))])
@pytest.mark.parametrize(
    "op", [op for op in OPERATIONS if op.method == "GET"], ids=lambda op: op.id
)
def test_bad_query_parameters_are_refused_in_the_envelope(mock, client, op, query) -> None:
    answer = send(client, op, query=query)
    assert_sane(mock, op, answer)


@pytest.mark.parametrize(
    "prefer",
    ["code=999", "code=", "example=", "dynamic=maybe", "seed=x", "code=200;seed=-1", ",,,=,"],
)
@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
def test_an_odd_prefer_header_is_answered_in_json(mock, client, op, prefer) -> None:
    answer = send(client, op, headers={**op.headers, "Prefer": prefer})
    assert_sane(mock, op, answer)
