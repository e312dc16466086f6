"""The bundled OpenAPI specs: valid documents, examples that obey their schemas, and the verdicts
the mock gives the payloads the vendors document.

Examples are found by walking the documents, so a new example (media type, parameter, header,
schema or webhook) is checked without touching this file. Schemas are resolved against the whole
spec (``#/components/...`` refs) and validated as JSON Schema 2020-12 with format checking, so
emails, UUIDs and date-times are really checked.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import jsonschema_rs
import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.formats import FORMATS, format_checker

ROOT = Path(__file__).resolve().parents[2]
SPECS_DIR = ROOT / "specs"
DOCUMENTED_DIR = ROOT / "fixtures" / "documented"

FORMAT_CHECKER = format_checker()  # draft 2020-12's formats and mockserver's own


def pointer(*segments: str | int) -> str:
    """A JSON pointer (RFC 6901) built from raw segments: ``pointer("paths", "/a/{b}")``."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


@dataclass(frozen=True)
class Spec:
    """One spec document, and validators for any schema inside it."""

    name: str
    document: dict[str, Any]

    @property
    def uri(self) -> str:
        return f"https://mockserver.invalid/specs/{self.name}.yaml"

    @cached_property
    def registry(self) -> Registry:
        resource = Resource(contents=self.document, specification=DRAFT202012)
        return Registry().with_resource(self.uri, resource)

    def ref(self, location: str) -> dict[str, str]:
        """A schema that is the schema found at ``location`` (a JSON pointer into the document)."""
        return {"$ref": f"{self.uri}#{quote(location, safe='/~')}"}

    def validator(self, location: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(
            self.ref(location), registry=self.registry, format_checker=FORMAT_CHECKER
        )

    def errors(self, location: str, instance: Any) -> list[jsonschema.ValidationError]:
        return sorted(self.validator(location).iter_errors(instance), key=lambda e: e.path)

    def rust_validator(self, location: str) -> Any:
        """The same schema in jsonschema-rs (the fast validator), to catch dialect differences."""
        registry = jsonschema_rs.Registry([(self.uri, self.document)])
        return jsonschema_rs.validator_for(
            self.ref(location), registry=registry, validate_formats=True, formats=FORMATS
        )

    def at(self, location: str) -> Any:
        node: Any = self.document
        for raw in location.split("/")[1:]:
            segment = raw.replace("~1", "/").replace("~0", "~")
            node = node[int(segment)] if isinstance(node, list) else node[segment]
        return node


@cache
def load_spec(name: str) -> Spec:
    with (SPECS_DIR / f"{name}.yaml").open(encoding="utf-8") as fh:
        return Spec(name, yaml.safe_load(fh))


def documented(fixture: str) -> Any:
    return json.loads((DOCUMENTED_DIR / fixture).read_text(encoding="utf-8"))


def media(path: str, method: str, status: str | None = None) -> str:
    """Pointer to the application/json media type of a request body or a response."""
    if status is None:
        return pointer("paths", path, method, "requestBody", "content", "application/json")
    return pointer("paths", path, method, "responses", status, "content", "application/json")


TAMIO_BULK = media("/customers/bulk/create", "post")
TAMIO_BULK_200 = media("/customers/bulk/create", "post", "200")
TAMIO_CREATE = media("/customers/create", "post")
BUNCE_BULK = media("/customers/bulk", "post")
BUNCE_BULK_200 = media("/customers/bulk", "post", "200")
BUNCE_BULK_409 = media("/customers/bulk", "post", "409")
BUNCE_BULK_OBJECT = "/components/schemas/BulkCreateCustomersRequest"


@pytest.fixture(scope="module")
def tamio() -> Spec:
    return load_spec("tamio")


@pytest.fixture(scope="module")
def bunce() -> Spec:
    return load_spec("bunce")


# --------------------------------------------------------------------------- the documents


@pytest.mark.parametrize("name", ["tamio", "bunce"])
def test_spec_is_a_valid_openapi_3_1_document(name: str) -> None:
    spec = load_spec(name)
    assert spec.document["openapi"] == "3.1.0"
    validate(spec.document, cls=OpenAPIV31SpecValidator)


FIXED_OPERATION_IDS = {
    "tamio": {
        ("/customers/bulk/create", "post"): "bulkCreateCustomers",
        ("/customers/create", "post"): "createCustomer",
        ("/customers/retrieve/{uuid}", "get"): "retrieveCustomer",
        ("/customers/list", "get"): "listCustomers",
    },
    "bunce": {
        ("/customers/bulk", "post"): "createCustomersBulk",
        ("/customers", "post"): "createCustomer",
        ("/customers/{customer_id}", "get"): "getCustomer",
        ("/customers", "get"): "listCustomers",
        ("/customers/{customer_id}", "put"): "updateCustomer",
        ("/customers/bulk-update", "put"): "updateCustomersBulk",
        ("/customers/{customer_id}/devices", "post"): "createCustomerDevices",
        ("/customers/{customer_id}/devices", "get"): "getCustomerDevices",
        ("/customers/{customer_id}/devices", "patch"): "updateCustomerDevice",
    },
}

# Statuses each operation must document (docs/spec-conventions.md): the vendor's and the mock's.
# Operations without a body may document 413/415 too (the body limit applies to any request).
# Every operation documents 5XX: the server errors a fault injected through the control API answers.
REQUIRED_STATUSES = {
    ("tamio", "bulkCreateCustomers"): {"200", "400", "401", "413", "429", "5XX"},
    ("tamio", "createCustomer"): {"200", "400", "401", "413", "429", "5XX"},
    ("tamio", "retrieveCustomer"): {"200", "400", "401", "429", "5XX"},
    ("tamio", "listCustomers"): {"200", "400", "401", "429", "5XX"},
    ("bunce", "createCustomersBulk"): {
        *("200", "400", "401", "409", "413", "415", "422", "429", "5XX"),
    },
    ("bunce", "createCustomer"): {"201", "400", "401", "409", "413", "415", "422", "429", "5XX"},
    ("bunce", "getCustomer"): {"200", "401", "404", "422", "429", "5XX"},
    ("bunce", "listCustomers"): {"200", "401", "422", "429", "5XX"},
    ("bunce", "updateCustomer"): {
        *("200", "400", "401", "404", "409", "413", "415", "422", "429", "5XX"),
    },
    ("bunce", "updateCustomersBulk"): {
        *("200", "400", "401", "409", "413", "415", "422", "429", "5XX"),
    },
    ("bunce", "createCustomerDevices"): {
        *("201", "400", "401", "404", "409", "413", "415", "422", "429", "5XX"),
    },
    ("bunce", "getCustomerDevices"): {"200", "401", "404", "422", "429", "5XX"},
    ("bunce", "updateCustomerDevice"): {
        *("200", "400", "401", "404", "409", "413", "415", "422", "429", "5XX"),
    },
}
OPTIONAL_STATUSES = {"413", "415"}


def example_names(spec: Spec, operation: dict[str, Any]) -> list[str]:
    """The names of an operation's named examples, request and responses together."""
    holders = [operation.get("requestBody", {})]
    for response in operation["responses"].values():
        holders.append(spec.at(response["$ref"][1:]) if "$ref" in response else response)
    return [
        name
        for holder in holders
        for media in holder.get("content", {}).values()
        for name in media.get("examples", {})
    ]


@pytest.mark.parametrize("name", ["tamio", "bunce"])
def test_operations_have_the_fixed_ids_descriptions_and_statuses(name: str) -> None:
    spec = load_spec(name)
    operations = {
        (path, method): op
        for path, item in spec.document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert {key: op["operationId"] for key, op in operations.items()} == FIXED_OPERATION_IDS[name]
    for op in operations.values():
        op_id = op["operationId"]
        assert op["summary"] and op["description"], op_id
        assert op["x-mock"]["behaviour"] is True, op_id
        required = REQUIRED_STATUSES[name, op_id]
        assert required <= set(op["responses"]) <= required | OPTIONAL_STATUSES, op_id
        # `Prefer: example=<name>` picks one example of the operation: names must not repeat.
        names = example_names(spec, op)
        assert len(names) == len(set(names)), (op_id, sorted(names))


@pytest.mark.parametrize(
    ("name", "ids"),
    [("tamio", [f"T{i}" for i in range(1, 10)]), ("bunce", [f"B{i}" for i in range(1, 10)])],
)
def test_every_ambiguity_of_the_fact_sheet_has_a_recorded_decision(
    name: str, ids: list[str]
) -> None:
    decisions = load_spec(name).document["x-mock"]["decisions"]
    assert [d["id"] for d in decisions] == ids
    assert all(len(d["decision"]) > 20 for d in decisions)


def test_tamio_declares_bearer_auth_and_bunce_the_x_authorization_key(
    tamio: Spec, bunce: Spec
) -> None:
    assert tamio.document["servers"][0]["url"] == "https://api.tamio.com/v2"
    assert tamio.document["security"] == [{"bearerAuth": []}]
    assert tamio.at("/components/securitySchemes/bearerAuth") | {"description": ""} == {
        "type": "http",
        "scheme": "bearer",
        "description": "",
    }
    assert [s["url"] for s in bunce.document["servers"]] == [
        "https://api.bunce.so/v1",
        "https://sandbox.api.bunce.so/v1",
    ]
    assert bunce.document["security"] == [{"apiKey": []}]
    scheme = bunce.at("/components/securitySchemes/apiKey")
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-Authorization")


def test_tamio_documents_the_three_customer_webhook_events(tamio: Spec) -> None:
    webhooks = tamio.document["webhooks"]
    assert set(webhooks) == {"customer.created", "customer.updated", "customer.deleted"}
    for hook in webhooks.values():
        (signature,) = hook["post"]["parameters"]
        assert tamio.at(signature["$ref"][1:])["name"] == "Tamio-Signature"
    assert tamio.document["x-mock"]["webhooks"]["event-separator"] == "."


# --------------------------------------------------------------------------- every example


@dataclass(frozen=True)
class Example:
    spec: str
    kind: str  # media type, parameter, header, schema or webhook
    location: str  # pointer to the example value
    schema: str  # pointer to the schema it must obey
    value: Any

    def __str__(self) -> str:
        return f"{self.spec}#{self.location}"


_WHOLE_DOCUMENT = object()


def iter_examples(
    spec: Spec, node: Any = _WHOLE_DOCUMENT, location: str = ""
) -> Iterator[Example]:
    """Every example in the document: media type, parameter and header ``example``/``examples``
    (named Example Objects, ``$ref`` resolved) and schema ``examples`` lists."""
    node = spec.document if node is _WHOLE_DOCUMENT else node  # None is a value (`enum: [null]`)
    if isinstance(node, list):
        for i, child in enumerate(node):
            yield from iter_examples(spec, child, f"{location}/{i}")
        return
    if not isinstance(node, dict):
        return

    def kind_of_holder() -> str:
        if location.startswith("/webhooks/"):
            return "webhook"
        if "in" in node:
            return "parameter"
        return "header" if "/headers/" in location else "media type"

    if isinstance(node.get("schema"), dict):  # media type, parameter or header object
        schema = f"{location}/schema"
        if "example" in node:
            yield Example(
                spec.name, kind_of_holder(), f"{location}/example", schema, node["example"]
            )
        for name, example in (node.get("examples") or {}).items():
            if "$ref" in example:
                example = spec.at(example["$ref"][1:])
            where = f"{location}{pointer('examples', name, 'value')}"
            yield Example(spec.name, kind_of_holder(), where, schema, example["value"])
    elif isinstance(node.get("examples"), list):  # a schema object (JSON Schema `examples`)
        for i, value in enumerate(node["examples"]):
            yield Example(spec.name, "schema", f"{location}/examples/{i}", location, value)

    for key, child in node.items():
        if key not in {"example", "examples"}:  # example values are data, not spec
            yield from iter_examples(spec, child, location + pointer(key))


ALL_EXAMPLES = [
    example for name in ("tamio", "bunce") for example in iter_examples(load_spec(name))
]


def test_examples_of_every_kind_are_found() -> None:
    """Guards the walker: if it stopped finding examples, the test below would pass vacuously."""
    by_spec = {name: [e for e in ALL_EXAMPLES if e.spec == name] for name in ("tamio", "bunce")}
    assert len(by_spec["tamio"]) >= 50
    assert len(by_spec["bunce"]) >= 35
    every_kind = {"media type", "parameter", "header", "schema"}
    assert {e.kind for e in by_spec["tamio"]} == every_kind | {"webhook"}
    assert {e.kind for e in by_spec["bunce"]} == every_kind


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=str)
def test_example_obeys_its_schema(example: Example) -> None:
    spec = load_spec(example.spec)
    errors = spec.errors(example.schema, example.value)
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]
    # The engine's fast validator (jsonschema-rs) must agree: patterns and formats mean the same.
    assert spec.rust_validator(example.schema).is_valid(example.value)


