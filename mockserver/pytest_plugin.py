"""The pytest plugin (registered through the ``pytest11`` entry point).

``mockserver`` (function scope) hands back one server started per session on a free port, reset at
the start of each test; errors raised inside the server fail the test that caused them (checked
right after the test body, and again at teardown).
``mockserver_app`` is the in-process variant (Flask test client, no socket) for fast unit tests.

Override the config fixtures in a ``conftest.py``::

    @pytest.fixture(scope="session")
    def mockserver_specs():
        return ["specs/my-api.yaml"]

    @pytest.fixture(scope="session")
    def mockserver_apis():  # the API packs to serve with (default: bundled and installed)
        return [*mockserver.apis.bundled(), MY_PACK]

Proxy mode: ``MOCKSERVER_PROXY=<api>=https://sandbox.example/v1 pytest`` runs the suite
through the real API, checked against the spec (``MOCKSERVER_RECORD_DIR`` records it,
``MOCKSERVER_REPLAY_DIR`` answers from recordings; see ``mockserver_relay``).

HTTPS: set ``mockserver_tls = true`` in the pytest ini file (or override ``mockserver_tls``);
``mockserver.base_url(...)`` is then ``https://...`` and ``mockserver.ca_bundle`` is the CA
certificate the client under test must trust (the mock's local CA, kept in ``MOCKSERVER_TLS_DIR``
or the user's data directory).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.config import Settings
from mockserver.packs import ApiPack
from mockserver.testing import MockServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "mockserver_tls",
        type="bool",
        default=False,
        help="serve the mockserver fixture over HTTPS (mockserver.ca_bundle is the CA to trust)",
    )


@pytest.fixture(scope="session")
def mockserver_tls(pytestconfig: pytest.Config) -> bool:
    """Whether the session's server speaks HTTPS (the ``mockserver_tls`` ini option)."""
    return bool(pytestconfig.getini("mockserver_tls"))


@pytest.fixture(scope="session")
def mockserver_host() -> str:
    """Address to bind (``MOCKSERVER_TEST_HOST``, default 127.0.0.1)."""
    return os.environ.get("MOCKSERVER_TEST_HOST", "127.0.0.1")


@pytest.fixture(scope="session")
def mockserver_port() -> int:
    """Port to bind; 0 (the default) picks a free one, which keeps pytest-xdist workers apart."""
    return int(os.environ.get("MOCKSERVER_TEST_PORT", "0"))


@pytest.fixture(scope="session")
def mockserver_specs() -> list[str]:
    """Extra spec files to serve beside the bundled ones."""
    return []


@pytest.fixture(scope="session")
def mockserver_seed() -> int:
    """Seed for generated data, so answers repeat from run to run."""
    return 1234


@pytest.fixture(scope="session")
def mockserver_dataset() -> str | None:
    """A data set file loaded at start and after every reset (None: start empty)."""
    return None


@pytest.fixture(scope="session")
def mockserver_apis() -> list[ApiPack] | None:
    """The API packs the servers run with (None: the bundled ones and every installed one)."""
    return None


RELAY_SETTINGS = ("proxy", "proxy_strict", "proxy_timeout_s", "record_dir", "replay_dir")


@pytest.fixture(scope="session")
def mockserver_relay() -> dict[str, Any]:
    """Proxy, record and replay settings for the session's server (docs/proxy.md), from
    ``MOCKSERVER_PROXY`` (``<api>=https://sandbox.example/v1``), ``MOCKSERVER_RECORD_DIR``,
    ``MOCKSERVER_REPLAY_DIR``, ``MOCKSERVER_PROXY_STRICT`` and ``MOCKSERVER_PROXY_TIMEOUT_S``;
    none set: the mock answers everything itself."""
    wanted = {f"MOCKSERVER_{name.upper()}" for name in RELAY_SETTINGS}
    chosen = Settings.from_env({k: v for k, v in os.environ.items() if k in wanted})
    return {name: getattr(chosen, name) for name in RELAY_SETTINGS}


@pytest.fixture(scope="session")
def mockserver_settings(
    mockserver_host: str,
    mockserver_port: int,
    mockserver_specs: list[str],
    mockserver_seed: int,
    mockserver_dataset: str | None,
    mockserver_tls: bool,
    mockserver_relay: dict[str, Any],
) -> Settings:
    """Settings for the session's server: strict response validation, quick retries, quiet logs."""
    return Settings(
        tls=mockserver_tls,
        tls_dir=os.environ.get("MOCKSERVER_TLS_DIR") or None,
        host=mockserver_host,
        port=mockserver_port,
        specs=list(mockserver_specs),
        seed=mockserver_seed,
        dataset=mockserver_dataset,
        validate_responses="strict",
        log_requests=False,
        job_delay_s=0.05,
        webhook_backoff_base_s=0.05,
        webhook_backoff_cap_s=0.5,
        webhook_timeout_s=2.0,
        **mockserver_relay,
    )


@pytest.fixture(scope="session")
def mockserver_session(
    mockserver_settings: Settings, mockserver_apis: list[ApiPack] | None
) -> Iterator[MockServer]:
    """One live server for the whole session (use ``mockserver`` in tests)."""
    settings = mockserver_settings
    with MockServer.start(settings, settings.host, settings.port, apis=mockserver_apis) as server:
        yield server


@pytest.fixture
def mockserver(mockserver_session: MockServer) -> Iterator[MockServer]:
    """The live mock, with state, journal, faults and jobs empty at the start of the test."""
    with mockserver_session.fresh() as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Re-raise errors from inside the mock in the test itself (not only at teardown).

    A test that passed fails with :class:`~mockserver.testing.ServerError`; a test that failed
    (often *because* the mock answered 500) gets the mock's errors added as a note.
    """
    funcargs = getattr(item, "funcargs", {})
    servers = [funcargs[name] for name in ("mockserver", "mockserver_app") if name in funcargs]
    try:
        result = yield
    except BaseException as exc:
        for server in servers:
            try:
                server.check()
            except AssertionError as inside:
                exc.add_note(str(inside))
        raise
    for server in servers:
        server.check()
    return result


@pytest.fixture
def mockserver_app(
    mockserver_settings: Settings, mockserver_apis: list[ApiPack] | None
) -> Iterator[MockServer]:
    """An in-process mock (``.client`` is a Flask test client): no socket, fresh per test."""
    server = MockServer.in_process(mockserver_settings, apis=mockserver_apis)
    yield server
    server.stop()
    server.check()
