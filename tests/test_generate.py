"""mockserver.generate: deterministic, realistic, schema-valid data.

Every generated value is checked with jsonschema's Draft 2020-12 validator (formats asserted,
`$ref`s resolved through a `referencing.Registry` holding the root document)."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from mockserver.formats import format_checker
from mockserver.generate import DataGenerator, GenerationError, generate
from mockserver.validation import compile_schema

SPEC_URI = "urn:mockserver:test-spec"


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _absolute_refs(node: Any) -> Any:
    """Point local `#/...` refs at the registry's copy of the root document."""
    if isinstance(node, dict):
        return {
            k: (SPEC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else
                _absolute_refs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(v) for v in node]
    return node


def validator_for(schema: Any, root: Any = None) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, DRAFT202012.create_resource(root if root is not None else schema)
    )
    return Draft202012Validator(
        _absolute_refs(schema),
        registry=registry,
        format_checker=format_checker(),
    )


def assert_valid(value: Any, schema: Any, root: Any = None) -> None:
    errors = [e.message for e in validator_for(schema, root).iter_errors(value)]
    assert not errors, f"{value!r} is invalid against {schema!r}: {errors}"


def openapi30_to_2020(node: Any) -> Any:
    """`nullable: true` (OpenAPI 3.0) -> a type list, so the 2020-12 validator understands it."""
    if isinstance(node, dict):
        out = {k: openapi30_to_2020(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True and "type" in node:
            types = [node["type"]] if isinstance(node["type"], str) else list(node["type"])
            out["type"] = [*types, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        return out
    if isinstance(node, list):
        return [openapi30_to_2020(v) for v in node]
    return node


# ----------------------------------------------------------------------------------------------
# a realistic OpenAPI document
# ----------------------------------------------------------------------------------------------

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "shop", "version": "1"},
    "paths": {},
    "components": {
        "schemas": {
            "Address": {
                "type": "object",
                "required": ["street", "city", "postcode", "country"],
                "additionalProperties": False,
                "properties": {
                    "street": {"type": "string", "minLength": 1},
                    "city": {"type": "string"},
                    "postcode": {"type": "string", "maxLength": 10},
                    "state": {"type": "string"},
                    "country": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
                },
            },
            "Customer": {
                "type": "object",
                "required": ["uuid", "customer_id", "email", "first_name", "created_at"],
                "additionalProperties": False,
                "properties": {
                    "uuid": {"type": "string", "format": "uuid", "readOnly": True},
                    "customer_id": {"type": "string", "minLength": 1, "maxLength": 64},
                    "email": {"type": "string", "format": "email"},
                    "first_name": {"type": "string", "maxLength": 50},
                    "last_name": {"type": "string", "maxLength": 50},
                    "phone_no": {"type": "string", "pattern": r"^\+[1-9]\d{6,14}$"},
                    "country": {"type": "string", "pattern": "^[a-zA-Z]{2}$"},
                    "locale": {"type": "string", "pattern": "^[a-z]{2}$"},
                    "timezone_offset": {"type": "string", "pattern": r"^[+-]\d{2}:\d{2}$"},
                    "company": {"type": ["string", "null"]},
                    "vat_number": {"type": "string"},
                    "website": {"type": "string", "format": "uri"},
                    "created_at": {"type": "integer", "minimum": 0},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "password": {"type": "string", "writeOnly": True, "minLength": 8},
                    "address": {"$ref": "#/components/schemas/Address"},
                    "device": {"$ref": "#/components/schemas/Device"},
                    "tags": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "uniqueItems": True,
                        "maxItems": 5,
                    },
                },
            },
            "Device": {
                "type": "object",
                "required": ["device_type", "device_token"],
                "properties": {
                    "device_type": {"type": "string", "enum": ["ios", "android"]},
                    "device_token": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                },
            },
            "Category": {  # recursive through an array and an optional property
                "type": "object",
                "required": ["id", "name", "children"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "name": {"type": "string"},
                    "parent": {"$ref": "#/components/schemas/Category"},
                    "children": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Category"},
                    },
                },
            },
            "LinkedNode": {  # recursion that can only stop through a required nullable link
                "type": "object",
                "required": ["value", "next"],
                "properties": {
                    "value": {"type": "integer"},
                    "next": {
                        "oneOf": [{"$ref": "#/components/schemas/LinkedNode"}, {"type": "null"}]
                    },
                },
            },
            "CustomerList": {
                "type": "object",
                "required": ["data", "total"],
                "properties": {
                    "data": {
                        "type": "array",
                        "minItems": 3,
                        "maxItems": 3,
                        "items": {"$ref": "#/components/schemas/Customer"},
                    },
                    "total": {"type": "integer", "minimum": 0},
                },
            },
            "Cat": {
                "type": "object",
                "required": ["pet_type", "lives"],
                "properties": {"pet_type": {"type": "string"}, "lives": {"type": "integer"}},
            },
            "Dog": {
                "type": "object",
                "required": ["pet_type", "bark"],
                "properties": {"pet_type": {"type": "string"}, "bark": {"type": "boolean"}},
            },
            "Bird": {
                "type": "object",
                "required": ["pet_type", "wings"],
                "properties": {"pet_type": {"type": "string"}, "wings": {"const": 2}},
            },
            "Pet": {
                "oneOf": [
                    {"$ref": "#/components/schemas/Cat"},
                    {"$ref": "#/components/schemas/Dog"},
                    {"$ref": "#/components/schemas/Bird"},
                ],
                "discriminator": {
                    "propertyName": "pet_type",
                    "mapping": {"cat": "#/components/schemas/Cat", "dog": "Dog"},
                },
            },
        }
    },
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# ----------------------------------------------------------------------------------------------
# determinism
# ----------------------------------------------------------------------------------------------


