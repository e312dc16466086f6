"""The production server as a subprocess, raw HTTP, and the envelope every answer must have.

Every hardening test talks to ``mockserver serve`` (gunicorn, ``--workers 2``, the shared SQLite
state, strict response validation) over real loopback HTTP, never to an in-process app: the unit
tests of the engine (tests/engine/) cover the pipeline with the Flask test client.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from shared import bunce_customer as bunce_customer  # the modules here import them from this one
from shared import tamio_customer as tamio_customer

from mockserver.testing import ServeProcess, serve

HOST = "127.0.0.1"
BUNCE = "/bunce/v1"
TAMIO = "/tamio/v2"
BUNCE_KEY = "sk_test_hardening"
TAMIO_TOKEN = "tok_hardening"
AUTH = {
    "bunce": {"X-Authorization": BUNCE_KEY},
    "tamio": {"Authorization": f"Bearer {TAMIO_TOKEN}"},
}

# Every documented endpoint of both APIs, with a concrete path.
ENDPOINTS: list[tuple[str, str, str]] = [
    ("bunce", "POST", f"{BUNCE}/customers/bulk"),
    ("bunce", "POST", f"{BUNCE}/customers"),
    ("bunce", "GET", f"{BUNCE}/customers"),
    ("bunce", "GET", f"{BUNCE}/customers/cus_1"),
    ("bunce", "PUT", f"{BUNCE}/customers/cus_1"),
    ("bunce", "PUT", f"{BUNCE}/customers/bulk-update"),
    ("bunce", "POST", f"{BUNCE}/customers/cus_1/devices"),
    ("bunce", "GET", f"{BUNCE}/customers/cus_1/devices"),
    ("bunce", "PATCH", f"{BUNCE}/customers/cus_1/devices"),
    ("tamio", "POST", f"{TAMIO}/customers/bulk/create"),
    ("tamio", "POST", f"{TAMIO}/customers/create"),
    ("tamio", "GET", f"{TAMIO}/customers/retrieve/550e8400-e29b-41d4-a716-446655440000"),
    ("tamio", "GET", f"{TAMIO}/customers/list?page=1"),
]
POSTS = [e for e in ENDPOINTS if e[1] == "POST"]
GETS = [e for e in ENDPOINTS if e[1] == "GET"]


def start_server(
    *args: str, workers: int | None = 2, env: dict[str, str] | None = None, quiet: bool = True
) -> ServeProcess:
    """``mockserver serve`` on a free loopback port, with strict response validation, once it
    is healthy (:func:`mockserver.testing.serve`).

    ``workers=None`` leaves the worker count to the default; ``env`` adds variables;
    ``quiet=False`` logs a line per request (at level info).
    """
    return serve(
        *(["--workers", str(workers)] if workers is not None else []),
        "--log-level",
        "warning" if quiet else "info",
        *(["--quiet"] if quiet else []),
        "--validate-responses",
        "strict",
        *args,
        host=HOST,
        env=env,
    )


def problems_in_log(server: ServeProcess) -> list[str]:
    """Lines of the server's log that show a server-side error (a traceback, a worker crash)."""
    markers = ("Traceback", "unexpected error", "WORKER TIMEOUT", "Worker exiting", "CRITICAL")
    return [line for line in server.log().splitlines() if any(m in line for m in markers)]


# -- raw HTTP -------------------------------------------------------------------------------------
@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(
    port: int, data: bytes, *, shut_write: bool = False, timeout: float = 15.0
) -> RawAnswer:
    """Send ``data`` as is (request line, headers, body) and read one answer (the server closes
    or ``Content-Length`` says it is complete)."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
            head, sep, rest = received.partition(b"\r\n\r\n")
            if sep:
                length = _content_length(head)
                if length is not None and len(rest) >= length:
                    break
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        raise AssertionError(f"no HTTP answer to {data[:120]!r}: {received[:200]!r}")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = _content_length(head)
    return RawAnswer(status, headers, body[:length] if length is not None else body)


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


# -- the envelope ---------------------------------------------------------------------------------
def api_of(path: str) -> str | None:
    for name, mount in (("bunce", BUNCE), ("tamio", TAMIO)):
        if path == mount or path.startswith(mount + "/"):
            return name
    return None


def check_envelope(
    api: str | None,
    status: int,
    content_type: str | None,
    body: bytes,
    *,
    method: str = "GET",
    what: str = "",
) -> Any:
    """Assert the answer is no 5xx and is the API's envelope as JSON; return the parsed body."""
    context = f"{what[:80]}: {status} {body[:300]!r}"
    assert status < 500, context
    if method == "HEAD" or status in (204, 304):
        assert not body, context
        return None
    assert content_type and "json" in content_type, f"content type {content_type!r}; {context}"
    parsed = orjson.loads(body)
    assert isinstance(parsed, dict), context
    if api is None:  # outside every API (or refused by gunicorn): a JSON problem
        assert parsed.get("status") == status and isinstance(parsed.get("detail"), str), context
        assert isinstance(parsed.get("title"), str), context
    elif api == "bunce":
        if status >= 400:
            if parsed.get("status") is False:  # the documented bulk partial failure (409)
                assert status == 409 and set(parsed) == {"errors", "message", "status"}, context
            else:
                assert parsed.get("success") is False, context
                assert isinstance(parsed.get("message"), str) and parsed["message"], context
                if "errors" in parsed:
                    assert all(isinstance(e, str) for e in parsed["errors"]), context
        else:
            assert parsed.get("success") is True, context
    else:
        if status >= 400:
            assert parsed.get("status") == status, context
            assert isinstance(parsed.get("error"), str) and parsed["error"], context
            if status != 401:
                assert isinstance(parsed.get("error_code"), int), context
        else:
            assert parsed.get("status") == 200, context
    return parsed


def check_response(response: requests.Response, what: str = "") -> Any:
    """:func:`check_envelope` for a ``requests`` response."""
    path = urlsplit(response.url).path
    return check_envelope(
        api_of(path),
        response.status_code,
        response.headers.get("Content-Type"),
        response.content,
        method=response.request.method or "GET",
        what=what,
    )

