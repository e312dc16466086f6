"""The drift report: violations by operation and JSON path with counts and a sample, from the
journal (the fixture, GET /__mock/drift, ``mockserver drift --url``), as text and JSON, and an
exit code a CI job can fail on."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import jsonschema
import pytest
import requests

from mockserver.testing import ServeProcess, serve

from .conftest import AUTH
from .support import MOCKSERVER
from .upstream import BrokenUpstream


def get(mock, case: str) -> int:
    url = mock.base_url("bunce") + f"/customers/{case}"
    return requests.get(url, headers=AUTH, timeout=10).status_code


def bulk(mock, customers: list[dict]) -> int:
    url = mock.base_url("bunce") + "/customers/bulk"
    return requests.post(url, headers=AUTH, json={"customers": customers}, timeout=10).status_code


def test_the_report_groups_by_operation_and_path_with_counts_and_a_sample(proxy) -> None:
    for case in ("missing", "missing", "wrong-type", "fine", "slow"):
        get(proxy, case)
    bulk(proxy, [{"first_name": "A"}, {"first_name": "B"}])  # last_name missing twice

    report = proxy.drift()

    assert report.drift
    assert (report.exchanges, report.with_drift, report.upstream_errors) == (5, 4, 1)
    counts = {(i.operation_id, i.side, i.field): i.count for i in report.items}
    assert counts[("getCustomer", "response", "data.customer_created_at")] == 2
    assert counts[("getCustomer", "response", "data.phone_no")] == 1
    assert counts[("createCustomersBulk", "request", "customers[*].last_name")] == 2
    assert counts[("createCustomersBulk", "response", "status")] == 1
    [missing] = [i for i in report.items if i.field == "data.customer_created_at"]
    assert missing.sample["problem"] == "is required"
    assert (missing.sample["method"], missing.sample["path"], missing.sample["status"]) == (
        "GET", "/bunce/v1/customers/missing", 200)
    [index] = [i for i in report.items if i.field == "customers[*].last_name"]
    assert index.sample["field"] == "customers[0].last_name"  # the sample keeps the real path

    served = requests.get(proxy.url + "/__mock/drift", timeout=10).json()
    assert served == json.loads(json.dumps(report.as_dict()))
    # ... as the control API's own document describes it
    document = requests.get(proxy.url + "/__mock/openapi.json", timeout=10).json()
    schema = {**document["components"]["schemas"]["DriftReport"],
              "components": document["components"]}
    jsonschema.validate(served, schema)
    entry_schema = {**document["components"]["schemas"]["JournalEntry"],
                    "components": document["components"]}
    for entry in proxy.requests():
        jsonschema.validate(entry, entry_schema)


def test_no_drift_when_every_exchange_matches_the_spec(proxy) -> None:
    get(proxy, "fine")
    report = proxy.drift()
    assert not report.drift
    assert report.render() == (
        "no drift: 1 exchange(s) checked, 0 with drift, 0 without an upstream answer\n"
    )


@pytest.fixture(scope="module")
def upstream() -> Iterator[BrokenUpstream]:
    broken = BrokenUpstream(slow_s=2.0).start()
    yield broken
    broken.stop()


@pytest.fixture(scope="module")
def served(upstream) -> Iterator[ServeProcess]:
    """``mockserver serve`` proxying Bunce to the broken upstream (real HTTP, gunicorn)."""
    with serve(
        "--api", "bunce", "--proxy", f"bunce={upstream.url}", "--proxy-timeout", "0.5"
    ) as server:
        yield server


def drift(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MOCKSERVER, "drift", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_mockserver_drift_reads_a_running_proxy_and_exits_1_on_drift(served) -> None:
    requests.post(served.url + "/__mock/reset", timeout=10)
    assert get(served, "accent") == 200
    assert get(served, "undocumented") == 403

    text = drift("--url", served.url)
    assert text.returncode == 1, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "drift: 2 exchange(s) checked, 2 with drift, 0 without an upstream answer"
    assert lines[1] == "bunce getCustomer"
    assert lines[2].startswith("  response data.customer_created_at  x1  e.g. 'hier à 10 h'")
    assert lines[3].startswith("  response status  x1  e.g. 403 is not documented for getCustomer")
    assert "(GET /bunce/v1/customers/undocumented -> 403, seq " in lines[3]

    as_json = drift("--url", served.url, "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["drift"] is True
    assert [(f["field"], f["count"]) for f in report["findings"]] == [
        ("data.customer_created_at", 1),
        ("status", 1),
    ]

    # the request log of the server names each violation with its path
    log = served.log()
    assert "response data.customer_created_at: 'hier à 10 h' is not a valid date-time" in log
    assert "response status: 403 is not documented for getCustomer" in log


@pytest.mark.slow
def test_mockserver_drift_exits_0_without_drift_and_2_when_it_cannot_report(served) -> None:
    requests.post(served.url + "/__mock/reset", timeout=10)
    assert get(served, "fine") == 200
    clean = drift("--url", served.url)
    assert (clean.returncode, clean.stdout.split(":")[0]) == (0, "no drift")

    nobody = drift("--url", "http://127.0.0.1:9/")
    assert nobody.returncode == 2
    assert nobody.stderr.startswith("error: cannot reach http://127.0.0.1:9/__mock/drift")


@pytest.mark.slow
def test_the_violation_header_stays_ascii_through_gunicorn(served) -> None:
    answer = requests.get(served.base_url("bunce") + "/customers/accent", headers=AUTH, timeout=10)
    raw = answer.headers["X-Mock-Violations"]
    assert raw.isascii() and "hier \\u00e0 10 h" in raw
