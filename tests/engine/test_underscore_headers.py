"""Header names with underscores arrive: a spec whose API key travels in ``api_key`` (Swagger's
petstore does this) authenticates over real HTTP, under ``mockserver serve`` and under the
pytest fixture's server; both HTTP servers drop such headers unless told otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockserver.config import Settings
from mockserver.testing import MockServer, serve

pytestmark = pytest.mark.slow

SPEC = """\
openapi: 3.0.3
info: {title: Pets, version: "1.0"}
servers: [{url: "https://pets.example/v3"}]
x-mock: {name: pets}
components:
  securitySchemes:
    api_key: {type: apiKey, in: header, name: api_key}
paths:
  /pets/{petId}:
    get:
      operationId: getPetById
      security: [{api_key: []}]
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: A pet.
          content:
            application/json:
              schema:
                type: object
                required: [id, name]
                properties: {id: {type: integer}, name: {type: string}}
              example: {id: 7, name: Rex}
        "401":
          description: No API key.
"""


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pets") / "pets.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module", params=["serve", "pytest fixture"])
def pets_url(request: pytest.FixtureRequest, spec: Path) -> Iterator[str]:
    if request.param == "serve":
        with serve("--spec", str(spec), "--no-bundled", "--quiet") as served:
            yield served.base_url("pets")
    else:
        mock = MockServer.start(Settings(specs=[str(spec)], bundled=False, log_requests=False))
        try:
            yield mock.base_url("pets")
        finally:
            mock.stop()


def test_an_api_key_header_named_with_an_underscore_authenticates(pets_url: str) -> None:
    answer = requests.get(f"{pets_url}/pets/7", headers={"api_key": "special-key"}, timeout=10)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": 7, "name": "Rex"}


def test_without_the_header_it_is_401(pets_url: str) -> None:
    answer = requests.get(f"{pets_url}/pets/7", timeout=10)

    assert answer.status_code == 401
    assert "api_key" in answer.text
