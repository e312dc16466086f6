"""Hypothesis fuzzing of both APIs' endpoints over real HTTP (derandomized, bounded).

Arbitrary JSON bodies (half of them shaped like the APIs' bodies, so validation and behaviours
are reached too), headers and query strings, on every documented path and a few methods. The
answer must never be a 5xx and always the API's envelope as JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import orjson
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.testing import ServeProcess

from .support import AUTH, BUNCE, TAMIO, check_envelope, problems_in_log

pytestmark = pytest.mark.slow

PATHS = [
    ("bunce", ["POST"], f"{BUNCE}/customers/bulk"),
    ("bunce", ["POST", "GET"], f"{BUNCE}/customers"),
    ("bunce", ["GET"], f"{BUNCE}/customers/{{id}}"),
    ("tamio", ["POST"], f"{TAMIO}/customers/bulk/create"),
    ("tamio", ["POST"], f"{TAMIO}/customers/create"),
    ("tamio", ["GET"], f"{TAMIO}/customers/retrieve/{{id}}"),
    ("tamio", ["GET"], f"{TAMIO}/customers/list"),
]
FIELDS = [
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "phone_no",
    "devices",
    "device_type",
    "device_token",
    "name",
    "country",
    "locale",
    "company",
    "phone",
    "timezone_offset",
    "priority",
    "category",
    "same_shipping_address",
    "teammate_id",
    "billing_information",
    "shipping_information",
    "address",
    "city",
    "zip",
    "vat",
]
QUERY_NAMES = [
    "page",
    "per_page",
    "cursor",
    "customer_ids",
    "emails",
    "order",
    "sort_by",
    "filter",
    "from",
    "to",
    "countries[]",
    "countries",
    "include_leads",
    "teammate_id",
    "x",
]


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()  # the standard library writes integers of any size


text = st.text(max_size=30)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)
field_values = (
    scalars
    | st.sampled_from(
        [
            "a@example.com",
            "A@EXAMPLE.COM",
            "de",
            "DE",
            "ios",
            "",
            " ",
            "2024-01-01T00:00:00Z",
            "550e8400-e29b-41d4-a716-446655440000",
        ]
    )
    | st.lists(st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=3), max_size=3)
)
items = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=8)
shaped = st.fixed_dictionaries({"customers": st.lists(items, max_size=5)}) | items
bodies = st.one_of(
    shaped.map(_dumps),
    json_values.map(_dumps),
    st.binary(max_size=200),
    st.just(b""),
)
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=40,
).map(str.lstrip)  # requests refuses leading whitespace
content_types = (
    st.sampled_from(
        [
            None,
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "application/merge-patch+json",
            "application/xml",
            "*/*",
            "",
        ]
    )
    | header_text
)
prefer = (
    st.sampled_from(
        [
            None,
            "code=200",
            "code=201",
            "code=400",
            "code=401",
            "code=404",
            "code=409",
            "code=422",
            "code=999",
            "example=nope",
            "dynamic=true",
            "dynamic=true, seed=7",
            "code=abc",
            "seed=x",
        ]
    )
    | header_text
)
auth_choice = st.sampled_from(["valid", "missing", "garbage"])
queries = st.lists(
    st.tuples(st.sampled_from(QUERY_NAMES) | text, text | st.integers().map(str)), max_size=5
)
path_ids = st.sampled_from(["cus_1", "550e8400-e29b-41d4-a716-446655440000", "bulk", ""]) | text
FIVE_XX = re.compile(r"code\s*=\s*5")


@settings(
    max_examples=1000,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzz_both_apis(
    live: ServeProcess, fuzz_session: requests.Session, data: st.DataObject
) -> None:
    api, methods, template = data.draw(st.sampled_from(PATHS), label="path")
    method = data.draw(st.sampled_from([*methods, "PUT", "DELETE"]), label="method")
    path = template.replace("{id}", quote(data.draw(path_ids, label="id"), safe=""))
    headers: dict[str, Any] = {}
    auth = data.draw(auth_choice, label="auth")
    if auth == "valid":
        headers.update(AUTH[api])
    elif auth == "garbage":
        headers["X-Authorization" if api == "bunce" else "Authorization"] = data.draw(
            header_text, label="key"
        )
    content_type = data.draw(content_types, label="content-type")
    if content_type is not None:
        headers["Content-Type"] = content_type
    preference = data.draw(prefer, label="prefer")
    if preference is not None and not FIVE_XX.search(preference):  # a documented 5xx is asked for
        headers["Prefer"] = preference
    for name, value in data.draw(
        st.dictionaries(
            st.sampled_from(["Accept", "Origin", "X-Request-Id", "Cookie", "Idempotency-Key"]),
            header_text,
            max_size=3,
        ),
        label="headers",
    ).items():
        headers[name] = value
    query = data.draw(queries, label="query")
    if template.endswith("/list") and data.draw(st.booleans(), label="paged"):
        query = [("page", "1"), ("per_page", "10"), *query]
    body = data.draw(bodies, label="body") if method in ("POST", "PUT") else None
    response = fuzz_session.request(
        method, f"{live.url}{path}", params=query, data=body, headers=headers, timeout=30
    )
    what = f"{method} {response.request.url} {headers} {body!r:.200}"
    if "Prefer" in headers and response.status_code < 500:
        # An answer chosen from the spec: a documented status, and JSON whenever it has a body.
        if response.content:
            assert "json" in response.headers.get("Content-Type", ""), what
            orjson.loads(response.content)
        return
    check_envelope(
        api,
        response.status_code,
        response.headers.get("Content-Type"),
        response.content,
        method=method,
        what=what,
    )


@pytest.fixture(scope="module")
def fuzz_session() -> Any:
    with requests.Session() as s:
        yield s


def test_fuzz_leaves_the_server_healthy(live: ServeProcess) -> None:
    assert live.healthy()
    assert problems_in_log(live) == [], live.log()[-5000:]
