"""Bunce's own client code against the mock, replayed with a plain HTTP client.

The current Node SDK (trybunce/bunce-node, ``src/lib/customers/customers.ts``) makes one request
per customer method through an axios instance created with the headers ``X-Authorization``,
``Accept: application/json`` and ``Content-Type: application/json``; axios hands back the parsed
body, which the SDK types ``ResponsePayload<T>`` (``{data, message, success}``), and rejects any
status outside 2xx. The payloads below are the ones the SDK's own tests (``customers.spec.ts``)
send. Bunce's CLI (trybunce/bunce-cli) uses ``fetch`` with ``X-Authorization`` and ``Accept``,
adds ``Content-Type`` when there is a body, drops keys whose value is undefined
(``JSON.stringify``) and treats ``!res.ok`` as a failure.

Each test sends exactly those requests and reads the answers the way that code reads them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import quote

import pytest
import requests

from mockserver.testing import MockServer

KEY = "sk_test_sdk_replay"
SDK_HEADERS = {
    "X-Authorization": KEY,
    "Accept": "application/json",
    "Content-Type": "application/json",
}
CUSTOMER = {  # customers.spec.ts: "creates a customer with the documented payload shape"
    "customer_id": "0000",
    "first_name": "John",
    "last_name": "Doe",
    "email": "johndoe@example.com",
    "phone_no": "+23481999999999",
    "devices": [{"device_type": "ios", "device_token": "device-token"}],
}


class NodeSdk:
    """What ``new Bunce(key, {baseURL})`` sends for each customer method, and what it returns
    to the caller: the parsed body (axios ``response.data``), after axios' 2xx check."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _send(self, method: str, path: str, body: Any = None, query: str = "") -> Any:
        answer = requests.request(
            method,
            self.base_url + path + (f"?{query}" if query else ""),
            data=None if body is None else json.dumps(body, separators=(",", ":")),
            headers=SDK_HEADERS,
            timeout=10,
        )
        assert 200 <= answer.status_code < 300, f"axios would reject: {answer.text}"
        assert answer.headers["Content-Type"].startswith("application/json")
        payload = answer.json()
        assert set(payload) == {"data", "message", "success"}, payload  # ResponsePayload<T>
        assert payload["success"] is True and isinstance(payload["message"], str)
        return payload

    def create(self, customer: dict[str, Any]) -> Any:
        return self._send("POST", "/customers", customer)

    def bulk_create(self, customers: dict[str, Any]) -> Any:
        return self._send("POST", "/customers/bulk", customers)

    def list(self, params: dict[str, Any] | None = None) -> Any:
        return self._send("GET", "/customers", query=axios_query(params or {}))

    def get(self, customer_id: str) -> Any:
        return self._send("GET", f"/customers/{customer_id}")

    def update(self, customer_id: str, customer: dict[str, Any]) -> Any:
        return self._send("PUT", f"/customers/{customer_id}", customer)

    def bulk_update(self, customers: dict[str, Any]) -> Any:
        return self._send("PUT", "/customers/bulk-update", customers)

    def create_devices(self, customer_id: str, payload: dict[str, Any]) -> Any:
        return self._send("POST", f"/customers/{customer_id}/devices", payload)

    def get_devices(self, customer_id: str) -> Any:
        return self._send("GET", f"/customers/{customer_id}/devices")

    def update_device(self, customer_id: str, payload: dict[str, Any]) -> Any:
        return self._send("PATCH", f"/customers/{customer_id}/devices", payload)


def axios_query(params: dict[str, Any]) -> str:
    """``params`` serialised as axios' ``buildURL`` does: encodeURIComponent, then ``:``,
    ``$``, ``,``, ``[`` and ``]`` put back and spaces as ``+``; null and undefined left out."""
    def encode(value: Any) -> str:
        text = quote(str(value), safe="-_.!~*'()")
        for escaped, plain in (("%3A", ":"), ("%24", "$"), ("%2C", ","), ("%20", "+"),
                               ("%5B", "["), ("%5D", "]")):
            text = text.replace(escaped, plain)
        return text

    return "&".join(f"{encode(k)}={encode(v)}" for k, v in params.items() if v is not None)


@pytest.fixture
def sdk(mockserver: MockServer) -> NodeSdk:
    return NodeSdk(mockserver.base_url("bunce"))


def seed(mockserver: MockServer, *customers: dict[str, Any]) -> None:
    results = mockserver.seed("bunce", KEY, list(customers))
    assert all("created" in r for r in results), results


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {"customer_id": f"{n:04d}", "first_name": "C", "last_name": str(n),
            "email": f"c{n}@example.com", "phone_no": "+2348012345678", **extra}


# -- the nine customer methods --------------------------------------------------------------------


