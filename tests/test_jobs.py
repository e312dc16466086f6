"""JobRunner: scheduling, due times (fake clock), flush, failures, single claim."""

from __future__ import annotations

import threading

import pytest
from shared import FakeClock

from mockserver.jobs import JobRunner
from mockserver.store import JSON, Job, NewRecord, Scope, State


def test_schedule_stores_a_pending_job_due_after_the_delay(state: State, clock: FakeClock) -> None:
    runner = JobRunner(state, {"import": lambda job: {}}, clock=clock)

    job = runner.schedule("import", "tamio", "acct", {"customers": [1, 2]}, delay_s=5)

    assert job.id.startswith("job_")
    assert (job.status, job.due_at, job.created_at) == ("pending", clock.start + 5, clock.start)
    [stored] = state.jobs.list()
    assert (stored.id, stored.kind, stored.api, stored.account) == (
        job.id,
        "import",
        "tamio",
        "acct",
    )
    assert stored.payload == {"customers": [1, 2]}
    assert stored.status == "pending"
    assert state.jobs.next_due() == clock.start + 5


def test_a_job_does_not_run_before_it_is_due_and_runs_after(state: State, clock: FakeClock) -> None:
    seen: list[JSON] = []

    def handler(job: Job) -> JSON:
        seen.append(job.payload)
        return {"imported": len(job.payload["items"])}

    runner = JobRunner(state, {"import": handler}, clock=clock)
    job = runner.schedule("import", "tamio", "acct", {"items": ["a", "b"]}, delay_s=5)

    assert runner.run_due() == []
    clock.advance(4.999)
    assert runner.run_due() == []
    assert seen == []
    assert [j.status for j in state.jobs.list()] == ["pending"]

    clock.advance(0.001)
    [ran] = runner.run_due()

    assert ran.id == job.id
    assert (ran.status, ran.result) == ("done", {"imported": 2})
    assert seen == [{"items": ["a", "b"]}]
    [stored] = state.jobs.list(status="done")
    assert stored.result == {"imported": 2}
    assert state.jobs.next_due() is None
    assert runner.run_due() == []  # never twice


def test_run_due_accepts_an_explicit_now(state: State, clock: FakeClock) -> None:
    runner = JobRunner(state, {"k": lambda job: {"ok": True}}, clock=clock)
    runner.schedule("k", "tamio", "a", {}, delay_s=10)
    assert runner.run_due(now=clock.start + 9) == []
    assert [j.status for j in runner.run_due(now=clock.start + 10)] == ["done"]


def test_flush_runs_every_pending_job_now_including_ones_handlers_schedule(
    state: State, clock: FakeClock
) -> None:
    order: list[str] = []
    runner: JobRunner

    def first(job: Job) -> JSON:
        order.append("first")
        runner.schedule("second", job.api, job.account, {}, delay_s=3600)
        return {}

    def second(job: Job) -> JSON:
        order.append("second")
        return {"n": 2}

    runner = JobRunner(state, {"first": first, "second": second}, clock=clock)
    runner.schedule("first", "tamio", "a", {}, delay_s=60)
    runner.schedule("second", "tamio", "b", {}, delay_s=0.5)

    ran = runner.flush()

    assert sorted(order) == ["first", "second", "second"]
    assert len(ran) == 3 and all(j.status == "done" for j in ran)
    assert state.jobs.list(status="pending") == []
    assert state.jobs.next_due() is None
    assert clock.now == clock.start  # flush ignored due times; it did not need the clock to move


def test_a_failing_handler_fails_its_job_with_the_error_text_and_others_still_run(
    state: State, clock: FakeClock
) -> None:
    def boom(job: Job) -> JSON:
        raise RuntimeError("database on fire")

    errors: list[tuple[str, BaseException]] = []
    runner = JobRunner(state, {"boom": boom, "ok": lambda job: {"fine": 1}}, clock=clock)
    runner.add_error_listener(lambda job, exc: errors.append((job.id, exc)))
    bad = runner.schedule("boom", "tamio", "a", {}, delay_s=0)
    good = runner.schedule("ok", "tamio", "a", {}, delay_s=0)

    ran = {j.id: j for j in runner.run_due()}

    assert ran[bad.id].status == "failed"
    assert ran[bad.id].result == {"error": "RuntimeError: database on fire"}
    assert ran[good.id].status == "done"
    [failed] = state.jobs.list(status="failed")
    assert failed.id == bad.id
    assert failed.result == {"error": "RuntimeError: database on fire"}
    assert [(job_id, str(exc)) for job_id, exc in errors] == [(bad.id, "database on fire")]


def test_unknown_kind_and_non_dict_result_fail_the_job(state: State, clock: FakeClock) -> None:
    def bad_handler(job: Job) -> JSON:
        return ["not", "a", "dict"]  # type: ignore[return-value]

    runner = JobRunner(state, {"bad": bad_handler}, clock=clock)
    unknown = runner.schedule("nobody", "tamio", "a", {}, delay_s=0)
    bad = runner.schedule("bad", "tamio", "a", {}, delay_s=0)

    ran = {j.id: j for j in runner.run_due()}

    assert ran[unknown.id].status == "failed"
    result = ran[unknown.id].result
    assert result is not None
    assert "no handler for job kind 'nobody'" in result["error"]
    assert ran[bad.id].status == "failed"
    assert ran[bad.id].result == {
        "error": "TypeError: handler for 'bad' returned list, expected a dict"
    }


def test_negative_delay_is_refused(state: State, clock: FakeClock) -> None:
    runner = JobRunner(state, {}, clock=clock)
    with pytest.raises(ValueError, match="delay_s"):
        runner.schedule("k", "tamio", "a", {}, delay_s=-1)
    assert state.jobs.list() == []


def test_schedule_listeners_are_told(state: State, clock: FakeClock) -> None:
    calls: list[int] = []
    runner = JobRunner(state, {}, clock=clock)
    runner.add_schedule_listener(lambda: calls.append(1))
    runner.schedule("k", "tamio", "a", {}, delay_s=0)
    assert calls == [1]


def test_two_runners_racing_run_each_job_exactly_once(state: State) -> None:
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def handler(job: Job) -> JSON:
        with lock:
            counts[job.id] = counts.get(job.id, 0) + 1
        return {}

    runners = [JobRunner(state, {"k": handler}) for _ in range(4)]
    ids = [runners[0].schedule("k", "tamio", "a", {"i": i}, delay_s=0).id for i in range(40)]
    barrier = threading.Barrier(len(runners))

    def work(runner: JobRunner) -> None:
        barrier.wait()
        runner.run_due()

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert counts == {job_id: 1 for job_id in ids}
    assert len(state.jobs.list(status="done")) == 40


def test_a_job_a_reset_removed_while_it_ran_is_dropped_with_nothing_stored(
    state: State, clock: FakeClock
) -> None:
    # As when another worker process answers POST /__mock/reset mid-import.
    def handler(job: Job) -> JSON:
        state.reset()
        state.records.insert_batch(
            Scope("tamio", job.account),
            [NewRecord("c1", {"email": "a@example.com"}, {"email": "a@example.com"})],
            job_id=job.id,
        )
        return {"created": 1}

    errors: list[BaseException] = []
    runner = JobRunner(state, {"import": handler}, clock=clock)
    runner.add_error_listener(lambda job, exc: errors.append(exc))
    runner.schedule("import", "tamio", "acct", {}, delay_s=0)

    [ran] = runner.run_due()

    assert ran.status == "dropped"
    assert errors == []
    assert state.records.all(Scope("tamio", "acct")) == []
    assert state.jobs.list() == []
