"""Bunce customers beyond bulk create, over real HTTP: the list page inside the envelope and its
cursors, updates (one or many) and devices."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .helpers import Bunce, bunce_customer

ISO_MICROS_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2}$")
IOS = {"device_type": "ios", "device_token": "123456"}
ANDROID = {"device_type": "android", "device_token": "654321"}


def page_of(bunce: Bunce, **params: Any) -> dict[str, Any]:
    """``data`` of a list answer: ``{"data": [...], "meta": {...}}`` (what the Node SDK reads)."""
    answer = bunce.list(**params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["success"], body["message"]) == (True, "Customers fetched successfully")
    assert set(body) == {"success", "message", "data"}
    page: dict[str, Any] = body["data"]
    return page


def test_a_list_answers_its_page_and_cursors_inside_data(bunce: Bunce) -> None:
    bunce.bulk(*(bunce_customer(str(n), f"c{n}@example.com") for n in range(3)))

    page = page_of(bunce, per_page=2)

    assert [c["customer_id"] for c in page["data"]] == ["0", "1"]
    assert page["meta"] == {
        "has_next_page": True,
        "has_prev_page": False,
        "next_page_cursor": page["meta"]["next_page_cursor"],
        "prev_page_cursor": None,
        "per_page": 2,
    }
    assert isinstance(page["meta"]["next_page_cursor"], str)


def test_cursors_walk_every_customer_once_forwards_and_back(bunce: Bunce) -> None:
    ids = [f"{n:02d}" for n in range(11)]
    bunce.bulk(*(bunce_customer(i, f"c{i}@example.com") for i in ids))

    forwards: list[list[str]] = []
    page = page_of(bunce, per_page=3)
    while True:
        forwards.append([c["customer_id"] for c in page["data"]])
        if not page["meta"]["has_next_page"]:
            break
        page = page_of(bunce, per_page=3, cursor=page["meta"]["next_page_cursor"])
    backwards: list[list[str]] = []
    while page["meta"]["has_prev_page"]:
        page = page_of(bunce, per_page=3, cursor=page["meta"]["prev_page_cursor"])
        backwards.append([c["customer_id"] for c in page["data"]])

    assert [i for chunk in forwards for i in chunk] == ids  # no overlap, no gap
    assert forwards == [ids[0:3], ids[3:6], ids[6:9], ids[9:11]]
    assert backwards == [ids[6:9], ids[3:6], ids[0:3]]


def test_filters_keep_the_same_page_shape(bunce: Bunce) -> None:
    bunce.bulk(*(bunce_customer(str(n), f"c{n}@example.com") for n in range(4)))

    by_id = page_of(bunce, customer_ids="1,3")
    by_email = page_of(bunce, emails="C2@example.com", per_page=1)

    assert [c["customer_id"] for c in by_id["data"]] == ["1", "3"]
    assert [c["customer_id"] for c in by_email["data"]] == ["2"]
    assert by_email["meta"]["has_next_page"] is False


# -- updates --------------------------------------------------------------------------------------
def test_an_update_changes_the_fields_sent_and_sets_updated_at(bunce: Bunce) -> None:
    created = bunce.create(bunce_customer("0000", "john@example.com")).json()["data"]

    response = bunce.update("0000", {"first_name": "Jane", "email": "jane@example.com"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["success"], body["message"]) == (True, "Customer updated successfully")
    updated = body["data"]
    assert {k: v for k, v in updated.items() if k != "updated_at"} == {
        **created,
        "first_name": "Jane",
        "email": "jane@example.com",
    }
    assert ISO_MICROS_WITH_OFFSET.match(updated["updated_at"])
    assert updated["updated_at"] > created["customer_created_at"]
    assert bunce.get("0000").json()["data"] == updated
    assert page_of(bunce, emails="john@example.com")["data"] == []  # the old email is released
    assert bunce.create(bunce_customer("1111", "john@example.com")).status_code == 201


def test_an_update_to_a_taken_email_fails_like_a_duplicate_and_changes_nothing(
    bunce: Bunce,
) -> None:
    bunce.bulk(
        bunce_customer("0000", "john@example.com"), bunce_customer("1111", "ann@example.com")
    )
    before = bunce.get("0000").json()["data"]

    response = bunce.update("0000", {"email": "ANN@example.com", "first_name": "X"})

    assert (response.status_code, response.json()) == (
        409,
        {"success": False, "message": "ANN@example.com is already taken"},
    )
    assert bunce.get("0000").json()["data"] == before
    assert bunce.update("0000", {"email": "JOHN@example.com"}).status_code == 200  # its own


def test_an_update_of_an_unknown_customer_is_404_and_a_bad_field_422(bunce: Bunce) -> None:
    bunce.create(bunce_customer("0000", "john@example.com"))

    unknown = bunce.update("9999", {"first_name": "Jane"})
    invalid = bunce.update("0000", {"email": "jane", "phone_no": ""})

    assert (unknown.status_code, unknown.json()) == (
        404,
        {"success": False, "message": "Customer 9999 not found"},
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == [
        "email: 'jane' is not a valid email",
        "phone_no: '' is shorter than 1 characters",
    ]


def test_racing_updates_to_one_email_give_it_to_one_customer(bunce: Bunce) -> None:
    ids = [str(n) for n in range(8)]
    bunce.bulk(*(bunce_customer(i, f"c{i}@example.com") for i in ids))
    barrier = threading.Barrier(len(ids))

    def take(customer_id: str) -> int:
        client = Bunce(bunce.base_url, "sk_test_stateful")
        barrier.wait()
        return client.update(customer_id, {"email": "wanted@example.com"}).status_code

    with ThreadPoolExecutor(len(ids)) as pool:
        statuses = sorted(pool.map(take, ids))

    assert statuses == [200] + [409] * 7
    assert bunce.emails().count("wanted@example.com") == 1


def test_a_bulk_update_updates_each_customer_and_reports_the_ones_that_failed(
    bunce: Bunce,
) -> None:
    bunce.bulk(
        bunce_customer("0000", "john@example.com"),
        bunce_customer("1111", "ann@example.com"),
        bunce_customer("2222", "x@example.com"),
    )

    all_good = bunce.bulk_update(
        {"customer_id": "0000", "first_name": "Jane"},
        {"customer_id": "1111", "phone_no": "+2348100000002"},
    )
    partly = bunce.bulk_update(
        {"customer_id": "9999", "first_name": "Nobody"},
        {"customer_id": "2222", "last_name": "Roe"},
    )

    assert all_good.status_code == 200, all_good.text
    body = all_good.json()
    assert (body["success"], body["message"]) == (True, "Customers updated successfully")
    assert [(c["customer_id"], c["first_name"], c["phone_no"]) for c in body["data"]] == [
        ("0000", "Jane", "+23481999999999"),
        ("1111", "John", "+2348100000002"),
    ]
    assert all("updated_at" in c for c in body["data"])
    assert (partly.status_code, partly.json()) == (
        409,
        {
            "errors": ["9999 not found"],
            "message": "Errors encountered while updating. 1 out of 2 customers failed",
            "status": False,
        },
    )
    assert bunce.get("2222").json()["data"]["last_name"] == "Roe"  # the other item was applied


def test_a_bulk_update_sets_an_email_only_where_the_stored_one_is_missing(bunce: Bunce) -> None:
    # The edit-bulk page: "email: updated only if the existing customer's email is invalid".
    no_email = {k: v for k, v in bunce_customer("0000", "-").items() if k != "email"}
    bunce.bulk(no_email, bunce_customer("1111", "ann@example.com"))

    response = bunce.bulk_update(
        {"customer_id": "0000", "email": "fake-email@gmail"},  # the document's example email
        {"customer_id": "1111", "email": "other@example.com"},
    )

    assert response.status_code == 200, response.text
    assert [c["email"] for c in response.json()["data"]] == ["fake-email@gmail", "ann@example.com"]
    taken = bunce.bulk(bunce_customer("3333", "FAKE-email@gmail"))
    assert taken.json()["errors"] == ["FAKE-email@gmail is already taken"]


def test_a_bulk_update_item_needs_a_customer_id(bunce: Bunce) -> None:
    response = bunce.bulk_update({"first_name": "Jane"})

    assert response.status_code == 422
    assert response.json()["message"] == "customers[0].customer_id: is required"


# -- devices --------------------------------------------------------------------------------------
def test_devices_are_added_listed_and_changed_by_their_current_token(bunce: Bunce) -> None:
    created = bunce.create(
        bunce_customer("0000", "john@example.com", devices=[IOS])
    ).json()["data"]

    added = bunce.add_devices("0000", ANDROID)
    listed = bunce.devices("0000")
    changed = bunce.update_device(
        "0000", {"current_device_token": "654321", "device_token": "new-token"}
    )
    retyped = bunce.update_device(
        "0000", {"current_device_token": "new-token", "device_type": "ios", "device_token": None}
    )

    assert added.status_code == 201, added.text
    assert added.json()["message"] == "Devices created successfully"
    (new,) = added.json()["data"]
    assert (new["device_type"], new["device_token"]) == ("android", "654321")
    assert uuid.UUID(new["device_id"]).version == 7
    assert ISO_MICROS_WITH_OFFSET.match(new["created_at"])
    assert listed.status_code == 200
    assert listed.json() == {
        "success": True,
        "message": "Devices fetched successfully",
        "data": [created["devices"][0], new],
    }
    assert created["devices"][0]["created_at"] == created["customer_created_at"]
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"] == {**new, "device_token": "new-token"}
    assert retyped.json()["data"] == {**new, "device_token": "new-token", "device_type": "ios"}
    customer = bunce.get("0000").json()["data"]
    assert customer["devices"] == [created["devices"][0], retyped.json()["data"]]
    assert "updated_at" in customer


def test_device_failures_are_404_409_and_422_and_change_nothing(bunce: Bunce) -> None:
    bunce.create(bunce_customer("0000", "john@example.com", devices=[IOS, ANDROID]))
    before = bunce.get("0000").json()["data"]

    unknown_customer = bunce.devices("9999")
    no_such_device = bunce.update_device("0000", {"current_device_token": "old-token"})
    token_taken = bunce.update_device(
        "0000", {"current_device_token": "123456", "device_token": "654321"}
    )
    registered_again = bunce.add_devices("0000", {"device_type": "ios", "device_token": "777"}, IOS)
    bad_type = bunce.update_device(
        "0000", {"current_device_token": "123456", "device_type": "windows"}
    )
    empty = bunce.add_devices("0000")

    assert (unknown_customer.status_code, unknown_customer.json()["message"]) == (
        404,
        "Customer 9999 not found",
    )
    assert bunce.add_devices("9999", IOS).status_code == 404
    assert (no_such_device.status_code, no_such_device.json()["message"]) == (
        404,
        "Customer 0000 has no device with device_token old-token",
    )
    assert (token_taken.status_code, token_taken.json()["message"]) == (
        409,
        "Customer 0000 already has a device with device_token 654321",
    )
    assert registered_again.status_code == 409
    assert bad_type.status_code == 422
    assert bad_type.json()["message"] == (
        "device_type: 'windows' is not one of 'ios', 'android', None"
    )
    assert empty.status_code == 422
    assert bunce.get("0000").json()["data"] == before


def test_an_update_with_devices_registers_the_new_tokens_only(bunce: Bunce) -> None:
    bunce.create(bunce_customer("0000", "john@example.com", devices=[IOS]))

    response = bunce.update("0000", {"devices": [IOS, ANDROID]})

    assert response.status_code == 200, response.text
    tokens = [d["device_token"] for d in response.json()["data"]["devices"]]
    assert tokens == ["123456", "654321"]
