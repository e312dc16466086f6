"""The dashboard in a real headless browser: Debian's chromium driven by chromedriver (selenium),
against a mock served on a thread and guarded by a control token.

A failing test's report names the screenshot taken at the moment it failed (in the test's
temporary folder); a passing test leaves one there too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tooling import require_program

from mockserver.config import Settings
from mockserver.testing import MockServer

TOKEN = "dashboard-test-token"
JOHN = {  # the Bunce document's sample customer
    "customer_id": "0000",
    "first_name": "John",
    "last_name": "Doe",
    "email": "johndoe21@example.com",
    "phone_no": "+23481999999999",
}


@pytest.fixture(scope="module")
def guarded_mock(mockserver_settings: Settings) -> Iterator[MockServer]:
    """A mock like the plugin's (strict, quick jobs and retries) whose control API (and so the
    dashboard) needs ``TOKEN``."""
    settings = replace(mockserver_settings, port=0, control_token=TOKEN)
    with MockServer.start(settings) as server:
        yield server


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    chromium = require_program("chromium")
    chromedriver = require_program("chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1100",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chrome: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The browser, for one test; its screenshot goes to ``tmp_path/dashboard.png``."""
    screenshot = tmp_path / "dashboard.png"
    request.node.dashboard_screenshot = (chrome, screenshot)
    request.node.user_properties.append(("screenshot", str(screenshot)))
    yield chrome
    if not screenshot.exists():
        chrome.save_screenshot(str(screenshot))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    shot = getattr(item, "dashboard_screenshot", None)
    if shot is not None and report.when == "call" and report.failed:
        driver, path = shot
        try:
            driver.save_screenshot(str(path))
            report.sections.append(("dashboard", f"screenshot of the page: {path}"))
        except Exception as exc:  # the browser itself may be what failed
            report.sections.append(("dashboard", f"no screenshot ({exc}); would be {path}"))
    return report
