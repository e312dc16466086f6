"""``mockserver serve`` as a subprocess, for tests and benchmarks: :func:`serve`.

The server binds a free port itself (``--port 0``) and writes it to ``--port-file``; :func:`serve`
reads it back, waits until ``GET /__mock/health`` answers, and hands back a
:class:`ServeProcess` whose output (stdout and stderr, in one file) the test can read. The
server runs in a process group of its own (the gunicorn master and its workers), which
:meth:`ServeProcess.stop` ends: SIGTERM, then SIGKILL after a timeout, until no process of the
group is left. Import it from :mod:`mockserver.testing`.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

from mockserver.errors import MockServerError

COMMAND: tuple[str, ...] = (sys.executable, "-m", "mockserver")
"""How :func:`serve` runs mockserver: this interpreter's installed package."""

_POLL_S = 0.005  # a start-up takes ~0.4 s: the wait should not add much to it


class StartError(MockServerError):
    """``mockserver serve`` exited, or did not answer its health check in time; the message
    ends with the server's output."""


class ServeProcess:
    """A running ``mockserver serve`` (see :func:`serve`); a context manager that stops it."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        host: str,
        scheme: str,
        log_path: Path,
        ca_bundle: str | None,
        stop_timeout: float,
        workdir: Path | None,
    ) -> None:
        self.process = process
        """The ``mockserver serve`` process: the gunicorn master, leader of its process group."""
        self.host = host
        self.scheme = scheme
        self.port = 0
        """The port the server bound (read back from it once it started)."""
        self.log_path = log_path
        """The file holding the server's output (stdout and stderr)."""
        self.ca_bundle = ca_bundle
        self.stop_timeout = stop_timeout
        self.apis: dict[str, str] = {}
        """Each mounted API's name and mount path, as ``/__mock/health`` lists them."""
        self.before_stop: list[Callable[[], object]] = []
        """What :meth:`stop` calls first, e.g. the ``close`` of a client session whose idle
        keep-alive connection would otherwise hold up gunicorn's graceful stop for seconds."""
        self.ready_after_s = 0.0
        """Seconds from the start of the process to its first healthy answer."""
        self._workdir = workdir  # the port file, and the log unless one was given; gone at stop
        self._final_log: str | None = None

    # -- where it is ---------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """The master's process id, which is also the id of the server's process group."""
        return self.process.pid

    @property
    def url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def base_url(self, api: str) -> str:
        """The base URL a client of ``api`` should use: :attr:`url` and the API's mount."""
        if api not in self.apis:
            raise KeyError(f"no API {api!r}; mounted: {', '.join(self.apis) or 'none'}")
        return self.url + self.apis[api]

    # -- what it said --------------------------------------------------------------------------
    def log(self) -> str:
        """Everything the server wrote so far (stdout and stderr, in order), also after stop."""
        if self._final_log is not None:
            return self._final_log
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, chars: int = 4000) -> str:
        """The last ``chars`` characters of :meth:`log` (for assertion messages)."""
        return self.log()[-chars:]

    # -- the control API ----------------------------------------------------------------------
    def control(
        self, method: str, path: str, body: Any = None, timeout: float = 10.0
    ) -> tuple[int, Any]:
        """One request to the control API (``path`` under ``/__mock``, e.g. ``/reset``): the
        status and the parsed JSON answer (None when it has no body)."""
        status, answer = self._request(method, "/__mock" + path, body, timeout)
        return status, orjson.loads(answer) if answer else None

    def reset(self) -> None:
        """Forget all state, journal, faults, jobs and webhooks (``POST /__mock/reset``)."""
        status, answer = self.control("POST", "/reset", {})
        if status != 200:
            raise AssertionError(f"POST /__mock/reset answered {status}: {answer}")

    def requests(self, **filters: str | int) -> list[dict[str, Any]]:
        """Journal entries, oldest first (``GET /__mock/requests``, filtered by ``api``,
        ``operation``, ``status`` ...)."""
        query = f"?{urlencode(filters)}" if filters else ""
        status, answer = self.control("GET", "/requests" + query)
        if status != 200:
            raise AssertionError(f"GET /__mock/requests answered {status}: {answer}")
        entries: list[dict[str, Any]] = answer["requests"]
        return entries

    def health(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """The body of ``GET /__mock/health``, or None when the server does not answer 200."""
        try:
            status, body = self._request("GET", "/__mock/health", None, timeout)
        except (OSError, http.client.HTTPException):
            return None
        if status != 200:
            return None
        parsed: dict[str, Any] = orjson.loads(body)
        return parsed

    def _request(self, method: str, path: str, body: Any, timeout: float) -> tuple[int, bytes]:
        """One request on a connection of its own, closed at once (an idle keep-alive
        connection would hold up gunicorn's graceful stop)."""
        if self.scheme == "https":
            context = ssl.create_default_context(cafile=self.ca_bundle)
            if self.ca_bundle is None:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        headers = {"Connection": "close"}
        payload = None
        if body is not None:
            payload = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=payload, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    def healthy(self) -> bool:
        """Whether ``GET /__mock/health`` answers 200 with status ``ok``."""
        body = self.health()
        return body is not None and body.get("status") == "ok"

    # -- stopping ------------------------------------------------------------------------------
    def stop(self, timeout: float | None = None, sig: int = signal.SIGTERM) -> int | None:
        """Send ``sig`` (SIGTERM: gunicorn's graceful stop) to the whole process group, SIGKILL
        it after ``timeout`` seconds (default :attr:`stop_timeout`), and return once no process
        of the group is left. Returns the master's exit code (negative: killed by that signal)."""
        timeout = self.stop_timeout if timeout is None else timeout
        while self.before_stop:
            self.before_stop.pop(0)()
        if self.process.poll() is None:
            self._signal_group(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout)
        self._reap_group(timeout)
        self._release()
        return self.process.returncode

    def kill(self) -> int | None:
        """SIGKILL the whole process group at once (``kill -9`` of a crash) and wait for it."""
        return self.stop(sig=signal.SIGKILL)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exception: object) -> None:
        self.stop()

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def _reap_group(self, timeout: float) -> None:
        """Wait until no process of the group runs (a worker outlives a SIGKILLed master for a
        moment); SIGKILL what is still there after ``timeout``."""
        deadline = time.monotonic() + timeout
        while group_alive(self.process.pid):
            if time.monotonic() > deadline:
                self._signal_group(signal.SIGKILL)
                deadline = time.monotonic() + timeout
            time.sleep(_POLL_S)

    def _release(self) -> None:
        if self._final_log is None:
            self._final_log = self.log_path.read_text(encoding="utf-8", errors="replace")
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


