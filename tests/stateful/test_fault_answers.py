"""Injected faults answer only what the spec documents, over real HTTP against the plugin's live
server and against ``mockserver serve``: every status each operation documents, injected, gives
a body that validates against that response's schema and carries its required headers
(``Retry-After`` on a 429); a status an operation does not document is refused when armed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from mockserver.app import load_specs
from mockserver.config import Settings
from mockserver.formats import format_checker
from mockserver.openapi.spec import Operation, Spec
from mockserver.testing import MockServer, ServeProcess

SPECS = {spec.name: spec for spec in load_specs(Settings())}
PATH_VALUES = {"uuid": "550e8400-e29b-41d4-a716-446655440000", "customer_id": "7"}


def injectable() -> list[tuple[str, str, int]]:
    """(api, operationId, status) for every status each bundled operation documents; a
    ``5XX`` range is tried as 500 and 503."""
    cases = []
    for name, spec in SPECS.items():
        for op in spec.operations:
            for key in op.documented_statuses():
                statuses = [500, 503] if key == "5XX" else [int(key)] if key.isdigit() else []
                cases.extend((name, op.operation_id, status) for status in statuses)
    return cases


def operation(api: str, operation_id: str) -> Operation:
    found = SPECS[api].operation(operation_id)
    assert found is not None
    return found


def request_path(spec: Spec, op: Operation) -> str:
    path = op.path
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return spec.mount + path


def check_documented(spec: Spec, op: Operation, response: requests.Response) -> None:
    """The answer is one the spec documents: status, content type, schema, required headers."""
    definition = op.response_for(response.status_code)
    assert definition is not None, response.status_code
    for name, header in definition.headers.items():
        if header.get("required"):
            assert name in response.headers, (name, dict(response.headers))
    media = response.headers["Content-Type"].split(";")[0]
    assert media in definition.content, media
    schema = definition.content[media].schema
    validator = Draft202012Validator(
        {**schema, "components": spec.document["components"]}, format_checker=format_checker()
    )
    errors = [error.message for error in validator.iter_errors(response.json())]
    assert errors == [], (response.json(), errors)


@dataclass
class Target:
    url: str

    def arm(self, **fault: Any) -> requests.Response:
        return requests.post(f"{self.url}/__mock/faults", json=fault, timeout=5)

    def journal(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/__mock/requests", timeout=5)
        entries: list[dict[str, Any]] = answer.json()["requests"]
        return entries


@pytest.fixture(params=["fixture", pytest.param("serve", marks=pytest.mark.slow)])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "fixture":
        mockserver: MockServer = request.getfixturevalue("mockserver")
        return Target(mockserver.url)
    running: ServeProcess = request.getfixturevalue("served")
    running.reset()
    return Target(running.url)


@pytest.mark.parametrize(("api", "operation_id", "status"), injectable())
def test_every_injectable_answer_is_one_the_spec_documents(
    target: Target, api: str, operation_id: str, status: int
) -> None:
    spec, op = SPECS[api], operation(api, operation_id)
    armed = target.arm(api=api, operation_id=operation_id, status=status)
    assert armed.status_code == 201, armed.text

    response = requests.request(op.method, target.url + request_path(spec, op), timeout=5)

    assert response.status_code == status, response.text
    check_documented(spec, op, response)
    [entry] = target.journal()
    assert "response_violations" not in entry  # the mock's own strict check agrees
    if status == 429:
        assert response.headers["Retry-After"] == "1"


def test_an_injected_server_error_names_the_fault_in_each_envelope(target: Target) -> None:
    tamio = target.arm(api="tamio", status=503).json()
    bunce = target.arm(api="bunce", status=500).json()

    tamio_answer = requests.get(f"{target.url}/tamio/v2/customers/list", timeout=5)
    bunce_answer = requests.get(f"{target.url}/bunce/v1/customers/7", timeout=5)

    assert tamio_answer.json() == {
        "status": 503,
        "error": f"Injected fault {tamio['id']}: status 503",
        "error_code": 99500,  # the mock's own server-error code, not the validation one
    }
    assert bunce_answer.json() == {
        "success": False,
        "message": f"Injected fault {bunce['id']}: status 500",
    }


@pytest.mark.parametrize(
    ("fault", "documented"),
    [
        (
            {"api": "tamio", "operation_id": "retrieveCustomer", "status": 404},
            "statuses the targeted operations document: 200, 400, 401, 413, 429, 5XX",
        ),
        (
            {"api": "bunce", "operation_id": "getCustomer", "status": 409},
            "statuses the targeted operations document: 200, 401, 404, 413, 415, 422, 429, 5XX",
        ),
        ({"api": "tamio", "status": 404}, "statuses the targeted operations document: 200, "),
        ({"status": 422}, "tamio.bulkCreateCustomers"),  # Bunce documents 422, Tamio does not
    ],
)
def test_a_status_no_targeted_operation_documents_is_refused_when_armed(
    target: Target, mockserver: MockServer, fault: dict[str, Any], documented: str
) -> None:
    refused = target.arm(**fault)

    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == "application/problem+json"
    detail = refused.json()["detail"]
    assert detail.startswith(f"status {fault['status']} is not documented for ")
    assert documented in detail
    assert requests.get(f"{target.url}/__mock/faults", timeout=5).json()["faults"] == []
    with pytest.raises(ValueError, match=f"status {fault['status']} is not documented"):
        mockserver.fault(**fault)


def test_a_fault_by_path_is_checked_against_the_operation_the_path_routes_to(
    target: Target,
) -> None:
    by_path = target.arm(api="bunce", path="/bunce/v1/customers/7", method="GET", status=404)
    nowhere = target.arm(api="bunce", path="/bunce/v1/nowhere", status=500)

    assert by_path.status_code == 201, by_path.text
    assert nowhere.status_code == 400
    assert "the fault matches no operation" in nowhere.json()["detail"]
    answer = requests.get(f"{target.url}/bunce/v1/customers/7", timeout=5)
    assert answer.status_code == 404
    assert answer.json()["success"] is False
