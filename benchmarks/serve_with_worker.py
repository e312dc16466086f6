"""``mockserver serve`` under another gunicorn worker class, to compare HTTP servers in one run.

    python benchmarks/serve_with_worker.py gthread --workers 2 --threads 2 --quiet

``gthread`` is gunicorn's threaded worker, which `serve` ran before it read each request in
full before a thread sees it (``mockserver.httpworker.BufferingWorker``).
"""

from __future__ import annotations

import sys

import mockserver.server
from mockserver.cli import main

if __name__ == "__main__":
    worker_class, *serve_args = sys.argv[1:]
    mockserver.server.WORKER_CLASS = worker_class
    main(["serve", *serve_args], prog_name="mockserver")