def group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs. A zombie does not count: it holds no
    socket and no file, and where nobody reaps orphans it would never go."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if fields[0] != "Z" and int(fields[2]) == pgid:  # state, ppid, pgrp
            return True
    return False


def serve(
    *args: str,
    host: str = "127.0.0.1",
    port: int = 0,
    env: Mapping[str, str | None] | None = None,
    log: str | os.PathLike[str] | None = None,
    timeout: float = 30.0,
    stop_timeout: float = 20.0,
    ca_bundle: str | os.PathLike[str] | None = None,
    command: Sequence[str] = COMMAND,
    cwd: str | os.PathLike[str] | None = None,
) -> ServeProcess:
    """Start ``mockserver serve ARGS`` and return once ``GET /__mock/health`` answers.

    It binds ``host`` on a free port (``port=0``; pass one to serve on that port, as a restart
    on the same address does), which :attr:`ServeProcess.port` gives. ``env`` adds environment
    variables (None removes one); ``log`` is the file to write the output to (default: a
    temporary one, removed at stop; :meth:`ServeProcess.log` reads it either way). ``args``
    with ``--tls`` or ``--tls-cert`` serve HTTPS: pass the CA the health check should trust as
    ``ca_bundle`` (without it the health check does not verify the certificate). ``command`` is
    how mockserver is run (default: this interpreter's ``-m mockserver``), from the folder
    ``cwd`` (default: this one).

    Raises :class:`StartError`, with the server's output, when it exits or is not healthy
    within ``timeout`` seconds (the process group is stopped first). Use it as a context
    manager, or call :meth:`ServeProcess.stop`::

        with serve("--workers", "2", "--quiet") as server:
            requests.get(server.url + "/__mock/requests")
    """
    workdir = Path(tempfile.mkdtemp(prefix="mockserver-serve-"))
    port_file = workdir / "port"
    log_path = Path(log) if log is not None else workdir / "serve.log"
    https = any(a == "--tls" or a.startswith("--tls-cert") for a in args)
    full = [*command, "serve", "--host", host, "--port", str(port), "--port-file", str(port_file)]
    environment: dict[str, str] | None = None
    if env is not None:
        merged = {**os.environ, **env}
        environment = {name: value for name, value in merged.items() if value is not None}
    started = time.perf_counter()
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [*full, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends the workers too
            env=environment,
            cwd=cwd,
        )
    server = ServeProcess(
        process,
        host,
        "https" if https else "http",
        log_path,
        str(ca_bundle) if ca_bundle is not None else None,
        stop_timeout,
        workdir,
    )
    try:
        _wait_until_healthy(server, port_file, timeout)
    except BaseException:
        server.stop(timeout=5)
        raise
    server.ready_after_s = time.perf_counter() - started
    return server


def _wait_until_healthy(server: ServeProcess, port_file: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise StartError(
                f"mockserver serve exited with code {server.process.returncode} before it "
                f"answered; its output:\n{server.log()}"
            )
        if not server.port and port_file.exists():
            server.port = int(port_file.read_text())
        if server.port:
            health = server.health(timeout=max(0.5, min(5.0, deadline - time.monotonic())))
            if health is not None:
                server.apis = {api["name"]: api["mount"] for api in health.get("apis", [])}
                return
        if time.monotonic() > deadline:
            where = f"on {server.url}" if server.port else "(it bound no port)"
            raise StartError(
                f"mockserver serve did not answer GET /__mock/health within {timeout} s "
                f"{where}; its output:\n{server.log()}"
            )
        time.sleep(_POLL_S)
