"""Rule 6, the /__mock/ control API: health, reset, the journal (fields, filters, bound), its own
OpenAPI document, and the control token."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from .support import BUNCE_AUTH, BUNCE_CUSTOMER, BUNCE_JSON, TAMIO_AUTH, body_of

TAMIO_LIST = "/tamio/v2/customers/list?page=1&per_page=10"


def journal(client, query: str = "") -> list[dict]:
    answer = client.get(f"/__mock/requests{query}")
    assert answer.status_code == 200
    return body_of(answer)["requests"]


def test_health_says_ok_and_what_is_mounted(client) -> None:
    body = body_of(client.get("/__mock/health"))
    assert body["status"] == "ok"
    assert {(a["name"], a["mount"]) for a in body["apis"]} == {
        ("tamio", "/tamio/v2"),
        ("bunce", "/bunce/v1"),
        ("widgets", "/widgets/v1"),
    }


def test_reset_forgets_customers_and_the_journal(mock, client) -> None:
    client.post("/bunce/v1/customers", headers=BUNCE_JSON, json=BUNCE_CUSTOMER)
    assert mock.customers("bunce", BUNCE_AUTH["X-Authorization"])
    assert body_of(client.post("/__mock/reset")) == {"reset": True}
    assert mock.customers("bunce", BUNCE_AUTH["X-Authorization"]) == []
    assert journal(client) == []
    assert client.get("/bunce/v1/customers/0000", headers=BUNCE_AUTH).status_code == 404


def test_each_request_is_journalled_with_what_a_test_asserts_on(client) -> None:
    client.post(
        "/bunce/v1/customers/bulk", headers=BUNCE_JSON, json={"customers": [{"email": "x"}]}
    )
    [entry] = journal(client)
    assert entry["api"] == "bunce"
    assert entry["operation_id"] == "createCustomersBulk"
    assert (entry["method"], entry["path"], entry["status"]) == (
        "POST",
        "/bunce/v1/customers/bulk",
        422,
    )
    assert {
        "location": "body",
        "field": "customers[0].first_name",
        "problem": "is required",
    } in entry["violations"]
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert entry["account"] == "sk_test_***"  # credentials are masked


def test_the_journal_filters_by_api_operation_status_since_and_limit(client) -> None:
    client.get(TAMIO_LIST, headers=TAMIO_AUTH)
    client.get("/bunce/v1/customers", headers=BUNCE_AUTH)
    client.get("/bunce/v1/customers/nobody", headers=BUNCE_AUTH)
    client.get("/bunce/v1/customers", headers={})
    assert [e["api"] for e in journal(client, "?api=tamio")] == ["tamio"]
    assert [e["status"] for e in journal(client, "?api=bunce&operation=listCustomers")] == [
        200,
        401,
    ]
    assert [e["operation_id"] for e in journal(client, "?status=404")] == ["getCustomer"]
    everything = journal(client)
    newer = journal(client, f"?since={everything[1]['seq']}")
    assert [e["seq"] for e in newer] == [e["seq"] for e in everything[2:]]
    assert [e["seq"] for e in journal(client, "?limit=2")] == [e["seq"] for e in everything[-2:]]


def test_a_bad_journal_filter_is_a_400_problem(client) -> None:
    answer = client.get("/__mock/requests?limit=abc")
    assert answer.status_code == 400
    assert body_of(answer)["detail"] == "query parameter 'limit': 'abc' is not of type integer"


def test_the_journal_is_bounded(make_mock) -> None:
    client = make_mock(journal_limit=3).client
    for page in range(1, 6):
        client.get(f"/tamio/v2/customers/list?page={page}&per_page=1", headers=TAMIO_AUTH)
    assert [e["query"] for e in journal(client)] == [f"page={p}&per_page=1" for p in (3, 4, 5)]


def test_the_control_api_serves_its_own_openapi_document(client) -> None:
    document = body_of(client.get("/__mock/openapi.json"))
    validate(document)
    assert {"/health", "/reset", "/requests"} <= set(document["paths"])


def test_an_unknown_control_endpoint_is_a_json_404_and_a_wrong_method_405(client) -> None:
    missing = client.get("/__mock/nothing")
    assert missing.status_code == 404
    assert "see /__mock/openapi.json" in body_of(missing)["detail"]
    wrong = client.post("/__mock/health")
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "GET")


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        (
            "/__mock/customers?api=bunce&account=sk_test_1",
            b"{not json",
            "the body is not valid JSON",
        ),
        (
            "/__mock/customers?api=bunce&account=sk_test_1",
            b"\xff\xfe",
            "the body is not valid JSON",
        ),
        (
            "/__mock/faults",
            b'{"status": 500, "api": ["bunce"]}',
            "body.api: an array of 1 items is not of type string",
        ),
        ("/__mock/faults", b'{"status": 500, "api": "nope"}', "unknown api 'nope'"),
        ("/__mock/faults", b'{"status": 500, "method": 5}', "body.method: 5 is not of type string"),
        (
            "/__mock/faults",
            b'{"status": 99, "latency_ms": -1, "drop": "yes", "count": 0}',
            "body.status: 99 is less than the minimum of 100; "
            "body.latency_ms: -1 is less than the minimum of 0; "
            "body.drop: 'yes' is not of type boolean; "
            "body.count: 0 is less than the minimum of 1",
        ),
        ("/__mock/faults", b"[]", "body: an array of 0 items is not of type object"),
        (
            "/__mock/webhooks/endpoints",
            b'{"url": "http://127.0.0.1:9/x", "secret": 5}',
            "body.secret: 5 is not of type string",
        ),
        (
            "/__mock/webhooks/endpoints",
            b'{"url": "ftp://127.0.0.1/x"}',
            "must be an absolute http:// or https:// URL",
        ),
        ("/__mock/webhooks/endpoints", b'{"url": 5}', "body.url: 5 is not of type string"),
        ("/__mock/webhooks/endpoints", b"{}", "body.url: is required"),
        ("/__mock/customers?api=bunce", b"[]", "query parameter 'account': required query"),
        ("/__mock/customers?api=bunce&account=sk_test_1", b"[5]", "body[0]: 5 is not of type"),
    ],
)
def test_bad_control_requests_are_400_problems(client, path, body, problem) -> None:
    answer = client.post(path, data=body, content_type="application/json")
    assert answer.status_code == 400
    assert problem in body_of(answer)["detail"]


def test_the_control_token_is_required_when_set(make_mock) -> None:
    client = make_mock(control_token="s3cret").client
    refused = client.get("/__mock/health")
    assert refused.status_code == 401
    assert (
        body_of(refused)["detail"]
        == "the control API needs its token: send 'X-Mock-Token: <token>' (in a browser, open "
        "/__mock/ui?token=<token> once)"
    )
    assert client.post("/__mock/reset", headers={"X-Mock-Token": "wrong"}).status_code == 401
    assert client.get("/__mock/health", headers={"X-Mock-Token": "s3cret"}).status_code == 200
    assert (
        client.get("/__mock/requests", headers={"Authorization": "Bearer s3cret"}).status_code
        == 200
    )
    # The token guards the control API only; the mocked APIs keep their own auth.
    assert client.get("/bunce/v1/customers", headers=BUNCE_AUTH).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "problem"),
    [
        ("GET", "/__mock/jobs?status=bogus", None, "query parameter 'status': 'bogus' is not one"),
        ("GET", "/__mock/requests?rejected=maybe", None, "query parameter 'rejected': 'maybe'"),
        ("GET", "/__mock/requests?limit=-1", None, "query parameter 'limit': -1 is less than"),
        ("GET", "/__mock/accounts", None, "query parameter 'api': required query parameter"),
        ("PUT", "/__mock/rate-limits", {"api": "bunce"}, "body.enabled: is required"),
        (
            "PUT",
            "/__mock/rate-limits",
            {"api": "bunce", "enabled": "yes"},
            "body.enabled: 'yes' is not of type boolean",
        ),
    ],
)
def test_control_requests_are_checked_against_the_control_spec(
    client, method, path, body, problem
) -> None:
    answer = client.open(path, method=method, json=body)
    assert answer.status_code == 400
    assert answer.content_type == "application/problem+json"
    refused = body_of(answer)
    assert refused["status"] == 400
    assert refused["detail"].startswith(problem)


def test_a_checked_control_request_still_works(client) -> None:
    assert client.get("/__mock/requests?rejected=true&bodies=false&limit=0").status_code == 200
    answer = client.post(
        "/__mock/webhooks/endpoints",
        json={"api": "bunce", "url": "http://127.0.0.1:9/hook", "events": "customer.created"},
    )
    assert answer.status_code == 201
    assert body_of(answer)["events"] == ["customer.created"]


def test_the_fixture_checks_a_fault_as_the_control_api_does(mock) -> None:
    with pytest.raises(ValueError, match=r"^body.latency_ms: 70000 is greater than the maximum"):
        mock.fault(api="bunce", latency_ms=70_000)
    with pytest.raises(ValueError, match="a fault needs 'status', 'latency_ms' or 'drop'"):
        mock.fault(api="bunce")
    assert mock.services.state.faults.list() == []
