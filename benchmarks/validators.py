"""Which JSON Schema validator (and JSON parser) for the hot path: measured, not guessed.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/validators.py

Validates a valid 500-customer bulk body of each bundled API against the spec's own request
schema with jsonschema (pure Python), fastjsonschema (generated Python code) and jsonschema-rs
(compiled Rust), all with format checking on, and parses the body with the standard library and
with orjson. Prints the median time per call; each validator must accept the valid body and reject
an invalid one, so a validator that checks nothing cannot win.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from mockserver.openapi.loader import bundled_spec_dir, load_spec


def body(api: str, count: int = 500) -> dict[str, Any]:
    if api == "bunce":
        return {
            "customers": [
                {
                    "customer_id": f"c-{i}",
                    "first_name": "John",
                    "last_name": "Doe",
                    "email": f"john.doe.{i}@example.com",
                    "phone_no": "+23481999999999",
                    "devices": [{"device_type": "ios", "device_token": "123456"}]
                    if i % 3 == 0
                    else None,
                }
                for i in range(count)
            ]
        }
    return {
        "customers": [
            {
                "name": "John",
                "last_name": "Doe",
                "email": f"john.doe.{i}@example.com",
                "country": "de",
                "locale": "en",
                "timezone_offset": "+02:00",
                "phone": "+49 30 1234567",
                "billing_information": {
                    "name": "Acme GmbH",
                    "country": "de",
                    "address": "Street 1",
                    "city": "Berlin",
                    "vat": "DE123456789",
                    "is_company": True,
                },
            }
            for i in range(count)
        ]
    }


def median_ms(function: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def validators(schema: dict[str, Any]) -> dict[str, Callable[[Any], bool]]:
    import jsonschema
    import jsonschema_rs

    found: dict[str, Callable[[Any], bool]] = {}
    plain = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    found["jsonschema (pure Python)"] = plain.is_valid
    try:
        import fastjsonschema

        compiled = fastjsonschema.compile(
            {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}
        )

        def fast(instance: Any) -> bool:
            try:
                compiled(instance)
            except fastjsonschema.JsonSchemaException:
                return False
            return True

        found["fastjsonschema (generated code)"] = fast
    except ImportError:
        print("fastjsonschema is not installed: pip install -e '.[bench]'")
    rust = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    found["jsonschema-rs (compiled, chosen)"] = rust.is_valid
    return found


def main() -> None:
    for api in ("bunce", "tamio"):
        spec = load_spec(bundled_spec_dir() / f"{api}.yaml")
        op = spec.operation("createCustomersBulk" if api == "bunce" else "bulkCreateCustomers")
        assert op is not None
        request_schema = op.body_content["application/json"].schema
        assert request_schema is not None
        schema = {**request_schema, "components": spec.document["components"]}
        valid = body(api)
        invalid = body(api)
        invalid["customers"][250]["email"] = "not-an-email"
        raw = orjson.dumps(valid)
        print(f"\n{api}: 500 customers, {len(raw) / 1024:.0f} KiB")
        print(f"  {'json.loads (stdlib)':34} {median_ms(lambda r=raw: json.loads(r), 50):8.3f} ms")
        print(
            f"  {'orjson.loads (chosen)':34} {median_ms(lambda r=raw: orjson.loads(r), 50):8.3f} ms"
        )
        for name, is_valid in validators(schema).items():
            assert is_valid(valid), f"{name} rejects a valid body"
            assert not is_valid(invalid), f"{name} accepts an invalid email"
            repeat = 5 if name.startswith("jsonschema (") else 50
            print(f"  {name:34} {median_ms(lambda v=is_valid, b=valid: v(b), repeat):8.3f} ms")


if __name__ == "__main__":
    main()