def test_a_broken_example_is_caught(bunce: Spec) -> None:
    """The check above really checks formats: a non-email in the success example fails it."""
    broken = copy.deepcopy(bunce.document)
    success = broken["paths"]["/customers/bulk"]["post"]["responses"]["200"]["content"]
    success["application/json"]["examples"]["success"]["value"]["data"][0]["email"] = "johndoe"
    spec = Spec("bunce-broken", broken)
    (found,) = [e for e in iter_examples(spec) if e.location.startswith(BUNCE_BULK_200)]
    (error,) = spec.errors(found.schema, found.value)
    assert (error.validator, list(error.path)) == ("format", ["data", 0, "email"])


# --------------------------------------------------------------------------- documented payloads


@dataclass(frozen=True)
class Documented:
    fixture: str
    spec: str
    schema: str  # pointer to the schema the payload must obey
    example: str  # pointer to the spec example holding the same payload
    part: str | None = None  # validate only this top-level member (a documented fragment)


ACCEPTED = [
    Documented("tamio_bulk_request_curl.json", "tamio", f"{TAMIO_BULK}/schema",
               f"{TAMIO_BULK}/examples/curl/value"),
    Documented("tamio_bulk_request_ruby.json", "tamio", f"{TAMIO_BULK}/schema",
               f"{TAMIO_BULK}/examples/ruby/value"),
    Documented("tamio_bulk_request_fetch.json", "tamio", f"{TAMIO_BULK}/schema",
               f"{TAMIO_BULK}/examples/fetch/value"),
    Documented("tamio_bulk_response_success.json", "tamio", f"{TAMIO_BULK_200}/schema",
               f"{TAMIO_BULK_200}/examples/scheduled/value"),
    Documented("tamio_billing_information_example.json", "tamio",
               "/components/schemas/BillingInformation",
               "/components/schemas/BillingInformation/examples/0"),
    Documented("tamio_shipping_information_example.json", "tamio",
               "/components/schemas/ShippingInformation",
               "/components/schemas/ShippingInformation/examples/0"),
    Documented("bunce_bulk_request_curl.json", "bunce", f"{BUNCE_BULK}/schema",
               f"{BUNCE_BULK}/examples/curl/value"),
    Documented("bunce_bulk_request_go.json", "bunce", f"{BUNCE_BULK}/schema",
               f"{BUNCE_BULK}/examples/go/value"),
    Documented("bunce_bulk_request_js.json", "bunce", f"{BUNCE_BULK}/schema",
               f"{BUNCE_BULK}/examples/node_fetch/value"),
    Documented("bunce_bulk_request_php.json", "bunce", f"{BUNCE_BULK}/schema",
               f"{BUNCE_BULK}/examples/php/value"),
    Documented("bunce_bulk_request_java.json", "bunce", f"{BUNCE_BULK}/schema",
               f"{BUNCE_BULK}/examples/java/value"),
    Documented("bunce_bulk_response_success.json", "bunce", f"{BUNCE_BULK_200}/schema",
               f"{BUNCE_BULK_200}/examples/success/value"),
    Documented("bunce_bulk_response_partial_failure.json", "bunce", f"{BUNCE_BULK_409}/schema",
               f"{BUNCE_BULK_409}/examples/partial_failure/value"),
    Documented("bunce_devices_example.json", "bunce",
               "/components/schemas/CustomerInput/properties/devices",
               "/components/schemas/CustomerInput/properties/devices/examples/0", part="devices"),
]  # fmt: skip

