"""``mockserver contract`` on a user's spec, against ``mockserver serve`` (real HTTP): a spec
split over several files is checked like one file, and a refusal the spec does not document
is listed as the spec's fault without failing the run (unless ``--strict``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from mockserver.cli import main

from .serving import SPECS, Served, serve

pytestmark = pytest.mark.slow
TREE = SPECS / "tree" / "openapi.yaml"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = serve(tmp_path_factory.mktemp("contract"), "--spec", f"tree={TREE}")
    yield served
    served.stop()


def contract(server: Served, *options: str) -> Result:
    return CliRunner().invoke(
        main,
        ["contract", str(TREE), "--url", server.url + "/tree", "--max-examples", "5", *options],
        catch_exceptions=False,
    )


def test_a_spec_split_over_files_is_checked_with_its_references_followed(server: Served) -> None:
    result = contract(server)
    assert "Unresolvable reference" not in result.output
    assert "FAIL" not in result.output, result.output
    assert "2 operation(s)" in result.output and "coverage" in result.output


def test_an_undocumented_refusal_is_the_specs_fault_and_passes(server: Served) -> None:
    # POST /nodes documents only its 201: invalid nodes get a 400 the spec does not list.
    result = contract(server)
    assert result.exit_code == 0, result.output
    assert "SPEC POST /nodes documents no 400 answer" in result.output
    assert "FAIL" not in result.output
    assert result.output.rstrip().endswith("the spec's fault")


def test_strict_counts_an_undocumented_refusal_as_a_failure(server: Served) -> None:
    result = contract(server, "--strict")
    assert result.exit_code == 1, result.output
    assert "FAIL POST /nodes [status_code_conformance]" in result.output
    assert "SPEC " not in result.output
