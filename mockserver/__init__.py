"""mockserver: a validating, stateful mock and contract-testing server for documented HTTP APIs.

Public surface::

    from mockserver import create_app, Settings, verify_signature
"""

from mockserver.app import create_app
from mockserver.config import Settings
from mockserver.errors import ConfigError, MockServerError, SpecError
from mockserver.webhooks import SignatureError, is_valid_signature, sign, verify_signature

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
