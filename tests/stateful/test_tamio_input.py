"""Tamio's address objects and its country and language codes, over real HTTP: each test runs
against the plugin's live server and against ``mockserver serve`` (gunicorn), with responses
checked against the spec (the fixture validates them strictly)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from mockserver.testing import MockServer, ServeProcess

from .helpers import Tamio, tamio_customer


@dataclass
class Target:
    """A Tamio client and how to run the server's pending imports now."""

    tamio: Tamio
    flush: Callable[[], None]
    customers: Callable[[], list[dict[str, Any]]]


@pytest.fixture(params=["fixture", pytest.param("serve", marks=pytest.mark.slow)])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "fixture":
        mockserver: MockServer = request.getfixturevalue("mockserver")
        base, control = mockserver.base_url("tamio"), f"{mockserver.url}/__mock"
    else:
        running: ServeProcess = request.getfixturevalue("served")
        base, control = running.base_url("tamio"), f"{running.url}/__mock"
        running.reset()
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


# -- country and language codes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "message"),
    [
        (
            tamio_customer("Ann", "ann@example.com", country="xx"),
            "customers[0].country: 'xx' is not an ISO 3166-1 alpha-2 country code",
        ),
        (
            tamio_customer("Ann", "ann@example.com", country="UK"),  # it is GB
            "customers[0].country: 'UK' is not an ISO 3166-1 alpha-2 country code",
        ),
        (
            tamio_customer("Ann", "ann@example.com", locale="zz"),
            "customers[0].locale: 'zz' is not an ISO 639-1 language code",
        ),
        (
            tamio_customer("Ann", "ann@example.com", billing_information={"country": "QQ"}),
            "customers[0].billing_information.country: 'QQ' is not an ISO 3166-1 alpha-2 "
            "country code",
        ),
        (
            tamio_customer("Ann", "ann@example.com", shipping_information={"locale": "xy"}),
            "customers[0].shipping_information.locale: 'xy' is not an ISO 639-1 language code",
        ),
    ],
)
def test_a_code_that_is_not_a_real_iso_code_refuses_the_bulk(
    target: Target, customer: dict[str, Any], message: str
) -> None:
    response = target.tamio.bulk_create(tamio_customer("Bob", "bob@example.com"), customer)

    body = response.json()
    assert error_of(response) == message.replace("customers[0]", "customers[1]")
    assert body["errors"] == [message.replace("customers[0]", "customers[1]")]
    target.flush()
    assert target.customers() == []


def test_real_codes_are_taken_in_any_case_and_returned_lower_case(target: Target) -> None:
    response = target.tamio.create(
        tamio_customer(
            "Ann",
            "ann@example.com",
            country="CH",
            locale="De",
            billing_information={
                "name": "Ann AG",
                "address": "Bahnhofstrasse 1",
                "city": "Zürich",
                "country": "LI",
                "locale": "FR",
            },
            shipping_information={"country": "at", "locale": "IT"},
        )
    )

    assert response.status_code == 200, response.text
    customer = response.json()["customer"]
    assert (customer["country"], customer["locale"]) == ("ch", "de")
    [billing], [shipping] = customer["billing_addresses"], customer["shipping_addresses"]
    assert (billing["country"], billing["locale"]) == ("li", "fr")
    assert (shipping["country"], shipping["locale"]) == ("at", "it")
    assert target.customers() == [customer]


def test_the_countries_filter_takes_real_codes_only(target: Target) -> None:
    assert target.tamio.create(tamio_customer("Ann", "ann@example.com", country="ch")).ok

    found = target.tamio.list({"page": 1, "per_page": 10, "countries[]": ["CH", "de"]})
    refused = target.tamio.list({"page": 1, "per_page": 10, "countries[]": ["ch", "xx"]})

    assert [c["name"] for c in found.json()["customers"]] == ["Ann"]
    assert error_of(refused) == "countries[][1]: 'xx' is not an ISO 3166-1 alpha-2 country code"


def test_generated_answers_carry_real_codes(target: Target) -> None:
    # Prefer: dynamic=true answers from the spec with faker data; the codes must be real ones
    # (the fixture's strict response check refuses anything else).
    from mockserver.formats import is_country, is_language

    seen: set[str] = set()
    for seed in range(12):
        response = target.tamio.session.get(
            f"{target.tamio.base_url}/customers/list",
            params={"page": 1, "per_page": 5},
            headers={"Prefer": f"dynamic=true, seed={seed}"},
        )
        assert response.status_code == 200, response.text
        for customer in response.json()["customers"]:
            addresses = customer["billing_addresses"] + customer["shipping_addresses"]
            for holder in [customer, *addresses]:
                assert holder["country"] is None or is_country(holder["country"]), holder
                assert holder.get("locale") is None or is_language(holder["locale"]), holder
                seen.add(holder["country"])
    assert len(seen - {None}) > 1
