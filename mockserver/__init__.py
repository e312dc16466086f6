"""mockserver: a validating, stateful mock and contract-testing server for documented HTTP APIs.

Public surface::

    from mockserver import create_app, Settings, verify_signature

The names are imported on first use, so that ``mockserver serve`` can choose Python's
allocator before the app is loaded (:func:`mockserver.memory.run_with_malloc`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.app import create_app
    from mockserver.config import Settings
    from mockserver.errors import ConfigError, MockServerError, SpecError
    from mockserver.webhooks import SignatureError, is_valid_signature, sign, verify_signature

_HOMES = {
    "create_app": "mockserver.app",
    "Settings": "mockserver.config",
    "ConfigError": "mockserver.errors",
    "MockServerError": "mockserver.errors",
    "SpecError": "mockserver.errors",
    "SignatureError": "mockserver.webhooks",
    "is_valid_signature": "mockserver.webhooks",
    "sign": "mockserver.webhooks",
    "verify_signature": "mockserver.webhooks",
}

__all__ = [
    "ConfigError",
    "MockServerError",
    "Settings",
    "SignatureError",
    "SpecError",
    "create_app",
    "is_valid_signature",
    "sign",
    "verify_signature",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
