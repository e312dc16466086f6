"""``mockserver serve --dataset`` with one worker and no ``--state``: the data set is loaded in the
master before the worker starts, with the app's own packs, so its customers are there and the
jobs the packs schedule (Tamio's import) have their handlers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from mockserver.testing import serve

DATASET = Path(__file__).parents[2] / "fixtures" / "datasets" / "small.json"
ACCOUNT = "tamio_demo_token"  # the account small.json stores its Tamio customers under
AUTH = {"Authorization": f"Bearer {ACCOUNT}"}
EVERYONE = {"page": 1, "per_page": 100, "include_leads": "true"}


@pytest.mark.slow
def test_serve_with_a_dataset_imports_tamio_customers() -> None:
    seeded = json.loads(DATASET.read_text())["tamio"][ACCOUNT]
    with serve("--workers", "1", "--dataset", str(DATASET), "--quiet") as mock:
        tamio = requests.Session()
        tamio.headers.update(AUTH)
        customers = mock.base_url("tamio") + "/customers"
        listed = tamio.get(customers + "/list", params=EVERYONE, timeout=10)
        assert listed.status_code == 200, listed.text
        emails = sorted(c["email"] for c in listed.json()["customers"])
        assert emails == sorted(c["email"] for c in seeded)

        new = {"name": "Ines", "email": "ines@example.com", "country": "es"}
        batch = {"customers": [new, {**seeded[1], "name": "Dup"}]}
        created = tamio.post(customers + "/bulk/create", json=batch, timeout=10)
        assert created.json() == {"status": 200}, created.text
        flushed = requests.post(f"{mock.url}/__mock/jobs/flush", timeout=10)
        assert flushed.status_code == 200, flushed.text

        [job] = requests.get(f"{mock.url}/__mock/jobs", timeout=10).json()["jobs"]
        assert job["status"] == "done", job["result"]  # it failed: no handler for its kind
        assert job["result"]["created"] == 1
        assert [f["email"] for f in job["result"]["failed"]] == [seeded[1]["email"]]
        after = tamio.get(customers + "/list", params=EVERYONE, timeout=10).json()["customers"]
        assert len(after) == len(seeded) + 1
        [imported] = [c for c in after if c["source"] == "import"]
        assert imported["email"] == "ines@example.com"
        tamio.close()
