"""A persona: one coherent fake person whose names, email, phone and country agree.

The country table gives each country its language, calling code, mobile prefixes, currency, time
zone and UTC offsets; a persona picks one (the generator's locale's country most of the time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NamedTuple

from mockserver.generate.names import ascii_slug, time_role

if TYPE_CHECKING:
    from mockserver.generate.walker import DataGenerator

__all__ = ["COUNTRIES", "COUNTRY_BY_CODE", "EU_VAT", "TS_MAX", "TS_MIN", "Country", "Persona"]

TS_MIN: Final = 1_577_836_800  # 2020-01-01T00:00:00Z
TS_MAX: Final = 1_767_225_599  # 2025-12-31T23:59:59Z
_SAFE_DOMAINS: Final = ("example.com", "example.org", "example.net")


class Country(NamedTuple):
    """What a persona of one country looks like."""

    code: str  # ISO 3166-1 alpha-2, lower case
    language: str  # ISO 639-1
    calling_code: str
    mobile_prefixes: tuple[str, ...]
    subscriber_digits: int
    currency: str
    timezone: str
    offsets: tuple[str, ...]


COUNTRIES: Final = (
    Country("us", "en", "1", ("201", "212", "305", "415", "512", "617", "702", "917"), 7,
             "USD", "America/New_York", ("-05:00", "-04:00")),
    Country("gb", "en", "44", ("7400", "7700", "7800", "7900"), 6,
             "GBP", "Europe/London", ("+00:00", "+01:00")),
    Country("de", "de", "49", ("151", "152", "157", "160", "170", "171", "172", "176", "178"), 8,
             "EUR", "Europe/Berlin", ("+01:00", "+02:00")),
    Country("at", "de", "43", ("650", "660", "664", "676", "699"), 7,
             "EUR", "Europe/Vienna", ("+01:00", "+02:00")),
    Country("ch", "de", "41", ("76", "77", "78", "79"), 7,
             "CHF", "Europe/Zurich", ("+01:00", "+02:00")),
    Country("fr", "fr", "33", ("6", "7"), 8, "EUR", "Europe/Paris", ("+01:00", "+02:00")),
    Country("es", "es", "34", ("6",), 8, "EUR", "Europe/Madrid", ("+01:00", "+02:00")),
    Country("it", "it", "39", ("320", "333", "347", "380"), 7,
             "EUR", "Europe/Rome", ("+01:00", "+02:00")),
    Country("nl", "nl", "31", ("6",), 8, "EUR", "Europe/Amsterdam", ("+01:00", "+02:00")),
)
COUNTRY_BY_CODE: Final = {c.code: c for c in COUNTRIES}
EU_VAT: Final = frozenset({"de", "at", "fr", "es", "it", "nl"})


class Persona:
    """One coherent fake person (names, email, phone and country agree); created lazily."""

    __slots__ = ("_country", "_created", "_email", "_first", "_gen", "_last", "_phone", "touched")

    def __init__(self, gen: DataGenerator) -> None:
        self._gen = gen
        self.touched = False  # set once a value came from this persona
        self._created: int | None = None
        self._first: str | None = None
        self._last: str | None = None
        self._country: Country | None = None
        self._email: str | None = None
        self._phone: str | None = None

    @property
    def first(self) -> str:
        self.touched = True
        if self._first is None:
            self._first = self._gen._pick("first_name")
        return self._first

    @property
    def last(self) -> str:
        self.touched = True
        if self._last is None:
            self._last = self._gen._pick("last_name")
        return self._last

    @property
    def country(self) -> Country:
        self.touched = True
        if self._country is None:
            self._country = self._gen._pick_country()
        return self._country

    @property
    def email(self) -> str:
        if self._email is None:
            rng = self._gen._rng
            first, last = ascii_slug(self.first) or "user", ascii_slug(self.last) or "mail"
            local = rng.choice((f"{first}.{last}", f"{first}{last[0]}", f"{first[0]}{last}",
                                f"{first}.{last}{rng.randint(1, 99)}"))
            self._email = f"{local}@{rng.choice(_SAFE_DOMAINS)}"
        return self._email

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

    @property
    def phone(self) -> str:
        if self._phone is None:
            rng, c = self._gen._rng, self.country
            digits = self._gen._digits(c.subscriber_digits)
            if c.code == "us":
                digits = rng.choice("23456789") + digits[1:]
            self._phone = f"+{c.calling_code}{rng.choice(c.mobile_prefixes)}{digits}"
        return self._phone


# --------------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------------