# The Go and JavaScript samples of Bunce's bulk page omit customer_id on their second item.


def test_every_documented_fixture_has_a_verdict() -> None:
    on_disk = {p.name for p in DOCUMENTED_DIR.glob("*.json")}
    assert on_disk == {d.fixture for d in ACCEPTED}


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda d: d.fixture)
def test_documented_payload_is_accepted_and_is_a_spec_example(case: Documented) -> None:
    spec = load_spec(case.spec)
    payload = documented(case.fixture)
    if case.part:
        payload = payload[case.part]
    assert spec.errors(case.schema, payload) == []
    assert spec.rust_validator(case.schema).is_valid(payload)
    assert spec.at(case.example) == payload, "fixture and spec example drifted apart"


def test_bunce_items_need_an_email_or_a_customer_id_not_both(bunce: Spec) -> None:
    """B2: the documented Go and node-fetch samples leave customer_id out; Bunce's CLI sends an
    email or a customer_id."""
    for fixture in ("bunce_bulk_request_go.json", "bunce_bulk_request_js.json"):
        payload = documented(fixture)
        assert "customer_id" not in payload["customers"][1]
        assert bunce.errors(f"{BUNCE_BULK}/schema", payload) == []
    id_only = {k: v for k, v in bunce_item().items() if k != "email"}
    assert bunce.errors(BUNCE_BULK_OBJECT, {"customers": [id_only]}) == []
    neither = {k: v for k, v in bunce_item().items() if k not in ("email", "customer_id")}
    assert only_error(bunce, BUNCE_BULK_OBJECT, {"customers": [neither]}) == (
        "anyOf",
        ["customers", 0],
    )
    assert not bunce.rust_validator(f"{BUNCE_BULK}/schema").is_valid({"customers": [neither]})


