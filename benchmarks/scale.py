"""Scale: a million stored Bunce customers in one account. Memory, and get/list latency.

    .venv/bin/python benchmarks/scale.py                    # both backends, about 2 minutes
    .venv/bin/python benchmarks/scale.py --backend sqlite --total 200000

Seeds customers straight through the State API (``insert_batch`` of 5,000 records built by the
Bunce behaviour's ``new_customer``), each backend in its own process, and at 10k, 100k and 1M
stored customers measures the process RSS and the latency of ``get`` and of a 20-customer page
(first page, a cursor page in the middle, the last page), both through the State API and through
the whole engine (``GET /bunce/v1/customers/{id}``, ``GET /bunce/v1/customers?per_page=20``).
Target: RSS < 1.5 GB at 1M and latency flat from 10k to 1M. Results go to
``benchmarks/results/scale-<time>.json`` and the table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
ACCOUNT = "sk_test_scale"
CHECKPOINTS = (10_000, 100_000, 1_000_000)
RSS_LIMIT_MB = 1536


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn: Callable[[], Any], count: int) -> dict[str, float]:
    """p50 / p99 / mean in microseconds of ``count`` calls."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return {
        "p50_us": samples[len(samples) // 2],
        "p99_us": samples[int(len(samples) * 0.99)],
        "mean_us": sum(samples) / len(samples),
    }


class _Query:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def getlist(self, key: str) -> list[str]:
        return [self.values[key]] if key in self.values else []


