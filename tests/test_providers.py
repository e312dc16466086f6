"""The faker providers shared by the response generator and the fixture data sets."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta

import pycountry
import pytest
from faker import Faker
from faker.providers import BaseProvider

from mockserver.fixtures import customers
from mockserver.formats import is_language
from mockserver.generate import DataGenerator
from mockserver.generate.providers import (
    COUNTRIES,
    SAFE_DOMAINS,
    ContactProvider,
    IdentifierProvider,
    country_name,
    locale_country,
    locale_language,
    register,
)

PROVIDERS = (ContactProvider, IdentifierProvider)


def seeded(locale: str = "en_US", seed: int = 7) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(seed)
    register(fake)
    return fake


def own_methods(provider: type[BaseProvider]) -> set[str]:
    return {name for name in vars(provider) if not name.startswith("_")}


def test_they_are_faker_providers_called_through_the_faker_instance() -> None:
    fake = seeded("de_DE")
    assert all(issubclass(p, BaseProvider) for p in PROVIDERS)
    assert re.fullmatch(r"\+49(151|152|157|160|170|171|172|176|178)\d{8}", fake.mobile_e164("de"))
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", fake.ulid())
    assert fake.person_email("Jürgen", "Groß").split("@")[1] in SAFE_DOMAINS


def test_they_draw_from_the_faker_instance_seed() -> None:
    def sample(seed: int) -> list[str]:
        fake = seeded(seed=seed)
        return [fake.mobile_e164("gb"), fake.ulid(), fake.hex_token(), fake.strong_password(),
                fake.person_email("Anna", "Schmidt"), fake.vat_number("fr"), fake.semver()]

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)


def test_they_shadow_none_of_fakers_own_methods() -> None:
    plain = Faker("en_US")
    for provider in PROVIDERS:
        clashes = {name for name in own_methods(provider) if hasattr(plain, name)}
        assert clashes == set(), f"{provider.__name__} would replace faker's {clashes}"


@pytest.mark.parametrize("code", sorted(COUNTRIES))
def test_the_country_table_holds_real_codes(code: str) -> None:
    country = COUNTRIES[code]
    assert pycountry.countries.get(alpha_2=code.upper()) is not None
    assert is_language(country.language)
    assert pycountry.currencies.get(alpha_3=country.currency) is not None
    zone = zoneinfo.ZoneInfo(country.timezone)
    seasons = sorted((datetime(2025, month, 15, tzinfo=zone) for month in (1, 7)),
                     key=lambda moment: moment.utcoffset() or timedelta(0))
    assert {o.replace(":", "") for o in country.utc_offsets} == {d.strftime("%z") for d in seasons}
    assert country.utc_offsets[0].replace(":", "") == seasons[0].strftime("%z")  # the lower one


def test_mobile_numbers_are_e164_with_a_real_prefix_of_the_country() -> None:
    fake = seeded()
    for code, country in COUNTRIES.items():
        for _ in range(5):
            number = fake.mobile_e164(code)
            national = number.removeprefix(f"+{country.calling_code}")
            assert re.fullmatch(r"\+[1-9]\d{7,14}", number)
            assert national.startswith(country.mobile_prefixes), (code, number)
    # a country outside the table: the digits of faker's own phone number for the locale
    assert re.fullmatch(r"\+\d{6,}", seeded("en_GB").mobile_e164("zz"))


def test_emails_fold_names_to_ascii_and_use_reserved_domains() -> None:
    fake = seeded()
    locals_ = {fake.person_email("Jürgen", "Groß").split("@")[0] for _ in range(40)}
    assert locals_ <= {"jurgen.gross", "jgross", "jurgeng", "jurgen_gross"} | {
        f"jurgen.gross{n}" for n in range(1, 100)}
    assert len(locals_) > 3
    assert fake.person_email("山田", "太郎", "customer7").startswith("customer7@")


def test_locale_codes_come_from_the_iso_lists() -> None:
    assert (locale_country("de_CH"), locale_language("de_CH")) == ("ch", "de")
    assert (locale_country("ar_AA"), locale_language("dk_DK")) == ("us", "en")
    assert country_name("de") == "Germany"
    with pytest.raises(ValueError):
        country_name("xx")


def test_generator_and_fixtures_share_the_table() -> None:
    german_prefixes = tuple(f"+49{p}" for p in COUNTRIES["de"].mobile_prefixes)
    batch = customers("bunce", 30, seed=3, locales=["de_DE"])
    assert all(c["phone_no"].startswith(german_prefixes) for c in batch)
    generator = DataGenerator(seed=3, locale="de_DE")
    schema = {"type": "object", "required": ["country", "country_name", "phone"],
              "properties": {"country": {"type": "string", "pattern": "^[a-z]{2}$"},
                             "country_name": {"type": "string"}, "phone": {"type": "string"}}}
    people = [generator.generate(schema) for _ in range(40)]
    for person in people:
        country = COUNTRIES[person["country"]]
        assert person["phone"].startswith(f"+{country.calling_code}")
        assert person["phone"][1 + len(country.calling_code):].startswith(country.mobile_prefixes)
        assert person["country_name"] == pycountry.countries.get(alpha_2=country.code.upper()).name
    assert sum(p["country"] == "de" for p in people) > 20  # the locale's country, mostly
