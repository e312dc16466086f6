"""Answers as the spec documents them, over real HTTP: the media type negotiated from Accept,
each type serialised as itself (text as text, XML from the schema's xml hints), documented
statuses only, and refusals in the documented error shape carrying the message."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
import requests

from mockserver.testing import ServeProcess

from .serving import SPECS

pytestmark = pytest.mark.slow


SERVE_ARGS = ["--spec", str(SPECS / "answers.yaml")]


def url(server: ServeProcess, path: str) -> str:
    return f"{server.url}/answers/v1{path}"


@pytest.mark.parametrize(
    ("path", "media", "text"),
    [("/ping", "text/plain", "pong"), ("/page", "text/html", "<h1>Hi</h1>")],
)
def test_a_text_example_is_sent_as_text(
    server: ServeProcess, path: str, media: str, text: str
) -> None:
    answer = requests.get(url(server, path), timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == media
    assert answer.text == text


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/xml", "application/xml"),
        ("application/vnd.api+json", "application/vnd.api+json"),
        ("application/xml;q=0.5, application/vnd.api+json", "application/vnd.api+json"),
        ("text/html, application/*;q=0.2", "application/json"),
        ("application/json;q=0, application/xml;q=0.1", "application/xml"),
    ],
)
def test_the_media_type_is_negotiated_from_accept(
    server: ServeProcess, accept: str | None, media: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    answer = requests.get(url(server, "/pets/1"), headers=headers, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == media


def test_xml_is_written_from_the_example_with_the_schemas_xml_hints(server: ServeProcess) -> None:
    answer = requests.get(url(server, "/pets/1"), headers={"Accept": "application/xml"}, timeout=10)
    root = ElementTree.fromstring(answer.content)
    assert root.tag == "pet" and root.get("id") == "1"
    assert root.findtext("name") == "doggie"
    assert [t.text for t in root.findall("tags/tag")] == ["good"]


def test_xml_without_an_example_is_generated_from_the_schema(server: ServeProcess) -> None:
    created = requests.post(
        url(server, "/pets"),
        json={"id": 5, "name": "rex"},
        headers={"Authorization": "Bearer t"},
        timeout=10,
    )
    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/xml"
    root = ElementTree.fromstring(created.content)
    assert root.tag == "pet" and int(root.get("id") or "x") >= 0 and root.findtext("name")


def test_bad_input_answers_the_documented_4xx_in_its_shape(server: ServeProcess) -> None:
    answer = requests.get(url(server, "/pets/0"), timeout=10)
    assert answer.status_code == 422  # the operation documents 422, not 400
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert body["message"] == "id: 0 is less than the minimum of 1"
    assert isinstance(body["code"], int)


def test_a_4xx_range_answers_when_the_status_is_not_documented(server: ServeProcess) -> None:
    answer = requests.post(
        url(server, "/pets"), json={"id": 5}, headers={"Authorization": "Bearer t"}, timeout=10
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == "name: is required"


def test_401_uses_the_documented_body_and_sends_a_challenge(server: ServeProcess) -> None:
    answer = requests.post(url(server, "/pets"), json={"id": 5, "name": "rex"}, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="answers"'
    assert answer.json() == {
        "code": 401,
        "message": "Missing Authorization header; send 'Authorization: Bearer <your API key>'",
    }


def test_an_operation_without_2xx_answers_its_documented_status(server: ServeProcess) -> None:
    answer = requests.get(url(server, "/redirect"), allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert answer.headers["Location"]


def test_default_answers_both_success_and_bad_input(server: ServeProcess) -> None:
    ok = requests.get(url(server, "/fallback"), timeout=10)
    assert ok.status_code == 200
    refused = requests.get(url(server, "/fallback?n=x"), timeout=10)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "n: 'x' is not of type integer"


def test_problem_json_only_where_nothing_is_documented(server: ServeProcess) -> None:
    answer = requests.get(url(server, "/ping"), headers={"Prefer": "code=500"}, timeout=10)
    assert answer.status_code == 400  # Prefer asked for an undocumented status: refused
    assert answer.headers["Content-Type"] == "application/problem+json"
