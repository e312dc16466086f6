"""Custom JSON Schema formats that specs may use, checked against maintained code lists.

* ``iso3166-1-alpha-2``: a country code of ISO 3166-1 alpha-2 (``de``, ``US``), in any letter case.
* ``iso639-1``: a two-letter language code of ISO 639-1 (``en``, ``DE``), in any letter case.

The code lists come from pycountry (the iso-codes data). Loading them takes about a quarter of a
second, so they are loaded on first use, or ahead of it by :func:`preload` (a daemon thread, which
the app starts so the first request does not wait). The same checks serve every validator: the
request and response validators (jsonschema-rs, :data:`FORMATS`), the data generator and the tests
(pure-Python jsonschema, :func:`format_checker`) and schemathesis (:func:`code_lists`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from jsonschema import Draft202012Validator, FormatChecker

COUNTRY = "iso3166-1-alpha-2"
LANGUAGE = "iso639-1"


@functools.cache
def country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code, lower-case."""
    import pycountry

    return frozenset(country.alpha_2.lower() for country in pycountry.countries)


@functools.cache
def language_codes() -> frozenset[str]:
    """Every ISO 639-1 (two-letter) language code, lower-case."""
    import pycountry

    return frozenset(
        language.alpha_2.lower()
        for language in pycountry.languages
        if getattr(language, "alpha_2", None)
    )


def is_country(value: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code in any letter case (``de``, ``DE``)."""
    return value.lower() in country_codes()


def is_language(value: str) -> bool:
    """True for an ISO 639-1 language code in any letter case (``en``, ``EN``)."""
    return value.lower() in language_codes()


FORMATS: dict[str, Callable[[str], bool]] = {COUNTRY: is_country, LANGUAGE: is_language}
"""Format name -> check, as jsonschema-rs takes them (``formats=``)."""

DESCRIPTIONS: dict[str, str] = {
    COUNTRY: "an ISO 3166-1 alpha-2 country code",
    LANGUAGE: "an ISO 639-1 language code",
}
"""Format name -> what a valid value is, for error messages ("'xx' is not <description>")."""


def code_lists() -> dict[str, frozenset[str]]:
    """Format name -> every valid value in lower case (generators pick from these)."""
    return {COUNTRY: country_codes(), LANGUAGE: language_codes()}


def format_checker() -> FormatChecker:
    """A pure-Python jsonschema FormatChecker: draft 2020-12's formats plus these."""
    checker = FormatChecker(formats=())
    checker.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)
    for name, check in FORMATS.items():
        checker.checks(name)(lambda value, check=check: not isinstance(value, str) or check(value))
    return checker


_preloading = threading.Lock()


def preload() -> None:
    """Load the code lists on a daemon thread (once per process), so no request waits for them."""
    if country_codes.cache_info().currsize and language_codes.cache_info().currsize:
        return
    if not _preloading.acquire(blocking=False):
        return  # already loading

    def load() -> None:
        try:
            country_codes()
            language_codes()
        finally:
            _preloading.release()

    threading.Thread(target=load, name="mockserver-formats", daemon=True).start()
