"""`mockserver contract SPEC --url URL`: the same checks against any deployment.

Here the deployment is a live mock (``MockServer.start``): it passes; the same mock with an
injected outage, and a spec that says something the mock does not do, fail with exit code 1.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mockserver import apis, contract
from mockserver.cli import main
from mockserver.config import Settings
from mockserver.openapi.loader import bundled_spec_dir
from mockserver.testing import MockServer, serve

CREDENTIALS = {"tamio": "Authorization: Bearer ci-token", "bunce": "X-Authorization: sk_test_ci"}
FAST = ["--max-examples", "5"]


@pytest.fixture(scope="module")
def live() -> Iterator[MockServer]:
    with MockServer.start(Settings(validate_responses="strict", log_requests=False,
                                   seed=contract.DEFAULT_SEED, job_delay_s=0.01)) as server:
        yield server


@pytest.fixture
def server(live: MockServer) -> Iterator[MockServer]:
    # fresh() checks after the test: strict response validation, nothing undocumented left
    with live.fresh() as mock:
        yield mock


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, ["contract", *args], catch_exceptions=False)


@pytest.mark.parametrize("api", ["bunce", "tamio"])
def test_the_mock_passes_every_check_and_phase(server: MockServer, api: str) -> None:
    result = invoke(api, "--url", server.base_url(api), "--header", CREDENTIALS[api], *FAST)
    assert result.exit_code == 0, result.output
    assert "target: mock" in result.output  # found through /__mock/health
    for phase in ("examples", "coverage", "fuzzing"):
        assert f"phase {phase}" in result.output
    assert result.output.rstrip().endswith("; ok")
    # It really talked to the mock: every operation was called and accepted the credentials.
    called = {e["operation_id"] for e in server.requests(api=api) if e["status"] != 401} - {None}
    assert called == {op.operation_id for op in server.engine.by_name[api].spec.operations}


def test_an_outage_is_a_disagreement(server: MockServer) -> None:
    # 503 for every request: the spec documents 5XX (the faults the mock can inject), yet a
    # server error is never a correct answer, so not_a_server_error fails.
    server.fault(api="bunce", status=503, count=10**6)
    result = invoke("bunce", "--url", server.base_url("bunce"), "--header", CREDENTIALS["bunce"],
                    *FAST, "--phases", "examples")
    assert result.exit_code == 1, result.output
    assert "FAIL GET /customers/{customer_id} [not_a_server_error] (examples): Server error" in (
        result.output
    )
    assert "reproduce: curl" in result.output
    assert "failure(s)" in result.output.splitlines()[-1]


def _spec_saying(tmp_path: Path, change: Any) -> Path:
    document = yaml.safe_load((bundled_spec_dir() / "bunce.yaml").read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / "bunce-wrong.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_a_spec_the_server_does_not_follow_fails(server: MockServer, tmp_path: Path) -> None:
    # This spec claims customer_created_at is a unix timestamp; the mock sends ISO 8601 strings.
    def integer_timestamps(document: dict[str, Any]) -> None:
        customer = document["components"]["schemas"]["Customer"]["properties"]
        customer["customer_created_at"] = {"type": "integer"}

    spec = _spec_saying(tmp_path, integer_timestamps)
    result = invoke(str(spec), "--url", server.base_url("bunce"), "--header", CREDENTIALS["bunce"],
                    *FAST, "--checks", "response_schema_conformance", "--phases", "examples")
    assert result.exit_code == 1, result.output
    assert "[response_schema_conformance]" in result.output
    assert "customer_created_at" in result.output


def test_documented_rejection_catches_a_400_that_is_not_the_documented_one(
        server: MockServer, tmp_path: Path) -> None:
    # A Tamio spec whose retrieve takes any string as id: the mock (bundled spec: uuid) refuses
    # "abc" with a validation 400 (99001). 400 is allowed for a valid retrieve only as error_code
    # 1002 (not found), so documented_rejection must flag it even though the status is accepted.
    document = contract.read_spec(bundled_spec_dir() / "tamio.yaml")
    loose = copy.deepcopy(document)
    parameter = loose["paths"]["/customers/retrieve/{uuid}"]["get"]["parameters"][0]
    parameter["schema"] = {"type": "string", "pattern": "^[a-z]{3}$"}
    result = contract.run(loose, server.base_url("tamio"), target="mock",
                          headers={"Authorization": "Bearer ci-token"}, max_examples=5,
                          phases=["fuzzing"],
                          checks=["positive_data_acceptance", "documented_rejection"])
    assert not result.ok
    checks = {f.check for f in result.findings if f.operation == "GET /customers/retrieve/{uuid}"}
    assert checks == {"documented_rejection"}, [f.render() for f in result.findings]
    assert "error_code 1002" in result.findings[0].message


def test_mock_only_allowances_stay_off_against_a_deployment(server: MockServer) -> None:
    # The same mock called a "deployment": Tamio's any-token-goes is no longer excused.
    result = contract.run("specs/tamio.yaml" if Path("specs/tamio.yaml").is_file()
                          else bundled_spec_dir() / "tamio.yaml",
                          server.base_url("tamio"), target="deployment",
                          headers={"Authorization": "Bearer ci-token"}, max_examples=3,
                          phases=["examples"], checks=["ignored_auth"])
    assert not result.ok
    assert {f.check for f in result.findings} == {"ignored_auth"}


def test_strict_drops_every_allowance() -> None:
    document = contract.read_spec(bundled_spec_dir() / "bunce.yaml")
    assert contract.allowances_for(document, target="mock")
    assert contract.allowances_for(document, target="mock", strict=True) == []
    assert "operations" not in contract.config_dict(document, strict=True)


def test_every_allowance_names_a_real_operation_and_check() -> None:
    checks = set(contract.check_names())
    allowances = [(pack.name, a) for pack in apis.bundled() for a in pack.allowances]
    assert allowances
    for api, allowance in allowances:
        document = contract.read_spec(bundled_spec_dir() / f"{api}.yaml")
        operation_ids = {op.get("operationId") for item in document["paths"].values()
                         for op in item.values() if isinstance(op, dict)}
        assert set(allowance.operations) <= operation_ids, allowance
        assert allowance.check in checks, allowance
        assert len(allowance.reason) > 40, "every allowance says why it is right"


def test_usage_errors_exit_2(server: MockServer) -> None:
    url = server.base_url("bunce")
    assert invoke("nosuchapi", "--url", url).exit_code == 2
    assert invoke("bunce", "--url", url, "--header", "no-colon").exit_code == 2
    assert invoke("bunce", "--url", url, "--checks", "no_such_check").exit_code == 2
    assert invoke("bunce", "--url", url, "--phases", "warmup").exit_code == 2


def test_an_unreachable_deployment_fails() -> None:
    result = invoke("bunce", "--url", "http://127.0.0.1:9/bunce/v1", "--header",
                    CREDENTIALS["bunce"], *FAST, "--phases", "examples")
    assert result.exit_code == 1, result.output


@pytest.mark.slow
def test_every_bundled_spec_passes_against_mockserver_serve() -> None:
    # The production server (gunicorn, two workers sharing the SQLite state), not the test thread.
    with serve("--workers", "2", "--quiet", "--log-level", "warning") as served:
        for api in ("bunce", "tamio"):
            result = invoke(api, "--url", served.base_url(api), "--header", CREDENTIALS[api], *FAST)
            assert result.exit_code == 0, result.output + served.log_tail()
            assert result.output.rstrip().endswith("; ok")
