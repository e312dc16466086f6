"""Match a request path and method to an operation.

Paths are matched after the API's mount prefix is removed. Literal segments win over templated
ones (``/customers/bulk`` before ``/customers/{customer_id}``); when the path exists but no template
that matches it documents the method, the answer is "method not allowed" with every method those
templates document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from mockserver.openapi.spec import Operation


@dataclass(frozen=True, slots=True)
class Match:
    """A routing result: an operation with its path parameters, or the allowed methods (405),
    or neither (404)."""

    operation: Operation | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return self.operation is not None


@dataclass(slots=True)
class _Template:
    path: str
    regex: re.Pattern[str]
    names: list[str]
    literal_weight: tuple[int, int]
    methods: dict[str, Operation]


def _compile(path: str) -> tuple[re.Pattern[str], list[str]]:
    names: list[str] = []
    pattern = ""
    for piece in re.split(r"({[^}]+})", path):
        if piece.startswith("{") and piece.endswith("}"):
            names.append(piece[1:-1])
            pattern += "([^/]+)"
        else:
            pattern += re.escape(piece)
    return re.compile(f"{pattern}/?"), names


class Router:
    """Routes paths (relative to the mount) to operations of one API."""

    def __init__(self, operations: list[Operation]) -> None:
        by_path: dict[str, _Template] = {}
        for op in operations:
            template = by_path.get(op.path)
            if template is None:
                regex, names = _compile(op.path)
                segments = [s for s in op.path.split("/") if s]
                literals = sum(1 for s in segments if "{" not in s)
                # More literal segments first; then fewer templated ones.
                weight = (-literals, len(names))
                template = by_path[op.path] = _Template(op.path, regex, names, weight, {})
            template.methods[op.method] = op
        self._templates = sorted(by_path.values(), key=lambda t: t.literal_weight)
        self._literal = {t.path.rstrip("/") or "/": t for t in self._templates if not t.names}

    def match(self, method: str, path: str) -> Match:
        """Find the operation for ``method`` and ``path`` (path without the mount prefix)."""
        method = method.upper()
        # One trailing slash is forgiven, as the templates forgive it; "/customers//" (an empty
        # or a decoded "%2F" customer id) is not "/customers".
        key = (path[:-1] if path.endswith("/") else path) or "/"
        literal = self._literal.get(key)
        if literal is not None and method in literal.methods:
            return Match(literal.methods[method])
        if literal is not None:  # a concrete path owns its URL: other methods are 405
            return Match(allowed=tuple(literal.methods))
        for template in self._templates:
            found = template.regex.fullmatch(path)
            if found is None:
                continue
            operation = template.methods.get(method)
            if operation is None:  # the most concrete matching path owns the URL
                return Match(allowed=tuple(template.methods))
            params = {
                name: unquote(value) if "%" in value else value
                for name, value in zip(template.names, found.groups(), strict=True)
            }
            return Match(operation, params)
        return Match()

    def methods(self, path: str) -> list[str]:
        """Every method documented for the templates matching ``path`` (for CORS preflight)."""
        for template in self._templates:
            if template.regex.fullmatch(path):
                return list(template.methods)
        return []
