"""One command, one run: mockserver (its default, its load settings, the HTTP servers it could
run under) vs a bare Flask app vs Prism on the Bunce bulk route.

    .venv/bin/python benchmarks/run.py            # about 4 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --quick    # 3 s per case, a smoke test
    .venv/bin/python benchmarks/run.py --servers mock,gthread,prism

Servers (``--servers``, comma-separated; default: all of them):

* ``default``: ``mockserver serve`` with no flags, what a newcomer load-tests;
* ``mock``: ``mockserver serve`` with the recommended load settings (``MOCK_ARGS``);
* ``gthread``: the same under gunicorn's own threaded worker (``benchmarks/serve_with_worker.py``),
  the HTTP server `serve` ran before it read each request in full before a thread sees it;
* ``mock-1w``: one worker, state in memory;
* ``pg``: the recommended settings with the state in PostgreSQL (``--state postgresql://...``),
  one host; ``pg-2h``: two such hosts (two ``serve`` processes on two ports, one database) with
  the load split evenly between them, as a load balancer would. The database is a throwaway
  PostgreSQL server (``mockserver.pgtemp``, from the installed server binaries) whose CPU counts
  as the server's; without the binaries both are skipped with a message;
* ``bare``: a bare Flask app under gunicorn (``benchmarks/bare_flask.py``), the stack's ceiling;
* ``prism``: Prism 5.

Each server is started on loopback, one at a time, and loaded with wrk (``apt-get install wrk``;
without wrk a Python thread-pool generator is used and the run says so). Cases, with 2- and
500-customer bodies:

* stateless: ``Prefer: code=200`` (every server answers the documented example);
* stateful: a new ``X-Authorization: sk_test_<n>`` per request, so every customer is created in
  a fresh account (mockserver only; the bare app and Prism keep no state).

Printed per case: requests/s, p50 and p99 latency, errors; then the ratios mock/Prism and
mock/bare Flask and the targets. Results go to ``benchmarks/results/<time>.json`` (gitignored) and
the table to docs/benchmarks.md (between the ``results`` markers). Prism
(``@stoplight/prism-cli``) is installed with npm into ``benchmarks/.prism`` on first use; without
Node/npm it is skipped with a message.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mockserver.testing import ServeProcess, serve

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
PRISM_DIR = BENCH / ".prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
DOC = ROOT / "docs" / "benchmarks.md"
LUA = BENCH / "bulk.lua"
ROUTE = "/bunce/v1/customers/bulk"
HOST = "127.0.0.1"

# The recommended load settings for `mockserver serve` (docs/benchmarks.md explains the choice).
MOCK_ARGS = ["--workers", "2", "--threads", "2", "--quiet"]  # the recommended load settings
WORKERS, THREADS = 2, 8
SERVERS = ("default", "mock", "gthread", "mock-1w", "pg", "pg-2h", "bare", "prism")
SIZES = (2, 500)


# -- bodies ----------------------------------------------------------------------------------------
def customers_body(n: int) -> bytes:
    """A valid Bunce bulk body of ``n`` customers; every tenth has two devices."""
    customers = []
    for i in range(n):
        customer: dict[str, Any] = {
            "customer_id": f"cus_{i:06d}",
            "first_name": "John",
            "last_name": f"Doe{i}",
            "email": f"john.doe{i}@example.com",
            "phone_no": "+23481999999999",
        }
        if i % 10 == 0:
            customer["devices"] = [
                {"device_type": "ios", "device_token": f"tok{i}a"},
                {"device_type": "android", "device_token": f"tok{i}b"},
            ]
        customers.append(customer)
    return json.dumps({"customers": customers}, separators=(",", ":")).encode()


# -- servers ---------------------------------------------------------------------------------------
@dataclass
class Server:
    """One server under test. A mockserver of this checkout (``serve_args`` set) is started by
    :func:`mockserver.testing.serve` on a free port; anything else
    (the bare app, Prism, a ``--variant``, which may be another version of mockserver) runs
    ``command`` on ``port``."""

    name: str
    command: list[str]
    port: int
    cwd: Path = ROOT
    route: str = ROUTE
    stateful: bool = False
    env: dict[str, str] = field(default_factory=dict)
    serve_args: list[str] | None = None
    process: subprocess.Popen[bytes] | None = None
    served: ServeProcess | None = None
    log_path: Path | None = None
    # More hosts of the same mock (one state): started and stopped with it, loaded together.
    peers: list[Server] = field(default_factory=list)
    # Process groups whose CPU counts as this server's too (the PostgreSQL server).
    also_cpu_of: list[int] = field(default_factory=list)

    @property
    def hosts(self) -> list[Server]:
        return [self, *self.peers]

    def start(self, body: bytes, timeout: float = 60.0) -> float:
        """Start and wait for the first 200 to a real bulk request; the seconds that took."""
        started = time.perf_counter()
        if self.serve_args is not None:
            # On a port picked here, as a user names one (``--port 0`` binds and holds a port
            # in the master before the workers bind theirs: not what a user's serve does).
            self.served = serve(
                *self.serve_args,
                host=HOST,
                port=free_port(),
                env=self.env,
                cwd=self.cwd,
                timeout=timeout,
            )
            self.process, self.port = self.served.process, self.served.port
            self.log_path = self.served.log_path
        else:
            handle, log_name = tempfile.mkstemp(prefix=f"bench-{self.name}-", suffix=".log")
            self.log_path = Path(log_name)
            with os.fdopen(handle, "wb") as log:
                self.process = subprocess.Popen(
                    self.command,
                    cwd=self.cwd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **self.env},
                    start_new_session=True,
                )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}: {self.log_tail()}"
                )
            status = post(
                self.port,
                body,
                {"Prefer": "code=200", "X-Authorization": "sk_test_start"},
                timeout=2.0,
                route=self.route,
            )
            if status == 200:
                first_answer_s = time.perf_counter() - started
                for peer in self.peers:  # after the first host is up: its time is its own
                    peer.start(body, timeout)
                return first_answer_s
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout} s: {self.log_tail()}")

    def stop(self) -> None:
        for peer in self.peers:
            peer.stop()
        if self.served is not None:
            self.served.stop(timeout=15)
            self.served = self.process = None
            return
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)  # only the group we started
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) so far of every process of the server's process group, of
        its peers' and of ``also_cpu_of``."""
        if self.process is None:
            return 0.0
        groups = {host.process.pid for host in self.hosts if host.process is not None}
        groups.update(self.also_cpu_of)
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) in groups:  # field 5, pgrp (the sessions we started)
                total += int(fields[11]) + int(fields[12])  # fields 14 and 15, utime and stime
        return total / os.sysconf("SC_CLK_TCK")

    def log_tail(self) -> str:
        if self.served is not None:
            return self.served.log_tail(2000)
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-2000:]


