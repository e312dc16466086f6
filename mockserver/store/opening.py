"""Opening the state a ``--state`` target names: memory, an SQLite file or a PostgreSQL
database (whose module, and psycopg, load only when one is named)."""

from __future__ import annotations

import os

from mockserver.config import is_postgres_url
from mockserver.errors import ConfigError
from mockserver.store.state import MemoryState, SQLiteState, State


def open_state(
    target: str | os.PathLike[str] | None,
    journal_limit: int = 1000,
    journal_flush_s: float | None = None,
    durable: bool = True,
    pool_size: int = 16,
) -> State:
    """The state for ``--state TARGET``: memory of this process if None, a PostgreSQL database
    for a ``postgresql://`` URL (shared by several hosts: docs/deployment.md), else an SQLite
    file at that path (``sqlite:///path`` too).

    ``journal_flush_s`` (SQLite only) defers journal writes to a per-process thread;
    ``durable=False`` (SQLite only) skips fsyncs, for a file nobody keeps; ``pool_size``
    (PostgreSQL only) is the most connections this process opens.
    """
    if target is None:
        return MemoryState(journal_limit=journal_limit)
    path = os.fspath(target)
    if is_postgres_url(path):
        return _postgres_state(path, journal_limit, pool_size)
    if path.startswith("sqlite:///"):
        path = path.removeprefix("sqlite://")
    return SQLiteState(
        path, journal_limit=journal_limit, journal_flush_s=journal_flush_s, durable=durable
    )


def _postgres_state(url: str, journal_limit: int, pool_size: int) -> State:
    try:
        from mockserver.store.postgres import PostgresState
    except ImportError as exc:  # psycopg is the optional extra
        raise ConfigError(
            f"a postgresql:// state needs psycopg and psycopg_pool ({exc}):"
            " pip install 'mockserver[postgresql]'"
        ) from None
    return PostgresState(url, journal_limit=journal_limit, pool_size=pool_size)
