"""Storage in an SQL database: the primitives of ``backend.Tx`` as statements, and the schema.

The statements are shared by every SQL backend; a :class:`Dialect` says how one database
spells what differs (placeholders, column types, how a write transaction starts, the lock a
claim takes, the way to learn sequence numbers). :class:`SqlTx` runs them on a DB-API
connection inside a transaction its backend opened.

Records: a scope (api, account) is a row of ``scopes`` (with its record count, so a count is
free); ``records`` has ``seq`` (never reused, across processes too), ``UNIQUE (scope_id, id)``
and an index on ``(scope_id, seq)``; ``unique_keys`` has the primary key ``(scope_id, key,
value)``. The taken ids and values of a batch are looked up with a few ``IN`` lists and the new
rows written with ``executemany``; the unique indexes stay the last word (a violation raises and
rolls the whole transaction back).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import fields
from typing import Any, TypeVar

import orjson

from mockserver.store.backend import Due, JournalRow, Kind, StoredRow
from mockserver.store.codec import compact_json
from mockserver.store.model import JSON, Attempt, Delivery, Endpoint, Fault, Job

# isort: split
from mockserver.store.model import NewRecord, Notification, Scope, StoredRecord


class Dialect:
    """How one database spells the statements (SQLite's spelling here; override for another).

    Statements are written with ``?`` placeholders; :meth:`q` turns them into the database's.
    """

    name = "sqlite"
    placeholder = "?"
    begin_write = ("BEGIN IMMEDIATE",)
    """What starts a write transaction: it must exclude every other writer (process) from the
    first read on, so that checks and writes never interleave."""
    begin_read = "BEGIN"
    lock_claimable = ""
    """Appended to the selects of claimable rows inside a claim (``FOR UPDATE SKIP LOCKED``)."""
    types: Mapping[str, str] = {
        "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "blob": "BLOB",
        "real": "REAL",
        "int": "INTEGER",
        "without_rowid": " WITHOUT ROWID",
    }
    last_record_seq = (
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'records'), 0),"
        " coalesce((SELECT max(seq) FROM records), 0))"
    )
    """The highest record seq ever given (deleted ones included): new ones follow it."""
    after_records: str | None = None
    """Run after records were inserted with explicit seqs, with the last one as parameter
    (a database whose serial column does not follow explicit values moves it on here)."""
    last_journal_seq = "SELECT last_insert_rowid()"
    """The seq of the last journal row this transaction inserted."""

    @functools.cached_property
    def q(self) -> Callable[[str], str]:
        """A statement written with ``?`` in this dialect's placeholders."""
        if self.placeholder == "?":
            return str
        return functools.cache(lambda sql: sql.replace("?", self.placeholder))

    def schema(self) -> list[str]:
        """The CREATE statements (each ``IF NOT EXISTS``)."""
        text = _SCHEMA.format(**self.types)
        return [s.strip() for s in text.split(";") if s.strip()]


SQLITE = Dialect()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scopes (
    scope_id {serial},
    api TEXT NOT NULL,
    account TEXT NOT NULL,
    n {int} NOT NULL DEFAULT 0,
    UNIQUE (api, account)
);
CREATE TABLE IF NOT EXISTS records (
    seq {serial},
    scope_id {int} NOT NULL,
    id TEXT NOT NULL,
    data {blob} NOT NULL,
    uniq {blob},
    UNIQUE (scope_id, id)
);
CREATE INDEX IF NOT EXISTS records_scope_seq ON records (scope_id, seq);
CREATE TABLE IF NOT EXISTS unique_keys (
    scope_id {int} NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    seq {int} NOT NULL,
    PRIMARY KEY (scope_id, key, value)
){without_rowid};
CREATE TABLE IF NOT EXISTS jobs (
    pos {serial},
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    api TEXT NOT NULL,
    account TEXT NOT NULL,
    payload {blob} NOT NULL,
    due_at {real} NOT NULL,
    status TEXT NOT NULL,
    result {blob},
    created_at {real} NOT NULL,
    finished_at {real},
    lease_until {real},
    claim TEXT,
    progress {blob}
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (status, due_at);
CREATE TABLE IF NOT EXISTS endpoints (
    pos {serial},
    id TEXT NOT NULL UNIQUE,
    api TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events {blob} NOT NULL,
    account TEXT,
    created_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    pos {serial},
    id TEXT NOT NULL UNIQUE,
    endpoint_id TEXT NOT NULL,
    event {blob} NOT NULL,
    due_at {real} NOT NULL,
    status TEXT NOT NULL,
    attempts {blob} NOT NULL,
    created_at {real} NOT NULL,
    lease_until {real},
    claim TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, due_at);
CREATE INDEX IF NOT EXISTS deliveries_endpoint ON deliveries (endpoint_id);
CREATE TABLE IF NOT EXISTS notifications (
    pos {serial},
    id TEXT NOT NULL UNIQUE,
    api TEXT NOT NULL,
    account TEXT NOT NULL,
    job_id TEXT,
    time {real} NOT NULL,
    data {blob} NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    seq {serial},
    api TEXT,
    operation_id TEXT,
    status {int},
    entry {blob} NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    pos {serial},
    id TEXT NOT NULL UNIQUE,
    api TEXT,
    operation_id TEXT,
    method TEXT,
    path TEXT,
    status {int},
    latency_ms {int} NOT NULL,
    drop_ {int} NOT NULL,
    remaining {int} NOT NULL
);
CREATE TABLE IF NOT EXISTS flags (name TEXT PRIMARY KEY, value {blob} NOT NULL);
CREATE TABLE IF NOT EXISTS hits (
    key TEXT PRIMARY KEY,
    window_start {real} NOT NULL,
    count {int} NOT NULL
)
"""

TABLES = (
    "records",
    "unique_keys",
    "jobs",
    "endpoints",
    "deliveries",
    "notifications",
    "journal",
    "faults",
    "flags",
    "hits",
)

_JOB_COLUMNS = (
    "id, kind, api, account, payload, due_at, status, result, created_at, finished_at,"
    " lease_until, claim"
)
_DELIVERY_COLUMNS = (
    "id, endpoint_id, event, due_at, status, attempts, created_at, lease_until, claim"
)
# A table's columns are its dataclass's fields, in their order (``drop_`` is Fault's ``drop``).
_FIELDS: dict[type, list[str]] = {
    cls: [f.name for f in fields(cls)] for cls in (Job, Delivery, Endpoint, Notification, Fault)
}
_JSON_FIELDS: dict[type, tuple[str, ...]] = {
    Job: ("payload", "result"),
    Delivery: ("event", "attempts"),
    Endpoint: ("events",),
    Notification: ("data",),
    Fault: (),
}
_CLASS: dict[Kind, type] = {"jobs": Job, "deliveries": Delivery}
T = TypeVar("T")
_COLUMNS: dict[Kind, str] = {"jobs": _JOB_COLUMNS, "deliveries": _DELIVERY_COLUMNS}
_ENDPOINT_COLUMNS = "id, api, url, secret, events, account, created_at"
_NOTIFICATION_COLUMNS = "id, api, account, job_id, time, data"
_FAULT_COLUMNS = "id, api, operation_id, method, path, status, latency_ms, drop_, remaining"

# Lists of values (taken ids, claims) are bound one parameter each, in chunks whose lengths are
# powers of two, padded with NULL (which matches nothing), so a handful of prepared statements
# serve every size. (A JSON array read with json_each was tried first: SQLite's JSON functions
# cut a string at an escaped NUL, so an id holding one was never found taken.)
_CHUNK = 256


def _chunks(values: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
    """(the ``?, ?, ...`` of a padded chunk, its values) for each chunk of ``values``."""
    for start in range(0, len(values), _CHUNK):
        chunk = list(values[start : start + _CHUNK])
        size = 1 << max(len(chunk) - 1, 0).bit_length()
        yield _marks(size), chunk + [None] * (size - len(chunk))


@functools.cache
def _marks(size: int) -> str:
    return ",".join("?" * size)


def _page_query(up: bool, skipping: bool) -> str:
    order = "ASC" if up else "DESC"
    window = (
        f"FROM records WHERE scope_id = ? AND seq > ? AND seq < ? ORDER BY seq {order}"
        " LIMIT ? OFFSET ?"
    )
    if not skipping:
        return f"SELECT seq, id, data {window}"
    # The offset is skipped on the covering (scope_id, seq) index alone and only the page's rows
    # are read from the table: twice as fast as a plain OFFSET over the table.
    return (
        f"SELECT seq, id, data FROM records WHERE seq IN (SELECT seq {window}) ORDER BY seq {order}"
    )


_SQL_PAGE = {
    (up, skipping): _page_query(up, skipping) for up in (True, False) for skipping in (True, False)
}
_MIN_SEQ = -(2**63)
_MAX_SEQ = 2**63 - 1


def _values(item: Any) -> list[Any]:
    """An item's fields in order (its table's columns are in that order) as parameters: JSON
    values (dicts, lists, the attempts) as JSON, a boolean as 0 or 1."""
    values = [getattr(item, name) for name in _FIELDS[type(item)]]
    return [
        orjson.dumps(v) if isinstance(v, dict | list) else int(v) if isinstance(v, bool) else v
        for v in values
    ]


def _item(cls: type[T], row: Sequence[Any]) -> T:
    """The item of a row of :func:`_values`."""
    values = dict(zip(_FIELDS[cls], row, strict=True))
    for name in _JSON_FIELDS[cls]:
        if values[name] is not None:
            values[name] = orjson.loads(values[name])
    item = cls(**values)
    if isinstance(item, Delivery):
        item.attempts = [Attempt(**a) for a in item.attempts]  # type: ignore[arg-type]
    if isinstance(item, Fault):
        item.drop = bool(item.drop)
    return item


class SqlTx:
    """The storage primitives on one connection, inside the transaction its backend opened.

    ``scope_ids`` is the backend's cache of scope row ids (scopes rows are never deleted, so an
    id is good for good once committed); the ids of scopes this transaction created wait in
    ``new_scopes`` until the backend has committed it.
    """

    def __init__(self, db: Any, dialect: Dialect, scope_ids: dict[Scope, int]) -> None:
        self.db = db
        self.dialect = dialect
        self.scope_ids = scope_ids
        self.new_scopes: dict[Scope, int] = {}
        self._absent: set[Scope] | None = None  # in a write transaction: scopes found missing
        self._q = dialect.q

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute one statement (written with ``?``); the cursor."""
        return self.db.execute(self._q(sql), params)

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.db.cursor().executemany(self._q(sql), rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.run(sql, params).fetchone()

    def began(self) -> None:
        """The backend began a write transaction (no other writer runs until it ends)."""
        self._absent = set()

    def committed(self) -> None:
        """The backend committed the write transaction: the scopes it created are for good."""
        if self.new_scopes:
            self.scope_ids.update(self.new_scopes)
            self.new_scopes = {}
        self._absent = None

    def rolled_back(self) -> None:
        self.new_scopes = {}
        self._absent = None

    # -- records -------------------------------------------------------------------------------
    def _scope_id(self, scope: Scope) -> int | None:
        """The id of a scope's row, or None while the scope has never held a record."""
        scope_id = self.scope_ids.get(scope) or self.new_scopes.get(scope)
        if scope_id is None:
            absent = self._absent
            if absent is not None and scope in absent:
                return None  # looked up in this write transaction: nobody else can add it
            row = self.one(
                "SELECT scope_id FROM scopes WHERE api = ? AND account = ?",
                (scope.api, scope.account),
            )
            if row is None:
                if absent is not None:
                    absent.add(scope)
                return None
            # Only a committed row gets here (this transaction's own are in new_scopes).
            scope_id = self.scope_ids[scope] = int(row[0])
        return scope_id

    def _create_scope(self, scope: Scope) -> int:
        """The id of a scope's row, created if missing (in this write transaction)."""
        self.open_scope(scope)
        return self.new_scopes.get(scope) or self.scope_ids[scope]

    def open_scope(self, scope: Scope) -> bool:
        if self.scope_ids.get(scope) or self.new_scopes.get(scope):
            return False
        # One statement for a new account (a fresh test's, every stateful request of a load
        # test): looking it up first cost a query more inside the write lock.
        row = self.one(
            "INSERT INTO scopes (api, account) VALUES (?, ?) ON CONFLICT DO NOTHING"
            " RETURNING scope_id",
            (scope.api, scope.account),
        )
        if self._absent is not None:
            self._absent.discard(scope)  # it exists now, made here or committed before
        if row is None:  # committed before this transaction began: its id, kept
            self._scope_id(scope)
            return False
        self.new_scopes[scope] = int(row[0])
        return True

    def _taken(self, scope: Scope, values: Sequence[str], key: str | None) -> set[str]:
        scope_id = self._scope_id(scope)
        if scope_id is None or not values:
            return set()  # a new account (a fresh test's) has nothing to collide with
        if key is None:
            sql, head = "SELECT id FROM records WHERE scope_id = ? AND id IN ({})", (scope_id,)
        else:
            sql = "SELECT value FROM unique_keys WHERE scope_id = ? AND key = ? AND value IN ({})"
            head = (scope_id, key)  # type: ignore[assignment]
        found: set[str] = set()
        for marks, chunk in _chunks(values):
            found.update(row[0] for row in self.run(sql.format(marks), (*head, *chunk)))
        return found

    def taken_ids(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        return self._taken(scope, ids, None)

    def taken_values(self, scope: Scope, key: str, values: Sequence[str]) -> set[str]:
        return self._taken(scope, values, key)

    def add_records(
        self, scope: Scope, records: Sequence[NewRecord], blobs: Sequence[bytes]
    ) -> None:
        scope_id = self._create_scope(scope)
        seq = int(self.one(self.dialect.last_record_seq)[0])
        record_rows: list[tuple[int, int, str, bytes, bytes | None]] = []
        key_rows: list[tuple[int, str, str, int]] = []
        for record, blob in zip(records, blobs, strict=True):
            seq += 1
            flat = [x for pair in record.unique.items() for x in pair]
            key_rows.extend((scope_id, key, value, seq) for key, value in record.unique.items())
            # Right-sized (compact_json): the rows wait for the executemany below.
            record_rows.append(
                (seq, scope_id, record.id, blob, compact_json(flat) if flat else None)
            )
        self.run_many(
            "INSERT INTO records (seq, scope_id, id, data, uniq) VALUES (?, ?, ?, ?, ?)",
            record_rows,
        )
        self.run_many(
            "INSERT INTO unique_keys (scope_id, key, value, seq) VALUES (?, ?, ?, ?)", key_rows
        )
        self.run("UPDATE scopes SET n = n + ? WHERE scope_id = ?", (len(record_rows), scope_id))
        if self.dialect.after_records is not None:
            self.run(self.dialect.after_records, (seq,))

    def record(self, scope: Scope, record_id: str) -> StoredRow | None:
        row = self.one(
            "SELECT seq, data, uniq FROM records WHERE scope_id = ? AND id = ?",
            (self._scope_id(scope), record_id),
        )
        if row is None:
            return None
        flat = orjson.loads(row[2]) if row[2] is not None else []
        unique = {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}
        return StoredRow(row[0], record_id, unique, orjson.loads(row[1]))

    def record_data(self, scope: Scope, record_id: str) -> JSON | None:
        row = self.one(
            "SELECT data FROM records WHERE scope_id = ? AND id = ?",
            (self._scope_id(scope), record_id),
        )
        return None if row is None else orjson.loads(row[0])

    def record_by_key(self, scope: Scope, key: str, value: str) -> JSON | None:
        row = self.one(
            "SELECT r.data FROM unique_keys u JOIN records r ON r.seq = u.seq"
            " WHERE u.scope_id = ? AND u.key = ? AND u.value = ?",
            (self._scope_id(scope), key, value),
        )
        return None if row is None else orjson.loads(row[0])

    def key_holder(self, scope: Scope, key: str, value: str) -> int | None:
        row = self.one(
            "SELECT seq FROM unique_keys WHERE scope_id = ? AND key = ? AND value = ?",
            (self._scope_id(scope), key, value),
        )
        return None if row is None else int(row[0])

    def _drop_keys(self, scope_id: int, unique: Mapping[str, str]) -> None:
        self.run_many(  # by primary key (there is no index on seq)
            "DELETE FROM unique_keys WHERE scope_id = ? AND key = ? AND value = ?",
            [(scope_id, key, value) for key, value in unique.items()],
        )

    def rewrite_record(
        self, scope: Scope, row: StoredRow, unique: Mapping[str, str], blob: bytes
    ) -> None:
        scope_id = self._scope_id(scope)
        assert scope_id is not None
        flat = [x for pair in unique.items() for x in pair]
        self.run(
            "UPDATE records SET data = ?, uniq = ? WHERE seq = ?",
            (blob, orjson.dumps(flat) if flat else None, row.seq),
        )
        self._drop_keys(scope_id, row.unique)
        self.run_many(
            "INSERT INTO unique_keys (scope_id, key, value, seq) VALUES (?, ?, ?, ?)",
            [(scope_id, key, value, row.seq) for key, value in unique.items()],
        )

    def delete_record(self, scope: Scope, record_id: str) -> bool:
        scope_id = self._scope_id(scope)
        row = self.one(
            "DELETE FROM records WHERE scope_id = ? AND id = ? RETURNING uniq",
            (scope_id, record_id),
        )
        if scope_id is None or row is None:
            return False
        flat = orjson.loads(row[0]) if row[0] is not None else []
        self._drop_keys(scope_id, {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)})
        self.run("UPDATE scopes SET n = n - 1 WHERE scope_id = ?", (scope_id,))
        return True

    def clear_records(self, scope: Scope) -> int:
        scope_id = self._scope_id(scope)
        removed = self.run("DELETE FROM records WHERE scope_id = ?", (scope_id,)).rowcount
        self.run("DELETE FROM unique_keys WHERE scope_id = ?", (scope_id,))
        self.run("UPDATE scopes SET n = 0 WHERE scope_id = ?", (scope_id,))
        return int(removed)

    def count(self, scope: Scope) -> int:
        row = self.one("SELECT n FROM scopes WHERE scope_id = ?", (self._scope_id(scope),))
        return 0 if row is None else int(row[0])

    def accounts(self, api: str) -> list[str]:
        rows = self.run(
            "SELECT account FROM scopes WHERE api = ? AND n > 0 ORDER BY account", (api,)
        )
        return [row[0] for row in rows]

    def seq_window(
        self, scope: Scope, after: int | None, before: int | None, skip: int, limit: int, up: bool
    ) -> list[StoredRecord]:
        low = _MIN_SEQ if after is None else after
        high = _MAX_SEQ if before is None else before
        params = (self._scope_id(scope), low, high, limit, skip)
        rows = self.run(_SQL_PAGE[up, skip > 0], params).fetchall()
        if not up:
            rows.reverse()
        return [StoredRecord(r[0], r[1], orjson.loads(r[2])) for r in rows]

    def any_seq_below(self, scope: Scope, seq: int) -> bool:
        sql = "SELECT EXISTS (SELECT 1 FROM records WHERE scope_id = ? AND seq < ?)"
        return bool(self.one(sql, (self._scope_id(scope), seq))[0])

    def any_seq_from(self, scope: Scope, seq: int) -> bool:
        sql = "SELECT EXISTS (SELECT 1 FROM records WHERE scope_id = ? AND seq >= ?)"
        return bool(self.one(sql, (self._scope_id(scope), seq))[0])

    def all_records(self, scope: Scope) -> list[StoredRecord]:
        rows = self.run(
            "SELECT seq, id, data FROM records WHERE scope_id = ? ORDER BY seq",
            (self._scope_id(scope),),
        )
        return [StoredRecord(r[0], r[1], orjson.loads(r[2])) for r in rows]

    # -- jobs and deliveries -------------------------------------------------------------------
    def _insert(self, table: str, columns: str, params: Sequence[Any]) -> bool:
        marks = _marks(len(params))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING"
        return bool(self.run(sql, params).rowcount)

    def insert_job(self, job: Job) -> bool:
        return self._insert("jobs", _JOB_COLUMNS, _values(job))

    def job_status(self, job_id: str) -> str | None:
        row = self.one("SELECT status FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else str(row[0])

    def job_progress(self, job_id: str) -> bytes | None:
        row = self.one("SELECT progress FROM jobs WHERE id = ?", (job_id,))
        return None if row is None or row[0] is None else bytes(row[0])

    def set_job_progress(self, job_id: str, blob: bytes) -> None:
        self.run("UPDATE jobs SET progress = ? WHERE id = ?", (blob, job_id))

    def finish_job(self, job_id: str, status: str, result: JSON, finished_at: float) -> bool:
        changed = self.run(
            "UPDATE jobs SET status = ?, result = ?, finished_at = ?, lease_until = NULL,"
            " claim = NULL WHERE id = ?",
            (status, orjson.dumps(result), finished_at, job_id),
        ).rowcount
        return bool(changed)

    def all_jobs(self) -> list[Job]:
        rows = self.run(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY created_at, pos")
        return [_item(Job, r) for r in rows]

    def pending_due(self, kind: Kind, upto: float, limit: int) -> list[Due]:
        sql = (
            f"SELECT due_at, pos, id FROM {kind} WHERE status = 'pending' AND due_at <= ?"
            f" ORDER BY due_at, pos LIMIT ?{self.dialect.lock_claimable}"
        )
        return [(r[0], r[1], r[2]) for r in self.run(sql, (upto, limit))]

    def lapsed(self, kind: Kind, status: str, upto: float, limit: int) -> list[Due]:
        sql = (
            f"SELECT due_at, pos, id FROM {kind} WHERE status = ? AND lease_until <= ?"
            f" ORDER BY due_at, pos LIMIT ?{self.dialect.lock_claimable}"
        )
        return [(r[0], r[1], r[2]) for r in self.run(sql, (status, upto, limit))]

    def earliest_due(self, kind: Kind) -> float | None:
        row = self.one(f"SELECT min(due_at) FROM {kind} WHERE status = 'pending'")
        return None if row[0] is None else float(row[0])

    def earliest_lapse(self, kind: Kind, status: str) -> float | None:
        row = self.one(f"SELECT min(lease_until) FROM {kind} WHERE status = ?", (status,))
        return None if row[0] is None else float(row[0])

    def hold(
        self, kind: Kind, ids: Sequence[str], status: str, lease_until: float, prefix: str
    ) -> list[Any]:
        held: dict[str, Any] = {}
        for marks, chunk in _chunks(ids):
            rows = self.run(
                f"UPDATE {kind} SET status = ?, lease_until = ?, claim = ? || id"
                f" WHERE id IN ({marks}) RETURNING {_COLUMNS[kind]}",
                (status, lease_until, prefix, *chunk),
            )
            held.update((row[0], _item(_CLASS[kind], row)) for row in rows)
        return [held[i] for i in ids]

    def _by_claims(self, sql: str, head: tuple[Any, ...], claims: Collection[str]) -> int:
        changed = 0
        for marks, chunk in _chunks(list(claims)):
            changed += self.run(sql.format(marks), (*head, *chunk)).rowcount
        return changed

    def set_leases(
        self, kind: Kind, status: str, claims: Collection[str], lease_until: float
    ) -> int:
        sql = f"UPDATE {kind} SET lease_until = ? WHERE status = ? AND claim IN ({{}})"
        return self._by_claims(sql, (lease_until, status), claims)

    def hand_back(self, kind: Kind, status: str, claims: Collection[str]) -> int:
        sql = (
            f"UPDATE {kind} SET status = 'pending', lease_until = NULL"
            " WHERE status = ? AND claim IN ({})"
        )
        return self._by_claims(sql, (status,), claims)

    # -- webhooks ------------------------------------------------------------------------------
    def insert_endpoint(self, endpoint: Endpoint) -> bool:
        return self._insert("endpoints", _ENDPOINT_COLUMNS, _values(endpoint))

    def all_endpoints(self) -> list[Endpoint]:
        rows = self.run(f"SELECT {_ENDPOINT_COLUMNS} FROM endpoints ORDER BY created_at, pos")
        return [_item(Endpoint, r) for r in rows]

    def delete_endpoint(self, endpoint_id: str) -> bool:
        return bool(self.run("DELETE FROM endpoints WHERE id = ?", (endpoint_id,)).rowcount)

    def insert_delivery(self, delivery: Delivery) -> bool:
        return self._insert("deliveries", _DELIVERY_COLUMNS, _values(delivery))

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = self.one(f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE id = ?", (delivery_id,))
        return None if row is None else _item(Delivery, row)

    def set_delivery(
        self, delivery_id: str, attempts: list[Attempt], status: str, due_at: float
    ) -> None:
        self.run(
            "UPDATE deliveries SET attempts = ?, status = ?, due_at = ?, lease_until = NULL,"
            " claim = NULL WHERE id = ?",
            (orjson.dumps(attempts), status, due_at, delivery_id),
        )

    def all_deliveries(self) -> list[Delivery]:
        rows = self.run(f"SELECT {_DELIVERY_COLUMNS} FROM deliveries ORDER BY created_at, pos")
        return [_item(Delivery, r) for r in rows]

    def insert_notification(self, notification: Notification) -> bool:
        return self._insert("notifications", _NOTIFICATION_COLUMNS, _values(notification))

    def all_notifications(self) -> list[Notification]:
        rows = self.run(f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications ORDER BY pos")
        return [_item(Notification, r) for r in rows]

    # -- journal -------------------------------------------------------------------------------
    def append_journal(self, rows: Sequence[JournalRow], seqs: Sequence[int] = ()) -> int:
        if seqs:
            self.run_many(
                "INSERT INTO journal (seq, api, operation_id, status, entry)"
                " VALUES (?, ?, ?, ?, ?)",
                [(seq, *row) for seq, row in zip(seqs, rows, strict=True)],
            )
            return max(seqs)
        self.run_many(
            "INSERT INTO journal (api, operation_id, status, entry) VALUES (?, ?, ?, ?)", rows
        )
        return int(self.one(self.dialect.last_journal_seq)[0])

    def trim_journal(self, upto: int) -> None:
        self.run("DELETE FROM journal WHERE seq <= ?", (upto,))

    def journal_newest_first(self, batch: int) -> Iterator[tuple[int, Any, Any, Any, bytes]]:
        below = _MAX_SEQ
        while True:  # in pages: a reader usually stops early, and no cursor stays open
            rows = self.run(
                "SELECT seq, api, operation_id, status, entry FROM journal WHERE seq < ?"
                " ORDER BY seq DESC LIMIT ?",
                (below, batch),
            ).fetchall()
            yield from rows
            if len(rows) < batch:
                return
            below = rows[-1][0]

    # -- faults, flags, hits -------------------------------------------------------------------
    def insert_fault(self, fault: Fault) -> bool:
        return self._insert("faults", _FAULT_COLUMNS, _values(fault))

    def faults(self) -> list[Fault]:
        return [
            _item(Fault, r) for r in self.run(f"SELECT {_FAULT_COLUMNS} FROM faults ORDER BY pos")
        ]

    def any_fault(self) -> bool:
        return self.one("SELECT pos FROM faults LIMIT 1") is not None

    def set_fault_remaining(self, fault_id: str, remaining: int) -> None:
        self.run("UPDATE faults SET remaining = ? WHERE id = ?", (remaining, fault_id))

    def delete_fault(self, fault_id: str) -> None:
        self.run("DELETE FROM faults WHERE id = ?", (fault_id,))

    def clear_faults(self) -> int:
        return int(self.run("DELETE FROM faults").rowcount)

    def set_flag(self, name: str, blob: bytes) -> None:
        self.run(
            "INSERT INTO flags (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, blob),
        )

    def flags(self) -> dict[str, bytes]:
        return {name: bytes(blob) for name, blob in self.run("SELECT name, value FROM flags")}

    def hit_window(self, key: str) -> tuple[float, int] | None:
        row = self.one("SELECT window_start, count FROM hits WHERE key = ?", (key,))
        return None if row is None else (float(row[0]), int(row[1]))

    def set_hit(self, key: str, start: float, count: int) -> None:
        self.run(
            "INSERT INTO hits (key, window_start, count) VALUES (?, ?, ?) ON CONFLICT (key)"
            " DO UPDATE SET window_start = excluded.window_start, count = excluded.count",
            (key, start, count),
        )

    # -- lifecycle -----------------------------------------------------------------------------
    def clear_all(self) -> None:
        for table in TABLES:
            self.run(f"DELETE FROM {table}")
        self.run("UPDATE scopes SET n = 0")


__all__ = ["SQLITE", "TABLES", "Dialect", "SqlTx"]
