"""An answer's value written as XML, following the schema's ``xml`` hints (OpenAPI's XML Object):
``name`` renames an element, ``attribute: true`` writes a property as an attribute, ``wrapped:
true`` puts an array's items inside an element named after the array, ``prefix``/``namespace``
qualify a name. The root element is named by its schema's ``xml.name``, else by the component
its ``$ref`` names (``#/components/schemas/Pet`` gives ``<Pet>``)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from mockserver.media.schemas import follow, items_schema, property_schema

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
