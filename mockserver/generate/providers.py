"""Faker providers for the values a field's name asks for, shared by the data generator and the
fixture data sets (``mockserver fixtures generate``).

Register them on a faker instance and they draw from its random stream, so a seeded faker gives
the same values every run::

    fake = Faker("de_DE")
    fake.seed_instance(7)
    providers = register(fake)              # the same as fake.add_provider(ContactProvider)...
    fake.mobile_e164("de")                  # '+4917612345678'
    providers.contact.person_email("Jürgen", "Groß")  # 'jurgen.gross@example.org', typed

:data:`COUNTRIES` is the one table of what a person of a country looks like (calling code,
mobile prefixes, language, currency, time zone); codes are ISO 3166-1 alpha-2, ISO 639-1 and
ISO 4217 (checked against pycountry by the tests). Emails use faker's reserved ``example.*``
domains (:data:`SAFE_DOMAINS`). No method shadows one of faker's own.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final

from faker import Faker, Generator
from faker.providers import BaseProvider
from faker.providers.internet import Provider as InternetProvider

from mockserver.formats import is_country, is_language
from mockserver.generate.names import ascii_slug

__all__ = [
    "COUNTRIES",
    "SAFE_DOMAINS",
    "ContactProvider",
    "Country",
    "IdentifierProvider",
    "Providers",
    "country_name",
    "locale_country",
    "locale_language",
    "register",
]

SAFE_DOMAINS: Final[tuple[str, ...]] = tuple(InternetProvider.safe_domain_names)
"""The reserved example domains (RFC 2606) faker's ``safe_email`` uses."""

TS_MIN: Final = 1_577_836_800  # 2020-01-01T00:00:00Z
TS_MAX: Final = 1_767_225_599  # 2025-12-31T23:59:59Z
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True, slots=True)
class Country:
    """What a person of one country looks like: E.164 mobile numbers (calling code, one of the
    real mobile prefixes, then subscriber digits), language, currency, time zone and its UTC
    offsets over the year (the lower one first)."""

    code: str  # ISO 3166-1 alpha-2, lower case
    language: str  # ISO 639-1
    calling_code: str
    mobile_prefixes: tuple[str, ...]
    subscriber_digits: int
    currency: str  # ISO 4217
    timezone: str  # IANA
    utc_offsets: tuple[str, ...]


def _country(code: str, language: str, calling: str, prefixes: tuple[str, ...], digits: int,
             currency: str, timezone: str, *offsets: str) -> tuple[str, Country]:
    return code, Country(code, language, calling, prefixes, digits, currency, timezone, offsets)


COUNTRIES: Final[Mapping[str, Country]] = dict([
    _country("us", "en", "1", ("201", "212", "305", "415", "512", "617", "702", "917"), 7,
             "USD", "America/New_York", "-05:00", "-04:00"),
    _country("ca", "en", "1", ("416", "514", "604", "647"), 7,
             "CAD", "America/Toronto", "-05:00", "-04:00"),
    _country("gb", "en", "44", ("7400", "7700", "7800", "7900"), 6,
             "GBP", "Europe/London", "+00:00", "+01:00"),
    _country("ie", "en", "353", ("83", "85", "86", "87"), 7,
             "EUR", "Europe/Dublin", "+00:00", "+01:00"),
    _country("de", "de", "49", ("151", "152", "157", "160", "170", "171", "172", "176", "178"), 8,
             "EUR", "Europe/Berlin", "+01:00", "+02:00"),
    _country("at", "de", "43", ("650", "660", "664", "676", "699"), 7,
             "EUR", "Europe/Vienna", "+01:00", "+02:00"),
    _country("ch", "de", "41", ("76", "77", "78", "79"), 7,
             "CHF", "Europe/Zurich", "+01:00", "+02:00"),
    _country("fr", "fr", "33", ("6", "7"), 8, "EUR", "Europe/Paris", "+01:00", "+02:00"),
    _country("it", "it", "39", ("320", "328", "333", "347", "380"), 7,
             "EUR", "Europe/Rome", "+01:00", "+02:00"),
    _country("es", "es", "34", ("6", "7"), 8, "EUR", "Europe/Madrid", "+01:00", "+02:00"),
    _country("nl", "nl", "31", ("6",), 8, "EUR", "Europe/Amsterdam", "+01:00", "+02:00"),
    _country("pl", "pl", "48", ("50", "51", "53", "60", "66", "69"), 7,
             "PLN", "Europe/Warsaw", "+01:00", "+02:00"),
    _country("pt", "pt", "351", ("91", "92", "93", "96"), 7,
             "EUR", "Europe/Lisbon", "+00:00", "+01:00"),
    _country("se", "sv", "46", ("70", "72", "73", "76"), 7,
             "SEK", "Europe/Stockholm", "+01:00", "+02:00"),
    _country("dk", "da", "45", ("20", "30", "40", "50"), 6,
             "DKK", "Europe/Copenhagen", "+01:00", "+02:00"),
    _country("br", "pt", "55", ("11", "21", "31"), 9, "BRL", "America/Sao_Paulo", "-03:00"),
    _country("ng", "en", "234", ("803", "806", "813", "816"), 7, "NGN", "Africa/Lagos", "+01:00"),
    _country("in", "en", "91", ("98", "99", "70"), 8, "INR", "Asia/Kolkata", "+05:30"),
    _country("jp", "ja", "81", ("70", "80", "90"), 8, "JPY", "Asia/Tokyo", "+09:00"),
    _country("au", "en", "61", ("4",), 8, "AUD", "Australia/Sydney", "+10:00", "+11:00"),
])


