"""``mockserver contract`` on a user's spec, against ``mockserver serve`` (real HTTP): a spec
split over several files is checked like one file, and a refusal the spec does not document
is listed as the spec's fault without failing the run (unless ``--strict``)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from mockserver import contract as contracts
from mockserver.cli import main
from mockserver.openapi.loader import bundled_spec_dir
from mockserver.testing import ServeProcess

from .serving import SPECS

pytestmark = pytest.mark.slow
TREE = SPECS / "tree" / "openapi.yaml"


SERVE_ARGS = ["--spec", f"tree={TREE}"]


def contract(server: ServeProcess, *options: str) -> Result:
    return CliRunner().invoke(
        main,
        ["contract", str(TREE), "--url", server.url + "/tree", "--max-examples", "5", *options],
        catch_exceptions=False,
    )


def test_a_spec_split_over_files_is_checked_with_its_references_followed(
    server: ServeProcess,
) -> None:
    result = contract(server)
    assert "Unresolvable reference" not in result.output
    assert "FAIL" not in result.output, result.output
    assert "2 operation(s)" in result.output and "coverage" in result.output


def test_an_undocumented_refusal_is_the_specs_fault_and_passes(server: ServeProcess) -> None:
    # POST /nodes documents only its 201: invalid nodes get a 400 the spec does not list.
    result = contract(server)
    assert result.exit_code == 0, result.output
    assert "SPEC POST /nodes documents no 400 answer" in result.output
    assert "FAIL" not in result.output
    assert result.output.rstrip().endswith("the spec's fault")


def test_strict_counts_an_undocumented_refusal_as_a_failure(server: ServeProcess) -> None:
    result = contract(server, "--strict")
    assert result.exit_code == 1, result.output
    assert "FAIL POST /nodes [status_code_conformance]" in result.output
    assert "SPEC " not in result.output


def test_what_the_mock_does_not_emulate_for_a_user_spec_is_allowed_against_the_mock_only() -> None:
    document = contracts.read_spec(TREE)
    allowed = contracts.allowances_for(document, target="mock")
    assert {a.check for a in allowed} == {
        "ignored_auth",
        "use_after_free",
        "ensure_resource_availability",
    }
    assert all(a.operations == () for a in allowed)  # every operation
    config = contracts.config_dict(document, target="mock")
    assert config["checks"]["use_after_free"] == {"enabled": False}
    assert contracts.allowances_for(document, target="deployment") == []
    assert contracts.allowances_for(document, target="mock", strict=True) == []
    # A bundled spec keeps its state checks: its behaviours store what it creates.
    bunce = contracts.read_spec(bundled_spec_dir() / "bunce.yaml")
    assert not {"use_after_free", "ignored_auth"} & {
        a.check for a in contracts.allowances_for(bunce, target="mock")
    }
