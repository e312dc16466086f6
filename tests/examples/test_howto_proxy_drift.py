"""How to: learn where the real API and the spec disagree (proxy, drift report, recordings).

The open question here is B3 (``x-mock.decisions`` in specs/bunce.yaml): which HTTP status does
Bunce answer when some items of a bulk create fail? The spec says 409, the mock's choice. To
settle it, run your client's integration tests once through the mock in proxy mode, pointed at
the Bunce sandbox, recording what comes back::

    mockserver serve --api bunce --proxy bunce=https://sandbox.api.bunce.so/v1 --record recordings

``mockserver drift`` then lists where the sandbox's answers break the spec, and ``--replay
recordings`` answers the same requests offline. docs/proxy.md walks through it on the command line.

So that this runs offline, a local stand-in plays the sandbox: a second mock whose copy of the
spec answers a partial failure with 200 (``x-mock.conflict-status: 200``, one of B3's candidates).
"""

from pathlib import Path

import requests
import yaml

from mockserver.config import Settings
from mockserver.openapi.loader import bundled_spec_paths
from mockserver.proposals import propose
from mockserver.recording import load_recordings
from mockserver.testing import MockServer

KEY = {"X-Authorization": "sk_test_howto_proxy_1234567890"}
CUSTOMERS = {"customers": [
    {"customer_id": "0000", "first_name": "John", "last_name": "Doe",
     "email": "johndoe21@example.com", "phone_no": "+23481999999999"},
    {"customer_id": "1111", "first_name": "John", "last_name": "Doe",
     "email": "johndoe22@example.com", "phone_no": "+23481999999999"},
]}


def start_sandbox_stand_in(folder: Path) -> MockServer:
    """A mock of Bunce that answers a partial bulk failure with 200 (the "real" API here)."""
    spec = next(p for p in bundled_spec_paths() if p.stem == "bunce")
    variant = folder / "sandbox-bunce.yaml"
    variant.write_text(spec.read_text().replace("conflict-status: 409", "conflict-status: 200"))
    return MockServer.start(Settings(specs=[str(variant)], bundled=False, background=False,
                                     validate_responses="off", log_requests=False))


def client_run(base_url: str) -> list[requests.Response]:
    """Your client's integration test: the same customers twice (the second time, duplicates)."""
    return [requests.post(base_url + "/customers/bulk", json=CUSTOMERS, headers=KEY, timeout=10)
            for _ in range(2)]


def test_settle_the_status_of_a_partial_bulk_failure(tmp_path):
    sandbox = start_sandbox_stand_in(tmp_path)
    proxy = MockServer.start(Settings(
        apis=["bunce"], background=False, log_requests=False,
        proxy={"bunce": sandbox.base_url("bunce")},  # the sandbox URL, in real life
        record_dir=str(tmp_path / "recordings"),
    ))
    try:
        first, second = client_run(proxy.base_url("bunce"))
        report = proxy.drift()
    finally:
        proxy.stop()
        sandbox.stop()

    # 1. The answers are the sandbox's, unchanged: a partial failure comes back as 200.
    assert first.status_code == 200
    assert second.status_code == 200
    failed = second.json()
    assert failed["message"] == "Errors encountered while creating. 2 out of 2 customers failed"
    # ... and the header says at once that this answer breaks the spec.
    assert "X-Mock-Violations" in second.headers

    # 2. The drift report: the spec's 200 is a success body; this one lacks `data` and `success`.
    assert report.drift
    assert [(i.operation_id, i.side, i.field, i.count) for i in report.items] == [
        ("createCustomersBulk", "response", "data", 1),
        ("createCustomersBulk", "response", "success", 1),
    ]
    assert report.items[0].sample["status"] == 200
    print(report.render())  # what `mockserver drift` prints

    # 3. The recordings hold the evidence (without the key), one file per exchange.
    recordings = load_recordings(tmp_path / "recordings")
    assert [r.file for r in recordings] == [
        "bunce/createCustomersBulk-0001.json", "bunce/createCustomersBulk-0002.json"]
    assert recordings[1].status == 200
    assert recordings[1].request_headers["X-Authorization"] == "sk_test_***"

    # 4. `mockserver examples recordings` proposes the answer as a named example under 200,
    #    marked as breaking the spec: B3 is settled by changing the spec, not the example.
    from mockserver import apis
    from mockserver.engine import MountedApi
    from mockserver.openapi.loader import load_spec

    spec = load_spec(next(p for p in bundled_spec_paths() if p.stem == "bunce"))
    mounted = MountedApi(spec, apis.registry())
    proposal = yaml.safe_load(propose({"bunce": mounted}, recordings, "recordings"))
    answers = proposal["bunce"]["paths"]["/customers/bulk"]["post"]["responses"]["200"]
    example = answers["content"]["application/json"]["examples"]["recorded_0002"]
    assert example["value"]["status"] is False
    assert example["x-mock-violations"] == ["data: is required", "success: is required"]

    # 5. Offline, the recordings answer the same requests the same way (sandbox gone).
    replay = MockServer.start(Settings(apis=["bunce"], background=False, log_requests=False,
                                       replay_dir=str(tmp_path / "recordings")))
    try:
        replayed = client_run(replay.base_url("bunce"))
    finally:
        replay.stop()
    assert [(r.status_code, r.json()) for r in replayed] == [
        (first.status_code, first.json()), (second.status_code, second.json())]
