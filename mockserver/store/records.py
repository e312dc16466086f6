"""Stored records (customers), scoped by API and account: the rules, for every backend.

* ``insert_batch`` is atomic: the taken ids and unique values are looked up and the new
  records written inside one write transaction, never check-then-insert across two, so racing
  requests (threads or worker processes) never both create one email. An exception leaves
  nothing of the batch written.
* ``update_batch`` likewise: each change reads the stored record, and its unique keys are
  checked again, inside the one transaction that writes it.
* A job's own insert (``job_id``) is written only while that job is running (else
  :class:`JobGone`), and its outcomes are recorded with the job in the same transaction: a
  re-run of the job gets them back and writes nothing (exactly once).
* Records are plain JSON-compatible dicts; what is returned is a copy.
"""

from __future__ import annotations

from collections.abc import Sequence

from mockserver.store.backend import Backend
from mockserver.store.codec import conflict_outcome, decode_outcomes, encode_outcomes
from mockserver.store.jobs import require_running
from mockserver.store.model import (
    JSON,
    InsertOutcome,
    NewRecord,
    Page,
    RecordChange,
    Scope,
    StoredRecord,
    UpdateOutcome,
)

MIN_SEQ = -(2**63)
MAX_SEQ = 2**63 - 1


def check_page_args(limit: int, offset: int) -> None:
    """Refuse a negative limit or offset with a message that names it."""
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, got {offset}")


