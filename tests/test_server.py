"""How ``mockserver serve`` sets up gunicorn: connection balancing and the workers' app."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from mockserver.app import load_specs, packs_registry
from mockserver.config import Settings
from mockserver.server import balances_connections, worker_app


@pytest.mark.parametrize(
    ("workers", "port", "expected"),
    [(2, 8000, True), (4, 18080, True), (1, 8000, False), (2, 0, True)],
)
def test_each_worker_gets_its_own_listening_socket_only_with_several(
    workers: int, port: int, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    # --port 0 is resolved to one free port before the workers start: they all bind that one.
    assert balances_connections(Settings(workers=workers, port=port)) is expected


def test_macos_keeps_one_shared_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    # Its SO_REUSEPORT gives every connection to one socket: one worker would do all the work.
    monkeypatch.setattr(sys, "platform", "darwin")
    assert balances_connections(Settings(workers=2, port=8000)) is False


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_worker_freezes_what_it_loaded_so_collections_skip_it(unfrozen: None) -> None:
    settings = Settings(background=False)
    assert gc.get_freeze_count() == 0

    registry = packs_registry(None)
    app = worker_app(settings, None, load_specs(settings, registry), registry)

    assert gc.get_freeze_count() > 10_000  # the app's specs, validators, Flask and werkzeug
    assert app.test_client().get("/__mock/health").status_code == 200
