"""Several hosts, one state: ``mockserver serve --state postgresql://...`` run as three separate
servers on three ports against one database, as hosts behind a load balancer would be
(docs/deployment.md). Over real HTTP, each test spreads its requests over the hosts and checks
the guarantees one machine gives: racing creates of one email settle exactly once, a reset on
one host is a barrier for all (journal included), each import job and webhook delivery is
claimed by one host, a host killed mid-import has its job taken over once its lease ends, and
faults and flags armed on one host are seen by the next request on any other."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import psycopg
import pytest
import requests
from shared import bunce_customer

from mockserver.testing import ServeProcess

BUNCE = "/bunce/v1"
TAMIO = "/tamio/v2"
BUNCE_KEY = "sk_test_hosts"
TAMIO_TOKEN = "tok_hosts"
LEASE_S = 2.0

pytestmark = pytest.mark.slow

Launch = Callable[..., ServeProcess]


def start_host(
    launch: Launch, url: str, *, workers: int = 1, job_delay: str = "0", **env: str
) -> ServeProcess:
    """One host: ``mockserver serve`` on its own port, its state in the database at ``url``;
    the jobs it schedules are due ``job_delay`` seconds later."""
    settings = {"MOCKSERVER_LEASE_S": str(LEASE_S), "MOCKSERVER_WEBHOOK_TIMEOUT_S": "1", **env}
    return launch(
        "--state", url,
        "--workers", str(workers),
        "--threads", "4",
        "--job-delay", job_delay,
        "--quiet",
        "--log-level", "warning",
        "--validate-responses", "strict",
        env=settings,
    )


@pytest.fixture
def hosts(launch: Launch, postgres_url: str) -> Iterator[list[ServeProcess]]:
    """Three hosts on one database (the first with two workers of its own), started together
    (they create the schema at once) and stopped together."""
    workers = [2, 1, 1]
    with ThreadPoolExecutor(3) as pool:
        started = list(pool.map(lambda n: start_host(launch, postgres_url, workers=n), workers))
    yield started
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda host: host.stop(), started))


def create_bunce(host: ServeProcess, customers: list[dict[str, Any]]) -> requests.Response:
    return requests.post(
        f"{host.url}{BUNCE}/customers/bulk",
        json={"customers": customers},
        headers={"X-Authorization": BUNCE_KEY},
        timeout=30,
    )


def import_tamio(host: ServeProcess, emails: list[str]) -> requests.Response:
    return requests.post(
        f"{host.url}{TAMIO}/customers/bulk/create",
        json={
            "customers": [
                {"name": "Ann", "last_name": "Lee", "country": "de", "email": e} for e in emails
            ]
        },
        headers={"Authorization": f"Bearer {TAMIO_TOKEN}"},
        timeout=30,
    )


def control(host: ServeProcess, method: str, path: str, body: Any = None) -> Any:
    answer = requests.request(method, f"{host.url}/__mock/{path}", json=body, timeout=30)
    assert answer.status_code in (200, 201), f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


def stored_emails(host: ServeProcess, api: str, account: str) -> list[str]:
    found = control(host, "GET", f"customers?api={api}&account={account}")["customers"]
    return [c["email"] for c in found]


class Receiver:
    """A webhook receiver that counts each event id it is sent (and answers 200)."""

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                event = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.events[event["event_id"]] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def settled(host: ServeProcess, jobs_expected: int, within_s: float) -> tuple[list[Any], list[Any]]:
    """Jobs and deliveries once ``jobs_expected`` jobs are done and every delivery delivered."""
    deadline = time.monotonic() + within_s
    while True:
        jobs = control(host, "GET", "jobs?api=tamio")["jobs"]
        deliveries = control(host, "GET", "webhooks/deliveries")["deliveries"]
        done = len(jobs) == jobs_expected and all(j["status"] == "done" for j in jobs)
        if done and all(d["status"] == "delivered" for d in deliveries):
            return jobs, deliveries
        if time.monotonic() > deadline:
            stuck = [(j["id"], j["status"]) for j in jobs if j["status"] != "done"]
            stuck += [(d["id"], d["status"]) for d in deliveries if d["status"] != "delivered"]
            raise AssertionError(f"not settled after {within_s} s ({len(jobs)} jobs): {stuck[:10]}")
        time.sleep(0.1)


# -- duplicates ----------------------------------------------------------------------------------
def test_racing_creates_of_one_email_across_hosts_settle_exactly_once(
    hosts: list[ServeProcess],
) -> None:
    racers = 3 * len(hosts)
    for round_ in range(4):
        email = f"race{round_}@example.com"
        start = threading.Barrier(racers)

        def create(n: int, email: str = email, start: threading.Barrier = start) -> int:
            host = hosts[n % len(hosts)]
            customer = bunce_customer(f"cus_{email}_{n}", email)
            start.wait()
            return create_bunce(host, [customer]).status_code

        with ThreadPoolExecutor(racers) as pool:
            statuses = Counter(pool.map(create, range(racers)))

        # One create wins; every other is the documented 409 ("already taken"), on every host.
        assert statuses == {200: 1, 409: racers - 1}, (round_, statuses)
        for host in hosts:
            assert stored_emails(host, "bunce", BUNCE_KEY).count(email) == 1


# -- reset ---------------------------------------------------------------------------------------
def test_a_reset_on_one_host_is_a_barrier_for_every_host_journal_included(
    hosts: list[ServeProcess],
) -> None:
    first, second, third = hosts
    for n, host in enumerate(hosts):
        assert create_bunce(host, [bunce_customer(f"cus_before_{n}", f"b{n}@example.com")]).ok
    journal = control(second, "GET", "requests")["requests"]
    assert len([e for e in journal if e.get("api") == "bunce"]) == 3  # every host's entry

    # A burst of creates on the first host, and at once a reset on the third.
    with ThreadPoolExecutor(4) as pool:
        burst = list(
            pool.map(
                lambda n: create_bunce(first, [bunce_customer(f"cus_b{n}", f"burst{n}@ex.com")]),
                range(8),
            )
        )
    assert all(a.status_code == 200 for a in burst)
    control(third, "POST", "reset", {})

    for host in hosts:
        assert stored_emails(host, "bunce", BUNCE_KEY) == []
        assert control(host, "GET", "requests")["requests"] == []
    # The emails are free again, on any host, and the journal starts over on every host.
    assert create_bunce(second, [bunce_customer("cus_after", "b0@example.com")]).status_code == 200
    for host in hosts:
        entries = control(host, "GET", "requests")["requests"]
        assert [(e["operation_id"], e["status"]) for e in entries] == [
            ("createCustomersBulk", 200)
        ]


# -- claims --------------------------------------------------------------------------------------
def test_each_import_job_and_delivery_is_claimed_by_one_host(
    hosts: list[ServeProcess], receiver: Receiver
) -> None:
    control(hosts[0], "POST", "webhooks/endpoints", {"api": "tamio", "url": receiver.url})
    imports = [[f"imp{n}.{i}@example.com" for i in range(3)] for n in range(12)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(lambda n: import_tamio(hosts[n % len(hosts)], imports[n]), range(12))
        )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if not a.ok]

    jobs, deliveries = settled(hosts[1], jobs_expected=len(imports), within_s=60)

    # Each import ran once: its customers stored once, no re-run saw its own customers.
    assert all(j["result"]["failed"] == [] for j in jobs)
    emails = stored_emails(hosts[2], "tamio", TAMIO_TOKEN)
    assert sorted(emails) == sorted(e for batch in imports for e in batch)
    # One delivery per customer, each sent once by one host, and one notification per job.
    assert len(deliveries) == len(emails)
    assert set(receiver.events) == {d["event"]["event_id"] for d in deliveries}
    assert set(receiver.events.values()) == {1}
    notifications = control(hosts[0], "GET", f"notifications?api=tamio&account={TAMIO_TOKEN}")
    assert sorted(n["job_id"] for n in notifications["notifications"]) == sorted(
        j["id"] for j in jobs
    )


def test_a_host_killed_mid_import_has_its_job_taken_over_after_the_lease(
    launch: Launch, postgres_url: str, receiver: Receiver
) -> None:
    # The first host runs the background work; the second only answers HTTP. The import is due
    # a second after it is accepted: the worker host's insert, which waits below holding the
    # write turn of every host, must not start before the front host has journalled the
    # import's answer (a write too), or that answer waits as long as the import does.
    worker = start_host(launch, postgres_url)
    front = start_host(launch, postgres_url, job_delay="1", MOCKSERVER_BACKGROUND="false")
    control(front, "POST", "webhooks/endpoints", {"api": "tamio", "url": receiver.url})
    emails = [f"killed{i}@example.com" for i in range(5)]

    # Hold the import midway: an open transaction of the test holds the row the import's insert
    # needs (the account's scope), so the worker host claims the job and then waits.
    with psycopg.connect(postgres_url) as blocker:
        blocker.execute(
            "INSERT INTO mockserver.scopes (api, account) VALUES ('tamio', %s)", (TAMIO_TOKEN,)
        )
        assert import_tamio(front, emails).status_code == 200
        deadline = time.monotonic() + 20
        while True:
            jobs = control(front, "GET", "jobs?api=tamio")["jobs"]
            if jobs and jobs[0]["status"] == "running":
                break
            assert time.monotonic() < deadline, f"the job was not claimed: {jobs}"
            time.sleep(0.05)
        claimed = jobs[0]
        worker.kill()  # SIGKILL of the host's whole process group, mid-import
        blocker.rollback()

    assert stored_emails(front, "tamio", TAMIO_TOKEN) == []  # nothing of the import committed
    taker = start_host(launch, postgres_url)
    [job], deliveries = settled(taker, jobs_expected=1, within_s=30)

    # Taken over once the dead host's lease ended, and run to the end exactly once.
    assert job["id"] == claimed["id"]
    assert job["finished_at"] >= claimed["lease_until"]
    assert job["result"]["failed"] == []
    assert sorted(stored_emails(front, "tamio", TAMIO_TOKEN)) == sorted(emails)
    assert len(deliveries) == len(emails) and set(receiver.events.values()) == {1}
    notifications = control(front, "GET", f"notifications?api=tamio&account={TAMIO_TOKEN}")
    assert [n["job_id"] for n in notifications["notifications"]] == [job["id"]]


# -- faults and flags ----------------------------------------------------------------------------
def test_faults_and_flags_armed_on_one_host_are_seen_by_the_next_request_on_any_other(
    hosts: list[ServeProcess],
) -> None:
    first, second, third = hosts
    control(
        first,
        "POST",
        "faults",
        {"api": "bunce", "operation_id": "createCustomersBulk", "status": 503, "count": 2},
    )
    statuses = [
        create_bunce(host, [bunce_customer(f"cus_f{n}", f"f{n}@example.com")]).status_code
        for n, host in enumerate((second, third, second))
    ]
    assert statuses == [503, 503, 200]  # two uses, on two other hosts, then gone everywhere
    assert control(first, "GET", "faults")["faults"] == []

    control(third, "PUT", "rate-limits", {"api": "bunce", "enabled": True})
    assert [rate_limited(host) for host in hosts] == [True, True, True]
    control(second, "PUT", "rate-limits", {"api": "bunce", "enabled": False})
    assert [rate_limited(host) for host in hosts] == [False, False, False]


def rate_limited(host: ServeProcess) -> bool:
    """Whether Bunce's rate limit is on, as this host reads the switch."""
    limits = control(host, "GET", "rate-limits")["rate_limits"]
    return bool({r["api"]: r["enabled"] for r in limits}["bunce"])
