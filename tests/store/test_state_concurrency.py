"""Races: the same email inserted at once, jobs and deliveries claimed at once, by threads of one
process (every backend) and by processes sharing one store: worker processes on one SQLite file,
or hosts on one PostgreSQL database."""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import pytest

from mockserver.store import Delivery, Job, NewRecord, Scope, State, open_state

from . import customer

SCOPE = Scope("bunce", "sk_test_race")
T0 = 1_700_000_000.0
PROCESSES = 4


def race(workers: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` for each worker in its own thread, all released at the same moment.

    The interpreter switches threads every microsecond meanwhile (instead of every 5 ms), so
    a critical section left unguarded is interrupted and the race shows.
    """
    barrier = threading.Barrier(workers)

    def run(i: int) -> Any:
        barrier.wait()
        return work(i)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(run, range(workers)))
    finally:
        sys.setswitchinterval(interval)


def add_jobs_and_deliveries(state: State, n: int) -> None:
    for i in range(n):
        state.jobs.add(Job(f"job_{i}", "import", "tamio", "acct", {"i": i}, due_at=T0 + i % 7))
        state.deliveries.add(Delivery(f"whdel_{i}", "we_1", {"i": i}, due_at=T0 + i % 5))


def test_threads_racing_on_one_email_create_it_once(state: State) -> None:
    rounds = 40

    def work(i: int) -> list[list[bool]]:
        outcomes = []
        for r in range(rounds):
            batch = [
                customer(i * 1000 + r, f"race{r}@example.com"),
                customer(100_000 + i * 1000 + r),
            ]
            outcomes.append([o.created for o in state.records.insert_batch(SCOPE, batch)])
        return outcomes

    results = race(16, work)

    for r in range(rounds):
        assert sum(thread[r][0] for thread in results) == 1, f"race{r}@example.com"
    assert all(thread[r][1] for thread in results for r in range(rounds))
    assert state.records.count(SCOPE) == rounds + 16 * rounds
    assert all(state.records.find(SCOPE, "email", f"race{r}@example.com") for r in range(rounds))


def test_threads_racing_on_overlapping_batches_create_each_email_once(state: State) -> None:
    emails = [f"shared{n}@example.com" for n in range(100)]

    def work(i: int) -> int:
        order = emails[i % 2 :: 2] + emails[1 - i % 2 :: 2]  # two different orders
        made = 0
        for start in range(0, 100, 20):
            batch = [customer(i * 1000 + n, e) for n, e in enumerate(order[start : start + 20])]
            made += sum(o.created for o in state.records.insert_batch(SCOPE, batch))
        return made

    assert sum(race(8, work)) == 100
    assert state.records.count(SCOPE) == 100
    assert sorted(r.data["email"] for r in state.records.all(SCOPE)) == sorted(emails)


def test_threads_claim_each_job_and_delivery_once(state: State) -> None:
    add_jobs_and_deliveries(state, 200)

    def work(i: int) -> tuple[list[str], list[str]]:
        jobs: list[str] = []
        deliveries: list[str] = []
        while batch := state.jobs.claim_due(T0 + 10, limit=3):
            jobs += [j.id for j in batch]
        while more := state.deliveries.claim_due(T0 + 10, limit=3):
            deliveries += [d.id for d in more]
        return jobs, deliveries

    results = race(8, work)

    jobs = Counter(j for r in results for j in r[0])
    deliveries = Counter(d for r in results for d in r[1])
    assert jobs == Counter(f"job_{i}" for i in range(200))
    assert deliveries == Counter(f"whdel_{i}" for i in range(200))


def test_threads_count_every_hit(state: State) -> None:
    race(8, lambda i: [state.rate_limits.hit("client", 60, T0) for _ in range(500)])
    assert state.rate_limits.hit("client", 60, T0) == 4001


# -- several processes on one store ----------------------------------------------------------
# Each task runs in a spawned process with its own state on the shared SQLite file or PostgreSQL
# database, as a gunicorn worker (or a host) would, and waits for a common start time so that the
# processes really race.


def _wait(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


def _insert_worker(args: tuple[str, int, float]) -> list[list[bool]]:
    target, worker, start_at = args
    state = open_state(target)
    try:
        _wait(start_at)
        outcomes = []
        for round_ in range(20):
            batch = [
                customer(worker * 100_000 + round_ * 10, f"race{round_}@example.com"),
                customer(worker * 100_000 + round_ * 10 + 1),
            ]
            outcomes.append([o.created for o in state.records.insert_batch(SCOPE, batch)])
        return outcomes
    finally:
        state.close()


def _claim_worker(args: tuple[str, int, float]) -> tuple[list[str], list[str], int]:
    target, _, start_at = args
    state = open_state(target)
    try:
        _wait(start_at)
        jobs: list[str] = []
        deliveries: list[str] = []
        while batch := state.jobs.claim_due(T0 + 10, limit=2):
            jobs += [j.id for j in batch]
        while more := state.deliveries.claim_due(T0 + 10, limit=2):
            deliveries += [d.id for d in more]
        last_hit = 0
        for _ in range(25):
            last_hit = state.rate_limits.hit("client", 60, T0)
        return jobs, deliveries, last_hit
    finally:
        state.close()


@pytest.fixture(scope="module")
def processes() -> Iterator[Pool]:
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        yield pool


def _tasks(target: str) -> list[tuple[str, int, float]]:
    start_at = time.time() + 0.5
    return [(target, worker, start_at) for worker in range(PROCESSES)]


@pytest.fixture(params=["sqlite", "postgresql"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """What several processes open as one store: an SQLite file, or a PostgreSQL database (the
    processes then stand for hosts)."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return str(tmp_path / "shared.db")


@pytest.mark.slow
def test_processes_racing_on_one_store_create_each_email_once(
    processes: Pool, shared: str
) -> None:
    open_state(shared).close()  # schema in place (the workers would also create it)

    results = processes.map(_insert_worker, _tasks(shared), chunksize=1)

    for round_ in range(20):
        assert sum(r[round_][0] for r in results) == 1, f"race{round_}@example.com"
    assert all(r[round_][1] for r in results for round_ in range(20))
    state = open_state(shared)
    assert state.records.count(SCOPE) == 20 + 20 * PROCESSES
    assert all(state.records.find(SCOPE, "email", f"race{n}@example.com") for n in range(20))
    seqs = [r.seq for r in state.records.all(SCOPE)]
    assert len(set(seqs)) == len(seqs)
    state.close()


@pytest.mark.slow
def test_processes_claim_each_job_and_delivery_once(processes: Pool, shared: str) -> None:
    state = open_state(shared)
    add_jobs_and_deliveries(state, 150)

    results = processes.map(_claim_worker, _tasks(shared), chunksize=1)

    jobs = Counter(j for r in results for j in r[0])
    deliveries = Counter(d for r in results for d in r[1])
    assert jobs == Counter(f"job_{i}" for i in range(150))
    assert deliveries == Counter(f"whdel_{i}" for i in range(150))
    assert {j.status for j in state.jobs.list()} == {"running"}
    assert max(r[2] for r in results) == 25 * PROCESSES  # hits counted atomically
    assert state.rate_limits.hit("client", 60, T0) == 25 * PROCESSES + 1
    state.close()


def test_a_new_record_is_seen_by_another_connection_at_once(shared: str) -> None:
    writer = open_state(shared)
    reader = open_state(shared)
    try:
        writer.records.insert_batch(SCOPE, [NewRecord("a", {"n": 1}, {"email": "a@example.com"})])
        assert reader.records.get(SCOPE, "a") == {"n": 1}
        taken = NewRecord("b", {}, {"email": "a@example.com"})
        [conflict] = reader.records.insert_batch(SCOPE, [taken])
        assert conflict.conflict == "email"
    finally:
        writer.close()
        reader.close()


def test_an_account_another_process_created_is_checked_not_taken_for_new(shared: str) -> None:
    # The second state has never seen this account: only an account created by the insert itself
    # may skip the lookups of what is already taken.
    first = open_state(shared)
    second = open_state(shared)
    try:
        first.records.insert_batch(SCOPE, [NewRecord("a", {"n": 1}, {"email": "a@example.com"})])

        outcomes = second.records.insert_batch(
            SCOPE,
            [
                NewRecord("b", {}, {"email": "a@example.com"}),
                NewRecord("a", {}, {"email": "other@example.com"}),
                NewRecord("c", {"n": 3}, {"email": "c@example.com"}),
            ],
        )

        assert [o.conflict for o in outcomes] == ["email", "id", None]
        assert first.records.get(SCOPE, "c") == {"n": 3}
    finally:
        first.close()
        second.close()
