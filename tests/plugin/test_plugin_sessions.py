"""The plugin seen from a user's test suite: inner pytest sessions run by pytester."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from mockserver.openapi.loader import bundled_spec_dir

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.mark.slow
def test_a_folder_with_just_a_test_file_gets_the_fixture(pytester: pytest.Pytester) -> None:
    # Nothing but an installed package: no conftest, no import of the plugin, a fresh Python
    # process. The fixture can only come from the `pytest11` entry point.
    pytester.makepyfile(test_after_pip_install="""
        import requests

        def test_x(mockserver):
            url = mockserver.base_url("bunce")
            assert url.startswith("http://127.0.0.1:") and url.endswith("/bunce/v1")
            customer = {"customer_id": "1", "email": "a@example.com", "first_name": "A",
                        "last_name": "B", "phone_no": "+4915112345678"}
            answer = requests.post(url + "/customers/bulk", json={"customers": [customer]},
                                   headers={"X-Authorization": "sk_test_x"}, timeout=5)
            assert answer.status_code == 200
            mockserver.assert_called("createCustomersBulk", times=1)
    """)
    assert not list(pytester.path.glob("conftest.py"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["plugins:*mockserver-*"])


def test_state_and_journal_are_empty_at_each_test_start(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_isolation="""
        import requests

        BODY = {"customer_id": "1", "email": "same@example.com", "first_name": "A",
                "last_name": "B", "phone_no": "+4915112345678"}

        def create(mockserver):
            return requests.post(mockserver.base_url("bunce") + "/customers", json=BODY,
                                 headers={"X-Authorization": "sk_test_x"}, timeout=5)

        def test_first(mockserver):
            assert create(mockserver).status_code == 201
            assert create(mockserver).status_code == 409  # same email again

        def test_second_starts_clean(mockserver):
            assert mockserver.requests() == []
            assert mockserver.customers("bunce", "sk_test_x") == []
            assert create(mockserver).status_code == 201  # not a duplicate any more
    """)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_config_fixtures_are_overridable_in_a_conftest(pytester: pytest.Pytester) -> None:
    # A user's own spec beside the bundled ones, a seed, and a data set loaded for every test.
    spec = (bundled_spec_dir() / "bunce.yaml").read_text(encoding="utf-8")
    (pytester.path / "acme.yaml").write_text(
        spec.replace("name: bunce", "name: acme", 1), encoding="utf-8")
    dataset = {"bunce": {"sk_test_acme": [{"customer_id": "42", "email": "x@example.com",
                                            "first_name": "X", "last_name": "Y",
                                            "phone_no": "+4915112345678"}]}}
    (pytester.path / "dataset.json").write_text(json.dumps(dataset), encoding="utf-8")
    pytester.makeconftest("""
        import pathlib
        import pytest

        HERE = pathlib.Path(__file__).parent

        @pytest.fixture(scope="session")
        def mockserver_specs():
            return [str(HERE / "acme.yaml")]

        @pytest.fixture(scope="session")
        def mockserver_seed():
            return 99

        @pytest.fixture(scope="session")
        def mockserver_dataset():
            return str(HERE / "dataset.json")
    """)
    pytester.makepyfile(test_configured="""
        import requests

        def test_uses_the_overrides(mockserver):
            assert mockserver.services.settings.seed == 99
            assert mockserver.base_url("acme").endswith("/acme/v1")  # the user's spec
            example = requests.get(mockserver.base_url("acme") + "/customers/42", timeout=5,
                                   headers={"X-Authorization": "sk_test_acme"})
            assert example.json()["data"]["customer_id"] == "2222"  # no behaviour: the example
            found = requests.get(mockserver.base_url("bunce") + "/customers/42", timeout=5,
                                 headers={"X-Authorization": "sk_test_acme"})
            assert found.json()["data"]["email"] == "x@example.com"  # the data set
            mockserver.seed("bunce", "sk_test_acme", [{**found.json()["data"], "customer_id": "43",
                                                       "email": "z@example.com"}])

        def test_data_set_is_back_after_reset(mockserver):
            stored = mockserver.customers("bunce", "sk_test_acme")
            assert [c["customer_id"] for c in stored] == ["42"]
    """)
    pytester.runpytest().assert_outcomes(passed=2)


def test_errors_inside_the_mock_fail_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import dataclasses

        import pytest
        from mockserver import apis

        def broken(call):
            raise RuntimeError("boom inside the mock")

        @pytest.fixture(scope="session")
        def mockserver_apis():
            # The bundled packs, with one behaviour that breaks.
            return [
                dataclasses.replace(pack, behaviours={**pack.behaviours, "getCustomer": broken})
                if pack.name == "bunce" else pack
                for pack in apis.bundled()
            ]
    """)
    pytester.makepyfile(test_server_error="""
        import requests

        def test_ignores_the_500(mockserver):
            response = requests.get(mockserver.base_url("bunce") + "/customers/1",
                                    headers={"X-Authorization": "sk_test_x"}, timeout=5)
            assert response.status_code == 500  # the test itself would pass

        def test_trips_over_the_500(mockserver):
            response = requests.get(mockserver.base_url("bunce") + "/customers/1",
                                    headers={"X-Authorization": "sk_test_x"}, timeout=5)
            assert response.status_code == 200

        def test_next_test_is_unaffected(mockserver):
            mockserver.assert_called("getCustomer", times=0)
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=2, passed=1)
    text = result.stdout.str()
    # Failed in the test (call phase), not as a teardown error, with the mock's exception.
    result.stdout.fnmatch_lines(["FAILED*test_ignores_the_500 - mockserver.testing.Server*"])
    assert "1 error(s) inside the mock" in text
    assert "RuntimeError: boom inside the mock" in text
    # The failing assertion gets the mock's error as a note explaining the 500.
    assert "assert 500 == 200" in text
    assert text.count("RuntimeError: boom inside the mock") >= 2


@pytest.mark.slow
def test_safe_under_xdist(pytester: pytest.Pytester) -> None:
    # Each worker starts its own mock on a free port; every test sees an empty store, so all
    # of them can create the same customer.
    pytester.makepyfile(test_parallel=textwrap.dedent("""
        import os
        import pytest
        import requests

        @pytest.mark.parametrize("n", range(6))
        def test_create_same_customer(mockserver, n):
            body = {"customers": [{"customer_id": "1", "email": "same@example.com",
                                   "first_name": "A", "last_name": "B",
                                   "phone_no": "+4915112345678"}]}
            answer = requests.post(mockserver.base_url("bunce") + "/customers/bulk", json=body,
                                   headers={"X-Authorization": "sk_test_x"}, timeout=5)
            assert answer.status_code == 200, answer.text
            assert len(mockserver.requests()) == 1
            with open(f"port-{os.environ['PYTEST_XDIST_WORKER']}-{n}", "w") as f:
                f.write(mockserver.url)
    """))
    result = pytester.runpytest("-n", "2", "-p", "no:randomly")
    result.assert_outcomes(passed=6)
    per_worker: dict[str, set[str]] = {}
    for path in pytester.path.glob("port-*"):
        per_worker.setdefault(path.name.split("-")[1], set()).add(path.read_text())
    assert len(per_worker) == 2, "both workers ran tests"
    assert all(len(found) == 1 for found in per_worker.values()), "one server per worker"
    assert len({next(iter(found)) for found in per_worker.values()}) == 2, "on different ports"


def test_documented_fixture_files_load_as_a_dataset(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(f"""
        import pytest

        @pytest.fixture(scope="session")
        def mockserver_dataset():
            return {str(FIXTURES / "datasets" / "small.json")!r}
    """)
    pytester.makepyfile(test_small="""
        def test_small(mockserver):
            assert len(mockserver.customers("bunce", "sk_test_demo")) == 10
            assert len(mockserver.customers("tamio", "tamio_demo_token")) == 10
    """)
    pytester.runpytest().assert_outcomes(passed=1)
