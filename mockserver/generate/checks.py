"""Checks of generated values: JSON equality and types, ``multipleOf``, and full validation.

:class:`Checker` validates a value against a subschema of one root document (``$ref``\\ s resolved
in it, formats asserted or not, OpenAPI 3.0's ``nullable`` understood).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import extend
from referencing.exceptions import Unresolvable

from mockserver.formats import format_checker

__all__ = ["FORMAT_CHECKER", "Checker", "freeze", "is_number", "is_type", "multiple_ok"]

FORMAT_CHECKER: Final = format_checker()  # the standard formats and mockserver.formats' own

_BASE_TYPE = Draft202012Validator.VALIDATORS["type"]


def _nullable_type(validator: Any, types: Any, instance: Any, schema: Any) -> Any:
    if instance is None and isinstance(schema, Mapping) and schema.get("nullable") is True:
        return
    yield from _BASE_TYPE(validator, types, instance, schema)


_Validator: Final[Any] = extend(Draft202012Validator, {"type": _nullable_type})


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
    """``multipleOf`` exactly as jsonschema checks it (float quotient must be integral)."""
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



def is_number(value: Any) -> bool:
    """A JSON number (``True`` is not one)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class Checker:
    """Full jsonschema validation against subschemas of ``root`` (for its ``$ref``\\ s)."""

    __slots__ = ("_plain", "_with_formats", "root")

    def __init__(self, root: Any) -> None:
        self.root = root
        self._with_formats = _Validator(root, format_checker=FORMAT_CHECKER)
        self._plain = _Validator(root)

    def valid(self, value: Any, schema: Any, *, formats: bool = True) -> bool:
        """Whether ``value`` is valid against ``schema`` (formats asserted when ``formats``)."""
        validator = self._with_formats if formats else self._plain
        try:
            return bool(validator.evolve(schema=schema).is_valid(value))
        except (SchemaError, Unresolvable, re.error, TypeError, ValueError):
            return False
