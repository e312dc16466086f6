"""``mockserver serve --tls`` as a subprocess, with its local CA in a folder of the test session."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class TlsServer:
    """A running ``mockserver serve`` over HTTPS; ``ca`` is the bundle its clients trust."""

    process: subprocess.Popen[bytes]
    port: int
    ca: Path | None
    log: Path

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the group start_tls started
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def start_tls(
    tls_dir: Path, log: Path, *args: str, verify: str | None = None, workers: int = 1
) -> TlsServer:
    """``mockserver serve`` with ``args`` (``--tls`` or ``--tls-cert/--tls-key``) on a free port,
    the local CA kept in ``tls_dir``; returns once ``/__mock/health`` answers over HTTPS."""
    env = {**os.environ, "MOCKSERVER_TLS_DIR": str(tls_dir)}
    for _attempt in range(3):
        port = free_port()
        command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port)]
        command += ["--workers", str(workers), "--quiet", "--validate-responses", "strict", *args]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        ca = tls_dir / "ca" / "ca.pem" if "--tls" in args else None
        server = TlsServer(process, port, ca, log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                trust = verify or str(ca)
                requests.get(f"{server.url}/__mock/health", verify=trust, timeout=2)
                return server
            except (requests.ConnectionError, OSError):
                time.sleep(0.1)
        server.stop()
        if "Address already in use" not in server.log_text():
            raise AssertionError(f"mockserver serve did not start:\n{server.log_text()[-3000:]}")
    raise AssertionError("no free port after three tries")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    """``mockserver serve --tls --workers 2``: the local CA, two worker processes."""
    folder = tmp_path_factory.mktemp("tls")
    server = start_tls(folder / "data", folder / "serve.log", "--tls", workers=2)
    yield server
    server.stop()
