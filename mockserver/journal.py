"""The journal entry: what the mock records of one request, in one typed object.

The engine fills a :class:`JournalEntry` in as the pipeline runs (the relay adds what the
upstream or a recording answered), and :meth:`JournalEntry.to_record` hands it to the state's
journal, which stores JSON. Readers (``GET /__mock/requests``, the ``mockserver`` fixture, the
drift report) get it back with :meth:`JournalEntry.from_record`. :meth:`JournalEntry.to_json` is
the entry as ``GET /__mock/requests`` serves it (``JournalEntry`` in ``control.yaml``): a field
that was never set is left out. This module is the one place that names the fields.

A violation keeps more in the record than the served JSON shows: its JSON Schema keyword and
schema path (:class:`~mockserver.validation.Violation`), read back with the entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from mockserver.validation import Violation

if TYPE_CHECKING:
    from mockserver.store import State

JSON = dict[str, Any]


class _Unset:
    """Marks a field that was never set (distinct from a JSON ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final[Any] = _Unset()


@dataclass(frozen=True, slots=True)
class Finding:
    """One way an exchange breaks the spec (proxy and replay; see :mod:`mockserver.drift`)."""

    side: str  # request or response
    location: str  # status, header, body, query, path, cookie, method, security
    field: str  # the JSON path or the header/parameter name
    problem: str

    @property
    def message(self) -> str:
        return f"{self.side} {self.field}: {self.problem}"

    def as_dict(self) -> JSON:
        return {
            "side": self.side,
            "location": self.location,
            "field": self.field,
            "problem": self.problem,
        }

    @classmethod
    def from_dict(cls, data: JSON) -> Finding:
        return cls(
            str(data["side"]), str(data["location"]), str(data["field"]), str(data["problem"])
        )


@dataclass(slots=True)
class UpstreamCall:
    """Proxy only: where the request went and what came back (a status, or why none)."""

    url: str
    status: int | None = None
    duration_ms: float | None = None
    error: str | None = None  # timeout, refused, tls, dropped, dns, too-large, protocol
    message: str | None = None

    def to_json(self) -> JSON:
        data: JSON = {"url": self.url}
        if self.status is not None:
            data["status"] = self.status
        if self.error is not None:
            data["error"] = self.error
        if self.message is not None:
            data["message"] = self.message
        if self.duration_ms is not None:
            data["duration_ms"] = self.duration_ms
        return data

    @classmethod
    def from_json(cls, data: JSON) -> UpstreamCall:
        return cls(
            data["url"],
            data.get("status"),
            data.get("duration_ms"),
            data.get("error"),
            data.get("message"),
        )


@dataclass(slots=True)
class JournalEntry:
    """One request and what became of it (the fields of ``GET /__mock/requests``)."""

    time: float  # when it arrived (unix seconds)
    api: str
    method: str
    path: str  # the full request path, mount included
    query: str = ""  # as sent, with a credential sent in it masked
    operation_id: str | None = None  # None: no operation matched
    notes: list[str] = field(default_factory=list)  # how the mock read and answered it
    seq: int | None = None  # given by the journal when stored
    status: int | None = None  # the answer's
    duration_ms: float | None = None
    account: str | None = None  # the credential, masked
    violations: list[Violation] = field(default_factory=list)  # why it was refused
    error: str | None = None  # the refusal's message
    body: Any = UNSET  # the parsed request body (up to the journal's body limit)
    body_bytes: int | None = None  # the size of a body not kept
    response: Any = UNSET  # the response body: JSON as JSON, anything else as text
    response_bytes: int | None = None  # the size of a response body not kept
    response_violations: list[str] | None = None  # how the answer broke the spec
    drift: list[Finding] = field(default_factory=list)  # proxy and replay: either side's
    upstream: UpstreamCall | None = None  # proxy: the forwarded call
    replayed: str | None = None  # the recording that answered
    recorded: str | None = UNSET  # the recording written (None: writing it failed)
    recording: str | None = None  # drift checks of recordings: the one this entry stands for

    def to_json(self, *, bodies: bool = True) -> JSON:
        """The entry as ``GET /__mock/requests`` serves it; ``bodies=False`` leaves out the
        request and response bodies (``body``, ``response``)."""
        data: JSON = {
            "time": self.time,
            "api": self.api,
            "operation_id": self.operation_id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "notes": self.notes,
        }
        if self.account is not None:
            data["account"] = self.account
        if bodies and self.body is not UNSET:
            data["body"] = self.body
        if self.body_bytes is not None:
            data["body_bytes"] = self.body_bytes
        if self.violations:
            data["violations"] = [v.as_dict() for v in self.violations]
        if self.error is not None:
            data["error"] = self.error
        if self.replayed is not None:
            data["replayed"] = self.replayed
        if self.upstream is not None:
            data["upstream"] = self.upstream.to_json()
        if self.drift:
            data["drift"] = [f.as_dict() for f in self.drift]
        if self.recorded is not UNSET:
            data["recorded"] = self.recorded
        if self.recording is not None:
            data["recording"] = self.recording
        if self.response_violations:
            data["response_violations"] = self.response_violations
        if self.status is not None:
            data["status"] = self.status
        if self.duration_ms is not None:
            data["duration_ms"] = self.duration_ms
        if bodies and self.response is not UNSET:
            data["response"] = self.response
        if self.response_bytes is not None:
            data["response_bytes"] = self.response_bytes
        if self.seq is not None:
            data["seq"] = self.seq
        return data

    def to_record(self) -> JSON:
        """What the state's journal stores: :meth:`to_json`, each violation with its JSON path,
        keyword and schema path besides."""
        data = self.to_json()
        if self.violations:
            data["violations"] = [v.as_record() for v in self.violations]
        return data

    @classmethod
    def from_record(cls, data: JSON) -> JournalEntry:
        """An entry as the journal returns it (:meth:`to_record`, plus ``seq``)."""
        upstream = data.get("upstream")
        return cls(
            time=data["time"],
            api=data["api"],
            method=data["method"],
            path=data["path"],
            query=data.get("query", ""),
            operation_id=data.get("operation_id"),
            notes=data.get("notes", []),
            seq=data.get("seq"),
            status=data.get("status"),
            duration_ms=data.get("duration_ms"),
            account=data.get("account"),
            violations=[Violation.from_record(v) for v in data.get("violations", ())],
            error=data.get("error"),
            body=data.get("body", UNSET),
            body_bytes=data.get("body_bytes"),
            response=data.get("response", UNSET),
            response_bytes=data.get("response_bytes"),
            response_violations=data.get("response_violations"),
            drift=[Finding.from_dict(f) for f in data.get("drift", ())],
            upstream=UpstreamCall.from_json(upstream) if upstream is not None else None,
            replayed=data.get("replayed"),
            recorded=data.get("recorded", UNSET),
            recording=data.get("recording"),
        )

    @property
    def forwarded(self) -> bool:
        """An exchange the proxy forwarded or a recording answered (what drift counts)."""
        return self.upstream is not None or self.replayed is not None or self.recording is not None


def read(
    state: State,
    *,
    api: str | None = None,
    operation_id: str | None = None,
    status: int | None = None,
    since: int | None = None,
    limit: int | None = None,
) -> list[JournalEntry]:
    """The journal's entries, oldest first, filtered as ``State.journal`` filters them."""
    records = state.journal.read(
        api=api, operation_id=operation_id, status=status, since=since, limit=limit
    )
    return [JournalEntry.from_record(record) for record in records]
