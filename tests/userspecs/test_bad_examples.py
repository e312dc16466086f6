"""Examples that break their own schemas: ``serve`` warns once per example and serves, never
sending one (a generated, valid body answers instead); ``--strict-examples`` refuses to start;
``mockserver validate`` keeps reporting them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from mockserver.app import create_app
from mockserver.cli import main
from mockserver.config import Settings
from mockserver.openapi.loader import load_spec
from mockserver.testing import MockServer, ServeProcess

from .serving import SPECS, run_serve

pytestmark = pytest.mark.slow
SPEC = SPECS / "badexamples.yaml"
POINTERS = [
    "#/paths/~1things~1{id}/get/responses/200/content/application~1json/example",
    "#/paths/~1things/get/responses/200/content/application~1json/examples/broken/value",
    "#/paths/~1things/post/requestBody/content/application~1json/example",
]


SERVE_ARGS = ["--spec", str(SPEC)]


def test_each_bad_example_is_reported_once_at_start_up(server: ServeProcess) -> None:
    output = server.log()
    for pointer in POINTERS:
        assert output.count(f"{SPEC}{pointer}: example does not match its schema") == 1, output
    assert output.count("example does not match its schema") == len(POINTERS)


def test_a_bad_example_is_never_sent_a_valid_generated_body_answers(server: ServeProcess) -> None:
    answer = requests.get(server.url + "/badexamples/things/7", timeout=10)
    assert answer.status_code == 200  # the strict response check would have made it a 500
    body = answer.json()
    assert isinstance(body["id"], int) and body["id"] >= 1 and body["name"]


def test_the_valid_example_beside_a_bad_one_is_still_served(server: ServeProcess) -> None:
    answer = requests.get(server.url + "/badexamples/things", timeout=10)
    assert answer.json() == [{"id": 2, "name": "Gear"}]
    named = requests.get(
        server.url + "/badexamples/things", headers={"Prefer": "example=broken"}, timeout=10
    )
    assert named.status_code == 400 and "documented examples: fine" in named.json()["detail"]


def test_strict_examples_refuses_to_start_naming_the_first_bad_example() -> None:
    finished = run_serve("--strict-examples", "--spec", str(SPEC))
    assert finished.returncode == 3
    assert f"error: {SPEC}{POINTERS[0]}: example does not match its schema: id: 'seven'" in (
        finished.stderr
    )
    assert "Traceback" not in finished.stderr


def test_validate_still_reports_every_bad_example(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(SPEC)])
    assert result.exit_code == 1
    for pointer in POINTERS:
        assert f"{SPEC}{pointer}: example does not match its schema" in result.output


def test_a_spec_not_checked_at_start_up_has_each_operations_examples_checked_on_first_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The bundled specs and big ones start without the example check (start-up stays fast):
    # each operation's examples are checked on its first request instead, with the same effect.
    spec = load_spec(SPEC)
    assert not spec.examples_checked
    settings = Settings(bundled=False, validate_responses="strict", log_requests=False)
    mock = MockServer(create_app(settings, specs=[spec]))
    with caplog.at_level(logging.WARNING, logger="mockserver"):
        assert not [r for r in caplog.records if "does not match" in r.getMessage()]
        for _ in range(2):
            answer = mock.client.get("/badexamples/things/7")
            assert answer.status_code == 200, answer.text  # strict: a bad example would be 500
            assert isinstance(answer.json["id"], int)
        listed = mock.client.get("/badexamples/things")
        assert listed.json == [{"id": 2, "name": "Gear"}]
    reported = [r.getMessage() for r in caplog.records if "does not match" in r.getMessage()]
    assert [m.split(": example")[0] for m in reported] == [f"{SPEC}{p}" for p in POINTERS[:2]]
    mock.check()
