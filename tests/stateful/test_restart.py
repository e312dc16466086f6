"""``mockserver serve --state FILE`` keeps customers across a restart."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from mockserver.testing import serve

from .helpers import bunce_customer, bunce_of, tamio_customer, tamio_of


@pytest.mark.slow
def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "state.sqlite3"

    with serve("--state", str(state_file), "--quiet", "--log-level", "warning") as first:
        bunce = bunce_of(first, "sk_test_restart")
        tamio = tamio_of(first, "tok_restart")
        assert (
            bunce.bulk(
                bunce_customer("1", "ann@example.com"), bunce_customer("2", "bob@example.com")
            ).status_code
            == 200
        )
        created = tamio.create(tamio_customer("Cid", "cid@example.com")).json()["customer"]
    assert first.process.returncode in (0, -signal.SIGTERM), first.log()
    assert state_file.exists()

    with serve("--state", str(state_file), "--quiet", "--log-level", "warning") as second:
        bunce = bunce_of(second, "sk_test_restart")
        tamio = tamio_of(second, "tok_restart")

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
