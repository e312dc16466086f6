"""The proxy's tests: a deliberately broken upstream, and mocks that forward to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockserver.config import Settings
from mockserver.testing import MockServer

from .upstream import BrokenUpstream

KEY = "sk_test_proxy_secret_0123456789"
AUTH = {"X-Authorization": KEY}


def proxy_settings(upstream_url: str, **overrides: Any) -> Settings:
    """A mock of Bunce that forwards to ``upstream_url``; strict checks of its own answers."""
    values: dict[str, Any] = {
        "apis": ["bunce"],
        "background": False,
        "validate_responses": "strict",
        "log_requests": False,
        "proxy": {"bunce": upstream_url},
        "proxy_timeout_s": 0.5,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def broken() -> Iterator[BrokenUpstream]:
    upstream = BrokenUpstream(slow_s=2.0).start()
    yield upstream
    upstream.stop()


@pytest.fixture
def start_mock() -> Iterator[Callable[[Settings], MockServer]]:
    """Start mocks on free ports; each is stopped after the test (errors inside re-raised)."""
    started: list[MockServer] = []

    def start(settings: Settings) -> MockServer:
        mock = MockServer.start(settings)
        started.append(mock)
        return mock

    yield start
    for mock in started:
        mock.stop()
    for mock in started:
        mock.check()


@pytest.fixture
def proxy(broken: BrokenUpstream, start_mock) -> MockServer:
    """A mock of Bunce forwarding to the broken upstream."""
    broken.received.clear()
    return start_mock(proxy_settings(broken.url))
