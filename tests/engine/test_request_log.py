"""The line per request of ``mockserver serve`` is queued by the request thread and written by a
thread of the process (mockserver/requestlog.py)."""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from pathlib import Path

from mockserver.requestlog import QueuedLineHandler


class SlowStream(io.StringIO):
    """A stream whose writes wait until ``opened`` is set (a stalled terminal or pipe)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = threading.Event()

    def write(self, text: str) -> int:
        self.opened.wait(10)
        return super().write(text)


def a_logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"tests.requestlog.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_lines_of_many_threads_are_written_whole_and_in_each_threads_order() -> None:
    stream = io.StringIO()
    log = a_logger("threads", QueuedLineHandler(stream, logging.Formatter("%(message)s")))

    def answer(thread: int) -> None:
        for n in range(500):
            log.info("thread %d line %d", thread, n)

    threads = [threading.Thread(target=answer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.handlers[0].flush()

    lines = stream.getvalue().splitlines()
    assert len(lines) == 4000
    for t in range(8):
        assert [line for line in lines if line.startswith(f"thread {t} ")] == [
            f"thread {t} line {n}" for n in range(500)
        ]


def test_a_request_thread_never_waits_for_the_stream() -> None:
    stream = SlowStream()
    handler = QueuedLineHandler(stream, logging.Formatter("%(message)s"))
    log = a_logger("slow", handler)

    started = time.monotonic()
    for n in range(200):
        log.info("line %d", n)
    queued_in = time.monotonic() - started

    assert queued_in < 1.0  # the stream has not taken a byte yet
    assert stream.getvalue() == ""
    stream.opened.set()
    handler.flush()
    assert stream.getvalue().splitlines() == [f"line {n}" for n in range(200)]


def test_a_handler_made_before_a_fork_writes_in_the_child(tmp_path: Path) -> None:
    out = tmp_path / "log.txt"
    with out.open("w") as stream:
        handler = QueuedLineHandler(stream, logging.Formatter("%(process)d %(message)s"))
        log = a_logger("fork", handler)
        log.info("from the parent")
        handler.flush()
        child = os.fork()
        if child == 0:  # a gunicorn worker: its own writer thread
            try:
                for n in range(3):
                    log.info("from the child %d", n)
                handler.flush()
            finally:
                os._exit(0)
        os.waitpid(child, 0)

    lines = out.read_text().splitlines()
    assert lines[0] == f"{os.getpid()} from the parent"
    assert lines[1:] == [f"{child} from the child {n}" for n in range(3)]
