"""Tamio's error shape: ``{"status": 400, "error": "...", "error_code": 1001}``.

401 has no ``error_code``. Tamio documents an ``error_code`` only for some cases; the spec's
``x-mock.error-codes`` names the rest (the mock's choices), over the defaults below.
"""

from __future__ import annotations

from mockserver.envelopes import JSON, Failure
from mockserver.openapi.spec import ApiSettings

DEFAULT_CODES = {
    "validation": 1001,
    "malformed": 1001,
    "not-found": 1002,
    "duplicate": 10142,
}


def render(settings: ApiSettings, failure: Failure) -> tuple[JSON, str]:
    """``failure`` as Tamio answers it; the violations listed in ``errors``."""
    body: JSON = {"status": failure.status, "error": failure.message}
    if failure.status != 401:
        codes = {**DEFAULT_CODES, **settings.error_codes}
        body["error_code"] = codes.get(failure.kind, codes.get("validation", 1001))
    if failure.violations:
        body["errors"] = [v.message for v in failure.violations]
    return body, "application/json"
