"""Tamio customers for ``mockserver fixtures generate``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.packs import FixtureBuilder

if TYPE_CHECKING:
    from mockserver.fixtures import People

_PRIORITIES = ("low", "normal", "normal", "normal", "medium", "high")


def customer(people: People) -> dict[str, Any]:
    """A Tamio CustomerInput: required name/email/country, most optional fields some of the time."""
    from mockserver.generate.providers import (  # faker: only when fixtures are made
        COUNTRIES,
        locale_country,
        locale_language,
    )

    fake, locale, person = people.next()
    rng = people.rng
    country = locale_country(locale)
    customer: dict[str, Any] = {
        "name": person["first"],
        "last_name": person["last"],
        "email": person["email"],
        "country": country,
    }
    company = str(fake.company()) if rng.random() < 0.3 else None
    if company:
        customer["company"] = company
    if rng.random() < 0.7:
        customer["phone"] = people.phone(country)
    customer["locale"] = locale_language(locale)
    info = COUNTRIES.get(country)
    customer["timezone_offset"] = info.utc_offsets[0] if info else "+00:00"
    customer["priority"] = rng.choice(_PRIORITIES)
    customer["category"] = "lead" if rng.random() < 0.15 else "customer"
    if rng.random() < 0.5:
        billing: dict[str, Any] = {
            "name": company or f"{person['first']} {person['last']}",
            "is_company": company is not None,
            "address": str(fake.street_address()),
            "city": str(fake.city()),
            "postcode": str(fake.postcode()),
            "country": country,
            "email": person["email"],
        }
        if company:
            billing["representative"] = f"{person['first']} {person['last']}"
            billing["vat"] = people.providers.contact.vat_number(country)
        customer["billing_information"] = billing
        customer["same_shipping_address"] = rng.random() < 0.6
    return customer


FIXTURES = FixtureBuilder(
    customer=customer,
    bulk_operation="bulkCreateCustomers",
    item_operation="createCustomer",
    default_account="tamio_demo_token",
)
