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

What a customer of one API looks like is its pack's to say (``ApiPack.fixtures``, a
:class:`~mockserver.packs.FixtureBuilder`, e.g. ``mockserver/apis/<api>/fixtures.py``); this
module makes the people, the batches, the duplicates and the files. No Flask here: ``mockserver
fixtures generate`` (cli.py) is a thin wrapper around :func:`generate`.
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
from mockserver.generate.providers import Providers, register
from mockserver.packs import FixtureBuilder, Registry

KINDS = ("bulk", "dataset")


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

    def check(self, known: Sequence[str]) -> None:
        """Raise ConfigError for options that cannot make a file; ``known``: the APIs whose packs
        build fixtures."""
        unknown = [a for a in self.apis if a not in known]
        if not self.apis or unknown:
            names = ", ".join(unknown) or "(none)"
            raise ConfigError(f"--api {names}: choose from {', '.join(known)}")
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


class People:
    """Deterministic people in one or more locales, with emails unique within the batch: what a
    pack's :class:`~mockserver.packs.FixtureBuilder` makes its customers from (:meth:`next`,
    :meth:`phone`, :attr:`rng`, :attr:`providers`, :attr:`serial`)."""

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


def _email_variant(email: str, variant: int) -> str:
    """The same address in another case (variant 0 repeats it exactly)."""
    local, _, domain = email.partition("@")
    return [
        email,
        email.upper(),
        f"{local[:1].upper()}{local[1:]}@{domain}",
        f"{local}@{domain.upper()}",
    ][variant % 4]


def builders(packs: Registry | None = None) -> dict[str, FixtureBuilder]:
    """The fixture builders of ``packs`` (default: the bundled and installed packs), by API."""
    if packs is None:
        from mockserver.apis import registry

        packs = registry()
    return {pack.name: pack.fixtures for pack in packs.packs if pack.fixtures is not None}


def customers(api: str, count: int, seed: int, locales: Sequence[str] = ("en_US",),
              duplicates: int = 0, *, packs: Registry | None = None) -> list[dict[str, Any]]:
    """``count`` customers for ``api``; ``duplicates`` of them repeat an earlier item's email.

    Repeats cycle through an exact copy and three case variants, and otherwise look like new
    customers (their own name, phone and, for Bunce, their own ``customer_id``), so the only reason
    the API can refuse them is the email.
    """
    people = People(seed, locales)
    build = builders(packs)[api].customer
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


def generate(options: FixtureOptions, packs: Registry | None = None) -> dict[str, Any]:
    """The JSON document ``options`` describe, validated against the APIs' specs; the packs
    (default: the bundled and installed ones) build the customers."""
    known = builders(packs)
    options.check(list(known))
    if options.kind == "bulk":
        api = options.apis[0]
        items = customers(
            api, options.count, options.seed, options.locales, options.duplicates, packs=packs
        )
        body = {"customers": items}
        _validate(known[api], api, "bulk", body, "")
        return body
    data: dict[str, Any] = {"$meta": {
        "generated_by": "mockserver fixtures generate",
        "command": command_line(options),
        "seed": options.seed,
        "locales": list(options.locales),
    }}
    for api_index, api in enumerate(options.apis):
        builder = known[api]
        accounts = options.accounts or (builder.default_account,)
        data[api] = {}
        for account_index, account in enumerate(accounts):
            seed = options.seed + 7919 * api_index + 104_729 * account_index
            items = customers(api, options.count, seed, options.locales, packs=packs)
            for index, item in enumerate(items):
                _validate(builder, api, "item", item, f"{api}.{account}[{index}]")
            data[api][builder.account(account)] = items  # a credential the API accepts
    return data


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


def write(
    options: FixtureOptions, output: str | Path | None, packs: Registry | None = None
) -> str:
    """Generate and write to ``output`` (returned as text when ``output`` is None)."""
    text = dumps(generate(options, packs))
    if output is not None:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return text


_SCHEMAS: dict[tuple[str, str], Any] = {}


def request_schema(
    api: str, which: str, packs: Registry | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(schema, document)`` of the request body of ``api``'s bulk or item operation (its
    pack's ``bulk_operation`` or ``item_operation``), in the bundled spec or the pack's own."""
    return _request_schema(builders(packs)[api], api, which, packs)


def _request_schema(
    builder: FixtureBuilder, api: str, which: str, packs: Registry | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    from mockserver.openapi.loader import bundled_spec_paths, load_spec

    operation_id = builder.bulk_operation if which == "bulk" else builder.item_operation
    pack = packs.pack(api) if packs is not None else None
    paths = [pack.spec] if pack is not None and pack.spec is not None else bundled_spec_paths()
    for path in paths:
        spec = load_spec(path)
        if spec.name != api:
            continue
        operation = spec.operation(operation_id)
        media = operation.body_content.get("application/json") if operation else None
        if media is None or media.schema is None:
            break
        return media.schema, spec.document
    raise ConfigError(f"the {api} spec has no JSON request body for {operation_id}")


def _validate(builder: FixtureBuilder, api: str, which: str, instance: Any, where: str) -> None:
    from mockserver.validation import compile_schema

    key = (api, which)
    if key not in _SCHEMAS:
        schema, document = _request_schema(builder, api, which)
        _SCHEMAS[key] = compile_schema(schema, document)
    validator = _SCHEMAS[key]
    problems = validator.violations(instance) if validator is not None else []
    if problems:
        shown = "; ".join(v.message for v in problems[:3])
        at = f" at {where}" if where else ""
        raise ConfigError(f"generated {api} {which} data breaks the request schema{at}: {shown}")
