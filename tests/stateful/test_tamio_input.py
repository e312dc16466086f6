"""Tamio's address objects and its country and language codes, over real HTTP: each test runs
against the plugin's live server and against ``mockserver serve`` (gunicorn), with responses
checked against the spec (the fixture validates them strictly)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from mockserver.testing import MockServer

from .helpers import ServedMock, Tamio, serve, tamio_customer


@dataclass
class Target:
    """A Tamio client and how to run the server's pending imports now."""

    tamio: Tamio
    flush: Callable[[], None]
    customers: Callable[[], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    log = tmp_path_factory.mktemp("served") / "serve.log"
    with serve("--validate-responses", "strict", log=log) as running:
        yield running


@pytest.fixture(params=["fixture", pytest.param("serve", marks=pytest.mark.slow)])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "fixture":
        mockserver: MockServer = request.getfixturevalue("mockserver")
        base, control = mockserver.base_url("tamio"), f"{mockserver.url}/__mock"
    else:
        running: ServedMock = request.getfixturevalue("served")
        base, control = running.base_url("tamio"), f"{running.url}/__mock"
        assert requests.post(f"{control}/reset", timeout=5).status_code == 200
    tamio = Tamio(base, "tok_input")

    def flush() -> None:
        assert requests.post(f"{control}/jobs/flush", timeout=10).status_code == 200

    def customers() -> list[dict[str, Any]]:
        listed = tamio.list({"page": 1, "per_page": 100, "include_leads": "true"})
        assert listed.status_code == 200, listed.text
        found: list[dict[str, Any]] = listed.json()["customers"]
        return found

    return Target(tamio, flush, customers)


def error_of(response: requests.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400
    assert body["error_code"] == 99001  # the mock's validation code
    message: str = body["error"]
    return message


# -- addresses -------------------------------------------------------------------------------


def test_a_bulk_item_with_a_billing_object_of_only_a_phone_is_imported(target: Target) -> None:
    response = target.tamio.bulk_create(
        tamio_customer("Ann", "ann@example.com", billing_information={"phone": "08421234"}),
        tamio_customer("Bob", "bob@example.com", shipping_information={"city": "Berlin"}),
    )

    assert response.json() == {"status": 200}
    target.flush()
    ann, bob = target.customers()
    [billing] = ann["billing_addresses"]
    assert billing["phone"] == "08421234"
    assert (billing["country"], billing["address"], billing["name"]) == (None, None, None)
    assert billing["shipping_address"] is False
    [shipping] = bob["shipping_addresses"]
    assert (shipping["city"], shipping["country"]) == ("Berlin", None)
    assert shipping["shipping_address"] is True


def test_a_partial_address_still_has_each_sent_sub_field_checked(target: Target) -> None:
    response = target.tamio.bulk_create(
        tamio_customer("Ann", "ann@example.com", billing_information={"email": "not-an-email"})
    )

    assert error_of(response).startswith("customers[0].billing_information.email: ")


def test_single_create_needs_the_billing_sub_fields_its_document_requires(
    target: Target,
) -> None:
    partial = {"name": "Ann GmbH", "country": "de", "city": "Berlin"}

    response = target.tamio.create(
        tamio_customer("Ann", "ann@example.com", billing_information=partial)
    )

    assert error_of(response) == "billing_information.address: is required"
    assert target.customers() == []
    complete = target.tamio.create(
        tamio_customer(
            "Ann",
            "ann@example.com",
            billing_information=partial | {"address": "Str 1"},
            shipping_information={"phone": "+49 30 1234567"},  # no shipping sub-field is required
        )
    )
    assert complete.status_code == 200, complete.text
    [shipping] = complete.json()["customer"]["shipping_addresses"]
    assert (shipping["phone"], shipping["city"]) == ("+49 30 1234567", None)
