"""The control API answers the developer, never a web page they visit.

With no control token (the loopback default) a page could otherwise drive ``/__mock/``: a
cross-site ``text/plain`` POST needs no CORS preflight, and a page whose DNS name was re-pointed at
127.0.0.1 (DNS rebinding) sends its own name as ``Host``. And no control answer or log line may
show a credential in full. All against ``mockserver serve --workers 2`` over real HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockserver.testing import ServeProcess

from .support import BUNCE, TAMIO, bunce_customer, problems_in_log, start_server, tamio_customer

SCHEMES = Path(__file__).parent.parent / "userspecs" / "specs" / "schemes.yaml"
# Long credentials, so that what the mask keeps (the kind prefix and the last 4) is not all.
BUNCE_KEY = "sk_test_4f9c2b7e1d8a6035guardkey"
TAMIO_TOKEN = "tok_9e7d5c3b1a2f4e6dguardtoken"
QUERY_KEY = "qk_live_0a1b2c3d4e5f6a7bquerykey"
SIGNING_SECRET = "whsec_5a4b3c2d1e0f9a8bguardsecret"
FULL_SECRETS = [BUNCE_KEY, TAMIO_TOKEN, QUERY_KEY, SIGNING_SECRET]
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def server() -> Iterator[ServeProcess]:
    """Two workers, a name admitted with --allowed-host, a spec with a query-string API key and a
    log line per request."""
    live = start_server(
        "--allowed-host", "mock.test", "--spec", f"schemes={SCHEMES}", quiet=False
    )
    try:
        yield live
        assert problems_in_log(live) == [], live.log()[-3000:]
    finally:
        live.stop()


def stored(server: ServeProcess) -> list[dict[str, object]]:
    answer = requests.get(
        f"{server.url}/__mock/customers",
        params={"api": "bunce", "account": BUNCE_KEY},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    customers: list[dict[str, object]] = answer.json()["customers"]
    return customers


def endpoints(server: ServeProcess) -> list[dict[str, object]]:
    answer = requests.get(f"{server.url}/__mock/webhooks/endpoints", timeout=10)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, object]] = answer.json()["endpoints"]
    return found


def create_bunce_customer(server: ServeProcess, n: int) -> None:
    answer = requests.post(
        f"{server.url}{BUNCE}/customers",
        json=bunce_customer(f"cus_guard_{n}", f"guard{n}@example.com"),
        headers={"X-Authorization": BUNCE_KEY},
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text


def assert_refused(answer: requests.Response, status: int, words: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert words in answer.json()["detail"]


@pytest.fixture
def clean(server: ServeProcess) -> ServeProcess:
    """The server with nothing stored, and one Bunce customer of BUNCE_KEY."""
    assert requests.post(f"{server.url}/__mock/reset", json={}, timeout=10).status_code == 200
    create_bunce_customer(server, 1)
    return server


def test_a_cross_site_text_plain_reset_is_refused_and_forgets_nothing(clean: ServeProcess) -> None:
    # What <form method=post enctype=text/plain> or fetch(..., {mode: "no-cors"}) sends.
    answer = requests.post(
        f"{clean.url}/__mock/reset",
        data=b'{"x": 1}',
        headers={"Content-Type": "text/plain", "Origin": EVIL},
        timeout=10,
    )
    assert_refused(answer, 403, "Origin 'http://evil.example' is not this server's own")
    assert "Access-Control-Allow-Origin" not in answer.headers
    # Without the Origin (a browser always sends one with a POST) a non-JSON body is still 415.
    answer = requests.post(
        f"{clean.url}/__mock/reset",
        data=b"reset",
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert_refused(answer, 415, "control writes take JSON bodies")
    assert len(stored(clean)) == 1


def test_a_cross_site_webhook_registration_is_refused(clean: ServeProcess) -> None:
    body = b'{"api": "bunce", "url": "http://evil.example/steal"}'
    for content_type in ("text/plain", "application/json"):  # JSON would need a preflight too
        answer = requests.post(
            f"{clean.url}/__mock/webhooks/endpoints",
            data=body,
            headers={"Content-Type": content_type, "Origin": EVIL},
            timeout=10,
        )
        assert_refused(answer, 403, "is not this server's own")
    answer = requests.post(
        f"{clean.url}/__mock/webhooks/endpoints",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert_refused(answer, 415, "'application/x-www-form-urlencoded'")
    # A foreign page's GET (its fetch carries an Origin) is refused as well.
    answer = requests.get(
        f"{clean.url}/__mock/accounts",
        params={"api": "bunce"},
        headers={"Origin": EVIL},
        timeout=10,
    )
    assert_refused(answer, 403, "is not this server's own")
    assert endpoints(clean) == []


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}", "localhost:1"],
)
def test_a_foreign_host_is_refused_as_dns_rebinding(clean: ServeProcess, host: str) -> None:
    host = host.format(port=clean.port)
    answer = requests.get(
        f"{clean.url}/__mock/accounts", params={"api": "bunce"}, headers={"Host": host}, timeout=10
    )
    assert_refused(answer, 403, f"Host {host!r} is not a name of this server")
    answer = requests.post(
        f"{clean.url}/__mock/reset", json={}, headers={"Host": host}, timeout=10
    )
    assert_refused(answer, 403, "DNS rebinding")
    answer = requests.get(f"{clean.url}/__mock/ui", headers={"Host": host}, timeout=10)
    assert_refused(answer, 403, "DNS rebinding")  # the dashboard page too
    assert len(stored(clean)) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, an SDK, the pytest fixture: no Origin
        {"Origin": "http://127.0.0.1:{port}"},  # the dashboard, from its own origin
        {"Host": "localhost:{port}", "Origin": "http://localhost:{port}"},
        {"Host": "mock.test:{port}", "Origin": "http://mock.test:{port}"},  # --allowed-host
        {"Host": "mock.test"},  # an allowed name behind a proxy on another port
    ],
)
def test_same_origin_and_origin_less_json_requests_work(
    clean: ServeProcess, headers: dict[str, str]
) -> None:
    headers = {name: value.format(port=clean.port) for name, value in headers.items()}
    answer = requests.post(
        f"{clean.url}/__mock/webhooks/endpoints",
        json={"api": "bunce", "url": "http://127.0.0.1:9/hook"},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    assert [e["id"] for e in endpoints(clean)] == [answer.json()["id"]]
    answer = requests.get(f"{clean.url}/__mock/ui", headers=headers, timeout=10)
    assert answer.status_code == 200 and "text/html" in answer.headers["Content-Type"]
    answer = requests.post(f"{clean.url}/__mock/reset", json={}, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert stored(clean) == [] and endpoints(clean) == []


def test_only_the_allowed_host_is_admitted(clean: ServeProcess) -> None:
    ok = requests.get(
        f"{clean.url}/__mock/health", headers={"Host": f"mock.test:{clean.port}"}, timeout=10
    )
    assert ok.status_code == 200
    other = requests.get(
        f"{clean.url}/__mock/health", headers={"Host": f"other.test:{clean.port}"}, timeout=10
    )
    assert_refused(other, 403, "--allowed-host")


def test_no_control_answer_or_log_line_shows_a_credential(clean: ServeProcess) -> None:
    url = clean.url
    tamio = {"Authorization": f"Bearer {TAMIO_TOKEN}"}
    # An endpoint for the Tamio account's events (its import's customer gets a delivery).
    registered = requests.post(
        f"{url}/__mock/webhooks/endpoints",
        json={"api": "tamio", "url": "http://127.0.0.1:9/h", "account": TAMIO_TOKEN,
              "secret": SIGNING_SECRET},
        timeout=10,
    )
    assert registered.status_code == 201
    assert registered.json()["secret"] == SIGNING_SECRET  # shown once, to whoever registers it
    create_bunce_customer(clean, 2)
    answer = requests.post(
        f"{url}{TAMIO}/customers/bulk/create",
        json={"customers": [tamio_customer("Ada", "ada@example.com")]},
        headers=tamio,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert requests.get(f"{url}/schemes/keys?api_key={QUERY_KEY}&page=2", timeout=10).ok
    assert requests.post(f"{url}/__mock/jobs/flush", timeout=30).status_code == 200

    answers = {
        path: requests.get(f"{url}/__mock/{path}", timeout=10)
        for path in (
            "health", "routes", "requests", "requests?bodies=false", "drift", "errors",
            "accounts?api=bunce", "accounts?api=tamio", "accounts?api=schemes", "jobs",
            "notifications", "webhooks/endpoints", "webhooks/deliveries", "faults",
            "rate-limits", f"customers?api=bunce&account={BUNCE_KEY}",
        )
    }
    journal = answers["requests"].json()["requests"]
    for seq in [e["seq"] for e in journal]:
        answers[f"requests/{seq}"] = requests.get(f"{url}/__mock/requests/{seq}", timeout=10)
    for path, answer in answers.items():
        assert answer.status_code == 200, (path, answer.text)
        for secret in FULL_SECRETS:
            assert secret not in answer.text, f"{path} shows {secret}"
    log = clean.log()
    assert re.search(r"bunce POST /bunce/v1/customers -> 201", log), log[-2000:]
    for secret in FULL_SECRETS:
        assert secret not in log

    # What is shown instead: the kind prefix and the last 4 characters.
    assert answers["accounts?api=bunce"].json()["accounts"] == ["sk_test_***dkey"]
    assert answers["accounts?api=tamio"].json()["accounts"] == ["tok_***oken"]
    [job] = answers["jobs"].json()["jobs"]
    assert job["account"] == "tok_***oken" and job["status"] == "done"
    [endpoint] = answers["webhooks/endpoints"].json()["endpoints"]
    assert (endpoint["account"], endpoint["secret"]) == ("tok_***oken", "whsec_***cret")
    assert len(answers["webhooks/deliveries"].json()["deliveries"]) == 1
    by_path = {e["path"]: e for e in journal}
    assert by_path["/schemes/keys"]["query"] == "api_key=qk_live_***ykey&page=2"
    assert by_path["/schemes/keys"]["account"] == "qk_live_***ykey"
    assert by_path[f"{BUNCE}/customers"]["account"] == "sk_test_***dkey"

    # Filters take the full credential, and the mask as listed.
    for account in (TAMIO_TOKEN, "tok_***oken"):
        for path in ("jobs", "notifications"):
            listed = requests.get(
                f"{url}/__mock/{path}", params={"account": account}, timeout=10
            ).json()[path]
            assert len(listed) == 1, (path, account)
    assert requests.get(
        f"{url}/__mock/jobs", params={"account": BUNCE_KEY}, timeout=10
    ).json()["jobs"] == []
