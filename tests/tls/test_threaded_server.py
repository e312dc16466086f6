"""The fixture's werkzeug server over TLS: handshakes happen in each connection's thread."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockserver.config import Settings
from mockserver.testing import MockServer


@pytest.fixture
def https_mock(tmp_path: Path) -> Iterator[MockServer]:
    server = MockServer.start(Settings(tls=True, tls_dir=str(tmp_path), log_requests=False))
    yield server
    server.stop()


def test_a_silent_connection_does_not_hold_up_other_clients(https_mock: MockServer) -> None:
    host, port = "127.0.0.1", https_mock.server.port if https_mock.server else 0
    with socket.create_connection((host, port)) as silent:  # connects, never says hello
        time.sleep(0.1)
        started = time.monotonic()
        answer = requests.get(
            f"{https_mock.url}/__mock/health", verify=https_mock.ca_bundle, timeout=5
        )
        assert answer.status_code == 200
        assert time.monotonic() - started < 2
        silent.settimeout(0.1)
        with pytest.raises(TimeoutError):
            silent.recv(1)  # still open: the server waits for its hello in its own thread


def test_plain_http_to_the_https_port_is_refused_without_an_answer(
    https_mock: MockServer,
) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(https_mock.url.replace("https://", "http://") + "/__mock/health", timeout=5)
    answer = requests.get(f"{https_mock.url}/__mock/health", verify=https_mock.ca_bundle, timeout=5)
    assert answer.status_code == 200
