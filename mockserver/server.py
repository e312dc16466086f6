"""Running the app: gunicorn for ``mockserver serve``, a thread for the pytest fixture.

``mockserver serve`` runs gunicorn (a production WSGI server) with threaded workers. One worker
keeps state in memory; ``--workers N`` (N > 1) shares an SQLite state file between the processes
(a temporary one unless ``--state FILE`` is given), so duplicate detection and the journal stay
consistent whichever worker answers.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import replace
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from mockserver.app import create_app
from mockserver.config import Settings
from mockserver.services import Services

log = logging.getLogger("mockserver")


def configure_logging(settings: Settings) -> None:
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mockserver").setLevel(level)
    if not settings.log_requests:
        logging.getLogger("mockserver.requests").setLevel(logging.WARNING)


def serve_forever(settings: Settings) -> None:
    """Serve until interrupted (the ``mockserver serve`` command)."""
    from gunicorn.app.base import BaseApplication

    configure_logging(settings)
    temp_dir = None
    if settings.workers > 1 and not settings.state_path:
        temp_dir = tempfile.mkdtemp(prefix="mockserver-")
        settings = replace(settings, state_path=os.path.join(temp_dir, "state.sqlite3"))
    if settings.dataset:
        # Load once, before the workers start, so N workers don't each try.
        services = Services.build(replace(settings, background=False))
        services.load_dataset(settings.dataset)
        if settings.state_path is None:
            preloaded: Services | None = services
        else:
            services.state.close()
            preloaded = None
    else:
        preloaded = None

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"[{settings.host}]:{settings.port}" if ":" in settings.host else f"{settings.host}:{settings.port}",
                "workers": settings.workers,
                "threads": settings.threads,
                "worker_class": "gthread",
                "keepalive": 30,
                "timeout": 120,
                "graceful_timeout": 5,
                "loglevel": settings.log_level,
                "accesslog": None,
                "limit_request_line": 8190,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return create_app(settings, services=preloaded)

    log.info("mockserver on http://%s:%d (%d worker(s), state: %s)", settings.host, settings.port,
             settings.workers, settings.state_path or "memory")
    try:
        Application().run()
    finally:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)


class ThreadedServer:
    """The app on a werkzeug server in a daemon thread (the pytest fixture uses this).

    ``port=0`` picks a free port; :attr:`port` tells which one after :meth:`start`.
    """

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="mockserver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ThreadedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
