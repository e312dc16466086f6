"""``mockserver serve --state FILE`` keeps customers across a restart."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from .helpers import bunce_customer, serve, tamio_customer


@pytest.mark.slow
def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "state.sqlite3"
    log = tmp_path / "serve.log"

    with serve("--state", str(state_file), log=log) as first:
        bunce = first.bunce("sk_test_restart")
        tamio = first.tamio("tok_restart")
        assert (
            bunce.bulk(
                bunce_customer("1", "ann@example.com"), bunce_customer("2", "bob@example.com")
            ).status_code
            == 200
        )
        created = tamio.create(tamio_customer("Cid", "cid@example.com")).json()["customer"]
    assert first.process.returncode in (0, -signal.SIGTERM), log.read_text()
    assert state_file.exists()

    with serve("--state", str(state_file), log=log) as second:
        bunce = second.bunce("sk_test_restart")
        tamio = second.tamio("tok_restart")

        assert bunce.emails() == ["ann@example.com", "bob@example.com"]
        assert bunce.get("2").json()["data"]["email"] == "bob@example.com"
        duplicate = bunce.bulk(
            bunce_customer("3", "ANN@example.com"), bunce_customer("4", "dan@example.com")
        )
        assert duplicate.status_code == 409
        assert duplicate.json()["errors"] == ["ANN@example.com is already taken"]
        assert bunce.emails() == ["ann@example.com", "bob@example.com", "dan@example.com"]

        assert tamio.retrieve(created["id"]).json()["customer"] == created
        assert tamio.create(tamio_customer("Cid", "cid@example.com")).json()["error_code"] == 10142
