"""Racing writes of one email (bulk creates, updates) take it exactly once, in one process and
across processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver.testing import MockServer, ServeProcess, WebhookReceiver, serve

from .helpers import bunce_customer, bunce_of, tamio_customer, tamio_of, wait_until

RACERS = 16


def open_connections(
    root: str, count: int, processes: int
) -> tuple[list[requests.Session], list[int]]:
    """``count`` sessions, each holding one open keep-alive connection, spread over at least
    ``processes`` server processes, each holding at least half its fair share
    (``/__mock/health`` tells which process holds a connection)."""
    sessions: list[requests.Session] = []
    pids: list[int] = []
    least = max(1, count // processes // 2)

    def spread() -> bool:
        counts = Counter(pids)
        return len(counts) >= processes and min(counts.values()) >= least

    deadline = time.monotonic() + 15
    while len(sessions) < count or not spread():
        assert time.monotonic() < deadline, f"connections reached only processes {set(pids)}"
        if len(sessions) == count:  # all on too few processes: reconnect one of the busiest
            busiest = pids.index(Counter(pids).most_common(1)[0][0])
            sessions.pop(busiest).close()
            pids.pop(busiest)
        session = requests.Session()
        pids.append(session.get(f"{root}/__mock/health", timeout=10).json()["pid"])
        sessions.append(session)
    return sessions, pids


def race_bulk_creates(root: str, key: str, email: str, processes: int = 1) -> Counter[int]:
    """``RACERS`` threads, released together by a barrier, each bulk-create ``email``
    (each with its own customer_id, so only the email can collide). Returns the status counts.

    Every racer's connection is open before the barrier, so the requests really arrive together,
    and the connections are spread over ``processes`` server processes.
    """
    sessions, _ = open_connections(root, RACERS, processes)
    barrier = threading.Barrier(RACERS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def racer(index: int, session: requests.Session) -> None:
        try:
            body = {"customers": [bunce_customer(f"racer-{index}", email)]}
            barrier.wait(timeout=10)
            response = session.post(
                f"{root}/bunce/v1/customers/bulk",
                json=body,
                headers={"X-Authorization": key},
                timeout=30,
            )
            statuses.append(response.status_code)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            session.close()

    threads = [threading.Thread(target=racer, args=(i, s)) for i, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return Counter(statuses)


def test_racing_requests_create_an_email_once_in_the_threaded_server(
    mockserver: MockServer,
) -> None:
    statuses = race_bulk_creates(mockserver.url, "sk_test_race", "race@example.com")

    assert statuses == {200: 1, 409: RACERS - 1}
    assert [c["email"] for c in mockserver.customers("bunce", "sk_test_race")] == [
        "race@example.com"
    ]


@pytest.fixture(scope="module")
def two_workers() -> Iterator[ServeProcess]:
    """``mockserver serve --workers 2``: gunicorn with two processes sharing an SQLite state."""
    with serve("--workers", "2", "--quiet", "--log-level", "warning") as served:
        yield served


@pytest.mark.slow
def test_racing_requests_create_an_email_once_across_gunicorn_workers(
    two_workers: ServeProcess,
) -> None:
    # The racers' connections are spread over both gunicorn worker processes.
    statuses = race_bulk_creates(two_workers.url, "sk_test_race", "race@example.com", processes=2)

    assert statuses == {200: 1, 409: RACERS - 1}, two_workers.log_tail()
    assert bunce_of(two_workers, "sk_test_race").emails() == ["race@example.com"]
    health = requests.get(f"{two_workers.url}/__mock/health", timeout=5).json()
    assert health["store"] == "SQLiteState"


@pytest.mark.slow
def test_racing_updates_give_an_email_to_one_customer_across_gunicorn_workers(
    two_workers: ServeProcess,
) -> None:
    # Bunce's PUT /customers/{customer_id}: each racer moves its own customer to one email; the
    # uniqueness check is made again inside the write, in whichever process answers.
    key = "sk_test_update_race"
    bunce = bunce_of(two_workers, key)
    created = bunce.bulk(*(bunce_customer(f"u{i}", f"u{i}@example.com") for i in range(RACERS)))
    assert created.status_code == 200, created.text
    sessions, _ = open_connections(two_workers.url, RACERS, processes=2)
    barrier = threading.Barrier(RACERS)

    def racer(index: int) -> int:
        barrier.wait(timeout=10)
        with sessions[index] as session:
            return session.put(
                f"{two_workers.url}/bunce/v1/customers/u{index}",
                json={"email": "taken@example.com"},
                headers={"X-Authorization": key},
                timeout=30,
            ).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = Counter(pool.map(racer, range(RACERS)))

    assert statuses == {200: 1, 409: RACERS - 1}, two_workers.log_tail()
    assert bunce.emails().count("taken@example.com") == 1


@pytest.mark.slow
def test_an_import_runs_once_and_each_event_is_delivered_once_across_workers(
    two_workers: ServeProcess,
) -> None:
    control = f"{two_workers.url}/__mock"
    receiver = WebhookReceiver("whsec_two_workers", signature_header="Tamio-Signature").start()
    try:
        requests.post(
            f"{control}/webhooks/endpoints",
            timeout=5,
            json={
                "api": "tamio",
                "url": receiver.url,
                "secret": receiver.secret,
                "account": "tok_two_workers",
            },
        )
        tamio = tamio_of(two_workers, "tok_two_workers")
        emails = [f"person{i}@example.com" for i in range(5)]

        assert tamio.bulk_create(*(tamio_customer("P", e) for e in emails)).json() == {
            "status": 200
        }

        def all_delivered() -> list[dict[str, Any]]:
            found = requests.get(f"{control}/webhooks/deliveries", timeout=5).json()["deliveries"]
            done = len(found) == len(emails) and all(d["status"] == "delivered" for d in found)
            return found if done else []

        delivered = wait_until(all_delivered, timeout=10, what="every delivery")
        assert all(len(d["attempts"]) == 1 for d in delivered)  # none was sent twice
        assert sorted(e.event["data"]["customer"]["email"] for e in receiver.received) == emails
        assert all(e.verified for e in receiver.received)
        (job,) = requests.get(f"{control}/jobs", params={"api": "tamio"}, timeout=5).json()["jobs"]
        assert (job["status"], job["result"]["created"]) == ("done", 5)
        assert tamio.list().json()["total_results"] == 5
    finally:
        receiver.stop()


@pytest.mark.slow
def test_a_dropped_connection_is_a_connection_error_under_gunicorn(
    two_workers: ServeProcess,
) -> None:
    control = f"{two_workers.url}/__mock"
    bunce = bunce_of(two_workers, "sk_test_drop")
    requests.post(f"{control}/faults", json={"api": "bunce", "drop": True}, timeout=5)

    with pytest.raises(requests.exceptions.ConnectionError):
        bunce.bulk(bunce_customer("1", "ann@example.com"))

    assert bunce.emails() == []


def listening_sockets(port: int) -> int:
    """How many TCP sockets listen on ``port`` (Linux: from /proc/net/tcp and tcp6)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                count += state == "0A" and int(local.rsplit(":", 1)[1], 16) == port
    return count


