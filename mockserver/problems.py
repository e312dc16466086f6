"""JSON answers for failures outside an API's envelope (the control API, Flask-level errors,
bugs inside the mock): RFC 7807 ``application/problem+json``, never an HTML page."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import orjson
from flask import Response
from werkzeug.exceptions import HTTPException

if TYPE_CHECKING:
    from mockserver.services import Services

log = logging.getLogger("mockserver")


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """An RFC 7807 ``application/problem+json`` answer (for failures outside an API's envelope)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(
        orjson.dumps(body), status, headers=headers, mimetype="application/problem+json"
    )


def http_problem(exc: HTTPException) -> Response:
    """A werkzeug HTTP error (a body that cannot be read, a method Flask refuses) as JSON."""
    allow = dict(exc.get_headers()).get("Allow")
    headers = {"Allow": allow} if allow else None
    return problem(exc.code or 500, str(exc.name), str(exc.description), headers)


def unexpected_problem(exc: Exception, method: str, path: str, services: Services) -> Response:
    """A bug inside the mock: logged, kept for the pytest fixture to re-raise, answered as JSON."""
    log.exception("unexpected error while answering %s %s", method, path)
    services.server_errors.append(exc)
    return problem(500, "mock error", f"{type(exc).__name__}: {exc}")
