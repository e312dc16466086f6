"""Proxy mode: requests to a proxied API are checked, forwarded, and the upstream's answer comes
back unchanged, with every way either side breaks the spec reported (journal, header, log)."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
import requests
from shared import free_port

from mockserver.config import Settings
from mockserver.errors import ConfigError

from .conftest import AUTH, KEY, proxy_settings
from .upstream import ANSWERS


def get(mock, case: str, **headers: str) -> requests.Response:
    return requests.get(
        mock.base_url("bunce") + f"/customers/{case}", headers={**AUTH, **headers}, timeout=10
    )


def violations(response: requests.Response) -> list[dict]:
    return json.loads(response.headers["X-Mock-Violations"])


def test_a_documented_answer_comes_back_unchanged_with_nothing_reported(proxy, broken) -> None:
    answer = get(proxy, "fine", **{"X-Client-Trace": "t-1", "Proxy-Authorization": "Basic eA=="})

    assert answer.status_code == 200
    assert answer.json() == ANSWERS["fine"][1]
    assert "X-Mock-Violations" not in answer.headers
    assert answer.headers["X-Request-Id"].startswith("req_")  # the upstream's own headers too
    [seen] = broken.received
    assert (seen.method, seen.path) == ("GET", "/v1/customers/fine")
    assert seen.headers["X-Authorization"] == KEY  # the credential goes upstream as sent
    assert seen.headers["X-Client-Trace"] == "t-1"
    assert "Proxy-Authorization" not in seen.headers  # hop-by-hop headers stay behind
    assert seen.headers["Host"] == broken.url.split("/")[2]
    [entry] = proxy.requests()
    assert entry["upstream"]["status"] == 200
    assert entry["upstream"]["url"] == broken.url + "/customers/fine"
    assert "drift" not in entry


def test_repeated_headers_come_back_folded_and_only_the_first_cookie(proxy) -> None:
    answer = get(proxy, "repeated")
    assert answer.headers["X-Note"] == "a, b"
    assert answer.headers["Set-Cookie"] == "first=1"


@pytest.mark.parametrize(
    ("case", "status", "location", "field", "problem"),
    [
        ("undocumented", 403, "status", "status", "403 is not documented for getCustomer"),
        ("missing", 200, "body", "data.customer_created_at", "is required"),
        ("wrong-type", 200, "body", "data.phone_no", "23481999999999 is not of type string"),
        ("accent", 200, "body", "data.customer_created_at", "'hier à 10 h' is not a valid"),
        ("html", 200, "header", "Content-Type", "text/html is not documented for 200"),
    ],
)
def test_each_way_the_upstream_breaks_the_spec_is_reported_with_its_path(
    proxy, caplog, case, status, location, field, problem
) -> None:
    with caplog.at_level(logging.WARNING, logger="mockserver.proxy"):
        answer = get(proxy, case)

    assert answer.status_code == status  # relayed as the upstream answered
    [shown] = violations(answer)
    assert (shown["side"], shown["field"]) == ("response", field)
    assert shown["problem"].startswith(problem)
    [entry] = proxy.requests()
    [finding] = entry["drift"]
    assert finding["side"] == "response"
    assert (finding["location"], finding["field"]) == (location, field)
    assert finding["problem"].startswith(problem)
    [line] = [r.getMessage() for r in caplog.records if r.name == "mockserver.proxy"]
    assert f"response {field}: {problem}" in line
    assert "GET /bunce/v1/customers/" + case in line


def test_a_non_ascii_violation_travels_escaped_in_an_ascii_header(proxy) -> None:
    answer = get(proxy, "accent")
    raw = answer.headers["X-Mock-Violations"]
    assert raw.isascii()
    assert "\\u00e0" in raw  # "à", escaped
    assert "hier à 10 h" in violations(answer)[0]["problem"]  # and decoded back intact
    assert answer.json()["data"]["customer_created_at"] == "hier à 10 h"


def test_an_invalid_request_is_forwarded_anyway_and_its_violations_reported(
    proxy, broken
) -> None:
    body = b'{"customers": [{"first_name": "Ada"}, {"first_name": "Bo", "email": "bo@x.io"}]}'
    answer = requests.post(
        proxy.base_url("bunce") + "/customers/bulk",
        data=body,
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=10,
    )

    assert answer.status_code == 207  # the upstream's answer, not the mock's 422
    [seen] = broken.received
    assert seen.body == body  # the same bytes
    [entry] = proxy.requests()
    request_side = [f for f in entry["drift"] if f["side"] == "request"]
    assert {"side": "request", "location": "body", "field": "customers[0].last_name",
            "problem": "is required"} in request_side
    assert {f["field"] for f in request_side} >= {"customers[0]", "customers[1].last_name"}
    assert entry["violations"][0]["field"] == "customers[0].last_name"  # as the mock refuses
    response_side = [f for f in entry["drift"] if f["side"] == "response"]
    assert response_side == [{
        "side": "response", "location": "status", "field": "status",
        "problem": "207 is not documented for createCustomersBulk (documented: 200, 400, 401, "
                   "409, 413, 415, 422, 429, 5XX)"}]
    assert [v["side"] for v in violations(answer)] == ["request"] * len(request_side) + [
        "response"
    ]


@pytest.mark.parametrize(
    ("method", "path", "headers", "location", "field"),
    [
        ("GET", "/customers/fine", {}, "security", "security"),  # no credential
        ("POST", "/customers/bulk", {**AUTH, "Content-Type": "text/plain"}, "header",
         "Content-Type"),
        ("GET", "/nowhere", AUTH, "path", "path"),  # no operation documents it
        ("DELETE", "/customers/fine", AUTH, "method", "method"),
    ],
)
def test_requests_the_mock_would_refuse_are_forwarded_and_the_reason_noted(
    proxy, broken, method, path, headers, location, field
) -> None:
    body = b'{"customers": []}' if method == "POST" else None
    requests.request(
        method, proxy.base_url("bunce") + path, headers=headers, data=body, timeout=10
    )
    [seen] = broken.received
    assert seen.path == "/v1" + path
    [entry] = proxy.requests()
    first = entry["drift"][0]
    assert (first["side"], first["location"], first["field"]) == ("request", location, field)


def test_a_slow_upstream_is_a_504_in_the_apis_envelope(proxy) -> None:
    started = time.monotonic()
    answer = get(proxy, "slow")
    assert time.monotonic() - started < 1.9  # the proxy's timeout (0.5 s), not the upstream's 2 s
    assert answer.status_code == 504
    assert answer.headers["X-Mock-Upstream-Error"] == "timeout"
    body = answer.json()
    assert body["success"] is False
    assert body["message"].startswith("Proxy: the upstream 127.0.0.1:")
    assert "did not answer within 0.5 s" in body["message"]
    [entry] = proxy.requests()
    assert entry["upstream"]["error"] == "timeout"


def test_a_dropped_connection_is_a_502(proxy) -> None:
    answer = get(proxy, "drop")
    assert answer.status_code == 502
    assert answer.headers["X-Mock-Upstream-Error"] == "dropped"
    assert "closed the connection without an answer" in answer.json()["message"]


def test_a_refused_connection_and_a_failed_tls_handshake_are_502s(broken, start_mock) -> None:
    refused = start_mock(proxy_settings(f"http://127.0.0.1:{free_port()}/v1"))
    answer = get(refused, "fine")
    assert (answer.status_code, answer.headers["X-Mock-Upstream-Error"]) == (502, "refused")
    assert "refused the connection" in answer.json()["message"]

    tls = start_mock(proxy_settings(broken.url.replace("http://", "https://")))
    answer = get(tls, "fine")
    assert (answer.status_code, answer.headers["X-Mock-Upstream-Error"]) == (502, "tls")
    assert "TLS handshake" in answer.json()["message"]


def test_a_slow_upstream_holds_up_no_other_request(broken, start_mock) -> None:
    # The timeout (1.9 s) leaves the quick request plenty of time, even on a busy machine.
    proxy = start_mock(proxy_settings(broken.url, proxy_timeout_s=1.9))
    finished: list[str] = []
    slow = threading.Thread(target=lambda: finished.append(get(proxy, "slow").status_code))
    slow.start()
    time.sleep(0.05)
    assert get(proxy, "fine").status_code == 200
    finished.append("fine")
    slow.join()
    assert finished == ["fine", 504]


def test_strict_mode_refuses_invalid_requests_and_answers_502_for_invalid_answers(
    broken, start_mock
) -> None:
    strict = start_mock(proxy_settings(broken.url, proxy_strict=True))
    broken.received.clear()

    refused = requests.post(strict.base_url("bunce") + "/customers/bulk", headers=AUTH,
                            json={"customers": [{"first_name": "Ada"}]}, timeout=10)
    assert refused.status_code == 422  # the mock's own refusal, as without a proxy
    assert refused.json()["message"].startswith("customers[0].last_name: is required")
    assert broken.received == []  # not forwarded

    broken_answer = get(strict, "wrong-type")
    assert broken_answer.status_code == 502
    assert broken_answer.headers["X-Mock-Upstream-Error"] == "drift"
    assert broken_answer.json()["message"] == (
        "Proxy (strict): the upstream answered 200, which breaks the spec: "
        "response data.phone_no: 23481999999999 is not of type string"
    )
    assert get(strict, "fine").status_code == 200


def test_injected_faults_are_still_answered_by_the_mock(proxy, broken) -> None:
    proxy.fault(api="bunce", status=503)
    assert get(proxy, "fine").status_code == 503
    assert broken.received == []


def test_proxy_settings_are_checked_at_start(broken, monkeypatch) -> None:
    from mockserver.app import create_app

    monkeypatch.setenv("MOCKSERVER_PROXY", f"bunce={broken.url}")
    assert Settings.from_env().proxy == {"bunce": broken.url}
    with pytest.raises(ConfigError, match="no API 'stripe' is mounted; mounted: bunce"):
        create_app(proxy_settings(broken.url, proxy={"stripe": broken.url}))
    with pytest.raises(ConfigError, match="must be an http\\(s\\) URL"):
        create_app(proxy_settings("ftp://example.com/v1"))
    with pytest.raises(ConfigError, match="--record writes what the proxy forwards"):
        create_app(proxy_settings(broken.url, proxy={}, record_dir="/tmp/x"))
