"""Crashes lose nothing that was acknowledged: ``mockserver serve --workers 2 --state FILE`` has a
worker killed, then is stopped with SIGTERM, then killed whole (``kill -9`` of the process group),
each time in the middle of a stream of Bunce creates and Tamio imports with a webhook endpoint
registered; after each restart on the same state every acknowledged customer, import and
delivery is found exactly once."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver import testing
from mockserver.testing import ServeProcess

from .support import BUNCE, TAMIO, bunce_customer, start_server, tamio_customer

BUNCE_KEY = "sk_test_crash"
TAMIO_TOKEN = "tok_crash"


class Receiver:
    """A webhook receiver that answers 200 and counts every event id it is sent."""

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()
        self.emails: dict[str, str] = {}  # event id -> the created customer's email
        self.lock = threading.Lock()
        self.server = testing.Receiver(self._answer, path="/hook").start()
        self.url = self.server.url

    def _answer(self, request: testing.ReceivedRequest) -> testing.Reply:
        event = request.json()
        with self.lock:
            self.events[event["event_id"]] += 1
            self.emails[event["event_id"]] = event["data"]["customer"]["email"]
        return testing.Reply(200)

    def close(self) -> None:
        self.server.stop()


@dataclass
class Stream:
    """Two clients, one creating Bunce customers and one importing Tamio customers, that note
    what the server acknowledged (a 200) and keep going through connection errors."""

    url: str = ""
    acked_bunce: list[str] = field(default_factory=list)
    acked_imports: list[list[str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    n: int = 0

    def start(self, url: str) -> None:
        self.url = url
        self.stop.clear()
        self.threads = [
            threading.Thread(target=self._loop, args=(self._bunce,), daemon=True),
            threading.Thread(target=self._loop, args=(self._tamio,), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(15)

    def _loop(self, send: Any) -> None:
        with requests.Session() as session:
            while not self.stop.is_set():
                self.n += 1
                try:
                    send(session, self.n)
                except requests.RequestException:
                    time.sleep(0.02)  # the server is going down or restarting

    def _bunce(self, session: requests.Session, n: int) -> None:
        emails = [f"b{n}.{i}@example.com" for i in range(2)]
        answer = session.post(
            f"{self.url}{BUNCE}/customers/bulk",
            json={"customers": [bunce_customer(f"c{n}_{i}", e) for i, e in enumerate(emails)]},
            headers={"X-Authorization": BUNCE_KEY},
            timeout=5,
        )
        if answer.status_code == 200:
            self.acked_bunce.extend(emails)

    def _tamio(self, session: requests.Session, n: int) -> None:
        emails = [f"t{n}.{i}@example.com" for i in range(2)]
        answer = session.post(
            f"{self.url}{TAMIO}/customers/bulk/create",
            json={"customers": [tamio_customer("Ann", e) for e in emails]},
            headers={"Authorization": f"Bearer {TAMIO_TOKEN}"},
            timeout=5,
        )
        if answer.status_code == 200:
            self.acked_imports.append(emails)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


def serve(state: Path) -> ServeProcess:
    return start_server("--state", str(state), "--job-delay", "0")


def control(server: ServeProcess, path: str) -> Any:
    answer = requests.get(f"{server.url}/__mock/{path}", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def settled(server: ServeProcess, within_s: float) -> tuple[list[Any], list[Any]]:
    """Jobs and deliveries once every job is done and every delivery delivered."""
    deadline = time.monotonic() + within_s
    while True:
        jobs = control(server, "jobs?api=tamio")["jobs"]
        deliveries = control(server, "webhooks/deliveries")["deliveries"]
        if all(j["status"] == "done" for j in jobs) and all(
            d["status"] == "delivered" for d in deliveries
        ):
            return jobs, deliveries
        if time.monotonic() > deadline:
            stuck = [(j["id"], j["status"]) for j in jobs if j["status"] != "done"]
            stuck += [(d["id"], d["status"]) for d in deliveries if d["status"] != "delivered"]
            raise AssertionError(f"still not finished after {within_s} s: {stuck[:10]}")
        time.sleep(0.1)


def crash_and_restart(server: ServeProcess, state: Path, stream: Stream, how: str) -> ServeProcess:
    """Stream for a moment, crash the server ``how`` mid-stream, restart it on the same state."""
    stream.start(server.url)
    time.sleep(1.0)
    if how == "kill one worker":
        pid = control(server, "health")["pid"]
        os.kill(pid, signal.SIGKILL)  # gunicorn starts another worker in its place
        time.sleep(1.0)
        stream.finish()
        return server
    if how == "SIGTERM":
        assert server.stop(timeout=20) == 0, server.log_tail()  # stopped without a SIGKILL
    else:
        server.kill()  # SIGKILL to the whole process group
    stream.finish()
    if how == "SIGTERM":
        wal = Path(f"{state}-wal")
        assert not wal.exists() or wal.stat().st_size == 0, "the WAL was not emptied at stop"
    return serve(state)


def test_acknowledged_work_survives_a_killed_worker_a_stop_and_a_crash(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Short leases: the claims of a killed process come back after 2 s instead of 30.
    monkeypatch.setenv("MOCKSERVER_LEASE_S", "2")
    monkeypatch.setenv("MOCKSERVER_WEBHOOK_TIMEOUT_S", "1")
    state = tmp_path / "state.sqlite3"
    server = serve(state)
    stream = Stream()
    try:
        registered = requests.post(
            f"{server.url}/__mock/webhooks/endpoints",
            json={"api": "tamio", "url": receiver.url},
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
        for how in ("kill one worker", "SIGTERM", "kill -9 of the process group"):
            server = crash_and_restart(server, state, stream, how)
        jobs, deliveries = settled(server, within_s=20)
        bunce = [
            c["email"]
            for c in control(server, f"customers?api=bunce&account={BUNCE_KEY}")["customers"]
        ]
        tamio = [
            c["email"]
            for c in control(server, f"customers?api=tamio&account={TAMIO_TOKEN}")["customers"]
        ]
    finally:
        stream.finish()
        server.stop()

    assert len(stream.acked_bunce) > 20 and len(stream.acked_imports) > 10, "too little traffic"
    # Every acknowledged Bunce customer is stored, and nothing twice.
    assert set(stream.acked_bunce) <= set(bunce)
    assert len(bunce) == len(set(bunce))
    # Every acknowledged import ran to the end exactly once, with all its customers.
    imports = Counter(tuple(c["email"] for c in j["payload"]["customers"]) for j in jobs)
    for emails in stream.acked_imports:
        assert imports[tuple(emails)] == 1, f"import of {emails}: {imports[tuple(emails)]} jobs"
    assert all(j["result"]["failed"] == [] for j in jobs), "a re-run saw its own customers"
    assert set(e for emails in stream.acked_imports for e in emails) <= set(tamio)
    assert len(tamio) == len(set(tamio))
    # One delivery per imported customer, delivered; the receiver got each event, and got an
    # event again only when a crash cut its attempt short (never under another event id): at
    # most one per sender thread (4) of each process killed (3: one worker, then the two of
    # the group) whose answer the dead process could not record.
    events = [d["event"] for d in deliveries]
    assert sorted(e["data"]["customer"]["email"] for e in events) == sorted(tamio)
    assert set(receiver.events) == {e["event_id"] for e in events}
    repeated = [event for event, count in receiver.events.items() if count > 1]
    assert len(repeated) <= 4 * 3, f"{len(repeated)} events were sent more than once"
