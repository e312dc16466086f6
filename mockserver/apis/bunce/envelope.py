"""Bunce's error shape: ``{"success": false, "message": "...", "errors": ["..."]}``."""

from __future__ import annotations

from mockserver.envelopes import JSON, Failure
from mockserver.openapi.spec import ApiSettings


def render(settings: ApiSettings, failure: Failure) -> tuple[JSON, str]:
    """``failure`` as Bunce answers it; the violations listed in ``errors``."""
    body: JSON = {"success": False, "message": failure.message}
    if failure.violations:
        body["errors"] = [v.message for v in failure.violations]
    return body, "application/json"
