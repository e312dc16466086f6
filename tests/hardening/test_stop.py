"""A clean stop is clean: ``mockserver serve`` stopped with SIGTERM after some work (Bunce
creates, a Tamio import whose job ran, its webhook attempt under way) exits with 0 and logs
no error, whichever state it keeps.

The state of ``serve`` with several workers and no ``--state`` is a temporary SQLite file in a
temporary folder: it is removed only once every worker has exited (each worker still finishes
its background work and closes the state as it stops). With ``--state FILE`` the file keeps
everything and its WAL is folded in at the stop.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockserver import testing
from mockserver.testing import ServeProcess

from .support import BUNCE, TAMIO, bunce_customer, start_server, tamio_customer

BUNCE_KEY = "sk_test_stop"
TAMIO_TOKEN = "tok_stop"
HOLD_S = 1.5  # the receiver answers the webhook after this long: the attempt is under way


@pytest.fixture
def slow_receiver() -> Iterator[testing.Receiver]:
    """A webhook endpoint that answers 200 after ``HOLD_S`` seconds."""

    def answer(request: testing.ReceivedRequest) -> testing.Reply:
        time.sleep(HOLD_S)
        return testing.Reply(200)

    receiver = testing.Receiver(answer, path="/hook").start()
    yield receiver
    receiver.stop()


def do_work(server: ServeProcess, receiver: testing.Receiver) -> None:
    """Bunce creates, and a Tamio import of one customer whose job has run and whose webhook
    attempt is under way (the receiver holds it)."""
    registered = requests.post(
        f"{server.url}/__mock/webhooks/endpoints",
        json={"api": "tamio", "url": receiver.url},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    with requests.Session() as session:
        for n in range(6):
            created = session.post(
                f"{server.url}{BUNCE}/customers/bulk",
                json={"customers": [bunce_customer(f"c{n}", f"b{n}@example.com")]},
                headers={"X-Authorization": BUNCE_KEY, "Connection": "close"},
                timeout=10,
            )
            assert created.status_code == 200, created.text
        imported = session.post(
            f"{server.url}{TAMIO}/customers/bulk/create",
            json={"customers": [tamio_customer("Ann", "ann@example.com")]},
            headers={"Authorization": f"Bearer {TAMIO_TOKEN}", "Connection": "close"},
            timeout=10,
        )
        assert imported.status_code == 200, imported.text
    receiver.wait_for(1, timeout=10, what="webhook deliveries")
    deadline = time.monotonic() + 10
    while True:  # the job sent its delivery; it is done once it recorded its outcome
        [job] = requests.get(f"{server.url}/__mock/jobs", timeout=10).json()["jobs"]
        if job["status"] == "done" or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert job["status"] == "done", job


def running_workers(master: int) -> list[int]:
    """The worker processes of ``master`` that still run (a zombie has exited)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if fields[0] != "Z" and int(fields[1]) == master:  # state, ppid
            pids.append(int(stat.parent.name))
    return pids


def stop_watching(
    server: ServeProcess, folder: Path | None, sig: int = signal.SIGTERM
) -> tuple[int | None, list[int]]:
    """Send ``sig`` to the server's process group (SIGTERM: as :meth:`ServeProcess.stop` does;
    SIGINT: as Ctrl-C in a terminal does) and watch it stop: its exit code, and the workers that
    were still running once ``folder`` was gone."""
    assert running_workers(server.pid), "no worker process found"
    outlived: list[int] = []
    os.killpg(server.pid, sig)
    deadline = time.monotonic() + 30
    while server.process.poll() is None and time.monotonic() < deadline:
        workers = running_workers(server.pid)
        if folder is not None and not folder.exists():
            outlived.extend(pid for pid in workers if pid not in outlived)
        time.sleep(0.005)
    return server.stop(timeout=5), outlived


def work_then_stop(
    server: ServeProcess,
    receiver: testing.Receiver,
    folder: Path | None = None,
    sig: int = signal.SIGTERM,
) -> list[int]:
    """:func:`do_work`, then :func:`stop_watching`: the server must exit with 0 and log no
    error; the workers that outlived ``folder``."""
    try:
        do_work(server, receiver)
        code, outlived = stop_watching(server, folder, sig)
    finally:
        server.stop()
    assert code == 0, server.log_tail()
    assert errors_in_log(server) == [], server.log_tail()
    return outlived


def errors_in_log(server: ServeProcess) -> list[str]:
    return [
        line
        for line in server.log().splitlines()
        if re.search("traceback|error|exception", line, re.IGNORECASE)
    ]


def state_of(server: ServeProcess) -> str:
    """Where the server keeps its state, from its start-up line."""
    found = re.search(r"\((\d+) worker\(s\), state: (.*)\)$", server.log(), re.MULTILINE)
    assert found, server.log()
    return found.group(2)


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C (SIGINT to the group)"]
)
def test_the_default_server_stops_cleanly_and_removes_its_temporary_state_last(
    slow_receiver: testing.Receiver, sig: int
) -> None:
    server = start_server("--job-delay", "0", workers=None, quiet=False)  # one worker per CPU
    try:
        if "(1 worker(s)" in server.log():
            pytest.skip("one CPU: the default server runs one worker, with the state in memory")
        folder = Path(state_of(server)).parent
        assert folder.is_dir() and folder.name.startswith("mockserver-"), folder
        outlived = work_then_stop(server, slow_receiver, folder, sig)
    finally:
        server.stop()
    assert outlived == [], f"the temporary state was removed while workers {outlived} still ran"
    assert not folder.exists()


def test_a_kept_state_file_is_folded_in_at_a_clean_stop_and_loses_nothing(
    tmp_path: Path, slow_receiver: testing.Receiver
) -> None:
    state = tmp_path / "state.sqlite3"
    server = start_server("--state", str(state), "--job-delay", "0", quiet=False)
    work_then_stop(server, slow_receiver)
    wal = Path(f"{state}-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "the WAL was not folded in at the stop"

    again = start_server("--state", str(state))
    try:
        customers = requests.get(
            f"{again.url}/__mock/customers?api=bunce&account={BUNCE_KEY}", timeout=10
        ).json()["customers"]
        [job] = requests.get(f"{again.url}/__mock/jobs", timeout=10).json()["jobs"]
        [delivery] = requests.get(f"{again.url}/__mock/webhooks/deliveries", timeout=10).json()[
            "deliveries"
        ]
    finally:
        again.stop()
    assert sorted(c["email"] for c in customers) == [f"b{n}@example.com" for n in range(6)]
    assert job["status"] == "done"
    # The attempt under way at the stop was finished and recorded before the worker exited.
    assert delivery["status"] == "delivered", delivery


def test_one_worker_with_its_state_in_memory_stops_cleanly(
    slow_receiver: testing.Receiver,
) -> None:
    server = start_server("--job-delay", "0", workers=1, quiet=False)
    work_then_stop(server, slow_receiver)
    assert state_of(server) == "memory", server.log()
