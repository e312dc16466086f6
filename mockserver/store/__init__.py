"""All of the mock's mutable state, by concern, over a memory, SQLite or PostgreSQL backend.

``open_state`` (``opening.py``) picks the backend; ``State`` holds one object per concern
(``records``, ``jobs``, ``leases``, ``endpoints``, ``deliveries``, ``notifications``,
``journal``, ``faults``, ``flags``, ``rate_limits``), each writing its rules once over the
backend's storage primitives (``backend``).
"""

from __future__ import annotations

from mockserver.store.backend import Backend
from mockserver.store.model import DEFAULT_LEASE_S, JSON, Attempt, Delivery, Endpoint, Fault

# isort: split
from mockserver.store.model import InsertOutcome, Job, JobGone, NewRecord, Notification, Page

# isort: split
from mockserver.store.model import RecordChange, Revision, Scope, StoredRecord, UpdateOutcome
from mockserver.store.opening import open_state
from mockserver.store.state import MemoryState, SQLiteState, State

__all__ = [
    "DEFAULT_LEASE_S",
    "JSON",
    "Attempt",
    "Backend",
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
