"""Fixtures for the engine tests: an in-process mock (Flask test client) with the bundled specs
plus the small ``widgets`` user spec, strict response validation and no background thread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.testing import MockServer

from .support import settings


@pytest.fixture(scope="session")
def shared_mock() -> Iterator[MockServer]:
    with MockServer.in_process(settings()) as server:
        yield server


@pytest.fixture
def mock(shared_mock: MockServer) -> Iterator[MockServer]:
    """The in-process mock, state and journal empty; errors inside it fail the test."""
    with shared_mock.fresh() as server:
        yield server


@pytest.fixture
def client(mock: MockServer) -> Any:
    return mock.client


@pytest.fixture
def make_mock() -> Iterator[Any]:
    """Build a mock with other settings: ``make_mock(max_body_bytes=1024)``; ``apis=[...]``
    gives it other API packs."""
    built: list[MockServer] = []

    def make(apis: Any = None, **overrides: Any) -> MockServer:
        server = MockServer.in_process(settings(**overrides), apis=apis)
        built.append(server)
        return server

    yield make
    for server in built:
        server.stop()
