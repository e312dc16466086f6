"""Refusals answered as the operation documents them (specs without an envelope of their own).

A bad request to a user's spec is answered with a status the operation documents: the failure's
own status when documented; for bad input (validation, malformed body) 400, then 422, then
another documented 4xx; then a ``4XX`` range, then ``default``. When the chosen response
documents a body, the answer is that body (its example, or one generated from its schema)
carrying the message in a string field the schema allows (``message``, ``detail``, ``error``,
...). Only where the operation documents nothing that fits does the RFC 7807 problem answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mockserver.envelopes import Failure
from mockserver.media.schemas import follow, property_schema, types
from mockserver.negotiation import negotiate
from mockserver.openapi.spec import JSON, Operation, ResponseDef

if TYPE_CHECKING:
    from mockserver.generate import DataGenerator

BAD_INPUT = ("validation", "malformed")
# Documented statuses that never mean "your input is invalid".
_NOT_BAD_INPUT = {"401", "403", "404", "405", "406", "408", "409", "413", "415", "429"}
MESSAGE_FIELDS = (
    "message",
    "detail",
    "error_description",
    "error_message",
    "errorMessage",
    "error",
    "title",
    "description",
    "reason",
    "msg",
)


@dataclass(frozen=True, slots=True)
class Shaped:
    """A refusal in the documented shape: status, media type (None: no body) and the body with
    and without the message written into it."""

    status: int
    media: str | None
    body: Any
    plain: Any
    definition: ResponseDef


def documented_status(operation: Operation, failure: Failure) -> tuple[int, ResponseDef | None]:
    """The status to answer ``failure`` with, and the response documented for it (if any)."""
    status = failure.status
    exact = operation.responses.get(str(status))
    if exact is not None:
        return status, exact
    if failure.kind in BAD_INPUT:
        for code in ("400", "422"):
            if code in operation.responses:
                return int(code), operation.responses[code]
        others = sorted(
            code
            for code in operation.responses
            if code.isdigit() and code.startswith("4") and code not in _NOT_BAD_INPUT
        )
        if others:
            return int(others[0]), operation.responses[others[0]]
    ranged = operation.responses.get(f"{status // 100}XX")
    if ranged is not None:
        return status, ranged
    return status, operation.responses.get("default")


def shape(
    operation: Operation,
    failure: Failure,
    document: JSON,
    generator: Callable[[], DataGenerator],
    accept: str | None,
) -> Shaped | None:
    """The documented answer to ``failure``; None when nothing is documented for it."""
    status, definition = documented_status(operation, failure)
    if definition is None:
        return None
    media = negotiate(accept, list(definition.content))
    if media is None:
        return Shaped(status, None, None, None, definition)
    documented = definition.content[media]
    if documented.examples:
        plain = next(iter(documented.examples.values()))
    elif documented.schema is not None:
        plain = generator().generate(documented.schema, root=document)
    else:
        plain = None
    body = carry_message(plain, documented.schema, document, failure.message)
    return Shaped(status, media, body, plain, definition)


def carry_message(body: Any, schema: Any, document: JSON, message: str) -> Any:
    """A copy of ``body`` with ``message`` in its first string field meant for one (one level of
    nesting, e.g. ``{"error": {"message": ...}}``); ``body`` itself when there is none."""
    if isinstance(body, str) and _free_string(schema, document):
        return message
    if not isinstance(body, dict):
        return body
    for name in MESSAGE_FIELDS:
        prop = property_schema(schema, name, document) if schema is not None else {}
        if name in body and isinstance(body[name], str) and _free_string(prop, document):
            return {**body, name: message}
        if name not in body and prop and _free_string(prop, document):
            return {**body, name: message}
    for name, value in body.items():
        if isinstance(value, dict):
            prop = property_schema(schema, name, document) if schema is not None else {}
            nested = carry_message(value, prop, document, message)
            if nested is not value:
                return {**body, name: nested}
    for name in ("error", "errors"):
        prop = property_schema(schema, name, document) if schema is not None else {}
        if name not in body and "object" in types(prop, document):
            nested = carry_message({}, prop, document, message)
            if nested:
                return {**body, name: nested}
    return body


def _free_string(schema: Any, document: JSON) -> bool:
    """A string schema any text fits (no enum, const, format or pattern)."""
    resolved = follow(schema, document)
    if not isinstance(resolved, dict) or "string" not in types(resolved, document):
        return False
    return not any(key in resolved for key in ("enum", "const", "format", "pattern"))
