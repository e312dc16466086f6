"""The documented limits over real HTTP, against ``mockserver serve --workers 2``: a body at a limit
is served completely (stored, journalled, readable through the control API afterwards), one just
over it is refused with 400 and leaves nothing behind.
"""

from __future__ import annotations

import concurrent.futures
import os
import platform
import sys
import threading
import time
import tracemalloc
import uuid
from pathlib import Path

import orjson
import pytest
import requests
from gunicorn import http
from gunicorn.config import Config

from mockserver import memory
from mockserver.bodies import MAX_DEPTH
from mockserver.httpworker import SingleChunk
from mockserver.testing import ServeProcess

from .support import (
    BUNCE,
    TAMIO,
    bunce_customer,
    check_response,
    problems_in_log,
    start_server,
    tamio_customer,
)

pytestmark = pytest.mark.slow


def _deep_create(api: str, depth: int) -> tuple[str, dict[str, str], bytes, str]:
    """A one-customer bulk create of ``depth`` levels in all: the customer (level 3) carries an
    unknown field nested down to ``depth``. Returns path, headers, body and the email."""
    tag = uuid.uuid4().hex[:12]
    email = f"deep-{tag}@example.com"
    if api == "bunce":
        customer = bunce_customer(f"deep-{tag}", email)
        path, headers = f"{BUNCE}/customers/bulk", {"X-Authorization": f"sk_test_{tag}"}
    else:
        customer = tamio_customer("Deep", email)
        path, headers = f"{TAMIO}/customers/bulk/create", {"Authorization": f"Bearer tok_{tag}"}
    lists = depth - 3
    body = orjson.dumps({"customers": [customer]})
    body = body[:-3] + b',"extra":' + b"[" * lists + b"]" * lists + b"}]}"
    return path, {**headers, "Content-Type": "application/json"}, body, email


def _stored(live: ServeProcess, api: str, headers: dict[str, str], email: str) -> bool:
    if api == "bunce":
        customer_id = "deep-" + email.split("@")[0].removeprefix("deep-")
        found = requests.get(f"{live.url}{BUNCE}/customers/{customer_id}", headers=headers)
        return found.status_code == 200
    listed = requests.get(
        f"{live.url}{TAMIO}/customers/list?page=1&per_page=10", headers=headers
    ).json()
    return [c["email"] for c in listed["customers"]] == [email]


def _control_reads_answer(live: ServeProcess) -> None:
    for path in ("/__mock/requests", "/__mock/jobs", "/__mock/webhooks/deliveries"):
        answer = requests.get(f"{live.url}{path}", timeout=10)
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:300]}"


@pytest.mark.parametrize("api", ["bunce", "tamio"])
def test_a_body_nested_to_the_limit_is_served_and_the_control_api_still_reads(
    live: ServeProcess, api: str
) -> None:
    path, headers, body, email = _deep_create(api, MAX_DEPTH)
    answer = requests.post(f"{live.url}{path}", data=body, headers=headers, timeout=10)
    check_response(answer, "at the nesting limit")
    assert answer.status_code == 200
    requests.post(f"{live.url}/__mock/jobs/flush", timeout=30).raise_for_status()
    assert _stored(live, api, headers, email)
    entry = requests.get(f"{live.url}/__mock/requests", params={"api": api}).json()["requests"][-1]
    assert entry["status"] == 200
    _control_reads_answer(live)


@pytest.mark.parametrize("api", ["bunce", "tamio"])
def test_a_body_nested_past_the_limit_is_400_and_leaves_nothing(
    live: ServeProcess, api: str
) -> None:
    path, headers, body, email = _deep_create(api, MAX_DEPTH + 1)
    answer = requests.post(f"{live.url}{path}", data=body, headers=headers, timeout=10)
    check_response(answer, "past the nesting limit")
    assert answer.status_code == 400
    message = answer.json()["message" if api == "bunce" else "error"]
    assert message == f"body: JSON nesting is deeper than {MAX_DEPTH} levels"
    requests.post(f"{live.url}/__mock/jobs/flush", timeout=30).raise_for_status()
    assert not _stored(live, api, headers, email)
    _control_reads_answer(live)


