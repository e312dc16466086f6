"""Request bodies read by their documented media type, over real HTTP: form fields typed by the
schema and its encoding rules, multipart fields and files, text, binary and XML as documented,
DELETE bodies, and 415 only for a type the operation does not document."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from mockserver.testing import ServeProcess

from .serving import SPECS

pytestmark = pytest.mark.slow


SERVE_ARGS = ["--spec", str(SPECS / "bodies.yaml")]


def last_body(server: ServeProcess) -> Any:
    journal = requests.get(server.url + "/__mock/requests", timeout=10).json()["requests"]
    return journal[-1]["body"]


def test_a_form_body_is_typed_by_its_schema_and_encoding(server: ServeProcess) -> None:
    form = [
        ("To", "+15551234567"),
        ("Body", "Hello"),
        ("MaxPrice", "0.75"),
        ("Attempts", "3"),
        ("ProvideFeedback", "true"),
        ("MediaUrl", "https://example.com/a.png"),
        ("MediaUrl", "https://example.com/b.png"),
        ("Tags", "red|green"),
        ("Address[city]", "Paris"),
        ("Address[zip]", "01234"),
        ("Meta", '{"priority": 2}'),
    ]
    answer = requests.post(server.url + "/bodies/messages", data=form, timeout=10)
    assert answer.status_code == 201, answer.text
    assert last_body(server) == {
        "To": "+15551234567",
        "Body": "Hello",
        "MaxPrice": 0.75,
        "Attempts": 3,
        "ProvideFeedback": True,
        "MediaUrl": ["https://example.com/a.png", "https://example.com/b.png"],
        "Tags": ["red", "green"],
        "Address": {"city": "Paris", "zip": "01234"},
        "Meta": {"priority": 2},
    }


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"Body": "Hi"}, "To: is required"),
        ({"To": "555", "Body": "Hi"}, "To: '555' does not match"),
        (
            {"To": "+1", "Body": "Hi", "Attempts": "three"},
            "Attempts: 'three' is not of type integer",
        ),
        ({"To": "+1", "Body": "Hi", "Attempts": "2147483648"}, "Attempts: 2147483648 is greater"),
        ({"To": "+1", "Body": "x" * 161}, "Body: is longer than 160 characters"),
    ],
)
def test_an_invalid_form_field_is_refused_naming_it(
    server: ServeProcess, form: dict[str, str], field: str
) -> None:
    answer = requests.post(server.url + "/bodies/messages", data=form, timeout=10)
    assert answer.status_code == 400
    assert field in answer.text, answer.text


def test_a_multipart_upload_carries_fields_and_files(server: ServeProcess) -> None:
    answer = requests.post(
        server.url + "/bodies/files",
        files={
            "file": ("photo.png", b"\x89PNG\r\n\x1a\n\x00\xff", "image/png"),
            "purpose": (None, "avatar"),
            "copies": (None, "2"),
            "attributes": (None, '{"name": "me"}', "application/json"),
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    body = last_body(server)
    assert body["purpose"] == "avatar" and body["copies"] == 2
    assert body["attributes"] == {"name": "me"}
    assert body["file"].encode("latin-1") == b"\x89PNG\r\n\x1a\n\x00\xff"


def test_an_invalid_multipart_upload_is_refused_naming_the_part(server: ServeProcess) -> None:
    missing = requests.post(
        server.url + "/bodies/files", files={"purpose": (None, "avatar")}, timeout=10
    )
    assert missing.status_code == 400 and "file: is required" in missing.text
    too_big = requests.post(
        server.url + "/bodies/files",
        files={"file": ("big.bin", b"x" * 1001), "purpose": (None, "poster")},
        timeout=10,
    )
    assert too_big.status_code == 400
    fields = {e["field"]: e["problem"] for e in too_big.json()["errors"]}
    assert fields["file"] == "is longer than 1000 characters"
    assert fields["purpose"] == "'poster' is not one of 'avatar', 'document'"
    broken = requests.post(
        server.url + "/bodies/files",
        data=b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nb',
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        timeout=10,
    )
    assert broken.status_code == 400 and "malformed multipart body" in broken.text


def test_a_text_body_is_read_as_text_and_checked(server: ServeProcess) -> None:
    saved = requests.put(
        server.url + "/bodies/notes",
        data="buy milk",
        headers={"Content-Type": "text/plain; charset=utf-8"},
        timeout=10,
    )
    assert saved.status_code == 204
    assert last_body(server) == "buy milk"
    long = requests.put(
        server.url + "/bodies/notes",
        data="x" * 21,
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert long.status_code == 400 and "is longer than 20 characters" in long.text


@pytest.mark.parametrize("content_type", ["application/octet-stream", "image/png"])
def test_a_binary_body_is_accepted_as_documented(server: ServeProcess, content_type: str) -> None:
    answer = requests.put(
        server.url + "/bodies/blobs",
        data=b"\x00\x01\xfe\xff",
        headers={"Content-Type": content_type},
        timeout=10,
    )
    assert answer.status_code == 204, answer.text


def test_an_xml_body_is_accepted_when_documented_and_must_be_well_formed(
    server: ServeProcess,
) -> None:
    xml = {"Content-Type": "application/xml"}
    ok = requests.post(
        server.url + "/bodies/pets", data="<Pet><name>doggie</name></Pet>", headers=xml, timeout=10
    )
    assert ok.status_code == 200, ok.text
    broken = requests.post(server.url + "/bodies/pets", data="<Pet><name>", headers=xml, timeout=10)
    assert broken.status_code == 400 and "malformed XML" in broken.text


def test_an_undocumented_type_is_415_naming_the_documented_ones(server: ServeProcess) -> None:
    answer = requests.post(
        server.url + "/bodies/pets",
        data="name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert answer.status_code == 415
    assert "application/json or application/xml" in answer.json()["detail"]
    blob = requests.put(
        server.url + "/bodies/blobs", data="x", headers={"Content-Type": "text/plain"}, timeout=10
    )
    assert blob.status_code == 415


def test_a_delete_body_is_read_and_validated(server: ServeProcess) -> None:
    removed = requests.delete(server.url + "/bodies/library", json={"ids": ["a", "b"]}, timeout=10)
    assert removed.status_code == 200, removed.text
    refused = requests.delete(
        server.url + "/bodies/library", json={"ids": ["a", "b", "c"]}, timeout=10
    )
    assert refused.status_code == 400 and "ids: has 3 items, at most 2" in refused.text


def test_an_empty_text_body_is_the_empty_text(server: ServeProcess) -> None:
    saved = requests.put(
        server.url + "/bodies/notes", data=b"", headers={"Content-Type": "text/plain"}, timeout=10
    )
    assert saved.status_code == 204, saved.text
    assert last_body(server) == ""


def test_an_xml_body_is_read_by_its_schema_and_validated(server: ServeProcess) -> None:
    xml = {"Content-Type": "application/xml"}
    pet = "<Pet><id>7</id><name>doggie</name><colour>brown</colour></Pet>"
    added = requests.post(server.url + "/bodies/pets", data=pet, headers=xml, timeout=10)
    assert added.status_code == 200, added.text
    assert last_body(server) == {"id": 7, "name": "doggie", "colour": "brown"}
    for body, problem in [
        ("<Pet><id>seven</id><name>x</name></Pet>", "id: 'seven' is not of type integer"),
        ("<Pet><id>1</id></Pet>", "name: is required"),
        ("<Pet>doggie</Pet>", "body: 'doggie' is not of type object"),
        (
            "<Pet><name>a</name><name>b</name></Pet>",
            "name: an array of 2 items is not of type string",
        ),
    ]:
        refused = requests.post(server.url + "/bodies/pets", data=body, headers=xml, timeout=10)
        assert refused.status_code == 400, refused.text
        assert refused.json()["detail"].startswith(problem), refused.json()


def test_a_form_integer_beyond_64_bits_is_refused_not_a_server_error(server: ServeProcess) -> None:
    form = {"To": "+1", "Body": "x", "Attempts": "39404608739137626112"}
    answer = requests.post(server.url + "/bodies/messages", data=form, timeout=10)
    assert answer.status_code == 400, answer.text
    assert "Attempts: 3.940460873913763e+19 is greater than the maximum" in answer.text


def test_a_required_array_sent_as_no_field_is_the_empty_array(server: ServeProcess) -> None:
    answer = requests.post(server.url + "/bodies/lists", data={"name": "empty"}, timeout=10)
    assert answer.status_code == 201, answer.text
    assert last_body(server) == {"name": "empty", "ids": []}


def test_a_multipart_part_named_with_the_empty_string_is_a_property(server: ServeProcess) -> None:
    answer = requests.post(
        server.url + "/bodies/files",
        files={"file": ("a.txt", b"abc"), "purpose": (None, "avatar"), "": (None, "extra")},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    assert last_body(server)[""] == "extra"
