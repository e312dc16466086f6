"""Rule 2, routing: mounts, literal-before-template matching, typed path parameters, 404/405 in the
API's envelope, JSON 404 outside every API, and CORS preflight."""

from __future__ import annotations

import pytest

from .support import (
    BUNCE_AUTH,
    BUNCE_CUSTOMER,
    BUNCE_JSON,
    TAMIO_AUTH,
    TAMIO_CUSTOMER,
    WIDGETS_AUTH,
    assert_envelope,
    body_of,
)


def last_operation(mock) -> str | None:
    return mock.requests()[-1]["operation_id"]


def test_each_api_is_mounted_at_its_name_plus_its_server_path(client) -> None:
    tamio = client.post(
        "/tamio/v2/customers/bulk/create", headers=TAMIO_AUTH, json={"customers": [TAMIO_CUSTOMER]}
    )
    bunce = client.post(
        "/bunce/v1/customers/bulk", headers=BUNCE_JSON, json={"customers": [BUNCE_CUSTOMER]}
    )
    assert (tamio.status_code, body_of(tamio)) == (200, {"status": 200})
    assert bunce.status_code == 200
    assert body_of(bunce)["message"] == "Customers created successfully"


def test_a_literal_path_wins_over_a_template(mock, client) -> None:
    client.post(
        "/bunce/v1/customers/bulk", headers=BUNCE_JSON, json={"customers": [BUNCE_CUSTOMER]}
    )
    assert last_operation(mock) == "createCustomersBulk"
    client.get("/bunce/v1/customers/0000", headers=BUNCE_AUTH)
    assert last_operation(mock) == "getCustomer"


def test_a_trailing_slash_reaches_the_same_operation(mock, client) -> None:
    answer = client.get("/bunce/v1/customers/", headers=BUNCE_AUTH)
    assert answer.status_code == 200
    assert last_operation(mock) == "listCustomers"


def test_only_one_trailing_slash_is_forgiven(mock, client) -> None:
    # "/customers/%2F" arrives decoded as "/customers//": a customer id, never the list.
    answer = client.get("/bunce/v1/customers//", headers=BUNCE_AUTH)
    assert answer.status_code == 404
    assert last_operation(mock) is None


def test_path_parameters_are_typed_by_their_schema(client) -> None:
    assert body_of(client.get("/widgets/v1/widgets/12", headers=WIDGETS_AUTH))["name"] == "Sprocket"
    wrong = client.get("/widgets/v1/widgets/twelve", headers=WIDGETS_AUTH)
    assert wrong.status_code == 400
    assert assert_envelope("widgets", wrong)["errors"] == [
        {"location": "path", "field": "widget_id", "problem": "'twelve' is not of type integer"}
    ]
    assert body_of(client.get("/widgets/v1/widgets/0", headers=WIDGETS_AUTH))["detail"] == (
        "widget_id: 0 is less than the minimum of 1"
    )


def test_a_path_parameter_is_percent_decoded(client) -> None:
    client.post(
        "/bunce/v1/customers", headers=BUNCE_JSON, json={**BUNCE_CUSTOMER, "customer_id": "a b"}
    )
    found = client.get("/bunce/v1/customers/a%20b", headers=BUNCE_AUTH)
    assert body_of(found)["data"]["customer_id"] == "a b"


@pytest.mark.parametrize(
    ("api", "path", "headers"),
    [
        ("tamio", "/tamio/v2/customers/delete", TAMIO_AUTH),
        ("bunce", "/bunce/v1/orders", BUNCE_AUTH),
        ("widgets", "/widgets/v1/gadgets", WIDGETS_AUTH),
        ("tamio", "/tamio/v2", TAMIO_AUTH),
    ],
)
def test_an_unknown_path_inside_an_api_is_404_in_its_envelope(client, api, path, headers) -> None:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 404
    body = assert_envelope(api, answer)
    if api == "tamio":
        assert body["error_code"] == 99404


@pytest.mark.parametrize(
    ("api", "method", "path", "allow"),
    [
        ("tamio", "GET", "/tamio/v2/customers/bulk/create", "POST"),
        (
            "tamio",
            "DELETE",
            "/tamio/v2/customers/retrieve/0b6d3c1e-3c2a-4a8e-9a51-6d2f1c0e7b10",
            "GET",
        ),
        ("bunce", "PUT", "/bunce/v1/customers", "GET, POST"),
        ("bunce", "PATCH", "/bunce/v1/customers/0000", "GET, PUT"),
        ("bunce", "DELETE", "/bunce/v1/customers/0000/devices", "GET, POST, PATCH"),
        ("widgets", "PUT", "/widgets/v1/widgets/3", "GET, DELETE"),
    ],
)
def test_an_undocumented_method_is_405_with_allow_in_the_envelope(
    client, api, method, path, allow
) -> None:
    answer = client.open(path, method=method, headers={**TAMIO_AUTH, **BUNCE_AUTH})
    assert answer.status_code == 405
    assert answer.headers["Allow"] == allow
    body = assert_envelope(api, answer)
    if api == "tamio":
        assert body["error_code"] == 99405


@pytest.mark.parametrize(
    "path", ["/", "/nothing", "/tamio", "/tamio/v1/customers/list", "/bunce", "/__mockery"]
)
def test_a_path_outside_every_api_is_a_json_404_naming_the_mounts(client, path) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    body = assert_envelope("problem", answer)
    assert "mounted: " in body["detail"] and "/tamio/v2" in body["detail"]


def test_cors_preflight_is_answered_with_the_documented_methods(client) -> None:
    answer = client.options(
        "/bunce/v1/customers",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-authorization, content-type",
        },
    )
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert answer.headers["Access-Control-Allow-Headers"] == "x-authorization, content-type"


def test_a_cross_origin_request_gets_allow_origin(client) -> None:
    answer = client.get(
        "/bunce/v1/customers", headers={**BUNCE_AUTH, "Origin": "https://app.example"}
    )
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_can_be_switched_off(make_mock) -> None:
    client = make_mock(cors=False).client
    preflight = client.options(
        "/bunce/v1/customers",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert preflight.status_code == 405
    assert_envelope("bunce", preflight)
    plain = client.get(
        "/bunce/v1/customers", headers={**BUNCE_AUTH, "Origin": "https://app.example"}
    )
    assert "Access-Control-Allow-Origin" not in plain.headers
