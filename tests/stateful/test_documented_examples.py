"""Every example a bundled spec shows is a request the served mock accepts.

The test walks each spec in ``specs/`` (whatever it holds) and sends, over HTTP to the plugin's
live server: each parameter example, each request body example, and each value a documented
answer hands out for a query parameter of the same operation (a ``next_page_cursor`` for
``cursor``). Required parameters take their examples; credentials match the spec's security
schemes. "Accepted" means the mock found nothing wrong with the request: the journal entry of the
operation has no violations and the answer is not a refusal of the request itself (400 for
malformed JSON, 401, 413, 415). A business outcome (a duplicate, an unknown id) is fine.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import requests

from mockserver.openapi.loader import bundled_spec_paths, read_document, resolve
from mockserver.testing import MockServer

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REFUSALS = {401, 413, 415}


@dataclass
class Sent:
    """One request made of documented examples, and where each example came from."""

    api: str
    operation_id: str
    method: str
    path: str
    what: str  # e.g. "requestBody example 'curl'"
    query: dict[str, str | list[str]] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False

    def __str__(self) -> str:
        return f"{self.api}.{self.operation_id}: {self.what}"


def named_examples(
    holder: dict[str, Any], document: dict[str, Any], file: str
) -> Iterator[tuple[str, Any]]:
    """The ``example`` and every named ``examples`` value of a parameter or media type."""
    if "example" in holder:
        yield "example", holder["example"]
    for name, example in (holder.get("examples") or {}).items():
        resolved = resolve(example, document, file, f"examples/{name}")
        if isinstance(resolved, dict) and "value" in resolved:
            yield name, resolved["value"]


def example_values(holder: dict[str, Any], document: dict[str, Any], file: str) -> Iterator[Any]:
    for _, value in named_examples(holder, document, file):
        yield value


def first_value(parameter: dict[str, Any], document: dict[str, Any], file: str) -> Any:
    """A documented value for a parameter: its example, or its schema's example or default."""
    for value in example_values(parameter, document, file):
        return value
    schema = parameter.get("schema") or {}
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    raise AssertionError(
        f"{file}: required parameter {parameter['name']!r} has no example to send; add one"
    )


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(as_text(v) for v in value)
    return str(value)


def as_query(parameter: dict[str, Any], value: Any) -> str | list[str]:
    """A query value as the parameter's style sends it: an exploded array repeats the name."""
    exploded = parameter.get("explode", parameter.get("style", "form") == "form")
    if isinstance(value, list) and exploded:
        return [as_text(v) for v in value]
    return as_text(value)


def strings_under(node: Any, wanted: str) -> Iterator[str]:
    """String values of keys whose name contains ``wanted`` (``next_page_cursor``: ``cursor``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if wanted in str(key) and isinstance(value, str):
                yield value
            yield from strings_under(value, wanted)
    elif isinstance(node, list):
        for item in node:
            yield from strings_under(item, wanted)


def requests_of(document: dict[str, Any], file: str, api: str) -> Iterator[Sent]:
    """Every request the spec's examples make."""
    for path, item in (document.get("paths") or {}).items():
        shared = item.get("parameters") or []
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            at = f"paths/{path}/{method}"
            params = [
                resolve(p, document, file, f"{at}/parameters")
                for p in [*shared, *(op.get("parameters") or [])]
            ]
            required = {
                p["name"]: first_value(p, document, file)
                for p in params
                if p.get("required") and p["in"] in ("path", "query")
            }
            target = path
            for name, value in required.items():
                target = target.replace("{" + name + "}", quote(as_text(value), safe=""))
            query = {p["name"]: as_query(p, required[p["name"]]) for p in params
                     if p["in"] == "query" and p["name"] in required}
            body = resolve(op.get("requestBody") or {}, document, file, f"{at}/requestBody")
            media = (body.get("content") or {}).get("application/json")
            base_body = next(example_values(media, document, file), None) if media else None
            has_body = media is not None and base_body is not None
            base = Sent(api, op.get("operationId", at), method.upper(), target, "", query,
                        base_body, has_body)

            def variant(what: str, base: Sent = base, **changes: Any) -> Sent:
                fields = {**base.__dict__, "what": what, **changes}
                fields["query"] = {**base.query, **changes.get("query", {})}
                return Sent(**fields)

            if media is None or body.get("required") is not True or has_body:
                yield variant("required parameters' examples")
            for p in params:
                if p["in"] != "query":
                    continue
                for name, value in named_examples(p, document, file):
                    shown = {p["name"]: as_query(p, value)}
                    yield variant(f"query {p['name']} {name}", query=shown)
            if media is not None:
                for name, value in named_examples(media, document, file):
                    yield variant(f"request body {name}", body=value, has_body=True)
            for status, response in (op.get("responses") or {}).items():
                response = resolve(response, document, file, f"{at}/responses/{status}")
                answer = (response.get("content") or {}).get("application/json") or {}
                for shown in example_values(answer, document, file):
                    for p in params:
                        if p["in"] == "query":
                            for value in strings_under(shown, p["name"]):
                                yield variant(f"{p['name']} {value!r} from a {status} example",
                                              query={p["name"]: value})


def credentials(document: dict[str, Any]) -> dict[str, str]:
    """Headers (and none for query or cookie keys) that satisfy the spec's security schemes."""
    pattern = re.compile(str((document.get("x-mock") or {}).get("credential-pattern", ".+")))
    value = next(c for c in ("sk_test_examples", "examples-token") if pattern.search(c))
    headers: dict[str, str] = {}
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    for scheme in schemes.values():
        kind, http = scheme.get("type"), str(scheme.get("scheme", "")).lower()
        if kind == "apiKey" and scheme.get("in") == "header":
            headers[scheme["name"]] = value
        elif kind == "http" and http == "bearer":
            headers["Authorization"] = f"Bearer {value}"
        elif kind == "http" and http == "basic":
            pair = base64.b64encode(f"{value}:{value}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
    return headers


def cases() -> Iterator[tuple[str, dict[str, str], Sent]]:
    for path in bundled_spec_paths():
        document = read_document(path)
        api = str((document.get("x-mock") or {}).get("name", path.stem))
        auth = credentials(document)
        for sent in requests_of(document, str(path), api):
            yield api, auth, sent


CASES = list(cases())


def test_every_bundled_spec_shows_examples() -> None:
    apis = {api for api, _, _ in CASES}
    assert {"bunce", "tamio"} <= apis
    whats = {sent.what for _, _, sent in CASES}
    assert any(w.startswith("request body ") for w in whats)
    assert any(w.startswith("cursor ") for w in whats)  # a cursor taken from a documented answer


@pytest.mark.parametrize(("api", "auth", "sent"), CASES, ids=[str(c[2]) for c in CASES])
def test_the_served_mock_accepts_every_documented_example(
    mockserver: MockServer, api: str, auth: dict[str, str], sent: Sent
) -> None:
    headers = {**auth, **({"Content-Type": "application/json"} if sent.has_body else {})}
    answer = requests.request(
        sent.method,
        mockserver.base_url(api) + sent.path,
        params=sent.query,
        data=json.dumps(sent.body).encode() if sent.has_body else None,
        headers=headers,
        timeout=30,
    )
    [entry] = mockserver.requests(api=api)[-1:]
    assert entry["operation_id"] == sent.operation_id, entry
    assert not entry.get("violations"), (answer.status_code, entry["violations"])
    assert answer.status_code < 500, answer.text
    assert answer.status_code not in REFUSALS, answer.text
    assert "malformed" not in str(entry.get("error", "")), entry["error"]
