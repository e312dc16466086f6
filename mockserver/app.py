"""The Flask layer: an app factory that adapts HTTP requests to the engine and back.

Flask does little here on purpose: requests under an API mount go straight to the engine
(:class:`ApiFastPath`, a WSGI middleware), the control blueprint serves ``/__mock/``, and error
handlers make sure nothing answers with an HTML page or a bare 500. Each app has its own registry
of API packs (:mod:`mockserver.packs`): the bundled and installed ones unless ``apis`` says.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.datastructures import EnvironHeaders, ImmutableMultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.sansio.utils import get_content_length
from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wsgi import get_input_stream

from mockserver import memory
from mockserver.apis import registry as discover_registry
from mockserver.config import Settings
from mockserver.engine import Engine
from mockserver.errors import ConfigError
from mockserver.messages import RequestData, ResponseData
from mockserver.openapi.loader import bundled_spec_paths, load_spec
from mockserver.openapi.mounts import SpecEntry, chose_name, parse_entry, renamed, unique_name
from mockserver.openapi.spec import Spec
from mockserver.packs import ApiPack, Registry
from mockserver.problems import http_problem, unexpected_problem
from mockserver.services import Services
from mockserver.specchecks import NOT_SERVED, check_examples, drop_invalid_examples

log = logging.getLogger("mockserver")


def load_specs(settings: Settings, registry: Registry | None = None) -> list[Spec]:
    """The bundled specs (unless ``bundled`` is False), the specs ``registry``'s packs ship, and
    ``settings.specs``, kept by ``settings.apis``.

    ``settings.specs`` holds ``PATH`` or ``NAME=PATH`` entries (:mod:`mockserver.openapi.mounts`).
    Each spec's examples are checked against their schemas: one that breaks its schema is reported
    once (a warning naming the file, the JSON pointer and the problem) and never served, a body
    generated from the schema answers instead; with ``strict_examples`` it stops start-up. A
    user's spec is checked here; a big one (:attr:`Spec.big`) and the bundled ones are checked
    an operation at a time, on its first request (:class:`~mockserver.engine.MountedApi`).
    """
    entries = [
        *(
            SpecEntry(path, bundled=True)
            for path in (bundled_spec_paths() if settings.bundled else [])
        ),
        *(SpecEntry(p.spec) for p in (registry.packs if registry else []) if p.spec),
        *map(parse_entry, settings.specs),
    ]
    specs: list[Spec] = []
    for entry in entries:
        spec = _load_reporting(entry)
        taken = {s.name for s in specs}
        if spec.name in taken:
            if chose_name(spec, entry):
                raise ConfigError(
                    f"two specs want the mount name {spec.name!r} ({entry.path}); name one "
                    "with --spec NAME=PATH or set a different x-mock.name"
                )
            spec = renamed(spec, unique_name(spec, entry, taken))
        if settings.apis is not None and spec.name not in settings.apis:
            continue
        if settings.strict_examples:
            check_examples(spec)
            spec.examples_checked = True
        elif not entry.bundled and not spec.big:
            for problem in drop_invalid_examples(spec):
                log.warning("%s (%s)", problem, NOT_SERVED)
            spec.examples_checked = True
        # else: a big spec, or one of the package's own, has each operation's examples checked
        # on its first request (Engine), so start-up stays fast.
        specs.append(spec)
    if settings.apis is not None:
        missing = set(settings.apis) - {s.name for s in specs}
        if missing:
            known = ", ".join(s.name for s in specs) or "none"
            raise ConfigError(f"--api {', '.join(sorted(missing))}: no such API; loaded: {known}")
    if not specs:
        raise ConfigError("no spec to serve; pass --spec PATH or keep the bundled specs")
    if settings.proxy or settings.replay_dir or settings.record_dir:
        from mockserver.proxy import check_settings as check_relay_settings  # see Engine.relay

        check_relay_settings(settings, specs)  # --proxy, --record, --replay
    return specs


BIG_FILE_BYTES = 1024 * 1024


def _load_reporting(entry: SpecEntry) -> Spec:
    """Load one spec; a big file says it is loading and, once loaded, how long it took."""
    try:
        size = entry.path.stat().st_size
    except OSError:
        size = 0  # load_spec names the problem
    if size < BIG_FILE_BYTES:
        return load_spec(entry.path, name=entry.name)
    log.info("loading %s (%.1f MB) ...", entry.path, size / BIG_FILE_BYTES)
    started = time.perf_counter()
    spec = load_spec(entry.path, name=entry.name)
    log.info(
        "loaded %s: %d operations in %.1f s%s",
        entry.path,
        len(spec.operations),
        time.perf_counter() - started,
        " (validators compiled on first use)" if spec.big else "",
    )
    return spec


def packs_registry(apis: Registry | list[ApiPack] | None) -> Registry:
    """The registry an app serves with: ``apis`` as given, or the bundled and installed packs."""
    if isinstance(apis, Registry):
        return apis
    return discover_registry(None if apis is None else list(apis))


def create_app(
    settings: Settings | None = None,
    *,
    apis: Registry | list[ApiPack] | None = None,
    services: Services | None = None,
    specs: list[Spec] | None = None,
) -> Flask:
    """Build the mock as a Flask app.

    ``settings`` default to :meth:`Settings.from_env`. ``apis`` are the API packs the app serves
    with (a list of :class:`~mockserver.packs.ApiPack`, or a registry): by default the bundled
    packs and those installed through the ``mockserver.apis`` entry point group. ``services`` may
    be passed to share state with a caller (the pytest fixture does; its registry is then the
    app's); ``specs`` already loaded by :func:`load_specs` are used as they are (``mockserver
    serve`` loads them before forking its workers). The background worker (jobs, webhooks)
    starts when ``settings.background`` is true.
    """
    settings = settings or Settings.from_env()
    memory.configure()  # a large request's memory goes back to the system (mockserver/memory.py)
    registry = services.registry if services is not None else packs_registry(apis)
    specs = load_specs(settings, registry) if specs is None else specs
    services = services or Services.build(settings, registry)
    engine = Engine(specs, services)
    for spec in specs:  # each API that sends webhooks signs them in its own header
        header = registry.signature_header(spec.name, spec.settings.webhooks)
        if header is not None:
            services.webhooks.signature_headers[spec.name] = header

    app = Flask("mockserver")
    app.config["MOCKSERVER_SETTINGS"] = settings
    app.extensions["mockserver"] = engine
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from mockserver.control import control_blueprint

    app.register_blueprint(control_blueprint(engine), url_prefix="/__mock")

    # Requests under an API mount never reach Flask (see ApiFastPath): Flask serves /__mock/,
    # and everything else is a path outside every API.

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        # Paths outside every API (and Flask-level refusals) still answer JSON, never HTML; the
        # engine's 404 names the mounted APIs.
        if exc.code == 404:
            return to_flask(engine.handle(from_flask()))
        return http_problem(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        return unexpected_problem(exc, request.method, request.path, services)

    app.wsgi_app = ApiFastPath(app.wsgi_app, engine, services)  # type: ignore[method-assign]
    if settings.background:
        services.start_background()
    return app


def from_flask() -> RequestData:
    """Adapt the current Flask request."""
    return environ_request(request.environ)


_NO_QUERY: ImmutableMultiDict[str, str] = ImmutableMultiDict()


class _LazyCookies(Mapping[str, str]):
    """A request's cookies, parsed on first use (most operations read none)."""

    __slots__ = ("_req",)

    def __init__(self, req: WerkzeugRequest) -> None:
        self._req = req

    def __getitem__(self, name: str) -> str:
        return self._req.cookies[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._req.cookies)

    def __len__(self) -> int:
        return len(self._req.cookies)


