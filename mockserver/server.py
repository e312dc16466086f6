"""Running the app: gunicorn for ``mockserver serve``, a thread for the pytest fixture.

``mockserver serve`` runs gunicorn (a production WSGI server) with
:class:`~mockserver.httpworker.BufferingWorker`, gunicorn's threaded worker with every request
read in full by the worker's event loop before a thread runs it: a client that stalls halfway
through its request holds no thread, and is cut off with a 408 when the request takes longer
than ``request_timeout_s``. By default there is one worker per CPU (at most 4,
:func:`~mockserver.config.default_workers`). One worker keeps state in memory; several share an
SQLite state file (a temporary one unless ``--state FILE`` is given), so duplicate detection
and the journal stay consistent whichever worker answers. With ``--state postgresql://...``
every worker of every host shares one PostgreSQL database (docs/deployment.md); its schema is
created or migrated here before the workers start.

With several workers each one listens on its own ``SO_REUSEPORT`` socket (gunicorn's
``reuse_port``), so the kernel spreads new connections over the workers. With one shared
socket, whichever worker woke first accepted: under a load generator's 16 keep-alive
connections one worker held 14-15 of them for the whole run and two workers used one core.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
from dataclasses import replace
from typing import Any

import orjson
from flask import Flask

from mockserver.app import create_app, load_specs, packs_registry
from mockserver.config import Settings, describe_state
from mockserver.errors import ConfigError
from mockserver.openapi.spec import Spec
from mockserver.packs import Registry
from mockserver.requestlog import QueuedLineHandler
from mockserver.services import Services
from mockserver.store import open_state

log = logging.getLogger("mockserver")

# The gunicorn worker class of `serve` (benchmarks/serve_with_worker.py swaps it to compare).
WORKER_CLASS = "mockserver.httpworker.BufferingWorker"


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: Settings) -> None:
    """Log to stderr at ``settings.log_level``; the line per request (``mockserver.requests``,
    off with ``--quiet``) is written by a thread of each worker (:mod:`mockserver.requestlog`)."""
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format=LOG_FORMAT)
    logging.getLogger("mockserver").setLevel(level)
    requests_log = logging.getLogger("mockserver.requests")
    requests_log.setLevel(logging.NOTSET if settings.log_requests else logging.WARNING)
    for handler in [h for h in requests_log.handlers if isinstance(h, QueuedLineHandler)]:
        requests_log.removeHandler(handler)
    requests_log.addHandler(QueuedLineHandler(sys.stderr, logging.Formatter(LOG_FORMAT)))
    requests_log.propagate = False


def _write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's answer to a request it cannot parse (bad request line, header, chunking),
    as problem+json instead of its HTML page: no answer of the mock is ever HTML."""
    from gunicorn import util

    problem = {"type": "about:blank", "title": reason, "status": status_int, "detail": mesg}
    body = orjson.dumps(problem)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def balances_connections(settings: Settings) -> bool:
    """Whether the workers get a listening socket each (``SO_REUSEPORT``).

    Only with several workers, and only on Linux, whose kernel spreads connections over such
    sockets; macOS lets them bind too but hands every connection to one of them. (``--port 0`` is
    resolved to a port first, by :func:`bind_free_port`, so the workers all bind the same one.)
    """
    return (
        settings.worker_count > 1
        and sys.platform.startswith("linux")
        and hasattr(socket, "SO_REUSEPORT")
    )


def bind_free_port(host: str, reuse_port: bool) -> socket.socket:
    """For ``--port 0``: a socket bound to a free port of ``host``, before gunicorn starts, so
    the start-up lines, the control API's ``Host`` check and ``--port-file`` name the real port.

    With ``reuse_port`` (a socket per worker) it is bound with ``SO_REUSEPORT`` and never
    listens: it only holds the port while every worker binds its own socket to it (the kernel
    hands connections to listening sockets only). Otherwise it listens, and gunicorn serves it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, 0))
        if not reuse_port:
            sock.listen(2048)  # gunicorn's default backlog
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}: {exc.strerror or exc}") from exc
    return sock


def write_port_file(path: str, port: int) -> None:
    """Write ``port`` and a newline to ``path`` in one step (a reader never sees half a file)."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".port-", dir=folder)
    with os.fdopen(handle, "w") as out:
        out.write(f"{port}\n")
    os.replace(temporary, path)