def test_bunce_bulk_takes_a_bare_array_of_the_same_items(bunce: Spec) -> None:
    schema = f"{BUNCE_BULK}/schema"
    items = documented("bunce_bulk_request_go.json")["customers"]
    assert bunce.errors(schema, items) == []
    assert bunce.rust_validator(schema).is_valid(items)
    assert not bunce.rust_validator(schema).is_valid([])
    assert not bunce.rust_validator(schema).is_valid([{"email": "a@example.com"}])


# --------------------------------------------------------------------------- limits and rules


def tamio_item(**overrides: Any) -> dict[str, Any]:
    return {"name": "John", "email": "john.doe@tamio.com", "country": "de"} | overrides


def bunce_item(**overrides: Any) -> dict[str, Any]:
    item = {
        "customer_id": "0000",
        "first_name": "John",
        "last_name": "Doe",
        "email": "johndoe21@example.com",
        "phone_no": "+23481999999999",
    }
    return item | overrides


def only_error(spec: Spec, location: str, instance: Any) -> tuple[str, list[Any]]:
    (error,) = spec.errors(location, instance)
    return error.validator, list(error.absolute_path)


def test_tamio_bulk_takes_1_to_500_customers(tamio: Spec) -> None:
    schema = f"{TAMIO_BULK}/schema"
    assert tamio.errors(schema, {"customers": [tamio_item()] * 500}) == []
    assert tamio.errors(schema, {"customers": [tamio_item()]}) == []
    too_many = {"customers": [tamio_item()] * 501}
    assert only_error(tamio, schema, too_many) == ("maxItems", ["customers"])
    assert only_error(tamio, schema, {"customers": []}) == ("minItems", ["customers"])
    assert only_error(tamio, schema, {}) == ("required", [])


