"""Bunce bulk create over real HTTP: the documented bodies, duplicates, and account isolation."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime

from mockserver.testing import MockServer

from .helpers import Bunce, bunce_customer

ISO_MICROS_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2}$")
DEVICES = [
    {"device_type": "ios", "device_token": "123456"},
    {"device_type": "android", "device_token": "654321"},
]


def assert_uuid7(value: str) -> None:
    parsed = uuid.UUID(value)
    assert str(parsed) == value, f"{value!r} is not a canonical UUID"
    assert parsed.version == 7, f"{value} has version nibble {value[14]}, expected 7"
    assert parsed.variant == uuid.RFC_4122, f"{value} has variant {parsed.variant}"


# -- 1. the documented outcomes -------------------------------------------------------------------
def test_documented_partial_failure_body_and_the_others_are_created(bunce: Bunce) -> None:
    assert bunce.create(bunce_customer("0000", "johndoe@example.com")).status_code == 201

    response = bunce.bulk(
        bunce_customer("1111", "johndoe2@example.com"),
        bunce_customer("2222", "johndoe@example.com"),
        bunce_customer("3333", "johndoe3@example.com", devices=DEVICES),
    )

    assert response.status_code == 409
    assert response.json() == {
        "errors": ["johndoe@example.com is already taken"],
        "message": "Errors encountered while creating. 1 out of 3 customers failed",
        "status": False,
    }
    # The two good items were created and read back from the same store.
    assert bunce.get("1111").json()["data"]["email"] == "johndoe2@example.com"
    third = bunce.get("3333").json()["data"]
    assert [d["device_token"] for d in third["devices"]] == ["123456", "654321"]
    missing = bunce.get("2222")
    assert missing.status_code == 404
    assert missing.json()["success"] is False
    assert bunce.emails() == ["johndoe@example.com", "johndoe2@example.com", "johndoe3@example.com"]


def test_documented_success_body(bunce: Bunce) -> None:
    sent = [
        bunce_customer("0000", "johndoe@example.com"),
        bunce_customer("1111", "johndoe2@example.com", devices=None),
        bunce_customer("2222", "johndoe3@example.com", devices=DEVICES),
    ]

    response = bunce.bulk(*sent)

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Customers created successfully"
    assert body["success"] is True
    assert list(body) == ["data", "message", "success"]
    data = body["data"]
    assert [c["customer_id"] for c in data] == ["0000", "1111", "2222"]
    for item, created in zip(sent, data, strict=True):
        for field in ("customer_id", "first_name", "last_name", "email", "phone_no"):
            assert created[field] == item[field]
        stamp = created["customer_created_at"]
        assert ISO_MICROS_WITH_OFFSET.match(stamp), stamp
        assert datetime.fromisoformat(stamp).utcoffset() is not None
    assert "devices" not in data[0] and "devices" not in data[1]
    devices = data[2]["devices"]
    assert [(d["device_type"], d["device_token"]) for d in devices] == [
        ("ios", "123456"),
        ("android", "654321"),
    ]
    for device in devices:
        assert_uuid7(device["device_id"])
    assert devices[0]["device_id"] != devices[1]["device_id"]
    # What the bulk answered is what is stored.
    assert bunce.get("2222").json()["data"] == data[2]


# -- 2. duplicates and isolation ------------------------------------------------------------------
def test_duplicate_inside_the_batch_fails_the_second_occurrence(bunce: Bunce) -> None:
    response = bunce.bulk(
        bunce_customer("1", "first@example.com"),
        bunce_customer("2", "other@example.com"),
        bunce_customer("3", "first@example.com"),
    )

    assert response.status_code == 409
    assert response.json() == {
        "errors": ["first@example.com is already taken"],
        "message": "Errors encountered while creating. 1 out of 3 customers failed",
        "status": False,
    }
    assert bunce.get("1").status_code == 200
    assert bunce.get("3").status_code == 404
    assert bunce.emails() == ["first@example.com", "other@example.com"]


def test_email_comparison_ignores_letter_case(bunce: Bunce) -> None:
    assert bunce.bulk(bunce_customer("1", "johndoe@example.com")).status_code == 200

    response = bunce.bulk(
        bunce_customer("2", "JohnDoe@Example.com"), bunce_customer("3", "new@example.com")
    )

    assert response.status_code == 409
    assert response.json()["errors"] == ["JohnDoe@Example.com is already taken"]
    assert (
        response.json()["message"]
        == "Errors encountered while creating. 1 out of 2 customers failed"
    )
    assert bunce.emails() == ["johndoe@example.com", "new@example.com"]


def test_letter_case_duplicates_inside_one_batch(bunce: Bunce) -> None:
    response = bunce.bulk(
        bunce_customer("1", "Ann@Example.com"), bunce_customer("2", "ann@example.COM")
    )

    assert response.status_code == 409
    assert response.json()["errors"] == ["ann@example.COM is already taken"]
    assert bunce.emails() == ["Ann@Example.com"]


def test_a_repeated_customer_id_fails_the_same_way(bunce: Bunce) -> None:
    assert bunce.bulk(bunce_customer("0000", "stored@example.com")).status_code == 200

    response = bunce.bulk(
        bunce_customer("0000", "new@example.com"),  # taken by the stored customer
        bunce_customer("1111", "a@example.com"),
        bunce_customer("1111", "b@example.com"),  # repeats an earlier item of the batch
    )

    assert response.status_code == 409
    assert response.json() == {
        "errors": ["0000 is already taken", "1111 is already taken"],
        "message": "Errors encountered while creating. 2 out of 3 customers failed",
        "status": False,
    }
    assert bunce.get("0000").json()["data"]["email"] == "stored@example.com"
    assert bunce.get("1111").json()["data"]["email"] == "a@example.com"
    assert bunce.emails() == ["stored@example.com", "a@example.com"]


def test_every_key_is_its_own_account(mockserver: MockServer) -> None:
    base = mockserver.base_url("bunce")
    account_a, account_b = Bunce(base, "sk_test_a"), Bunce(base, "sk_test_b")

    assert account_a.bulk(bunce_customer("1", "same@example.com")).status_code == 200
    assert account_b.bulk(bunce_customer("1", "same@example.com")).status_code == 200
    assert account_a.bulk(bunce_customer("2", "only-a@example.com")).status_code == 200

    assert account_b.get("2").status_code == 404
    assert account_a.get("2").status_code == 200
    assert account_b.emails() == ["same@example.com"]
    assert mockserver.customers("bunce", "sk_test_a")[1]["email"] == "only-a@example.com"


def test_live_and_test_keys_never_share_data(mockserver: MockServer) -> None:
    base = mockserver.base_url("bunce")
    live, test = Bunce(base, "sk_live_x"), Bunce(base, "sk_test_x")

    assert live.bulk(bunce_customer("1", "johndoe@example.com")).status_code == 200

    assert test.get("1").status_code == 404
    assert test.emails() == []
    assert test.bulk(bunce_customer("1", "johndoe@example.com")).status_code == 200


def test_a_schema_invalid_bulk_creates_nothing(bunce: Bunce, mockserver: MockServer) -> None:
    valid = bunce_customer("1", "valid@example.com")
    invalid = bunce_customer("2", "not-an-email", phone_no="")

    response = bunce.bulk(valid, invalid)

    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False
    assert body["errors"] == [
        "customers[1].email: 'not-an-email' is not a valid email",
        "customers[1].phone_no: '' is shorter than 1 characters",
    ]
    assert bunce.get("1").status_code == 404
    assert bunce.emails() == []
    assert mockserver.customers("bunce", "sk_test_stateful") == []


def test_unknown_customer_is_404_in_bunces_envelope(bunce: Bunce) -> None:
    response = bunce.get("nobody")

    assert response.status_code == 404
    assert response.json()["success"] is False
    assert "nobody" in response.json()["message"]


def test_the_mock_assigns_creation_times_and_device_ids(bunce: Bunce) -> None:
    sent = bunce_customer(
        "1",
        "ann@example.com",
        customer_created_at="yesterday",
        devices=[{"device_type": "ios", "device_token": "1", "device_id": "mine"}],
    )

    response = bunce.bulk(sent)

    assert response.status_code == 200
    (created,) = response.json()["data"]
    assert ISO_MICROS_WITH_OFFSET.match(created["customer_created_at"])
    assert_uuid7(created["devices"][0]["device_id"])
    assert bunce.list().status_code == 200  # the stored customer still answers within the spec


def test_a_cursor_the_mock_never_issued_is_refused(bunce: Bunce) -> None:
    huge = base64.urlsafe_b64encode(b'{"seq":' + b"9" * 40 + b',"dir":"next"}').decode()

    response = bunce.list(cursor=huge)

    assert response.status_code == 422
    assert response.json()["message"].startswith("cursor:")


def test_single_create_shares_the_duplicate_rules_with_bulk(bunce: Bunce) -> None:
    created = bunce.create(bunce_customer("1", "ann@example.com"))

    same_email = bunce.create(bunce_customer("2", "ANN@example.com"))
    same_id = bunce.create(bunce_customer("1", "other@example.com"))
    in_bulk = bunce.bulk(bunce_customer("3", "Ann@Example.com"))

    assert created.status_code == 201
    assert created.json()["data"]["email"] == "ann@example.com"
    assert (same_email.status_code, same_email.json()) == (
        409,
        {"success": False, "message": "ANN@example.com is already taken"},
    )
    assert same_id.status_code == 409
    assert same_id.json()["message"] == "1 is already taken"
    assert in_bulk.json()["errors"] == ["Ann@Example.com is already taken"]
    assert bunce.emails() == ["ann@example.com"]


# -- B2: email or customer_id, and a bare array body -----------------------------------------------
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def without(item: dict[str, object], *keys: str) -> dict[str, object]:
    return {k: v for k, v in item.items() if k not in keys}


def test_an_item_without_customer_id_gets_a_ulid_it_can_be_fetched_by(bunce: Bunce) -> None:
    # The documented Go and node-fetch samples: the second customer has no customer_id.
    response = bunce.bulk(
        bunce_customer("t6yygythh", "johndoe21@example.com"),
        without(bunce_customer("-", "johndoe22@example.com"), "customer_id"),
    )

    assert response.status_code == 200, response.text
    first, second = response.json()["data"]
    assert first["customer_id"] == "t6yygythh"
    assert ULID.match(second["customer_id"]), second["customer_id"]
    assert bunce.get(second["customer_id"]).json()["data"] == second


def test_an_item_without_email_has_a_null_email_and_its_id_stays_unique(bunce: Bunce) -> None:
    id_only = without(bunce_customer("1001", "-"), "email")

    created = bunce.bulk(id_only, without(bunce_customer("1002", "-"), "email"))
    again = bunce.bulk(id_only)

    assert created.status_code == 200, created.text
    assert [c["email"] for c in created.json()["data"]] == [None, None]
    assert again.status_code == 409
    assert again.json()["errors"] == ["1001 is already taken"]


def test_an_item_with_neither_email_nor_customer_id_is_422(bunce: Bunce) -> None:
    neither = without(bunce_customer("-", "-"), "email", "customer_id")

    response = bunce.bulk(bunce_customer("1", "a@example.com"), neither)

    assert response.status_code == 422
    assert response.json() == {
        "success": False,
        "message": "customers[1]: needs email or customer_id",
        "errors": ["customers[1]: needs email or customer_id"],
    }
    assert bunce.emails() == []


def test_a_bare_array_body_follows_the_same_rules_and_answers(bunce: Bunce) -> None:
    url = f"{bunce.base_url}/customers/bulk"
    # The Go SDK's BulkCreate: a bare array, no customer_id.
    go_sdk_body = [
        {"first_name": "Ada", "last_name": "Obi", "email": "ada@example.com", "phone_no": "+1"},
        without(bunce_customer("-", "bo@example.com"), "customer_id"),
    ]

    created = bunce.session.post(url, json=go_sdk_body)
    repeated = bunce.session.post(url, json=[bunce_customer("7", "ADA@example.com")])
    invalid = bunce.session.post(url, json=[bunce_customer("8", "c@example.com", phone_no="")])
    empty = bunce.session.post(url, json=[])

    assert created.status_code == 200, created.text
    assert created.json()["message"] == "Customers created successfully"
    assert [c["email"] for c in created.json()["data"]] == ["ada@example.com", "bo@example.com"]
    assert (repeated.status_code, repeated.json()) == (
        409,
        {
            "errors": ["ADA@example.com is already taken"],
            "message": "Errors encountered while creating. 1 out of 1 customers failed",
            "status": False,
        },
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == ["[0].phone_no: '' is shorter than 1 characters"]
    assert empty.status_code == 422
    assert empty.json()["message"] == "body: has 0 items, at least 1 required"
    assert sorted(bunce.emails()) == ["ada@example.com", "bo@example.com"]


def test_single_create_takes_an_email_or_a_customer_id(bunce: Bunce) -> None:
    # Bunce's CLI: `customers create --email ...` or `--customer-id ...`.
    by_email = bunce.create(without(bunce_customer("-", "jane@example.com"), "customer_id"))
    by_id = bunce.create(without(bunce_customer("1002", "-"), "email"))
    neither = bunce.create(without(bunce_customer("-", "-"), "customer_id", "email"))

    assert by_email.status_code == 201, by_email.text
    assert ULID.match(by_email.json()["data"]["customer_id"])
    assert by_id.status_code == 201, by_id.text
    assert by_id.json()["data"]["email"] is None
    assert (neither.status_code, neither.json()["message"]) == (
        422,
        "body: needs email or customer_id",
    )
