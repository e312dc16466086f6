"""The ``mockserver`` fixture used directly (this session loads the plugin by its entry point)."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest
import requests

from mockserver.apis.bunce import PACK as BUNCE
from mockserver.apis.tamio import PACK as TAMIO
from mockserver.config import Settings
from mockserver.packs import Call, Reply
from mockserver.testing import MockServer, ServerError

BUNCE_KEY = "sk_test_plugin"
TAMIO_TOKEN = "tamio-plugin-token"


def bunce_customer(n: int, email: str | None = None) -> dict[str, str]:
    return {"customer_id": f"c{n}", "email": email or f"person{n}@example.com",
            "first_name": "Ada", "last_name": "Obi", "phone_no": "+2348012345678"}


def bunce(mockserver: MockServer, method: str, path: str, **kwargs: object) -> requests.Response:
    return requests.request(method, mockserver.base_url("bunce") + path,
                            headers={"X-Authorization": BUNCE_KEY}, timeout=5, **kwargs)


def tamio(mockserver: MockServer, method: str, path: str, **kwargs: object) -> requests.Response:
    return requests.request(method, mockserver.base_url("tamio") + path,
                            headers={"Authorization": f"Bearer {TAMIO_TOKEN}"}, timeout=5, **kwargs)


def test_base_url_is_where_a_client_points(mockserver: MockServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/bunce/v1", mockserver.base_url("bunce"))
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/tamio/v2", mockserver.base_url("tamio"))
    assert requests.get(mockserver.url + "/__mock/health", timeout=5).json()["status"] == "ok"
    with pytest.raises(KeyError, match="no API 'stripe'"):
        mockserver.base_url("stripe")


def test_starts_empty(mockserver: MockServer) -> None:
    assert mockserver.requests() == []
    assert mockserver.customers("bunce", BUNCE_KEY) == []
    assert mockserver.violations == []


def test_requests_filters_by_api_and_operation(mockserver: MockServer) -> None:
    assert bunce(mockserver, "POST", "/customers/bulk",
                 json={"customers": [bunce_customer(1)]}).status_code == 200
    assert bunce(mockserver, "GET", "/customers/c1").status_code == 200
    assert tamio(mockserver, "GET", "/customers/list", params={"page": 1, "per_page": 5}).ok

    assert [e["operation_id"] for e in mockserver.requests()] == [
        "createCustomersBulk", "getCustomer", "listCustomers"]
    [bulk] = mockserver.requests(api="bunce", operation="createCustomersBulk")
    assert bulk["status"] == 200
    assert bulk["body"]["customers"][0]["email"] == "person1@example.com"
    assert bulk["account"].startswith("sk_test_") and bulk["account"].endswith("***")  # masked
    assert [e["api"] for e in mockserver.requests(operation="listCustomers")] == ["tamio"]
    assert mockserver.requests(api="tamio", operation="getCustomer") == []


def test_assert_called_counts_and_explains(mockserver: MockServer) -> None:
    bunce(mockserver, "GET", "/customers/nobody")
    bunce(mockserver, "GET", "/customers/nobody")
    calls = mockserver.assert_called("getCustomer", times=2)
    assert [c["status"] for c in calls] == [404, 404]
    mockserver.assert_called("getCustomer")  # at least once

    with pytest.raises(AssertionError) as failure:
        mockserver.assert_called("createCustomersBulk", times=1)
    message = str(failure.value)
    assert "expected createCustomersBulk to be called 1 time(s), it was called 0 time(s)" in message
    assert "GET /bunce/v1/customers/nobody -> 404 (getCustomer)" in message  # what did happen

    with pytest.raises(AssertionError, match="called 2 time"):
        mockserver.assert_called("getCustomer", times=3)


def test_violations_name_the_field(mockserver: MockServer) -> None:
    response = bunce(mockserver, "POST", "/customers/bulk",
                     json={"customers": [bunce_customer(1, email="not-an-email")]})
    assert response.status_code == 422
    [rejected] = mockserver.violations
    assert rejected["operation_id"] == "createCustomersBulk"
    assert [v["field"] for v in rejected["violations"]] == ["customers[0].email"]


def test_customers_and_seed(mockserver: MockServer) -> None:
    results = mockserver.seed("bunce", BUNCE_KEY, [bunce_customer(1), bunce_customer(2),
                                                   bunce_customer(3, email="PERSON1@example.com")])
    assert ["created" in r for r in results] == [True, True, False]
    assert "already taken" in results[2]["error"]
    assert [c["customer_id"] for c in mockserver.customers("bunce", BUNCE_KEY)] == ["c1", "c2"]
    # Seeded customers are what the API serves, and only to their own account.
    fetched = bunce(mockserver, "GET", "/customers/c2").json()["data"]
    assert fetched["email"] == "person2@example.com"
    assert mockserver.customers("bunce", "sk_test_someone_else") == []


def test_fault_hits_the_next_matching_request_only(mockserver: MockServer) -> None:
    mockserver.seed("bunce", BUNCE_KEY, [bunce_customer(1)])
    mockserver.fault(api="bunce", operation_id="getCustomer", status=503)
    first = bunce(mockserver, "GET", "/customers/c1")
    assert first.status_code == 503
    assert first.json()["success"] is False  # in Bunce's envelope
    assert bunce(mockserver, "GET", "/customers/c1").status_code == 200

    mockserver.fault(api="bunce", latency_ms=300)
    started = time.monotonic()
    assert bunce(mockserver, "GET", "/customers/c1").status_code == 200
    assert time.monotonic() - started >= 0.3

    mockserver.fault(api="bunce", drop=True)
    with pytest.raises(requests.ConnectionError):
        bunce(mockserver, "GET", "/customers/c1")


def test_flush_jobs_runs_the_tamio_import_now(mockserver: MockServer) -> None:
    body = {"customers": [{"name": "Anna", "email": "anna@example.de", "country": "DE"},
                          {"name": "Ben", "email": "ANNA@example.de", "country": "de"}]}
    assert tamio(mockserver, "POST", "/customers/bulk/create", json=body).json() == {"status": 200}
    assert mockserver.flush_jobs()["jobs"] == 1
    [anna] = mockserver.customers("tamio", TAMIO_TOKEN)  # the case variant was skipped
    assert (anna["email"], anna["country"], anna["source"]) == ("anna@example.de", "de", "import")


def test_webhook_receiver_gets_signed_events(mockserver: MockServer) -> None:
    receiver = mockserver.webhook_receiver("tamio")
    assert tamio(mockserver, "POST", "/customers/create",
                 json={"name": "Anna", "email": "anna@example.de", "country": "de"}).ok
    mockserver.flush_jobs()
    [delivery] = receiver.wait_for(1)
    assert delivery.verified, delivery.error
    assert delivery.event["event_type"] == "customer.created"
    assert delivery.event["data"]["customer"]["email"] == "anna@example.de"


def test_mockserver_app_is_in_process(mockserver_app: MockServer) -> None:
    client = mockserver_app.client
    response = client.post("/bunce/v1/customers", json=bunce_customer(7),
                           headers={"X-Authorization": BUNCE_KEY})
    assert response.status_code == 201
    assert mockserver_app.server is None  # no socket
    mockserver_app.assert_called("createCustomer", times=1)
    assert mockserver_app.customers("bunce", BUNCE_KEY)[0]["customer_id"] == "c7"


def test_check_reraises_what_broke_inside(mockserver_settings: Settings) -> None:
    def broken(call: Call) -> Reply:
        raise RuntimeError("boom in the behaviour")

    behaviours = {**BUNCE.behaviours, "getCustomer": broken}
    packs = [dataclasses.replace(BUNCE, behaviours=behaviours), TAMIO]
    mock = MockServer.in_process(mockserver_settings, apis=packs)
    try:
        response = mock.client.get("/bunce/v1/customers/x", headers={"X-Authorization": BUNCE_KEY})
        assert response.status_code == 500
        assert response.is_json  # never an HTML page
        with pytest.raises(ServerError, match="RuntimeError: boom in the behaviour"):
            mock.check()
        mock.check()  # reported once
    finally:
        mock.stop()


def test_a_fault_that_makes_no_sense_is_refused_like_the_control_api_refuses_it(
    mockserver: MockServer,
) -> None:
    with pytest.raises(ValueError, match="needs 'status', 'latency_ms' or 'drop'"):
        mockserver.fault(api="bunce")
    with pytest.raises(ValueError, match="bunce has no operation 'createCustomers'"):
        mockserver.fault(api="bunce", operation_id="createCustomers", status=503)

    assert mockserver.services.state.faults.list() == []
