"""The dashboard's server side, without a browser: the token exchange, the files it ships, and
the control API features it polls (bodies in the journal, one entry by seq, ETags)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import mockserver
from mockserver.config import Settings
from mockserver.engine import JOURNAL_BODY_LIMIT
from mockserver.testing import MockServer

from .conftest import JOHN

TOKEN = "s3cret-control-token"
BUNCE_KEY = {"X-Authorization": "sk_test_http_account"}
UI = Path(mockserver.__file__).parent / "ui"


@pytest.fixture
def mock() -> Iterator[MockServer]:
    settings = Settings(validate_responses="strict", log_requests=False, background=False)
    with MockServer.in_process(settings) as server:
        yield server
    server.check()


@pytest.fixture
def guarded() -> Iterator[MockServer]:
    settings = Settings(control_token=TOKEN, log_requests=False, background=False)
    with MockServer.in_process(settings) as server:
        yield server


def test_the_token_is_exchanged_once_for_a_strict_http_only_cookie(guarded: MockServer) -> None:
    client = guarded.client
    assert client.get("/__mock/ui").status_code == 401
    assert client.get("/__mock/ui?token=wrong").status_code == 401
    assert client.get(f"/__mock/requests?token={TOKEN}").status_code == 401  # the page only

    exchange = client.get(f"/__mock/ui?token={TOKEN}")
    assert exchange.status_code == 303
    assert exchange.headers["Location"] == "/__mock/ui"
    cookie = exchange.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/__mock" in cookie
    assert TOKEN not in cookie

    page = client.get("/__mock/ui")  # the test client sends the cookie back, as a browser does
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert client.get("/__mock/requests").status_code == 200  # what the page polls
    assert client.post("/__mock/reset", json={}).status_code == 200

    stranger = guarded.app.test_client()
    stranger.set_cookie("mockserver_control", "forged", path="/__mock")
    assert stranger.get("/__mock/requests").status_code == 401


def test_the_cookie_is_secure_over_https(guarded: MockServer) -> None:
    answer = guarded.client.get(f"/__mock/ui?token={TOKEN}", base_url="https://localhost")
    assert "Secure" in answer.headers["Set-Cookie"]


def test_the_page_and_its_files_ship_in_the_package_and_load_nothing_from_elsewhere(
    mock: MockServer,
) -> None:
    page = mock.client.get("/__mock/ui")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    referenced = re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True))
    assert sorted(referenced) == ["/__mock/ui/dashboard.css", "/__mock/ui/dashboard.js"]
    for path, mimetype in (
        ("/__mock/ui/dashboard.js", "text/javascript"),
        ("/__mock/ui/dashboard.css", "text/css"),
    ):
        answer = mock.client.get(path)
        assert answer.status_code == 200 and answer.mimetype == mimetype
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    for file in UI.iterdir():
        assert not re.search(r"https?://", file.read_text()), f"{file.name} names another host"
    missing = mock.client.get("/__mock/ui/other.js")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_the_journal_keeps_the_response_body_and_leaves_bodies_out_on_request(
    mock: MockServer,
) -> None:
    answer = mock.client.post(
        "/bunce/v1/customers/bulk", json={"customers": [JOHN]}, headers=BUNCE_KEY
    )
    assert answer.status_code == 200
    [entry] = mock.client.get("/__mock/requests").get_json()["requests"]
    assert entry["body"] == {"customers": [JOHN]}
    assert entry["response"] == answer.get_json()

    [summary] = mock.client.get("/__mock/requests?bodies=false").get_json()["requests"]
    assert "body" not in summary and "response" not in summary
    assert summary["seq"] == entry["seq"] and summary["status"] == 200

    one = mock.client.get(f"/__mock/requests/{entry['seq']}")
    assert one.get_json() == entry
    gone = mock.client.get(f"/__mock/requests/{entry['seq'] + 1}")
    assert gone.status_code == 404 and gone.mimetype == "application/problem+json"


def test_a_response_over_the_limit_is_journalled_by_its_size(mock: MockServer) -> None:
    many = [
        {**JOHN, "customer_id": f"c{n}", "email": f"c{n}@example.com", "first_name": "J" * 200}
        for n in range(300)
    ]
    answer = mock.client.post(
        "/bunce/v1/customers/bulk", json={"customers": many}, headers=BUNCE_KEY
    )
    assert answer.status_code == 200 and len(answer.get_data()) > JOURNAL_BODY_LIMIT
    [entry] = mock.requests()
    assert "response" not in entry
    assert entry["response_bytes"] == len(answer.get_data())


def test_an_unchanged_answer_is_a_bodiless_304(mock: MockServer) -> None:
    first = mock.client.get("/__mock/requests?bodies=false")
    etag = first.headers["ETag"]
    again = mock.client.get("/__mock/requests?bodies=false", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    mock.client.get("/bunce/v1/customers", headers=BUNCE_KEY)  # the journal grows
    changed = mock.client.get("/__mock/requests?bodies=false", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and len(changed.get_json()["requests"]) == 1


def test_an_error_answer_is_journalled_as_json(mock: MockServer) -> None:
    answer = mock.client.post(
        "/bunce/v1/customers/bulk", data="{", content_type="application/json", headers=BUNCE_KEY
    )
    assert answer.status_code == 400
    [entry] = mock.requests()
    assert entry["response"] == answer.get_json()


def test_a_body_that_is_not_the_json_it_claims_is_journalled_as_text() -> None:
    from mockserver.engine import _recorded  # an upstream's answer, proxied
    from mockserver.messages import ResponseData

    assert _recorded(ResponseData(502, b"{oops", "application/json")) == "{oops"
