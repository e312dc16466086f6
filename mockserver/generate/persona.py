"""A persona: one coherent fake person whose names, email, phone and country agree.

Names come from the generator's faker pools; the country (the generator's locale's country most
of the time), email, phone and timestamps from the :mod:`~mockserver.generate.providers`
registered on its faker instance.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from mockserver.generate.names import time_role
from mockserver.generate.providers import TS_MAX, TS_MIN, Country

if TYPE_CHECKING:
    from mockserver.generate.walker import DataGenerator

__all__ = ["Persona"]


class Persona:
    """One coherent fake person (names, email, phone and country agree); each part is made on
    first use."""

    def __init__(self, gen: DataGenerator) -> None:
        self._gen = gen
        self.touched = False  # set once a name, the country or a "created" time was used
        self._created: int | None = None

    @cached_property
    def first(self) -> str:
        """The first name."""
        self.touched = True
        return self._gen._pick("first_name")

    @cached_property
    def last(self) -> str:
        """The last name."""
        self.touched = True
        return self._gen._pick("last_name")

    @cached_property
    def country(self) -> Country:
        """Where the person lives."""
        self.touched = True
        return self._gen._fake.contact.contact_country(self._gen._home)

    @cached_property
    def email(self) -> str:
        """An address made from the names, on a reserved example domain."""
        return self._gen._fake.contact.person_email(self.first, self.last)

    @cached_property
    def phone(self) -> str:
        """A mobile number of the person's country, in E.164."""
        return self._gen._fake.contact.mobile_e164(self.country.code)

    def timestamp(self, name: str) -> int:
        """A unix time for field ``name``: all "created" fields of one persona agree, and
        "updated"/"last ..." fields come after them; other fields are independent."""
        gen = self._gen
        role = time_role(name)
        if role is None:
            return gen._timestamp()
        self.touched = True
        if self._created is None:
            self._created = gen._rng.randint(TS_MIN, TS_MAX - 86_400 * 90)
        if role == "created":
            return self._created
        return gen._rng.randint(self._created, TS_MAX)