def locale_country(locale: str) -> str:
    """The faker locale's territory when it is a real ISO 3166-1 code (not ``AA`` of ``ar_AA``,
    not ``QC`` of ``fr_QC``), lower-case; else ``us``."""
    territory = locale.rpartition("_")[2]
    return territory.lower() if "_" in locale and is_country(territory) else "us"


def locale_language(locale: str) -> str:
    """The faker locale's language when it is a real ISO 639-1 code (not ``dk`` of ``dk_DK``:
    Danish is ``da``), lower-case; else ``en``."""
    language = locale.partition("_")[0]
    return language.lower() if len(language) == 2 and is_language(language) else "en"


@cache
def country_name(code: str) -> str:
    """The ISO 3166-1 name of a country code (``de`` -> ``Germany``), from pycountry."""
    import pycountry

    found = pycountry.countries.get(alpha_2=code.upper())
    if found is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return str(found.name)


class ContactProvider(BaseProvider):
    """People's contact details that agree with one country of :data:`COUNTRIES`."""

    def contact_country(self, home: str | None = None) -> Country:
        """A country of the table: ``home`` three times in four when the table has it."""
        random = self.generator.random
        found = COUNTRIES.get(home or "")
        if found is not None and random.random() < 0.75:
            return found
        chosen: Country = random.choice(list(COUNTRIES.values()))
        return chosen

    def mobile_e164(self, country: str) -> str:
        """An E.164 mobile number of ``country`` (a real mobile prefix, random subscriber
        digits); for a country outside the table, the digits of faker's own phone number."""
        random = self.generator.random
        info = COUNTRIES.get(country)
        if info is None:
            number = self.generator.phone_number() if hasattr(self.generator, "phone_number") \
                else ""
            return "+" + ("".join(c for c in str(number) if c.isdigit()) or "15550100")
        subscriber = str(random.randrange(10**info.subscriber_digits))
        subscriber = subscriber.zfill(info.subscriber_digits)
        if info.calling_code == "1":  # NANP: a subscriber number does not start with 0 or 1
            subscriber = random.choice("23456789") + subscriber[1:]
        return f"+{info.calling_code}{random.choice(info.mobile_prefixes)}{subscriber}"

    def person_email(self, first: str, last: str, fallback: str = "user") -> str:
        """An address on a reserved example domain made from the names (folded to ASCII:
        ``Jürgen Groß`` -> ``jurgen.gross``); ``fallback`` is the local part for names with no
        ASCII spelling."""
        random = self.generator.random
        a, b = ascii_slug(first), ascii_slug(last)
        if a and b:
            local = random.choice((f"{a}.{b}", f"{a[0]}{b}", f"{a}{b[0]}", f"{a}_{b}",
                                   f"{a}.{b}{random.randint(1, 99)}"))
        else:
            local = fallback
        return f"{local}@{random.choice(SAFE_DOMAINS)}"

    def person_username(self, first: str, last: str) -> str:
        """A login name from the names: ``annas42``."""
        return f"{ascii_slug(first)}{ascii_slug(last)[:1]}{self.generator.random.randint(1, 99)}"

    def utc_offset(self, country: str) -> str:
        """One of the country's UTC offsets (``+01:00`` or ``+02:00`` for ``de``)."""
        info = COUNTRIES.get(country)
        return self.generator.random.choice(info.utc_offsets) if info else "+00:00"

    def vat_number(self, country: str) -> str:
        """A VAT identification number shaped like the EU's: country prefix and nine digits."""
        digits = str(self.generator.random.randrange(10**9)).zfill(9)
        return country.upper() + digits


class IdentifierProvider(BaseProvider):
    """Identifiers, tokens and secrets: ULIDs, hex tokens, strong passwords, versions."""

    def ulid(self, millis: int | None = None) -> str:
        """A ULID (Crockford base 32) of the instant ``millis`` (a random one in 2020-2025)."""
        random = self.generator.random
        if millis is None:
            millis = random.randint(TS_MIN, TS_MAX) * 1000 + random.randint(0, 999)
        value = millis << 80 | random.getrandbits(80)
        return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))

    def hex_token(self, length: int = 32) -> str:
        """``length`` lower-case hex digits (an API token, a push token, a digest)."""
        return format(self.generator.random.getrandbits(4 * length), f"0{length}x")

    def strong_password(self) -> str:
        """Twelve characters with an upper-case letter, a digit and a symbol."""
        random = self.generator.random
        chars = [random.choice(string.ascii_uppercase), random.choice(string.digits),
                 random.choice("!#$%&*+-?@")]
        chars += [random.choice(string.ascii_letters + string.digits) for _ in range(9)]
        random.shuffle(chars)
        return "".join(chars)

    def semver(self) -> str:
        """A version number: ``2.14.3``."""
        random = self.generator.random
        return f"{random.randint(1, 5)}.{random.randint(0, 20)}.{random.randint(0, 9)}"


@dataclass(frozen=True, slots=True)
class Providers:
    """The providers registered on one faker instance, for typed calls of their methods."""

    contact: ContactProvider
    ids: IdentifierProvider


def register(fake: Faker | Generator) -> Providers:
    """Register :class:`ContactProvider` and :class:`IdentifierProvider` on ``fake`` (they draw
    from its random stream) and return them."""
    providers = Providers(ContactProvider(fake), IdentifierProvider(fake))
    fake.add_provider(providers.contact)
    fake.add_provider(providers.ids)
    return providers
