"""A throwaway PostgreSQL server, for the test suite and the benchmark (not for deployments).

:func:`start` runs ``initdb`` into a new temporary folder and starts ``postgres`` on a free
loopback port (and a unix socket in that folder), with durability off (``fsync``,
``synchronous_commit`` and ``full_page_writes``: the data dies with the folder anyway).
:meth:`TempPostgres.stop` stops it and deletes the folder. The server binaries are found in
``MOCKSERVER_PG_BIN``, else Debian's ``/usr/lib/postgresql/<version>/bin`` (the newest), else on
``PATH``.

``initdb`` and ``postgres`` refuse to run as root: under root (a container, CI) both run as the
``postgres`` system user that Debian's ``postgresql`` package creates, and the folder is handed
to that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mockserver.errors import ConfigError

SERVER_USER = "postgres"
"""The unprivileged user the server runs as when this process is root."""

_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "300",  # a few hosts x workers x pool connections, plus the tests' own
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
}


class PostgresUnavailable(ConfigError):
    """No PostgreSQL server binaries here (or no unprivileged user to run them as root)."""


def find_bindir() -> Path:
    """The folder holding ``initdb`` and ``postgres``; :class:`PostgresUnavailable` when none."""
    candidates: list[str] = []
    configured = os.environ.get("MOCKSERVER_PG_BIN")
    if configured:
        candidates.append(configured)
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
    )
    candidates.extend(reversed(debian))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "postgres").is_file():
            return Path(folder)
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, postgres) found: apt-get install postgresql,"
        " or set MOCKSERVER_PG_BIN to the folder that holds them"
    )


@dataclass(frozen=True)
class _RunAs:
    """Whom the server's programs run as: this process's user (all None) or an unprivileged one
    (``Popen``'s ``user``, ``group`` and ``extra_groups``)."""

    uid: int | None = None
    gid: int | None = None
    groups: tuple[int, ...] | None = None

    @classmethod
    def pick(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls()
        try:
            user = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"PostgreSQL refuses to run as root and there is no {SERVER_USER!r} user to run"
                " it as (apt-get install postgresql creates it)"
            ) from None
        return cls(user.pw_uid, user.pw_gid, ())

    def own(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class TempPostgres:
    """A running throwaway server: connect as ``postgres`` (trust authentication) on ``port``."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL of ``database`` over TCP on loopback."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (fast shutdown: open sessions are ended) and delete its folder."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> TempPostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(timeout_s: float = 30.0) -> TempPostgres:
    """Create and start a throwaway server; :class:`PostgresUnavailable` without binaries."""
    bindir = find_bindir()
    run_as = _RunAs.pick()
    folder = Path(tempfile.mkdtemp(prefix="mockserver-pg-"))
    try:
        run_as.own(folder)
        data = folder / "data"
        sockets = folder / "socket"
        sockets.mkdir()
        run_as.own(sockets)
        log_path = folder / "server.log"
        log_path.touch()
        run_as.own(log_path)
        initdb = subprocess.run(
            [
                str(bindir / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            capture_output=True,
            check=False,
            cwd=folder,
            user=run_as.uid,
            group=run_as.gid,
            extra_groups=run_as.groups,
        )
        if initdb.returncode != 0:
            raise PostgresUnavailable(
                f"initdb failed ({initdb.returncode}): {initdb.stderr.decode(errors='replace')}"
            )
        for _attempt in range(5):  # a free port can be taken between the probe and the bind
            server = _launch(bindir, data, sockets, log_path, _free_port(), run_as)
            if _wait_ready(server, timeout_s):
                return server
            with contextlib.suppress(ProcessLookupError):
                server.process.kill()
            server.process.wait()
            if "could not bind" not in server.log_tail() and "in use" not in server.log_tail():
                raise PostgresUnavailable(f"postgres did not start:\n{server.log_tail()}")
        raise PostgresUnavailable(f"postgres found no free port:\n{server.log_tail()}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _launch(
    bindir: Path, data: Path, sockets: Path, log_path: Path, port: int, run_as: _RunAs
) -> TempPostgres:
    settings = [arg for name, value in _SETTINGS.items() for arg in ("-c", f"{name}={value}")]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(sockets),
                *settings,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=data.parent,
            start_new_session=True,  # a Ctrl-C of the test run reaches it through stop() only
            user=run_as.uid,
            group=run_as.gid,
            extra_groups=run_as.groups,
        )
    return TempPostgres(folder=data.parent, port=port, process=process, log_path=log_path)


def _wait_ready(server: TempPostgres, timeout_s: float) -> bool:
    """True once the server accepts connections on its TCP port; False when it exited."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        if (server.socket_dir / f".s.PGSQL.{server.port}").exists():
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                    pass
            except OSError:
                pass
            else:
                if "ready to accept connections" in server.log_tail(50):
                    return True
        time.sleep(0.05)
    return False


__all__ = ["PostgresUnavailable", "TempPostgres", "find_bindir", "start"]
