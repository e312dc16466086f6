"""Fixtures of the stateful tests: clients bound to the plugin's live ``mockserver``, and
``mockserver serve`` for the modules that also run their tests against gunicorn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver.testing import MockServer, ServeProcess, WebhookReceiver, serve

from .helpers import Bunce, Tamio


# -- fixtures over the plugin's live server -------------------------------------------------------
@pytest.fixture
def bunce(mockserver: MockServer) -> Bunce:
    return Bunce(mockserver.base_url("bunce"), "sk_test_stateful")


@pytest.fixture
def tamio(mockserver: MockServer) -> Tamio:
    return Tamio(mockserver.base_url("tamio"), "tok_stateful")


@pytest.fixture
def control(mockserver: MockServer) -> str:
    """The control API's base URL."""
    return f"{mockserver.url}/__mock"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A local webhook receiver (not yet registered) that verifies signatures."""
    started = WebhookReceiver("whsec_stateful_e2e", signature_header="Tamio-Signature").start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def served() -> Iterator[ServeProcess]:
    """``mockserver serve --validate-responses strict`` (gunicorn, its default workers) for the
    tests of a module that run against it too."""
    with serve("--validate-responses", "strict", "--quiet", "--log-level", "warning") as running:
        yield running
