"""A concrete path owns its URL (OpenAPI: concrete paths match before templated ones), and a
``%0A`` in a path segment neither routes elsewhere nor splits the log line. Over real HTTP."""

from __future__ import annotations

import pytest
import requests

from mockserver.testing import ServeProcess

from .serving import SPECS

pytestmark = pytest.mark.slow


SERVE_ARGS = ["--spec", str(SPECS / "petstore.yaml")]


def test_a_concrete_path_is_matched_before_a_templated_one(server: ServeProcess) -> None:
    found = requests.get(server.url + "/petstore/pet/findByStatus?status=sold", timeout=10)
    assert found.status_code == 200 and found.json() == [{"name": "doggie"}]
    assert requests.get(server.url + "/petstore/pet/7", timeout=10).json() == {"name": "doggie"}


def test_another_method_on_a_concrete_path_is_405_with_that_paths_allow(
    server: ServeProcess
) -> None:
    answer = requests.post(server.url + "/petstore/pet/findByStatus", timeout=10)
    assert answer.status_code == 405  # not updatePetWithForm with petId "findByStatus"
    assert answer.headers["Allow"] == "GET"


def test_a_newline_in_a_segment_neither_reroutes_nor_splits_the_log(server: ServeProcess) -> None:
    answer = requests.get(server.url + "/petstore/pet/findByStatus%0A", timeout=10)
    assert answer.status_code == 400  # getPetById: "findByStatus\n" is no integer
    journal = requests.get(server.url + "/__mock/requests", timeout=10).json()["requests"]
    assert journal[-1]["operation_id"] == "getPetById"
    lines = [line for line in server.log().splitlines() if "findByStatus%0A" in line]
    assert len(lines) == 1 and "-> 400 (getPetById" in lines[0], server.log()
