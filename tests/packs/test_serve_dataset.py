"""``mockserver serve --dataset`` with one worker and no ``--state``: the data set is loaded in the
master before the worker starts, with the app's own packs, so its customers are there and the
jobs the packs schedule (Tamio's import) have their handlers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.stateful.helpers import serve, tamio_customer, wait_until

DATASET = Path(__file__).parents[2] / "fixtures" / "datasets" / "small.json"
ACCOUNT = "tamio_demo_token"  # the account small.json stores its Tamio customers under


@pytest.mark.slow
def test_serve_with_a_dataset_imports_tamio_customers(tmp_path: Path) -> None:
    seeded = json.loads(DATASET.read_text())["tamio"][ACCOUNT]
    with serve("--workers", "1", "--dataset", str(DATASET), log=tmp_path / "serve.log") as mock:
        tamio = mock.tamio(ACCOUNT)
        listed = tamio.list(include_leads="true")
        assert listed.status_code == 200, listed.text
        assert sorted(c["email"] for c in listed.json()["customers"]) == sorted(
            c["email"] for c in seeded
        )

        batch = [tamio_customer("Ines", "ines@example.com"), {**seeded[1], "name": "Dup"}]
        assert tamio.bulk_create(*batch).json() == {"status": 200}
        flushed = requests.post(f"{mock.url}/__mock/jobs/flush", timeout=10)
        assert flushed.status_code == 200, flushed.text

        [job] = wait_until(
            lambda: requests.get(f"{mock.url}/__mock/jobs?status=done", timeout=5).json()["jobs"],
            what="the import job to finish",
        )
        assert job["result"]["created"] == 1, job["result"]
        assert [f["email"] for f in job["result"]["failed"]] == [seeded[1]["email"]]
        customers = tamio.list(include_leads="true").json()["customers"]
        assert len(customers) == len(seeded) + 1
        [imported] = [c for c in customers if c["source"] == "import"]
        assert imported["email"] == "ines@example.com"
