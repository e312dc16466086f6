"""Fixture data: realistic customer batches and seed data sets, generated with faker.

Two kinds of output, both JSON:

* ``bulk``: a request body for the API's bulk create (``{"customers": [...]}``), valid against the
  bulk operation's request schema. ``duplicates=K`` makes K of the items repeat the email of an
  earlier item (exactly, or as a case variant such as ``ANNA.SCHMIDT@EXAMPLE.COM``); without it
  every email in the batch is unique.
* ``dataset``: customers per API and account, ``{"<api>": {"<account>": [customer, ...]}}``, the
  format ``mockserver serve --dataset``, ``Settings(dataset=...)`` and ``Services.load_dataset``
  read. Each customer is valid against the API's single-create request schema. A ``$meta`` key
  records how the file was made (loaders skip ``$``-keys).

Output depends only on the arguments (and the installed faker version): the same seed gives
byte-identical JSON. Every value comes from one ``random.Random`` and one faker instance per
locale, both seeded from ``seed``; each faker instance carries the providers of
:mod:`mockserver.generate.providers` (E.164 mobile numbers of the locale's country, emails on the
reserved ``example.com/.org/.net`` domains, ULIDs, VAT numbers), the ones the response generator
uses.

No Flask here: ``mockserver fixtures generate`` (cli.py) is a thin wrapper around
:func:`generate`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

from faker import Faker
from faker.config import AVAILABLE_LOCALES

from mockserver.errors import ConfigError
from mockserver.generate.providers import (
    COUNTRIES,
    Providers,
    locale_country,
    locale_language,
    register,
)

KINDS = ("bulk", "dataset")
# The operations whose request schemas the generated data must satisfy.
OPERATIONS = {
    "tamio": {"bulk": "bulkCreateCustomers", "item": "createCustomer"},
    "bunce": {"bulk": "createCustomersBulk", "item": "createCustomer"},
}
# Account (credential) a data set stores customers under when none is given.
DEFAULT_ACCOUNTS = {"tamio": "tamio_demo_token", "bunce": "sk_test_demo"}
_PRIORITIES = ("low", "normal", "normal", "normal", "medium", "high")
# ULIDs of customer n are n minutes apart from 2024-01-01T00:00:00Z, like a client database's.
_ULID_EPOCH_MS = 1_704_067_200_000


@dataclass(frozen=True, slots=True)
class FixtureOptions:
    """What to generate (the ``mockserver fixtures generate`` options)."""

    apis: tuple[str, ...]
    count: int
    seed: int
    locales: tuple[str, ...] = ("en_US",)
    kind: str = "bulk"
    duplicates: int = 0
    accounts: tuple[str, ...] = ()

    def check(self) -> None:
        """Raise ConfigError for options that cannot make a file."""
        unknown = [a for a in self.apis if a not in OPERATIONS]
        if not self.apis or unknown:
            names = ", ".join(unknown) or "(none)"
            raise ConfigError(f"--api {names}: choose from {', '.join(OPERATIONS)}")
        if self.kind not in KINDS:
            raise ConfigError(f"--kind {self.kind!r}: choose bulk or dataset")
        if self.count < 1:
            raise ConfigError(f"--count {self.count}: must be at least 1")
        bad = [loc for loc in self.locales if loc not in AVAILABLE_LOCALES]
        if not self.locales or bad:
            names = ", ".join(bad) or "(none)"
            raise ConfigError(f"--locale {names}: not a faker locale (e.g. en_US, de_DE)")
        if self.kind == "bulk" and len(self.apis) != 1:
            raise ConfigError("--kind bulk makes one API's request body; pass exactly one --api")
        if self.kind == "bulk" and self.accounts:
            raise ConfigError("--account only applies to --kind dataset")
        if not 0 <= self.duplicates < self.count:
            raise ConfigError(f"--duplicates {self.duplicates}: must be between 0 and --count - 1")
        if self.kind == "dataset" and self.duplicates:
            raise ConfigError("--duplicates only applies to --kind bulk (data sets are unique)")


# -- people --------------------------------------------------------------------------------


class _People:
    """Deterministic customers in one or more locales, with emails unique within the batch."""

    def __init__(self, seed: int, locales: Sequence[str]) -> None:
        self.rng = Random(seed)
        self.locales = list(locales)
        self.fakers: list[Faker] = []
        self.registered: list[Providers] = []
        for index, locale in enumerate(self.locales):
            fake = Faker(locale)
            fake.seed_instance(seed * 1009 + index)
            self.fakers.append(fake)
            self.registered.append(register(fake))
        self.providers = self.registered[0]
        self.emails: set[str] = set()
        self.serial = 0

    def next(self) -> tuple[Faker, str, dict[str, str]]:
        """A fresh person: their faker, locale and the fields every API needs (then
        :attr:`providers` are the ones registered on that faker)."""
        index = self.serial % len(self.locales)
        self.serial += 1
        fake, locale = self.fakers[index], self.locales[index]
        self.providers = self.registered[index]
        first, last = str(fake.first_name()), str(fake.last_name())
        return fake, locale, {"first": first, "last": last, "email": self._email(first, last)}

    def _email(self, first: str, last: str) -> str:
        # Names in a non-Latin script have no ASCII spelling: number the customer instead.
        email = self.providers.contact.person_email(first, last, f"customer{self.serial}")
        local, _, domain = email.partition("@")
        while email.lower() in self.emails:
            email = f"{local}{self.rng.randint(2, 999)}@{domain}"
        self.emails.add(email.lower())
        return email

    def phone(self, country: str) -> str:
        """A mobile number of ``country`` in E.164 (from the current person's faker)."""
        return self.providers.contact.mobile_e164(country)


def _tamio_customer(people: _People) -> dict[str, Any]:
    """A Tamio CustomerInput: required name/email/country, most optional fields some of the time."""
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


def _bunce_customer(people: _People) -> dict[str, Any]:
    """A Bunce CustomerInput: customer_id (a ULID), names, email, E.164 phone, sometimes devices."""
    _, locale, person = people.next()
    rng = people.rng
    customer: dict[str, Any] = {
        "customer_id": people.providers.ids.ulid(_ULID_EPOCH_MS + people.serial * 61_000),
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


_BUILDERS = {"tamio": _tamio_customer, "bunce": _bunce_customer}


def _email_variant(email: str, variant: int) -> str:
    """The same address in another case (variant 0 repeats it exactly)."""
    local, _, domain = email.partition("@")
    return [
        email,
        email.upper(),
        f"{local[:1].upper()}{local[1:]}@{domain}",
        f"{local}@{domain.upper()}",
    ][variant % 4]


def customers(api: str, count: int, seed: int, locales: Sequence[str] = ("en_US",),
              duplicates: int = 0) -> list[dict[str, Any]]:
    """``count`` customers for ``api``; ``duplicates`` of them repeat an earlier item's email.

    Repeats cycle through an exact copy and three case variants, and otherwise look like new
    customers (their own name, phone and, for Bunce, their own ``customer_id``), so the only reason
    the API can refuse them is the email.
    """
    people = _People(seed, locales)
    build = _BUILDERS[api]
    batch = [build(people) for _ in range(count)]
    rng = Random(seed ^ 0x5EED)
    # Positions 1..count-1 can repeat something earlier; pick the K that do.
    repeats = sorted(rng.sample(range(1, count), duplicates))
    repeated = set(repeats)
    firsts: list[int] = []  # first occurrences before the current position (index 0 always is one)
    done = 0
    for variant, position in enumerate(repeats):
        firsts.extend(i for i in range(done, position) if i not in repeated)
        done = position
        original = batch[rng.choice(firsts)]
        batch[position] = {**batch[position], "email": _email_variant(original["email"], variant)}
    return batch


# -- files ---------------------------------------------------------------------------------


def generate(options: FixtureOptions) -> dict[str, Any]:
    """The JSON document ``options`` describe, validated against the bundled specs."""
    options.check()
    if options.kind == "bulk":
        api = options.apis[0]
        items = customers(api, options.count, options.seed, options.locales, options.duplicates)
        body = {"customers": items}
        _validate(api, "bulk", body, "")
        return body
    data: dict[str, Any] = {"$meta": {
        "generated_by": "mockserver fixtures generate",
        "command": command_line(options),
        "seed": options.seed,
        "locales": list(options.locales),
    }}
    for api_index, api in enumerate(options.apis):
        accounts = options.accounts or (DEFAULT_ACCOUNTS[api],)
        # Bunce keys must look like sk_test_...; other names are free-form tokens.
        data[api] = {}
        for account_index, account in enumerate(accounts):
            seed = options.seed + 7919 * api_index + 104_729 * account_index
            items = customers(api, options.count, seed, options.locales)
            for index, item in enumerate(items):
                _validate(api, "item", item, f"{api}.{account}[{index}]")
            data[api][_account_name(api, account)] = items
    return data


def _account_name(api: str, account: str) -> str:
    if api == "bunce" and not account.startswith(("sk_test_", "sk_live_")):
        return f"sk_test_{account}"
    return account


def command_line(options: FixtureOptions) -> str:
    """The command that makes this output (recorded in data sets and fixtures/README.md)."""
    parts = ["mockserver fixtures generate"]
    parts += [f"--api {api}" for api in options.apis]
    parts += [f"--kind {options.kind}", f"--count {options.count}", f"--seed {options.seed}"]
    parts += [f"--locale {locale}" for locale in options.locales]
    if options.duplicates:
        parts.append(f"--duplicates {options.duplicates}")
    parts += [f"--account {account}" for account in options.accounts]
    return " ".join(parts)


def dumps(document: Any) -> str:
    """Stable JSON text (2-space indent, UTF-8 kept, trailing newline): same input, same bytes."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write(options: FixtureOptions, output: str | Path | None) -> str:
    """Generate and write to ``output`` (returned as text when ``output`` is None)."""
    text = dumps(generate(options))
    if output is not None:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return text


_SCHEMAS: dict[tuple[str, str], Any] = {}


def request_schema(api: str, which: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(schema, document)`` of the bundled spec's request body for the bulk or item operation."""
    from mockserver.openapi.loader import bundled_spec_paths, load_spec

    for path in bundled_spec_paths():
        spec = load_spec(path)
        if spec.name != api:
            continue
        operation = spec.operation(OPERATIONS[api][which])
        media = operation.body_content.get("application/json") if operation else None
        if media is None or media.schema is None:
            break
        return media.schema, spec.document
    operation_id = OPERATIONS[api][which]
    raise ConfigError(f"the bundled {api} spec has no JSON request body for {operation_id}")


def _validate(api: str, which: str, instance: Any, where: str) -> None:
    from mockserver.validation import compile_schema

    key = (api, which)
    if key not in _SCHEMAS:
        schema, document = request_schema(api, which)
        _SCHEMAS[key] = compile_schema(schema, document)
    validator = _SCHEMAS[key]
    problems = validator.violations(instance) if validator is not None else []
    if problems:
        shown = "; ".join(v.message for v in problems[:3])
        at = f" at {where}" if where else ""
        raise ConfigError(f"generated {api} {which} data breaks the request schema{at}: {shown}")
