"""An answer's value written as XML, following the schema's ``xml`` hints (OpenAPI's XML Object):
``name`` renames an element, ``attribute: true`` writes a property as an attribute, ``wrapped:
true`` puts an array's items inside an element named after the array, ``prefix``/``namespace``
qualify a name. The root element is named by its schema's ``xml.name``, else by the component
its ``$ref`` names (``#/components/schemas/Pet`` gives ``<Pet>``). :func:`from_xml` reads a request
body back into the value its schema describes, by the same hints."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from mockserver.media.schemas import (
    coerce_text,
    declared_keys,
    follow,
    items_schema,
    property_schema,
    types,
)

JSON = dict[str, Any]


def to_xml(value: Any, schema: Any, document: JSON) -> bytes:
    """``value`` as an XML document (UTF-8, with its declaration)."""
    name = _ref_name(schema) or "root"
    resolved = follow(schema, document)
    element = _element(_hint(resolved, "name") or name, value, resolved, document)
    body: bytes = ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
    return body


def _ref_name(schema: Any) -> str | None:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) and "/" in ref else None


def _hint(schema: Any, key: str) -> Any:
    xml = schema.get("xml") if isinstance(schema, dict) else None
    return xml.get(key) if isinstance(xml, dict) else None


def _qualified(name: str, schema: Any) -> str:
    prefix = _hint(schema, "prefix")
    return f"{prefix}:{name}" if isinstance(prefix, str) and prefix else name


def _element(name: str, value: Any, schema: Any, document: JSON) -> ElementTree.Element:
    element = ElementTree.Element(_qualified(name, schema))
    namespace = _hint(schema, "namespace")
    if isinstance(namespace, str):
        prefix = _hint(schema, "prefix")
        element.set(f"xmlns:{prefix}" if prefix else "xmlns", namespace)
    _fill(element, name, value, schema, document)
    return element


def _fill(element: ElementTree.Element, name: str, value: Any, schema: Any, document: JSON) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            prop = property_schema(schema, str(key), document)
            child_name = _hint(prop, "name") or str(key)
            if _hint(prop, "attribute") is True and not isinstance(item, dict | list):
                element.set(_qualified(child_name, prop), _text(item))
            elif isinstance(item, list) and not _hint(prop, "wrapped"):
                items = items_schema(prop, document)
                for entry in item:  # unwrapped: one element per item, named after the items
                    element.append(
                        _element(_hint(items, "name") or child_name, entry, items, document)
                    )
            else:
                element.append(_element(child_name, item, prop, document))
    elif isinstance(value, list):
        items = items_schema(schema, document)
        for entry in value:
            element.append(_element(_hint(items, "name") or name, entry, items, document))
    else:
        element.text = _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def from_xml(text: str, schema: Any, document: JSON) -> Any:
    """An XML request body as the value its schema describes, read with the same ``xml`` hints
    :func:`to_xml` writes with (the root element's own name is not checked). Element text is
    typed by its property's schema (``<id>7</id>`` is 7); what does not fit stays as read, so the
    validator names it: text where an object is expected, a repeated element where one value
    is, an empty element where a number is."""
    return _read(ElementTree.fromstring(text), schema, document)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _read(element: ElementTree.Element, schema: Any, document: JSON) -> Any:
    resolved = follow(schema, document)
    kinds = types(resolved, document)
    children = list(element)
    if "array" in kinds and "object" not in kinds:
        if not children and (element.text or "").strip():
            return element.text  # text where a list of elements belongs
        items = items_schema(resolved, document)
        return [_read(child, items, document) for child in children]
    if "object" in kinds or (not kinds and (children or element.attrib)):
        if not children and not element.attrib and (element.text or "").strip():
            return element.text  # text where an object belongs
        return _read_object(element, resolved, document)
    if children:
        return {_local(child.tag): _read(child, {}, document) for child in children}
    return coerce_text(element.text or "", resolved, document)


def _read_object(element: ElementTree.Element, schema: Any, document: JSON) -> JSON:
    value: JSON = {}
    by_name: dict[str, list[ElementTree.Element]] = {}
    for child in element:
        by_name.setdefault(_local(child.tag), []).append(child)
    claimed: set[str] = set()
    for key in declared_keys(schema, document):
        prop = property_schema(schema, key, document)
        name = _hint(prop, "name") or key
        if _hint(prop, "attribute") is True:
            found = next((v for k, v in element.attrib.items() if _local(k) == name), None)
            if found is not None:
                value[key] = coerce_text(found, prop, document)
            continue
        if "array" in types(prop, document) and not _hint(prop, "wrapped"):
            items = items_schema(prop, document)
            item_name = _hint(items, "name") or name
            if item_name in by_name:
                claimed.add(item_name)
                value[key] = [_read(child, items, document) for child in by_name[item_name]]
            continue
        if name in by_name:
            claimed.add(name)
            read = [_read(child, prop, document) for child in by_name[name]]
            value[key] = read[0] if len(read) == 1 else read  # repeated: not one value
    for name, elements in by_name.items():
        if name not in claimed and name not in value:
            extra = property_schema(schema, name, document)
            read = [_read(child, extra, document) for child in elements]
            value[name] = read[0] if len(read) == 1 else read
    return value

