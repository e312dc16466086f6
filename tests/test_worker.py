"""BackgroundWorker: the real thread runs jobs and sends webhooks, survives errors, stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockserver import testing
from mockserver.jobs import JobRunner
from mockserver.store import JSON, Job, State
from mockserver.webhooks import (
    DEFAULT_SIGNATURE_HEADER,
    SignatureError,
    WebhookDispatcher,
    verify_signature,
)
from mockserver.worker import BackgroundWorker

SECRET = "whsec_worker_test"


class Receiver:
    """A webhook endpoint on 127.0.0.1 recording (signature problem or None, body) per POST."""

    def __init__(self) -> None:
        self.received: list[tuple[str | None, bytes]] = []
        self.got_one = threading.Event()
        self.server = testing.Receiver(self._answer, path="/hook").start()
        self.url = self.server.url

    def _answer(self, request: testing.ReceivedRequest) -> testing.Reply:
        try:
            verify_signature(SECRET, request.body, request.header(DEFAULT_SIGNATURE_HEADER) or "")
            problem = None
        except SignatureError as exc:
            problem = exc.reason
        self.received.append((problem, request.body))
        self.got_one.set()
        return testing.Reply(204)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    with endpoint.server:  # stopped after the test
        yield endpoint


Handlers = dict[str, Callable[[Job], JSON]]


@pytest.fixture
def make_worker(state: State) -> Iterator[Callable[..., BackgroundWorker]]:
    started: list[BackgroundWorker] = []

    def make(handlers: Handlers, *, poll_interval_s: float = 0.05) -> BackgroundWorker:
        runner = JobRunner(state, handlers)
        dispatcher = WebhookDispatcher(state, backoff_base_s=0.01, backoff_cap_s=0.05)
        worker = BackgroundWorker(runner, dispatcher, poll_interval_s=poll_interval_s)
        started.append(worker)
        return worker

    yield make
    for worker in started:
        assert worker.stop(timeout=5)


def wait_for(condition: Callable[[], bool], timeout: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def import_handler(dispatcher_of: Callable[[], WebhookDispatcher]) -> Callable[[Job], JSON]:
    def handler(job: Job) -> JSON:
        for customer in job.payload["customers"]:
            dispatcher_of().emit(job.api, job.account, "customer.created", {"customer": customer})
        return {"created": len(job.payload["customers"])}

    return handler


def test_a_job_and_its_webhook_are_processed_within_a_second(
    state: State, receiver: Receiver, make_worker: Callable[..., BackgroundWorker]
) -> None:
    worker: BackgroundWorker
    worker = make_worker({"import": import_handler(lambda: worker.dispatcher)})
    worker.dispatcher.register("tamio", receiver.url, secret=SECRET)
    worker.start()
    assert worker.running

    started = time.monotonic()
    job = worker.job_runner.schedule(
        "import", "tamio", "acct", {"customers": [{"id": "c1"}]}, delay_s=0
    )

    assert receiver.got_one.wait(1.0), "no webhook within 1 s"
    assert wait_for(lambda: [d.status for d in state.deliveries.list()] == ["delivered"])
    assert time.monotonic() - started < 1.0
    [(problem, body)] = receiver.received
    assert problem is None
    assert b'"customer.created"' in body and b'"c1"' in body
    [stored] = state.jobs.list()
    assert (stored.id, stored.status, stored.result) == (job.id, "done", {"created": 1})
    assert worker.errors == []


def test_scheduling_wakes_a_sleeping_worker(
    state: State, make_worker: Callable[..., BackgroundWorker]
) -> None:
    ran = threading.Event()

    def handler(job: Job) -> JSON:
        ran.set()
        return {}

    worker = make_worker({"k": handler}, poll_interval_s=30.0)  # it would sleep 30 s unwoken
    worker.start()
    time.sleep(0.05)  # let it go to sleep

    worker.job_runner.schedule("k", "tamio", "a", {}, delay_s=0)
    assert ran.wait(1.0)

    ran.clear()
    started = time.monotonic()
    worker.job_runner.schedule("k", "tamio", "a", {}, delay_s=0.2)
    assert ran.wait(1.0)  # slept until the job's due time, not the poll interval
    assert 0.15 <= time.monotonic() - started < 1.0


def test_stop_joins_the_threads_cleanly_and_is_idempotent(
    state: State, make_worker: Callable[..., BackgroundWorker]
) -> None:
    worker = make_worker({}, poll_interval_s=30.0)
    assert worker.stop() is True  # never started

    def threads() -> list[threading.Thread]:
        # Other workers may be running (the pytest plugin's session-scoped mock has some).
        return [t for t in threading.enumerate() if t.name.startswith("mockserver-worker-")]

    before = threads()
    worker.start()
    worker.start()  # no second set
    mine = [t for t in threads() if t not in before]
    assert sorted(t.name for t in mine) == [
        "mockserver-worker-deliveries",
        "mockserver-worker-jobs",
        "mockserver-worker-leases",
    ]
    assert all(t.daemon and t.is_alive() for t in mine)

    started = time.monotonic()
    assert worker.stop(timeout=2) is True
    assert time.monotonic() - started < 0.5  # woken, not waiting out the 30 s poll
    assert not any(t.is_alive() for t in mine) and not worker.running
    assert worker.stop() is True

    worker.start()  # can be restarted
    assert worker.running


def test_a_handler_exception_is_captured_and_the_loop_continues(
    state: State, make_worker: Callable[..., BackgroundWorker]
) -> None:
    def boom(job: Job) -> JSON:
        raise ValueError("bad payload")

    worker = make_worker({"boom": boom, "ok": lambda job: {"ok": True}})
    worker.start()
    runner = worker.job_runner

    bad = runner.schedule("boom", "tamio", "a", {}, delay_s=0)
    assert wait_for(lambda: len(worker.errors) == 1)
    good = runner.schedule("ok", "tamio", "a", {}, delay_s=0)
    assert wait_for(lambda: [j.id for j in state.jobs.list(status="done")] == [good.id])

    [failed] = state.jobs.list(status="failed")
    assert failed.id == bad.id
    assert failed.result == {"error": "ValueError: bad payload"}
    assert worker.running
    with pytest.raises(ValueError, match="bad payload"):
        worker.raise_errors()
    assert worker.errors == []
    worker.raise_errors()  # nothing left: no-op


def test_an_exception_in_the_loop_is_logged_kept_and_survived(
    state: State,
    make_worker: Callable[..., BackgroundWorker],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = make_worker({"ok": lambda job: {}}, poll_interval_s=0.01)
    runner = worker.job_runner
    real_run_due = runner.run_due
    calls = {"n": 0}

    def flaky(now: float | None = None, **options: Any) -> list[Job]:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OSError("disk hiccup")
        return real_run_due(now, **options)

    monkeypatch.setattr(runner, "run_due", flaky)
    with caplog.at_level("ERROR", logger="mockserver.worker"):
        worker.start()
        job = runner.schedule("ok", "tamio", "a", {}, delay_s=0)
        assert wait_for(lambda: [j.id for j in state.jobs.list(status="done")] == [job.id])

    assert [str(e) for e in worker.errors] == ["disk hiccup", "disk hiccup"]
    assert any(
        r.name == "mockserver.worker" and "running due jobs failed" in r.getMessage()
        for r in caplog.records
    )
    assert worker.running


def test_retries_happen_in_the_background(
    state: State, make_worker: Callable[..., BackgroundWorker]
) -> None:
    fails = {"left": 2}
    got = threading.Event()

    def answer(request: testing.ReceivedRequest) -> testing.Reply:
        code = 500 if fails["left"] > 0 else 200
        fails["left"] -= 1
        if code == 200:
            got.set()
        return testing.Reply(code)

    with testing.Receiver(answer) as endpoint:
        worker = make_worker({})
        worker.dispatcher.register("tamio", endpoint.url)
        worker.start()
        worker.dispatcher.emit("tamio", "a", "customer.created", {})
        assert got.wait(1.0)
        assert wait_for(lambda: [d.status for d in state.deliveries.list()] == ["delivered"])
        [delivery] = state.deliveries.list()
        assert [a.status for a in delivery.attempts] == [500, 500, 200]


def test_poll_interval_must_be_positive(state: State) -> None:
    with pytest.raises(ValueError, match="poll_interval_s"):
        BackgroundWorker(JobRunner(state, {}), WebhookDispatcher(state), poll_interval_s=0)
