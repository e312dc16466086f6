"""Tamio's import completion notification over real HTTP: ``GET /__mock/notifications`` on the
plugin's live server and on ``mockserver serve --workers 2`` (the SQLite state), the fixture's
reader, and the binding to the import's job (a reset that removed the job leaves nothing)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from mockserver.apis.tamio.behaviours import IMPORT_JOB
from mockserver.engine import mask
from mockserver.store import JobGone
from mockserver.testing import MockServer, serve

from .helpers import Tamio, tamio_customer, tamio_of, wait_until
from .test_tamio import claimed_import

TOKEN = "tok_stateful"


def notifications(control: str, **params: str) -> list[dict[str, Any]]:
    response = requests.get(f"{control}/notifications", params=params, timeout=5)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["notifications"]
    return found


def import_with_one_duplicate(tamio: Tamio) -> None:
    assert tamio.create(tamio_customer("Stored", "stored@example.com")).status_code == 200
    response = tamio.bulk_create(
        tamio_customer("Ann", "ann@example.com"),
        tamio_customer("Again", "STORED@example.com"),  # already in the account
        tamio_customer("Bob", "bob@example.com"),
        tamio_customer("Ann twice", "Ann@Example.com"),  # repeats item 0 of the batch
    )
    assert response.json() == {"status": 200}


def test_a_finished_import_notifies_the_account_with_what_it_skipped(
    tamio: Tamio, control: str
) -> None:
    before = time.time()
    import_with_one_duplicate(tamio)

    # No flush: the background worker runs the import after its short delay.
    [notification] = wait_until(lambda: notifications(control), what="the notification")

    [job] = requests.get(f"{control}/jobs", timeout=5).json()["jobs"]
    assert notification["job_id"] == job["id"]
    assert (notification["api"], notification["account"]) == ("tamio", mask(TOKEN))
    assert TOKEN not in str(notification)
    assert (notification["created"], notification["skipped"]) == (2, 2)
    assert notification["skipped_items"] == [
        {
            "index": 1,
            "email": "STORED@example.com",
            "reason": "A customer with the email STORED@example.com already exists",
            "error_code": 10142,
        },
        {
            "index": 3,
            "email": "Ann@Example.com",
            "reason": "A customer with the email Ann@Example.com already exists",
            "error_code": 10142,
        },
    ]
    assert before <= notification["time"] <= time.time()
    assert notification["id"].startswith("ntf_")


def test_notifications_filter_by_api_and_account_and_a_reset_forgets_them(
    mockserver: MockServer, control: str
) -> None:
    base = mockserver.base_url("tamio")
    for token in ("token-one", "token-two"):
        Tamio(base, token).bulk_create(tamio_customer("Ann", "ann@example.com"))
    mockserver.flush_jobs()

    assert len(notifications(control)) == 2
    [one] = notifications(control, api="tamio", account="token-one")
    assert (one["account"], one["created"], one["skipped"]) == (mask("token-one"), 1, 0)
    assert notifications(control, account=mask("token-two"))[0]["account"] == mask("token-two")
    assert notifications(control, api="bunce") == []
    assert notifications(control, account="token-three") == []
    unknown = requests.get(f"{control}/notifications", params={"api": "nope"}, timeout=5)
    assert unknown.status_code == 400
    assert "unknown api 'nope'" in unknown.json()["detail"]

    assert requests.post(f"{control}/reset", timeout=5).status_code == 200
    assert notifications(control) == []


def test_the_fixture_reads_the_same_notifications(mockserver: MockServer, tamio: Tamio) -> None:
    import_with_one_duplicate(tamio)
    mockserver.flush_jobs()

    [notification] = mockserver.notifications(api="tamio", account=TOKEN)

    assert notification == notifications(f"{mockserver.url}/__mock")[0]
    assert [i["email"] for i in notification["skipped_items"]] == [
        "STORED@example.com",
        "Ann@Example.com",
    ]
    assert mockserver.notifications(account="someone-else") == []


def test_an_invalid_bulk_notifies_nothing(mockserver: MockServer, tamio: Tamio) -> None:
    response = tamio.bulk_create({"name": "No email", "country": "es"})
    mockserver.flush_jobs()

    assert response.status_code == 400
    assert mockserver.notifications() == []


def test_an_import_a_reset_interrupts_before_it_finishes_notifies_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another worker's reset lands after the import's insert: the import must not leave a
    # notification behind for the next test to read.
    _, services, job = claimed_import()
    insert = services.state.records.insert_batch

    def insert_then_reset(*args: Any, **kwargs: Any) -> Any:
        outcomes = insert(*args, **kwargs)
        services.state.reset()
        return outcomes

    monkeypatch.setattr(services.state.records, "insert_batch", insert_then_reset)
    with pytest.raises(JobGone):
        services.registry.job_handlers[IMPORT_JOB](job, services)

    assert services.state.notifications.list() == []


@pytest.mark.slow
def test_served_with_two_workers_the_notification_is_shared() -> None:
    with serve("--workers", "2", "--quiet", "--log-level", "warning") as served:
        client = tamio_of(served, "tok_served")
        import_with_one_duplicate(client)
        control = f"{served.url}/__mock"

        [notification] = wait_until(
            lambda: notifications(control, api="tamio", account="tok_served"),
            what="the notification",
        )

        assert (notification["created"], notification["skipped"]) == (2, 2)
        assert [i["index"] for i in notification["skipped_items"]] == [1, 3]
        # Whichever worker answers, the SQLite state holds the one notification.
        for _ in range(6):
            assert len(notifications(control)) == 1
        assert requests.post(f"{control}/reset", timeout=5).status_code == 200
        assert notifications(control) == []
