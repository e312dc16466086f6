"""What the user-spec suites share: their spec folder, and ``mockserver serve`` run to its end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MOCKSERVER = str(Path(sys.executable).with_name("mockserver"))
SPECS = Path(__file__).parent / "specs"


def run_serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``mockserver serve ARGS`` expecting it to stop by itself (a refused spec)."""
    return subprocess.run(
        [MOCKSERVER, "serve", "--port", "0", "--no-bundled", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
