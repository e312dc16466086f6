"""Rule 7, the command line (CliRunner where no server is needed): serve's options, validate,
routes, and ``python -m mockserver``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.config import Settings
from mockserver.openapi.loader import bundled_spec_paths, read_document

from .support import ROOT, WIDGETS


@pytest.fixture
def served(monkeypatch) -> list[Settings]:
    """Run ``serve`` without a server: capture the settings it would serve with."""
    captured: list[Settings] = []
    monkeypatch.setattr(
        "mockserver.server.serve_forever", lambda settings, port_file: captured.append(settings)
    )
    return captured


def test_serve_defaults_to_every_bundled_spec_on_localhost_8000(served) -> None:
    result = CliRunner().invoke(main, ["serve"], env={})
    assert result.exit_code == 0, result.output
    [settings] = served
    assert (settings.host, settings.port, settings.specs, settings.bundled) == (
        "127.0.0.1",
        8000,
        [],
        True,
    )


def test_serve_options_reach_the_settings(served) -> None:
    result = CliRunner().invoke(
        main,
        [
            "serve",
            "--host",
            "localhost",
            "--port",
            "9123",
            "--spec",
            str(WIDGETS),
            "--api",
            "widgets",
            "--api",
            "bunce",
            "--seed",
            "7",
            "--log-level",
            "debug",
            "--quiet",
            "--max-body-size",
            "1",
        ],
        env={},
    )
    assert result.exit_code == 0, result.output
    [settings] = served
    assert settings.host == "localhost" and settings.port == 9123
    assert settings.specs == [str(WIDGETS)] and settings.apis == ["widgets", "bunce"]
    assert settings.seed == 7 and settings.log_level == "debug" and settings.log_requests is False
    assert settings.max_body_bytes == 1024 * 1024


def test_serve_off_loopback_needs_a_control_token(served) -> None:
    refused = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"], env={})
    assert refused.exit_code == 2
    assert "pass --control-token TOKEN" in refused.output
    accepted = CliRunner().invoke(
        main, ["serve", "--host", "0.0.0.0", "--control-token", "t"], env={}
    )
    assert accepted.exit_code == 0 and served[0].control_token == "t"


def test_serve_with_a_missing_spec_file_is_a_usage_error(served) -> None:
    result = CliRunner().invoke(main, ["serve", "--spec", "nope.yaml"])
    assert result.exit_code == 2 and "nope.yaml" in result.output and not served


def test_validate_accepts_the_bundled_specs_and_a_user_spec_with_file_refs() -> None:
    result = CliRunner().invoke(
        main,
        [
            "validate",
            str(ROOT / "specs" / "tamio.yaml"),
            str(ROOT / "specs" / "bunce.yaml"),
            str(WIDGETS),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok") == 3


def test_validate_names_file_pointer_and_problem_of_a_broken_spec(tmp_path: Path) -> None:
    broken = tmp_path / "widgets.yaml"
    broken.write_text(
        WIDGETS.read_text().replace("{id: 7, name: Sprocket", "{id: -7, name: Sprocket")
    )
    (tmp_path / "common.yaml").write_text((WIDGETS.parent / "common.yaml").read_text())
    result = CliRunner().invoke(main, ["validate", str(broken)])
    assert result.exit_code == 1
    assert (
        f"{broken}#/paths/~1widgets~1{{widget_id}}/get/responses/200/content/application~1json"
        "/example: example does not match its schema: id: -7 is less than the minimum of 1"
    ) in result.output


def test_validate_reports_an_unreadable_file() -> None:
    result = CliRunner().invoke(main, ["validate", "no/such/spec.yaml"])
    assert result.exit_code == 1
    assert "no/such/spec.yaml#/: cannot read the file" in result.output


def test_routes_lists_every_operation_and_the_control_api() -> None:
    result = CliRunner().invoke(main, ["routes", "--spec", str(WIDGETS)], env={})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(
        line.split() == ["POST", "/tamio/v2/customers/bulk/create", "bulkCreateCustomers"]
        for line in lines
    )
    assert any(
        line.split() == ["GET", "/widgets/v1/widgets/{widget_id}", "getWidget"] for line in lines
    )
    assert lines[-1].startswith("control  /__mock")


def test_routes_match_the_operation_list_of_every_bundled_spec() -> None:
    result = CliRunner().invoke(main, ["routes"], env={})
    assert result.exit_code == 0, result.output
    served = {
        tuple(line.split()) for line in result.output.splitlines() if line.startswith("  ")
    }
    documented = set()
    for path in bundled_spec_paths():
        document = read_document(path)
        mount = "/" + document["x-mock"]["name"] + urlparse(document["servers"][0]["url"]).path
        for route, item in document["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    documented.add((method.upper(), mount + route, op["operationId"]))
    assert ("PATCH", "/bunce/v1/customers/{customer_id}/devices", "updateCustomerDevice") in served
    assert served == documented


def test_routes_with_a_broken_spec_exits_with_the_spec_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {a: {}}\n")
    result = CliRunner().invoke(main, ["routes", "--spec", str(broken)], env={})
    assert result.exit_code == 3
    assert f"error: {broken}#/paths/a: a path must start with '/'" in result.output


def test_python_dash_m_mockserver_shows_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Usage: mockserver" in result.stdout
    for command in ("serve", "validate", "routes"):
        assert command in result.stdout
