"""The user-spec suites run against ``mockserver serve --no-bundled`` over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver.testing import ServeProcess, serve


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[ServeProcess]:
    """``mockserver serve --no-bundled --seed 7 SERVE_ARGS`` for the whole module, whose
    ``SERVE_ARGS`` name the specs to serve."""
    with serve("--no-bundled", "--seed", "7", *request.module.SERVE_ARGS) as served:
        yield served
