"""Deterministic, realistic JSON-Schema data generation.

:class:`DataGenerator` turns a JSON Schema (OpenAPI 3.1 / JSON Schema 2020-12, plus OpenAPI 3.0's
``nullable``, boolean ``exclusiveMinimum``/``exclusiveMaximum`` and ``example``) into a value that
is valid against it and looks like real data::

    gen = DataGenerator(seed=42)
    gen.generate({"$ref": "#/components/schemas/Customer"}, root=spec_document)

How values are chosen, in order:

1. ``const``/``enum`` (filtered by the schema's other constraints);
2. for strings, a realistic value from the property *name* (``email``, ``first_name``,
   ``phone_no``, ``country``, ``created_at``...) or the ``format`` (``date-time``, ``uuid``,
   ``email``, ``uri``, ``ipv4``...), kept only when it satisfies length, ``pattern`` and format;
3. otherwise a value built to satisfy the constraints: a string sampled from the ``pattern``
   regex, a number inside the bounds that is a ``multipleOf``, an object with every required and
   most optional properties, an array of 1-3 items (respecting ``minItems``/``maxItems``,
   ``uniqueItems``, ``prefixItems``, ``contains``);
4. a documented ``example``/``examples`` entry when nothing else could be generated.

``allOf`` is merged; one ``oneOf``/``anyOf`` branch is chosen (honouring an OpenAPI
``discriminator``) and, for ``oneOf``, the value is re-checked so it matches exactly one branch;
``not`` and ``if``/``then``/``else`` are honoured by checking and retrying. Recursive ``$ref``\\ s
stop after :attr:`DataGenerator.max_recursion` expansions along a path, after which only
required properties, ``minItems`` items and ``null`` (where allowed) are produced.

Determinism: everything random comes from one :class:`random.Random` per generator, seeded from
``seed``; faker data comes from per-locale pools built once per process by a faker instance
with a fixed seed, so the same seed and the same sequence of calls give identical output.
A generator is not thread-safe; use one per thread (they are cheap to create).
"""

from __future__ import annotations

import base64
import copy
import importlib
import ipaddress
import math
import re
import secrets
import threading
import unicodedata
import uuid
import warnings
import zlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fractions import Fraction
from functools import lru_cache
from random import Random
from typing import Any, Final, NamedTuple
from urllib.parse import unquote

from faker import Faker
from faker.config import AVAILABLE_LOCALES
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import extend
from referencing.exceptions import Unresolvable

from mockserver import formats
from mockserver.formats import format_checker

__all__ = ["DataGenerator", "GenerationError", "generate"]


class GenerationError(ValueError):
    """No valid value could be generated: the schema is contradictory or outside what is supported
    (a ``false`` schema, an empty ``enum`` intersection, ``minimum`` above ``maximum``, a required
    property cycle with no finite instance, a non-local ``$ref``...)."""


# --------------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------------

_TS_MIN: Final = 1_577_836_800  # 2020-01-01T00:00:00Z
_TS_MAX: Final = 1_767_225_599  # 2025-12-31T23:59:59Z
_BIRTH_MIN: Final = -631_152_000  # 1950-01-01
_BIRTH_MAX: Final = 1_104_537_599  # 2004-12-31
_HARD_DEPTH: Final = 48
_RETRIES: Final = 8
_DIGITS: Final = "0123456789"
_LOWER: Final = "abcdefghijklmnopqrstuvwxyz"
_ALNUM: Final = _LOWER + _LOWER.upper() + _DIGITS
_PRINTABLE: Final = "".join(chr(c) for c in range(0x20, 0x7F))
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SAFE_DOMAINS: Final = ("example.com", "example.org", "example.net")
_INT_FORMAT_RANGES: Final = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
_TYPE_ORDER: Final = ("object", "array", "string", "integer", "number", "boolean", "null")
_FORMAT_CHECKER: Final = format_checker()  # the standard formats and mockserver.formats' own
_ANY: Final[list[Any]] = [True]


class _Country(NamedTuple):
    code: str  # ISO 3166-1 alpha-2, lower case
    language: str  # ISO 639-1
    calling_code: str
    mobile_prefixes: tuple[str, ...]
    subscriber_digits: int
    currency: str
    timezone: str
    offsets: tuple[str, ...]


_COUNTRIES: Final = (
    _Country("us", "en", "1", ("201", "212", "305", "415", "512", "617", "702", "917"), 7,
             "USD", "America/New_York", ("-05:00", "-04:00")),
    _Country("gb", "en", "44", ("7400", "7700", "7800", "7900"), 6,
             "GBP", "Europe/London", ("+00:00", "+01:00")),
    _Country("de", "de", "49", ("151", "152", "157", "160", "170", "171", "172", "176", "178"), 8,
             "EUR", "Europe/Berlin", ("+01:00", "+02:00")),
    _Country("at", "de", "43", ("650", "660", "664", "676", "699"), 7,
             "EUR", "Europe/Vienna", ("+01:00", "+02:00")),
    _Country("ch", "de", "41", ("76", "77", "78", "79"), 7,
             "CHF", "Europe/Zurich", ("+01:00", "+02:00")),
    _Country("fr", "fr", "33", ("6", "7"), 8, "EUR", "Europe/Paris", ("+01:00", "+02:00")),
    _Country("es", "es", "34", ("6",), 8, "EUR", "Europe/Madrid", ("+01:00", "+02:00")),
    _Country("it", "it", "39", ("320", "333", "347", "380"), 7,
             "EUR", "Europe/Rome", ("+01:00", "+02:00")),
    _Country("nl", "nl", "31", ("6",), 8, "EUR", "Europe/Amsterdam", ("+01:00", "+02:00")),
)
_COUNTRY_BY_CODE: Final = {c.code: c for c in _COUNTRIES}
_EU_VAT: Final = frozenset({"de", "at", "fr", "es", "it", "nl"})


# --------------------------------------------------------------------------------------------
# faker pools: built once per (locale, method) with a fixed seed, then sampled with our Random
# --------------------------------------------------------------------------------------------

_POOL_SIZE: Final = 200
_POOLS: dict[tuple[str, str], tuple[str, ...]] = {}
_FAKERS: dict[str, Faker] = {}
_POOL_LOCK = threading.Lock()


def _pool(locale: str, method: str) -> tuple[str, ...]:
    """Return up to ``_POOL_SIZE`` distinct values of ``Faker(locale).<method>()``.

    Built deterministically (a fixed seed per locale and method) and cached per process; a method
    the locale lacks falls back to ``en_US``."""
    key = (locale, method)
    pool = _POOLS.get(key)
    if pool is not None:
        return pool
    with _POOL_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            fake = _FAKERS.get(locale)
            if fake is None:
                fake = _FAKERS[locale] = Faker(locale)
            try:
                producer = getattr(fake, method)
            except AttributeError:
                if locale == "en_US":
                    raise
                pool = _POOLS[key] = _pool("en_US", method)
                return pool
            fake.seed_instance(zlib.crc32(f"{locale}:{method}".encode()))
            seen: dict[str, None] = {}
            for _ in range(_POOL_SIZE * 2):
                seen[str(producer())] = None
                if len(seen) >= _POOL_SIZE:
                    break
            pool = _POOLS[key] = tuple(seen)
    return pool


# --------------------------------------------------------------------------------------------
# validation helpers (jsonschema, taught OpenAPI 3.0's `nullable`)
# --------------------------------------------------------------------------------------------

_BASE_TYPE = Draft202012Validator.VALIDATORS["type"]


def _nullable_type(validator: Any, types: Any, instance: Any, schema: Any) -> Any:
    if instance is None and isinstance(schema, Mapping) and schema.get("nullable") is True:
        return
    yield from _BASE_TYPE(validator, types, instance, schema)


_Validator: Final[Any] = extend(Draft202012Validator, {"type": _nullable_type})


def _is_type(value: Any, json_type: str) -> bool:
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if json_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "null":
        return value is None
    if json_type == "array":
        return isinstance(value, list)
    if json_type == "object":
        return isinstance(value, dict)
    return False


