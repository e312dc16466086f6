"""Fixtures of the hardening tests: one production server (``mockserver serve --workers 2``) shared
by the hostile-input battery and the fuzz test; the soak test starts its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from mockserver.testing import ServeProcess

from .support import problems_in_log, start_server


@pytest.fixture(scope="session")
def live() -> Iterator[ServeProcess]:
    """``mockserver serve --workers 2`` on a free loopback port. At the end it must still be
    healthy and its log free of tracebacks."""
    server = start_server()
    try:
        yield server
        assert server.process.poll() is None, f"the server died:\n{server.log()[-3000:]}"
        assert server.healthy(), "the server is not healthy after the hardening tests"
        assert problems_in_log(server) == [], server.log()[-5000:]
    finally:
        server.stop()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s
