"""Bunce customers beyond bulk create, over real HTTP: the list page inside the envelope and its
cursors."""

from __future__ import annotations

from typing import Any

from .helpers import Bunce, bunce_customer


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
