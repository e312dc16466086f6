"""How to: test your client against outages, slow answers and dropped connections.

``mockserver.fault(...)`` makes the next ``count`` matching requests fail; after that the mock
answers normally again. Faults match by API, operationId, method and path. An injected status is
answered only as the spec documents it (both bundled specs document ``5XX``; a 429 carries
``Retry-After``); a status the operation does not document is refused when you arm it.
"""

import pytest
import requests

HEADERS = {"X-Authorization": "sk_test_faults"}


def fetch_with_retries(url: str, attempts: int = 3) -> requests.Response:
    """The client code under test: retry 5xx answers a few times."""
    for _ in range(attempts):
        response = requests.get(url, headers=HEADERS, timeout=2)
        if response.status_code < 500:
            return response
    return response


def test_client_retries_through_a_short_outage(mockserver):
    mockserver.seed("bunce", "sk_test_faults", [{
        "customer_id": "7", "email": "g@example.com", "first_name": "G", "last_name": "H",
        "phone_no": "+2348012345678"}])
    mockserver.fault(api="bunce", operation_id="getCustomer", status=503, count=2)

    response = fetch_with_retries(mockserver.base_url("bunce") + "/customers/7")

    assert response.status_code == 200
    assert [c["status"] for c in mockserver.requests(operation="getCustomer")] == [503, 503, 200]


def test_client_gives_up_on_a_long_outage(mockserver):
    mockserver.fault(api="bunce", status=503, count=10)
    assert fetch_with_retries(mockserver.base_url("bunce") + "/customers/7").status_code == 503


def test_timeouts_and_dropped_connections(mockserver):
    url = mockserver.base_url("bunce") + "/customers"
    mockserver.fault(api="bunce", latency_ms=500)  # slower than the client's timeout
    with pytest.raises(requests.Timeout):
        requests.get(url, headers=HEADERS, timeout=0.2)

    mockserver.fault(api="bunce", drop=True)  # the socket closes without an answer
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers=HEADERS, timeout=2)

    assert requests.get(url, headers=HEADERS, timeout=2).status_code == 200  # faults are used up


def test_rate_limited_answers_say_when_to_retry(mockserver):
    mockserver.fault(api="bunce", operation_id="getCustomer", status=429)

    response = requests.get(mockserver.base_url("bunce") + "/customers/7", headers=HEADERS,
                            timeout=2)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["success"] is False


def test_only_documented_statuses_can_be_injected(mockserver):
    # getCustomer documents 404 but not 409: the mock could not answer 409 as the spec says.
    with pytest.raises(ValueError, match="document: 200, 401, 404, 413, 415, 422, 429, 5XX"):
        mockserver.fault(api="bunce", operation_id="getCustomer", status=409)
