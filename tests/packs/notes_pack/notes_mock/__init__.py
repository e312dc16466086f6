"""notes_mock: the API pack of the Notes API (``/notes/v1``), installed like any package.

``PACK`` is what the ``mockserver.apis`` entry point names: the spec it ships, its behaviours
(notes stored per key, titles unique per key) and its error envelope.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from mockserver.envelopes import Failure
from mockserver.openapi.spec import ApiSettings
from mockserver.packs import ApiPack, Call, Reply
from mockserver.store import NewRecord, Scope

API = "notes"


def create_note(call: Call) -> Reply | Failure:
    """Store the note; a title the key already has is refused with 409."""
    note = {"id": uuid.uuid4().hex, "title": call.body["title"], "body": call.body.get("body", "")}
    record = NewRecord(id=note["id"], data=note, unique={"title": note["title"].lower()})
    (outcome,) = call.services.state.records.insert_batch(Scope(API, call.account), [record])
    if not outcome.created:
        return Failure("duplicate", 409, f"title: a note titled {note['title']!r} exists")
    return Reply(201, outcome.record)


def get_note(call: Call) -> Reply | Failure:
    """The stored note, or 404."""
    found = call.services.state.records.get(Scope(API, call.account), call.params["note_id"])
    if found is None:
        return Failure("not-found", 404, f"no note {call.params['note_id']!r}")
    return Reply(200, found)


def envelope(settings: ApiSettings, failure: Failure) -> tuple[dict[str, Any], str]:
    """``{"error": {"code", "message", "fields"}}``."""
    error: dict[str, Any] = {"code": failure.kind, "message": failure.message}
    if failure.violations:
        error["fields"] = [v.message for v in failure.violations]
    return {"error": error}, "application/json"


PACK = ApiPack(
    name=API,
    behaviours={"createNote": create_note, "getNote": get_note},
    envelope=envelope,
    spec=Path(__file__).with_name("notes.yaml"),
)
