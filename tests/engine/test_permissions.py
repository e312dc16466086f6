"""Tamio keys may carry permissions: a key without ``customers create`` cannot create customers.

Tamio documents no 403, so the mock answers 401 naming the missing permission. Keys that are not
configured keep the default: any non-empty token is accepted with every permission.
"""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.app import create_app
from mockserver.config import Settings

CUSTOMER = {"name": "John", "email": "john.doe@example.com", "country": "de"}


@pytest.fixture
def client() -> Any:
    settings = Settings(
        background=False,
        validate_responses="strict",
        log_requests=False,
        tokens={"tk_readonly": ["customers read"], "tk_writer": ["customers create"]},
    )
    return create_app(settings).test_client()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tamio/v2/customers/bulk/create", {"customers": [CUSTOMER]}),
        ("/tamio/v2/customers/create", CUSTOMER),
    ],
)
def test_a_key_without_customers_create_is_refused_with_the_missing_permission(
    client: Any, path: str, body: dict[str, Any]
) -> None:
    response = client.post(path, json=body, headers=auth("tk_readonly"))

    assert response.status_code == 401
    assert response.get_json() == {
        "status": 401,
        "error": "This API key lacks the 'customers create' permission; grant it to the key",
    }


def test_a_key_with_the_permission_creates(client: Any) -> None:
    response = client.post("/tamio/v2/customers/create", json=CUSTOMER, headers=auth("tk_writer"))

    assert response.status_code == 200
    assert response.get_json()["customer"]["email"] == "john.doe@example.com"


def test_reads_need_no_permission(client: Any) -> None:
    response = client.get(
        "/tamio/v2/customers/list",
        query_string={"page": 1, "per_page": 5},
        headers=auth("tk_readonly"),
    )

    assert response.status_code == 200


def test_unconfigured_keys_keep_every_permission(client: Any) -> None:
    response = client.post("/tamio/v2/customers/create", json=CUSTOMER, headers=auth("any-token"))

    assert response.status_code == 200


def test_permissions_come_from_the_environment_too() -> None:
    settings = Settings.from_env({"MOCKSERVER_TOKENS": '{"tk_x": ["customers read"]}'})

    assert settings.tokens == {"tk_x": ["customers read"]}
