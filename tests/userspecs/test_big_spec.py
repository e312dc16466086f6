"""A big spec (about 1.4 MB of JSON, 1,000 operations over 400 component schemas that refer to
each other, generated like Discord's) starts fast and lean: its loading is reported, validators
are compiled on first use, and the answers are as for a small spec. Over real HTTP.
``benchmarks/spec_loading.py`` measures it against Prism."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockserver.testing import ServeProcess, serve

pytestmark = pytest.mark.slow
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
AUTH = {"Authorization": "Bot token"}


def write_big_spec(path: Path) -> Path:
    loaded = importlib.util.spec_from_file_location("bigspec", BENCHMARKS / "bigspec.py")
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    written: Path = module.write_big_spec(path, operations=1000, schemas=400)
    return written


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    folder = tmp_path_factory.mktemp("big")
    spec = write_big_spec(folder / "big.json")
    assert spec.stat().st_size > 1_000_000
    with serve("--no-bundled", "--seed", "7", "--spec", f"big={spec}", timeout=180) as served:
        yield served


def high_water_mb(pid: int) -> float:
    total = 0.0
    for each in [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


def test_a_long_load_is_reported(server: ServeProcess) -> None:
    output = server.log()
    assert re.search(r"loading \S+big.json \(1\.\d MB\) \.\.\.", output), output
    assert "1000 operations in" in output and "(validators compiled on first use)" in output


def test_operations_answer_and_validate_as_for_a_small_spec(server: ServeProcess) -> None:
    base = server.url + "/big/api/v10/guilds/1"
    got = requests.get(base + "/resource0s", headers=AUTH, timeout=60)
    assert got.status_code == 200, got.text
    assert isinstance(got.json()["id"], str)
    refused = requests.post(base + "/resource2s", json={"id": "1"}, headers=AUTH, timeout=60)
    assert refused.status_code == 400  # 4XX documented: the Error shape, carrying the message
    assert refused.json()["message"] == "name: is required"
    bad_id = requests.patch(base + "/resource1s/abc", json={}, headers=AUTH, timeout=60)
    assert bad_id.status_code == 400 and "item_id: 'abc' does not match" in bad_id.text


def test_memory_stays_below_prisms(server: ServeProcess) -> None:
    # Prism 5 holds about 290 MB on a spec of this size; every operation has been answered
    # (compiled) by the tests above.
    assert high_water_mb(server.process.pid) < 290
