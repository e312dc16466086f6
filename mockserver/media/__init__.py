"""Request bodies by their documented media type: one codec per kind of media type.

``kind_of`` sorts a media type into json, form, multipart, text, xml or binary; ``decode`` turns
the bytes of a non-JSON body into the value its schema is checked against (JSON bodies keep
their own strict parser, :mod:`mockserver.bodies`). Text arrives as text; XML must be well-formed
and is read into the value its schema describes (:func:`mockserver.media.xml.from_xml`); binary
bodies are accepted as they are and not checked against a schema.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from mockserver.bodies import BodyError, is_json_media
from mockserver.media.form import decode_form, decode_multipart
from mockserver.media.xml import from_xml
from mockserver.openapi.spec import MediaType

JSON = dict[str, Any]
TEXT_TYPES = ("application/javascript", "application/x-ndjson", "application/yaml")


def kind_of(media: str) -> str:
    """json, form, multipart, text, xml or binary (everything else)."""
    if is_json_media(media):
        return "json"
    if media == "application/x-www-form-urlencoded":
        return "form"
    if media.startswith("multipart/"):
        return "multipart"
    if media.endswith("/xml") or media.endswith("+xml"):
        return "xml"
    if media.startswith("text/") or media in TEXT_TYPES:
        return "text"
    return "binary"


def is_checked(kind: str) -> bool:
    """Whether a body of this kind is validated against its schema."""
    return kind in ("json", "form", "multipart", "text", "xml")


def decode(
    kind: str,
    raw: bytes,
    content_type: str,
    charset: str | None,
    media: MediaType,
    document: JSON,
) -> Any:
    """The value of a non-JSON body, or :class:`BodyError` saying why it cannot be read."""
    if kind == "form":
        return decode_form(raw, charset, media.schema, media.encoding, document)
    if kind == "multipart":
        return decode_multipart(raw, content_type, media.schema, media.encoding, document)
    if kind in ("text", "xml"):
        try:
            text = raw.decode(charset or "utf-8")
        except (UnicodeDecodeError, LookupError):
            raise BodyError(f"the body is not valid {charset or 'UTF-8'} text") from None
        if kind == "xml":
            try:  # expat: entity expansion is bounded
                return from_xml(text, media.schema or {}, document)
            except ElementTree.ParseError as exc:
                raise BodyError(f"malformed XML: {exc}") from None
        return text
    return None  # binary: accepted as sent
