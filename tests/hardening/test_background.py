"""A webhook receiver that trickles its answer never stalls imports, and a reset during its
delivery leaves the server with a running background worker (``mockserver serve``, real HTTP)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from mockserver.testing import ServeProcess

from .support import AUTH, TAMIO, problems_in_log, start_server, tamio_customer


class TricklingReceiver:
    """Accepts webhook POSTs and answers one byte every ``every_s`` seconds, for ever: each read
    of the sender gets a byte well within any per-read timeout."""

    def __init__(self, every_s: float = 0.3) -> None:
        self.every_s = every_s
        self.connections = 0
        self.stopped = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" * 100:
                if self.stopped.wait(self.every_s):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def trickler() -> Iterator[TricklingReceiver]:
    receiver = TricklingReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServeProcess]:
    monkeypatch.setenv("MOCKSERVER_WEBHOOK_TIMEOUT_S", "1.0")  # each attempt: 1 s in all
    live = start_server("--job-delay", "0", workers=1)
    try:
        yield live
    finally:
        live.stop()


def imported(server: ServeProcess, account: str, email: str, within_s: float) -> float:
    """Import one Tamio customer into ``account``; seconds until it is listed (or fail)."""
    headers = {"Authorization": f"Bearer {account}"}
    started = time.monotonic()
    answer = requests.post(
        f"{server.url}{TAMIO}/customers/bulk/create",
        json={"customers": [tamio_customer("Ann", email)]},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    while time.monotonic() - started < within_s:
        listed = requests.get(
            f"{server.url}{TAMIO}/customers/list?page=1&per_page=10", headers=headers, timeout=10
        ).json()
        if listed["total_results"] == 1:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"the import into {account} did not finish within {within_s} s")


def test_a_trickling_receiver_neither_stalls_imports_nor_survives_a_reset(
    server: ServeProcess, trickler: TricklingReceiver
) -> None:
    control = f"{server.url}/__mock"
    registered = requests.post(
        f"{control}/webhooks/endpoints",
        json={"api": "tamio", "url": trickler.url, "account": AUTH["tamio"]["Authorization"][7:]},
        timeout=5,
    )
    assert registered.status_code == 201, registered.text
    imported(server, AUTH["tamio"]["Authorization"][7:], "slow@example.com", within_s=5)
    deadline = time.monotonic() + 5
    while trickler.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert trickler.connections >= 1, "the delivery to the trickling receiver never started"

    # An unrelated account's import is not held up by the delivery under way (which trickles
    # for minutes: with one thread for both, the import waited for all of it).
    imported(server, "tok_unrelated", "fast@example.com", within_s=4)

    # Each attempt ends at its 1 s deadline, whatever the receiver still trickles.
    time.sleep(2.5)
    attempts = requests.get(f"{control}/webhooks/deliveries", timeout=5).json()["deliveries"]
    [delivery] = attempts
    assert delivery["attempts"], "no attempt ended although each has a 1 s deadline"
    assert all(a["duration_ms"] < 1900 for a in delivery["attempts"]), delivery["attempts"]
    assert all("timed out" in (a["error"] or "") for a in delivery["attempts"])

    # A reset while a delivery trickles returns at once and the worker keeps running.
    started = time.monotonic()
    assert requests.post(f"{control}/reset", timeout=10).status_code == 200
    assert time.monotonic() - started < 2
    imported(server, "tok_after_reset", "later@example.com", within_s=4)
    imported(server, "tok_after_reset_2", "later2@example.com", within_s=4)
    assert problems_in_log(server) == [], server.log()[-3000:]
