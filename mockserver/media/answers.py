"""An answer's value written as the media type it is sent as: JSON as JSON, text as text, XML
from the example (a string of XML is sent as written) or from the value with the schema's ``xml``
hints, a form as ``key=value`` pairs, binary as the example's bytes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson

from mockserver.media import kind_of
from mockserver.media.xml import to_xml

JSON = dict[str, Any]


def encode(media: str, value: Any, schema: Any, document: JSON) -> bytes:
    """The bytes of ``value`` sent as ``media``."""
    kind = kind_of(media)
    if kind == "json":
        return orjson.dumps(value)
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if kind == "xml":
        return value.encode("utf-8") if isinstance(value, str) else to_xml(value, schema, document)
    if kind == "form" and isinstance(value, dict):
        return urlencode(
            [(k, v) for k, vs in value.items() for v in (vs if isinstance(vs, list) else [vs])],
        ).encode("ascii")
    if isinstance(value, str):
        return value.encode("utf-8")
    return orjson.dumps(value)  # a structured example documented for a text type


def checked_as_json(media: str) -> bool:
    """Whether an answer of this type is checked against its schema as the value it was made
    from (JSON, text); XML, form and binary answers are checked for status and type only."""
    return kind_of(media) in ("json", "text")
