"""Choose the response to a valid request that no behaviour answers.

The order (Prism-compatible, then beyond): ``Prefer: code=`` picks a documented status,
``example=`` a named example, ``dynamic=true`` generates from the schema with faker (``seed=``
makes it repeatable); without a preference, the lowest documented 2xx answers with its first
example, or a generated body when it has none. Asking for something the spec does not document is a
:class:`PreferenceError` that lists what is documented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mockserver.media import kind_of
from mockserver.media.answers import encode
from mockserver.negotiation import negotiate
from mockserver.openapi.spec import JSON, Operation, ResponseDef

if TYPE_CHECKING:
    from mockserver.generate import DataGenerator


class PreferenceError(ValueError):
    """A ``Prefer`` header asks for a status or example the operation does not document."""


@dataclass(frozen=True, slots=True)
class Preference:
    """A parsed ``Prefer`` header (RFC 7240 style ``key=value`` pairs, comma separated)."""

    code: int | None = None
    example: str | None = None
    dynamic: bool = False
    seed: int | None = None

    @property
    def any(self) -> bool:
        return self.code is not None or self.example is not None or self.dynamic


def parse_prefer(header: str | None) -> Preference:
    """Read ``Prefer: code=409, example=partial_failure, dynamic=true, seed=7``."""
    if not header:
        return Preference()
    values: dict[str, str] = {}
    for part in header.replace(";", ",").split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            values[key.strip().lower()] = value.strip().strip('"')
    code = values.get("code")
    seed = values.get("seed")
    try:
        return Preference(
            code=int(code) if code else None,
            example=values.get("example") or None,
            dynamic=values.get("dynamic", "").lower() in ("true", "1", "yes"),
            seed=int(seed) if seed else None,
        )
    except ValueError as exc:
        raise PreferenceError(f"Prefer header {header!r} is not understood: {exc}") from None


@dataclass(slots=True)
class Chosen:
    """A response picked from the spec: status, media type and body (None for no content)."""

    status: int
    media: str | None
    body: Any
    definition: ResponseDef
    # The same for every request that asks the same: an example, or no body (a generated body
    # is not).
    fixed: bool = False


def _status_of(key: str, fallback: int) -> int:
    return int(key) if key.isdigit() else fallback


def choose(
    operation: Operation,
    preference: Preference,
    document: JSON,
    generator: Callable[[], DataGenerator],
    accept: str | None = None,
) -> Chosen:
    """Pick the documented response for ``preference`` (see the module docstring), in the
    documented media type ``accept`` prefers (the first documented one without it).

    ``generator`` is called only when a body has to be generated, so answering from examples
    never imports faker.
    """
    if preference.code is not None:
        definition = operation.response_for(preference.code)
        if definition is None:
            documented = ", ".join(operation.documented_statuses())
            raise PreferenceError(
                f"Prefer: code={preference.code} is not documented for {operation.operation_id}; "
                f"documented: {documented}"
            )
        status = preference.code
    elif preference.example is not None:
        for key, candidate in operation.responses.items():
            holders = [m for m, t in candidate.content.items() if preference.example in t.examples]
            if holders:
                definition, status = candidate, _status_of(key, operation.success_status())
                accept = accept if negotiate(accept, holders) else None
                break
        else:
            names = sorted(
                {
                    name
                    for r in operation.responses.values()
                    for m in r.content.values()
                    for name in m.examples
                }
            )
            raise PreferenceError(
                f"Prefer: example={preference.example} is not an example of "
                f"{operation.operation_id}; documented examples: {', '.join(names) or 'none'}"
            )
    else:
        status = operation.success_status()
        found = operation.response_for(status)
        if found is None:
            found = next(iter(operation.responses.values()))
        definition = found
    media_name = negotiate(accept, list(definition.content))
    if media_name is None:
        return Chosen(status, None, None, definition, fixed=True)
    media_type = definition.content[media_name]
    if preference.example is not None and preference.example in media_type.examples:
        example = media_type.examples[preference.example]
        return Chosen(status, media_name, example, definition, fixed=True)
    if not preference.dynamic and media_type.examples:
        example = next(iter(media_type.examples.values()))
        return Chosen(status, media_name, example, definition, fixed=True)
    if media_type.schema is None:
        return Chosen(status, media_name, None, definition, fixed=True)
    if preference.seed is not None:
        from mockserver.generate import DataGenerator

        source = DataGenerator(seed=preference.seed)
    else:
        source = generator()
    body = source.generate(media_type.schema, root=document)
    return Chosen(status, media_name, body, definition)


def encoded(
    media: str | None, body: Any, definition: ResponseDef, document: JSON
) -> tuple[bytes, Any]:
    """``body`` as sent in ``media`` (one ``definition`` documents), and its JSON value (None
    for other media: the response check reads those from the bytes)."""
    if media is None:
        return b"", None
    payload = encode(media, body, definition.content[media].schema, document)
    return payload, body if kind_of(media) == "json" else None


@dataclass(slots=True)
class FixedAnswer:
    """A fixed answer (:attr:`Chosen.fixed`), encoded once."""

    chosen: Chosen
    payload: bytes
    value: Any  # as :func:`encoded` gives it
    owner: object  # what the key's ``id`` names, kept so that the id is never reused
    problems: list[str] | None = None  # the response check's findings, once it has run


class FixedAnswers:
    """The answers a stateless request gets, remembered where they never change.

    Keyed by the operation, the parsed ``Prefer`` and the ``Accept`` header: the second request
    of a kind skips choosing, encoding and checking the same example again (about a tenth of
    the engine's work on a small body). ``Prefer`` headers are remembered parsed. Both maps
    take their keys from request headers, so they are bounded and start over when full. Two
    threads may both work out one key's answer; they get the same, and one is kept.
    """

    LIMIT = 1024

    def __init__(self) -> None:
        self._answers: dict[tuple[int, Preference, str | None], FixedAnswer] = {}
        self._preferences: dict[str | None, Preference] = {}

    def preference(self, header: str | None) -> Preference:
        """:func:`parse_prefer` of ``header`` (a :class:`PreferenceError` is not remembered)."""
        found = self._preferences.get(header)
        if found is None:
            found = parse_prefer(header)
            if len(self._preferences) >= self.LIMIT:
                self._preferences.clear()
            self._preferences[header] = found
        return found

    def choose(
        self,
        owner: object,
        operation: Operation,
        preference: Preference,
        accept: str | None,
        document: JSON,
        generator: Callable[[], DataGenerator],
    ) -> tuple[Chosen, FixedAnswer | None]:
        """:func:`choose` for ``operation``, which ``owner`` (an object that lives as long as
        the operation is served) stands for, and the remembered answer when it is fixed."""
        key = (id(owner), preference, accept)
        found = self._answers.get(key)
        if found is not None and found.owner is owner:
            return found.chosen, found
        chosen = choose(operation, preference, document, generator, accept)
        if not chosen.fixed:
            return chosen, None
        payload, value = encoded(chosen.media, chosen.body, chosen.definition, document)
        if len(self._answers) >= self.LIMIT:
            self._answers.clear()
        answer = self._answers[key] = FixedAnswer(chosen, payload, value, owner)
        return chosen, answer


def required_headers(
    definition: ResponseDef, generator: Callable[[], DataGenerator], document: JSON
) -> dict[str, str]:
    """Values for the headers a response documents as required (e.g. ``Retry-After``)."""
    headers: dict[str, str] = {}
    for name, header in definition.headers.items():
        if header.get("required"):
            schema = header.get("schema") or {"type": "string"}
            value = generator().generate(schema, root=document, name=name)
            headers[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return headers
