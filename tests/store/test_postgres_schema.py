"""Setting up the PostgreSQL state: the ``--state`` setting, the schema's versioned migrations
(idempotent, safe when several hosts start at once, a newer schema refused) and one clear
message when the database cannot be reached."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from shared import free_port

from mockserver.config import Settings, describe_state
from mockserver.errors import ConfigError
from mockserver.store import Scope, open_state
from mockserver.store.postgres import SCHEMA_VERSION, PostgresBackend

from . import customer


def applied_versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version FROM mockserver.migrations ORDER BY version")
        return [r[0] for r in rows]


# -- the setting ---------------------------------------------------------------------------------
def test_the_state_setting_takes_a_file_or_a_postgresql_url_also_from_the_environment(
    tmp_path: Path,
) -> None:
    url = "postgresql://mock:secret@db.internal:5432/mockserver?sslmode=require"
    settings = Settings.from_env({"MOCKSERVER_STATE": url, "MOCKSERVER_STATE_POOL": "12"})
    assert (settings.state, settings.state_url, settings.pool_size) == (url, True, 12)
    assert Settings(threads=4).pool_size == 12  # a connection per thread, the background's, a spare
    assert not Settings(state=str(tmp_path / "state.db")).state_url
    assert not Settings(state=f"sqlite:///{tmp_path}/state.db").state_url
    # Logs show the URL without its password.
    assert describe_state(url) == "postgresql://mock:***@db.internal:5432/mockserver?sslmode=require"
    assert describe_state("postgres://mock@db/m") == "postgres://mock@db/m"
    assert describe_state(None) == "memory"


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("mysql://db/mock", r"an SQLite file path \(or sqlite:///PATH\) or a postgresql://"),
        (".", "is a directory"),
    ],
)
def test_a_state_that_is_neither_a_file_nor_a_postgresql_url_is_refused(
    state: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings(state=state)


def test_serve_stops_with_one_message_when_the_database_cannot_be_reached() -> None:
    url = f"postgresql://mock:hunter2@127.0.0.1:{free_port()}/mockserver"
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--state", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "PostgreSQL state at postgresql://mock:***@127.0.0.1:" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


# -- migrations ----------------------------------------------------------------------------------
def test_the_schema_is_created_once_and_opening_again_keeps_the_data(postgres_url: str) -> None:
    first = open_state(postgres_url)
    first.records.insert_batch(Scope("bunce", "sk_test_a"), [customer(1)])
    first.close()

    again = open_state(postgres_url)
    try:
        assert [r.id for r in again.records.all(Scope("bunce", "sk_test_a"))] == ["cus_00000001"]
    finally:
        again.close()
    assert applied_versions(postgres_url) == list(range(1, SCHEMA_VERSION + 1))


def test_hosts_that_start_at_once_migrate_the_schema_once(postgres_url: str) -> None:
    hosts = 6
    start = threading.Barrier(hosts)
    opened: list[PostgresBackend] = []
    failures: list[BaseException] = []

    def open_one() -> None:
        start.wait()
        try:
            opened.append(PostgresBackend(postgres_url, pool_size=1))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(hosts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for backend in opened:
        backend.close()

    assert failures == []
    assert len(opened) == hosts
    assert applied_versions(postgres_url) == list(range(1, SCHEMA_VERSION + 1))


def test_a_schema_migrated_by_a_newer_mockserver_is_refused(postgres_url: str) -> None:
    open_state(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        newer = SCHEMA_VERSION + 1
        conn.execute("INSERT INTO mockserver.migrations (version) VALUES (%s)", (newer,))

    with pytest.raises(ConfigError, match="newer than this mockserver's") as refused:
        open_state(postgres_url)
    assert f"version {SCHEMA_VERSION + 1}" in str(refused.value)