def environ_request(environ: dict[str, Any]) -> RequestData:
    """Adapt a WSGI request: its method, path, headers, content length and input stream read
    from the environ as werkzeug's request reads them, without building that request; it is
    built only for a query string or cookies to parse. Half the adapter's time on a small body
    went into werkzeug's ``Request.__init__``, which works out a dozen attributes the engine
    never reads. The query and the cookies are parsed only when there are some.
    """
    query_string: str = environ.get("QUERY_STRING", "")
    cookies = "HTTP_COOKIE" in environ
    parsed = WerkzeugRequest(environ, populate_request=False) if query_string or cookies else None
    return RequestData(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        # As werkzeug decodes PATH_INFO (bytes as latin-1, read as UTF-8).
        path="/"
        + (environ.get("PATH_INFO") or "").encode("latin1").decode(errors="replace").lstrip("/"),
        query=parsed.args if parsed is not None and query_string else _NO_QUERY,
        query_string=query_string,
        headers=EnvironHeaders(environ),
        cookies=_LazyCookies(parsed) if parsed is not None and cookies else {},
        content_length=get_content_length(
            environ.get("CONTENT_LENGTH"), environ.get("HTTP_TRANSFER_ENCODING")
        ),
        read_body=get_input_stream(environ).read,
        client_address=environ.get("REMOTE_ADDR") or "",
    )


