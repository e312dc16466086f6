"""Parameters serialised in every OpenAPI ``style``, read back into typed values.

=============  ==========================  ========================================
style          explode false               explode true
=============  ==========================  ========================================
form (query)   ``id=3,4,5``                ``id=3&id=4&id=5``; an object's properties
               ``id=role,admin,n,5``       as keys of their own: ``role=admin&n=5``
spaceDelimited ``id=3%204%205``            as form
pipeDelimited  ``id=3|4|5``                as form
deepObject     -                           ``id[role]=admin&id[n]=5``
simple (path,  ``3,4,5``; ``role,admin``   ``3,4,5``; ``role=admin,n=5``
header)
label (path)   ``.3,4,5``; ``.role,admin`` ``.3.4.5``; ``.role=admin.n=5``
matrix (path)  ``;id=3,4,5``               ``;id=3;id=4;id=5``; ``;role=admin;n=5``
=============  ==========================  ========================================

Values come back as text, lists of text or objects of text; :func:`coerce_value` types them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.media.schemas import (
    coerce_text,
    declared_keys,
    items_schema,
    property_schema,
    types,
)
from mockserver.openapi.spec import Parameter

JSON = dict[str, Any]
MISSING: Any = object()
_DELIMITERS = {"spaceDelimited": " ", "pipeDelimited": "|"}


def is_plain(parameter: Parameter, kinds: list[str]) -> bool:
    """Whether the parameter is read the ordinary way (a scalar, or a form/simple array that the
    fast path already splits); styled readers handle the rest."""
    if "object" in kinds:
        return False
    if parameter.style in ("matrix", "label", "spaceDelimited", "pipeDelimited", "deepObject"):
        return False
    return not ("array" in kinds and parameter.location in ("path", "header"))


def kinds_of(parameter: Parameter, document: JSON) -> list[str]:
    return types(parameter.schema, document)


def read(
    parameter: Parameter,
    kinds: list[str],
    document: JSON,
    path_value: str | None,
    query: Any,
    header: str | None,
    cookie: str | None,
) -> Any:
    """The parameter's raw value by its style (text, list or object of text), or MISSING."""
    style, explode, name = parameter.style, parameter.explode, parameter.name
    is_object = "object" in kinds
    is_array = "array" in kinds and not is_object
    if parameter.location == "query":
        if style == "deepObject" or (is_object and any(_bracketed(query, name))):
            found = {key: values[-1] for key, values in _bracketed(query, name)}
            return found if found else MISSING
        values = list(query.getlist(name))
        if is_object and explode and style == "form":
            found = {}
            for key in declared_keys(parameter.schema, document):
                got = query.getlist(key)
                if got:
                    found[key] = got[-1]
            return found if found else (_pairs(values[0], ",") if values else MISSING)
        if not values:
            return MISSING
        if is_object:
            return _pairs(values[0], ",")
        if is_array:
            if explode:
                return values
            delimiter = _DELIMITERS.get(style, ",")
            return [part for value in values if value for part in value.split(delimiter)]
        return values[0]
    raw = (
        path_value
        if parameter.location == "path"
        else header
        if parameter.location == "header"
        else cookie
    )
    if raw is None:
        return MISSING
    if raw == "" and is_array and style in ("simple", "form"):
        return []  # "X-Ids:" sent empty: the empty array, as "ids=" is in a query
    if style == "label":
        if not raw.startswith("."):
            return raw  # the validator names what is wrong with it
        raw = raw[1:]
        separator = "." if explode else ","
        parts = raw.split(separator)
    elif style == "matrix":
        prefix = f";{name}="
        if is_object and explode:
            if not raw.startswith(";"):
                return raw  # the validator says it is not an object
            assigned = _assignments(raw[1:].split(";"))
            return raw if assigned is None else assigned
        if is_array and explode:
            return [
                piece[len(prefix) - 1 :]
                for piece in (";" + raw.lstrip(";")).split(";")[1:]
                if piece.startswith(f"{name}=")
            ] or MISSING
        if not raw.startswith(prefix):
            return raw if raw else MISSING
        raw = raw[len(prefix) :]
        parts = raw.split(",")
    else:  # simple (path, header), form (cookie)
        parts = raw.split(",")
    if is_object:
        if explode and all("=" in part for part in parts):
            assigned = _assignments(parts)
            return raw if assigned is None else assigned
        return _pairs(",".join(parts), ",")
    if is_array:
        return parts
    return ",".join(parts) if style in ("simple", "form") else parts[0] if len(parts) == 1 else raw


def coerce_value(value: Any, schema: Any, document: JSON) -> Any:
    """Text, lists and objects of text typed by the parameter's schema."""
    if isinstance(value, list):
        items = items_schema(schema, document)
        return [coerce_text(v, items, document) for v in value]
    if isinstance(value, dict):
        return {
            k: coerce_text(v, property_schema(schema, k, document), document)
            for k, v in value.items()
        }
    return coerce_text(value, schema, document)


def _bracketed(query: Any, name: str) -> list[tuple[str, list[str]]]:
    prefix = name + "["
    keys = query.keys() if hasattr(query, "keys") else []
    return [
        (key[len(prefix) : -1], list(query.getlist(key)))
        for key in keys
        if key.startswith(prefix) and key.endswith("]")
    ]



def _pairs(text: str, delimiter: str) -> Any:
    if not text:
        return {}  # "filter=": the empty object
    parts = text.split(delimiter)
    if len(parts) % 2:
        return text  # not key,value pairs: the validator says it is not an object
    return dict(zip(parts[::2], parts[1::2], strict=True))


def _assignments(parts: list[str]) -> dict[str, str] | None:
    """``["role=admin", "n=5"]`` as an object; None when a part is not ``key=value`` with a
    key (``;=x`` names no property: the value is then not an object)."""
    found: dict[str, str] = {}
    for part in parts:
        key, equals, value = part.partition("=")
        if not key or not equals:
            return None
        found[key] = value
    return found


def header_or_none(headers: Mapping[str, str] | Any, name: str) -> str | None:
    value = headers.get(name)
    return value if isinstance(value, str) else None
