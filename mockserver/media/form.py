"""``application/x-www-form-urlencoded`` and ``multipart/form-data`` bodies as JSON values.

Fields arrive as text; they become what the body's schema declares, following the media type's
``encoding`` (per property: ``style``, ``explode``, ``contentType``) as OpenAPI defines it:

* a scalar property is coerced to its type (``"42"`` -> ``42`` for an integer, ``"true"`` ->
  ``true``); text that is not of that type stays text, so the validator names the field;
* an array property collects repeated keys (``tag=a&tag=b``, ``explode`` true, the default) or
  splits one value (``tag=a,b`` with ``explode: false``; spaces or ``|`` for ``spaceDelimited``
  and ``pipeDelimited``); ``tag[]=a`` counts as ``tag``;
* bracketed keys build objects (``address[city]=Paris``, ``deepObject``);
* a required array property with no field is the empty array (it is sent as nothing);
* a part (or field) whose ``contentType`` is JSON is parsed as JSON;
* a multipart file part is its content as text (bytes kept one to one), so ``type: string,
  format: binary`` (and ``maxLength``) apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

import orjson

from mockserver.bodies import BodyError, is_json_media
from mockserver.media.schemas import (
    _branches,
    coerce_text,
    follow,
    items_schema,
    property_schema,
    types,
)

JSON = dict[str, Any]
MAX_FIELDS = 10_000
_KEY = re.compile(r"\[([^\]]*)\]")
_DELIMITERS = {"spaceDelimited": " ", "pipeDelimited": "|"}


@dataclass(frozen=True, slots=True)
class Field:
    """One form field or multipart part: its name, its text and how it was sent."""

    name: str
    text: str
    content_type: str | None = None
    filename: str | None = None


def decode_form(
    raw: bytes, charset: str | None, schema: Any, encoding: Mapping[str, JSON], document: JSON
) -> JSON:
    """A urlencoded body as the object its schema describes; :class:`BodyError` if unreadable."""
    try:
        text = raw.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise BodyError(f"the form body is not valid {charset or 'UTF-8'} text") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(f"the form body cannot be read: {exc}") from None
    return assemble([Field(k, v) for k, v in pairs], schema, encoding, document)


def decode_multipart(
    raw: bytes, content_type: str, schema: Any, encoding: Mapping[str, JSON], document: JSON
) -> JSON:
    """A multipart/form-data body as the object its schema describes (files as text)."""
    if "boundary=" not in content_type.lower():
        raise BodyError("the multipart body has no boundary; send Content-Type with boundary=...")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart() or message.defects:
        raise BodyError("malformed multipart body (no closing boundary or unreadable parts)")
    fields: list[Field] = []
    for index, part in enumerate(message.iter_parts()):
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):  # name="" names the property "" (a valid object key)
            raise BodyError(f"multipart part {index} has no name in its Content-Disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        charset = part.get_content_charset()
        if filename is not None:
            text = data.decode("latin-1")  # a file: bytes one to one, never refused
        else:
            try:
                text = data.decode(charset or "utf-8")
            except (UnicodeDecodeError, LookupError):
                raise BodyError(
                    f"{name}: the part is not valid {charset or 'UTF-8'} text"
                ) from None
        part_type = part.get_content_type() if part.get("Content-Type") else None
        fields.append(Field(name, text, part_type, filename))
    return assemble(fields, schema, encoding, document)


def assemble(
    fields: list[Field], schema: Any, encoding: Mapping[str, JSON], document: JSON
) -> JSON:
    """Build the body object from its fields, each typed by its property's schema."""
    grouped: dict[str, list[tuple[list[str], Field]]] = {}
    for field in fields:
        name, path = _split_key(field.name)
        grouped.setdefault(name, []).append((path, field))
    body: JSON = {}
    for name, entries in grouped.items():
        prop = property_schema(schema, name, document)
        rule = encoding.get(name) or {}
        flat = [f for path, f in entries if not path or path == [""]]
        nested = [(path, f) for path, f in entries if path and path != [""]]
        if flat:
            body[name] = _value(name, flat, prop, rule, document)
        if nested:
            target = body.setdefault(name, {})
            if not isinstance(target, dict):
                raise BodyError(f"{name}: sent both as a value and as an object")
            for path, field in nested:
                _set_nested(target, name, path, field, prop, document)
    for name in _required(schema, document):
        if name not in body and "array" in types(property_schema(schema, name, document), document):
            body[name] = []  # an empty array is sent as no field at all
    return body


def _required(schema: Any, document: JSON) -> list[str]:
    names: list[str] = []
    for branch in _branches(schema, document):
        required = branch.get("required")
        names += [n for n in required if isinstance(n, str)] if isinstance(required, list) else []
    return names


def _split_key(key: str) -> tuple[str, list[str]]:
    """``a[b][c]`` -> (``a``, [``b``, ``c``]); ``a[]`` -> (``a``, [``""``])."""
    cut = key.find("[")
    if cut <= 0 or not key.endswith("]"):
        return key, []
    return key[:cut], _KEY.findall(key[cut:])


def _value(name: str, fields: list[Field], schema: Any, rule: JSON, document: JSON) -> Any:
    kinds = types(schema, document)
    style = str(rule.get("style", "form"))
    explode = bool(rule.get("explode", style == "form"))
    if "array" in kinds:
        items = items_schema(schema, document)
        texts: list[Field] = []
        for field in fields:
            if explode or field.filename is not None:
                texts.append(field)
            else:
                delimiter = _DELIMITERS.get(style, ",")
                texts.extend(
                    Field(name, t, field.content_type) for t in field.text.split(delimiter)
                )
        return [_scalar(name, f, items, rule, document) for f in texts]
    values = [_scalar(name, f, schema, rule, document) for f in fields]
    if "object" in kinds and not explode and all(isinstance(v, str) for v in values):
        parts = str(values[0]).split(",")
        if len(parts) % 2 == 0 and len(values) == 1:  # form, explode false: k1,v1,k2,v2
            return {
                k: coerce_text(v, property_schema(schema, k, document), document)
                for k, v in zip(parts[::2], parts[1::2], strict=True)
            }
    return values[0] if len(values) == 1 else values


def _scalar(name: str, field: Field, schema: Any, rule: JSON, document: JSON) -> Any:
    declared = str(rule.get("contentType") or field.content_type or "")
    if field.filename is None and declared and is_json_media(declared.split(";")[0].strip()):
        try:
            return orjson.loads(field.text)
        except orjson.JSONDecodeError as exc:
            raise BodyError(f"{name}: the part is not valid JSON ({exc})") from None
    if field.filename is not None:
        return field.text
    return coerce_text(field.text, schema, document)


def _set_nested(
    target: JSON, name: str, path: list[str], field: Field, schema: Any, document: JSON
) -> None:
    node: Any = target
    where = name
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        schema = (
            items_schema(schema, document) if key == "" else property_schema(schema, key, document)
        )
        if key == "":  # a[b][] : append to a list
            if not isinstance(node, list):
                raise BodyError(f"{where}: mixes [] and named keys")
            node.append(coerce_text(field.text, schema, document) if last else {})
            node = node[-1]
            continue
        if not isinstance(node, dict):
            raise BodyError(f"{where}: mixes [] and named keys")
        where = f"{where}.{key}"
        if last:
            node[key] = coerce_text(field.text, follow(schema, document), document)
        else:
            following = path[depth + 1]
            node = node.setdefault(key, [] if following == "" else {})