def test_bunce_bulk_needs_one_customer_and_has_no_maximum(bunce: Spec) -> None:
    schema = BUNCE_BULK_OBJECT
    assert only_error(bunce, schema, {"customers": []}) == ("minItems", ["customers"])
    many = [bunce_item(customer_id=str(i), email=f"c{i}@example.com") for i in range(2000)]
    assert bunce.errors(schema, {"customers": many}) == []


@pytest.mark.parametrize(
    ("field", "value", "keyword"),
    [
        ("country", "DEU", "format"),
        ("country", "d", "format"),
        ("country", "1e", "format"),
        ("country", "xx", "format"),
        ("country", "UK", "format"),  # the United Kingdom is GB in ISO 3166-1
        ("timezone_offset", "+3:00", "pattern"),
        ("timezone_offset", "03:00", "pattern"),
        ("timezone_offset", "+15:00", "pattern"),
        ("timezone_offset", "+03:60", "pattern"),
        ("email", "john.doe", "format"),
        ("name", "", "minLength"),
        ("locale", "eng", "format"),
        ("locale", "zz", "format"),
        ("priority", "urgent", "enum"),
        ("category", "partner", "enum"),
        ("teammate_id", "not-a-uuid", "format"),
        ("same_shipping_address", "yes", "type"),
    ],
)
def test_tamio_rejects_a_bad_field(tamio: Spec, field: str, value: str, keyword: str) -> None:
    payload = {"customers": [tamio_item(), tamio_item(**{field: value})]}
    assert only_error(tamio, f"{TAMIO_BULK}/schema", payload) == (keyword, ["customers", 1, field])


