"""What the engine reads and writes: :class:`RequestData` in, :class:`ResponseData` out.

Plain data, free of any web framework: the Flask layer (``app.py``) fills a ``RequestData`` from
the WSGI request and writes the ``ResponseData`` back; the relay (``proxy.py``) answers with one
too. ``mockserver.engine`` re-exports both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["HeadersLike", "QueryLike", "RequestData", "ResponseData"]


class QueryLike(Protocol):
    def getlist(self, key: str) -> list[str]: ...


# Case-insensitive header access: werkzeug's ``Headers`` (its overloaded ``get`` defeats a
# Protocol).
HeadersLike = Any


@dataclass(slots=True)
class RequestData:
    """What the engine needs from an HTTP request (the Flask layer fills it in)."""

    method: str
    path: str
    query: QueryLike
    query_string: str
    headers: HeadersLike
    cookies: Mapping[str, str]
    content_length: int | None
    read_body: Callable[[int], bytes]
    client_address: str = "127.0.0.1"

    def read_within(self, limit: int) -> bytes:
        """The body: as many bytes as ``Content-Length`` says, else up to ``limit`` + 1 (more
        than ``limit`` means too large). Never a read of the limit for a small body: werkzeug's
        stream allocates what it is asked for, a buffer of 10 MiB for every request."""
        return self.read_body(limit + 1 if self.content_length is None else self.content_length)


@dataclass(slots=True)
class ResponseData:
    """What to send back. ``drop`` asks the server layer to close the connection unanswered."""

    status: int
    body: bytes
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    # The object ``body`` was serialised from, when there is one: the response check validates it
    # directly instead of parsing the bytes back (0.3 ms on a 500-customer answer).
    payload: Any = None
