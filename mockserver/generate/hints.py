"""Value producers: the realistic candidates for a kind of field (by name) or a string format.

:data:`STRING_HINTS` and :data:`NUMBER_HINTS` map a kind from :mod:`mockserver.generate.names`
to a function giving candidate values, best first; :data:`FORMAT_GENERATORS` does the same for
a JSON Schema ``format``. The walker keeps the first candidate the schema accepts.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from mockserver.generate.names import ascii_slug
from mockserver.generate.persona import Persona
from mockserver.generate.providers import country_name
from mockserver.generate.regex import ALNUM

if TYPE_CHECKING:
    from mockserver.generate.walker import DataGenerator

__all__ = ["FORMAT_GENERATORS", "NUMBER_HINTS", "STRING_HINTS", "NumberHint", "StringHint"]

_BIRTH_MIN: Final = -631_152_000  # 1950-01-01
_BIRTH_MAX: Final = 1_104_537_599  # 2004-12-31

StringHint = Callable[["DataGenerator", Persona, str], list[str]]
NumberHint = Callable[["DataGenerator", Persona, str, bool], list[int | float]]


def _iso(ts: int, offset: str = "+00:00") -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + offset


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def _h_datetime(g: DataGenerator, p: Persona, n: str) -> list[str]:
    ts = p.timestamp(n)
    base = _iso(ts, "")
    return [base + "+00:00", base + "Z", f"{base}.{g._rng.randint(0, 999):03d}Z"]


def _h_id(g: DataGenerator, p: Persona, n: str) -> list[str]:
    return [g._fake.ids.ulid(), str(g._rng.randint(10_000_000, 99_999_999)), g._uuid()]


def _h_phone(g: DataGenerator, p: Persona, n: str) -> list[str]:
    phone = p.phone
    national = "0" + phone[1 + len(p.country.calling_code):]
    return [phone, phone[1:], national]


def _h_country(g: DataGenerator, p: Persona, n: str) -> list[str]:
    return [p.country.code, p.country.code.upper()]


def _h_locale(g: DataGenerator, p: Persona, n: str) -> list[str]:
    c = p.country
    return [c.language, f"{c.language}-{c.code.upper()}", f"{c.language}_{c.code.upper()}"]


def _h_timezone_offset(g: DataGenerator, p: Persona, n: str) -> list[str]:
    offset = g._fake.contact.utc_offset(p.country.code)
    return [offset, offset.replace(":", "")]


def _h_vat(g: DataGenerator, p: Persona, n: str) -> list[str]:
    return [g._fake.contact.vat_number(p.country.code)]


def _h_password(g: DataGenerator, p: Persona, n: str) -> list[str]:
    return [g._fake.ids.strong_password()]


def _h_secondary(g: DataGenerator, p: Persona, n: str) -> list[str]:
    return [g._pick("secondary_address"), f"Apt. {g._rng.randint(1, 999)}"]


def _h_state(g: DataGenerator, p: Persona, n: str) -> list[str]:
    try:
        return [g._pick("state")]
    except AttributeError:
        return [g._pick("city")]


def _h_title(g: DataGenerator, p: Persona, n: str) -> list[str]:
    return [g._pick("sentence").rstrip(".")]


def _pool_hint(method: str) -> StringHint:
    return lambda g, p, n: [g._pick(method)]


def _h_image_url(g: DataGenerator, p: Persona, n: str) -> list[str]:
    return [f"https://images.example.com/{g._fake.ids.hex_token(16)}.jpg"]


def _h_birth_date(g: DataGenerator, p: Persona, n: str) -> list[str]:
    return [_date(g._rng.randint(_BIRTH_MIN, _BIRTH_MAX))]


STRING_HINTS: Final[dict[str, StringHint]] = {
    "email": lambda g, p, n: [p.email],
    "first_name": lambda g, p, n: [p.first],
    "last_name": lambda g, p, n: [p.last],
    "full_name": lambda g, p, n: [f"{p.first} {p.last}"],
    "username": lambda g, p, n: [g._fake.contact.person_username(p.first, p.last)],
    "phone": _h_phone,
    "country": _h_country,
    "country_name": lambda g, p, n: [country_name(p.country.code)],
    "locale": _h_locale,
    "timezone_offset": _h_timezone_offset,
    "timezone": lambda g, p, n: [p.country.timezone],
    "city": _pool_hint("city"),
    "postcode": _pool_hint("postcode"),
    "street": _pool_hint("street_address"),
    "secondary_address": _h_secondary,
    "state": _h_state,
    "company": _pool_hint("company"),
    "vat": _h_vat,
    "url": _pool_hint("url"),
    "image_url": _h_image_url,
    "domain": _pool_hint("domain_name"),
    "ip": _pool_hint("ipv4_public"),
    "ipv6": lambda g, p, n: [str(ipaddress.IPv6Address(g._rng.getrandbits(128)))],
    "currency": lambda g, p, n: [p.country.currency, p.country.currency.lower()],
    "id": _h_id,
    "uuid": lambda g, p, n: [g._uuid()],
    "stripe_id": lambda g, p, n: [
        "cus_" + "".join(g._rng.choice(ALNUM) for _ in range(14)), *_h_id(g, p, n)
    ],
    "datetime": _h_datetime,
    "date": lambda g, p, n: [_date(p.timestamp(n))],
    "birth_date": _h_birth_date,
    "device_type": lambda g, p, n: g._shuffled(["ios", "android"]),
    "device_token": lambda g, p, n: [g._fake.ids.hex_token(64)],
    "token": lambda g, p, n: [g._fake.ids.hex_token(32)],
    "password": _h_password,
    "sentence": _pool_hint("sentence"),
    "title": _h_title,
    "word": _pool_hint("word"),
    "slug": lambda g, p, n: [f"{ascii_slug(g._pick('word'))}-{ascii_slug(g._pick('word'))}"],
    "color": lambda g, p, n: ["#" + g._fake.ids.hex_token(6)],
    "iban": _pool_hint("iban"),
    "bic": _pool_hint("swift"),
    "user_agent": _pool_hint("user_agent"),
    "mime_type": _pool_hint("mime_type"),
    "file_name": _pool_hint("file_name"),
    "job": _pool_hint("job"),
    "version": lambda g, p, n: [g._fake.ids.semver()],
    "status": lambda g, p, n: [g._rng.choice(("active", "inactive", "pending"))],
}


def _f_time(g: DataGenerator, p: Persona, n: str) -> list[str]:
    rng = g._rng
    base = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    return [base + "+00:00", base + "Z"]


def _f_duration(g: DataGenerator, p: Persona, n: str) -> list[str]:
    rng = g._rng
    return [f"P{rng.randint(0, 30)}DT{rng.randint(0, 23)}H{rng.randint(0, 59)}M", "PT30M"]


def _f_byte(g: DataGenerator, p: Persona, n: str) -> list[str]:
    return [base64.b64encode(g._rng.randbytes(g._rng.randint(6, 24))).decode()]


FORMAT_GENERATORS: Final[dict[str, StringHint]] = {
    "date-time": _h_datetime,
    "date": lambda g, p, n: [_date(p.timestamp(n))],
    "time": _f_time,
    "duration": _f_duration,
    "email": lambda g, p, n: [p.email],
    "idn-email": lambda g, p, n: [p.email],
    "hostname": _pool_hint("domain_name"),
    "idn-hostname": _pool_hint("domain_name"),
    "ipv4": _pool_hint("ipv4_public"),
    "ipv6": STRING_HINTS["ipv6"],
    "uri": _pool_hint("url"),
    "url": _pool_hint("url"),
    "iri": _pool_hint("url"),
    "uri-reference": lambda g, p, n: [f"/{g._pick('word')}/{g._rng.randint(1, 999)}"],
    "iri-reference": lambda g, p, n: [f"/{g._pick('word')}/{g._rng.randint(1, 999)}"],
    "uri-template": lambda g, p, n: [g._pick("url") + "{id}"],
    "json-pointer": lambda g, p, n: [f"/{g._pick('word')}/{g._rng.randint(0, 9)}"],
    "relative-json-pointer": lambda g, p, n: [f"{g._rng.randint(0, 3)}/{g._pick('word')}"],
    "regex": lambda g, p, n: ["^[a-z]+$", r"^\d{3}$"],
    "uuid": lambda g, p, n: [g._uuid()],
    "byte": _f_byte,
    "binary": lambda g, p, n: [g._fake.ids.hex_token(32)],
    "password": _h_password,
}


def _n_timestamp(g: DataGenerator, p: Persona, n: str, integer: bool) -> list[int | float]:
    ts = p.timestamp(n)
    return [ts, ts * 1000]


def _n_range(low: int, high: int, money: bool = False) -> NumberHint:
    def hint(g: DataGenerator, p: Persona, n: str, integer: bool) -> list[int | float]:
        if integer:
            return [g._rng.randint(low, high)]
        value = g._rng.uniform(low, high)
        return [round(value, 2) if money else round(value, 1)]

    return hint


def _n_choice(*choices: int) -> NumberHint:
    return lambda g, p, n, integer: [g._rng.choice(choices)]


def _n_amount(g: DataGenerator, p: Persona, n: str, integer: bool) -> list[int | float]:
    if integer:
        return [g._rng.randint(100, 50_000)]
    return [round(g._rng.uniform(1, 500), 2)]


def _n_coordinate(limit: int) -> NumberHint:
    def hint(g: DataGenerator, p: Persona, n: str, integer: bool) -> list[int | float]:
        value = g._rng.uniform(-limit, limit)
        return [round(value) if integer else round(value, 6)]

    return hint


NUMBER_HINTS: Final[dict[str, NumberHint]] = {
    "timestamp": _n_timestamp,
    "timestamp_ms": lambda g, p, n, integer: [
        p.timestamp(n.removesuffix("_ms")) * 1000 + g._rng.randint(0, 999)
    ],
    "age": _n_range(18, 90),
    "year": _n_range(1990, 2025),
    "month": _n_range(1, 12),
    "day": _n_range(1, 28),
    "hour": _n_range(0, 23),
    "minute": _n_range(0, 59),
    "port": _n_range(1024, 65535),
    "page": _n_range(1, 5),
    "page_size": _n_choice(10, 20, 25, 50, 100),
    "offset": _n_choice(0, 10, 20, 50),
    "count": _n_range(0, 50),
    "quantity": _n_range(1, 10),
    "amount": _n_amount,
    "latitude": _n_coordinate(90),
    "longitude": _n_coordinate(180),
    "rating": _n_range(1, 5),
    "percent": _n_range(0, 100),
    "int_id": _n_range(1, 99_999),
    "version": _n_range(1, 10),
    "duration": _n_range(1, 3600),
    "postcode": _n_range(10_000, 99_999),
}
