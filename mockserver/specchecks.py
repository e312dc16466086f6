"""Checks that make a spec trustworthy before it is served or shipped.

``drop_invalid_examples`` takes every documented example that breaks its schema out of the spec
(answers are then generated), naming each: ``serve`` runs it at start-up over a user's spec, and
per operation on its first request over a big spec or a bundled one (start-up stays fast);
``check_examples`` (``serve --strict-examples``) raises the first instead. ``lint`` (``mockserver
validate``) adds the full OpenAPI structure check of ``openapi-spec-validator`` and reports every
problem instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mockserver.errors import SpecError
from mockserver.openapi.loader import load_spec, pointer_get, read_document, resolve
from mockserver.openapi.spec import MediaType, Operation, Spec
from mockserver.validation import compile_schema

NOT_SERVED = "not served: answers are generated from the schema"


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def example_problems(spec: Spec) -> list[SpecError]:
    """Every example (request and response) that does not validate against its schema."""
    return [problem for problem, _media, _name in invalid_examples(spec)]


def invalid_examples(
    spec: Spec, operations: Iterable[Operation] | None = None
) -> list[tuple[SpecError, MediaType | None, str]]:
    """Each example that breaks its schema, with the media type holding it and its name, in
    ``operations`` (default: all).

    A schema that cannot be compiled comes with no media type (nothing can be dropped: the
    spec cannot be served). For a big spec, or for chosen ``operations``, only schemas with
    examples are compiled (the others are compiled on first use).
    """
    only_examples = spec.big or operations is not None
    problems: list[tuple[SpecError, MediaType | None, str]] = []
    for op in spec.operations if operations is None else operations:
        places = [
            (f"{op.pointer}/requestBody/content/{_escape(m)}", media)
            for m, media in op.body_content.items()
        ]
        for status, response in op.responses.items():
            places += [
                (f"{op.pointer}/responses/{status}/content/{_escape(m)}", media)
                for m, media in response.content.items()
            ]
        for pointer, media in places:
            if only_examples and not media.examples:
                continue  # compiled on first use (see Spec.big)
            try:
                where = (spec.file, f"{pointer}/schema")
                validator = compile_schema(media.schema, spec.document, where, spec.validators)
            except SpecError as exc:
                problems.append((exc, None, ""))
                continue
            if validator is None:
                continue
            for name, value in media.examples.items():
                violations = validator.violations(value, "example")
                if violations:
                    message = "; ".join(v.message for v in violations[:3])
                    problem = SpecError(
                        spec.file,
                        _example_pointer(spec, pointer, name),
                        f"example does not match its schema: {message}",
                    )
                    problems.append((problem, media, name))
    return problems


def _example_pointer(spec: Spec, media_pointer: str, name: str) -> str:
    """Where example ``name`` of the media type at ``media_pointer`` is written in the document:
    ``.../examples/<name>/value`` (or the component it refers to), or ``.../example``."""
    try:
        media = resolve(
            pointer_get(spec.document, media_pointer, spec.file, media_pointer),
            spec.document,
            spec.file,
            media_pointer,
        )
    except SpecError:  # e.g. inside a $ref'd response: name the operation's media type
        media = None
    if not isinstance(media, dict):
        return f"{media_pointer}/examples/{_escape(name)}"
    example = (media.get("examples") or {}).get(name)
    if isinstance(example, dict):
        ref = example.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            return f"{ref[1:]}/value"
        return f"{media_pointer}/examples/{_escape(name)}/value"
    if "example" in media:
        return f"{media_pointer}/example"
    return f"{media_pointer}/examples/{_escape(name)}"


def check_examples(spec: Spec) -> None:
    """Raise the first example problem, if any."""
    problems = example_problems(spec)
    if problems:
        raise problems[0]


def drop_invalid_examples(
    spec: Spec, operations: Iterable[Operation] | None = None
) -> list[SpecError]:
    """Take every example of ``operations`` (default: all) that breaks its schema out of
    ``spec`` (answers are then generated from the schema instead) and return what was wrong
    with each, to be reported once.

    A schema that cannot be compiled is still raised: such a spec cannot be served.
    """
    found = invalid_examples(spec, operations)
    for problem, media, name in found:
        if media is None:
            raise problem
        media.examples.pop(name, None)
    return [problem for problem, _media, _name in found]


def lint(path: str | Path) -> list[SpecError]:
    """Structure (openapi-spec-validator), references, and examples: every problem found."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    file = str(path)
    try:
        document = read_document(Path(path))
    except SpecError as exc:
        return [exc]
    problems: list[SpecError] = []
    try:
        # The base URI lets the validator follow $refs to files beside the spec.
        validate(document, base_uri=Path(path).resolve().as_uri())
    except OpenAPIValidationError as exc:
        pointer = "/" + "/".join(_escape(str(p)) for p in getattr(exc, "path", []))
        problems.append(SpecError(file, pointer, f"not valid OpenAPI: {exc.message}"))
    except Exception as exc:  # the validator raises other errors for broken $refs
        problems.append(SpecError(file, "/", f"not valid OpenAPI: {exc}"))
    try:
        spec = load_spec(path)
    except SpecError as exc:
        return [*problems, exc]
    return [*problems, *example_problems(spec)]
