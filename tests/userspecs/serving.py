"""``mockserver serve --spec ...`` as a subprocess for the user-spec suites (real HTTP)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

MOCKSERVER = str(Path(sys.executable).with_name("mockserver"))
SPECS = Path(__file__).parent / "specs"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """A running ``mockserver serve`` and its combined output."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(tmp: Path, *args: str, timeout: float = 60) -> Served:
    """Start ``mockserver serve --no-bundled --quiet ARGS`` on a free port; wait for health."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [MOCKSERVER, "serve", "--port", str(port), "--no-bundled", "--seed", "7", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {log.read_text()}")
        try:
            if requests.get(url + "/__mock/health", timeout=2).status_code == 200:
                return Served(url, process, log)
        except requests.RequestException:  # not listening yet, or busy starting
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"no answer from {url} within {timeout} s")


def run_serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``mockserver serve ARGS`` expecting it to stop by itself (a refused spec)."""
    return subprocess.run(
        [MOCKSERVER, "serve", "--port", str(free_port()), "--no-bundled", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
