"""Programs some tests drive (real clients, a browser, a database server).

Locally a missing program skips the test that needs it, with the reason. In CI (``CI`` set, as
``.ci/run`` runs) it fails instead: CI installs every program these tests use, so a skip there
would hide a test that never ran.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def unavailable(message: str) -> NoReturn:
    """Skip the test that needs what is missing, or fail it under CI (which installs it)."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_program(name: str, *alternatives: str) -> str:
    """The path of ``name`` (or of the first of ``alternatives`` found); skip or fail without."""
    for candidate in (name, *alternatives):
        found = shutil.which(candidate)
        if found is not None:
            return found
    unavailable(f"{name} is not installed (Debian: apt-get install it; .ci/run does)")
