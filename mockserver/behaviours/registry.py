"""Behaviours are code keyed by ``(api, operationId)``; specs are data.

A behaviour receives a :class:`Call` (the validated request plus the services it may use) and
returns a :class:`Reply`, or a :class:`~mockserver.envelopes.Failure` that the engine renders in the
API's envelope. Registration refuses duplicates, so two modules cannot silently fight over one
operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mockserver.envelopes import Failure
from mockserver.errors import MockServerError

if TYPE_CHECKING:
    from mockserver.openapi.spec import Operation, Spec
    from mockserver.services import Services
    from mockserver.store import Job


@dataclass(slots=True)
class Call:
    """A request that passed auth and validation, as a behaviour sees it."""

    spec: Spec
    operation: Operation
    account: str
    body: Any
    params: dict[str, Any]
    headers: Any  # case-insensitive header access (werkzeug Headers)
    client_address: str
    services: Services


@dataclass(slots=True)
class Reply:
    """What a behaviour answers: a documented status and a JSON body."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Behaviour = Callable[[Call], "Reply | Failure"]
JobHandler = Callable[["Job", "Services"], dict[str, Any]]
Seeder = Callable[["Services", str, list[dict[str, Any]]], list[dict[str, Any]]]

BEHAVIOURS: dict[tuple[str, str], Behaviour] = {}
JOB_HANDLERS: dict[str, JobHandler] = {}
SEEDERS: dict[str, Seeder] = {}


def behaviour(api: str, operation_id: str) -> Callable[[Behaviour], Behaviour]:
    """Register a function as the behaviour of ``api``'s operation ``operation_id``."""

    def register(function: Behaviour) -> Behaviour:
        key = (api, operation_id)
        if key in BEHAVIOURS and BEHAVIOURS[key] is not function:
            raise MockServerError(
                f"a behaviour for {api}.{operation_id} is already registered "
                f"({BEHAVIOURS[key].__module__}); remove one of them"
            )
        BEHAVIOURS[key] = function
        return function

    return register


def job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Register a function that runs background jobs of ``kind``."""

    def register(function: JobHandler) -> JobHandler:
        if kind in JOB_HANDLERS and JOB_HANDLERS[kind] is not function:
            raise MockServerError(f"a job handler for {kind!r} is already registered")
        JOB_HANDLERS[kind] = function
        return function

    return register


def seeder(api: str) -> Callable[[Seeder], Seeder]:
    """Register how customers given as JSON are stored for ``api`` (control API, data sets).

    A seeder returns one dict per item: ``{"created": customer}`` or ``{"error": "..."}``.
    """

    def register(function: Seeder) -> Seeder:
        if api in SEEDERS and SEEDERS[api] is not function:
            raise MockServerError(f"a seeder for {api!r} is already registered")
        SEEDERS[api] = function
        return function

    return register


def load_builtin() -> None:
    """Import the bundled behaviours so they register themselves."""
    from mockserver.behaviours import bunce, tamio  # noqa: F401