def post(
    port: int, body: bytes, headers: dict[str, str], timeout: float = 10.0, route: str = ROUTE
) -> int | None:
    """One request; the status, or None when the server does not answer (yet)."""
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        conn.request("POST", route, body, {"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status
    except OSError:
        return None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_database() -> Any:
    """A throwaway PostgreSQL server for the ``pg`` cases; None (with the reason) without one."""
    from mockserver import pgtemp

    try:
        return pgtemp.start()
    except pgtemp.PostgresUnavailable as exc:
        print(f"NOTE: the PostgreSQL cases are skipped: {exc}")
        return None


def create_database(server: Any, name: str) -> str:
    """A new database on the throwaway server; its URL."""
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return str(server.url(name))


def ensure_prism() -> str | None:
    """The Prism binary, installed on first use; None (with the reason printed) when unavailable."""
    if PRISM_BIN.exists():
        return str(PRISM_BIN)
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        print("Prism skipped: Node.js/npm is not installed")
        return None
    print(f"installing @stoplight/prism-cli@5 into {PRISM_DIR} (first run only) ...", flush=True)
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(PRISM_DIR),
            "@stoplight/prism-cli@5",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0 or not PRISM_BIN.exists():
        print(f"Prism skipped: npm install failed:\n{result.stderr[-1500:]}")
        return None
    return str(PRISM_BIN)


# -- load ------------------------------------------------------------------------------------------
@dataclass
class Load:
    connections: int
    wrk_threads: int
    duration_s: float
    warmup_s: float
    generator: str = "wrk"


def run_wrk(
    load: Load, server: Server, body_file: Path, mode: str, run_id: str, duration: float
) -> dict[str, Any]:
    """wrk against the server; with peers, one wrk per host at once (the connections split
    evenly), combined by :func:`combine`."""
    if server.peers:
        hosts = server.hosts
        share = replace(
            load,
            connections=max(1, load.connections // len(hosts)),
            wrk_threads=max(1, load.wrk_threads // len(hosts)),
        )
        with ThreadPoolExecutor(len(hosts)) as pool:
            parts = list(
                pool.map(
                    lambda n: run_wrk(
                        share,
                        replace(hosts[n], peers=[]),
                        body_file,
                        mode,
                        f"{run_id}h{n}",
                        duration,
                    ),
                    range(len(hosts)),
                )
            )
        return combine(parts)
    command = [
        "wrk",
        f"-t{load.wrk_threads}",
        f"-c{load.connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"http://{HOST}:{server.port}{server.route}",
        "--",
        str(body_file),
        mode,
        run_id,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(
            f"wrk failed ({result.returncode}): {result.stdout[-800:]} {result.stderr[-800:]}"
        )
    data: dict[str, Any] = json.loads(line[len("WRKJSON ") :])
    return data


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from simultaneous runs against several hosts: requests and errors add up; p50
    and the mean are weighted by each host's requests, p90, p99 and max are the largest."""
    requests = sum(p["requests"] for p in parts)
    weight = [p["requests"] / requests if requests else 1 / len(parts) for p in parts]
    latency = {
        "p50": int(sum(w * p["latency_us"]["p50"] for w, p in zip(weight, parts, strict=True))),
        "mean": sum(w * p["latency_us"]["mean"] for w, p in zip(weight, parts, strict=True)),
        **{k: max(p["latency_us"][k] for p in parts) for k in ("p90", "p99", "max")},
    }
    errors: dict[str, int] = {}
    for part in parts:
        for kind, count in part["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    return {
        "requests": requests,
        "duration_us": max(p["duration_us"] for p in parts),
        "bytes": sum(p.get("bytes", 0) for p in parts),
        "errors": errors,
        "latency_us": latency,
        "hosts": len(parts),
    }


def run_python_load(
    load: Load, server: Server, body: bytes, mode: str, run_id: str, duration: float
) -> dict[str, Any]:
    """Fallback generator: one keep-alive connection per thread, bounded by time."""
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + duration
    started = time.perf_counter()

    def worker(index: int) -> None:
        port = server.hosts[index % len(server.hosts)].port  # the connections spread over hosts
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        n = 0
        local: list[float] = []
        while time.perf_counter() < deadline and n < 1_000_000:
            n += 1
            if mode == "stateless":
                headers = {"Prefer": "code=200", "X-Authorization": "sk_test_bench"}
            else:
                headers = {"X-Authorization": f"sk_test_{run_id}_{index}_{n}"}
            t0 = time.perf_counter()
            try:
                conn.request(
                    "POST", server.route, body, {"Content-Type": "application/json", **headers}
                )
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    with lock:
                        errors["status"] += 1
            except OSError:
                with lock:
                    errors["read"] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                continue
            local.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(load.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 30)
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> int:
        return (
            int(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1e6)
            if latencies
            else 0
        )

    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "bytes": 0,
        "errors": errors,
        "latency_us": {
            "p50": pct(50),
            "p90": pct(90),
            "p99": pct(99),
            "max": pct(100),
            "mean": (sum(latencies) / len(latencies) * 1e6) if latencies else 0.0,
        },
    }


def measure(
    load: Load,
    server: Server,
    size: int,
    mode: str,
    bodies: dict[int, tuple[bytes, Path]],
    rounds: int = 1,
) -> dict[str, Any]:
    """One round of a case (of ``rounds``) against a started server: its share of the
    measured time, after a warm-up."""
    body, body_file = bodies[size]
    run_id = f"{int(time.time() * 1000) % 10**9}{size}"
    # Correctness first: the case must answer 200 before it is timed.
    headers = (
        {"Prefer": "code=200", "X-Authorization": "sk_test_check"}
        if mode == "stateless"
        else {"X-Authorization": f"sk_test_check_{run_id}"}
    )
    status = post(server.port, body, headers, route=server.route)
    if status != 200:
        raise RuntimeError(f"{server.name} {mode} {size}: answered {status} instead of 200")

    def run(prefix: str, duration: float) -> dict[str, Any]:
        if load.generator == "wrk":
            return run_wrk(load, server, body_file, mode, prefix + run_id, duration)
        return run_python_load(load, server, body, mode, prefix + run_id, duration)

    if load.warmup_s > 0:
        run("w", max(1.0, load.warmup_s / rounds))
    cpu_before = server.cpu_seconds()
    data = run("", load.duration_s / rounds)
    data["server_cpu_s"] = server.cpu_seconds() - cpu_before
    return with_rates(data)


def with_rates(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its rate, the server's CPU per request and the cores it kept busy."""
    cpu, seconds = data["server_cpu_s"], data["duration_us"] / 1e6
    data["rps"] = data["requests"] / seconds
    # CPU per request is what a busy, shared machine disturbs least; rates are limited by it.
    data["server_cpu_ms"] = cpu * 1000 / data["requests"] if data["requests"] else None
    data["server_cores"] = cpu / seconds
    data["error_count"] = sum(data["errors"].values())
    return data


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from the rounds of a case, one after the other: requests, time, errors and
    CPU add up; p50 and the mean are weighted by requests, p90, p99 and max are the largest."""
    if len(rounds) == 1:
        return rounds[0]
    merged = combine(rounds)
    merged.pop("hosts")
    merged["duration_us"] = sum(r["duration_us"] for r in rounds)
    merged["server_cpu_s"] = sum(r["server_cpu_s"] for r in rounds)
    merged["rounds"] = len(rounds)
    return with_rates(merged)


# -- report ----------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for tool, args in (("wrk", ["wrk", "--version"]), ("node", ["node", "--version"])):
        if shutil.which(args[0]):
            out = subprocess.run(args, capture_output=True, text=True, check=False)
            info[tool] = (
                (out.stdout or out.stderr).strip().splitlines()[0].split(" Copyright")[0][:60]
                if (out.stdout or out.stderr)
                else "?"
            )
    return info


def ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else a / b


def targets(
    cases: dict[str, dict[str, Any]], first_answers: dict[str, float | None]
) -> list[tuple[str, str, bool | None]]:
    def rps(key: str) -> float | None:
        return cases[key]["rps"] if key in cases else None

    def p99(key: str) -> float | None:
        return cases[key]["latency_us"]["p99"] if key in cases else None

    checks: list[tuple[str, float | None, float]] = [
        (
            "default serve, stateless 2: default / Prism >= 1.0",
            ratio(rps("default stateless 2"), rps("prism stateless 2")),
            1.0,
        ),
        (
            "default serve, stateless 500: default / Prism >= 1.0",
            ratio(rps("default stateless 500"), rps("prism stateless 500")),
            1.0,
        ),
        (
            "stateless 500: mock / Prism >= 1.5",
            ratio(rps("mock stateless 500"), rps("prism stateless 500")),
            1.5,
        ),
        (
            "stateless 500: mock / bare Flask >= 0.85",
            ratio(rps("mock stateless 500"), rps("bare stateless 500")),
            0.85,
        ),
        (
            "stateful 500: mock / Prism stateless >= 1.0",
            ratio(rps("mock stateful 500"), rps("prism stateless 500")),
            1.0,
        ),
        (
            "stateless 2: mock / Prism >= 1.3",
            ratio(rps("mock stateless 2"), rps("prism stateless 2")),
            1.3,
        ),
        (
            "stateful 2: mock / Prism stateless >= 1.3",
            ratio(rps("mock stateful 2"), rps("prism stateless 2")),
            1.3,
        ),
    ]
    out: list[tuple[str, str, bool | None]] = []
    for label, value, goal in checks:
        out.append(
            (
                label,
                "n/a" if value is None else f"{value:.2f}x",
                None if value is None else value >= goal,
            )
        )
    for size in SIZES:
        for mode in ("stateless", "stateful"):
            mine, theirs = p99(f"mock {mode} {size}"), p99(f"prism stateless {size}")
            value = ratio(mine, theirs)
            out.append(
                (
                    f"{mode} {size}: mock p99 <= 0.5 x Prism p99",
                    "n/a" if value is None else f"{value:.2f}x",
                    None if value is None else value <= 0.5,
                )
            )
    for name in ("default", "mock"):
        first_answer = first_answers.get(name)
        out.append(
            (
                f"{name}: first answer <= 0.5 s after start",
                "n/a" if first_answer is None else f"{first_answer:.2f} s",
                None if first_answer is None else first_answer <= 0.5,
            )
        )
    return out


def table(result: dict[str, Any]) -> str:
    cases: dict[str, dict[str, Any]] = result["cases"]
    lines = [
        "| server | case | customers | requests/s | p50 ms | p99 ms | errors "
        "| server CPU ms / request | cores busy | mock / this |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    order = {name: index for index, name in enumerate(SERVERS)}
    for key, data in sorted(
        cases.items(),
        key=lambda kv: (kv[0].split()[1], int(kv[0].split()[2]), order.get(kv[0].split()[0], 9)),
    ):
        server, mode, size = key.split()
        mine = cases.get(f"mock {mode} {size}") or cases.get(f"mock stateless {size}")
        rel = (
            "" if server == "mock" else (f"{ratio(mine['rps'], data['rps']):.2f}x" if mine else "")
        )
        lines.append(
            f"| {server} | {mode} | {size} | {data['rps']:,.0f} | "
            f"{data['latency_us']['p50'] / 1000:.1f} | "
            f"{data['latency_us']['p99'] / 1000:.1f} | {data['error_count']} | "
            f"{data['server_cpu_ms'] or 0:.2f} | {data['server_cores']:.2f} | {rel} |"
        )
    lines.append("")
    lines.append("| target | measured | met |")
    lines.append("|---|---:|---|")
    for label, value, ok in result["targets"]:
        lines.append(
            f"| {label} | {value} | {'n/a' if ok is None else ('yes' if ok else '**no**')} |"
        )
    lines.append("")
    starts = ", ".join(
        f"{k} {v:.2f} s" for k, v in result["first_answer_s"].items() if v is not None
    )
    m = result["machine"]
    lines.append(f"First answer after start: {starts}.")
    lines.append("")
    lines.append(
        f"Run {result['started']}: `{result['command']}`; load {result['load']['generator']} "
        f"{result['load']['connections']} connections, {result['load']['duration_s']:g} s per case "
        f"in {result.get('rounds', 1)} round(s), each on a freshly started server after "
        f"{max(1.0, result['load']['warmup_s'] / result.get('rounds', 1)):.3g} s of warm-up; "
        f"mock `mockserver serve {' '.join(result['mock_args'])}`; "
        f"machine: {m['nproc']} cores, {m['cpu']}, Python {m['python']}, {m.get('wrk', 'no wrk')}, "
        f"Node {m.get('node', '-')}."
    )
    return "\n".join(lines)


def write_doc(text: str) -> None:
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    if not DOC.exists():
        DOC.write_text(f"# Benchmarks\n\n{start}\n{end}\n")
    doc = DOC.read_text()
    if start not in doc or end not in doc:
        doc += f"\n{start}\n{end}\n"
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(f"{head}{start}\n{text}\n{end}{tail}")


# -- main ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per case (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="warm-up seconds per case (default 2)"
    )
    parser.add_argument(
        "--connections", type=int, default=16, help="concurrent connections (default 16)"
    )
    parser.add_argument(
        "--cases",
        default="",
        help="comma-separated cases to run, e.g. 'stateless 2,stateful 500' (default: all)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="split each case's time into this many rounds, the servers taking turns in each "
        "(default 2): a machine that drifts for minutes affects every server alike",
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 s per case, 1 s warm-up; no doc update"
    )
    parser.add_argument(
        "--python-load", action="store_true", help="use the Python generator, not wrk"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated servers to run (default: {','.join(SERVERS)})",
    )
    parser.add_argument(
        "--mock-arg",
        action="append",
        default=[],
        help="extra argument for `mockserver serve` (repeatable), to try settings",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="also run `mockserver serve ARGS` as server NAME in the same run, "
        "e.g. --variant 'w1=--workers 1 --threads 8 --quiet'",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds = 3.0, 1.0, 1

    generator = "wrk"
    if args.python_load or shutil.which("wrk") is None:
        generator = "python-threads"
        print(
            "NOTE: wrk not found (apt-get install wrk); using the Python thread generator, which "
            "competes for the same cores and under-reports every server's rate."
        )
    load = Load(
        connections=args.connections,
        wrk_threads=2,
        duration_s=args.duration,
        warmup_s=args.warmup,
        generator=generator,
    )

    tmp = Path(tempfile.mkdtemp(prefix="bench-bodies-"))
    bodies: dict[int, tuple[bytes, Path]] = {}
    for size in SIZES:
        body = customers_body(size)
        path = tmp / f"bulk{size}.json"
        path.write_bytes(body)
        bodies[size] = (body, path)

    wanted = [name.strip() for name in args.servers.split(",") if name.strip()]
    unknown = set(wanted) - set(SERVERS)
    if unknown:
        parser.error(f"--servers: unknown {sorted(unknown)}; known: {', '.join(SERVERS)}")
    servers: list[Server] = []
    mock_args = [*MOCK_ARGS, *args.mock_arg]
    serve_args = {
        "default": [],  # no flags (the launcher adds --port 0): what `mockserver serve` does
        "mock": mock_args,
        "mock-1w": ["--workers", "1", "--quiet"],
    }
    for name in wanted:
        if name in serve_args:
            servers.append(
                Server(name, [], 0, cwd=Path(tmp), stateful=True, serve_args=serve_args[name])
            )
        elif name == "gthread":  # gunicorn's own gthread worker under the mock's app
            port = free_port()
            worker = str(BENCH / "serve_with_worker.py")
            command = [sys.executable, worker, "gthread", "--port", str(port), *mock_args]
            servers.append(Server(name, command, port, cwd=Path(tmp), stateful=True))
    database = None
    if {"pg", "pg-2h"} & set(wanted):
        database = start_database()
    for name in ("pg", "pg-2h"):
        if name not in wanted or database is None:
            continue
        url = create_database(database, name.replace("-", "_"))
        hosts = [
            Server(
                name if n == 0 else f"{name}#{n + 1}",
                [],
                0,
                cwd=Path(tmp),
                stateful=True,
                serve_args=[*mock_args, "--state", url],
                also_cpu_of=[database.process.pid],
            )
            for n in range(2 if name == "pg-2h" else 1)
        ]
        hosts[0].peers = hosts[1:]
        servers.append(hosts[0])
    for variant in args.variant:
        # NAME=[VAR=value ...] serve-arguments, e.g. "old=PYTHONPATH=/tmp/old --workers 2 --quiet"
        # (run from a neutral directory, so PYTHONPATH can point at another copy of the package,
        # which may predate the launcher's --port-file: it gets a port of its own).
        name, _, rest = variant.partition("=")
        words = rest.split()
        env = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
        variant_args = [w for w in words if not ("=" in w and not w.startswith("-"))]
        port = free_port()
        command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), *variant_args]
        servers.append(Server(name, command, port, cwd=Path(tmp), stateful=True, env=env))
    if "bare" in wanted:
        port = free_port()
        servers.append(
            Server(
                "bare",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-w",
                    str(WORKERS),
                    "-k",
                    "gthread",
                    "--threads",
                    str(THREADS),
                    "--keep-alive",
                    "30",
                    # A listening socket per worker, as `mockserver serve --workers N` has: with
                    # one shared socket one worker may hold most of wrk's connections.
                    "--reuse-port",
                    "--log-level",
                    "warning",
                    "-b",
                    f"{HOST}:{port}",
                    "bare_flask:app",
                ],
                port,
                cwd=BENCH,
            )
        )
    if "prism" in wanted:
        prism = ensure_prism()
        if prism:
            port = free_port()
            servers.append(
                Server(
                    "prism",
                    [
                        prism,
                        "mock",
                        "-v",
                        "silent",
                        "-h",
                        HOST,
                        "-p",
                        str(port),
                        str(ROOT / "specs" / "bunce.yaml"),
                    ],
                    port,
                    route="/customers/bulk",
                )
            )

    invocation = (
        "python benchmarks/run.py"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    result: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": invocation.strip(),
        "machine": machine(),
        "load": load.__dict__,
        "rounds": max(1, args.rounds),
        "mock_args": mock_args,
        "cases": {},
        "first_answer_s": {},
    }
    total_started = time.perf_counter()
    try:
        running: list[Server] = []
        for server in servers:  # one at a time, so each start-up has the machine to itself
            what = (
                " ".join(["mockserver serve", *server.serve_args])
                if server.serve_args is not None
                else " ".join(server.command[:7]) + " ..."
            )
            print(f"== start {server.name}: {what}", flush=True)
            try:
                first_answer_s = server.start(bodies[2][0])
            except RuntimeError as exc:
                print(f"   {server.name} skipped: {exc}")
                continue
            finally:
                server.stop()
            result["first_answer_s"][server.name] = first_answer_s
            print(f"   first answer after {first_answer_s:.2f} s", flush=True)
            running.append(server)
        # Case by case, the servers one after the other: a neighbour that loads the machine for
        # a while hits every server of a case alike. Only the server measured runs: an idle one
        # is not idle (its background workers look for due jobs, in PostgreSQL too).
        only = {c.strip() for c in args.cases.split(",") if c.strip()}
        for mode in ("stateless", "stateful"):
            for size in SIZES:
                if only and f"{mode} {size}" not in only:
                    continue
                measured = [s for s in running if mode == "stateless" or s.stateful]
                rounds: dict[str, list[dict[str, Any]]] = {s.name: [] for s in measured}
                for turn in range(max(1, args.rounds)):
                    # Each round starts with the next server: none is always first (right
                    # after another server stopped) or always last.
                    shift = turn % len(measured) if measured else 0
                    for server in measured[shift:] + measured[:shift]:
                        server.start(bodies[2][0])
                        try:
                            rounds[server.name].append(
                                measure(load, server, size, mode, bodies, args.rounds)
                            )
                        finally:
                            server.stop()
                for server in measured:
                    data = merge_rounds(rounds[server.name])
                    result["cases"][f"{server.name} {mode} {size}"] = data
                    lat = data["latency_us"]
                    print(
                        f"   {server.name:8} {mode:9} {size:3}: {data['rps']:8,.0f} req/s"
                        f"  p50 {lat['p50'] / 1000:6.1f} ms  p99 {lat['p99'] / 1000:6.1f} ms"
                        f"  errors {data['error_count']}"
                        f"  CPU {data['server_cpu_ms'] or 0:.2f} ms/req"
                        f" on {data['server_cores']:.2f} cores",
                        flush=True,
                    )
    finally:
        for server in servers:
            server.stop()
        if database is not None:
            database.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    result["total_s"] = round(time.perf_counter() - total_started, 1)
    result["targets"] = targets(result["cases"], result["first_answer_s"])

    text = table(result)
    print()
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2))
    print(f"\nsaved {out.relative_to(ROOT)} (total {result['total_s']} s)")
    if not (args.quick or args.no_doc or args.mock_arg):
        write_doc(text)
        print(f"updated {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