def to_flask(response: ResponseData) -> Response:
    """Adapt an engine response; a dropped connection closes the socket without an answer."""
    return to_response(response, request.environ)


def to_response(response: ResponseData, environ: dict[str, Any]) -> Response:
    """:func:`to_flask` for a given WSGI environ."""
    if response.drop:
        _drop_connection(environ)
        return Response(b"", 500, headers={"Connection": "close"})
    result = Response(response.body, response.status, headers=response.headers)
    if response.content_type is None:
        result.headers.pop("Content-Type", None)
    else:
        result.headers["Content-Type"] = response.content_type
    return result


class ApiFastPath:
    """WSGI middleware: requests under an API mount go straight to the engine.

    Flask's request context, URL map and dispatch cost about 0.4 ms a request, as much as the
    whole engine on a small body (docs/benchmarks.md). Under an API mount Flask only ever called
    ``serve_api``, so this does the same without it: a werkzeug request in, the engine, a werkzeug
    response out, with the same JSON answers for errors. Other paths go to Flask.
    """

    def __init__(self, flask_wsgi: Any, engine: Engine, services: Services) -> None:
        self.flask_wsgi = flask_wsgi
        self.engine = engine
        self.services = services

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.engine.api_for(environ.get("PATH_INFO") or "/") is None:
            return self.flask_wsgi(environ, start_response)
        data = environ_request(environ)
        large = memory.release_after(data.content_length)
        try:
            if large:  # its objects from glibc, whose pages go back after it (memory.py)
                answer = memory.outside_pymalloc(self.engine.handle, data)
            else:
                answer = self.engine.handle(data)
            if not answer.drop:
                sent = _send(answer, environ, start_response)
                return _ThenRelease(sent) if large and memory.app_releases() else sent
            response = to_response(answer, environ)
        except HTTPException as exc:
            response = http_problem(exc)
        except Exception as exc:
            response = unexpected_problem(exc, data.method, data.path, self.services)
        return response(environ, start_response)


class _ThenRelease(list[bytes]):
    """An answer that hands the memory of a large request back to the system once sent (the
    server calls ``close`` after writing it); under a server that releases after the request
    itself (:func:`memory.server_releases`), the answer is a plain list."""

    def close(self) -> None:
        self.clear()  # the answer's bytes go first
        memory.release()


_STATUS_LINES = {code: f"{code} {reason.upper()}" for code, reason in HTTP_STATUS_CODES.items()}
_SET_BY_SEND = frozenset({"content-type", "content-length"})


def _send(answer: ResponseData, environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answer through WSGI directly: what a werkzeug ``Response`` would send, without building
    one (a quarter of the WSGI layer's time on a small body).

    No body for HEAD, 1xx, 204 and 304; the same status lines as werkzeug's.
    """
    headers = []
    for name, value in answer.headers.items():
        if name.lower() in _SET_BY_SEND:
            continue
        text = str(value)
        if "\n" in text or "\r" in text:
            raise ValueError(f"header {name!r} has a line break in its value")
        headers.append((name, text))
    if answer.content_type is not None:
        headers.append(("Content-Type", answer.content_type))
    status = answer.status
    body = answer.body
    if status < 200 or status in (204, 304):
        body = b""
    else:
        headers.append(("Content-Length", str(len(body))))
    start_response(_STATUS_LINES.get(status) or f"{status} UNKNOWN", headers)
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def _drop_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):  # the client may be gone already
        sock.shutdown(socket.SHUT_RDWR)
