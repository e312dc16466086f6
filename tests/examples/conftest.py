"""Shared bits of the how-tos: where the fixture files are, and the credentials they use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def load_fixture() -> Any:
    """``load_fixture("bunce_bulk_duplicates.json")`` -> the parsed JSON file from fixtures/."""

    def load(name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return load