def _freeze(value: Any) -> Hashable:
    """A hashable key with JSON equality (``1 == 1.0``, ``True != 1``)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("n", value)
    if isinstance(value, float):
        return ("n", int(value)) if value.is_integer() else ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if isinstance(value, list | tuple):
        return ("a", tuple(_freeze(v) for v in value))
    if isinstance(value, Mapping):
        return ("o", frozenset((k, _freeze(v)) for k, v in value.items()))
    return ("?", repr(value))


def _multiple_ok(value: int | float, multiples: Sequence[int | float]) -> bool:
    """``multipleOf`` exactly as jsonschema checks it (float quotient must be integral)."""
    for m in multiples:
        if isinstance(m, float):
            try:
                quotient = value / m
                if int(quotient) != quotient:
                    return False
            except OverflowError:
                if (Fraction(value) / Fraction(m)).denominator != 1:
                    return False
        elif value % m:
            return False
    return True


_ECMA_PROPERTIES: Final = {
    "L": "a-zA-Z", "Letter": "a-zA-Z", "Alphabetic": "a-zA-Z", "Alpha": "a-zA-Z",
    "Lu": "A-Z", "Uppercase_Letter": "A-Z", "Uppercase": "A-Z",
    "Ll": "a-z", "Lowercase_Letter": "a-z", "Lowercase": "a-z",
    "N": "0-9", "Nd": "0-9", "Number": "0-9", "Decimal_Number": "0-9",
}


def _from_ecma(pattern: str) -> str:
    """Rewrite the ECMA-262 regex syntax Python lacks into an (ASCII) Python equivalent.

    ``\\p{L}``-style property classes become ASCII ranges (a subset, so strings matching the
    rewrite match the original), ``(?<name>`` becomes ``(?P<name>``, ``\\k<name>`` becomes
    ``(?P=name)``."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            prop = re.match(r"\{(?:[A-Za-z_]+=)?([A-Za-z_]+)\}", pattern[i + 2:])
            if nxt in "pP" and prop and prop.group(1) in _ECMA_PROPERTIES:
                ranges = _ECMA_PROPERTIES[prop.group(1)]
                if nxt == "p":
                    out.append(ranges if in_class else f"[{ranges}]")
                else:
                    out.append(f"[^{ranges}]" if not in_class else pattern[i:i + 2 + prop.end()])
                i += 2 + prop.end()
                continue
            name = re.match(r"<([A-Za-z_]\w*)>", pattern[i + 2:])
            if nxt == "k" and name and not in_class:
                out.append(f"(?P={name.group(1)})")
                i += 2 + name.end()
                continue
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif not in_class and pattern.startswith("(?<", i) and pattern[i + 3:i + 4] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(char)
        i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def _python_pattern(pattern: str) -> str | None:
    """``pattern`` as Python ``re`` syntax (after :func:`_from_ecma` if needed), else None."""
    for candidate in (pattern, _from_ecma(pattern)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. FutureWarning: possible nested set
                re.compile(candidate)
        except (re.error, TypeError, RecursionError):
            continue
        return candidate
    return None


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str] | None:
    python = _python_pattern(pattern)
    if python is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.compile(python)


# --------------------------------------------------------------------------------------------
# regex -> string (walks the parse tree of Python's own regex parser)
# --------------------------------------------------------------------------------------------

_sre: Any = importlib.import_module("re._parser")
_C: Any = importlib.import_module("re._constants")

_CATEGORY_POOLS: Final[dict[Any, str]] = {
    _C.CATEGORY_DIGIT: _DIGITS,
    _C.CATEGORY_NOT_DIGIT: _LOWER + _LOWER.upper(),
    _C.CATEGORY_SPACE: " ",
    _C.CATEGORY_NOT_SPACE: _ALNUM,
    _C.CATEGORY_WORD: _ALNUM + "_",
    _C.CATEGORY_NOT_WORD: " -.,:",
    _C.CATEGORY_LINEBREAK: "\n",
    _C.CATEGORY_NOT_LINEBREAK: _ALNUM,
}
_CATEGORY_RX: Final[dict[Any, re.Pattern[str]]] = {
    _C.CATEGORY_DIGIT: re.compile(r"\d"),
    _C.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    _C.CATEGORY_SPACE: re.compile(r"\s"),
    _C.CATEGORY_NOT_SPACE: re.compile(r"\S"),
    _C.CATEGORY_WORD: re.compile(r"\w"),
    _C.CATEGORY_NOT_WORD: re.compile(r"\W"),
    _C.CATEGORY_LINEBREAK: re.compile(r"\n"),
    _C.CATEGORY_NOT_LINEBREAK: re.compile(r"[^\n]"),
}


class _RegexUnsupported(Exception):
    pass


@lru_cache(maxsize=512)
def _parse_regex(pattern: str) -> Any:
    python = _python_pattern(pattern)
    if python is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _sre.parse(python)
    except (re.error, RecursionError, TypeError):
        return None


class _RegexSampler:
    """Produce one string matching a parsed regex; unbounded repeats get at most ``cap`` extra."""

    def __init__(self, rng: Random, cap: int) -> None:
        self.rng = rng
        self.cap = cap
        self.groups: dict[int, str] = {}

    def run(self, items: Any) -> str:
        return "".join(self.node(op, av) for op, av in items)

    def node(self, op: Any, av: Any) -> str:
        rng = self.rng
        if op is _C.LITERAL:
            return chr(av)
        if op is _C.NOT_LITERAL:
            return self._choose([c for c in _PRINTABLE if ord(c) != av])
        if op is _C.ANY:
            return rng.choice(_ALNUM)
        if op is _C.IN:
            return self._in(av)
        if op is _C.BRANCH:
            return self.run(rng.choice(av[1]))
        if op is _C.SUBPATTERN:
            group, sub = av[0], av[-1]
            text = self.run(sub)
            if group:
                self.groups[group] = text
            return text
        if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
            low, high, sub = av
            top = low + self.cap if high is _C.MAXREPEAT else min(high, low + self.cap)
            return "".join(self.run(sub) for _ in range(rng.randint(low, top)))
        if op is _C.AT or op is _C.ASSERT or op is _C.ASSERT_NOT:
            return ""  # anchors and lookarounds: the final re.search decides
        if op is _C.GROUPREF:
            return self.groups.get(av, "")
        if op is _C.GROUPREF_EXISTS:
            group, yes, no = av
            branch = yes if group in self.groups else no
            return self.run(branch) if branch else ""
        if op is _C.ATOMIC_GROUP:
            return self.run(av)
        if op is _C.CATEGORY:
            return rng.choice(_CATEGORY_POOLS[av])
        raise _RegexUnsupported(str(op))

    def _choose(self, pool: Sequence[str]) -> str:
        if not pool:
            raise _RegexUnsupported("empty character class")
        return self.rng.choice(pool)

    def _in(self, items: Any) -> str:
        if items and items[0][0] is _C.NEGATE:
            rest = items[1:]
            return self._choose([c for c in _PRINTABLE if not self._member(c, rest)])
        weights: list[int] = []
        for op, av in items:
            if op is _C.RANGE:
                weights.append(av[1] - av[0] + 1)
            elif op is _C.CATEGORY:
                weights.append(len(_CATEGORY_POOLS[av]))
            else:
                weights.append(1)
        op, av = self.rng.choices(items, weights=weights)[0]
        if op is _C.LITERAL:
            return chr(av)
        if op is _C.RANGE:
            return chr(self.rng.randint(av[0], av[1]))
        if op is _C.CATEGORY:
            return self.rng.choice(_CATEGORY_POOLS[av])
        raise _RegexUnsupported(str(op))

    @staticmethod
    def _member(char: str, items: Any) -> bool:
        code = ord(char)
        for op, av in items:
            if op is _C.LITERAL and code == av:
                return True
            if op is _C.RANGE and av[0] <= code <= av[1]:
                return True
            if op is _C.CATEGORY and _CATEGORY_RX[av].match(char):
                return True
        return False


def _sample_regex(pattern: str, rng: Random, cap: int) -> str | None:
    """One string intended to match ``pattern`` (callers re-check with ``re.search``)."""
    parsed = _parse_regex(pattern)
    if parsed is None:
        return None
    try:
        return _RegexSampler(rng, cap).run(parsed)
    except (_RegexUnsupported, KeyError, ValueError, RecursionError):
        return None


# --------------------------------------------------------------------------------------------
# names -> hints
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _normalize_name(name: str) -> str:
    """``phoneNo`` -> ``phone_no``, ``customerID`` -> ``customer_id``, ``Zip-Code`` -> ``zip_code``.
    """
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


def _singular(name: str) -> str:
    if name.endswith("ies") and len(name) > 4:
        return name[:-3] + "y"
    if name.endswith(("sses", "xes", "ches", "shes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith("ss") and len(name) > 3:
        return name[:-1]
    return name


def _alias(kind: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, kind)


_STRING_NAMES: Final[dict[str, str]] = {
    **_alias("email", "email", "email_address", "mail", "e_mail", "emailaddress"),
    **_alias("first_name", "first_name", "firstname", "given_name", "forename", "name"),
    **_alias("last_name", "last_name", "lastname", "surname", "family_name"),
    **_alias("full_name", "full_name", "fullname", "display_name", "contact_name",
             "representative", "contact_person", "recipient", "recipient_name", "attention",
             "customer_name", "holder_name", "account_holder", "account_holder_name"),
    **_alias("username", "username", "user_name", "login", "handle", "nickname", "screen_name"),
    **_alias("phone", "phone", "phone_no", "phone_number", "phonenumber", "mobile", "mobile_no",
             "mobile_number", "mobile_phone", "cell", "cellphone", "cell_phone", "telephone",
             "tel", "fax", "msisdn", "contact_number"),
    **_alias("country", "country", "country_code", "country_iso", "iso_country", "nationality"),
    **_alias("country_name", "country_name"),
    **_alias("locale", "locale", "language", "lang", "language_code", "preferred_language"),
    **_alias("timezone_offset", "timezone_offset", "tz_offset", "utc_offset", "time_zone_offset"),
    **_alias("timezone", "timezone", "time_zone", "tz"),
    **_alias("city", "city", "town", "locality"),
    **_alias("postcode", "postcode", "post_code", "postal_code", "postalcode", "zip", "zip_code",
             "zipcode"),
    **_alias("street", "address", "street", "street_address", "address_line", "address_line1",
             "address_line_1", "line1", "line_1", "address1", "street1", "street_line1"),
    **_alias("secondary_address", "address_line2", "address_line_2", "line2", "line_2",
             "address2", "street2", "street_line2"),
    **_alias("state", "state", "region", "province", "county"),
    **_alias("company", "company", "company_name", "organization", "organisation",
             "organization_name", "organisation_name", "business", "business_name", "employer"),
    **_alias("vat", "vat", "vat_number", "vat_id", "vat_no", "vatin", "tax_id", "tax_number"),
    **_alias("url", "url", "uri", "website", "homepage", "home_page", "web", "link", "href",
             "site"),
    **_alias("image_url", "avatar", "avatar_url", "image", "image_url", "photo", "photo_url",
             "picture", "logo", "logo_url", "thumbnail", "thumbnail_url"),
    **_alias("domain", "domain", "domain_name", "hostname", "host"),
    **_alias("ip", "ip", "ip_address", "ipv4", "ip_addr", "client_ip", "remote_ip",
             "remote_addr", "ipv4_address"),
    **_alias("ipv6", "ipv6", "ipv6_address"),
    **_alias("currency", "currency", "currency_code"),
    **_alias("id", "id", "identifier", "external_id", "reference", "ref"),
    **_alias("uuid", "uuid", "guid"),
    **_alias("stripe_id", "stripe_customer_id", "stripe_id"),
    **_alias("datetime", "timestamp", "datetime", "date_time", "time_stamp"),
    **_alias("date", "date", "day"),
    **_alias("birth_date", "birthday", "birth_date", "birthdate", "date_of_birth", "dob"),
    **_alias("device_type", "device_type", "platform", "os", "device_os"),
    **_alias("device_token", "device_token", "push_token", "fcm_token", "apns_token",
             "registration_token", "device_id_token"),
    **_alias("token", "token", "cursor", "next_cursor", "page_token", "access_token",
             "refresh_token", "api_key", "apikey", "secret",
             "client_secret", "secret_key", "signing_secret"),
    **_alias("password", "password", "passwd", "pwd", "pass"),
    **_alias("sentence", "description", "desc", "summary", "bio", "about", "note", "notes",
             "comment", "comments", "message", "text", "body", "content", "details", "reason",
             "error", "errors", "error_message", "detail"),
    **_alias("title", "title", "headline", "subject"),
    **_alias("word", "tag", "category", "label", "keyword", "type", "kind", "group", "role"),
    **_alias("slug", "slug"),
    **_alias("color", "color", "colour"),
    **_alias("iban", "iban"),
    **_alias("bic", "bic", "swift", "swift_code", "swift_bic"),
    **_alias("user_agent", "user_agent", "useragent"),
    **_alias("mime_type", "mime_type", "mimetype", "content_type", "media_type"),
    **_alias("file_name", "file_name", "filename"),
    **_alias("job", "job", "job_title", "occupation"),
    **_alias("version", "version", "app_version", "sdk_version"),
    **_alias("status", "status", "state_name"),
}
_STRING_SUFFIXES: Final = (
    ("_email", "email"), ("_phone", "phone"), ("_phone_number", "phone"), ("_url", "url"),
    ("_uri", "url"), ("_link", "url"), ("_uuid", "uuid"), ("_guid", "uuid"), ("_id", "id"),
    ("_at", "datetime"), ("_timestamp", "datetime"), ("_datetime", "datetime"),
    ("_date", "date"), ("_on", "date"), ("_country", "country"), ("_country_code", "country"),
    ("_city", "city"), ("_zip", "postcode"), ("_postcode", "postcode"),
    ("_postal_code", "postcode"), ("_street", "street"), ("_state", "state"),
    ("_company", "company"), ("_ip", "ip"), ("_token", "token"), ("_key", "token"),
    ("_secret", "token"), ("_cursor", "token"), ("_currency", "currency"),
    ("_description", "sentence"),
    ("_note", "sentence"), ("_first_name", "first_name"), ("_last_name", "last_name"),
    ("_full_name", "full_name"), ("_locale", "locale"), ("_language", "locale"),
    ("_title", "title"),
)
_NUMBER_NAMES: Final[dict[str, str]] = {
    **_alias("timestamp", "timestamp", "time_stamp", "datetime", "date_time", "time", "ts"),
    **_alias("age", "age"),
    **_alias("year", "year"),
    **_alias("month", "month"),
    **_alias("day", "day"),
    **_alias("hour", "hour", "hours"),
    **_alias("minute", "minute", "minutes", "second", "seconds"),
    **_alias("port", "port"),
    **_alias("page", "page", "page_number", "page_no"),
    **_alias("page_size", "per_page", "page_size", "limit", "pagesize", "size"),
    **_alias("offset", "offset", "skip"),
    **_alias("count", "count", "total", "total_count", "items", "num"),
    **_alias("quantity", "quantity", "qty"),
    **_alias("amount", "price", "amount", "cost", "total_amount", "subtotal", "balance", "fee",
             "unit_price", "value"),
    **_alias("latitude", "latitude", "lat"),
    **_alias("longitude", "longitude", "lng", "lon", "long"),
    **_alias("rating", "rating", "stars", "score"),
    **_alias("percent", "percent", "percentage", "discount", "progress"),
    **_alias("int_id", "id", "identifier"),
    **_alias("version", "version"),
    **_alias("duration", "duration", "timeout", "ttl", "expires_in", "retry_after", "interval"),
    **_alias("postcode", "zip", "zip_code", "postcode", "postal_code"),
}
_NUMBER_SUFFIXES: Final = (
    ("_at_ms", "timestamp_ms"), ("_timestamp_ms", "timestamp_ms"),
    ("_at", "timestamp"), ("_timestamp", "timestamp"), ("_time", "timestamp"), ("_id", "int_id"),
    ("_count", "count"), ("_total", "count"), ("_amount", "amount"), ("_price", "amount"),
    ("_percent", "percent"), ("_percentage", "percent"), ("_year", "year"),
    ("_seconds", "duration"), ("_secs", "duration"), ("_ms", "duration"), ("_age", "age"),
)
_NUMBER_PREFIXES: Final = (("num_", "count"), ("number_of_", "count"), ("total_", "count"))

# the formats a name hint's value satisfies (a hint is only used alongside a *known* format
# when it produces that format)
_HINT_FORMATS: Final[dict[str, frozenset[str]]] = {
    "email": frozenset({"email", "idn-email"}),
    "url": frozenset({"uri", "url", "iri", "uri-reference", "iri-reference"}),
    "image_url": frozenset({"uri", "url", "iri", "uri-reference", "iri-reference"}),
    "domain": frozenset({"hostname", "idn-hostname"}),
    "ip": frozenset({"ipv4"}),
    "ipv6": frozenset({"ipv6"}),
    "uuid": frozenset({"uuid"}),
    "datetime": frozenset({"date-time"}),
    "date": frozenset({"date"}),
    "birth_date": frozenset({"date"}),
    "password": frozenset({"password"}),
}
# custom (non JSON-Schema) formats that are really name hints
_FORMAT_AS_HINT: Final = {
    "phone": "phone", "phone-number": "phone", "tel": "phone", "e164": "phone",
    "iban": "iban", "bic": "bic", "country-code": "country", "iso-country": "country",
    "currency": "currency", "currency-code": "currency", "language": "locale",
    "locale": "locale", "ulid": "id", "timezone": "timezone",
    formats.COUNTRY: "country", formats.LANGUAGE: "locale",
}


@lru_cache(maxsize=4096)
def _string_kind(name: str) -> str | None:
    norm = _normalize_name(name)
    for candidate in (norm, _singular(norm)):
        kind = _STRING_NAMES.get(candidate)
        if kind is not None:
            return kind
    for suffix, kind in _STRING_SUFFIXES:
        if norm.endswith(suffix) or _singular(norm).endswith(suffix):
            return kind
    return None


@lru_cache(maxsize=4096)
def _number_kind(name: str) -> str | None:
    norm = _normalize_name(name)
    for candidate in (norm, _singular(norm)):
        kind = _NUMBER_NAMES.get(candidate)
        if kind is not None:
            return kind
    for suffix, kind in _NUMBER_SUFFIXES:
        if norm.endswith(suffix):
            return kind
    for prefix, kind in _NUMBER_PREFIXES:
        if norm.startswith(prefix):
            return kind
    return None


_CREATED_NAMES: Final = frozenset({
    "created", "created_at", "created_on", "creation_date", "created_date", "registered_at",
    "registered_on", "signup_at", "signed_up_at", "joined_at", "date_joined", "since",
})


@lru_cache(maxsize=1024)
def _time_role(name: str) -> str | None:
    """``"created"``, ``"later"`` (updated, modified, last seen...) or None (normalized name)."""
    if name in _CREATED_NAMES or name.endswith(("_created_at", "_created_on", "_created")):
        return "created"
    if name.startswith(("updated", "modified", "last_", "changed")) or name.endswith(
        ("_updated_at", "_modified_at", "_updated_on")
    ):
        return "later"
    return None


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", folded.lower())


# --------------------------------------------------------------------------------------------
# the merged ("flattened") view of a schema
# --------------------------------------------------------------------------------------------

_Group = tuple[list[Any], Mapping[str, Any] | None]  # branches, discriminator


@dataclass(slots=True)
class _Flat:
    """Every constraint that applies to one instance location, after `$ref`/`allOf` merging."""

    types: set[str] | None = None
    enum: list[Any] | None = None
    lo: int | float | None = None
    lo_excl: bool = False
    hi: int | float | None = None
    hi_excl: bool = False
    multiple_of: list[int | float] = field(default_factory=list)
    min_length: int = 0
    max_length: int | None = None
    patterns: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    prefix_items: list[list[Any]] = field(default_factory=list)
    items: list[tuple[int, Any]] = field(default_factory=list)  # (first index, schema)
    items_limit: int | None = None
    min_items: int = 0
    max_items: int | None = None
    unique_items: bool = False
    contains: list[Any] = field(default_factory=list)
    min_contains: int | None = None
    max_contains: int | None = None
    properties: dict[str, list[Any]] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    closed: list[tuple[frozenset[str], tuple[str, ...]]] = field(default_factory=list)
    additional: list[tuple[frozenset[str], tuple[str, ...], Any]] = field(default_factory=list)
    pattern_properties: list[tuple[str, Any]] = field(default_factory=list)
    property_names: list[Any] = field(default_factory=list)
    no_extras: bool = False
    min_properties: int = 0
    max_properties: int | None = None
    dependent_required: dict[str, list[str]] = field(default_factory=dict)
    dependent_schemas: dict[str, list[Any]] = field(default_factory=dict)
    one_of: list[_Group] = field(default_factory=list)
    any_of: list[_Group] = field(default_factory=list)
    nots: list[Any] = field(default_factory=list)
    not_types: set[str] = field(default_factory=set)
    excluded: list[Any] = field(default_factory=list)
    conditions: list[tuple[Any, Any, Any]] = field(default_factory=list)
    examples: list[Any] = field(default_factory=list)
    defaults: list[Any] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    unsat: str | None = None

    def copy(self) -> _Flat:
        return replace(
            self,
            types=None if self.types is None else set(self.types),
            enum=None if self.enum is None else list(self.enum),
            multiple_of=list(self.multiple_of),
            patterns=list(self.patterns),
            formats=list(self.formats),
            prefix_items=[list(p) for p in self.prefix_items],
            items=list(self.items),
            contains=list(self.contains),
            properties={k: list(v) for k, v in self.properties.items()},
            required=list(self.required),
            closed=list(self.closed),
            additional=list(self.additional),
            pattern_properties=list(self.pattern_properties),
            property_names=list(self.property_names),
            dependent_required={k: list(v) for k, v in self.dependent_required.items()},
            dependent_schemas={k: list(v) for k, v in self.dependent_schemas.items()},
            one_of=list(self.one_of),
            any_of=list(self.any_of),
            nots=list(self.nots),
            not_types=set(self.not_types),
            excluded=list(self.excluded),
            conditions=list(self.conditions),
            examples=list(self.examples),
            defaults=list(self.defaults),
            refs=list(self.refs),
        )

    def allows_name(self, name: str) -> bool:
        """Whether ``additionalProperties: false`` somewhere still lets property ``name`` in."""
        for names, patterns in self.closed:
            if name in names:
                continue
            if not any((rx := _compile(p)) is not None and rx.search(name) for p in patterns):
                return False
        return True


def _find_anchor(node: Any, anchor: str) -> Any:
    """The subschema carrying ``$anchor``/``$dynamicAnchor`` ``anchor``, searched depth-first."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Mapping):
            if anchor in (current.get("$anchor"), current.get("$dynamicAnchor")):
                return current
            stack.extend(reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _intersect_types(a: set[str], b: set[str]) -> set[str]:
    out: set[str] = set()
    for t in a:
        if t in b:
            out.add(t)
        elif (t == "integer" and "number" in b) or (t == "number" and "integer" in b):
            out.add("integer")
    return out


class _Ctx(NamedTuple):
    """Where generation stands: property name, `$ref` path, depth, the current persona."""

    name: str | None
    path: tuple[str, ...]
    depth: int
    persona: _Persona
    optional: bool = False
    minimal: bool = False


class _Persona:
    """One coherent fake person (names, email, phone and country agree); created lazily."""

    __slots__ = ("_country", "_created", "_email", "_first", "_gen", "_last", "_phone", "touched")

    def __init__(self, gen: DataGenerator) -> None:
        self._gen = gen
        self.touched = False  # set once a value came from this persona
        self._created: int | None = None
        self._first: str | None = None
        self._last: str | None = None
        self._country: _Country | None = None
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
    def country(self) -> _Country:
        self.touched = True
        if self._country is None:
            self._country = self._gen._pick_country()
        return self._country

    @property
    def email(self) -> str:
        if self._email is None:
            rng = self._gen._rng
            first, last = _ascii_slug(self.first) or "user", _ascii_slug(self.last) or "mail"
            local = rng.choice((f"{first}.{last}", f"{first}{last[0]}", f"{first[0]}{last}",
                                f"{first}.{last}{rng.randint(1, 99)}"))
            self._email = f"{local}@{rng.choice(_SAFE_DOMAINS)}"
        return self._email

    def timestamp(self, name: str) -> int:
        """A unix time for field ``name``: all "created" fields of one persona agree, and
        "updated"/"last ..." fields come after them; other fields are independent."""
        gen = self._gen
        role = _time_role(name)
        if role is None:
            return gen._timestamp()
        self.touched = True
        if self._created is None:
            self._created = gen._rng.randint(_TS_MIN, _TS_MAX - 86_400 * 90)
        if role == "created":
            return self._created
        return gen._rng.randint(self._created, _TS_MAX)

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


class DataGenerator:
    """Deterministic generator of realistic, schema-valid JSON values.

    Args:
        seed: seed of the generator's random stream; ``None`` picks a random one (see
            :attr:`seed`).
        locale: faker locale used for names, addresses, companies...
        optional_rate: probability that an optional object property is included.
        null_rate: probability of ``null`` where the schema allows it besides other types.
        max_depth: nesting depth after which only minimal values (required properties only,
            ``minItems`` items, ``null`` where allowed) are produced.
        max_recursion: how often one ``$ref`` may be expanded along a path before values under
            it become minimal; recursion always terminates where the schema lets it.
        mode: ``"response"`` leaves out optional ``writeOnly`` properties, ``"request"`` leaves
            out optional ``readOnly`` ones.
    """

    def __init__(
        self,
        seed: int | None = None,
        locale: str = "en_US",
        *,
        optional_rate: float = 0.9,
        null_rate: float = 0.1,
        max_depth: int = 8,
        max_recursion: int = 2,
        mode: str = "response",
    ) -> None:
        if locale not in AVAILABLE_LOCALES:
            raise ValueError(f"unknown faker locale {locale!r}")
        if mode not in ("response", "request"):
            raise ValueError("mode must be 'response' or 'request'")
        self.locale = locale
        self.optional_rate = optional_rate
        self.null_rate = null_rate
        self.max_depth = max_depth
        self.max_recursion = max_recursion
        self.mode = mode
        self._skip_flag = "writeOnly" if mode == "response" else "readOnly"
        self._locale_country = _COUNTRY_BY_CODE.get(locale.rpartition("_")[2].lower())
        self._rng = Random()
        self._root: Any = None
        self._validators: tuple[Any, Any, Any] | None = None
        self._flat_cache: dict[tuple[int, ...], tuple[tuple[Any, ...], _Flat]] = {}
        self.seed: int = 0
        self.reseed(seed)

    # -- public API --------------------------------------------------------------------------

    def reseed(self, seed: int | None) -> None:
        """Restart the random stream from ``seed`` (``None``: a fresh random seed)."""
        self.seed = secrets.randbits(63) if seed is None else seed
        self._rng.seed(self.seed)

    def generate(
        self, schema: Any, root: Mapping[str, Any] | None = None, name: str | None = None
    ) -> Any:
        """Return a value valid against ``schema``.

        Args:
            schema: a JSON Schema (dict or bool); local ``$ref``\\ s are resolved against
                ``root``.
            root: the document ``$ref``\\ s point into (the whole OpenAPI document); defaults
                to ``schema`` itself.
            name: the property name the schema sits under, used to pick realistic values.

        Raises:
            GenerationError: the schema admits no value this generator can find.
        """
        previous = self._root
        self._root = root if root is not None else (schema if isinstance(schema, Mapping) else {})
        try:
            ctx = _Ctx(name=name, path=(), depth=0, persona=_Persona(self))
            return self._gen([schema], ctx)
        except RecursionError as exc:
            raise GenerationError("schema nesting too deep for generation") from exc
        finally:
            self._root = previous

    # -- schema plumbing ---------------------------------------------------------------------

    def _resolve_ref(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise GenerationError(f"only local $refs are supported, got {ref!r}")
        node: Any = self._root
        pointer = unquote(ref[1:])
        if pointer and not pointer.startswith("/"):
            anchored = _find_anchor(node, pointer)
            if anchored is None:
                raise GenerationError(f"unresolvable $ref {ref!r}")
            return anchored
        if pointer:
            for raw in pointer.lstrip("/").split("/"):
                token = raw.replace("~1", "/").replace("~0", "~")
                if isinstance(node, Mapping) and token in node:
                    node = node[token]
                elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                    node = node[int(token)]
                else:
                    raise GenerationError(f"unresolvable $ref {ref!r}")
        return node

    def _flatten(self, schemas: Sequence[Any]) -> _Flat:
        """Merged view of ``schemas`` (cached per schema identity; never mutate the result)."""
        key = (id(self._root), *map(id, schemas))
        hit = self._flat_cache.get(key)
        if hit is not None:
            return hit[1]
        flat = _Flat()
        for schema in schemas:
            self._absorb(flat, schema, ())
        if len(self._flat_cache) >= 4096:
            self._flat_cache.clear()
        self._flat_cache[key] = ((self._root, *schemas), flat)  # keeps the ids alive
        return flat

    def _absorb(self, flat: _Flat, schema: Any, expanding: tuple[str, ...]) -> None:
        if schema is True:
            return
        if schema is False:
            flat.unsat = "the schema `false` admits no value"
            return
        if not isinstance(schema, Mapping):
            raise GenerationError(f"not a schema: {schema!r}")
        if not schema:
            return
        g = schema.get
        for key in ("$ref", "$dynamicRef"):
            ref = g(key)
            if isinstance(ref, str) and (key == "$ref" or ref.startswith("#/")):
                if ref in expanding:
                    raise GenerationError(f"$ref cycle without any instance in between: {ref}")
                flat.refs.append(ref)
                self._absorb(flat, self._resolve_ref(ref), (*expanding, ref))

        # types, enum, const
        t = g("type")
        if t is not None:
            types = {t} if isinstance(t, str) else set(t)
            if g("nullable") is True:
                types.add("null")
            flat.types = types if flat.types is None else _intersect_types(flat.types, types)
            if not flat.types:
                flat.unsat = "the schema's types do not intersect"
        values: list[Any] | None = None
        if "enum" in schema:
            values = list(schema["enum"])
        if "const" in schema:
            const = [schema["const"]]
            values = const if values is None else self._intersect_values(values, const)
        if values is not None:
            flat.enum = values if flat.enum is None else self._intersect_values(flat.enum, values)
            if not flat.enum:
                flat.unsat = "enum/const values do not intersect"

        # numbers
        if _number(g("minimum")):
            self._lower(flat, schema["minimum"], g("exclusiveMinimum") is True)
        if _number(g("exclusiveMinimum")):
            self._lower(flat, schema["exclusiveMinimum"], True)
        if _number(g("maximum")):
            self._upper(flat, schema["maximum"], g("exclusiveMaximum") is True)
        if _number(g("exclusiveMaximum")):
            self._upper(flat, schema["exclusiveMaximum"], True)
        if _number(g("multipleOf")) and schema["multipleOf"] > 0:
            flat.multiple_of.append(schema["multipleOf"])

        # strings
        if isinstance(g("minLength"), int):
            flat.min_length = max(flat.min_length, schema["minLength"])
        if isinstance(g("maxLength"), int):
            flat.max_length = self._min_opt(flat.max_length, schema["maxLength"])
        if isinstance(g("pattern"), str):
            flat.patterns.append(schema["pattern"])
        if isinstance(g("format"), str):
            flat.formats.append(schema["format"])

        # arrays
        prefix = g("prefixItems")
        items = g("items")
        if isinstance(items, list):  # draft 4-2019 tuple form
            prefix, items = items, g("additionalItems")
        prefix_len = len(prefix) if isinstance(prefix, list) else 0
        if isinstance(prefix, list):
            for i, sub in enumerate(prefix):
                if i == len(flat.prefix_items):
                    flat.prefix_items.append([])
                flat.prefix_items[i].append(sub)
        if items is False:
            flat.items_limit = self._min_opt(flat.items_limit, prefix_len)
        elif isinstance(items, Mapping):
            flat.items.append((prefix_len, items))
        elif items is None and g("unevaluatedItems") is False:
            flat.items_limit = self._min_opt(flat.items_limit, prefix_len)
        if isinstance(g("minItems"), int):
            flat.min_items = max(flat.min_items, schema["minItems"])
        if isinstance(g("maxItems"), int):
            flat.max_items = self._min_opt(flat.max_items, schema["maxItems"])
        if g("uniqueItems") is True:
            flat.unique_items = True
        if "contains" in schema:
            flat.contains.append(schema["contains"])
            if isinstance(g("minContains"), int):
                flat.min_contains = max(flat.min_contains or 0, schema["minContains"])
            if isinstance(g("maxContains"), int):
                flat.max_contains = self._min_opt(flat.max_contains, schema["maxContains"])

        # objects
        props = g("properties")
        own_names = frozenset(props) if isinstance(props, Mapping) else frozenset()
        if isinstance(props, Mapping):
            for prop, sub in props.items():
                flat.properties.setdefault(prop, []).append(sub)
        pattern_props = g("patternProperties")
        own_patterns = tuple(pattern_props) if isinstance(pattern_props, Mapping) else ()
        if isinstance(pattern_props, Mapping):
            flat.pattern_properties.extend(pattern_props.items())
        required = g("required")
        for req in required if isinstance(required, list) else ():
            if isinstance(req, str) and req not in flat.required:
                flat.required.append(req)
        extra = g("additionalProperties")
        if extra is False:
            flat.closed.append((own_names, own_patterns))
            flat.no_extras = True
        elif isinstance(extra, Mapping) and extra:
            flat.additional.append((own_names, own_patterns, extra))
        unevaluated = g("unevaluatedProperties")
        if unevaluated is False:
            flat.no_extras = True
        elif isinstance(unevaluated, Mapping) and unevaluated:
            flat.additional.append((own_names, own_patterns, unevaluated))
        if "propertyNames" in schema:
            flat.property_names.append(schema["propertyNames"])
        if isinstance(g("minProperties"), int):
            flat.min_properties = max(flat.min_properties, schema["minProperties"])
        if isinstance(g("maxProperties"), int):
            flat.max_properties = self._min_opt(flat.max_properties, schema["maxProperties"])
        for key in ("dependentRequired", "dependentSchemas", "dependencies"):
            deps = g(key)
            if isinstance(deps, Mapping):
                for prop, needed in deps.items():
                    if isinstance(needed, list):
                        flat.dependent_required.setdefault(prop, []).extend(needed)
                    elif isinstance(needed, Mapping | bool):
                        flat.dependent_schemas.setdefault(prop, []).append(needed)

        # composition
        for sub in g("allOf") or ():
            self._absorb(flat, sub, expanding)
        disc = g("discriminator")
        disc = disc if isinstance(disc, Mapping) and isinstance(disc.get("propertyName"), str) \
            else None
        if isinstance(g("oneOf"), list) and schema["oneOf"]:
            flat.one_of.append((list(schema["oneOf"]), disc))
        if isinstance(g("anyOf"), list) and schema["anyOf"]:
            flat.any_of.append((list(schema["anyOf"]), disc))
        if "not" in schema:
            self._absorb_not(flat, schema["not"])
        if "if" in schema and ("then" in schema or "else" in schema):
            flat.conditions.append((schema["if"], g("then"), g("else")))

        # annotations
        examples = g("examples")
        if isinstance(examples, list):
            flat.examples.extend(examples)
        if "example" in schema:
            flat.examples.append(schema["example"])
        if "default" in schema:
            flat.defaults.append(schema["default"])

    def _absorb_not(self, flat: _Flat, negated: Any) -> None:
        """Record ``not``; its simple forms (a type, an enum, a const) also steer generation."""
        flat.nots.append(negated)
        if not isinstance(negated, Mapping):
            return
        if set(negated) == {"type"}:
            t = negated["type"]
            flat.not_types.update([t] if isinstance(t, str) else t)
        elif set(negated) in ({"enum"}, {"const"}):
            flat.excluded.extend(negated.get("enum", [negated.get("const")]))

    @staticmethod
    def _min_opt(current: int | None, new: int) -> int:
        return new if current is None else min(current, new)

    @staticmethod
    def _intersect_values(a: list[Any], b: list[Any]) -> list[Any]:
        keys = {_freeze(v) for v in b}
        return [v for v in a if _freeze(v) in keys]

    @staticmethod
    def _lower(flat: _Flat, value: int | float, excl: bool) -> None:
        if flat.lo is None or value > flat.lo or (value == flat.lo and excl):
            flat.lo, flat.lo_excl = value, excl

    @staticmethod
    def _upper(flat: _Flat, value: int | float, excl: bool) -> None:
        if flat.hi is None or value < flat.hi or (value == flat.hi and excl):
            flat.hi, flat.hi_excl = value, excl

    def _valid(self, value: Any, schema: Any, *, formats: bool = True) -> bool:
        """Full jsonschema validation (with the root document for `$ref`s)."""
        cached = self._validators
        if cached is None or cached[0] is not self._root:
            root = self._root
            cached = self._validators = (
                root,
                _Validator(root, format_checker=_FORMAT_CHECKER),
                _Validator(root),
            )
        validator = cached[1] if formats else cached[2]
        try:
            return bool(validator.evolve(schema=schema).is_valid(value))
        except (SchemaError, Unresolvable, re.error, TypeError, ValueError):
            return False

    @staticmethod
    def _as_schema(schemas: Sequence[Any]) -> Any:
        return schemas[0] if len(schemas) == 1 else {"allOf": list(schemas)}

    # -- randomness helpers ------------------------------------------------------------------

    def _pick(self, method: str) -> str:
        return self._rng.choice(_pool(self.locale, method))

    def _pick_country(self) -> _Country:
        if self._locale_country is not None and self._rng.random() < 0.75:
            return self._locale_country
        return self._rng.choice(_COUNTRIES)

    def _timestamp(self) -> int:
        return self._rng.randint(_TS_MIN, _TS_MAX)

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _ulid(self) -> str:
        millis = self._timestamp() * 1000 + self._rng.randint(0, 999)
        head = "".join(_CROCKFORD[(millis >> (5 * i)) & 31] for i in range(9, -1, -1))
        tail = self._rng.getrandbits(80)
        return head + "".join(_CROCKFORD[(tail >> (5 * i)) & 31] for i in range(15, -1, -1))

    def _hex(self, length: int) -> str:
        return format(self._rng.getrandbits(4 * length), f"0{length}x")

    def _digits(self, length: int) -> str:
        return str(self._rng.randrange(10**length)).zfill(length)

    # -- core dispatch -----------------------------------------------------------------------

    def _gen(self, schemas: Sequence[Any], ctx: _Ctx) -> Any:
        if ctx.depth > _HARD_DEPTH:
            raise GenerationError("schema nesting too deep: a required recursion never ends")
        flat = self._flatten(schemas)
        ctx = self._enter(ctx, flat.refs)
        if ctx.depth >= self.max_depth and not ctx.minimal:
            ctx = ctx._replace(minimal=True)
        try:
            return self._gen_flat(flat, ctx)
        except GenerationError:
            for example in self._shuffled(flat.examples):
                if self._valid(example, self._as_schema(schemas)):
                    return copy.deepcopy(example)
            raise

    def _enter(self, ctx: _Ctx, refs: Sequence[str]) -> _Ctx:
        if not refs:
            return ctx
        path = ctx.path + tuple(refs)
        minimal = ctx.minimal or any(path.count(r) > self.max_recursion for r in refs)
        return ctx._replace(path=path, minimal=minimal)

    def _shuffled(self, values: Sequence[Any]) -> list[Any]:
        out = list(values)
        self._rng.shuffle(out)
        return out

    def _gen_flat(self, flat: _Flat, ctx: _Ctx) -> Any:
        if flat.unsat is not None:
            raise GenerationError(flat.unsat)
        if flat.one_of:
            rest = flat.copy()
            group = rest.one_of.pop(0)
            return self._gen_branch(rest, group, ctx, exclusive=True)
        if flat.any_of:
            rest = flat.copy()
            group = rest.any_of.pop(0)
            return self._gen_branch(rest, group, ctx, exclusive=False)
        if flat.conditions:
            return self._gen_conditional(flat, ctx)
        if not flat.nots:
            return self._gen_plain(flat, ctx)
        fallback: list[Any] = []
        for attempt in range(4 * _RETRIES):
            value = self._gen_plain(flat, ctx._replace(minimal=ctx.minimal or attempt % 2 == 1))
            if not self._matches_any(value, flat.nots, formats=True):
                if not self._matches_any(value, flat.nots, formats=False):
                    return value
                fallback.append(value)
        if fallback:
            return fallback[0]
        raise GenerationError("could not generate a value outside every `not` schema")

    def _matches_any(self, value: Any, schemas: Sequence[Any], *, formats: bool) -> bool:
        """Whether ``value`` is valid against any of ``schemas``.

        Checked both with and without format assertion: validators differ there, and a value
        that must *not* match (``not``, the other ``oneOf`` branches) should fail under both."""
        return any(self._valid(value, s, formats=formats) for s in schemas)

    def _discriminator_value(self, disc: Mapping[str, Any], branch: Any) -> str | None:
        ref = branch.get("$ref") if isinstance(branch, Mapping) else None
        if not isinstance(ref, str):
            return None
        simple = ref.rsplit("/", 1)[-1]
        mapping = disc.get("mapping")
        if isinstance(mapping, Mapping):
            for key, target in mapping.items():
                if target in (ref, simple):
                    return str(key)
        return simple

    def _gen_branch(self, rest: _Flat, group: _Group, ctx: _Ctx, *, exclusive: bool) -> Any:
        branches, disc = group
        order = self._shuffled(range(len(branches)))
        if ctx.minimal or ctx.depth >= self.max_depth:
            # prefer branches that do not recurse back into the path
            def recursive(i: int) -> bool:
                b = branches[i]
                return isinstance(b, Mapping) and b.get("$ref") in ctx.path

            order.sort(key=recursive)
        fallback: list[Any] = []
        for index in order:
            branch = branches[index]
            others = [b for j, b in enumerate(branches) if j != index]
            tag = self._discriminator_value(disc, branch) if disc is not None else None
            variants: list[Any] = []
            if tag is not None and disc is not None:
                prop = disc["propertyName"]
                variants.append({"properties": {prop: {"const": tag}}, "required": [prop]})
            variants.append(None)
            for variant in variants:
                merged = rest.copy()
                before = len(merged.refs)
                self._absorb(merged, branch, ())
                if variant is not None:
                    self._absorb(merged, variant, ())
                if merged.unsat is not None:
                    continue
                sub_ctx = self._enter(ctx._replace(depth=ctx.depth + 1), merged.refs[before:])
                for attempt in range(3 if exclusive else 1):
                    try:
                        value = self._gen_flat(
                            merged, sub_ctx._replace(minimal=sub_ctx.minimal or attempt == 2)
                        )
                    except GenerationError:
                        break
                    if not exclusive:
                        return value
                    if not self._matches_any(value, others, formats=True):
                        if not self._matches_any(value, others, formats=False):
                            return value
                        fallback.append(value)
        if fallback:
            return fallback[0]
        kind = "oneOf" if exclusive else "anyOf"
        raise GenerationError(f"no {kind} branch could be generated" +
                              (" matching exactly one branch" if exclusive else ""))

    def _gen_conditional(self, flat: _Flat, ctx: _Ctx) -> Any:
        rest = flat.copy()
        condition, then, otherwise = rest.conditions.pop(0)
        paths = [True, False]
        self._rng.shuffle(paths)
        for take_then in paths:
            merged = rest.copy()
            if take_then:
                self._absorb(merged, condition, ())
                if then is not None:
                    self._absorb(merged, then, ())
            elif otherwise is not None:
                self._absorb(merged, otherwise, ())
            if merged.unsat is not None:
                continue
            for _ in range(4):
                try:
                    value = self._gen_flat(merged, ctx)
                except GenerationError:
                    break
                if self._valid(value, condition) == take_then:
                    return value
        raise GenerationError("could not satisfy if/then/else")

    def _choose_types(self, flat: _Flat, ctx: _Ctx) -> list[str]:
        types = self._candidate_types(flat, ctx)
        if flat.not_types:
            if flat.types is None and set(types) <= flat.not_types:
                types = list(_TYPE_ORDER)
            types = [t for t in types if t not in flat.not_types
                     and not (t == "integer" and "number" in flat.not_types)]
        return types

    def _candidate_types(self, flat: _Flat, ctx: _Ctx) -> list[str]:
        if flat.types is not None:
            return [t for t in _TYPE_ORDER if t in flat.types]
        if flat.properties or flat.required or flat.additional or flat.pattern_properties \
                or flat.min_properties or flat.max_properties is not None \
                or flat.property_names or flat.closed:
            return ["object"]
        if flat.items or flat.prefix_items or flat.min_items or flat.max_items is not None \
                or flat.contains or flat.unique_items:
            return ["array"]
        if flat.min_length or flat.max_length is not None or flat.patterns:
            return ["string"]
        if any(f in _INT_FORMAT_RANGES for f in flat.formats):
            return ["integer"]
        if flat.lo is not None or flat.hi is not None or flat.multiple_of \
                or any(f in ("float", "double") for f in flat.formats):
            return ["number"]
        if flat.formats or ctx.name is None or _string_kind(ctx.name) is not None:
            return ["string"]
        if _number_kind(ctx.name) is not None:
            return ["integer"]
        return ["string"]

    def _gen_plain(self, flat: _Flat, ctx: _Ctx) -> Any:
        if flat.enum is not None:
            banned = {_freeze(v) for v in flat.excluded}
            choices = [v for v in flat.enum if self._value_ok(v, flat, check_enum=False)
                       and _freeze(v) not in banned]
            if not choices:
                raise GenerationError("no enum/const value satisfies the other constraints")
            if ctx.minimal and any(v is None for v in choices):
                return None
            return copy.deepcopy(self._rng.choice(choices))
        types = self._choose_types(flat, ctx)
        if not types:
            raise GenerationError("no type is allowed")
        concrete = [t for t in types if t != "null"]
        if "null" in types and (
            not concrete or ctx.minimal or self._rng.random() < self.null_rate
        ):
            return None
        first = self._rng.choice(concrete)
        order = [first, *(t for t in concrete if t != first)]
        for kind in order:
            try:
                return self._gen_type(kind, flat, ctx)
            except GenerationError:
                if kind == order[-1] and "null" not in types:
                    raise
        return None

    def _gen_type(self, kind: str, flat: _Flat, ctx: _Ctx) -> Any:
        if kind in ("string", "integer", "number", "boolean") and ctx.optional and flat.defaults \
                and self._rng.random() < 0.15:
            default = flat.defaults[0]
            if self._value_ok(default, flat):
                return copy.deepcopy(default)
        if kind == "object":
            return self._gen_object(flat, ctx)
        if kind == "array":
            return self._gen_array(flat, ctx)
        if kind == "string":
            return self._gen_string(flat, ctx)
        if kind in ("integer", "number"):
            return self._gen_number(flat, ctx, integer=kind == "integer")
        if kind == "boolean":
            return self._rng.random() < 0.5
        raise GenerationError(f"unknown type {kind!r}")

    # -- scalar checks -----------------------------------------------------------------------

    def _value_ok(self, value: Any, flat: _Flat, *, check_enum: bool = True) -> bool:
        if flat.types is not None and not any(_is_type(value, t) for t in flat.types):
            return False
        if check_enum and flat.enum is not None and \
                _freeze(value) not in {_freeze(v) for v in flat.enum}:
            return False
        if _number(value):
            return self._number_ok(value, flat)
        if isinstance(value, str):
            return self._string_ok(value, flat)
        if isinstance(value, list):
            return len(value) >= flat.min_items and (
                flat.max_items is None or len(value) <= flat.max_items)
        if isinstance(value, dict):
            return all(r in value for r in flat.required)
        return True

    @staticmethod
    def _number_ok(value: int | float, flat: _Flat) -> bool:
        if flat.lo is not None and (value < flat.lo or (flat.lo_excl and value == flat.lo)):
            return False
        if flat.hi is not None and (value > flat.hi or (flat.hi_excl and value == flat.hi)):
            return False
        return _multiple_ok(value, flat.multiple_of)

    @staticmethod
    def _string_ok(value: str, flat: _Flat) -> bool:
        if len(value) < flat.min_length:
            return False
        if flat.max_length is not None and len(value) > flat.max_length:
            return False
        for pattern in flat.patterns:
            rx = _compile(pattern)
            if rx is not None and not rx.search(value):
                return False
        return all(_FORMAT_CHECKER.conforms(value, f) for f in flat.formats)

    # -- strings -----------------------------------------------------------------------------

    def _gen_string(self, flat: _Flat, ctx: _Ctx) -> str:
        known = [f for f in flat.formats if f in _FORMAT_GENERATORS]
        norm = _normalize_name(ctx.name) if ctx.name else ""
        kind = _string_kind(ctx.name) if ctx.name else None
        if kind is None:
            for f in flat.formats:
                kind = _FORMAT_AS_HINT.get(f, kind)
        candidates: list[str] = []
        if kind is not None and all(f in _HINT_FORMATS.get(kind, ()) for f in known):
            candidates.extend(_STRING_HINTS[kind](self, ctx.persona, norm))
        for f in known:
            candidates.extend(_FORMAT_GENERATORS[f](self, ctx.persona, norm))
        if kind is None and not known:
            candidates.extend(e for e in self._shuffled(flat.examples) if isinstance(e, str))
        for candidate in candidates:
            if self._string_ok(candidate, flat):
                return candidate
        if flat.patterns:
            value = self._string_from_patterns(flat)
            if value is not None:
                return value
        elif not known:
            value = self._text(flat)
            if self._string_ok(value, flat):
                return value
        for example in flat.examples:
            if isinstance(example, str) and self._string_ok(example, flat):
                return example
        raise GenerationError(
            f"cannot generate a string for {ctx.name or 'value'!r} satisfying length "
            f"[{flat.min_length}, {flat.max_length}], patterns {flat.patterns}, "
            f"formats {flat.formats}"
        )

    def _string_from_patterns(self, flat: _Flat) -> str | None:
        usable = [p for p in flat.patterns if _compile(p) is not None]
        if not usable:  # nothing we can check: ignore the patterns
            value = self._text(flat)
            return value if self._string_ok(value, flat) else None
        caps = (3, 6, 12, 24, 48, 96)
        filler = _LOWER
        for attempt in range(48):
            pattern = usable[attempt % len(usable)]
            cap = caps[min(attempt // 8, len(caps) - 1)]
            if flat.min_length:
                cap = max(cap, flat.min_length)
            sample = _sample_regex(pattern, self._rng, cap)
            if sample is None:
                continue
            value = sample
            if self._string_ok(value, flat):
                return value
            if len(value) < flat.min_length:
                pad = "".join(self._rng.choice(filler) for _ in range(flat.min_length - len(value)))
                for padded in (value + pad, pad + value):
                    if self._string_ok(padded, flat):
                        return padded
        return None

    def _text(self, flat: _Flat) -> str:
        low, high = flat.min_length, flat.max_length
        if high is not None and high < low:
            raise GenerationError("minLength is above maxLength")
        word = self._pick("word")
        if low <= len(word) and (high is None or len(word) <= high):
            return word
        if high is not None and len(word) > high:
            return word[:high] if high >= low else word
        target = low if high is None else self._rng.randint(low, min(high, low + 16))
        text = word
        while len(text) < target:
            text += " " + self._pick("sentence")
        text = text[:target]
        if text.endswith(" "):
            text = text[:-1] + self._rng.choice(_LOWER)
        return text

    # -- numbers -----------------------------------------------------------------------------

    def _gen_number(self, flat: _Flat, ctx: _Ctx, *, integer: bool) -> int | float:
        kind = _number_kind(ctx.name) if ctx.name else None
        if kind is not None:
            norm = _normalize_name(ctx.name or "")
            for candidate in _NUMBER_HINTS[kind](self, ctx.persona, norm, integer):
                if self._number_ok(candidate, flat):
                    return candidate
        return self._random_number(flat, integer=integer)

    def _window(self, flat: _Flat, integer: bool) -> tuple[Fraction, Fraction, bool]:
        """Inclusive [low, high] (defaults around 0..1000) and whether both were defaulted."""
        lo = None if flat.lo is None else Fraction(flat.lo)
        hi = None if flat.hi is None else Fraction(flat.hi)
        if integer:
            if lo is not None:
                lo = Fraction(math.floor(lo) + 1 if flat.lo_excl else math.ceil(lo))
            if hi is not None:
                hi = Fraction(math.ceil(hi) - 1 if flat.hi_excl else math.floor(hi))
        defaulted = lo is None and hi is None
        if lo is None and hi is None:
            lo, hi = Fraction(1), Fraction(1000)
        elif lo is None:
            assert hi is not None
            lo = Fraction(0) if hi >= 1 else hi - 1000
        elif hi is None:
            hi = lo + 1000
        if integer:
            for f in flat.formats:
                if f in _INT_FORMAT_RANGES:
                    a, b = _INT_FORMAT_RANGES[f]
                    lo, hi = max(lo, Fraction(a)), min(hi, Fraction(b))
        return lo, hi, defaulted

    def _random_number(self, flat: _Flat, *, integer: bool) -> int | float:
        lo, hi, defaulted = self._window(flat, integer)
        if flat.multiple_of:
            return self._random_multiple(flat, lo, hi, defaulted, integer)
        if integer:
            if lo > hi:
                raise GenerationError("no integer lies within minimum/maximum")
            value = self._rng.randint(int(lo), int(hi))
            if flat.excluded:
                banned = {_freeze(v) for v in flat.excluded}
                for offset in range(min(int(hi - lo) + 1, 10_000)):
                    candidate = int(lo) + (value - int(lo) + offset) % (int(hi - lo) + 1)
                    if _freeze(candidate) not in banned:
                        return candidate
            return value
        if lo > hi:
            raise GenerationError("minimum is above maximum")
        for _ in range(_RETRIES):
            x = self._rng.uniform(float(lo), float(hi))
            for rounded in (round(x, 2), round(x, 6), x):
                if self._number_ok(rounded, flat):
                    return rounded
        for edge in (float(lo), float((lo + hi) / 2), float(hi)):
            if self._number_ok(edge, flat):
                return edge
        raise GenerationError("no number lies within the exclusive bounds")

    def _random_multiple(
        self, flat: _Flat, lo: Fraction, hi: Fraction, defaulted: bool, integer: bool
    ) -> int | float:
        step = Fraction(1) if integer else Fraction(0)
        for m in flat.multiple_of:
            f = Fraction(str(m)) if isinstance(m, float) else Fraction(m)
            if step == 0:
                step = f
            else:  # lcm of two fractions
                step = Fraction(math.lcm(step.numerator, f.numerator),
                                math.gcd(step.denominator, f.denominator))
        if integer:
            step = Fraction(step.numerator)
        k_lo, k_hi = math.ceil(lo / step), math.floor(hi / step)
        if defaulted and k_lo > k_hi:
            k_lo, k_hi = 1, 10
        if flat.lo is None and not defaulted:
            k_lo = min(k_lo, k_hi - 10)
        if flat.hi is None and not defaulted:
            k_hi = max(k_hi, k_lo + 10)
        if k_lo > k_hi:
            raise GenerationError("no multipleOf value lies within minimum/maximum")

        def value(k: int) -> int | float:
            exact = k * step
            return int(exact) if exact.denominator == 1 and (integer or step >= 1) \
                else float(exact)

        for _ in range(32):
            candidate = value(self._rng.randint(k_lo, k_hi))
            if self._number_ok(candidate, flat):
                return candidate
        for k in range(k_lo, min(k_hi, k_lo + 2000) + 1):
            candidate = value(k)
            if self._number_ok(candidate, flat):
                return candidate
        raise GenerationError("no multipleOf value passes the floating point check")

    # -- arrays ------------------------------------------------------------------------------

    def _item_schemas(self, flat: _Flat, index: int) -> list[Any]:
        schemas = list(flat.prefix_items[index]) if index < len(flat.prefix_items) else []
        schemas.extend(s for start, s in flat.items if index >= start)
        return schemas

    def _gen_array(self, flat: _Flat, ctx: _Ctx) -> list[Any]:
        low, high = flat.min_items, flat.max_items
        if flat.items_limit is not None:
            high = self._min_opt(high, flat.items_limit)
        need = 0
        if flat.contains:
            need = 1 if flat.min_contains is None else flat.min_contains
            if flat.max_contains is not None and need > flat.max_contains:
                raise GenerationError("minContains is above maxContains")
        low = max(low, need)
        if high is not None and low > high:
            raise GenerationError("minItems/contains is above maxItems")
        if ctx.minimal:
            count = low
        else:
            base = max(low, 1)
            count = self._rng.randint(base, base + 2)
            if high is not None:
                count = min(count, high)
        item_name = _singular(_normalize_name(ctx.name)) if ctx.name else None
        contains_schema = self._as_schema(flat.contains) if flat.contains else None
        for _ in range(4):
            prefix = len(flat.prefix_items)
            pool = list(range(prefix, count)) if count - prefix >= need else list(range(count))
            contains_at = set(self._rng.sample(pool, need)) if need else set()
            out = self._fill_array(flat, ctx, count, low, contains_at, item_name)
            if flat.max_contains is None or contains_schema is None or sum(
                self._valid(v, contains_schema) for v in out
            ) <= flat.max_contains:
                return out
        raise GenerationError("could not respect maxContains")

    def _fill_array(
        self,
        flat: _Flat,
        ctx: _Ctx,
        count: int,
        low: int,
        contains_at: set[int],
        item_name: str | None,
    ) -> list[Any]:
        out: list[Any] = []
        seen: set[Hashable] = set()
        parent = ctx._replace(name=item_name, depth=ctx.depth + 1, optional=False)
        for index in range(count):
            schemas = self._item_schemas(flat, index)
            if index in contains_at:
                schemas.extend(flat.contains)
            tries = (64 if index < low else 12) if flat.unique_items else 1
            for _ in range(tries):
                # the first item of an array inside a "person" (billing addresses of a customer)
                # belongs to that person; other items, and the items of a list, are new people
                shared = index == 0 and ctx.persona.touched
                item_ctx = parent._replace(persona=ctx.persona if shared else _Persona(self))
                try:
                    value = self._gen(schemas or _ANY, item_ctx)
                except GenerationError:
                    if index >= low:
                        return out
                    raise
                key = _freeze(value) if flat.unique_items else None
                if key not in seen:
                    break
            else:
                if index >= low:
                    return out
                raise GenerationError("could not generate enough distinct items for uniqueItems")
            if key is not None:
                seen.add(key)
            out.append(value)
        return out

    # -- objects -----------------------------------------------------------------------------

    def _flagged(self, schemas: Sequence[Any], flag: str) -> bool:
        for schema in schemas:
            if not isinstance(schema, Mapping):
                continue
            if schema.get(flag) is True:
                return True
            ref = schema.get("$ref")
            if isinstance(ref, str):
                try:
                    target = self._resolve_ref(ref)
                except GenerationError:
                    continue
                if isinstance(target, Mapping) and target.get(flag) is True:
                    return True
        return False

    def _schemas_for(self, flat: _Flat, name: str) -> list[Any]:
        schemas = list(flat.properties.get(name, ()))
        for pattern, sub in flat.pattern_properties:
            rx = _compile(pattern)
            if rx is not None and rx.search(name):
                schemas.append(sub)
        for own_names, own_patterns, sub in flat.additional:
            if name in own_names:
                continue
            if any((rx := _compile(p)) is not None and rx.search(name) for p in own_patterns):
                continue
            schemas.append(sub)
        return schemas

    def _name_ok(self, flat: _Flat, name: str) -> bool:
        if not flat.allows_name(name):
            return False
        return all(self._valid(name, s) for s in flat.property_names)

    def _gen_object(self, flat: _Flat, ctx: _Ctx) -> Any:
        required = list(flat.required)
        for name in required:
            if not flat.allows_name(name):
                raise GenerationError(f"required property {name!r} is forbidden by "
                                      "additionalProperties: false")
        chosen: list[str] = []
        optional: list[str] = []
        for name in [*flat.properties, *(r for r in required if r not in flat.properties)]:
            if name in required:
                chosen.append(name)
            elif not ctx.minimal and self._name_ok(flat, name):
                optional.append(name)
        for name in optional:
            skip = self._flagged(flat.properties[name], self._skip_flag)
            if not skip and self._rng.random() < self.optional_rate:
                chosen.append(name)
        # dependentRequired closure (optional properties whose dependency cannot be met go)
        changed = True
        while changed:
            changed = False
            for name in list(chosen):
                for dep in flat.dependent_required.get(name, ()):
                    if dep not in chosen:
                        if not self._name_ok(flat, dep):
                            if name in required:
                                raise GenerationError(f"{name!r} needs forbidden {dep!r}")
                            chosen.remove(name)
                        else:
                            chosen.append(dep)
                            if dep not in required:
                                required.append(dep)
                        changed = True
                        break
        triggered = [n for n in chosen if n in flat.dependent_schemas]
        if triggered:
            return self._gen_dependent(flat, ctx, triggered, required)
        if flat.max_properties is not None and len(chosen) > flat.max_properties:
            keep = [n for n in chosen if n in required]
            if len(keep) > flat.max_properties:
                raise GenerationError("more required properties than maxProperties")
            extra = [n for n in chosen if n not in required][: flat.max_properties - len(keep)]
            chosen = [n for n in chosen if n in keep or n in extra]
        order: dict[str, int] = {}
        for n in [*flat.properties, *required]:
            order.setdefault(n, len(order))
        chosen.sort(key=lambda n: order.get(n, len(order)))

        result: dict[str, Any] = {}
        child = ctx._replace(depth=ctx.depth + 1)
        for name in chosen:
            is_required = name in required
            try:
                result[name] = self._gen(
                    self._schemas_for(flat, name) or _ANY,
                    child._replace(name=name, optional=not is_required),
                )
            except GenerationError:
                if is_required:
                    raise
        self._add_extras(flat, ctx, result, optional)
        return result

    def _gen_dependent(
        self, flat: _Flat, ctx: _Ctx, triggered: list[str], required: list[str]
    ) -> Any:
        """Apply the ``dependentSchemas`` of the chosen properties, then generate again.

        The dependent schemas are applied whether or not the property ends up present (that is
        stricter, hence still valid); if that is impossible the optional triggers are left out."""
        merged = flat.copy()
        merged.dependent_schemas = {}
        for name in triggered:
            for sub in flat.dependent_schemas[name]:
                self._absorb(merged, sub, ())
        merged.required = [*merged.required, *(n for n in triggered if n not in merged.required)]
        try:
            return self._gen_flat(merged, ctx)
        except GenerationError:
            if any(n in required for n in triggered):
                raise
        without = flat.copy()
        without.dependent_schemas = {}
        names = frozenset(n for n in [*flat.properties, *flat.required] if n not in triggered)
        without.closed.append((names, ()))
        without.no_extras = True
        return self._gen_flat(without, ctx)

    def _add_extras(
        self, flat: _Flat, ctx: _Ctx, result: dict[str, Any], optional: list[str]
    ) -> None:
        child = ctx._replace(depth=ctx.depth + 1, optional=True)
        # minProperties: first add the optional properties that were left out
        for name in optional:
            if len(result) >= flat.min_properties:
                break
            if name not in result:
                try:
                    result[name] = self._gen(self._schemas_for(flat, name) or _ANY,
                                             child._replace(name=name))
                except GenerationError:
                    continue
        room = None if flat.max_properties is None else flat.max_properties - len(result)
        want = max(0, flat.min_properties - len(result))
        is_map = not flat.properties and (flat.additional or flat.pattern_properties)
        free_form = not flat.properties and not flat.no_extras and flat.types == {"object"} \
            and not flat.required
        if not ctx.minimal and (is_map or free_form):
            want = max(want, self._rng.randint(1, 3) if is_map else self._rng.randint(0, 2))
        if room is not None:
            want = min(want, room)
        attempts = 0
        while want > 0 and attempts < want * 10 + 10:
            attempts += 1
            key = self._extra_key(flat, ctx)
            if key is None or key in result or key in flat.properties or \
                    not self._name_ok(flat, key):
                continue
            if flat.no_extras and not any(
                (rx := _compile(p)) is not None and rx.search(key)
                for p, _ in flat.pattern_properties
            ):
                continue
            try:
                result[key] = self._gen(self._schemas_for(flat, key) or _ANY,
                                        child._replace(name=None))
            except GenerationError:
                continue
            want -= 1
        if len(result) < flat.min_properties:
            raise GenerationError("could not reach minProperties")

    def _extra_key(self, flat: _Flat, ctx: _Ctx) -> str | None:
        rng = self._rng
        use_pattern = flat.no_extras or not flat.additional or rng.random() < 0.5
        if flat.pattern_properties and use_pattern:
            pattern, _ = rng.choice(flat.pattern_properties)
            rx = _compile(pattern)
            for _ in range(8):
                key = _sample_regex(pattern, rng, 6)
                if key is not None and rx is not None and rx.search(key):
                    return key
            return None
        if flat.property_names:
            try:
                key = self._gen(flat.property_names, ctx._replace(name=None, optional=False))
            except GenerationError:
                return None
            return key if isinstance(key, str) else None
        word = _ascii_slug(self._pick("word")) or "key"
        return word if rng.random() < 0.8 else f"{word}_{rng.randint(2, 99)}"


# --------------------------------------------------------------------------------------------
# string hints (by property name) and format generators
# --------------------------------------------------------------------------------------------

_StringHint = Callable[[DataGenerator, _Persona, str], list[str]]
_NumberHint = Callable[[DataGenerator, _Persona, str, bool], list[int | float]]


def _iso(ts: int, offset: str = "+00:00") -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + offset


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def _h_datetime(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    ts = p.timestamp(n)
    base = _iso(ts, "")
    return [base + "+00:00", base + "Z", f"{base}.{g._rng.randint(0, 999):03d}Z"]


def _h_id(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    return [g._ulid(), str(g._rng.randint(10_000_000, 99_999_999)), g._uuid()]


def _h_phone(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    phone = p.phone
    national = "0" + phone[1 + len(p.country.calling_code):]
    return [phone, phone[1:], national]


def _h_country(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    return [p.country.code, p.country.code.upper()]


def _h_locale(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    c = p.country
    return [c.language, f"{c.language}-{c.code.upper()}", f"{c.language}_{c.code.upper()}"]


def _h_timezone_offset(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    offset = g._rng.choice(p.country.offsets)
    return [offset, offset.replace(":", "")]


def _h_vat(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    prefix = p.country.code.upper() if p.country.code in _EU_VAT else "DE"
    return [prefix + g._digits(9)]


def _h_password(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    rng = g._rng
    chars = [rng.choice(_LOWER.upper()), rng.choice(_DIGITS), rng.choice("!#$%&*+-?@")]
    chars += [rng.choice(_ALNUM) for _ in range(9)]
    rng.shuffle(chars)
    return ["".join(chars)]


def _h_secondary(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    return [g._pick("secondary_address"), f"Apt. {g._rng.randint(1, 999)}"]


def _h_state(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    try:
        return [g._pick("state")]
    except AttributeError:
        return [g._pick("city")]


def _h_title(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    return [g._pick("sentence").rstrip(".")]


def _pool_hint(method: str) -> _StringHint:
    return lambda g, p, n: [g._pick(method)]


def _h_image_url(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    return [f"https://images.example.com/{g._hex(16)}.jpg"]


def _h_birth_date(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    return [_date(g._rng.randint(_BIRTH_MIN, _BIRTH_MAX))]


_STRING_HINTS: Final[dict[str, _StringHint]] = {
    "email": lambda g, p, n: [p.email],
    "first_name": lambda g, p, n: [p.first],
    "last_name": lambda g, p, n: [p.last],
    "full_name": lambda g, p, n: [f"{p.first} {p.last}"],
    "username": lambda g, p, n: [
        f"{_ascii_slug(p.first)}{_ascii_slug(p.last)[:1]}{g._rng.randint(1, 99)}"
    ],
    "phone": _h_phone,
    "country": _h_country,
    "country_name": _pool_hint("country"),
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
        "cus_" + "".join(g._rng.choice(_ALNUM) for _ in range(14)), *_h_id(g, p, n)
    ],
    "datetime": _h_datetime,
    "date": lambda g, p, n: [_date(p.timestamp(n))],
    "birth_date": _h_birth_date,
    "device_type": lambda g, p, n: g._shuffled(["ios", "android"]),
    "device_token": lambda g, p, n: [g._hex(64)],
    "token": lambda g, p, n: [g._hex(32)],
    "password": _h_password,
    "sentence": _pool_hint("sentence"),
    "title": _h_title,
    "word": _pool_hint("word"),
    "slug": lambda g, p, n: [f"{_ascii_slug(g._pick('word'))}-{_ascii_slug(g._pick('word'))}"],
    "color": lambda g, p, n: ["#" + g._hex(6)],
    "iban": _pool_hint("iban"),
    "bic": _pool_hint("swift"),
    "user_agent": _pool_hint("user_agent"),
    "mime_type": _pool_hint("mime_type"),
    "file_name": _pool_hint("file_name"),
    "job": _pool_hint("job"),
    "version": lambda g, p, n: [
        f"{g._rng.randint(1, 5)}.{g._rng.randint(0, 20)}.{g._rng.randint(0, 9)}"
    ],
    "status": lambda g, p, n: [g._rng.choice(("active", "inactive", "pending"))],
}


def _f_time(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    rng = g._rng
    base = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    return [base + "+00:00", base + "Z"]


def _f_duration(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    rng = g._rng
    return [f"P{rng.randint(0, 30)}DT{rng.randint(0, 23)}H{rng.randint(0, 59)}M", "PT30M"]


def _f_byte(g: DataGenerator, p: _Persona, n: str) -> list[str]:
    return [base64.b64encode(g._rng.randbytes(g._rng.randint(6, 24))).decode()]


_FORMAT_GENERATORS: Final[dict[str, _StringHint]] = {
    "date-time": _h_datetime,
    "date": lambda g, p, n: [_date(p.timestamp(n))],
    "time": _f_time,
    "duration": _f_duration,
    "email": lambda g, p, n: [p.email],
    "idn-email": lambda g, p, n: [p.email],
    "hostname": _pool_hint("domain_name"),
    "idn-hostname": _pool_hint("domain_name"),
    "ipv4": _pool_hint("ipv4_public"),
    "ipv6": _STRING_HINTS["ipv6"],
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
    "binary": lambda g, p, n: [g._hex(32)],
    "password": _h_password,
}


def _n_timestamp(g: DataGenerator, p: _Persona, n: str, integer: bool) -> list[int | float]:
    ts = p.timestamp(n)
    return [ts, ts * 1000]


def _n_range(low: int, high: int, money: bool = False) -> _NumberHint:
    def hint(g: DataGenerator, p: _Persona, n: str, integer: bool) -> list[int | float]:
        if integer:
            return [g._rng.randint(low, high)]
        value = g._rng.uniform(low, high)
        return [round(value, 2) if money else round(value, 1)]

    return hint


def _n_choice(*choices: int) -> _NumberHint:
    return lambda g, p, n, integer: [g._rng.choice(choices)]


def _n_amount(g: DataGenerator, p: _Persona, n: str, integer: bool) -> list[int | float]:
    if integer:
        return [g._rng.randint(100, 50_000)]
    return [round(g._rng.uniform(1, 500), 2)]


def _n_coordinate(limit: int) -> _NumberHint:
    def hint(g: DataGenerator, p: _Persona, n: str, integer: bool) -> list[int | float]:
        value = g._rng.uniform(-limit, limit)
        return [round(value) if integer else round(value, 6)]

    return hint


_NUMBER_HINTS: Final[dict[str, _NumberHint]] = {
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


# --------------------------------------------------------------------------------------------
# convenience
# --------------------------------------------------------------------------------------------


def generate(
    schema: Any,
    *,
    root: Mapping[str, Any] | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> Any:
    """Generate one value for ``schema`` with a fresh :class:`DataGenerator` (see its docs)."""
    return DataGenerator(seed=seed).generate(schema, root=root, name=name)
