"""Read what a schema says about a value written as text: its type, its properties, its items.

Form fields, multipart parts and parameters arrive as text; to turn ``"42"`` into ``42`` the
decoder must know the schema's type, through ``$ref``s and ``allOf``/``anyOf``/``oneOf``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

JSON = dict[str, Any]
_MAX_DEPTH = 32


def follow(schema: Any, document: Mapping[str, Any]) -> Any:
    """``schema`` with local ``$ref``s followed (``{}`` when one dangles or cycles)."""
    for _ in range(_MAX_DEPTH):
        if not isinstance(schema, dict):
            return schema
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        node: Any = document
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
        schema = node if isinstance(node, dict) else {}
    return {}


def _branches(schema: Any, document: Mapping[str, Any], depth: int = 0) -> Iterator[JSON]:
    """The schema and every schema combined into it (allOf, anyOf, oneOf), refs followed."""
    schema = follow(schema, document)
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return
    yield schema
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key) or []:
            yield from _branches(branch, document, depth + 1)



def declared_keys(schema: Any, document: Mapping[str, Any]) -> list[str]:
    """The property names the schema and every schema combined into it declare, in order."""
    keys: list[str] = []
    for branch in _branches(schema, document):
        for key in branch.get("properties") or {}:
            if key not in keys:
                keys.append(key)
    return keys

def types(schema: Any, document: Mapping[str, Any]) -> list[str]:
    """Every type the schema (or a schema combined into it) names, ``null`` last."""
    found: list[str] = []
    for branch in _branches(schema, document):
        kind = branch.get("type")
        for name in kind if isinstance(kind, list) else [kind]:
            if isinstance(name, str) and name not in found:
                found.append(name)
        if not kind and "properties" in branch and "object" not in found:
            found.append("object")
        if not kind and "items" in branch and "array" not in found:
            found.append("array")
    return sorted(found, key=lambda t: t == "null")


def property_schema(schema: Any, name: str, document: Mapping[str, Any]) -> Any:
    """The schema of property ``name`` (or of additional properties), ``{}`` if unknown."""
    extra: Any = None
    for branch in _branches(schema, document):
        properties = branch.get("properties")
        if isinstance(properties, dict) and name in properties:
            return follow(properties[name], document)
        if isinstance(branch.get("additionalProperties"), dict) and extra is None:
            extra = branch["additionalProperties"]
    return follow(extra, document) if extra is not None else {}


def items_schema(schema: Any, document: Mapping[str, Any]) -> Any:
    """The schema of an array's items, ``{}`` if unknown."""
    for branch in _branches(schema, document):
        if isinstance(branch.get("items"), dict):
            return follow(branch["items"], document)
    return {}


def coerce_text(raw: str, schema: Any, document: Mapping[str, Any]) -> Any:
    """Text as the scalar type its schema declares; left as text when it is not one.

    A string type wins (a ZIP code ``"01234"`` stays text); then integer, number, boolean, null.
    """
    kinds = types(schema, document)
    if not kinds or "string" in kinds:
        return raw
    for kind in kinds:
        if kind == "integer":
            try:
                number = int(raw, 10)
            except ValueError:
                continue
            if -(2**63) <= number < 2**64:
                return number
            try:  # beyond 64 bits: a float, as a JSON body's number would be
                return float(number)
            except OverflowError:
                return raw
        if kind == "number":
            try:
                value = float(raw)
            except ValueError:
                continue
            if math.isfinite(value):
                return int(value) if value.is_integer() and "." not in raw else value
        if kind == "boolean" and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        if kind == "null" and raw in ("", "null"):
            return None
    return raw
