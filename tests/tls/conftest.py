"""``mockserver serve --tls`` as a subprocess, with its local CA in a folder of the test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.testing import ServeProcess, serve


def start_tls(
    tls_dir: Path, *args: str, verify: str | None = None, workers: int = 1
) -> ServeProcess:
    """``mockserver serve`` with ``args`` (``--tls`` or ``--tls-cert/--tls-key``), the local CA
    kept in ``tls_dir``; returns once ``/__mock/health`` answers over HTTPS, trusting ``verify``
    or else the local CA (``ca_bundle``)."""
    local_ca = tls_dir / "ca" / "ca.pem" if "--tls" in args else None
    return serve(
        *("--workers", str(workers), "--quiet", "--validate-responses", "strict", *args),
        env={"MOCKSERVER_TLS_DIR": str(tls_dir)},
        ca_bundle=verify or local_ca,
    )


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """``mockserver serve --tls --workers 2``: the local CA, two worker processes."""
    with start_tls(tmp_path_factory.mktemp("tls") / "data", "--tls", workers=2) as server:
        yield server
