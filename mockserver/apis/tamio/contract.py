"""Where Tamio's documented behaviour departs from schemathesis' generic expectations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockserver.allowances import Allowance


def _error_code(*codes: int) -> Callable[[Any], bool]:
    return lambda body: isinstance(body, dict) and body.get("error_code") in codes


ALLOWANCES: tuple[Allowance, ...] = (
    Allowance(
        ("retrieveCustomer",), "positive_data_acceptance", accept=(400,),
        proof=_error_code(1002), proof_text="error_code 1002 (ResourceNotFound)",
        reason="Tamio answers an unknown id with HTTP 400 and error_code 1002, as its docs say "
               "(decision T7), never 404; a well-formed UUID nobody created is valid input that "
               "the API still refuses.",
    ),
    Allowance(
        ("createCustomer",), "positive_data_acceptance", accept=(400,),
        proof=_error_code(10142), proof_text="error_code 10142 (CustomerAlreadyExists)",
        reason="Tamio answers a duplicate email with HTTP 400 and error_code 10142 (documented), "
               "not 409; generated data repeats emails, so valid bodies meet this outcome.",
    ),
    Allowance(
        ("bulkCreateCustomers", "createCustomer", "retrieveCustomer", "listCustomers"),
        "ignored_auth", mock_only=True,
        reason="the mock accepts any non-empty bearer token as its own account (the spec's "
               "x-mock decision on Tamio auth), so a made-up token cannot be refused; a "
               "missing or malformed Authorization header still gets 401 (the coverage phase "
               "sends those). Against a real deployment, unknown tokens must be refused, so the "
               "check stays on there.",
    ),
)
