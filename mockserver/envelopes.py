"""Render failures into each API's documented error shape.

A :class:`Failure` says what went wrong (a kind, a status, a message, the violations); an envelope
renderer turns it into the body the API documents:

* Tamio: ``{"status": 400, "error": "...", "error_code": 1001}``; 401 has no ``error_code``.
* Bunce: ``{"success": false, "message": "...", "errors": ["..."]}``.
* problem: RFC 7807 ``application/problem+json`` for user specs without an envelope of their own.
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
    """A request the mock refuses. ``kind`` keys the API's error code (Tamio's ``error_code``)."""

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


# Tamio documents error_code only for some cases; the rest are the mock's choices
# (x-mock.error-codes).
TAMIO_DEFAULT_CODES = {
    "validation": 1001,
    "malformed": 1001,
    "not-found": 1002,
    "duplicate": 10142,
}


def _tamio(settings: ApiSettings, failure: Failure) -> tuple[JSON, str]:
    body: JSON = {"status": failure.status, "error": failure.message}
    if failure.status != 401:
        codes = {**TAMIO_DEFAULT_CODES, **settings.error_codes}
        body["error_code"] = codes.get(failure.kind, codes.get("validation", 1001))
    if failure.violations:
        body["errors"] = [v.message for v in failure.violations]
    return body, "application/json"


def _bunce(settings: ApiSettings, failure: Failure) -> tuple[JSON, str]:
    body: JSON = {"success": False, "message": failure.message}
    if failure.violations:
        body["errors"] = [v.message for v in failure.violations]
    return body, "application/json"


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


RENDERERS: dict[str, Callable[[ApiSettings, Failure], tuple[JSON, str]]] = {
    "tamio": _tamio,
    "bunce": _bunce,
    "problem": _problem,
}


def render(settings: ApiSettings, failure: Failure) -> tuple[JSON, str]:
    """The body and content type for ``failure`` in the API's envelope."""
    return RENDERERS[settings.envelope](settings, failure)


def generic(failure: Failure) -> tuple[JSON, str]:
    """The shape for requests outside every API (unknown mount): a small JSON problem."""
    return _problem(ApiSettings(name="-"), failure)