def test_same_seed_same_sequence_gives_identical_output() -> None:
    a, b = DataGenerator(seed=42), DataGenerator(seed=42)
    first = [a.generate(ref("CustomerList"), root=SPEC) for _ in range(3)]
    second = [b.generate(ref("CustomerList"), root=SPEC) for _ in range(3)]
    assert first == second
    assert first[0] != first[1]  # the stream moves on between calls


def test_different_seeds_differ() -> None:
    outputs = {repr(DataGenerator(seed=s).generate(ref("Customer"), root=SPEC)) for s in range(5)}
    assert len(outputs) == 5


def test_reseed_restarts_the_stream() -> None:
    gen = DataGenerator(seed=7)
    before = gen.generate(ref("Customer"), root=SPEC)
    gen.generate(ref("Customer"), root=SPEC)
    gen.reseed(7)
    assert gen.generate(ref("Customer"), root=SPEC) == before


def test_seed_none_is_random_but_recorded() -> None:
    gen = DataGenerator(seed=None)
    value = gen.generate(ref("Customer"), root=SPEC)
    assert DataGenerator(seed=gen.seed).generate(ref("Customer"), root=SPEC) == value


def test_module_level_generate() -> None:
    assert generate(ref("Customer"), root=SPEC, seed=3) == generate(
        ref("Customer"), root=SPEC, seed=3
    )
    assert re.fullmatch(r"\S+@\S+\.\S+", generate({"type": "string"}, name="email", seed=1))