def test_tamio_accepts_what_the_decisions_allow(tamio: Spec) -> None:
    schema = f"{TAMIO_BULK}/schema"
    billing = {"name": "Acme", "address": "Main St 1", "city": "Berlin", "country": "DE"}
    accepted = [
        tamio_item(country="DE"),  # T5: any case
        tamio_item(timezone_offset="-05:30"),
        tamio_item(timezone_offset="+14:00"),
        tamio_item(billing_information=billing | {"vat": "DE123456789"}),  # T1
        tamio_item(billing_information=billing | {"vat_number": "DE123456789"}),  # T1
        tamio_item(same_shipping_address=True, billing_information=billing),
        tamio_item(priority="high", category="lead"),  # T6
        tamio_item(favourite_colour="green"),  # unknown fields are ignored, not rejected
    ]
    assert tamio.errors(schema, {"customers": accepted}) == []


def test_tamio_bulk_items_take_partial_billing_and_shipping_objects(tamio: Spec) -> None:
    # The bulk-create document marks billing and shipping optional and no sub-field required.
    payload = {
        "customers": [
            tamio_item(billing_information={"phone": "08421234"}),
            tamio_item(shipping_information={"city": "Berlin"}),
            tamio_item(billing_information={}, shipping_information={}),
        ]
    }
    assert tamio.errors(f"{TAMIO_BULK}/schema", payload) == []
    assert tamio.rust_validator(f"{TAMIO_BULK}/schema").is_valid(payload)