def check_port_free(host: str, port: int) -> None:
    """Fail with a clear message when something already listens on ``host:port``.

    With ``SO_REUSEPORT`` the workers' own binds would succeed next to another server of the same
    user that also set it (a second ``mockserver serve`` on the same port), and the two would
    silently share the traffic; a plain bind fails instead. ``SO_REUSEADDR`` (gunicorn sets it too)
    lets a port whose old connections linger in TIME_WAIT pass.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; stop the server that"
                " holds it or pick another --port"
            ) from exc


def worker_app(
    settings: Settings, services: Services | None, specs: list[Spec], registry: Registry
) -> Flask:
    """The app of one gunicorn worker, with everything it loaded frozen for the collector.

    The ~36,000 objects of a loaded app (specs, validators, Flask, werkzeug) live as long as the
    worker; after ``gc.freeze()`` the garbage collector stops walking them in each full
    collection (~7 ms, a stall of every request in flight). In one A/B run it took the p99 of
    500-customer creates from 237 to 142 ms.
    """
    app = create_app(settings, apis=registry, services=services, specs=specs)
    _worker_services.append(app.extensions["mockserver"].services)
    gc.freeze()
    return app


_worker_services: list[Services] = []  # what worker_app built in this (worker) process


def stop_worker(arbiter: Any, worker: Any) -> None:
    """gunicorn's ``worker_exit`` hook, run in a worker process as it exits (SIGTERM, Ctrl-C, a
    restart): the background work under way is finished for up to 3 s, what is left is handed
    back for another worker or the next start, and the state is closed (the WAL of a kept state
    file folded in). The master removes a temporary state only once every worker has exited
    (:func:`serve_forever`)."""
    while _worker_services:
        services = _worker_services.pop()
        try:
            services.stop_background(timeout_s=3.0)
            services.state.close()
        except Exception:
            log.exception("stopping the background work of worker %s failed", os.getpid())


def wait_for_workers(arbiter: Any) -> None:
    """gunicorn's ``on_exit`` hook, run in the master as it halts: its graceful stop has reaped
    every worker that exited within ``graceful_timeout`` and SIGKILLed the others; wait until
    those are gone too, so nothing they hold outlives the master."""
    for pid in list(arbiter.WORKERS):
        with contextlib.suppress(ChildProcessError):  # reaped already
            os.waitpid(pid, 0)


def clean_up_state(settings: Settings, temp_dir: str | None) -> None:
    """In the master, once every worker has exited: delete the temporary state folder, or fold
    the WAL of a kept SQLite state file into it."""
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)
    elif settings.state and not settings.state_url and os.path.exists(settings.state):
        from mockserver.store.sqlite import checkpoint_file

        try:
            checkpoint_file(settings.state)
        except Exception:
            log.warning("could not checkpoint %s at stop", settings.state, exc_info=True)


def serve_forever(settings: Settings, port_file: str | None = None) -> None:
    """Serve until interrupted (the ``mockserver serve`` command).

    ``port_file``: once the port is bound, write its number there (``--port-file``), which is
    how a script or :func:`mockserver.testing.serve` learns the port ``--port 0`` picked.
    """
    from gunicorn import util
    from gunicorn.app.base import BaseApplication

    settings = replace(settings, workers=settings.worker_count)
    configure_logging(settings)
    # Specs load here, before gunicorn starts: a broken one stops start-up with its SpecError
    # (file#pointer: problem) and no traceback, and the workers inherit them when they fork.
    registry = packs_registry(None)  # the bundled and installed API packs
    specs = load_specs(settings, registry)
    util.write_error = _write_json_error  # workers fork from this process and inherit it
    from mockserver.httpworker import BufferingWorker, ReadLimits

    # Workers fork from this process and inherit the limits.
    BufferingWorker.limits = ReadLimits(
        request_timeout=settings.request_timeout_s, max_body=settings.max_body_bytes
    )
    reuse_port = balances_connections(settings)
    held: socket.socket | None = None  # the free port picked for --port 0
    if settings.port == 0:
        held = bind_free_port(settings.host, reuse_port)
        settings = replace(settings, port=held.getsockname()[1])
    elif reuse_port:
        check_port_free(settings.host, settings.port)
    address = (
        f"[{settings.host}]:{settings.port}"
        if ":" in settings.host
        else f"{settings.host}:{settings.port}"
    )
    if held is not None and not reuse_port:
        address = f"fd://{held.detach()}"  # gunicorn takes over (and closes) the listening socket
    temp_dir = None
    if settings.state_url:
        # Connect, create or migrate the schema here, before any worker starts: a wrong URL or
        # an unreachable server stops start-up with one message instead of failing each worker.
        open_state(settings.state, journal_limit=settings.journal_limit, pool_size=1).close()
    elif settings.worker_count > 1 and not settings.state:
        temp_dir = tempfile.mkdtemp(prefix="mockserver-")
        settings = replace(
            settings,
            state=os.path.join(temp_dir, "state.sqlite3"),
            state_durable=False,  # deleted at exit: fsyncs would protect nothing
        )
    if settings.dataset:
        # Load once, before the workers start, so N workers don't each try.
        services = Services.build(replace(settings, background=False), registry)
        services.expect_items(specs)  # its customers are checked as the API would check them
        services.load_dataset(settings.dataset)
        if settings.state is None:
            preloaded: Services | None = services
        else:
            services.state.close()
            preloaded = None
    else:
        preloaded = None

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": address,
                "workers": settings.worker_count,
                "threads": settings.threads,
                "worker_class": WORKER_CLASS,
                "reuse_port": reuse_port,
                "keepalive": 30,
                "timeout": 120,
                # Time for requests under way, then for stop_worker (up to 3 s).
                "graceful_timeout": 10,
                "loglevel": settings.log_level,
                "accesslog": None,
                "limit_request_line": 8190,
                # Header names with underscores (an OpenAPI apiKey header named ``api_key``)
                # reach the app; gunicorn drops them by default because ``api_key`` and
                # ``api-key`` share one WSGI name, which matters only behind a proxy that
                # filters one spelling.
                "header_map": "dangerous",
                # gunicorn >= 27 opens a control socket at one fixed path per user; several
                # mocks (parallel test runs) would fight over it, and the mock does not need it.
                "control_socket_disable": True,
                "worker_exit": stop_worker,
                "on_exit": wait_for_workers,
            }
            if port_file:
                # In the master, once gunicorn holds its listening socket (or, with a socket
                # per worker, once the port is known: the workers bind as they boot).
                options["when_ready"] = lambda arbiter: write_port_file(port_file, settings.port)
            if settings.tls_cert:  # resolved by mockserver.tls before the server starts
                options["certfile"] = settings.tls_cert
                options["keyfile"] = settings.tls_key
            for key, value in options.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return worker_app(settings, preloaded, specs, registry)

    log.info(
        "mockserver on %s://%s:%d (%d worker(s), state: %s)",
        settings.scheme,
        settings.host,
        settings.port,
        settings.worker_count,
        describe_state(settings.state),
    )
    for line in mount_lines(specs, settings):
        log.info("%s", line)
    master = os.getpid()
    try:
        Application().run()
    finally:
        # gunicorn forks each worker inside run(), and a worker leaves by raising SystemExit,
        # which unwinds through this frame too: only the master cleans up, once run() is over
        # and every worker has exited (gunicorn reaps them before it returns; on_exit waits
        # for any it had to SIGKILL).
        if os.getpid() == master:
            if held is not None and reuse_port:
                held.close()
            clean_up_state(settings, temp_dir)


def mount_lines(specs: list[Spec], settings: Settings) -> list[str]:
    """One line per mounted API: its name, URL, title, operations and file."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    base = f"http://{host}:{settings.port}"
    lines = [
        f"  {spec.name}: {base}{spec.mount} ({spec.title} {spec.version}, "
        f"{len(spec.operations)} operations, {spec.file})"
        for spec in specs
    ]
    return [*lines, f"  control API: {base}/__mock (GET /__mock/openapi.json)"]


