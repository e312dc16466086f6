"""``mockserver serve --tls`` over real HTTPS, with the clients of several stacks: the Tamio
document's Ruby sample, Python requests and Node's fetch, each trusting the mock's local CA the
way docs/tls.md says; a client that does not trust it fails fast with a TLS error."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from tooling import require_program

from mockserver.testing import ServeProcess

from .conftest import start_tls

pytestmark = pytest.mark.slow

RUBY_SAMPLE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "documented" / "tamio_bulk_create.rb"
)
BUNCE_CUSTOMER = {
    "customer_id": "0000",
    "first_name": "John",
    "last_name": "Doe",
    "email": "johndoe21@example.com",
    "phone_no": "+23481999999999",
}


def journal(server: ServeProcess, **params: str) -> list[dict[str, object]]:
    answer = requests.get(
        f"{server.url}/__mock/requests", params=params, verify=str(server.ca_bundle), timeout=5
    )
    assert answer.status_code == 200
    entries: list[dict[str, object]] = answer.json()["requests"]
    return entries


def test_the_ruby_sample_with_use_ssl_works_with_only_the_base_url_changed(
    tls_server: ServeProcess, tmp_path: Path
) -> None:
    ruby = require_program("ruby")
    source = RUBY_SAMPLE.read_text()
    assert "https.use_ssl = true" in source
    sample = tmp_path / "sample.rb"
    sample.write_text(source.replace("https://api.tamio.com/v2", f"{tls_server.url}/tamio/v2"))
    before = len(journal(tls_server, operation="bulkCreateCustomers"))
    env = {**os.environ, "SSL_CERT_FILE": str(tls_server.ca_bundle)}
    done = subprocess.run(
        [ruby, str(sample)], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"status":200}'
    calls = journal(tls_server, operation="bulkCreateCustomers")
    assert len(calls) == before + 1 and calls[-1]["status"] == 200


def test_python_requests_trusts_the_ca_through_requests_ca_bundle(tls_server: ServeProcess) -> None:
    # As a user's shell would: the variable alone, no verify= in the client code.
    code = (
        "import requests, sys\n"
        f"r = requests.post('{tls_server.url}/bunce/v1/customers/bulk', timeout=10,\n"
        "    headers={'X-Authorization': 'sk_test_tls'},\n"
        f"    json={{'customers': [{BUNCE_CUSTOMER!r}]}})\n"
        "print(r.status_code, r.json()['success'])\n"
    )
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(tls_server.ca_bundle)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "True"]


def test_node_fetch_trusts_the_ca_through_node_extra_ca_certs(tls_server: ServeProcess) -> None:
    node = require_program("node")
    # The Tamio document's fetch sample, base URL changed (it sends JSON as text/plain).
    script = f"""
        var myHeaders = new Headers();
        myHeaders.append("Accept", "application/json");
        myHeaders.append("Authorization", "Bearer YOUR_TOKEN_HERE");
        var data = {{customers: [{{name: 'John', last_name: 'Doe', country: 'de',
                                   email: 'john.doe@tamio.com'}}]}};
        var requestOptions = {{method: 'POST', headers: myHeaders, body: JSON.stringify(data)}};
        fetch("{tls_server.url}/tamio/v2/customers/bulk/create", requestOptions)
          .then(response => response.text())
          .then(result => console.log(result))
          .catch(error => {{ console.log('error', error.cause || error); process.exit(1); }});
    """
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(tls_server.ca_bundle)}
    done = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == '{"status":200}'


def test_a_client_that_does_not_trust_the_ca_fails_with_a_tls_error_quickly(
    tls_server: ServeProcess,
) -> None:
    started = time.monotonic()
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        # The default trust store (certifi, or REQUESTS_CA_BUNDLE's system CAs) lacks the mock's CA.
        requests.get(f"{tls_server.url}/__mock/health", timeout=10)
    assert time.monotonic() - started < 5
    # The server is unharmed: the next trusting client is answered.
    answer = requests.get(
        f"{tls_server.url}/__mock/health", verify=str(tls_server.ca_bundle), timeout=5
    )
    assert answer.status_code == 200


def test_node_without_the_ca_fails_with_a_certificate_error(tls_server: ServeProcess) -> None:
    node = require_program("node")
    script = (
        f"fetch('{tls_server.url}/__mock/health')"
        ".then(() => process.exit(0))"
        ".catch(e => { console.log(e.cause && e.cause.code); process.exit(3); });"
    )
    env = {k: v for k, v in os.environ.items() if k != "NODE_EXTRA_CA_CERTS"}
    started = time.monotonic()
    done = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.strip() == "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
    assert time.monotonic() - started < 10


def test_both_workers_answer_over_tls(tls_server: ServeProcess) -> None:
    pids = set()
    for _ in range(40):
        # A new connection each time, so the kernel can hand it to either worker.
        answer = requests.get(
            f"{tls_server.url}/__mock/health", verify=str(tls_server.ca_bundle), timeout=5
        )
        pids.add(answer.json()["pid"])
        if len(pids) == 2:
            break
    assert len(pids) == 2, "only one worker answered over TLS"


def test_the_start_up_lines_say_where_the_ca_is_and_how_to_trust_it(
    tls_server: ServeProcess,
) -> None:
    log = tls_server.log()
    assert f"https://127.0.0.1:{tls_server.port}" in log
    for variable in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        assert f"{variable}={tls_server.ca_bundle}" in log


def test_the_ca_is_made_once_and_kept_while_the_leaf_is_issued_anew(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_tls(data, "--tls")
    try:
        ca_before = (data / "ca" / "ca.pem").read_bytes()
        leaf_before = ssl.get_server_certificate(("127.0.0.1", first.port))
    finally:
        first.stop()
    second = start_tls(data, "--tls")
    try:
        assert (data / "ca" / "ca.pem").read_bytes() == ca_before  # clients keep trusting it
        assert ssl.get_server_certificate(("127.0.0.1", second.port)) != leaf_before
        answer = requests.get(
            f"{second.url}/__mock/health", verify=str(second.ca_bundle), timeout=5
        )
        assert answer.status_code == 200
    finally:
        second.stop()
    assert oct((data / "ca" / "ca-key.pem").stat().st_mode & 0o777) == "0o600"


def test_tls_cert_and_tls_key_serve_the_users_own_certificate(tmp_path: Path) -> None:
    from mockserver import tls

    own = tls.local_files(tmp_path / "own")  # a certificate from some other CA of the user's
    assert own.ca_bundle is not None
    server = start_tls(
        tmp_path / "unused",
        "--tls-cert",
        own.cert,
        "--tls-key",
        own.key,
        verify=own.ca_bundle,
    )
    try:
        answer = requests.get(f"{server.url}/__mock/health", verify=own.ca_bundle, timeout=5)
        assert answer.status_code == 200
        assert not (tmp_path / "unused").exists()  # no local CA made
        assert "NODE_EXTRA_CA_CERTS" not in server.log()  # the user knows their CA
    finally:
        server.stop()
