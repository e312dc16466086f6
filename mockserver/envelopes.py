"""Failures, and the envelopes that render them in an API's documented error shape.

A :class:`Failure` says what went wrong (a kind, a status, a message, the violations); an
:data:`Envelope` turns it into the body the API documents. A spec picks its envelope with
``x-mock.envelope``: ``problem`` (RFC 7807 ``application/problem+json``, :data:`PROBLEM`, the
default) is the core's own; an API pack provides the envelope named after its API
(:class:`mockserver.packs.ApiPack`, e.g. ``mockserver/apis/<api>/envelope.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mockserver.openapi.spec import ApiSettings
from mockserver.validation import Violation

JSON = dict[str, Any]


@dataclass(slots=True)
class Failure:
    """A request the mock refuses. ``kind`` says why (``validation``, ``not-found``, ...); an
    envelope may map it to the API's own error code (``x-mock.error-codes``)."""

    kind: str
    status: int
    message: str
    violations: Sequence[Violation] = ()
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_violations(cls, kind: str, status: int, violations: Sequence[Violation]) -> Failure:
        """One message naming the first violation (and how many more), keeping them all."""
        first = violations[0].message
        more = len(violations) - 1
        message = (
            first
            if more == 0
            else f"{first} (and {more} more {'error' if more == 1 else 'errors'})"
        )
        return cls(kind, status, message, violations)


Envelope = Callable[[ApiSettings, Failure], tuple[JSON, str]]
"""Renders a failure as ``(body, content type)`` in an API's error shape."""


def _problem(settings: ApiSettings, failure: Failure) -> tuple[JSON, str]:
    body: JSON = {
        "type": "about:blank",
        "title": failure.kind.replace("-", " "),
        "status": failure.status,
        "detail": failure.message,
    }
    if failure.violations:
        body["errors"] = [v.as_dict() for v in failure.violations]
    return body, "application/problem+json"


PROBLEM: Envelope = _problem
"""The ``problem`` envelope: RFC 7807, for specs without an envelope of their own."""


def generic(failure: Failure) -> tuple[JSON, str]:
    """The shape for requests outside every API (unknown mount): a small JSON problem."""
    return _problem(ApiSettings(name="-"), failure)
