"""Tamio over real HTTP: the bulk import job, single create, retrieve, and list."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from mockserver.apis.tamio.behaviours import IMPORT_JOB
from mockserver.app import create_app
from mockserver.config import Settings
from mockserver.services import Services
from mockserver.store import Job, JobGone
from mockserver.testing import MockServer

from .helpers import Tamio, tamio_customer, wait_until

TOKEN = "tok_stateful"


def finished_jobs(control: str) -> list[dict[str, Any]]:
    jobs = requests.get(f"{control}/jobs", params={"api": "tamio"}, timeout=5).json()["jobs"]
    return [job for job in jobs if job["status"] in ("done", "failed")]


def test_bulk_import_runs_in_the_background_and_skips_duplicates(
    tamio: Tamio, control: str
) -> None:
    stored = tamio.create(tamio_customer("Stored", "stored@example.com"))
    assert stored.status_code == 200

    response = tamio.bulk_create(
        tamio_customer(
            "Ann",
            "ann@example.com",
            country="ES",
            billing_information={
                "name": "Ann SL",
                "address": "Calle 1",
                "city": "Madrid",
                "country": "ES",
                "vat_number": "ESX1234567X",
            },
        ),
        tamio_customer("Again", "STORED@example.com"),  # already in the account (any letter case)
        tamio_customer("Bob", "bob@example.com", country="Fr"),
        tamio_customer("Ann twice", "Ann@Example.com"),  # repeats item 0 of the batch
    )

    assert response.status_code == 200
    assert response.json() == {"status": 200}
    # No flush: the background worker runs the job after its short delay.
    (job,) = wait_until(lambda: finished_jobs(control), what="the import job")
    assert job["kind"] == "tamio.import"
    assert job["status"] == "done"
    assert job["result"]["created"] == 2
    failed = job["result"]["failed"]
    assert [(f["index"], f["email"], f["error_code"]) for f in failed] == [
        (1, "STORED@example.com", 10142),
        (3, "Ann@Example.com", 10142),
    ]

    customers = tamio.list().json()["customers"]
    assert [c["email"] for c in customers] == [
        "stored@example.com",
        "ann@example.com",
        "bob@example.com",
    ]
    stored_one, ann, bob = customers
    assert stored_one["source"] == "api"
    assert ann["source"] == bob["source"] == "import"
    assert (ann["country"], bob["country"]) == ("es", "fr")
    (billing,) = ann["billing_addresses"]
    assert billing["vat"] == "ESX1234567X"
    assert "vat_number" not in billing
    assert billing["country"] == "es"
    assert tamio.retrieve(ann["id"]).json()["customer"] == ann
    assert job["result"]["customer_ids"] == [ann["id"], bob["id"]]


def test_an_invalid_bulk_is_refused_whole_and_schedules_nothing(tamio: Tamio, control: str) -> None:
    response = tamio.bulk_create(
        tamio_customer("Ann", "ann@example.com"), {"name": "No email", "country": "es"}
    )

    assert response.status_code == 400
    assert "customers[1].email" in response.json()["error"]
    assert requests.get(f"{control}/jobs", timeout=5).json()["jobs"] == []


def test_creating_a_duplicate_email_is_400_with_error_code_10142(tamio: Tamio) -> None:
    assert tamio.create(tamio_customer("Ann", "ann@example.com")).status_code == 200

    response = tamio.create(tamio_customer("Ann again", "ANN@example.com"))

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert body["error_code"] == 10142
    assert "ANN@example.com" in body["error"]
    assert len(tamio.list().json()["customers"]) == 1


def test_single_create_answers_the_customer(tamio: Tamio) -> None:
    response = tamio.create(
        tamio_customer(
            "Ann",
            "ann@example.com",
            country="DE",
            billing_information={
                "name": "Ann GmbH",
                "address": "Str 1",
                "city": "Berlin",
                "country": "DE",
                "vat": "DE123",
            },
            same_shipping_address=True,
        )
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 200
    customer = body["customer"]
    assert customer["country"] == "de"
    assert customer["source"] == "api"
    assert customer["locale"] == "en"
    assert customer["billing_addresses"][0]["vat"] == "DE123"
    assert customer["shipping_addresses"][0]["city"] == "Berlin"
    assert customer["shipping_addresses"][0]["shipping_address"] is True


def test_retrieving_an_unknown_uuid_is_400_with_error_code_1002(tamio: Tamio) -> None:
    response = tamio.retrieve("0b8f7b0e-1f0e-4c1e-9d51-3c6f1f2b7a10")

    assert response.status_code == 400
    assert response.json()["error_code"] == 1002
    assert response.json()["status"] == 400


def test_tokens_are_separate_accounts(mockserver: MockServer) -> None:
    base = mockserver.base_url("tamio")
    first, second = Tamio(base, "token-one"), Tamio(base, "token-two")
    created = first.create(tamio_customer("Ann", "ann@example.com")).json()["customer"]

    assert second.retrieve(created["id"]).status_code == 400
    assert second.create(tamio_customer("Ann", "ann@example.com")).status_code == 200


def seed_seven(control: str) -> list[dict[str, Any]]:
    """Seven customers through the control API, in insertion order."""
    people = [
        ("Gina", "es"),
        ("Ann", "fr"),
        ("Eve", "de"),
        ("Bob", "es"),
        ("Dan", "it"),
        ("Cid", "fr"),
        ("Fay", "es"),
    ]
    response = requests.post(
        f"{control}/customers",
        params={"api": "tamio", "account": TOKEN},
        timeout=5,
        json=[
            tamio_customer(name, f"{name.lower()}@example.com", country) for name, country in people
        ],
    )
    assert response.status_code == 201, response.text
    return [r["created"] for r in response.json()["results"]]


def test_list_pages_with_page_and_per_page(tamio: Tamio, control: str) -> None:
    seeded = seed_seven(control)

    second = tamio.list({"page": 2, "per_page": 3}).json()
    last = tamio.list({"page": 3, "per_page": 3}).json()
    beyond = tamio.list({"page": 4, "per_page": 3}).json()

    assert second["status"] == 200
    assert second["total_results"] == 7
    assert [c["name"] for c in second["customers"]] == [c["name"] for c in seeded[3:6]]
    assert [c["name"] for c in last["customers"]] == ["Fay"]
    assert beyond["total_results"] == 7
    assert beyond["customers"] == []


def test_list_without_page_is_refused(tamio: Tamio) -> None:
    response = tamio.list({"per_page": 3})

    assert response.status_code == 400
    assert "page" in response.json()["error"]


def test_list_sorts_by_name_and_filters_by_countries(tamio: Tamio, control: str) -> None:
    seed_seven(control)

    by_name_desc = tamio.list(
        {"page": 1, "per_page": 100, "sort_by": "name", "order": "desc"}
    ).json()
    spanish_or_french = tamio.list(
        {"page": 1, "per_page": 2, "sort_by": "name", "countries[]": ["ES", "fr"]}
    ).json()

    assert [c["name"] for c in by_name_desc["customers"]] == [
        "Gina",
        "Fay",
        "Eve",
        "Dan",
        "Cid",
        "Bob",
        "Ann",
    ]
    assert spanish_or_french["total_results"] == 5
    assert [c["name"] for c in spanish_or_french["customers"]] == ["Ann", "Bob"]


def test_leads_are_listed_only_with_include_leads(tamio: Tamio) -> None:
    tamio.create(tamio_customer("Ann", "ann@example.com"))
    tamio.create(tamio_customer("Lee", "lee@example.com", category="lead"))

    default = tamio.list().json()
    with_leads = tamio.list({"page": 1, "per_page": 10, "include_leads": "true"}).json()
    sorted_default = tamio.list({"page": 1, "per_page": 10, "sort_by": "name"}).json()

    assert [c["name"] for c in default["customers"]] == ["Ann"]
    assert default["total_results"] == 1
    assert [c["name"] for c in with_leads["customers"]] == ["Ann", "Lee"]
    assert with_leads["customers"][1]["lead_status"] == "new_lead"
    assert [c["name"] for c in sorted_default["customers"]] == ["Ann"]


def test_a_request_cannot_choose_the_id_or_the_creation_time(tamio: Tamio) -> None:
    response = tamio.create(
        tamio_customer("Ann", "ann@example.com", id="my-own-id", created_at="yesterday")
    )

    assert response.status_code == 200
    customer = response.json()["customer"]
    assert customer["id"] != "my-own-id"
    assert isinstance(customer["created_at"], int)
    assert tamio.retrieve(customer["id"]).status_code == 200


def test_huge_page_numbers_answer_an_empty_page(tamio: Tamio) -> None:
    tamio.create(tamio_customer("Ann", "ann@example.com"))
    huge = 10**30

    far_page = tamio.list({"page": huge, "per_page": 10}).json()
    huge_page_size = tamio.list({"page": 1, "per_page": huge}).json()

    assert far_page == {"status": 200, "total_results": 1, "customers": []}
    assert huge_page_size["total_results"] == 1
    assert [c["name"] for c in huge_page_size["customers"]] == ["Ann"]


RACE_AUTH = {"Authorization": "Bearer sk_test_reset_race"}


def claimed_import() -> tuple[FlaskClient, Services, Job]:
    """An in-process mock with one import scheduled and claimed, as a worker holds it while it
    runs (the handler is called by the test)."""
    app = create_app(Settings(background=False, log_requests=False, job_delay_s=0))
    services: Services = app.extensions["mockserver"].services
    client = app.test_client()
    answer = client.post(
        "/tamio/v2/customers/bulk/create",
        headers=RACE_AUTH,
        json={"customers": [tamio_customer("Ann", "ann@example.com")]},
    )
    assert answer.status_code == 200
    [job] = services.state.jobs.claim_due(time.time() + 60)
    return client, services, job


def test_an_import_whose_job_a_reset_removed_stores_nothing() -> None:
    # With several workers a reset answered by one process can land while another runs an
    # import it already claimed; the import's customers must not reappear after the reset.
    client, services, job = claimed_import()

    services.state.reset()
    with pytest.raises(JobGone):
        services.registry.job_handlers[IMPORT_JOB](job, services)

    listed = client.get("/tamio/v2/customers/list?page=1&per_page=10", headers=RACE_AUTH)
    assert listed.get_json()["total_results"] == 0


def test_an_import_a_reset_interrupts_after_its_insert_sends_no_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The reset lands between the import's insert and its webhook events, and the next test has
    # already registered its endpoint: that endpoint must not get the old import's events.
    _, services, job = claimed_import()
    insert = services.state.records.insert_batch

    def insert_then_reset(*args: Any, **kwargs: Any) -> Any:
        outcomes = insert(*args, **kwargs)
        services.state.reset()
        services.webhooks.register("tamio", "http://127.0.0.1:9/next-test")
        return outcomes

    monkeypatch.setattr(services.state.records, "insert_batch", insert_then_reset)
    with pytest.raises(JobGone):
        services.registry.job_handlers[IMPORT_JOB](job, services)

    assert services.state.deliveries.list() == []