def test_output_does_not_depend_on_the_process(tmp_path: Any) -> None:
    """A restarted mock server answers the same: no hash-seed or pool-order dependence."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json, sys; from mockserver.generate import DataGenerator; "
        "spec = json.load(open(sys.argv[1])); "
        "print(json.dumps(DataGenerator(seed=5).generate("
        "{'$ref': '#/components/schemas/CustomerList'}, root=spec)))"
    )
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(SPEC))
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script, str(spec_file)], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == DataGenerator(seed=5).generate(ref("CustomerList"), root=SPEC)


def test_the_generator_does_not_touch_the_global_random_state() -> None:
    import random

    random.seed(123)
    expected = random.random()
    random.seed(123)
    DataGenerator(seed=1).generate(ref("CustomerList"), root=SPEC)
    assert random.random() == expected


# ----------------------------------------------------------------------------------------------
# validity: one table of schemas covering every keyword, many seeds each
# ----------------------------------------------------------------------------------------------

KEYWORD_TABLE: dict[str, Any] = {
    "true": True,
    "empty": {},
    "string": {"type": "string"},
    "string-lengths": {"type": "string", "minLength": 30, "maxLength": 35},
    "string-max-short": {"type": "string", "maxLength": 2},
    "pattern-unanchored": {"type": "string", "pattern": "[0-9]{3}-x"},
    "pattern-anchored": {"type": "string", "pattern": r"^[A-Z]{3}-\d{2,4}(_[a-z]+)?$"},
    "pattern-with-length": {"type": "string", "pattern": "^[a-f0-9]+$", "minLength": 40},
    "pattern-alternation": {"type": "string", "pattern": "^(sk|pk)_(test|live)_[A-Za-z0-9]{8,}$"},
    "pattern-negated-class": {"type": "string", "pattern": r"^[^\s@]+@[^\s@]+$"},
    "pattern-lookahead": {"type": "string", "pattern": r"^(?=.*\d)(?=.*[A-Z]).{8,12}$"},
    "pattern-backref": {"type": "string", "pattern": r"^(ab|cd)-\1$"},
    "format-date-time": {"type": "string", "format": "date-time"},
    "format-date": {"type": "string", "format": "date"},
    "format-time": {"type": "string", "format": "time"},
    "format-uuid": {"type": "string", "format": "uuid"},
    "format-email": {"type": "string", "format": "email"},
    "format-uri": {"type": "string", "format": "uri"},
    "format-ipv4": {"type": "string", "format": "ipv4"},
    "format-ipv6": {"type": "string", "format": "ipv6"},
    "format-hostname": {"type": "string", "format": "hostname"},
    "format-duration": {"type": "string", "format": "duration"},
    "format-regex": {"type": "string", "format": "regex"},
    "format-byte": {"type": "string", "format": "byte"},
    "format-with-pattern": {
        "type": "string", "format": "date-time", "pattern": "Z$",
    },
    "integer": {"type": "integer"},
    "integer-bounds": {"type": "integer", "minimum": -5, "maximum": 5},
    "integer-exclusive": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 2},
    "integer-multiple": {"type": "integer", "minimum": 10, "maximum": 100, "multipleOf": 7},
    "integer-float-multiple": {"type": "integer", "multipleOf": 0.5, "maximum": 3},
    "integer-int32": {"type": "integer", "format": "int32", "minimum": 2_147_483_000},
    "number": {"type": "number"},
    "number-exclusive-tight": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001},
    "number-multiple": {"type": "number", "minimum": 0, "maximum": 10, "multipleOf": 0.01},
    "number-two-multiples": {"type": "number", "multipleOf": 0.25, "minimum": 1, "maximum": 2},
    "number-only-maximum": {"type": "number", "maximum": -100.5},
    "boolean": {"type": "boolean"},
    "null": {"type": "null"},
    "enum": {"enum": ["red", "green", 3, None, {"a": 1}]},
    "enum-filtered-by-type": {"type": "string", "enum": ["red", 3, None]},
    "const": {"const": {"nested": [1, 2]}},
    "type-list": {"type": ["integer", "string", "null"], "minimum": 3, "minLength": 2},
    "array-default": {"type": "array", "items": {"type": "integer"}},
    "array-bounds": {"type": "array", "items": {"type": "string"}, "minItems": 4, "maxItems": 6},
    "array-empty-only": {"type": "array", "maxItems": 0},
    "array-unique": {
        "type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 4},
        "minItems": 5, "uniqueItems": True,
    },
    "array-unique-bool": {"type": "array", "items": {"type": "boolean"}, "uniqueItems": True},
    "array-prefix-items": {
        "type": "array",
        "prefixItems": [{"type": "string", "format": "date"}, {"type": "integer"}],
        "items": False,
    },
    "array-contains": {
        "type": "array", "items": {"type": "integer"},
        "contains": {"type": "integer", "minimum": 1000}, "minContains": 2, "maxContains": 3,
    },
    "object": {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "additionalProperties": False,
    },
    "object-map": {"type": "object", "additionalProperties": {"type": "integer"}},
    "object-pattern-properties": {
        "type": "object",
        "patternProperties": {"^x-[a-z]+$": {"type": "boolean"}},
        "additionalProperties": False,
        "minProperties": 2,
    },
    "object-property-names": {
        "type": "object",
        "propertyNames": {"pattern": "^[A-Z]{3}$"},
        "additionalProperties": {"type": "number"},
        "minProperties": 1,
    },
    "object-min-max-properties": {
        "type": "object",
        "properties": {k: {"type": "integer"} for k in "abcdef"},
        "minProperties": 6,
        "maxProperties": 6,
    },
    "object-max-properties": {
        "type": "object",
        "properties": {k: {"type": "integer"} for k in "abcdef"},
        "maxProperties": 2,
    },
    "object-dependent-required": {
        "type": "object",
        "properties": {"card": {"type": "string"}, "billing_address": {"type": "string"}},
        "dependentRequired": {"card": ["billing_address"]},
    },
    "object-dependent-schemas": {
        "type": "object",
        "properties": {"card": {"type": "string"}, "cvc": {"type": "string"}},
        "dependentSchemas": {
            "card": {"required": ["cvc"], "properties": {"cvc": {"pattern": "^[0-9]{3}$"}}},
        },
    },
    "free-form-object": {"type": "object"},
    "allOf-merge": {
        "allOf": [
            {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
            {"required": ["name"], "properties": {"name": {"type": "string", "maxLength": 4}}},
            {"properties": {"id": {"minimum": 10, "maximum": 12}}},
        ]
    },
    "allOf-closed-by-first": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}},
             "additionalProperties": False},
            {"properties": {"b": {"type": "integer"}}},
        ]
    },
    "allOf-unevaluated": {
        "allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}}],
        "properties": {"b": {"type": "string"}},
        "unevaluatedProperties": False,
    },
    "anyOf": {"anyOf": [{"type": "string", "format": "email"}, {"type": "integer"}]},
    "oneOf-overlapping": {
        "oneOf": [
            {"type": "integer", "multipleOf": 3},
            {"type": "integer", "multipleOf": 5},
        ]
    },
    "oneOf-objects": {
        "oneOf": [
            {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
            {"type": "object", "required": ["b"], "properties": {"b": {"type": "string"}}},
        ]
    },
    "oneOf-format-only": {
        "oneOf": [{"type": "string", "format": "email"}, {"type": "string", "format": "uuid"}]
    },
    "not": {"type": "integer", "minimum": 0, "maximum": 5, "not": {"enum": [0, 1, 2, 3, 4]}},
    "not-type": {"not": {"type": ["string", "object", "array"]}},
    "if-then-else": {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": ["person", "company"]}},
        "if": {"properties": {"kind": {"const": "company"}}},
        "then": {"required": ["vat"], "properties": {"vat": {"type": "string"}}},
        "else": {"required": ["first_name"], "properties": {"first_name": {"type": "string"}}},
    },
    "ref-address": ref("Address"),
    "ref-customer": ref("Customer"),
    "ref-category": ref("Category"),
    "ref-linked-node": ref("LinkedNode"),
    "ref-pet-discriminator": ref("Pet"),
    "ref-with-siblings": {"$ref": "#/components/schemas/Address", "required": ["state"]},
    "anchor-ref": {
        "$defs": {"money": {"$anchor": "money", "type": "integer", "minimum": 1}},
        "type": "object", "required": ["amount"], "properties": {"amount": {"$ref": "#money"}},
    },
    "defs-ref": {
        "$defs": {"id": {"type": "string", "pattern": "^cus_[0-9]{6}$"}},
        "type": "array", "items": {"$ref": "#/$defs/id"}, "minItems": 2,
    },
    "examples-fallback": {
        "type": "string", "pattern": "^(?=.*secret).{6}$", "examples": ["secret"],
    },
}


@pytest.mark.parametrize("case", sorted(KEYWORD_TABLE))
@settings(derandomize=True, database=None, max_examples=10, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_every_keyword_yields_valid_values(case: str, seed: int) -> None:
    schema = KEYWORD_TABLE[case]
    root = SPEC if case.startswith("ref-") else None
    value = DataGenerator(seed=seed).generate(schema, root=root)
    assert_valid(value, schema, root)


def test_ecma_only_regex_syntax_is_understood() -> None:
    # Python's re lacks \p{..} and (?<name>..); jsonschema-rs (ECMA 262) has them
    gen = DataGenerator(seed=4)
    for _ in range(10):
        assert re.fullmatch(r"[A-Za-z]+", gen.generate({"type": "string", "pattern": r"^\p{L}+$"}))
        value = gen.generate({"type": "string", "pattern": r"^(?<d>[0-9])-\1$"})
        assert value[0] == value[2] and value[1] == "-"


def test_a_pattern_the_engine_cannot_compile_is_refused() -> None:
    # jsonschema-rs has no \k<name>: the engine could not check such a value, so none is made
    with pytest.raises(GenerationError):
        DataGenerator(seed=4).generate({"type": "string", "pattern": r"^(?<d>[0-9])-\k<d>$"})


def test_defaults_are_used_for_optional_scalars_now_and_then() -> None:
    schema = {"type": "object", "properties": {"plan": {"type": "string", "default": "basic"}}}
    plans = [DataGenerator(seed=s, optional_rate=1.0).generate(schema)["plan"] for s in range(60)]
    assert 0 < plans.count("basic") < 30


def test_enum_with_constraints_only_picks_allowed_values() -> None:
    schema = {"type": "string", "enum": ["a", "bb", "ccc"], "minLength": 2, "pattern": "c"}
    values = {DataGenerator(seed=s).generate(schema) for s in range(20)}
    assert values == {"ccc"}


def test_optional_properties_are_usually_but_not_always_present() -> None:
    schema = {"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(20)}}
    sizes = [len(DataGenerator(seed=s).generate(schema)) for s in range(20)]
    assert sum(sizes) / len(sizes) > 14
    assert min(sizes) < 20


def test_default_array_length_is_one_to_three() -> None:
    gen = DataGenerator(seed=5)
    schema = {"type": "array", "items": {"type": "integer"}}
    lengths = {len(gen.generate(schema)) for _ in range(50)}
    assert lengths == {1, 2, 3}


def test_nullable_openapi_30() -> None:
    schema = {
        "type": "object",
        "required": ["note", "status"],
        "properties": {
            "note": {"type": "string", "nullable": True},
            "status": {"type": "string", "enum": ["a", "b"], "nullable": True},
        },
    }
    gen = DataGenerator(seed=0, null_rate=0.5)
    values = [gen.generate(schema) for _ in range(40)]
    for value in values:
        assert_valid(value, openapi30_to_2020(schema))
    assert any(v["note"] is None for v in values)
    assert any(isinstance(v["note"], str) for v in values)
    assert all(v["status"] in ("a", "b") for v in values)  # enum without null: never null


def test_openapi_30_boolean_exclusive_bounds() -> None:
    schema = {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "maximum": 2,
              "exclusiveMaximum": True}
    assert {DataGenerator(seed=s).generate(schema) for s in range(10)} == {1}


def test_oneof_value_matches_exactly_one_branch() -> None:
    schema = KEYWORD_TABLE["oneOf-overlapping"]
    for seed in range(30):
        value = DataGenerator(seed=seed).generate(schema)
        assert (value % 3 == 0) != (value % 5 == 0)


def test_discriminator_value_follows_the_mapping() -> None:
    seen = set()
    for seed in range(30):
        pet = DataGenerator(seed=seed).generate(ref("Pet"), root=SPEC)
        expected = "cat" if "lives" in pet else "dog" if "bark" in pet else "Bird"
        assert pet["pet_type"] == expected  # mapping keys, else the schema name
        seen.add(pet["pet_type"])
    assert seen == {"cat", "dog", "Bird"}


def test_write_only_properties_are_left_out_of_responses() -> None:
    response = DataGenerator(seed=1, optional_rate=1.0)
    request = DataGenerator(seed=1, optional_rate=1.0, mode="request")
    for _ in range(5):
        assert "password" not in response.generate(ref("Customer"), root=SPEC)
        assert "uuid" in request.generate(ref("Customer"), root=SPEC)  # required wins
        assert "password" in request.generate(ref("Customer"), root=SPEC)


@pytest.mark.parametrize(
    "schema",
    [
        False,
        {"type": "integer", "minimum": 5, "maximum": 4},
        {"type": "string", "enum": [1, 2]},
        {"allOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": "array", "items": {"type": "boolean"}, "uniqueItems": True, "minItems": 3},
        {"type": "object", "required": ["x"], "additionalProperties": False},
        {"$ref": "other.yaml#/Thing"},
        {"$ref": "#/nowhere"},
    ],
)
def test_unsatisfiable_schemas_raise(schema: Any) -> None:
    with pytest.raises(GenerationError):
        DataGenerator(seed=0).generate(schema)


def test_required_recursion_without_an_exit_raises() -> None:
    root = {"$defs": {"Loop": {"type": "object", "required": ["next"],
                               "properties": {"next": {"$ref": "#/$defs/Loop"}}}}}
    with pytest.raises(GenerationError):
        DataGenerator(seed=0).generate({"$ref": "#/$defs/Loop"}, root=root)


# ----------------------------------------------------------------------------------------------
# validity: random schemas built by hypothesis
# ----------------------------------------------------------------------------------------------

NAMES = ["email", "first_name", "name", "phone_no", "country", "created_at", "id",
         "customer_id", "timezone_offset", "locale", "city", "amount", "age", "tags", "value"]
PATTERNS = [r"^[A-Z]{2}$", r"^\+?[0-9]{5,12}$", r"^[a-z]+(-[a-z]+)*$", "@", r"^\d{4}-\d{2}$"]
FORMATS = ["email", "uuid", "date-time", "date", "ipv4", "uri", "hostname"]


@st.composite
def string_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    choice = draw(st.sampled_from(["plain", "length", "pattern", "format"]))
    if choice == "length":
        low = draw(st.integers(0, 20))
        schema["minLength"] = low
        schema["maxLength"] = draw(st.integers(low, low + 30))
    elif choice == "pattern":
        schema["pattern"] = draw(st.sampled_from(PATTERNS))
    elif choice == "format":
        schema["format"] = draw(st.sampled_from(FORMATS))
    return schema


@st.composite
def number_schemas(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["integer", "number"]))
    schema: dict[str, Any] = {"type": kind}
    low = draw(st.integers(-10_000, 2_000_000_000))
    high = low + draw(st.integers(20, 10**6))  # wide enough for any multipleOf below
    if draw(st.booleans()):
        schema["minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high + 1
    if draw(st.booleans()):
        schema["multipleOf"] = draw(st.sampled_from([1, 2, 5, 0.5, 0.01] if kind == "number"
                                                    else [1, 2, 5, 7]))
    return schema


scalar_schemas = st.one_of(
    string_schemas(),
    number_schemas(),
    st.just({"type": "boolean"}),
    st.lists(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
             min_size=1, max_size=4).map(lambda values: {"enum": values}),
    st.sampled_from(["string", "integer", "boolean"]).map(lambda t: {"type": [t, "null"]}),
)


def compound(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    arrays = st.builds(
        lambda items, low, extra: {"type": "array", "items": items, "minItems": low,
                                   "maxItems": low + extra},
        children, st.integers(0, 2), st.integers(0, 3),
    )
    objects = st.dictionaries(st.sampled_from(NAMES), children, max_size=5).flatmap(
        lambda props: st.builds(
            lambda required, closed: {
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": not closed,
            },
            st.lists(st.sampled_from(sorted(props)), unique=True) if props else st.just([]),
            st.booleans(),
        )
    )
    any_of = st.lists(children, min_size=1, max_size=3).map(lambda bs: {"anyOf": bs})
    one_of = st.lists(st.sampled_from(["string", "integer", "boolean", "null", "array"]),
                      min_size=2, max_size=3, unique=True).map(
        lambda ts: {"oneOf": [{"type": t} for t in ts]})
    return st.one_of(arrays, objects, any_of, one_of)


random_schemas = st.recursive(scalar_schemas, compound, max_leaves=10)


@settings(derandomize=True, database=None, max_examples=100, deadline=None)
@given(schema=random_schemas, seed=st.integers(0, 2**16), name=st.sampled_from([None, *NAMES]))
def test_random_schemas_yield_valid_values(schema: Any, seed: int, name: str | None) -> None:
    value = DataGenerator(seed=seed).generate(schema, name=name)
    assert_valid(value, schema)


# ----------------------------------------------------------------------------------------------
# realism
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def customers() -> list[dict[str, Any]]:
    gen = DataGenerator(seed=2024, optional_rate=1.0)
    return [gen.generate(ref("Customer"), root=SPEC) for _ in range(30)]


def test_customers_are_valid(customers: list[dict[str, Any]]) -> None:
    for customer in customers:
        assert_valid(customer, ref("Customer"), SPEC)


def test_emails_look_like_emails(customers: list[dict[str, Any]]) -> None:
    for customer in customers:
        assert re.fullmatch(r"[a-z0-9._%+-]+@example\.(com|org|net)", customer["email"])


def test_names_are_real_names(customers: list[dict[str, Any]]) -> None:
    for customer in customers:
        for key in ("first_name", "last_name"):
            assert customer[key].replace("'", "").replace("-", "").isalpha()
            assert customer[key][0].isupper()
    assert len({c["first_name"] for c in customers}) > 10


def test_phone_country_locale_timezone(customers: list[dict[str, Any]]) -> None:
    for customer in customers:
        assert re.fullmatch(r"\+[1-9]\d{8,13}", customer["phone_no"])
        assert re.fullmatch(r"[a-z]{2}", customer["country"])  # lower-case, like Tamio
        assert re.fullmatch(r"[a-z]{2}", customer["locale"])
        assert re.fullmatch(r"[+-]\d{2}:\d{2}", customer["timezone_offset"])


def test_the_persona_is_coherent(customers: list[dict[str, Any]]) -> None:
    calling = {"de": "+49", "us": "+1", "ca": "+1", "gb": "+44", "ie": "+353", "fr": "+33",
               "at": "+43", "ch": "+41", "es": "+34", "it": "+39", "nl": "+31", "pl": "+48",
               "pt": "+351", "se": "+46", "dk": "+45", "br": "+55", "ng": "+234", "in": "+91",
               "jp": "+81", "au": "+61"}
    for customer in customers:
        assert customer["phone_no"].startswith(calling[customer["country"]])
        first, last = customer["first_name"].lower(), customer["last_name"].lower()
        local = customer["email"].split("@")[0]
        assert first[0] in local and (last[:3] in local or first in local)


def test_ids_timestamps_and_tokens(customers: list[dict[str, Any]]) -> None:
    for customer in customers:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                            customer["uuid"])
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", customer["customer_id"])  # ULID-like
        assert 1_500_000_000 <= customer["created_at"] <= 1_900_000_000
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)",
                            customer["updated_at"])
        assert customer["device"]["device_type"] in ("ios", "android")
        assert re.fullmatch(r"[0-9a-f]{64}", customer["device"]["device_token"])
        assert re.fullmatch(r"[A-Z]{2}\d{9}", customer["vat_number"])
        assert customer["website"].startswith(("http://", "https://"))


def test_timestamps_of_one_record_are_in_order(customers: list[dict[str, Any]]) -> None:
    from datetime import datetime

    for customer in customers:
        updated = datetime.fromisoformat(customer["updated_at"]).timestamp()
        assert updated >= customer["created_at"]


def test_nested_records_belong_to_the_same_person() -> None:
    schema = {
        "type": "object",
        "required": ["first_name", "email", "billing", "billing_addresses"],
        "properties": {
            "first_name": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "billing": {"type": "object", "required": ["name"],
                        "properties": {"name": {"type": "string"}}},
            "billing_addresses": {
                "type": "array", "minItems": 2,
                "items": {"type": "object", "required": ["first_name"],
                          "properties": {"first_name": {"type": "string"}}},
            },
        },
    }
    value = DataGenerator(seed=8).generate(schema)
    assert value["billing"]["name"] == value["first_name"]
    assert value["billing_addresses"][0]["first_name"] == value["first_name"]
    people = DataGenerator(seed=8).generate({"type": "array", "minItems": 5, "items": schema})
    assert len({p["email"] for p in people}) == len(people)  # a list holds different people


def test_address_fields_are_realistic(customers: list[dict[str, Any]]) -> None:
    for customer in customers:
        address = customer["address"]
        assert re.search(r"\d", address["street"]) and re.search(r"[A-Za-z]{3}", address["street"])
        assert address["city"][0].isupper()
        assert re.fullmatch(r"[A-Za-z]{2}", address["country"])


def test_name_hints_are_case_and_style_insensitive() -> None:
    gen = DataGenerator(seed=9)
    for name in ("phoneNo", "PhoneNumber", "phone-number", "mobile"):
        assert re.fullmatch(r"\+\d{9,14}", gen.generate({"type": "string"}, name=name))
    for name in ("createdAt", "updated_at", "deletedAt"):
        assert 1_500_000_000 < gen.generate({"type": "integer"}, name=name) < 1_900_000_000
    assert 1_500_000_000_000 < gen.generate({"type": "integer"}, name="sentAtMs") < 2 * 10**12
    assert re.fullmatch(r"[+-]\d{2}:\d{2}", gen.generate({"type": "string"}, name="timezoneOffset"))
    assert re.fullmatch(r"[a-z]{2}", gen.generate({"type": "string"}, name="countryCode"))
    assert re.fullmatch(r"[A-Z]{3}", gen.generate({"type": "string"}, name="currency"))
    assert re.fullmatch(r"[\d.]+", gen.generate({"type": "string", "format": "ipv4"}, name="ip"))


def test_hints_yield_to_the_schema() -> None:
    gen = DataGenerator(seed=1)
    # an upper-case-only pattern gets an upper-case country code
    assert re.fullmatch(r"[A-Z]{2}", gen.generate({"type": "string", "pattern": "^[A-Z]{2}$"},
                                                  name="country"))
    # `id` with format uuid is a uuid, not a ULID
    assert re.fullmatch(r"[0-9a-f-]{36}", gen.generate({"type": "string", "format": "uuid"},
                                                       name="id"))
    # a pattern the realistic value cannot meet falls back to the regex
    stripe_like = {"type": "string", "pattern": r"^cus_[a-zA-Z0-9]{14}$"}
    value = gen.generate(stripe_like, name="customer_id")
    assert re.fullmatch(r"cus_[a-zA-Z0-9]{14}", value)
    # a too-short maxLength falls back to digits for a customer id
    assert gen.generate({"type": "string", "maxLength": 10}, name="customer_id").isdigit()
    # bounds win over a timestamp
    assert 0 <= gen.generate({"type": "integer", "maximum": 10}, name="created_at") <= 10


def test_locale_changes_the_names() -> None:
    german = DataGenerator(seed=3, locale="de_DE")
    names = {german.generate({"type": "string"}, name="city") for _ in range(20)}
    assert len(names) > 10
    with pytest.raises(ValueError):
        DataGenerator(locale="xx_XX")


def test_examples_are_used_for_plain_strings() -> None:
    schema = {"type": "string", "examples": ["Premium plan", "Basic plan"]}
    assert DataGenerator(seed=0).generate(schema, name="plan") in schema["examples"]


# ----------------------------------------------------------------------------------------------
# the realistic composite: refs, recursion, speed
# ----------------------------------------------------------------------------------------------


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def test_recursive_schemas_terminate_and_stay_valid() -> None:
    for seed in range(20):
        gen = DataGenerator(seed=seed)
        category = gen.generate(ref("Category"), root=SPEC)
        assert_valid(category, ref("Category"), SPEC)
        assert _depth(category) <= 12
        node = gen.generate(ref("LinkedNode"), root=SPEC)
        assert_valid(node, ref("LinkedNode"), SPEC)


def test_recursion_shows_nesting_before_stopping() -> None:
    category = DataGenerator(seed=1, optional_rate=1.0).generate(ref("Category"), root=SPEC)
    assert category["children"], "the first level of recursion is expanded"
    leaves = category["children"][0]["children"]
    assert all(leaf["children"] == [] and "parent" not in leaf for leaf in leaves)


def test_input_schema_is_not_mutated() -> None:
    before = copy.deepcopy(SPEC)
    DataGenerator(seed=1).generate(ref("CustomerList"), root=SPEC)
    assert before == SPEC


def test_three_customers_are_fast() -> None:
    gen = DataGenerator(seed=1)
    schema = {"type": "array", "minItems": 3, "maxItems": 3, "items": ref("Customer")}
    gen.generate(schema, root=SPEC)  # warm the faker pools
    batches = []
    for _ in range(5):  # best of 5 batches, in CPU time: robust to a busy machine
        start = time.process_time()
        for _ in range(20):
            gen.generate(schema, root=SPEC)
        batches.append((time.process_time() - start) / 20)
    assert min(batches) < 0.005, f"{min(batches) * 1000:.2f} ms per 3-customer array"


# ----------------------------------------------------------------------------------------------
# every value is checked by the engine's own validator (jsonschema-rs, compiled by validation.py)
# ----------------------------------------------------------------------------------------------


def test_a_candidate_the_engine_would_refuse_is_never_returned() -> None:
    # Python's `\w` takes "Jürgen"; the engine's ECMA-262 `\w` is ASCII only. A first name of a
    # German persona checked with Python's regex would pass here and fail the response check.
    schema = {"type": "object", "required": ["first_name"],
              "properties": {"first_name": {"type": "string", "pattern": r"^\w+$"}}}
    engine = compile_schema(schema, {})
    assert engine is not None
    names = DataGenerator(seed=1, locale="de_DE")
    naive = [names.generate({"type": "string"}, name="first_name") for _ in range(100)]
    refused = [n for n in naive
               if re.fullmatch(r"\w+", n) and not engine.is_valid({"first_name": n})]
    assert refused, "the persona's names include some only Python's \\w takes"
    gen = DataGenerator(seed=1, locale="de_DE")
    bodies = [gen.generate(schema) for _ in range(100)]
    assert [b for b in bodies if not engine.is_valid(b)] == []


def test_an_example_the_engine_would_refuse_is_never_returned() -> None:
    # Python's `$` also matches before a final newline, ECMA-262's does not
    schema = {"type": "string", "pattern": "^ok$", "examples": ["ok\n"]}
    assert re.search(schema["pattern"], "ok\n")
    assert {DataGenerator(seed=s).generate(schema) for s in range(5)} == {"ok"}


def test_the_whole_value_is_checked_as_the_engine_reads_the_document() -> None:
    # `nullable` is OpenAPI 3.0: in a 3.1 document the engine's validator refuses null there,
    # so the generator tries again; in a 3.0 document (or a bare schema) null is valid.
    def document(version: str) -> dict[str, Any]:
        return {"openapi": version, "components": {"schemas": {
            "Note": {"type": "string", "nullable": True}}}}

    note = ref("Note")
    for version, null_seen in (("3.1.0", False), ("3.0.3", True)):
        root = document(version)
        values = [DataGenerator(seed=s, null_rate=0.3).generate(note, root=root)
                  for s in range(40)]
        assert (None in values) is null_seen
        assert all(v is None or isinstance(v, str) for v in values)
    with pytest.raises(GenerationError, match="passed the schema's validation"):
        DataGenerator(seed=0, null_rate=1.0).generate(note, root=document("3.1.0"))