# -- memory ---------------------------------------------------------------------------------------
def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for process {pid}")


def _bulk_body(tag: str, count: int) -> bytes:
    items = [bunce_customer(f"{tag}{i}", f"{tag}{i}@example.com") for i in range(count)]
    return orjson.dumps({"customers": items})


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_a_large_create_costs_memory_in_proportion_to_its_size() -> None:
    live = start_server()  # its own: the peak below is the worker's high-water mark
    path = f"{live.url}{BUNCE}/customers/bulk"
    headers = {"X-Authorization": "sk_test_memory", "Content-Type": "application/json"}
    try:
        with requests.Session() as session:  # one keep-alive connection: one worker answers
            pid = session.get(f"{live.url}/__mock/health").json()["pid"]
            warm = session.post(path, data=_bulk_body("warm", 10), headers=headers)
            assert warm.status_code == 200
            baseline = _rss_mb(pid)
            body = _bulk_body("big", 75_000)
            size_mb = len(body) / 1024 / 1024
            assert 8 < size_mb < 10, size_mb  # large, and within the 10 MiB limit
            answer = session.post(path, data=body, headers=headers, timeout=120)
            assert answer.status_code == 200, answer.text[:300]
            assert len(answer.json()["data"]) == 75_000
            assert session.get(f"{live.url}/__mock/health").json()["pid"] == pid
            peak = _rss_mb(pid, "VmHWM") - baseline
    finally:
        live.stop()
    # The body as Python objects, the customers built from it, the answer: about 18x its size.
    # Before the fix: 80x (each stored row kept a 4 KiB buffer until the commit).
    assert peak < 25 * size_mb, f"peak {peak:.0f} MB over {baseline:.0f} for {size_mb:.1f} MiB"


# What a worker keeps after a 9 MiB create, over its size before the first one: the page cache
# of the SQLite connection of the thread that wrote (up to 2 MB, SQLite's default cache_size) and
# a little of glibc's heap; 1.9 to 2.7 MB measured. Before the large requests' objects came from
# glibc (mockserver/memory.py): 18 to 30 MB after the first create, and 5 to 20 MB more after each
# of the next (pymalloc's arenas, held by the few objects that outlive a request).
RETURN_BOUND_MB = 6
# Nothing more after the next ones (0.1 to 0.3 MB measured).
GROWTH_BOUND_MB = 1.5