def test_create(sdk: NodeSdk) -> None:
    customer = sdk.create(CUSTOMER)["data"]

    assert {k: customer[k] for k in ("customer_id", "email", "first_name")} == {
        "customer_id": "0000", "email": "johndoe@example.com", "first_name": "John"
    }
    (device,) = customer["devices"]  # CustomerDevicePayload: device_id, device_type, created_at
    assert (device["device_type"], device["device_token"]) == ("ios", "device-token")
    assert device["device_id"] and device["created_at"]


def test_bulk_create(sdk: NodeSdk) -> None:
    payload = {"customers": [{k: v for k, v in CUSTOMER.items() if k != "devices"}]}

    created = sdk.bulk_create(payload)["data"]  # ResponsePayload<CustomerPayload[]>

    assert [c["customer_id"] for c in created] == ["0000"]
    assert created[0]["customer_created_at"]


def test_list_round_trips_its_cursors_with_no_overlap_or_gap(
    sdk: NodeSdk, mockserver: MockServer
) -> None:
    seed(mockserver, *(person(n) for n in range(25)))

    seen: list[str] = []
    pages = 0
    params: dict[str, Any] = {"per_page": 10}
    while True:
        page = sdk.list(params)["data"]  # ResponsePayload<CustomersResponsePayload>
        pages += 1
        seen += [c["customer_id"] for c in page["data"]]
        meta = page["meta"]  # CursorMetaPayload
        assert meta["per_page"] == 10
        if not meta["has_next_page"]:
            assert meta["next_page_cursor"] is None
            break
        params = {"per_page": 10, "cursor": meta["next_page_cursor"]}

    assert pages == 3
    assert seen == [f"{n:04d}" for n in range(25)]
    back = sdk.list({"per_page": 10, "cursor": meta["prev_page_cursor"]})["data"]
    assert [c["customer_id"] for c in back["data"]] == [f"{n:04d}" for n in range(10, 20)]


def test_list_with_the_sdks_filter_parameters(sdk: NodeSdk, mockserver: MockServer) -> None:
    # customers.spec.ts: {per_page: 10, cursor, customer_ids: '0000,1111', emails: 'a,b'}; the
    # cursor is one the first page handed out (the spec's 'next-cursor' is a placeholder).
    seed(mockserver, person(0, email="john@example.com"), person(1111, email="jane@example.com"),
         person(2))
    query = {"per_page": 1, "customer_ids": "0000,1111",
             "emails": "john@example.com,jane@example.com"}
    assert axios_query(query).endswith("emails=john%40example.com,jane%40example.com")

    first = sdk.list(query)["data"]
    second = sdk.list({**query, "cursor": first["meta"]["next_page_cursor"]})["data"]

    assert [c["customer_id"] for c in first["data"]] == ["0000"]
    assert [c["customer_id"] for c in second["data"]] == ["1111"]
    assert second["meta"]["has_next_page"] is False


def test_get(sdk: NodeSdk, mockserver: MockServer) -> None:
    seed(mockserver, person(0))

    customer = sdk.get("0000")["data"]

    assert (customer["customer_id"], customer["email"]) == ("0000", "c0@example.com")


def test_update(sdk: NodeSdk, mockserver: MockServer) -> None:
    seed(mockserver, person(0))
    payload = {  # customers.spec.ts: "updates a customer by customer_id"
        "first_name": "Jane",
        "email": "jane@example.com",
        "devices": [{"device_type": "android", "device_token": "new-token"}],
    }

    updated = sdk.update("0000", payload)["data"]

    assert (updated["first_name"], updated["email"]) == ("Jane", "jane@example.com")
    assert [d["device_token"] for d in updated["devices"]] == ["new-token"]
    assert updated["updated_at"]
    assert sdk.get("0000")["data"] == updated


def test_bulk_update(sdk: NodeSdk, mockserver: MockServer) -> None:
    seed(mockserver, person(0))
    payload = {"customers": [{"customer_id": "0000", "first_name": "Jane",
                              "email": "jane@example.com"}]}

    (updated,) = sdk.bulk_update(payload)["data"]  # ResponsePayload<CustomerPayload[]>

    assert updated["first_name"] == "Jane"
    assert updated["email"] == "c0@example.com"  # kept: only an invalid email is replaced


def test_create_devices(sdk: NodeSdk, mockserver: MockServer) -> None:
    seed(mockserver, person(0))

    devices = sdk.create_devices(
        "0000", {"devices": [{"device_type": "ios", "device_token": "device-token"}]}
    )["data"]  # ResponsePayload<CustomerDevicePayload[]>

    assert [(d["device_type"], d["device_token"]) for d in devices] == [("ios", "device-token")]
    assert devices[0]["device_id"] and devices[0]["created_at"]


def test_get_devices(sdk: NodeSdk, mockserver: MockServer) -> None:
    seed(mockserver, person(0, devices=[{"device_type": "android", "device_token": "t1"}]))

    devices = sdk.get_devices("0000")["data"]

    assert [d["device_token"] for d in devices] == ["t1"]


