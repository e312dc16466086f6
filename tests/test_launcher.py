"""``mockserver.testing.serve``: ``mockserver serve`` as a subprocess on the port it picked, its
health wait, its output, and a stop that leaves no process of its group behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from mockserver.launcher import group_alive
from mockserver.testing import StartError, serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc").is_dir(), reason="lists a process group from /proc"),
]


def members(pgid: int) -> set[int]:
    """The processes of group ``pgid`` that still run (zombies left out)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" (", 1)
        except OSError:
            continue
        fields = rest.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.add(int(pid))
    return found


def refuses(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_serve_answers_on_the_port_it_picked_and_stop_ends_every_worker() -> None:
    with serve("--workers", "2", "--quiet") as server:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.base_url("bunce") == server.url + "/bunce/v1"
        health = requests.get(server.url + "/__mock/health", timeout=5).json()
        assert health["status"] == "ok" and health["store"] == "SQLiteState"
        # The port read back is the one the server says it serves on (not the 0 it was given).
        assert f"mockserver on http://127.0.0.1:{server.port} (2 worker(s)" in server.log()
        # gunicorn's master and both workers, all in the group serve() started.
        wait_for(lambda: len(members(server.pid)) == 3, "master and two workers")
        group = members(server.pid)
        assert health["pid"] in group and server.pid in group
        # The control API, through the helper: the journal, and a reset that empties it.
        requests.get(server.base_url("bunce") + "/customers", timeout=5)
        [entry] = server.requests(api="bunce")
        assert (entry["operation_id"], entry["status"]) == ("listCustomers", 401)
        server.reset()
        assert server.requests() == []
        # A client's idle keep-alive connection is closed before the stop, not waited for.
        session = requests.Session()
        assert session.get(server.url + "/__mock/health", timeout=5).status_code == 200
        server.before_stop.append(session.close)
        stopping = time.monotonic()

    assert time.monotonic() - stopping < 2.5  # gunicorn waits ~3 s for an idle connection

    assert server.process.returncode == 0  # SIGTERM: gunicorn's graceful stop
    assert members(server.pid) == set() and not group_alive(server.pid)
    assert refuses(server.port)
    assert "Shutting down: Master" in server.log()  # the log outlives the stop


def test_the_port_file_names_the_bound_port(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mockserver",
            "serve",
            "--port",
            "0",
            "--workers",
            "1",
            "--port-file",
            str(port_file),
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: port_file.exists() or process.poll() is not None, "the port file")
        assert process.poll() is None
        port = int(port_file.read_text())
        assert port_file.read_text() == f"{port}\n"
        wait_for(lambda: not refuses(port), "the server to listen")
        answer = requests.get(f"http://127.0.0.1:{port}/__mock/health", timeout=5)
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=20)
    assert f"mockserver on http://127.0.0.1:{port} (1 worker(s)" in log.decode()


def test_a_server_that_exits_at_start_raises_with_its_output() -> None:
    with pytest.raises(StartError) as raised:
        serve("--spec", "no/such/spec.yaml")

    message = str(raised.value)
    assert "mockserver serve exited with code 2 before it answered" in message
    assert "spec file 'no/such/spec.yaml' does not exist" in message


def test_a_server_that_never_answers_is_stopped_and_its_output_reported(tmp_path: Path) -> None:
    silent = [
        sys.executable,
        "-c",
        "import os, time; print('booting', os.getpid(), flush=True); time.sleep(60)",
    ]
    started = time.monotonic()

    with pytest.raises(StartError) as raised:
        serve(command=silent, timeout=1.0, log=tmp_path / "serve.log")

    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert "did not answer GET /__mock/health within 1.0 s (it bound no port)" in message
    pid = int(message.rsplit("booting ", 1)[1])
    assert message.endswith(f"its output:\nbooting {pid}\n")
    assert members(pid) == set()  # stopped before the error was raised


def test_kill_and_a_dead_master_leave_no_worker_behind() -> None:
    server = serve("--workers", "2", "--quiet")
    wait_for(lambda: len(members(server.pid)) == 3, "master and two workers")
    os.kill(server.pid, signal.SIGKILL)  # the master alone: its workers are orphaned
    server.process.wait(10)

    assert server.stop() == -signal.SIGKILL
    assert members(server.pid) == set()
    assert refuses(server.port)


# A stand-in for `mockserver serve` that binds the port, writes the port file, answers health,
# starts a child in its group, and ignores SIGTERM: stop() must fall back to SIGKILL.
STUBBORN = textwrap.dedent(
    """
    import http.server, os, signal, subprocess, sys
    args = sys.argv[1:]
    port_file = args[args.index("--port-file") + 1]
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen([sys.executable, "-c", "import signal, time; "
                      "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"status": "ok", "apis": [{"name": "stub", "mount": "/stub/v1"}]}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    with open(port_file + ".tmp", "w") as out:  # in one step, as serve writes it
        out.write(f"{server.server_port}\\n")
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()
    """
)


def test_a_server_that_ignores_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    script.write_text(STUBBORN)
    server = serve(command=[sys.executable, str(script)], stop_timeout=0.5)
    assert server.base_url("stub") == server.url + "/stub/v1"
    wait_for(lambda: len(members(server.pid)) == 2, "the stand-in and its child")
    started = time.monotonic()

    assert server.stop() == -signal.SIGKILL

    assert time.monotonic() - started < 5
    assert members(server.pid) == set()


def wait_for(condition: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
