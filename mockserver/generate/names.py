"""What a property's name says about its value: ``phoneNo``, ``customer_id``, ``createdAt``.

:func:`string_kind` and :func:`number_kind` map a property name (any case style, singular or
plural) to a kind of value (``"email"``, ``"phone"``, ``"timestamp"``...); the producers of each
kind are in :mod:`mockserver.generate.hints`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from mockserver import formats

__all__ = [
    "FORMAT_AS_HINT",
    "HINT_FORMATS",
    "ascii_slug",
    "normalize_name",
    "number_kind",
    "singular",
    "string_kind",
    "time_role",
]


@lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """``phoneNo`` -> ``phone_no``, ``customerID`` -> ``customer_id``, ``Zip-Code`` -> ``zip_code``.
    """
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


def singular(name: str) -> str:
    """``addresses`` -> ``address``, ``categories`` -> ``category`` (a normalized name)."""
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
HINT_FORMATS: Final[dict[str, frozenset[str]]] = {
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
FORMAT_AS_HINT: Final = {
    "phone": "phone", "phone-number": "phone", "tel": "phone", "e164": "phone",
    "iban": "iban", "bic": "bic", "country-code": "country", "iso-country": "country",
    "currency": "currency", "currency-code": "currency", "language": "locale",
    "locale": "locale", "ulid": "id", "timezone": "timezone",
    formats.COUNTRY: "country", formats.LANGUAGE: "locale",
}


def _kind(
    name: str,
    names: dict[str, str],
    suffixes: tuple[tuple[str, str], ...],
    prefixes: tuple[tuple[str, str], ...],
    *,
    singular_suffix: bool,
) -> str | None:
    """The kind ``names`` give the normalized name or its singular, else the first matching
    suffix (of the singular too when ``singular_suffix``), else the first matching prefix."""
    norm = normalize_name(name)
    one = singular(norm)
    for candidate in (norm, one):
        kind = names.get(candidate)
        if kind is not None:
            return kind
    for suffix, kind in suffixes:
        if norm.endswith(suffix) or (singular_suffix and one.endswith(suffix)):
            return kind
    for prefix, kind in prefixes:
        if norm.startswith(prefix):
            return kind
    return None


@lru_cache(maxsize=4096)
def string_kind(name: str) -> str | None:
    """The kind of string a property name asks for (``"email"``, ``"phone"``...), or None."""
    return _kind(name, _STRING_NAMES, _STRING_SUFFIXES, (), singular_suffix=True)


@lru_cache(maxsize=4096)
def number_kind(name: str) -> str | None:
    """The kind of number a property name asks for (``"timestamp"``, ``"age"``...), or None."""
    return _kind(name, _NUMBER_NAMES, _NUMBER_SUFFIXES, _NUMBER_PREFIXES, singular_suffix=False)


_CREATED_NAMES: Final = frozenset({
    "created", "created_at", "created_on", "creation_date", "created_date", "registered_at",
    "registered_on", "signup_at", "signed_up_at", "joined_at", "date_joined", "since",
})


@lru_cache(maxsize=1024)
def time_role(name: str) -> str | None:
    """``"created"``, ``"later"`` (updated, modified, last seen...) or None (normalized name)."""
    if name in _CREATED_NAMES or name.endswith(("_created_at", "_created_on", "_created")):
        return "created"
    if name.startswith(("updated", "modified", "last_", "changed")) or name.endswith(
        ("_updated_at", "_modified_at", "_updated_on")
    ):
        return "later"
    return None


# Letters NFKD does not decompose to ASCII (the dotless i is written as an escape for linters).
_TRANSLITERATE: Final = str.maketrans({
    "ß": "ss", "æ": "ae", "Æ": "Ae", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
    "þ": "th", "œ": "oe", "\u0131": "i",
})


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text`` (``Jürgen Groß`` -> ``jurgengross``)."""
    folded = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    return "".join(c for c in folded if c.isascii() and c.isalnum()).lower()
