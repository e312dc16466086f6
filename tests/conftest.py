"""Fixtures every test package shares: the state on each backend, the fake clock,
``mockserver serve`` as a subprocess (:func:`mockserver.testing.serve`), and a throwaway
PostgreSQL server with fresh databases on it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from shared import BACKENDS, FakeClock, state_target
from tooling import unavailable

from mockserver import pgtemp
from mockserver.store import State, open_state
from mockserver.testing import ServeProcess, serve


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the state backend this run of the test uses."""
    name: str = request.param
    return name


@pytest.fixture
def make_state(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., State]]:
    """Open a fresh state of the test's backend: ``make_state(journal_limit=5)`` passes its
    options to :func:`~mockserver.store.open_state`. Each is closed after the test."""
    opened: list[State] = []

    def make(**options: Any) -> State:
        if backend == "postgresql":  # a fresh database on the session's server
            target = request.getfixturevalue("new_postgres_database")()
        else:
            target = state_target(backend, tmp_path, f"state-{len(opened)}")
        opened.append(open_state(target, **options))
        return opened[-1]

    yield make
    for state in opened:
        state.close()


@pytest.fixture
def state(make_state: Callable[..., State]) -> State:
    """A fresh, empty state; the test runs once on each backend."""
    return make_state()


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when told (``clock.advance(5)``), starting at ``clock.start``."""
    return FakeClock()


@pytest.fixture
def launch(request: pytest.FixtureRequest) -> Iterator[Callable[..., ServeProcess]]:
    """``launch(ARGS..., **options)``: :func:`mockserver.testing.serve` for this test. Every
    server it started is stopped (its whole process group) after the test, and a failing
    test's report shows each one's output."""
    started: list[ServeProcess] = []

    def start(*args: str, **options: Any) -> ServeProcess:
        started.append(serve(*args, **options))
        return started[-1]

    request.node.mockserver_processes = started
    yield start
    for server in started:
        server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing test that started servers with ``launch`` gets their output in its report."""
    report = yield
    if report.failed and call.when != "setup":
        for n, server in enumerate(getattr(item, "mockserver_processes", [])):
            report.sections.append((f"mockserver serve #{n + 1} output", server.log_tail(8000)))
    return report


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pgtemp.TempPostgres]:
    """A PostgreSQL server for the whole session (one per xdist worker), stopped at its end.

    Started from the installed server binaries (``mockserver.pgtemp``); without them the tests
    that need it skip, and under CI they fail.
    """
    try:
        server = pgtemp.start()
    except pgtemp.PostgresUnavailable as exc:
        unavailable(f"PostgreSQL: {exc}")
    yield server
    server.stop()


@pytest.fixture
def new_postgres_database(postgres_server: pgtemp.TempPostgres) -> Iterator[Callable[[], str]]:
    """``new_postgres_database()``: the URL of a fresh, empty database on the session's server.
    Every one is dropped after the test (its connections ended)."""
    import psycopg

    created: list[str] = []

    def create() -> str:
        name = f"test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        created.append(name)
        return postgres_server.url(name)

    yield create
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        for name in created:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def postgres_url(new_postgres_database: Callable[[], str]) -> str:
    """The URL of a fresh, empty database (see ``new_postgres_database``)."""
    return new_postgres_database()
