"""``mockserver examples DIR``: spec examples proposed from recordings, named, in the right
operation, status and media type, with what breaks the spec marked."""

from __future__ import annotations

import subprocess

import requests
import yaml

from mockserver.openapi.loader import bundled_spec_paths
from mockserver.specchecks import lint

from .conftest import AUTH, proxy_settings
from .support import MOCKSERVER
from .upstream import ANSWERS


def record(mock, cases: list[str]) -> None:
    for case in cases:
        requests.get(mock.base_url("bunce") + f"/customers/{case}", headers=AUTH, timeout=10)


def examples(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MOCKSERVER, "examples", *args], capture_output=True, text=True, timeout=60
    )


def test_recordings_become_named_examples_under_their_operation_and_status(
    tmp_path, broken, start_mock
) -> None:
    recorder = start_mock(proxy_settings(broken.url, record_dir=str(tmp_path / "rec")))
    record(recorder, ["fine", "wrong-type", "wrong-type", "undocumented"])
    requests.post(recorder.base_url("bunce") + "/customers/bulk", headers=AUTH,
                  json={"customers": [{"first_name": "Ada"}]}, timeout=10)

    finished = examples(str(tmp_path / "rec"), "--api", "bunce")
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("# 5 example(s) proposed by `mockserver examples`")
    proposal = yaml.safe_load(finished.stdout)["bunce"]
    assert proposal["spec"].endswith("bunce.yaml")
    get = proposal["paths"]["/customers/{customer_id}"]["get"]
    assert get["operationId"] == "getCustomer"
    ok = get["responses"]["200"]["content"]["application/json"]["examples"]
    assert set(ok) == {"recorded_0001", "recorded_0002"}  # the two identical answers: once
    assert ok["recorded_0001"]["value"] == ANSWERS["fine"][1]
    assert "x-mock-violations" not in ok["recorded_0001"]
    assert ok["recorded_0002"]["x-mock-violations"] == [
        "data.phone_no: 23481999999999 is not of type string"]
    assert ok["recorded_0002"]["summary"].startswith(
        "Recorded answer 200 (bunce/getCustomer-0002.json, ")
    forbidden = get["responses"]["403"]
    assert forbidden["description"].startswith("NOT IN THE SPEC: getCustomer documents no 403")
    bulk = proposal["paths"]["/customers/bulk"]["post"]
    sent = bulk["requestBody"]["content"]["application/json"]["examples"]["recorded_0001"]
    assert sent["value"] == {"customers": [{"first_name": "Ada"}]}
    assert "customers[0].last_name: is required" in sent["x-mock-violations"]
    assert "207" in bulk["responses"]

    # an example without violations, copied into the spec, passes the spec's own checks
    spec = next(p for p in bundled_spec_paths() if p.stem == "bunce")
    document = yaml.safe_load(spec.read_text())
    target = document["paths"]["/customers/{customer_id}"]["get"]["responses"]["200"]
    target["content"]["application/json"]["examples"]["recorded_0001"] = ok["recorded_0001"]
    patched = tmp_path / "bunce.yaml"
    patched.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    assert lint(patched) == []
    target["content"]["application/json"]["examples"]["recorded_0002"] = {
        "value": ok["recorded_0002"]["value"]}
    patched.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    assert "data.phone_no" in str(lint(patched))  # the marked one would not


def test_the_proposal_can_be_written_to_a_file(tmp_path, broken, start_mock) -> None:
    recorder = start_mock(proxy_settings(broken.url, record_dir=str(tmp_path / "rec")))
    record(recorder, ["fine"])
    out = tmp_path / "proposal.yaml"
    finished = examples(str(tmp_path / "rec"), "-o", str(out))
    assert (finished.returncode, finished.stderr.strip()) == (0, f"wrote {out}")
    assert "recorded_0001" in yaml.safe_load(out.read_text())["bunce"]["paths"][
        "/customers/{customer_id}"]["get"]["responses"]["200"]["content"]["application/json"][
        "examples"]
