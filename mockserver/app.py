"""The Flask layer: an app factory that adapts HTTP requests to the engine and back.

Flask does little here on purpose: one catch-all view per mounted API hands a
:class:`~mockserver.engine.RequestData` to the engine, the control blueprint serves ``/__mock/``,
and error handlers make sure nothing answers with an HTML page or a bare 500.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from mockserver.behaviours.registry import load_builtin
from mockserver.config import Settings
from mockserver.engine import Engine, RequestData, ResponseData
from mockserver.errors import ConfigError
from mockserver.openapi.loader import bundled_spec_paths, load_spec
from mockserver.openapi.spec import Spec
from mockserver.services import Services
from mockserver.specchecks import check_examples

log = logging.getLogger("mockserver")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"]


def load_specs(settings: Settings) -> list[Spec]:
    """The bundled specs (unless ``bundled`` is False) plus ``settings.specs``, filtered by ``apis``.

    Each spec's examples are checked against their schemas; a broken one stops start-up with an
    error naming the file, the JSON pointer and the problem.
    """
    paths = [*(bundled_spec_paths() if settings.bundled else []), *map(Path, settings.specs)]
    specs: list[Spec] = []
    for path in paths:
        spec = load_spec(path)
        if settings.apis is not None and spec.name not in settings.apis:
            continue
        check_examples(spec)
        if any(s.name == spec.name for s in specs):
            raise ConfigError(
                f"two specs want the mount name {spec.name!r} ({path}); set a different x-mock.name"
            )
        specs.append(spec)
    if settings.apis is not None:
        missing = set(settings.apis) - {s.name for s in specs}
        if missing:
            known = ", ".join(s.name for s in specs) or "none"
            raise ConfigError(f"--api {', '.join(sorted(missing))}: no such API; loaded: {known}")
    if not specs:
        raise ConfigError("no spec to serve; pass --spec PATH or keep the bundled specs")
    return specs


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Flask:
    """Build the mock as a Flask app.

    ``settings`` default to :meth:`Settings.from_env`; ``services`` may be passed to share state
    with a caller (the pytest fixture does). The background worker (jobs, webhooks) starts when
    ``settings.background`` is true.
    """
    settings = settings or Settings.from_env()
    load_builtin()
    specs = load_specs(settings)
    services = services or Services.build(settings)
    engine = Engine(specs, services)

    app = Flask("mockserver")
    app.config["MOCKSERVER_SETTINGS"] = settings
    app.extensions["mockserver"] = engine
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from mockserver.control import control_blueprint

    app.register_blueprint(control_blueprint(engine), url_prefix="/__mock")

    def serve_api(subpath: str = "") -> Response:
        return to_flask(engine.handle(from_flask()))

    for api in engine.apis:
        endpoint = f"api_{api.spec.name}"
        app.add_url_rule(api.mount, endpoint, serve_api, methods=METHODS, strict_slashes=False)
        app.add_url_rule(f"{api.mount}/<path:subpath>", endpoint, serve_api, methods=METHODS)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        # Paths outside every API (and Flask-level refusals) still answer JSON, never HTML.
        if exc.code == 404:
            return to_flask(engine.handle(from_flask()))
        body = {"type": "about:blank", "title": exc.name, "status": exc.code, "detail": exc.description}
        return Response(orjson.dumps(body), exc.code or 500, mimetype="application/problem+json")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error while answering %s %s", request.method, request.path)
        services.server_errors.append(exc)
        body = {"type": "about:blank", "title": "mock error", "status": 500,
                "detail": f"{type(exc).__name__}: {exc}"}
        return Response(orjson.dumps(body), 500, mimetype="application/problem+json")

    if settings.background:
        services.start_background()
    return app


def from_flask() -> RequestData:
    """Adapt the current Flask request."""
    stream = request.stream
    return RequestData(
        method=request.method,
        path=request.path,
        query=request.args,
        query_string=request.query_string.decode("latin-1"),
        headers=request.headers,
        cookies=request.cookies,
        content_length=request.content_length,
        read_body=stream.read,
        client_address=request.remote_addr or "",
    )


def to_flask(response: ResponseData) -> Response:
    """Adapt an engine response; a dropped connection closes the socket without an answer."""
    if response.drop:
        _drop_connection(request.environ)
        return Response(b"", 500, headers={"Connection": "close"})
    result = Response(response.body, response.status, headers=response.headers)
    if response.content_type is None:
        result.headers.pop("Content-Type", None)
    else:
        result.headers["Content-Type"] = response.content_type
    return result


def _drop_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
