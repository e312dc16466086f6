"""Bunce customers for ``mockserver fixtures generate``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.packs import FixtureBuilder

if TYPE_CHECKING:
    from mockserver.fixtures import People

# ULIDs of customer n are n minutes apart from 2024-01-01T00:00:00Z, like a client database's.
ULID_EPOCH_MS = 1_704_067_200_000


def customer(people: People) -> dict[str, Any]:
    """A Bunce CustomerInput: customer_id (a ULID), names, email, E.164 phone, sometimes devices."""
    from mockserver.generate.providers import locale_country  # faker: only when fixtures are made

    _, locale, person = people.next()
    rng = people.rng
    customer: dict[str, Any] = {
        "customer_id": people.providers.ids.ulid(ULID_EPOCH_MS + people.serial * 61_000),
        "first_name": person["first"],
        "last_name": person["last"],
        "email": person["email"],
        "phone_no": people.phone(locale_country(locale)),
    }
    if rng.random() < 0.4:
        customer["devices"] = [
            {"device_type": rng.choice(("ios", "android")),
             "device_token": people.providers.ids.hex_token(64)}
            for _ in range(rng.choice((1, 1, 2)))
        ]
    return customer


def account(name: str) -> str:
    """A secret key Bunce accepts: ``sk_test_<name>`` unless ``name`` is one already."""
    return name if name.startswith(("sk_test_", "sk_live_")) else f"sk_test_{name}"


FIXTURES = FixtureBuilder(
    customer=customer,
    bulk_operation="createCustomersBulk",
    item_operation="createCustomer",
    default_account="sk_test_demo",
    account=account,
)