def worker(backend: str, total: int, batch: int) -> dict[str, Any]:
    """Runs in a fresh process: seed, measure at each checkpoint, return the numbers."""
    from mockserver.apis.bunce.behaviours import encode_cursor, new_customer
    from mockserver.app import create_app
    from mockserver.config import Settings
    from mockserver.messages import RequestData
    from mockserver.store import Scope

    tmp = tempfile.mkdtemp(prefix="scale-")
    state_path = str(Path(tmp) / "state.sqlite3") if backend == "sqlite" else None
    app = create_app(
        Settings(
            log_requests=False, background=False, state=state_path, validate_responses="warn"
        )
    )
    engine = app.extensions["mockserver"]
    state = engine.services.state
    scope = Scope("bunce", ACCOUNT)
    rng = random.Random(1)
    base_rss = rss_mb()

    def handle(path: str, query: dict[str, str] | None = None) -> int:
        response = engine.handle(
            RequestData(
                method="GET",
                path=path,
                query=_Query(query or {}),
                query_string="",
                headers={"X-Authorization": ACCOUNT},
                cookies={},
                content_length=0,
                read_body=io.BytesIO(b"").read,
            )
        )
        return int(response.status)

    stored = 0
    seed_s = 0.0
    points: list[dict[str, Any]] = []
    for checkpoint in [c for c in CHECKPOINTS if c <= total] or [total]:
        started = time.perf_counter()
        while stored < checkpoint:
            n = min(batch, checkpoint - stored)
            records = [
                new_customer(
                    {
                        "customer_id": f"c{i:07d}",
                        "first_name": "Ada",
                        "last_name": f"Obi{i}",
                        "email": f"ada.obi{i}@example.com",
                        "phone_no": "+2348012345678",
                    }
                )
                for i in range(stored, stored + n)
            ]
            outcomes = state.records.insert_batch(scope, records)
            assert all(o.created for o in outcomes)
            stored += n
        seed_s += time.perf_counter() - started
        ids = [f"c{rng.randrange(stored):07d}" for _ in range(2000)]
        middle = state.records.page(scope, limit=1, offset=stored // 2).records[0].seq
        last = state.records.page(scope, limit=1, offset=stored - 1).records[0].seq
        assert handle(f"/bunce/v1/customers/{ids[0]}") == 200
        cursor_mid = encode_cursor("next", middle)
        assert handle("/bunce/v1/customers", {"per_page": "20", "cursor": cursor_mid}) == 200
        point = measure_point(state, scope, handle, stored, tmp, base_rss, iter(ids), middle, last)
        points.append(point)
        print(
            f"  {backend}: {stored:>9,} customers, RSS {point['rss_mb']:7.1f} MB, "
            f"get {point['http_get']['p50_us']:6.0f} us, "
            f"list {point['http_list_middle']['p50_us']:6.0f} us",
            file=sys.stderr,
            flush=True,
        )
    state.close()
    for p in Path(tmp).iterdir():
        p.unlink()
    os.rmdir(tmp)
    return {
        "backend": backend,
        "seed_s": round(seed_s, 1),
        "seed_per_s": round(stored / seed_s),
        "points": points,
    }


def measure_point(
    state: Any,
    scope: Any,
    handle: Callable[..., int],
    stored: int,
    tmp: str,
    base_rss: float,
    ids: Any,
    middle: int,
    last: int,
) -> dict[str, Any]:
    """The numbers at one size: RSS, and get / page latency through the State API and the engine."""
    from mockserver.apis.bunce.behaviours import encode_cursor

    cursor_mid = {"per_page": "20", "cursor": encode_cursor("next", middle)}
    cursor_end = {"per_page": "20", "cursor": encode_cursor("prev", last + 1)}
    first = {"per_page": "20"}
    return {
        "customers": stored,
        "rss_mb": round(rss_mb(), 1),
        "rss_growth_mb": round(rss_mb() - base_rss, 1),
        "db_mb": round(sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20, 1),
        "state_get": timed(lambda: state.records.get(scope, next(ids)), 1000),
        "state_page_first": timed(lambda: state.records.page(scope, limit=20), 300),
        "state_page_middle": timed(
            lambda: state.records.page(scope, limit=20, after_seq=middle), 300
        ),
        "state_page_last": timed(
            lambda: state.records.page(scope, limit=20, before_seq=last + 1), 300
        ),
        "http_get": timed(lambda: handle(f"/bunce/v1/customers/{next(ids)}"), 500),
        "http_list_first": timed(lambda: handle("/bunce/v1/customers", first), 300),
        "http_list_middle": timed(lambda: handle("/bunce/v1/customers", cursor_mid), 300),
        "http_list_last": timed(lambda: handle("/bunce/v1/customers", cursor_end), 300),
    }


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | customers | RSS MB | DB file MB | get p50 / p99 µs (State) "
        "| page p50 µs first / middle / last (State) | GET /customers/{id} p50 / p99 µs "
        "| GET /customers p50 µs first / middle / last |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for p in run["points"]:
            g, h = p["state_get"], p["http_get"]
            lines.append(
                f"| {run['backend']} | {p['customers']:,} | {p['rss_mb']:.0f} | {p['db_mb']:.0f} | "
                f"{g['p50_us']:.0f} / {g['p99_us']:.0f} | "
                f"{p['state_page_first']['p50_us']:.0f} / {p['state_page_middle']['p50_us']:.0f} / "
                f"{p['state_page_last']['p50_us']:.0f} | {h['p50_us']:.0f} / {h['p99_us']:.0f} | "
                f"{p['http_list_first']['p50_us']:.0f} / {p['http_list_middle']['p50_us']:.0f} / "
                f"{p['http_list_last']['p50_us']:.0f} |"
            )
    lines.append("")
    for run in runs:
        top = run["points"][-1]
        first = run["points"][0]
        flat = top["http_get"]["p50_us"] / first["http_get"]["p50_us"]
        flat_list = top["http_list_middle"]["p50_us"] / first["http_list_middle"]["p50_us"]
        ok = top["rss_mb"] < RSS_LIMIT_MB
        lines.append(
            f"* {run['backend']}: seeded {top['customers']:,} in {run['seed_s']} s "
            f"({run['seed_per_s']:,}/s); "
            f"RSS {top['rss_mb']:.0f} MB ({'under' if ok else '**over**'} 1.5 GB); "
            f"get and list latency at {top['customers']:,} vs {first['customers']:,}: "
            f"{flat:.2f}x and {flat_list:.2f}x."
        )
    return "\n".join(lines)


def write_doc(text: str, command: str) -> None:
    start, end = "<!-- scale:start -->", "<!-- scale:end -->"
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if start not in doc or end not in doc:
        doc += f"\n{start}\n{end}\n"
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    DOC.write_text(f"{head}{start}\n{text}\n\nRun {stamp}: `{command}`.\n{end}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "memory", "both"], default="both")
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.backend, args.total, args.batch)))
        return 0
    backends = ["sqlite", "memory"] if args.backend == "both" else [args.backend]
    runs = []
    for backend in backends:
        print(f"== {backend}", file=sys.stderr, flush=True)
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                "--backend",
                backend,
                "--total",
                str(args.total),
                "--batch",
                str(args.batch),
            ],
            stdout=subprocess.PIPE,
            text=True,
            timeout=1800,
            check=True,
        )
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    text = table(runs)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(runs, indent=2))
    print(f"saved {out.relative_to(ROOT)}")
    command = "python benchmarks/scale.py" + (
        ""
        if argv is None and len(sys.argv) == 1
        else " " + " ".join(argv if argv is not None else sys.argv[1:])
    )
    if not args.no_doc and args.total >= 1_000_000:
        write_doc(text, command)
        print(f"updated {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