def test_update_device(sdk: NodeSdk, mockserver: MockServer) -> None:
    seed(mockserver, person(0, devices=[{"device_type": "android", "device_token": "old-token"}]))
    payload = {"current_device_token": "old-token", "device_type": "ios",
               "device_token": "new-token"}  # customers.spec.ts

    device = sdk.update_device("0000", payload)["data"]  # ResponsePayload<CustomerDevicePayload>

    assert (device["device_type"], device["device_token"]) == ("ios", "new-token")
    assert sdk.get_devices("0000")["data"] == [device]


def test_the_sdk_readme_call_order_works_on_one_account(sdk: NodeSdk) -> None:
    """The README's sequence: create, list by email, get, update, bulkUpdate, devices."""
    sdk.create({k: v for k, v in CUSTOMER.items() if k != "devices"})
    listed = sdk.list({"per_page": 20, "emails": "johndoe@example.com"})["data"]["data"]
    assert [c["customer_id"] for c in listed] == ["0000"]
    assert sdk.get("0000")["data"]["first_name"] == "John"
    assert sdk.update("0000", {"first_name": "Jane"})["data"]["first_name"] == "Jane"
    sdk.bulk_update({"customers": [{"customer_id": "0000", "first_name": "Joan"}]})
    sdk.create_devices("0000", {"devices": [{"device_type": "ios", "device_token": "old-token"}]})
    sdk.update_device("0000", {"current_device_token": "old-token", "device_token": "new-token"})
    assert [d["device_token"] for d in sdk.get_devices("0000")["data"]] == ["new-token"]
    assert sdk.get("0000")["data"]["first_name"] == "Joan"


# -- the CLI -------------------------------------------------------------------------------------


def cli_post(base_url: str, body: dict[str, Any]) -> requests.Response:
    """``client.request('/customers', {method: 'POST', body})`` of bunce-cli."""
    defined = {k: v for k, v in body.items() if v is not None}  # JSON.stringify drops undefined
    return requests.post(
        base_url + "/customers",
        data=json.dumps(defined, separators=(",", ":")),
        headers={"X-Authorization": KEY, "Accept": "application/json",
                 "Content-Type": "application/json"},
        timeout=10,
    )


def test_cli_create_with_only_an_email(mockserver: MockServer) -> None:
    # bunce customers create --first-name Jane --last-name Roe --phone +2348100000002
    #                        --email jane@example.com
    answer = cli_post(mockserver.base_url("bunce"), {
        "customer_id": None, "email": "jane@example.com", "first_name": "Jane",
        "last_name": "Roe", "phone_no": "+2348100000002",
    })

    assert answer.ok, answer.text  # the CLI fails on !res.ok
    res = answer.json()
    assert res["message"] == "Customer created successfully"  # what the CLI prints
    assigned = res["data"]["customer_id"]
    assert len(assigned) == 26
    # bunce customers search jane@example.com: GET /customers?emails=...&per_page=20
    found = requests.get(mockserver.base_url("bunce") + "/customers",
                         params={"emails": "jane@example.com", "per_page": 20},
                         headers={"X-Authorization": KEY, "Accept": "application/json"},
                         timeout=10).json()
    rows = found["data"]["data"] if isinstance(found["data"], dict) else found["data"]
    assert [r["customer_id"] for r in rows] == [assigned]  # normalizeList finds it


CONTACTS = """\
email,first_name,last_name,phone_no,customer_id
ada@example.com,Ada,Obi,+2348100000011,2001
tunde@example.com,Tunde,Bello,+2348100000012,2002
"chidi@example.com",Chidi,Okafor,+2348100000013,
"""


def cli_import_rows(text: str) -> list[dict[str, Any]]:
    """The bodies ``bunce customers import --confirm`` posts, one per valid CSV row."""
    bodies = []
    for row in csv.DictReader(io.StringIO(text)):
        bodies.append({
            "customer_id": row["customer_id"] or None,
            "email": row["email"] or None,
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "phone_no": row["phone_no"],
        })
    return bodies


def test_cli_csv_import_creates_each_row_and_reports_repeats(mockserver: MockServer) -> None:
    base = mockserver.base_url("bunce")

    first = [cli_post(base, body) for body in cli_import_rows(CONTACTS)]
    again = [cli_post(base, body) for body in cli_import_rows(CONTACTS)]

    assert [a.ok for a in first] == [True, True, True], [a.text for a in first]
    ids = [a.json()["data"]["customer_id"] for a in first]
    assert ids[:2] == ["2001", "2002"] and len(ids[2]) == 26  # the row without customer_id
    # "Imported 0/3 customers", each failure with the API's message
    assert [a.ok for a in again] == [False, False, False]
    assert [a.json()["message"] for a in again] == [
        "ada@example.com is already taken",
        "tunde@example.com is already taken",
        "chidi@example.com is already taken",
    ]
    listed = NodeSdk(base).list({"per_page": 20})["data"]["data"]
    assert [c["email"] for c in listed] == ["ada@example.com", "tunde@example.com",
                                            "chidi@example.com"]
