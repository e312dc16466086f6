"""Rule 4, envelopes: each API answers errors in the shape it documents; user specs get
RFC 7807 problem+json."""

from __future__ import annotations

import pytest

from .support import BUNCE_AUTH, BUNCE_JSON, TAMIO_AUTH, WIDGETS_AUTH, body_of

TAMIO_LIST = "/tamio/v2/customers/list?page=1&per_page=10"


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "Missing Authorization header; send 'Authorization: Bearer <your API key>'"),
        (
            {"Authorization": "Token abc"},
            "Malformed Authorization header; expected 'Bearer <your API key>'",
        ),
        (
            {"Authorization": "Bearer "},
            "Malformed Authorization header; expected 'Bearer <your API key>'",
        ),
    ],
)
def test_tamio_401_has_status_and_error_but_no_error_code(client, headers, error) -> None:
    answer = client.get(TAMIO_LIST, headers=headers)
    assert answer.status_code == 401
    assert body_of(answer) == {"status": 401, "error": error}


def test_tamio_errors_carry_status_error_and_error_code(client) -> None:
    answer = client.get(
        "/tamio/v2/customers/retrieve/0b6d3c1e-3c2a-4a8e-9a51-6d2f1c0e7b10", headers=TAMIO_AUTH
    )
    assert answer.status_code == 400
    assert body_of(answer) == {
        "status": 400,
        "error": "Customer 0b6d3c1e-3c2a-4a8e-9a51-6d2f1c0e7b10 was not found",
        "error_code": 1002,
    }


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing API key; send it in the X-Authorization header"),
        (
            {"X-Authorization": "pk_test_1"},
            "Invalid API key 'pk_test_***'; expected a key matching ^sk_(test|live)_\\S+$",
        ),
    ],
)
def test_bunce_401_is_success_false_with_a_message(client, headers, message) -> None:
    answer = client.get("/bunce/v1/customers", headers=headers)
    assert answer.status_code == 401
    assert body_of(answer) == {"success": False, "message": message}


def test_bunce_validation_errors_list_every_violation(client) -> None:
    answer = client.post("/bunce/v1/customers", headers=BUNCE_JSON, json={"email": "x"})
    assert answer.status_code == 422
    body = body_of(answer)
    assert body["success"] is False
    assert body["message"].startswith("first_name: is required (and ")
    assert "email: 'x' is not a valid email" in body["errors"]


def test_bunce_unknown_customer_is_404_in_its_envelope(client) -> None:
    answer = client.get("/bunce/v1/customers/nobody", headers=BUNCE_AUTH)
    assert (answer.status_code, body_of(answer)) == (
        404,
        {"success": False, "message": "Customer nobody not found"},
    )


def test_a_user_spec_answers_problem_json_with_its_documented_status(client) -> None:
    # createWidget documents its invalid input as 422 application/problem+json.
    answer = client.post("/widgets/v1/widgets", headers=WIDGETS_AUTH, json={"colour": None})
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert body_of(answer) == {
        "type": "about:blank",
        "title": "validation",
        "status": 422,
        "detail": "name: is required",
        "errors": [{"location": "body", "field": "name", "problem": "is required"}],
    }


def test_a_user_spec_401_is_problem_json(client) -> None:
    answer = client.get("/widgets/v1/widgets")
    assert answer.status_code == 401
    assert body_of(answer)["detail"] == "Missing API key; send it in the X-Api-Key header"


def test_an_operation_without_security_needs_no_credential(client) -> None:
    assert body_of(client.get("/widgets/v1/status")) == {"ok": True}
