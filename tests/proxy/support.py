"""``mockserver serve`` as a subprocess on a free port, for the tests over real HTTP."""

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """A running ``mockserver serve``; ``log`` holds its output."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def base_url(self, api: str) -> str:
        return self.url + {"tamio": "/tamio/v2", "bunce": "/bunce/v1"}[api]

    def reset(self) -> None:
        assert requests.post(self.url + "/__mock/reset", timeout=10).status_code == 200

    def journal(self) -> list[dict]:
        return requests.get(self.url + "/__mock/requests", timeout=10).json()["requests"]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(folder: Path, *args: str, timeout: float = 30) -> Served:
    """Start ``mockserver serve --port <free> ARGS`` and wait until it answers."""
    port = free_port()
    log = folder / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [MOCKSERVER, "serve", "--port", str(port), *args], stdout=sink, stderr=subprocess.STDOUT
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(served.url + "/__mock/health", timeout=5).status_code == 200:
                return served
        except requests.ConnectionError:
            if process.poll() is not None:
                raise AssertionError(f"mockserver serve exited: {log.read_text()}") from None
            time.sleep(0.02)
    served.stop()
    raise AssertionError(f"mockserver serve did not answer within {timeout} s")
