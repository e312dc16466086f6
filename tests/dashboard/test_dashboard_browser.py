"""The dashboard (/__mock/ui) in headless Chromium: what a person developing a client sees."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from mockserver.testing import MockServer

from .conftest import JOHN, TOKEN

pytestmark = pytest.mark.slow

BUNCE_KEY = {"X-Authorization": "sk_test_dashboard_account"}
TAMIO_TOKEN = {"Authorization": "Bearer tamio-dashboard-token"}
NO_PHONE = {k: v for k, v in JOHN.items() if k != "phone_no"}
ROWS = "#journal-rows tr.entry"
VISIBLE_ROWS = "#journal-rows tr.entry:not(.hidden)"


def open_dashboard(browser: Any, mock: MockServer) -> None:
    mock.reset()
    browser.get(f"{mock.url}/__mock/ui?token={TOKEN}")
    assert browser.current_url == f"{mock.url}/__mock/ui"  # the token left the address bar
    wait(browser).until(lambda b: b.find_element(By.ID, "status").text.startswith("live"))


def wait(browser: Any, seconds: float = 10) -> WebDriverWait[Any]:
    return WebDriverWait(browser, seconds, poll_frequency=0.05)


def rows(browser: Any, selector: str = ROWS) -> list[dict[str, str]]:
    found = []
    for row in browser.find_elements(By.CSS_SELECTOR, selector):
        cells = row.find_elements(By.TAG_NAME, "td")
        found.append(
            {
                "method": cells[2].text,
                "path": cells[3].text,
                "operation": cells[4].text,
                "account": cells[5].text,
                "status": cells[6].text,
                "violations": cells[8].text,
            }
        )
    return found


def send_to_both_apis(mock: MockServer) -> None:
    bunce, tamio = mock.base_url("bunce"), mock.base_url("tamio")
    calls = [
        (f"{bunce}/customers/bulk", BUNCE_KEY, {"customers": [JOHN]}, 200),
        (f"{bunce}/customers/bulk", BUNCE_KEY, {"customers": [NO_PHONE]}, 422),
        (
            f"{tamio}/customers/bulk/create",
            TAMIO_TOKEN,
            {"customers": [{"name": "Jo", "email": "jo@example.com", "country": "de"}]},
            200,
        ),
        (
            f"{tamio}/customers/bulk/create",
            TAMIO_TOKEN,
            {"customers": [{"name": "Jo", "email": "not-an-email", "country": "de"}]},
            400,
        ),
    ]
    for url, headers, body, status in calls:
        assert requests.post(url, json=body, headers=headers, timeout=5).status_code == status


def test_requests_to_both_apis_appear_with_status_and_violations(
    browser: Any, guarded_mock: MockServer
) -> None:
    open_dashboard(browser, guarded_mock)
    send_to_both_apis(guarded_mock)
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ROWS)) == 4)
    shown = rows(browser)  # newest first
    assert [(r["method"], r["operation"], r["status"]) for r in shown] == [
        ("POST", "bulkCreateCustomers", "400"),
        ("POST", "bulkCreateCustomers", "200"),
        ("POST", "createCustomersBulk", "422"),
        ("POST", "createCustomersBulk", "200"),
    ]
    assert "customers[0].email" in shown[0]["violations"]
    assert shown[2]["violations"] == "customers[0].phone_no: is required"
    assert shown[1]["violations"] == shown[3]["violations"] == ""
    assert shown[3]["path"].endswith("/bunce/v1/customers/bulk")
    assert shown[3]["account"] == "sk_test_***ount"  # the kind prefix and the last 4, no more


def test_filters_narrow_the_table(browser: Any, guarded_mock: MockServer) -> None:
    open_dashboard(browser, guarded_mock)
    send_to_both_apis(guarded_mock)
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ROWS)) == 4)

    Select(browser.find_element(By.ID, "filter-api")).select_by_value("bunce")
    shown = rows(browser, VISIBLE_ROWS)
    assert [r["status"] for r in shown] == ["422", "200"]
    assert all("/bunce/v1/" in r["path"] for r in shown)

    Select(browser.find_element(By.ID, "filter-status")).select_by_value("4xx")
    assert [r["status"] for r in rows(browser, VISIBLE_ROWS)] == ["422"]

    Select(browser.find_element(By.ID, "filter-api")).select_by_value("")
    Select(browser.find_element(By.ID, "filter-status")).select_by_value("")
    Select(browser.find_element(By.ID, "filter-operation")).select_by_value("bulkCreateCustomers")
    assert [r["status"] for r in rows(browser, VISIBLE_ROWS)] == ["400", "200"]
    assert browser.find_element(By.ID, "count").text == "(2 of 4)"


def test_an_entry_expands_to_its_request_and_response_bodies(
    browser: Any, guarded_mock: MockServer
) -> None:
    open_dashboard(browser, guarded_mock)
    send_to_both_apis(guarded_mock)
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ROWS)) == 4)
    browser.find_elements(By.CSS_SELECTOR, ROWS)[3].click()  # the Bunce create that succeeded
    detail = wait(browser).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#journal-rows tr.detail .response-body pre")
    )
    wait(browser).until(lambda b: "Customers created successfully" in detail.text)
    request_body = browser.find_element(By.CSS_SELECTOR, "#journal-rows tr.detail .request-body")
    assert "johndoe21@example.com" in request_body.text
    assert '"success": true' in detail.text


def test_jobs_notifications_deliveries_and_faults_show(
    browser: Any, guarded_mock: MockServer
) -> None:
    open_dashboard(browser, guarded_mock)
    receiver = guarded_mock.webhook_receiver("tamio")
    tamio = guarded_mock.base_url("tamio")
    customers = [
        {"name": "Ann", "email": "ann@example.com", "country": "de"},
        {"name": "Ann", "email": "ANN@example.com", "country": "de"},  # skipped: a duplicate
    ]
    answer = requests.post(
        f"{tamio}/customers/bulk/create",
        json={"customers": customers},
        headers=TAMIO_TOKEN,
        timeout=5,
    )
    assert answer.json() == {"status": 200}
    guarded_mock.flush_jobs()
    receiver.wait_for(1)
    guarded_mock.flush_jobs()  # the delivery's attempt recorded
    fault = guarded_mock.fault(api="bunce", latency_ms=5, count=3)

    jobs = wait(browser).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#jobs-rows tr .notification")
    )
    wait(browser).until(lambda b: "1 created, 1 skipped" in jobs.text)
    assert "ANN@example.com" in jobs.text
    deliveries = wait(browser).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#deliveries-rows tr")
    )
    wait(browser).until(lambda b: "→ 200" in deliveries.text)
    assert "customer.created" in deliveries.text
    faults = wait(browser).until(lambda b: b.find_element(By.CSS_SELECTOR, "#faults-rows tr"))
    assert fault.id in faults.text and "bunce" in faults.text


def test_reset_empties_the_table(browser: Any, guarded_mock: MockServer) -> None:
    open_dashboard(browser, guarded_mock)
    send_to_both_apis(guarded_mock)
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ROWS)) == 4)
    browser.find_element(By.ID, "reset").click()
    wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, ROWS) == [])
    assert browser.find_element(By.ID, "journal-empty").is_displayed()
    assert guarded_mock.requests() == []  # the server's journal, not only the page


def test_without_the_token_the_page_says_how_to_open_it(
    browser: Any, guarded_mock: MockServer
) -> None:
    browser.delete_all_cookies()
    browser.get(f"{guarded_mock.url}/__mock/ui")
    assert "/__mock/ui?token=" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(f"{guarded_mock.url}/__mock/ui?token=wrong")
    assert "needs its token" in browser.find_element(By.TAG_NAME, "body").text
