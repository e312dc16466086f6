"""Start-up on a big spec: time to the first answer and peak memory, mockserver and Prism side
by side in one run (Prism when Node is present; installed into benchmarks/.prism like run.py).

    .venv/bin/python benchmarks/spec_loading.py [--operations 1000] [--schemas 400] [--runs 3]
    .venv/bin/python benchmarks/spec_loading.py --tiers 0 --runs 1   # references without tiers

The spec (benchmarks/bigspec.py, about 1.3 MB of JSON at the defaults) is generated into a
temporary folder: many operations over hundreds of component schemas that refer to each other
in tiers, like Discord's. Peak memory is the sum of the high-water RSS (VmHWM) of the server's
processes. A server that has not answered after ``--timeout`` seconds is stopped and reported
as such (with its peak so far).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bigspec import write_big_spec
from run import ensure_prism, free_port

from mockserver.testing import serve

MOCKSERVER = str(Path(sys.executable).with_name("mockserver"))


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found.extend(tree(int(child)))
    return found


def high_water_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def answered(url: str, headers: dict[str, str]) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as a:
            return a.status == 200
    except (urllib.error.URLError, OSError):
        return False


Measured = tuple[float | None, float]  # seconds to the first answer (None: none in time), MB


def first_answer(
    command: list[str], url: str, headers: dict[str, str], timeout: float
) -> Measured:
    """Start ``command`` (Prism); seconds until ``url`` answers 200 (None if it has not after
    ``timeout``), and the peak RSS (MB) until then."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not answered(url, headers):
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}")
            if time.perf_counter() - started > timeout:
                return None, high_water_mb(tree(process.pid))
            time.sleep(0.02)
        # VmHWM is each process's high-water mark: read once answered, it is the peak so far.
        return time.perf_counter() - started, high_water_mb(tree(process.pid))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def mock_first_answer(
    spec: Path, path: str, headers: dict[str, str], timeout: float
) -> Measured:
    """``mockserver serve`` of ``spec`` alone: seconds until ``path`` answers 200, peak RSS (MB)."""
    started = time.perf_counter()
    with serve(
        "--no-bundled", "--quiet", "--spec", f"big={spec}", command=[MOCKSERVER], timeout=timeout
    ) as served:
        url = served.base_url("big") + path
        while not answered(url, headers):
            if time.perf_counter() - started > timeout:
                return None, high_water_mb(tree(served.pid))
            time.sleep(0.02)
        return time.perf_counter() - started, high_water_mb(tree(served.pid))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=1000)
    parser.add_argument("--schemas", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--tiers",
        type=int,
        default=4,
        help="tiers of schemas (default 4); 0: a schema may refer to any earlier one",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for a first answer"
    )
    parser.add_argument("--no-prism", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="spec-loading-"))
    try:
        spec = write_big_spec(
            folder / "big.json", args.operations, args.schemas, tiers=args.tiers or None
        )
        print(
            f"spec: {spec.stat().st_size / 1e6:.2f} MB, {args.operations} operations, "
            f"{args.schemas} schemas in {args.tiers or 'no'} tiers"
        )
        path = "/guilds/1/resource0s"  # op0, a GET
        headers = {"Authorization": "Bot x"}
        results: dict[str, list[Measured]] = {"mockserver": [], "prism": []}
        prism = None if args.no_prism or not shutil.which("node") else ensure_prism()
        for _ in range(args.runs):
            results["mockserver"].append(mock_first_answer(spec, path, headers, args.timeout))
            if prism:
                port = free_port()
                results["prism"].append(
                    first_answer(
                        [prism, "mock", "-p", str(port), "-h", "127.0.0.1", str(spec)],
                        f"http://127.0.0.1:{port}{path}",  # Prism ignores the server path
                        headers,
                        args.timeout,
                    )
                )
        print(f"{'server':<12} {'first answer s':>15} {'peak RSS MB':>12}")
        medians: dict[str, tuple[float | None, float]] = {}
        for name, runs in results.items():
            if not runs:
                continue
            times = [t for t, _ in runs]
            # A run with no answer in time counts as slower than every answered one.
            slowest_first = sorted(times, key=lambda t: (t is None, t or 0.0))
            medians[name] = (slowest_first[len(times) // 2], statistics.median(m for _, m in runs))
            seconds = medians[name][0]
            shown = f"{seconds:.2f}" if seconds is not None else f"none in {args.timeout:.0f}"
            print(f"{name:<12} {shown:>15} {medians[name][1]:>12.0f}")
        if "prism" in medians:
            (mine_s, mine_mb), (theirs_s, theirs_mb) = medians["mockserver"], medians["prism"]
            if mine_s is None:
                timing = "mockserver did not answer in time"
            elif theirs_s is None:
                timing = f"under {mine_s / args.timeout:.3f}x Prism's (Prism: none in time)"
            else:
                timing = f"{mine_s / theirs_s:.2f}x Prism's"
            print(
                f"time to first answer: {timing} (target <= 0.5); "
                f"peak memory: {mine_mb / theirs_mb:.2f}x Prism's (target <= 1.0); "
                f"machine load {os.getloadavg()[0]:.1f}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