def _settle(pid: int) -> float:
    """RSS once the request's memory is back: the thread hands it back after it has sent the
    answer, so the client may see the answer first."""
    last = _rss_mb(pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = _rss_mb(pid)
        if abs(now - last) < 0.5:
            return now
        last = now
    return last


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_a_worker_returns_to_its_size_after_each_large_create() -> None:
    # One request thread: each thread has its own SQLite connection and page cache, and which
    # thread of a pool takes a request is the pool's choice; with one, the bounds are exact.
    live = start_server("--threads", "1")
    path = f"{live.url}{BUNCE}/customers/bulk"
    headers = {"X-Authorization": "sk_test_return", "Content-Type": "application/json"}
    first = _bulk_body("r0-", 75_000)
    bodies = [first, first.replace(b'"r0-', b'"r1-'), first.replace(b'"r0-', b'"r2-')]
    try:
        with requests.Session() as session:  # one keep-alive connection: one worker answers
            pid = session.get(f"{live.url}/__mock/health").json()["pid"]
            for i in range(20):  # the worker's caches and connections, as after ordinary use
                warm = session.post(path, data=_bulk_body(f"w{i}-", 10), headers=headers)
                assert warm.status_code == 200, warm.text[:300]
            baseline = _settle(pid)
            kept = []
            for body in bodies:
                answer = session.post(path, data=body, headers=headers, timeout=120)
                assert answer.status_code == 200, answer.text[:300]
                assert len(answer.json()["data"]) == 75_000
                assert session.get(f"{live.url}/__mock/health").json()["pid"] == pid
                kept.append(round(_settle(pid) - baseline, 1))
        assert problems_in_log(live) == [], live.log()[-3000:]
    finally:
        live.stop()
    assert max(kept) < RETURN_BOUND_MB, f"kept {kept} MB over {baseline:.0f} MB"
    assert kept[2] - kept[1] < GROWTH_BOUND_MB, f"grew: {kept} MB over {baseline:.0f} MB"


_PLAIN_ALLOCATORS = (
    sys.implementation.name == "cpython"
    and platform.libc_ver()[0] == "glibc"
    and os.environ.get("PYTHONMALLOC", "pymalloc") == "pymalloc"
    and not sys.flags.dev_mode
    and not tracemalloc.is_tracing()
)


@pytest.mark.skipif(not _PLAIN_ALLOCATORS, reason="switches pymalloc for glibc's malloc")
def test_a_large_request_makes_its_objects_with_glibc_and_switches_back_after_the_last() -> None:
    assert memory.uses_pymalloc()
    inside, leave = threading.Event(), threading.Event()

    def large_request() -> list[dict[str, str]]:
        inside.set()
        leave.wait(10)
        return [{"email": f"c{i}@example.com"} for i in range(1000)]

    other = concurrent.futures.ThreadPoolExecutor(1)
    running = other.submit(memory.outside_pymalloc, large_request)
    inside.wait(10)
    made = memory.outside_pymalloc(lambda: [str(i) * 10 for i in range(1000)])
    assert not memory.uses_pymalloc()  # the other large request still runs
    leave.set()
    customers = running.result(10)
    other.shutdown()
    assert memory.uses_pymalloc()
    del made, customers  # blocks from glibc, freed by pymalloc's free after the switch back
    with pytest.raises(ZeroDivisionError):
        memory.outside_pymalloc(lambda: 1 / 0)
    assert memory.uses_pymalloc()


# -- a reset is a barrier for every worker --------------------------------------------------------
def _sessions_on_two_workers(live: ServeProcess) -> tuple[requests.Session, requests.Session]:
    """Two keep-alive connections answered by different worker processes."""
    first = requests.Session()
    pid = first.get(f"{live.url}/__mock/health").json()["pid"]
    for _ in range(100):
        second = requests.Session()
        if second.get(f"{live.url}/__mock/health").json()["pid"] != pid:
            return first, second
        second.close()
    raise AssertionError("100 connections in a row went to the same worker")


def test_a_reset_forgets_the_journal_entries_another_worker_has_not_written_yet() -> None:
    live = start_server()
    try:
        creator, resetter = _sessions_on_two_workers(live)
        headers = {"X-Authorization": "sk_test_barrier", "Content-Type": "application/json"}
        for trial in range(50):
            customer = bunce_customer(f"barrier-{trial}", f"barrier-{trial}@example.com")
            created = creator.post(
                f"{live.url}{BUNCE}/customers/bulk",
                data=orjson.dumps({"customers": [customer]}),
                headers=headers,
            )
            assert created.status_code == 200, created.text
            assert resetter.post(f"{live.url}/__mock/reset").status_code == 200
            for reader in (creator, resetter):
                journal = reader.get(f"{live.url}/__mock/requests").json()["requests"]
                assert journal == [], f"trial {trial}: the journal outlived the reset: {journal}"
    finally:
        live.stop()


def test_a_buffered_request_is_not_kept_by_its_parser_once_read() -> None:
    body = b'{"customers": []}' + b" " * (1024 * 1024)
    data = b"POST /bunce/v1/customers/bulk HTTP/1.1\r\nHost: x\r\n"
    data += f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    parser = http.get_parser(Config(), SingleChunk(data), ("127.0.0.1", 1))
    request = next(parser)
    assert request.body.read() == body
    # What the connection keeps for keep-alive (its parser, the request it read) no longer
    # refers to the request's bytes: only ``data`` here and getrefcount's argument do.
    assert sys.getrefcount(data) == 2
