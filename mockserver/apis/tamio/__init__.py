"""The Tamio pack (``/tamio/v2``): customers, bulk import jobs, ``customer.created`` webhooks.

Everything specific to Tamio lives in this package: the behaviours and the import job
(:mod:`.behaviours`), the error envelope (:mod:`.envelope`), the contract allowances of its spec
(:mod:`.contract`) and its customers for ``mockserver fixtures generate`` (:mod:`.fixtures`).
The spec is ``specs/tamio.yaml``.
"""

from __future__ import annotations

from mockserver.apis.tamio import behaviours, contract, envelope, fixtures
from mockserver.packs import ApiPack, WebhookDefaults

PACK = ApiPack(
    name=behaviours.API,
    behaviours={
        "bulkCreateCustomers": behaviours.bulk_create_customers,
        "createCustomer": behaviours.create_customer,
        "retrieveCustomer": behaviours.retrieve_customer,
        "listCustomers": behaviours.list_customers,
    },
    job_handlers={behaviours.IMPORT_JOB: behaviours.run_import},
    seeder=behaviours.seed,
    item_operation="createCustomer",
    envelope=envelope.render,
    allowances=contract.ALLOWANCES,
    fixtures=fixtures.FIXTURES,
    webhooks=WebhookDefaults(signature_header="Tamio-Signature"),
)