class ThreadedServer:
    """The app on a werkzeug server in a daemon thread (the pytest fixture uses this).

    ``port=0`` picks a free port; :attr:`port` tells which one after :meth:`start`. With
    ``ssl_context`` it serves HTTPS; each connection's TLS handshake runs in that connection's
    own thread (bounded by :attr:`HANDSHAKE_TIMEOUT_S`), so a client that connects and stays
    silent does not hold up the others.
    """

    HANDSHAKE_TIMEOUT_S = 10.0

    def __init__(
        self,
        app: Flask,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        # Imported here: werkzeug.serving (http.server, socketserver) would slow `serve` down.
        from werkzeug.serving import WSGIRequestHandler, make_server

        handshake_timeout = self.HANDSHAKE_TIMEOUT_S

        class QuietHandler(WSGIRequestHandler):
            """No werkzeug access-log line per request: the journal records every request."""

            def handle(self) -> None:
                if isinstance(self.connection, ssl.SSLSocket):
                    try:
                        self.connection.settimeout(handshake_timeout)
                        self.connection.do_handshake()
                        self.connection.settimeout(self.timeout)
                    except (OSError, ssl.SSLError):  # an untrusting or silent client: its loss
                        return
                super().handle()

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass

            def make_environ(self) -> dict[str, Any]:
                """werkzeug's environ, with the header names that have underscores, which it
                drops (an OpenAPI apiKey header named ``api_key``)."""
                environ: dict[str, Any] = super().make_environ()
                for name, value in self.headers.items():
                    if "_" in name:
                        key = "HTTP_" + name.upper().replace("-", "_")
                        previous = environ.get(key)
                        environ[key] = value if previous is None else f"{previous},{value}"
                return environ

        self.app = app
        self.host = host
        self._server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        if ssl_context is not None:
            # Wrapped here rather than by make_server(ssl_context=...), which handshakes inside
            # accept(), in the one thread that accepts every connection.
            self._server.socket = ssl_context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self._server.ssl_context = ssl_context  # werkzeug: wsgi.url_scheme is https
        self.scheme = "https" if ssl_context is not None else "http"
        self.port = self._server.server_port
        # A short poll interval makes stop() quick (shutdown waits for one poll).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="mockserver",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> ThreadedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
