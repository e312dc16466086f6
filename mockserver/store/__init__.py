"""Account-scoped state behind one interface, with an in-memory and an SQLite backend."""

from __future__ import annotations

import os

from mockserver.store.base import (
    Attempt,
    Delivery,
    Endpoint,
    Fault,
    InsertOutcome,
    Job,
    JobGone,
    NewRecord,
    Notification,
    Page,
    RecordChange,
    Revision,
    Scope,
    State,
    StoredRecord,
    UpdateOutcome,
)
from mockserver.store.memory import MemoryState
from mockserver.store.sqlite import SQLiteState


def open_state(
    path: str | os.PathLike[str] | None,
    journal_limit: int = 1000,
    journal_flush_s: float | None = None,
    durable: bool = True,
) -> State:
    """The state for ``--state PATH``: an SQLite file there, or memory of this process if None.

    ``journal_flush_s`` (SQLite only) defers journal writes to a per-process thread;
    ``durable=False`` (SQLite only) skips fsyncs, for a file nobody keeps.
    """
    if path is None:
        return MemoryState(journal_limit=journal_limit)
    return SQLiteState(
        path, journal_limit=journal_limit, journal_flush_s=journal_flush_s, durable=durable
    )


__all__ = [
    "Attempt",
    "Delivery",
    "Endpoint",
    "Fault",
    "InsertOutcome",
    "Job",
    "JobGone",
    "MemoryState",
    "NewRecord",
    "Notification",
    "Page",
    "RecordChange",
    "Revision",
    "SQLiteState",
    "Scope",
    "State",
    "StoredRecord",
    "UpdateOutcome",
    "open_state",
]