def pids_of_simultaneous_connections(root: str, count: int) -> Counter[int]:
    """Open ``count`` connections at once, then ask each which worker process holds it."""
    host, port = root.removeprefix("http://").rsplit(":", 1)
    socks = [socket.create_connection((host, int(port)), timeout=10) for _ in range(count)]
    pids: Counter[int] = Counter()
    try:
        for sock in socks:
            sock.sendall(f"GET /__mock/health HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        for sock in socks:
            with sock.makefile("rb") as answer:
                length = 0
                while (line := answer.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                pids[json.loads(answer.read(length))["pid"]] += 1
    finally:
        for sock in socks:
            sock.close()
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net/tcp")
def test_gunicorn_workers_each_listen_and_get_a_share_of_the_connections(
    two_workers: ServeProcess,
) -> None:
    # Each worker listens on its own SO_REUSEPORT socket and the kernel spreads connections by
    # their addresses. With one shared socket the worker that woke first took nearly all of a
    # load generator's connections (14-15 of 16 under wrk), and two workers used one core.
    port = two_workers.port
    # Health answers once one worker listens; the other may still be booting.
    wait_until(lambda: listening_sockets(port) == 2, timeout=10, what="both workers listening")
    assert listening_sockets(port) == 2

    pids = pids_of_simultaneous_connections(two_workers.url, 32)

    assert len(pids) == 2, pids
    assert min(pids.values()) >= 4, pids  # binomial(32, 1/2) gives 3 or fewer once in 10^6


@pytest.mark.slow
def test_the_journal_lists_requests_in_the_order_they_were_answered_across_workers(
    two_workers: ServeProcess,
) -> None:
    # Each worker commits its journal entries in a thread of its own, a few ms after answering:
    # one worker may commit an older entry after the other committed a newer one. The journal
    # still lists them as they were answered, and a read sees every entry answered before it.
    sessions, pids = open_connections(two_workers.url, 2, processes=2)
    assert len(set(pids)) == 2
    [latest] = requests.get(f"{two_workers.url}/__mock/requests?limit=1", timeout=10).json()[
        "requests"
    ] or [{"seq": 0}]
    sent = []
    try:
        for n in range(80):
            path = f"/bunce/v1/customers/order-{n}"
            answer = sessions[n % 2].get(
                two_workers.url + path, headers={"X-Authorization": "sk_test_order"}, timeout=10
            )
            assert answer.status_code == 404, answer.text
            sent.append(path)
            if n % 20 == 19:  # a reader right after an answer sees it, as the newest entry
                [newest] = requests.get(
                    f"{two_workers.url}/__mock/requests?limit=1", timeout=10
                ).json()["requests"]
                assert newest["path"] == path
    finally:
        for session in sessions:
            session.close()
    journal = requests.get(
        f"{two_workers.url}/__mock/requests?since={latest['seq']}", timeout=10
    ).json()["requests"]

    assert [e["path"] for e in journal if "/order-" in e["path"]] == sent


def test_serve_with_several_workers_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "mockserver", "serve", "--workers", "2", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr
