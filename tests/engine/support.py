"""What the engine tests share: settings, credentials, paths, and assertions on answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SPECS = Path(__file__).parent / "specs"
WIDGETS = SPECS / "widgets.yaml"
DOCUMENTED = ROOT / "fixtures" / "documented"

TAMIO_AUTH = {"Authorization": "Bearer tok_engine_tests"}
BUNCE_AUTH = {"X-Authorization": "sk_test_engine"}
BUNCE_JSON = {**BUNCE_AUTH, "Content-Type": "application/json"}
WIDGETS_AUTH = {"X-Api-Key": "key_engine_tests"}
MIB = 1024 * 1024

TAMIO_CUSTOMER = {
    "name": "John",
    "last_name": "Doe",
    "country": "de",
    "email": "john.doe@tamio.com",
}
BUNCE_CUSTOMER = {
    "customer_id": "0000",
    "first_name": "John",
    "last_name": "Doe",
    "email": "johndoe21@example.com",
    "phone_no": "+23481999999999",
}


def settings(**overrides: Any) -> Settings:
    """Test settings: no background thread, strict response checks, quiet, seeded, plus widgets."""
    values: dict[str, Any] = {
        "background": False,
        "validate_responses": "strict",
        "log_requests": False,
        "seed": 1234,
        "specs": [str(WIDGETS)],
    }
    values.update(overrides)
    return Settings(**values)


def documented(name: str) -> bytes:
    """A payload the vendor documents (fixtures/documented/<name>.json), as raw bytes."""
    return (DOCUMENTED / f"{name}.json").read_bytes()


@dataclass(frozen=True)
class Op:
    """One documented operation and a request that it accepts."""

    api: str
    operation_id: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    # Every field of the body is optional: any JSON object is valid (an update).
    open_body: bool = False

    @property
    def id(self) -> str:
        return f"{self.api}.{self.operation_id}"

    @property
    def has_body(self) -> bool:
        return self.body is not None


UNKNOWN_UUID = "0b6d3c1e-3c2a-4a8e-9a51-6d2f1c0e7b10"

OPERATIONS = [
    Op(
        "tamio",
        "bulkCreateCustomers",
        "POST",
        "/tamio/v2/customers/bulk/create",
        TAMIO_AUTH,
        {"customers": [TAMIO_CUSTOMER]},
    ),
    Op("tamio", "createCustomer", "POST", "/tamio/v2/customers/create", TAMIO_AUTH, TAMIO_CUSTOMER),
    Op(
        "tamio",
        "retrieveCustomer",
        "GET",
        f"/tamio/v2/customers/retrieve/{UNKNOWN_UUID}",
        TAMIO_AUTH,
    ),
    Op(
        "tamio",
        "listCustomers",
        "GET",
        "/tamio/v2/customers/list",
        TAMIO_AUTH,
        query={"page": "1", "per_page": "10"},
    ),
    Op(
        "bunce",
        "createCustomersBulk",
        "POST",
        "/bunce/v1/customers/bulk",
        BUNCE_JSON,
        {"customers": [BUNCE_CUSTOMER]},
    ),
    Op("bunce", "createCustomer", "POST", "/bunce/v1/customers", BUNCE_JSON, BUNCE_CUSTOMER),
    Op("bunce", "getCustomer", "GET", "/bunce/v1/customers/0000", BUNCE_AUTH),
    Op("bunce", "listCustomers", "GET", "/bunce/v1/customers", BUNCE_AUTH),
    Op(
        "bunce",
        "updateCustomer",
        "PUT",
        "/bunce/v1/customers/0000",
        BUNCE_JSON,
        {"first_name": "Jane"},
        open_body=True,
    ),
    Op(
        "bunce",
        "updateCustomersBulk",
        "PUT",
        "/bunce/v1/customers/bulk-update",
        BUNCE_JSON,
        {"customers": [{"customer_id": "0000", "first_name": "Jane"}]},
    ),
    Op(
        "bunce",
        "createCustomerDevices",
        "POST",
        "/bunce/v1/customers/0000/devices",
        BUNCE_JSON,
        {"devices": [{"device_type": "ios", "device_token": "123456"}]},
    ),
    Op("bunce", "getCustomerDevices", "GET", "/bunce/v1/customers/0000/devices", BUNCE_AUTH),
    Op(
        "bunce",
        "updateCustomerDevice",
        "PATCH",
        "/bunce/v1/customers/0000/devices",
        BUNCE_JSON,
        {"current_device_token": "123456", "device_token": "654321"},
    ),
]
# Operations on the customer "0000", which the tests' empty store does not have: 404.
ON_A_CUSTOMER = {
    "retrieveCustomer",
    "getCustomer",
    "updateCustomer",
    "updateCustomersBulk",  # 409: the one item is unknown
    "createCustomerDevices",
    "getCustomerDevices",
    "updateCustomerDevice",
}
CREATE_OPERATIONS = [
    op
    for op in OPERATIONS
    if op.operation_id in ("bulkCreateCustomers", "createCustomer", "createCustomersBulk")
]
BODY_OPERATIONS = [op for op in OPERATIONS if op.has_body]
VALIDATION_STATUS = {"tamio": 400, "bunce": 422}


def body_of(response: Any) -> Any:
    """The JSON body of a Flask test response (or a requests response); fails if it is not JSON."""
    content_type = response.headers.get("Content-Type", "")
    assert "json" in content_type, f"{response.status_code} answered {content_type!r}, not JSON"
    raw = response.get_data() if hasattr(response, "get_data") else response.content
    return json.loads(raw)


def assert_envelope(api: str, response: Any) -> dict[str, Any]:
    """The error body is in ``api``'s documented envelope (README: How the mock answers)."""
    body = body_of(response)
    status = response.status_code
    if api == "tamio":
        assert body["status"] == status and isinstance(body["error"], str) and body["error"], body
        if status == 401:
            assert "error_code" not in body, body
        else:
            assert isinstance(body["error_code"], int), body
    elif api == "bunce":
        assert body["success"] is False and isinstance(body["message"], str) and body["message"], (
            body
        )
        assert set(body) <= {"success", "message", "errors"}, body
    else:
        assert response.headers["Content-Type"] == "application/problem+json", response.headers
        assert body["status"] == status and body["title"] and body["detail"], body
    return body