def test_tamio_single_create_billing_needs_the_documented_sub_fields(tamio: Spec) -> None:
    # The create-customer document lists name, country, address and city as required.
    schema = f"{TAMIO_CREATE}/schema"
    billing = {"name": "Acme", "address": "Main St 1", "city": "Berlin", "country": "de"}
    assert tamio.errors(schema, tamio_item(billing_information=billing)) == []
    for missing in ("name", "country", "address", "city"):
        partial = {k: v for k, v in billing.items() if k != missing}
        assert only_error(tamio, schema, tamio_item(billing_information=partial)) == (
            "required",
            ["billing_information"],
        ), missing
    empty_city = tamio_item(billing_information=billing | {"city": ""})
    assert only_error(tamio, schema, empty_city) == ("minLength", ["billing_information", "city"])
    # Shipping lists no required sub-field anywhere.
    assert tamio.errors(schema, tamio_item(shipping_information={"phone": "1"})) == []


def test_tamio_bulk_success_is_exactly_status_200(tamio: Spec) -> None:
    schema = f"{TAMIO_BULK_200}/schema"
    assert tamio.errors(schema, {"status": 200}) == []
    assert only_error(tamio, schema, {"status": 200, "job_id": "j1"}) == (
        "additionalProperties",
        [],
    )
    assert only_error(tamio, schema, {"status": 201}) == ("const", ["status"])


def test_tamio_list_requires_page_and_per_page(tamio: Spec) -> None:
    params = {
        p["name"]: p for p in tamio.at(pointer("paths", "/customers/list", "get"))["parameters"]
    }
    assert params["page"]["required"] and params["per_page"]["required"]
    assert (
        params["page"]["schema"]
        == params["per_page"]["schema"]
        == {"type": "integer", "minimum": 1}
    )
    countries = params["countries[]"]
    assert (countries["style"], countries["explode"], countries["schema"]["type"]) == (
        "form",
        True,
        "array",
    )


@pytest.mark.parametrize(
    ("field", "value", "keyword"),
    [
        ("email", "johndoe", "format"),
        ("customer_id", "", "minLength"),
        ("phone_no", 23481999999999, "type"),
        ("devices", [{"device_type": "ios"}], "required"),
        ("devices", {"device_type": "ios", "device_token": "1"}, "type"),
    ],
)
def test_bunce_rejects_a_bad_field(bunce: Spec, field: str, value: Any, keyword: str) -> None:
    payload = {"customers": [bunce_item(**{field: value})]}
    keyword_found, path = only_error(bunce, BUNCE_BULK_OBJECT, payload)
    assert keyword_found == keyword
    assert path[:3] == ["customers", 0, field]


def test_bunce_devices_may_be_null_or_absent(bunce: Spec) -> None:
    payload = {"customers": [bunce_item(devices=None), bunce_item(customer_id="1", email="a@b.co")]}
    assert bunce.errors(f"{BUNCE_BULK}/schema", payload) == []


def test_bunce_partial_failure_body_is_exactly_the_documented_shape(bunce: Spec) -> None:
    schema = f"{BUNCE_BULK_409}/schema"
    body = documented("bunce_bulk_response_partial_failure.json")
    assert only_error(bunce, schema, body | {"success": False}) == ("additionalProperties", [])
    assert only_error(bunce, schema, body | {"message": "Something failed"}) == (
        "pattern",
        ["message"],
    )
    assert bunce.at(pointer("x-mock", "conflict-status")) == 409


def test_bunce_device_id_is_not_declared_a_uuid(bunce: Spec) -> None:
    """The documented second device_id is not a UUID; the verbatim success example must pass."""
    device_id = bunce.at("/components/schemas/Device/properties/device_id")
    assert "format" not in device_id
    documented_ids = [
        d["device_id"] for d in documented("bunce_bulk_response_success.json")["data"][2]["devices"]
    ]
    assert documented_ids[1] == "1710dd8fe631-018c7737-0ab2-78f7"
    assert not FORMAT_CHECKER.conforms(documented_ids[1], "uuid")


def test_bunce_rate_limit_response_documents_retry_after(bunce: Spec) -> None:
    headers = bunce.at("/components/responses/TooManyRequests/headers")
    assert headers["Retry-After"]["required"] is True
