"""Checks of generated values, with the validators the engine uses.

Whether a value is valid is decided by jsonschema-rs validators compiled by
:mod:`mockserver.validation` (:class:`~mockserver.validation.SchemaValidator`, the class the
engine checks requests and responses with: ECMA-262 regexes, formats asserted with
:data:`mockserver.formats.FORMATS`), so a value the generator returns is one the engine accepts.
:func:`valid` checks a value against a subschema of a root document, :func:`string_ok` a string
against the string constraints of one location; both compile once and cache.

Also here: JSON equality (:func:`freeze`), JSON types, and exact ``multipleOf`` arithmetic (see
:func:`multiple_ok`).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from typing import Any, Final

from mockserver.generate.errors import GenerationError
from mockserver.openapi.loader import upgrade_schemas
from mockserver.validation import SchemaCompileError, SchemaValidator, reachable_components

__all__ = ["compile_check", "freeze", "is_number", "is_type", "multiple_ok", "string_ok", "valid"]

_LIMIT: Final = 4096
# (id(root), id(schema)) -> (root, schema, validator): the entry keeps both alive, so the ids
# cannot be reused while it is cached.
_COMPILED: dict[tuple[int, int], tuple[Any, Any, SchemaValidator]] = {}
_StringKey = tuple[int, int | None, tuple[str, ...], tuple[str, ...]]
_STRINGS: dict[_StringKey, SchemaValidator | None] = {}
_LOCK = threading.Lock()


def _document(schema: Mapping[str, Any], root: Any) -> tuple[dict[str, Any], Any]:
    """``schema`` as a document jsonschema-rs can compile on its own, and its components.

    It carries the root's ``$defs``/``definitions`` and the components it reaches (``$ref``\\ s
    stay local). Unless the root declares OpenAPI 3.1 or later, OpenAPI 3.0's keywords
    (``nullable``, boolean exclusive bounds) are rewritten the way the spec loader rewrites a 3.0
    document, so a schema means to the check what it means to the generator and the engine.
    """
    document = dict(schema)
    components = None
    if isinstance(root, Mapping) and root is not schema:
        for key in ("$defs", "definitions"):
            if key in root and key not in document:
                document[key] = root[key]
        components = reachable_components(schema, root.get("components"))
    version = str(root.get("openapi", "")) if isinstance(root, Mapping) else ""
    if not version.startswith("3.") or version.startswith("3.0"):
        upgraded = upgrade_schemas({"schema": document, "components": components or {}},
                                   from_30=True)
        document, components = upgraded["schema"], upgraded["components"] or components
    return document, components


def compile_check(schema: Mapping[str, Any], root: Any) -> SchemaValidator:
    """The engine's kind of validator for ``schema``, a subschema of ``root`` (cached).

    Raises:
        GenerationError: jsonschema-rs cannot compile the schema (the engine could not either).
    """
    key = (id(root), id(schema))
    hit = _COMPILED.get(key)
    if hit is not None:
        return hit[2]
    document, components = _document(schema, root)
    try:
        validator = SchemaValidator(document, components)
    except SchemaCompileError as exc:
        raise GenerationError(f"the schema cannot be compiled for validation: {exc}") from None
    with _LOCK:
        if len(_COMPILED) >= _LIMIT:
            _COMPILED.clear()
        _COMPILED[key] = (root, schema, validator)
    return validator


def valid(value: Any, schema: Any, root: Any) -> bool:
    """Whether ``value`` is valid against ``schema`` (``$ref``\\ s resolved in ``root``)."""
    if isinstance(schema, bool):
        return schema
    return compile_check(schema, root).is_valid(value)


def string_ok(value: str, min_length: int, max_length: int | None, patterns: Sequence[str],
              formats: Sequence[str]) -> bool:
    """Whether ``value`` meets these string constraints (a pattern jsonschema-rs cannot
    compile admits no value)."""
    key = (min_length, max_length, tuple(patterns), tuple(formats))
    try:
        check = _STRINGS[key]
    except KeyError:
        schema: dict[str, Any] = {"type": "string", "minLength": min_length}
        if max_length is not None:
            schema["maxLength"] = max_length
        rules = [{"pattern": p} for p in patterns] + [{"format": f} for f in formats]
        if rules:
            schema["allOf"] = rules
        try:
            check = SchemaValidator(schema)
        except SchemaCompileError:
            check = None
        with _LOCK:
            if len(_STRINGS) >= _LIMIT:
                _STRINGS.clear()
            _STRINGS[key] = check
    return check is not None and check.is_valid(value)


def is_type(value: Any, json_type: str) -> bool:
    """Whether ``value`` is of JSON type ``json_type`` (an integral float is an integer)."""
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if json_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "null":
        return value is None
    if json_type == "array":
        return isinstance(value, list)
    if json_type == "object":
        return isinstance(value, dict)
    return False


def is_number(value: Any) -> bool:
    """A JSON number (``True`` is not one)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def freeze(value: Any) -> Hashable:
    """A hashable key with JSON equality (``1 == 1.0``, ``True != 1``)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("n", value)
    if isinstance(value, float):
        return ("n", int(value)) if value.is_integer() else ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if isinstance(value, list | tuple):
        return ("a", tuple(freeze(v) for v in value))
    if isinstance(value, Mapping):
        return ("o", frozenset((k, freeze(v)) for k, v in value.items()))
    return ("?", repr(value))


def multiple_ok(value: int | float, multiples: Sequence[int | float]) -> bool:
    """Whether ``value`` is an exact multiple of each of ``multiples`` in binary floating point
    (the float quotient is integral).

    The numbers the generator makes pass this as well as the engine's check: jsonschema-rs
    allows rounding error (``0.07`` is a multiple of ``0.01`` to it), stricter validators such
    as Python's jsonschema and many clients do not.
    """
    for m in multiples:
        if isinstance(m, float):
            try:
                quotient = value / m
                if int(quotient) != quotient:
                    return False
            except OverflowError:
                if (Fraction(value) / Fraction(m)).denominator != 1:
                    return False
        elif value % m:
            return False
    return True
