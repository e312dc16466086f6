"""Clients that stall in the middle of a request cannot freeze ``mockserver serve``.

Each test opens more stalled connections than the server has request threads (8 per worker):
half a request's headers; a body shorter than its ``Content-Length``; or a request trickled one
byte a second. While they stay open, ``/__mock/health`` and an API request answer at once, and
the server closes each stalled connection once its request has taken longer than the request
timeout (3 s here), answering a JSON 408 first.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from mockserver.testing import ServeProcess

from .support import BUNCE, HOST, bunce_customer, start_server

pytestmark = pytest.mark.slow

REQUEST_TIMEOUT_S = 3
HEAD = (
    f"POST {BUNCE}/customers HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n"
    "X-Authorization: sk_test_stalled\r\n"
).encode()

# What each kind of stalled client sends before it goes silent.
STALLS = {
    "partial headers": HEAD,
    "body shorter than its Content-Length": HEAD + b'Content-Length: 1000\r\n\r\n{"customer_id"',
}


@pytest.fixture(scope="module", params=[None, 2], ids=["default serve", "--workers 2"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[ServeProcess, int]]:
    """The server, and how many connections to stall: more than all of its request threads."""
    workers = request.param
    live = start_server(
        workers=workers, env={"MOCKSERVER_REQUEST_TIMEOUT_S": str(REQUEST_TIMEOUT_S)}
    )
    try:
        threads = 8 * (workers or 1)
        yield live, max(threads + 8, 16)
    finally:
        live.stop()


def stalled(port: int, count: int, first_bytes: bytes) -> list[socket.socket]:
    connections = []
    for _ in range(count):
        connection = socket.create_connection((HOST, port), timeout=10)
        connection.sendall(first_bytes)
        connections.append(connection)
    return connections


def assert_server_answers_promptly(live: ServeProcess, key: str) -> None:
    health = requests.get(f"{live.url}/__mock/health", timeout=2)
    assert health.status_code == 200, health.text
    created = requests.post(
        f"{live.url}{BUNCE}/customers",
        json=bunce_customer(key, f"{key}@example.com"),
        headers={"X-Authorization": "sk_test_prompt"},
        timeout=2,
    )
    assert created.status_code == 201, created.text


def closed_by_server(connection: socket.socket, within: float) -> bytes:
    """Everything the server sent before it closed the connection (fails if it did not)."""
    connection.settimeout(within)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the server kept a stalled connection open for {within} s more")
    return received


@pytest.mark.parametrize("kind", sorted(STALLS))
def test_stalled_clients_hold_no_request_thread(
    server: tuple[ServeProcess, int], kind: str
) -> None:
    live, count = server
    connections = stalled(live.port, count, STALLS[kind])
    try:
        started = time.monotonic()
        assert_server_answers_promptly(live, f"stall-{len(kind)}-{live.port}")

        for connection in connections:
            answer = closed_by_server(connection, within=REQUEST_TIMEOUT_S + 5)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
            assert b"application/problem+json" in answer
        assert time.monotonic() - started >= REQUEST_TIMEOUT_S - 1
    finally:
        for connection in connections:
            connection.close()
    assert live.healthy()


def test_a_request_trickled_a_byte_a_second_is_cut_off_at_the_timeout(
    server: tuple[ServeProcess, int],
) -> None:
    live, count = server
    connections = stalled(live.port, count, b"P")
    stop = threading.Event()
    closed: dict[int, float] = {}

    def trickle() -> None:
        rest = HEAD[1:] + b"X-Padding: " + b"a" * 60 + b"\r\n\r\n"
        for byte in rest:
            for index, connection in enumerate(connections):
                if index not in closed:
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        closed[index] = time.monotonic()
            if stop.wait(1.0) or len(closed) == len(connections):
                return

    sender = threading.Thread(target=trickle, daemon=True)
    started = time.monotonic()
    sender.start()
    try:
        time.sleep(1.5)  # a byte or two of each request has arrived
        assert_server_answers_promptly(live, f"trickle-{live.port}")

        for connection in connections:
            answer = closed_by_server(connection, within=REQUEST_TIMEOUT_S + 5)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        # Cut off by the total deadline, although a byte kept arriving every second.
        assert time.monotonic() - started < REQUEST_TIMEOUT_S + 5
    finally:
        stop.set()
        sender.join(timeout=5)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.close()
    assert live.healthy()


def test_a_client_that_waits_for_100_continue_gets_it_before_sending_its_body(
    server: tuple[ServeProcess, int],
) -> None:
    # curl sends "Expect: 100-continue" for large bodies and waits (1 s) for the interim answer:
    # the server, which reads the whole request before a thread runs it, must send it itself.
    live, _ = server
    body = b'{"customer_id":"c100","first_name":"A","last_name":"B","email":"c100@example.com",'
    body += b'"phone_no":"+2348012345678"}'
    head = HEAD + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
    with socket.create_connection((HOST, live.port), timeout=5) as connection:
        connection.sendall(head)
        assert connection.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.sendall(body)
        answer = b""
        while b"c100@example.com" not in answer:
            chunk = connection.recv(65536)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:200]
    assert answer.count(b"100 Continue") == 0  # sent once, not again by the thread


def bunce_request(key: str, *, keep_alive: bool = True) -> bytes:
    body = json.dumps(bunce_customer(key, f"{key}@example.com")).encode()
    connection = b"" if keep_alive else b"Connection: close\r\n"
    return HEAD + connection + b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_answer(connection: socket.socket) -> bytes:
    """One HTTP answer with a Content-Length, read whole."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(
            line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        ).split(b":")[1]
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_kept_alive_connection_is_read_whole_before_each_of_its_requests_runs(
    server: tuple[ServeProcess, int],
) -> None:
    live, count = server
    run = f"kept-{live.port}"
    with socket.create_connection((HOST, live.port), timeout=10) as connection:
        for n in range(30):  # back to back: each answer, then the next request
            connection.sendall(bunce_request(f"{run}-{n}"))
            assert read_answer(connection).startswith(b"HTTP/1.1 201 ")

        # The next request in two parts, a moment apart: the first part alone runs nothing
        # and holds no thread (stalled ones on top take more than every thread).
        whole = bunce_request(f"{run}-split")
        connection.sendall(whole[:70])
        others = stalled(live.port, count, bunce_request(f"{run}-other")[:70])
        try:
            time.sleep(0.5)
            assert_server_answers_promptly(live, f"{run}-prompt")
            connection.sendall(whole[70:])
            assert read_answer(connection).startswith(b"HTTP/1.1 201 ")

            # A kept-alive connection that stalls in its next request is cut off like a new one.
            connection.sendall(whole[:70])
            answer = closed_by_server(connection, within=REQUEST_TIMEOUT_S + 5)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        finally:
            for other in others:
                other.close()
    stored = requests.get(
        f"{live.url}{BUNCE}/customers",
        params={"per_page": 100},
        headers={"X-Authorization": "sk_test_stalled"},
        timeout=5,
    ).json()["data"]["data"]
    emails = {c["email"] for c in stored if c["email"].startswith(run)}
    assert emails == {f"{run}-{n}@example.com" for n in range(30)} | {f"{run}-split@example.com"}
