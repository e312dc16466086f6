"""The operation model the engine works on, built once from an OpenAPI document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

DEFAULT_ERROR_CODES: dict[str, int] = {}
# A spec with at least this many operations compiles each one's validators on its first request
# (start-up stays fast and lean: a 1.4 MB spec compiled whole took 40 s and 500 MB); smaller
# specs compile everything at start, so a schema that cannot be used stops start-up.
LAZY_OPERATIONS = 300


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Rate-limit emulation settings (only applied when switched on)."""

    limit: int
    window_s: float
    block_s: float = 0.0
    scope: str = "credential"  # or "client-address"
    message: str | None = None  # the refusal's message, when the API documents its own


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Per-API behaviour read from the document's top-level ``x-mock`` object."""

    name: str
    envelope: str = "problem"
    lenient_content_type: bool = False
    validation_status: int = 400
    credential_pattern: str = ".+"
    error_codes: dict[str, int] = field(default_factory=dict)
    rate_limit: RateLimit | None = None
    conflict_status: int = 409
    webhooks: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SecurityScheme:
    """How a credential is sent: ``kind`` is bearer, basic, header, query or cookie."""

    name: str
    kind: str
    param: str  # header, query or cookie name ("Authorization" for bearer/basic)


@dataclass(frozen=True, slots=True)
class Parameter:
    """A path, query, header or cookie parameter of an operation."""

    name: str
    location: str
    required: bool
    schema: JSON
    explode: bool = True
    style: str = "form"


@dataclass(frozen=True, slots=True)
class MediaType:
    """One documented media type of a request or response, with its named examples."""

    schema: JSON | None
    examples: dict[str, Any]
    # Form and multipart bodies: per property, how it is written (style, explode, contentType).
    encoding: dict[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResponseDef:
    """A documented response: status key as written (``"200"``, ``"4XX"``, ``"default"``)."""

    status: str
    description: str
    content: dict[str, MediaType]
    headers: dict[str, JSON]

    def json_media(self) -> tuple[str, MediaType] | None:
        """The JSON media type of this response, if any."""
        for name, media in self.content.items():
            if name == "application/json" or name.endswith("+json"):
                return name, media
        return next(iter(self.content.items()), None)


@dataclass(slots=True)
class Operation:
    """One documented operation. ``pointer`` locates it in the document for error messages."""

    api: str
    operation_id: str
    method: str
    path: str
    summary: str
    parameters: list[Parameter]
    body_required: bool
    body_content: dict[str, MediaType]
    responses: dict[str, ResponseDef]
    security: list[list[SecurityScheme]]
    x_mock: JSON
    pointer: str

    def response_for(self, status: int) -> ResponseDef | None:
        """The response documented for ``status``: exact, then ``4XX``-style range, then default."""
        exact = self.responses.get(str(status))
        if exact is not None:
            return exact
        ranged = self.responses.get(f"{str(status)[0]}XX")
        if ranged is not None:
            return ranged
        return self.responses.get("default")

    def documented_statuses(self) -> list[str]:
        return list(self.responses)

    def success_status(self) -> int:
        """The lowest documented 2xx status; 200 for a ``2XX`` range or ``default``; else the
        lowest status the operation documents (an operation may document only a 302)."""
        codes = sorted(int(s) for s in self.responses if s.isdigit() and s.startswith("2"))
        if codes:
            return codes[0]
        if "2XX" in self.responses or "default" in self.responses:
            return 200
        documented = sorted(int(s) for s in self.responses if s.isdigit())
        return documented[0] if documented else 200


@dataclass(slots=True)
class Spec:
    """A loaded API: its document, settings, mount point and operations."""

    file: str
    document: JSON
    settings: ApiSettings
    title: str
    version: str
    base_path: str
    operations: list[Operation]
    # Compiled validators by schema text, shared by every place that uses one schema.
    validators: dict[bytes, Any] = field(default_factory=dict, repr=False, compare=False)
    # Whether every example was checked against its schema at start-up; if not, the engine
    # checks an operation's examples on its first request (see mockserver.specchecks).
    examples_checked: bool = False

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def big(self) -> bool:
        """A spec of at least :data:`LAZY_OPERATIONS` operations: its validators are compiled,
        and its examples checked, on each operation's first request."""
        return len(self.operations) >= LAZY_OPERATIONS

    @property
    def mount(self) -> str:
        """Where the API is served: ``/<name>`` followed by the server URL's path."""
        return f"/{self.name}{self.base_path}"

    def operation(self, operation_id: str) -> Operation | None:
        return next((o for o in self.operations if o.operation_id == operation_id), None)