class Records:
    """The records of every scope. In ``insert_batch`` an item's unique keys are checked in
    the order of its ``unique`` mapping, then its ``id``; the first collision is the reported
    ``conflict``."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def insert_batch(
        self, scope: Scope, records: Sequence[NewRecord], *, job_id: str | None = None
    ) -> list[InsertOutcome]:
        """Insert in order, atomically; items whose id or unique keys collide (with a stored
        record or an earlier item of the batch) are skipped.

        A created item's outcome holds the ``data`` passed in (the store keeps its own encoded
        copy). With ``job_id``, only while that job runs, once (see the module docstring).
        """
        if not records and job_id is None:
            return []
        # Encode first: a value orjson refuses raises here, before anything is written.
        encode = self._backend.encode_record
        blobs: list[bytes] = []
        values: dict[str, list[str]] = {}
        for r in records:
            blobs.append(encode(r.id, r.unique, r.data))
            for key, value in r.unique.items():
                if type(value) is not str:
                    raise TypeError(f"unique key {key!r} of {r.id!r} is not a string: {value!r}")
                found = values.get(key)
                if found is None:
                    values[key] = [value]
                else:
                    found.append(value)
        outcomes: list[InsertOutcome] = []
        with self._backend.write() as tx:
            if job_id is not None:
                require_running(tx, job_id)
                done = tx.job_progress(job_id)
                if done is not None:  # a re-run: the job's insert is done already
                    return decode_outcomes(done)
            if records and tx.open_scope(scope):  # a new account: nothing to collide with
                taken_ids: set[str] = set()
                taken = {key: set[str]() for key in values}
            else:
                taken_ids = tx.taken_ids(scope, [r.id for r in records])
                taken = {key: tx.taken_values(scope, key, vals) for key, vals in values.items()}
            new: list[NewRecord] = []
            new_blobs: list[bytes] = []
            for record, blob in zip(records, blobs, strict=True):
                conflict = None
                pairs = record.unique.items()
                for key, value in pairs:  # in the mapping's order, then the id
                    if value in taken[key]:
                        conflict = key
                        break
                else:
                    if record.id in taken_ids:
                        conflict = "id"
                if conflict is not None:
                    outcomes.append(conflict_outcome(conflict))
                    continue
                taken_ids.add(record.id)
                for key, value in pairs:
                    taken[key].add(value)
                new.append(record)
                new_blobs.append(blob)
                outcomes.append(InsertOutcome(record=record.data))
            if new:
                tx.add_records(scope, new, new_blobs)
            if job_id is not None:
                tx.set_job_progress(job_id, encode_outcomes(outcomes))
        return outcomes

    def update_batch(self, scope: Scope, changes: Sequence[RecordChange]) -> list[UpdateOutcome]:
        """Apply the changes in order, atomically: each reads its record, and its new unique
        values are checked against every other record, inside one write transaction, so two
        racing updates never both take one email. A later change sees the earlier ones. A
        record keeps its id and its place (``seq``). An exception (in ``apply``, or an
        unserialisable revision) leaves nothing of the batch written.
        """
        outcomes: list[UpdateOutcome] = []
        if not changes:
            return outcomes
        with self._backend.write() as tx:
            for change in changes:
                stored = tx.record(scope, change.id)
                if stored is None:
                    outcomes.append(UpdateOutcome(found=False))
                    continue
                revision = change.apply(stored.data)
                if revision is None:
                    outcomes.append(UpdateOutcome(record=tx.record_data(scope, change.id)))
                    continue
                unique = dict(revision.unique)
                holders = ((k, tx.key_holder(scope, k, v)) for k, v in unique.items())
                conflict = next((k for k, seq in holders if seq not in (None, stored.seq)), None)
                if conflict is not None:
                    outcomes.append(UpdateOutcome(conflict=conflict))
                    continue
                blob = self._backend.encode_record(stored.id, unique, revision.data)
                tx.rewrite_record(scope, stored, unique, blob)
                outcomes.append(UpdateOutcome(record=tx.record_data(scope, change.id)))
        return outcomes

    def get(self, scope: Scope, record_id: str) -> JSON | None:
        """The record with this id, or None."""
        with self._backend.direct() as tx:
            return tx.record_data(scope, record_id)

    def find(self, scope: Scope, key: str, value: str) -> JSON | None:
        """The record whose unique key ``key`` has the normalised ``value``, or None."""
        with self._backend.direct() as tx:
            return tx.record_by_key(scope, key, value)

    def page(
        self,
        scope: Scope,
        *,
        limit: int,
        offset: int = 0,
        after_seq: int | None = None,
        before_seq: int | None = None,
    ) -> Page:
        """Records in insertion order: ``offset`` skips, ``after_seq``/``before_seq`` are cursors.

        The window is the records with ``after_seq < seq < before_seq``. Without ``before_seq``
        the page starts ``offset`` records into the window; with it the page ends ``offset``
        records before the window's end (and holds the ``limit`` records before that point),
        still returned in ascending order.
        """
        check_page_args(limit, offset)
        up = before_seq is None
        with self._backend.read() as tx:
            total = tx.count(scope)
            if not total:
                return Page(records=[], total=0, has_before=False, has_after=False)
            # With limit 0 one record is still read: it tells where the (empty) page stands.
            rows = tx.seq_window(scope, after_seq, before_seq, offset, max(limit, 1), up)
            # Whether records exist before / after the page is one question about one seq,
            # "cut": has_before means some seq < cut, has_after some seq >= cut.
            if limit and rows:
                before_cut, after_cut = rows[0].seq, rows[-1].seq + 1
            else:
                if rows:  # limit 0: the page stands just before (up) or after (down) this one
                    cut = rows[0].seq if up else rows[-1].seq + 1
                    rows = []
                elif up:  # the window is used up, and it runs to the end of the scope
                    cut = MAX_SEQ
                else:  # nothing left before the cursor: the page stands at the window's start
                    cut = (MIN_SEQ if after_seq is None else after_seq) + 1
                before_cut = after_cut = cut
            has_before = tx.any_seq_below(scope, before_cut)
            has_after = tx.any_seq_from(scope, after_cut)
        return Page(records=rows, total=total, has_before=has_before, has_after=has_after)

    def all(self, scope: Scope) -> list[StoredRecord]:
        """Every record of the scope in insertion order."""
        with self._backend.read() as tx:
            return tx.all_records(scope)

    def count(self, scope: Scope) -> int:
        """How many records the scope holds."""
        with self._backend.direct() as tx:
            return tx.count(scope)

    def delete(self, scope: Scope, record_id: str) -> bool:
        """Remove one record (its unique keys are free again); False when there was none."""
        with self._backend.write() as tx:
            return tx.delete_record(scope, record_id)

    def clear_scope(self, scope: Scope) -> int:
        """Remove every record of one scope; returns how many."""
        with self._backend.write() as tx:
            return tx.clear_records(scope)

    def accounts(self, api: str) -> list[str]:
        """Accounts of an API that hold at least one record, sorted."""
        with self._backend.direct() as tx:
            return tx.accounts(api)
