"""Profile one request type in process (no sockets): where does the mock's time go?

    .venv/bin/python benchmarks/profile_engine.py --size 500 --mode stateful --state sqlite
    .venv/bin/python benchmarks/profile_engine.py --size 500 --mode stateless --wsgi   # + Flask

Runs the request ``--count`` times through ``Engine.handle`` (or, with ``--wsgi``, through the
whole WSGI app) under pyinstrument and prints the profile and the mean time per request. The
profile of the running server under load (py-spy) is described in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import customers_body

from mockserver.app import create_app
from mockserver.config import Settings
from mockserver.engine import Engine
from mockserver.messages import RequestData


class _Query:
    def getlist(self, key: str) -> list[str]:
        return []


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--mode", choices=["stateless", "stateful"], default="stateless")
    parser.add_argument("--state", choices=["memory", "sqlite"], default="sqlite")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--wsgi", action="store_true", help="go through Flask (the WSGI app)")
    parser.add_argument("--no-profile", action="store_true", help="only time it")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="profile-")
    settings = Settings(
        log_requests=False,
        background=False,
        state=str(Path(tmp) / "state.sqlite3") if args.state == "sqlite" else None,
        state_durable=False,  # a throwaway file, as `serve --workers N` runs it
    )
    app = create_app(settings)
    engine: Engine = app.extensions["mockserver"]
    body = customers_body(args.size)
    route = "/bunce/v1/customers/bulk"

    def headers(n: int) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        if args.mode == "stateless":
            h.update({"Prefer": "code=200", "X-Authorization": "sk_test_profile"})
        else:
            h["X-Authorization"] = f"sk_test_profile_{n}"
        return h

    def one_engine(n: int) -> int:
        stream = io.BytesIO(body)
        response = engine.handle(
            RequestData(
                method="POST",
                path=route,
                query=_Query(),
                query_string="",
                headers=headers(n),
                cookies={},
                content_length=len(body),
                read_body=stream.read,
            )
        )
        return response.status

    def one_wsgi(n: int) -> int:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": route,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
        }
        for key, value in headers(n).items():
            if key not in ("Content-Type", "Content-Length"):
                environ["HTTP_" + key.upper().replace("-", "_")] = value
        status: list[str] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(line)
            return None

        chunks = app(environ, start_response)
        b"".join(chunks)
        return int(status[0].split()[0])

    one = one_wsgi if args.wsgi else one_engine
    assert one(-1) == 200, "the request must succeed"
    for n in range(10):  # warm-up
        one(-100 - n)
    profiler = None
    if not args.no_profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    for n in range(args.count):
        one(n)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    print(
        f"{args.mode} {args.size} ({args.state}, {'wsgi' if args.wsgi else 'engine'}): "
        f"{elapsed / args.count * 1000:.2f} ms per request ({cpu / args.count * 1000:.2f} ms CPU) "
        f"over {args.count}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
