"""The WSGI edge of the API paths: what reaches the engine and what goes back on the wire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request as WerkzeugRequest

from mockserver import memory
from mockserver.app import _send, environ_request
from mockserver.messages import ResponseData

from .support import WIDGETS_AUTH, body_of


def test_a_cookie_parameter_is_read_and_validated(client) -> None:
    assert client.get("/widgets/v1/status").status_code == 200  # optional: no cookie is fine
    client.set_cookie("theme", "dark")
    assert client.get("/widgets/v1/status").status_code == 200

    client.set_cookie("theme", "neon")
    answer = client.get("/widgets/v1/status")

    assert answer.status_code == 400
    assert "theme" in body_of(answer)["detail"] and "neon" in body_of(answer)["detail"]


def test_a_query_parameter_is_read_and_validated(client) -> None:
    assert client.get("/widgets/v1/widgets?limit=5", headers=WIDGETS_AUTH).status_code == 200

    answer = client.get("/widgets/v1/widgets?limit=500", headers=WIDGETS_AUTH)

    assert answer.status_code == 400
    assert body_of(answer)["errors"][0]["field"] == "limit"


def test_a_204_answer_has_no_body_and_no_length(client) -> None:
    answer = client.delete("/widgets/v1/widgets/7", headers=WIDGETS_AUTH)

    assert answer.status_code == 204
    assert answer.data == b""
    assert "Content-Length" not in answer.headers


def test_a_head_request_gets_the_headers_without_the_body(client) -> None:
    # The specs document no HEAD, so it is 405 in the API's envelope: headers, no body.
    post = client.post("/widgets/v1/status")  # also undocumented: the same answer, with a body
    head = client.head("/widgets/v1/status")

    assert head.status_code == post.status_code == 405
    assert head.data == b"" and post.data != b""
    # The length of the body a HEAD would have had ("HEAD is not documented ..." and "POST is
    # not documented ..." are the same length).
    assert head.headers["Content-Length"] == str(len(post.data))
    assert head.headers["Content-Type"] == post.headers["Content-Type"]
    assert head.headers["Allow"] == "GET"


class StartResponse:
    """A WSGI ``start_response`` that remembers what it was given."""

    status: str
    headers: list[tuple[str, str]]

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.status, self.headers = status, headers


def test_send_sets_type_and_length_once_and_keeps_the_other_headers() -> None:
    start = StartResponse()
    answer = ResponseData(
        429,
        b'{"error":"slow down"}',
        "application/json",
        {"Retry-After": "1", "content-type": "text/html", "Content-Length": "999"},
    )

    body = _send(answer, {"REQUEST_METHOD": "POST"}, start)

    assert start.status == "429 TOO MANY REQUESTS"
    assert start.headers == [
        ("Retry-After", "1"),
        ("Content-Type", "application/json"),
        ("Content-Length", "21"),
    ]
    assert body == [b'{"error":"slow down"}']


def test_send_names_unknown_statuses_and_refuses_header_injection() -> None:
    start = StartResponse()
    _send(ResponseData(299, b"{}"), {"REQUEST_METHOD": "GET"}, start)
    assert start.status == "299 UNKNOWN"

    try:
        _send(ResponseData(200, b"{}", headers={"X-A": "a\r\nSet-Cookie: x=1"}), {}, start)
    except ValueError as exc:
        assert "line break" in str(exc)
    else:
        raise AssertionError("a header value with a line break was sent")


def environ_of(path: str, body: bytes = b"", **headers: str) -> dict[str, Any]:
    """A WSGI environ as werkzeug's test client builds it (``path`` may carry a query)."""
    return EnvironBuilder(
        path=path, method="POST", data=body, headers=headers or None
    ).get_environ()


def with_(make: Callable[[], dict[str, Any]], **changes: str) -> Callable[[], dict[str, Any]]:
    return lambda: {**make(), **changes}


@pytest.mark.parametrize(
    "make",
    [
        lambda: environ_of("/bunce/v1/customers/bulk", b'{"customers": []}', Prefer="code=200"),
        lambda: environ_of("/widgets/v1/widgets?limit=5&limit=6&x=%C3%A9", Cookie="a=b; c=d"),
        lambda: environ_of("/widgets/v1/caf%C3%A9/%E2%82%AC", b"abc"),  # UTF-8, percent-encoded
        lambda: environ_of("//double//slashes"),
        with_(
            lambda: environ_of("/chunked", b"5\r\nhello\r\n0\r\n\r\n"),
            HTTP_TRANSFER_ENCODING="chunked",
        ),
        with_(lambda: environ_of("/bad-length", b"abc"), CONTENT_LENGTH="x"),
        with_(lambda: environ_of("/lower"), REQUEST_METHOD="patch", REMOTE_ADDR="10.1.2.3"),
    ],
    ids=["body", "query and cookies", "utf-8 path", "slashes", "chunked", "bad length", "method"],
)
def test_the_environ_adapter_reads_a_request_as_werkzeugs_request_does(
    make: Callable[[], dict[str, Any]],
) -> None:
    ours = environ_request(make())
    theirs = WerkzeugRequest(make())

    assert (ours.method, ours.path, ours.query_string) == (
        theirs.method,
        theirs.path,
        theirs.query_string.decode("latin-1"),
    )
    assert ours.content_length == theirs.content_length
    assert ours.client_address == (theirs.remote_addr or "")
    assert list(ours.headers.items()) == list(theirs.headers.items())
    assert list(ours.query.lists()) == list(theirs.args.lists())  # type: ignore[attr-defined]
    assert dict(ours.cookies) == dict(theirs.cookies)
    assert ours.read_within(1024) == theirs.stream.read(1024)


def test_the_app_releases_after_a_large_request_unless_the_server_says_it_will(
    mock, monkeypatch: pytest.MonkeyPatch
) -> None:
    released: list[int] = []
    monkeypatch.setattr(memory, "release", lambda: released.append(1))
    app = mock.client.application
    item = b'{"email": "big@example.com", "first_name": "A", "last_name": "B", "phone_no": "+1"}'
    body = b'{"customers": [' + b",".join([item] * 14_000) + b"]}"
    assert len(body) >= memory.RELEASE_AFTER_BYTES

    def answer() -> bytes:
        environ = environ_of(
            "/bunce/v1/customers/bulk",
            body,
            **{"Content-Type": "application/json", "X-Authorization": "sk_test_big"},
        )
        sent = app(environ, lambda status, headers, exc_info=None: None)
        try:
            return b"".join(sent)
        finally:
            if hasattr(sent, "close"):
                sent.close()

    assert answer()  # answered (a refusal: too many customers), then released once
    assert released == [1]

    memory.server_releases(True)  # as the buffering worker says for its large requests
    try:
        assert answer()
    finally:
        memory.server_releases(False)
    assert released == [1]  # left to the server
