"""How much a bulk create's store insert costs when several writers share the SQLite state.

    .venv/bin/python benchmarks/store_contention.py                      # 1x1, 1x2, 2x1, 2x2
    .venv/bin/python benchmarks/store_contention.py --processes 2 --threads 2 --size 500

Each writer (a thread in a forked process, as gunicorn's workers are) inserts batches of
``--size`` Bunce customers, built by the behaviour's own ``new_customer``, into fresh accounts of
one SQLite state file (``durable=False``, as ``serve --workers N`` runs it) for ``--duration``
seconds. It prints the batches per second of all writers together and the CPU time per batch:
the cost of the insert alone, without HTTP, parsing or validation (docs/benchmarks.md, "What
changed", quotes it).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from multiprocessing.queues import Queue
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import customers_body

from mockserver.apis.bunce.behaviours import new_customer
from mockserver.ids import iso_times
from mockserver.store import NewRecord, Scope, SQLiteState


def records(size: int) -> list[NewRecord]:
    items = orjson.loads(customers_body(size))["customers"]
    return [
        new_customer(item, created_at=t) for item, t in zip(items, iso_times(size), strict=True)
    ]


def writer_process(
    path: str, index: int, threads: int, duration: float, batch: list[NewRecord], out: Queue
) -> None:
    """One worker process: ``threads`` threads inserting until the time is up."""
    state = SQLiteState(path, durable=False)
    counts = [0] * threads

    def insert(thread: int) -> None:
        accounts = itertools.count()
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            state.records.insert_batch(
                Scope("bunce", f"sk_test_{index}_{thread}_{next(accounts)}"), batch
            )
            counts[thread] += 1

    cpu = time.process_time()
    workers = [threading.Thread(target=insert, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((sum(counts), time.process_time() - cpu))
    state.close()


def measure(processes: int, threads: int, size: int, duration: float) -> tuple[float, float]:
    """Batches per second (all writers) and CPU milliseconds per batch."""
    context = multiprocessing.get_context("fork")
    batch = records(size)
    with tempfile.TemporaryDirectory(prefix="mockserver-contention-") as tmp:
        path = os.path.join(tmp, "state.sqlite3")
        SQLiteState(path).close()  # the schema, before the writers race to create it
        out: Queue = context.Queue()
        started = time.monotonic()
        children = [
            context.Process(target=writer_process, args=(path, i, threads, duration, batch, out))
            for i in range(processes)
        ]
        for child in children:
            child.start()
        results = [out.get() for _ in children]
        for child in children:
            child.join()
        elapsed = time.monotonic() - started
    batches = sum(n for n, _ in results)
    cpu = sum(c for _, c in results)
    return batches / min(elapsed, duration), cpu / max(batches, 1) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, help="writer processes (default: 1 and 2)")
    parser.add_argument("--threads", type=int, help="threads per process (default: 1 and 2)")
    parser.add_argument("--size", type=int, default=500, help="customers per batch (500)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per case (5)")
    args = parser.parse_args()
    shapes = [
        (p, t)
        for p in ([args.processes] if args.processes else [1, 2])
        for t in ([args.threads] if args.threads else [1, 2])
    ]
    for processes, threads in shapes:
        rate, cpu = measure(processes, threads, args.size, args.duration)
        print(
            f"{processes} process(es) x {threads} thread(s), {args.size} customers a batch: "
            f"{rate:,.0f} batches/s, {cpu:.2f} ms CPU a batch",
            flush=True,
        )


if __name__ == "__main__":
    main()
