"""The Bunce pack (``/bunce/v1``): customers with duplicate-email partial failures, updates and
devices.

Everything specific to Bunce lives in this package: the behaviours (:mod:`.behaviours`), the
error envelope (:mod:`.envelope`), the contract allowances of its spec (:mod:`.contract`) and
its customers for ``mockserver fixtures generate`` (:mod:`.fixtures`). The spec is
``specs/bunce.yaml``.
"""

from __future__ import annotations

from mockserver.apis.bunce import behaviours, contract, envelope, fixtures
from mockserver.packs import ApiPack

PACK = ApiPack(
    name=behaviours.API,
    behaviours={
        "createCustomersBulk": behaviours.create_customers_bulk,
        "createCustomer": behaviours.create_customer,
        "getCustomer": behaviours.get_customer,
        "updateCustomer": behaviours.update_customer,
        "updateCustomersBulk": behaviours.update_customers_bulk,
        "createCustomerDevices": behaviours.create_customer_devices,
        "getCustomerDevices": behaviours.get_customer_devices,
        "updateCustomerDevice": behaviours.update_customer_device,
        "listCustomers": behaviours.list_customers,
    },
    seeder=behaviours.seed,
    item_operation="createCustomer",
    envelope=envelope.render,
    allowances=contract.ALLOWANCES,
    fixtures=fixtures.FIXTURES,
)
