"""Where Bunce's documented behaviour departs from schemathesis' generic expectations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockserver.allowances import Allowance


def _message_starts(prefix: str) -> Callable[[Any], bool]:
    return lambda body: isinstance(body, dict) and str(body.get("message", "")).startswith(prefix)


ALLOWANCES: tuple[Allowance, ...] = (
    Allowance(
        ("listCustomers",), "positive_data_acceptance", accept=(422,),
        proof=_message_starts("cursor:"), proof_text="a message about `cursor`",
        reason="`cursor` is an opaque token only the API issues (data.meta.next_page_cursor); the "
               "schema can only say `type: string`; any other string gets the documented 422.",
    ),
    Allowance(
        ("createCustomersBulk", "updateCustomersBulk"), "allow_header_conformance",
        reason="`/customers/bulk` and `/customers/bulk-update` also match the template "
               "`/customers/{customer_id}`, so the server serves GET and PUT there too "
               "(getCustomer and updateCustomer with customer_id 'bulk') and an honest 405 "
               "`Allow` lists them; schemathesis only looks at the literal path item (POST, PUT) "
               "and calls the others undocumented.",
    ),
    Allowance(
        ("updateCustomerDevice",), "ensure_resource_availability",
        reason="`PATCH /customers/{customer_id}/devices` answers 404 when the customer has no "
               "device with `current_device_token` (decision B7), which a request right after "
               "creating the customer always meets; the check reads any 404 after a create as "
               "the customer missing. `GET /customers/{customer_id}` and the other follow-ups "
               "keep the check.",
    ),
)
