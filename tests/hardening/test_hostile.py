"""A battery of hostile inputs on every endpoint of both APIs, over real HTTP, against the
production server (``mockserver serve --workers 2``).

Every answer must be no 5xx and the API's envelope as JSON (a JSON problem outside the APIs).
Customers created before the battery must still be readable after it, and the server healthy.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from mockserver.testing import ServeProcess

from .support import (
    AUTH,
    BUNCE,
    BUNCE_KEY,
    ENDPOINTS,
    GETS,
    POSTS,
    TAMIO,
    TAMIO_TOKEN,
    api_of,
    bunce_customer,
    check_envelope,
    check_response,
    problems_in_log,
    raw_request,
    tamio_customer,
)

pytestmark = pytest.mark.slow

MIB = 1024 * 1024


def _deep_array(n: int) -> bytes:
    return b"[" * n + b"]" * n


def _deep_object(n: int) -> bytes:
    return b'{"a":' * n + b"1" + b"}" * n


VALID_BUNCE = json.dumps({"customers": [bunce_customer("v1", "valid1@example.com")]}).encode()
NINES = b"9" * 5000

# name -> body (sent with Content-Type: application/json and valid auth to every POST endpoint)
HOSTILE_BODIES: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b"  \r\n\t ",
    "malformed": b'{"customers": [}',
    "single-quotes": b"{'customers': []}",
    "trailing-comma": b'{"customers": [],}',
    "truncated": VALID_BUNCE[: len(VALID_BUNCE) // 2],
    "truncated-string": b'{"customers": [{"email": "abc',
    "garbage-bytes": bytes(range(256)),
    "invalid-utf8": b'{"customers": [{"email": "\xff\xfe@example.com"}]}',
    "overlong-utf8": b'{"name": "\xc0\xaf"}',
    "lone-surrogate": b'{"customers": [{"customer_id": "\\ud800", "email": "x@example.com"}]}',
    "raw-control-char": b'{"name": "a\x00b"}',
    "escaped-nul": json.dumps(
        {"customers": [bunce_customer("\u0000", "nul\u0000@example.com")]}
    ).encode(),
    "bom": b'\xef\xbb\xbf{"customers": []}',
    "null": b"null",
    "customers-null": b'{"customers": null}',
    "items-null": b'{"customers": [null, null]}',
    "fields-null": json.dumps(
        {
            "customers": [
                dict.fromkeys(
                    [
                        "customer_id",
                        "first_name",
                        "last_name",
                        "email",
                        "phone_no",
                        "name",
                        "country",
                        "devices",
                    ]
                )
            ]
        }
    ).encode(),
    "top-level-array": b"[]",
    "top-level-string": b'"customers"',
    "top-level-number": b"42",
    "top-level-true": b"true",
    "customers-string": b'{"customers": "x"}',
    "customers-object": b'{"customers": {"a": 1}}',
    "customers-empty": b'{"customers": []}',
    "wrong-types": json.dumps(
        {
            "customers": [
                {
                    "customer_id": 1,
                    "first_name": [],
                    "last_name": {},
                    "email": True,
                    "phone_no": 1.5,
                    "name": 7,
                    "country": ["de"],
                    "devices": "ios",
                    "billing_information": "x",
                }
            ]
        }
    ).encode(),
    "devices-wrong": json.dumps(
        {
            "customers": [
                {
                    **bunce_customer("d1", "d1@example.com"),
                    "devices": [None, 1, {"device_type": None}],
                }
            ]
        }
    ).encode(),
    "deep-array-10000": _deep_array(10000),
    "deep-object-10000": _deep_object(10000),
    "deep-in-field-10000": b'{"customers":[{"customer_id":' + _deep_array(10000) + b"}]}",
    "deep-array-300": _deep_array(300),
    "deep-array-1100": _deep_array(1100),
    "integer-5000-digits": b'{"customers":[{"customer_id":'
    + NINES
    + b',"email":"n@example.com"}]}',
    "negative-5000-digits": b'{"page":-' + NINES + b"}",
    "float-5000-digits": b'{"customers":[{"phone_no":0.' + NINES + b"}]}",
    "string-5000-digits": json.dumps(
        {"customers": [bunce_customer("9" * 5000, "s@example.com")]}
    ).encode(),
    "exponent-huge": b'{"customers":[{"customer_id":1e999999}]}',
    "nan": b'{"customers":[{"customer_id":NaN}]}',
    "infinity": b'{"customers":[{"customer_id":-Infinity}]}',
    "duplicate-keys": b'{"customers": [], "customers": [{"a": 1}]}',
    "huge-strings": json.dumps(
        {"customers": [bunce_customer("h" * MIB, "h" * 1000 + "@example.com")]}
    ).encode(),
    "many-keys": json.dumps({f"k{i}": i for i in range(50_000)}).encode(),
    "unicode-everywhere": json.dumps(
        {"customers": [{**bunce_customer("ü💥", "ünï@exämple.com"), "name": "💥", "country": "🇩🇪"}]}
    ).encode(),
    "tamio-501-items": json.dumps(
        {"customers": [tamio_customer(f"n{i}", f"t{i}@example.com") for i in range(501)]}
    ).encode(),
    "bunce-item-missing-id": json.dumps(
        {"customers": [bunce_customer("a", "a@example.com"), {"email": "b@example.com"}]}
    ).encode(),
}

CONTENT_TYPES = [
    None,
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "application/json; charset=latin-1",
    "application/json; charset=utf-16",
    "application/json;;;",
    "////",
    "application/" + "j" * 4000,
]

AUTH_VARIANTS: dict[str, dict[str, str]] = {
    "missing": {},
    "empty-x-authorization": {"X-Authorization": "", "Authorization": ""},
    "bearer-only": {"Authorization": "Bearer", "X-Authorization": "Bearer"},
    "bearer-space": {"Authorization": "Bearer    ", "X-Authorization": "sk_test_"},
    "basic": {"Authorization": "Basic dXNlcjpwYXNz", "X-Authorization": "Basic dXNlcjpwYXNz"},
    "wrong-format": {"Authorization": "Token abc", "X-Authorization": "pk_test_123"},
    "bearer-in-x-authorization": {"X-Authorization": f"Bearer {BUNCE_KEY}"},
    "latin1": {"Authorization": "Bearer t\xe9st", "X-Authorization": "sk_test_\xe9\xff"},
    "long": {"Authorization": "Bearer " + "a" * 6000, "X-Authorization": "sk_test_" + "a" * 6000},
}

UNKNOWN_PATHS = [
    "/",
    "/nothing",
    "/bunce",
    "/bunce/v2/customers",
    f"{BUNCE}",
    f"{BUNCE}/",
    f"{BUNCE}/nope",
    f"{BUNCE}/customers/bulk/extra",
    f"{BUNCE}/customers/a/b/c",
    f"{TAMIO}/customers",
    f"{TAMIO}/customers/bulk",
    f"{TAMIO}/customers/retrieve/",
    f"{TAMIO}/customers/list/x",
    "/__mock/nope",
    "/__mock/../bunce/v1/customers",
    f"{BUNCE}/%2e%2e/%2e%2e/etc/passwd",
    f"{BUNCE}/customers/%00",
    f"{BUNCE}/customers/%ff%fe",
    f"{BUNCE}/customers/" + "x" * 6000,
    f"{TAMIO}/customers/retrieve/%F0%9F%92%A5",
    f"{TAMIO}/customers/retrieve/not-a-uuid",
    "/favicon.ico",
    "//bunce//v1//customers",
]

QUERIES = [
    "per_page=-1",
    "per_page=0",
    "per_page=abc",
    "per_page=" + "9" * 40,
    "per_page=1e3",
    "per_page=1&per_page=2",
    "page=",
    "page=0",
    "page=-5",
    "page=" + "9" * 5000,
    "page=1&page=x",
    "cursor=%25%25%25",
    "cursor=YTox",
    "cursor=YTo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
    "cursor=Yjot",
    "cursor=eyJzZXEiOjk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5LCJkaXIiOiJuZXh0In0",  # seq over 64 bits
    "cursor=eyJzZXEiOi0xLCJkaXIiOiJwcmV2In0",  # seq -1
    "cursor=eyJzZXEiOnRydWUsImRpciI6Im5leHQifQ",  # seq true
    "cursor=eyJzZXEiOjEsImRpciI6InVwIn0",  # dir "up"
    "cursor=" + "A" * 4000,
    "customer_ids=%00",
    "emails=" + ",".join(["a@b.co"] * 1000),
    "emails=%ff%fe",
    "a[b]=c",
    "countries[]=xx",
    "countries=de,,,",
    "include_leads=maybe",
    "sort=;DROP TABLE",
    "%zz=%zz",
    "=&=&&",
    "page=1&per_page=100000",
]


@pytest.fixture(scope="module")
def sentinels(live: ServeProcess) -> dict[str, Any]:
    """One customer of each API, created before the battery; it must survive it."""
    bunce = requests.post(
        f"{live.url}{BUNCE}/customers",
        json=bunce_customer("sentinel-1", "sentinel@example.com"),
        headers=AUTH["bunce"],
        timeout=10,
    )
    assert bunce.status_code == 201, bunce.text
    tamio = requests.post(
        f"{live.url}{TAMIO}/customers/create",
        json=tamio_customer("Sentinel", "sentinel@example.com"),
        headers=AUTH["tamio"],
        timeout=10,
    )
    assert tamio.status_code == 200, tamio.text
    return {"bunce": bunce.json()["data"], "tamio": tamio.json()["customer"]}


@pytest.fixture(autouse=True)
def _before_the_battery(sentinels: dict[str, Any]) -> None:
    """Every test of this module runs after the sentinels exist."""


def _send(
    session: requests.Session, live: ServeProcess, method: str, path: str, what: str, **kwargs: Any
) -> Any:
    response = session.request(method, f"{live.url}{path}", timeout=30, **kwargs)
    return check_response(response, what)


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
@pytest.mark.parametrize(("api", "method", "path"), POSTS, ids=[p for _, _, p in POSTS])
def test_hostile_bodies(
    live: ServeProcess, session: requests.Session, api: str, method: str, path: str, name: str
) -> None:
    headers = {**AUTH[api], "Content-Type": "application/json"}
    parsed = _send(session, live, method, path, name, data=HOSTILE_BODIES[name], headers=headers)
    if name.startswith(
        ("deep", "malformed", "truncated", "invalid-utf8", "garbage", "nan", "infinity")
    ):
        assert parsed is not None


@pytest.mark.parametrize(("api", "method", "path"), POSTS, ids=[p for _, _, p in POSTS])
def test_12_mib_bodies_are_413(
    live: ServeProcess, session: requests.Session, api: str, method: str, path: str
) -> None:
    item = json.dumps(
        bunce_customer("x", "big@example.com")
        if api == "bunce"
        else tamio_customer("x", "big@example.com")
    ).encode()
    body = b'{"customers":[' + b",".join([item] * (12 * MIB // len(item) + 1)) + b"]}"
    assert len(body) > 12 * MIB
    headers = {**AUTH[api], "Content-Type": "application/json"}
    response = session.request(method, f"{live.url}{path}", data=body, headers=headers, timeout=60)
    check_response(response, "12 MiB")
    assert response.status_code == 413
    # The same without Content-Length (chunked transfer encoding).
    chunks = iter([body[i : i + MIB] for i in range(0, len(body), MIB)])
    response = session.request(
        method, f"{live.url}{path}", data=chunks, headers=headers, timeout=60
    )
    check_response(response, "12 MiB chunked")
    assert response.status_code == 413


@pytest.mark.parametrize("content_type", CONTENT_TYPES, ids=lambda c: str(c)[:40])
@pytest.mark.parametrize(("api", "method", "path"), POSTS, ids=[p for _, _, p in POSTS])
def test_content_types(
    live: ServeProcess,
    session: requests.Session,
    api: str,
    method: str,
    path: str,
    content_type: str | None,
) -> None:
    body = (
        json.dumps({"customers": [bunce_customer("ct", "ct@example.com")]})
        if api == "bunce"
        else json.dumps({"customers": [tamio_customer("ct", "ct@example.com")]})
    )
    data = body.encode("utf-16") if content_type and "utf-16" in content_type else body.encode()
    headers = dict(AUTH[api])
    if content_type is not None:
        headers["Content-Type"] = content_type
    _send(session, live, method, path, f"content type {content_type}", data=data, headers=headers)


@pytest.mark.parametrize("variant", sorted(AUTH_VARIANTS))
@pytest.mark.parametrize(
    ("api", "method", "path"), ENDPOINTS, ids=[f"{m} {p}" for _, m, p in ENDPOINTS]
)
def test_wrong_or_missing_auth(
    live: ServeProcess, session: requests.Session, api: str, method: str, path: str, variant: str
) -> None:
    headers = {"Content-Type": "application/json", **AUTH_VARIANTS[variant]}
    response = session.request(
        method, f"{live.url}{path}", data=b'{"customers": []}', headers=headers, timeout=30
    )
    check_response(response, f"auth {variant}")
    if variant in (
        "missing",
        "empty-x-authorization",
        "bearer-only",
        "bearer-space",
        "basic",
        "wrong-format",
    ):
        assert response.status_code == 401, response.text


def _undocumented_methods() -> list[tuple[str, str, str, str]]:
    """(api, a documented method, path, a method the path does not document)."""
    cases = []
    for api, documented, path in ENDPOINTS:
        bare = path.split("?")[0]
        allowed = {m for _, m, p in ENDPOINTS if p.split("?")[0] == bare}
        allowed |= {"HEAD"} if "GET" in allowed else set()
        for method in [
            "PUT",
            "PATCH",
            "DELETE",
            "POST",
            "GET",
            "HEAD",
            "OPTIONS",
            "TRACE",
            "QUERY",
            "FOO",
        ]:
            if method not in allowed:
                cases.append((api, documented, path, method))
    return cases


@pytest.mark.parametrize(
    ("api", "documented", "path", "method"), _undocumented_methods(), ids=lambda v: str(v)[:40]
)
def test_wrong_methods(
    live: ServeProcess, session: requests.Session, api: str, documented: str, path: str, method: str
) -> None:
    response = session.request(
        method,
        f"{live.url}{path}",
        data=b"{}",
        timeout=30,
        headers={**AUTH[api], "Content-Type": "application/json"},
    )
    check_response(response, f"{method} {path}")
    # A concrete path owns its URL: GET /customers/bulk is 405 too (not customer "bulk").
    if method not in ("OPTIONS", "HEAD"):
        assert response.status_code == 405, response.text[:300]
        assert documented in response.headers.get("Allow", ""), response.headers


@pytest.mark.parametrize("path", UNKNOWN_PATHS, ids=lambda p: p[:50])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_paths(
    live: ServeProcess, session: requests.Session, path: str, method: str
) -> None:
    api = api_of(path)
    headers = {**(AUTH[api] if api else {}), "Content-Type": "application/json"}
    response = session.request(method, f"{live.url}{path}", headers=headers, data=b"{}", timeout=30)
    check_response(response, f"{method} {path}")


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q[:40])
@pytest.mark.parametrize(("api", "method", "path"), GETS, ids=[p for _, _, p in GETS])
def test_hostile_query_strings(
    live: ServeProcess, session: requests.Session, api: str, method: str, path: str, query: str
) -> None:
    joiner = "&" if "?" in path else "?"
    _send(session, live, method, f"{path}{joiner}{query}", query, headers=AUTH[api])


RAW_REQUESTS: dict[str, bytes] = {
    "garbage-request-line": b"GARBAGE\r\n\r\n",
    "no-version": b"GET /bunce/v1/customers\r\n\r\n",
    "header-without-colon": b"GET /bunce/v1/customers HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "negative-content-length": (
        b"POST /bunce/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"
    ),
    "text-content-length": (
        b"POST /bunce/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
    ),
    "two-content-lengths": (
        b"POST /bunce/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        b"Content-Length: 5\r\n\r\n{}"
    ),
    "length-and-chunked": (
        b"POST /bunce/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "bad-chunk-size": (
        b"POST /bunce/v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\nX-Authorization: sk_test_raw\r\n\r\n"
        b"zz\r\n{}\r\n0\r\n\r\n"
    ),
    "invalid-utf8-header": (
        b"GET /bunce/v1/customers HTTP/1.1\r\nHost: x\r\n"
        b"X-Authorization: sk_test_\xff\xfe\r\nConnection: close\r\n\r\n"
    ),
    "raw-non-ascii-path": (
        b"GET /bunce/v1/customers/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ),
    "absolute-uri": (
        b"GET http://127.0.0.1/bunce/v1/customers HTTP/1.1\r\nHost: x\r\n"
        b"X-Authorization: sk_test_raw\r\nConnection: close\r\n\r\n"
    ),
    "http-1.0-no-host": (
        b"GET /tamio/v2/customers/list?page=1 HTTP/1.0\r\nAuthorization: Bearer t\r\n\r\n"
    ),
    "request-line-too-long": b"GET /bunce/v1/customers?emails="
    + b"a" * 9000
    + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "huge-header": b"GET /bunce/v1/customers HTTP/1.1\r\nHost: x\r\nX-Big: "
    + b"a" * 20000
    + b"\r\n\r\n",
    "many-headers": b"GET /bunce/v1/customers HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-H%d: v\r\n" % i for i in range(500))
    + b"\r\n",
}


@pytest.mark.parametrize("name", sorted(RAW_REQUESTS))
def test_malformed_http(live: ServeProcess, name: str) -> None:
    answer = raw_request(live.port, RAW_REQUESTS[name])
    # Requests gunicorn's HTTP parser refuses never reach the app: they get a JSON problem.
    target = RAW_REQUESTS[name].split(b"\r\n")[0].split(b" ")
    path = target[1].decode("latin-1").removeprefix("http://127.0.0.1") if len(target) > 1 else "/"
    api = None if "problem" in answer.headers.get("content-type", "") else api_of(path)
    check_envelope(api, answer.status, answer.headers.get("content-type"), answer.body, what=name)


@pytest.mark.parametrize(("api", "method", "path"), POSTS, ids=[p for _, _, p in POSTS])
def test_body_cut_short_by_the_client(live: ServeProcess, api: str, method: str, path: str) -> None:
    """Content-Length promises 1000 bytes, 20 arrive, then the client closes its sending side."""
    auth = "".join(f"{k}: {v}\r\n" for k, v in AUTH[api].items())
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}"
        f"Content-Length: 1000\r\n\r\n"
    ).encode() + b'{"customers": [{"na'
    answer = raw_request(live.port, request, shut_write=True)
    check_envelope(
        api,
        answer.status,
        answer.headers.get("content-type"),
        answer.body,
        method=method,
        what="cut short",
    )
    assert answer.status == 400


def test_zz_after_the_battery_the_server_is_healthy_and_nothing_is_lost(
    live: ServeProcess, session: requests.Session, sentinels: dict[str, Any]
) -> None:
    assert live.healthy()
    bunce = session.get(
        f"{live.url}{BUNCE}/customers/sentinel-1",
        headers={"X-Authorization": BUNCE_KEY},
        timeout=10,
    )
    assert bunce.status_code == 200, bunce.text
    assert bunce.json()["data"] == sentinels["bunce"]
    uuid = sentinels["tamio"]["id"]
    tamio = session.get(
        f"{live.url}{TAMIO}/customers/retrieve/{uuid}",
        headers={"Authorization": f"Bearer {TAMIO_TOKEN}"},
        timeout=10,
    )
    assert tamio.status_code == 200, tamio.text
    assert tamio.json()["customer"]["email"] == "sentinel@example.com"
    assert problems_in_log(live) == [], live.log()[-5000:]
