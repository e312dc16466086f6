"""Rules 7 and 8 over real HTTP: ``mockserver serve`` as a subprocess, its start-up time, its log
line per request, the vendors' documented code samples run with real clients (curl, node, ruby,
java) with only the base URL swapped, and HTTP-level hostile input."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from shared import free_port
from tooling import require_program

from mockserver.testing import ServeProcess, serve

from .support import DOCUMENTED, MIB, WIDGETS, documented

pytestmark = pytest.mark.slow

MOCKSERVER = str(Path(sys.executable).with_name("mockserver"))
START_UP_TARGET_S = 0.5
# A bare Flask app under gunicorn (benchmarks/bare_flask.py) answered its first request this long
# after it was started on the machine the target was set on (benchmarks/run.py, "bare").
BARE_START_UP_S = 0.19
BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
BUNCE_KEY = "sk_live_************************"  # as in Bunce's samples


@pytest.fixture(scope="module")
def server() -> Iterator[ServeProcess]:
    with serve("--spec", str(WIDGETS)) as served:
        yield served


@pytest.fixture
def mock(server: ServeProcess) -> ServeProcess:
    server.reset()
    return server


def request_log_lines(server: ServeProcess) -> list[str]:
    return [line for line in server.log().splitlines() if "mockserver.requests:" in line]


def run(command: list[str], cwd: Path | None = None, timeout: float = 60) -> str:
    finished = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def needs(program: str) -> str:
    return require_program(program)


# -- start-up --------------------------------------------------------------------------------------


def test_serve_answers_its_first_request_within_half_a_second(
    tmp_path: Path, record_property
) -> None:
    # As after `pip install`: byte code cached (kept out of the source tree by a cache prefix).
    env = {"PYTHONDONTWRITEBYTECODE": None, "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}
    warm_up = "import mockserver.cli, mockserver.server, gunicorn.arbiter, mockserver.httpworker"
    cached = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    subprocess.run([sys.executable, "-c", warm_up], env=cached, check=True, timeout=60)
    timings = []
    for _ in range(3):  # the best of three, so one slow moment of a busy machine does not decide
        with serve("--quiet", env=env, command=[MOCKSERVER]) as served:
            timings.append(served.ready_after_s)  # from the start to its first answer
            url = served.base_url("bunce") + "/customers"
            requests.get(url, headers={"X-Authorization": "sk_test_1"}, timeout=10)
        assert "mockserver.requests" not in served.log()  # --quiet: no line per request
        if timings[-1] < START_UP_TARGET_S:
            break
    measured = [round(t, 3) for t in timings]
    record_property("start_up_s", measured)
    print(f"start-up to first answer: {measured} s")
    if min(timings) < START_UP_TARGET_S:
        return
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    if load > 1.0:  # ~0.35 s of CPU work: on an overloaded machine wall time says little
        pytest.skip(f"machine overloaded (load {load:.1f} per CPU); start-up took {measured} s")
    # A machine slower than the one the target was set on (a busy host) has the target scaled by
    # how much slower the same stack bare (gunicorn, Flask) starts on it now.
    bare = min(bare_flask_start_up(env) for _ in range(3))
    allowed = START_UP_TARGET_S * max(1.0, bare / BARE_START_UP_S)
    print(f"a bare Flask app under gunicorn: {bare:.3f} s; allowed {allowed:.3f} s")
    assert min(timings) < allowed, (
        f"start-up to first answer took {measured} s; a bare Flask app {bare:.3f} s"
    )


def bare_flask_start_up(env: dict[str, str | None]) -> float:
    """Seconds from starting benchmarks/bare_flask.py under gunicorn, with ``serve``'s worker
    model, to its first answer to a bulk request."""
    port = free_port()
    merged = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "8"]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "-b", f"127.0.0.1:{port}", "bare_flask:app"],
        cwd=BENCHMARKS,
        env=merged,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = started + 30
        while time.perf_counter() < deadline:
            try:
                answer = requests.post(
                    f"http://127.0.0.1:{port}/bunce/v1/customers/bulk",
                    json={"customers": []},
                    timeout=2,
                )
                if answer.status_code == 200:
                    return time.perf_counter() - started
            except requests.ConnectionError:
                pass
            time.sleep(0.005)
        raise AssertionError("the bare Flask app did not answer within 30 s")
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=10)


def test_each_request_is_logged_in_one_line(mock: ServeProcess) -> None:
    before = len(request_log_lines(mock))
    requests.get(
        mock.base_url("bunce") + "/customers", headers={"X-Authorization": "sk_test_1"}, timeout=10
    )
    requests.get(
        mock.base_url("tamio") + "/customers/list",
        headers={"Authorization": "Bearer t"},
        timeout=10,
    )
    requests.get(mock.url + "/nowhere", timeout=10)
    deadline = time.monotonic() + 5
    while len(request_log_lines(mock)) < before + 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    lines = request_log_lines(mock)[before:]
    assert len(lines) == 3, lines
    assert lines[0].endswith(
        "bunce GET /bunce/v1/customers -> 200 (listCustomers, " + lines[0].rsplit(", ", 1)[1]
    )
    assert "tamio GET /tamio/v2/customers/list -> 400 (listCustomers" in lines[1]
    assert "GET /nowhere -> 404 (outside every API)" in lines[2]


def test_a_bad_example_stops_serve_strict_examples_with_file_pointer_and_problem(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n"
        "      responses:\n        '200':\n          description: x\n          content:\n"
        "            application/json:\n              schema: {type: integer}\n"
        "              example: nope\n"
    )
    finished = subprocess.run(
        [
            MOCKSERVER,
            "serve",
            "--port",
            "0",
            "--strict-examples",
            "--spec",
            str(broken),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 3
    assert finished.stderr.strip().endswith(
        f"error: {broken}#/paths/~1a/get/responses/200/content/application~1json/example: "
        "example does not match its schema: example: 'nope' is not of type integer"
    )
    assert "Traceback" not in finished.stderr


# -- the vendors' code samples, base URL swapped ---------------------------------------------------


def test_tamio_curl_sample_form_encoded_json_is_scheduled(mock: ServeProcess) -> None:
    needs("curl")
    output = run(
        [
            "curl",
            "--location",
            "--request",
            "POST",
            mock.base_url("tamio") + "/customers/bulk/create",
            "--header",
            "Accept: application/json",
            "--header",
            "Authorization: Bearer YOUR_TOKEN_HERE",
            "--data-raw",
            documented("tamio_bulk_request_curl").decode().strip(),
        ]
    )
    assert json.loads(output) == {"status": 200}
    entry = mock.requests()[-1]
    assert (entry["operation_id"], entry["status"]) == ("bulkCreateCustomers", 200)
    assert (
        "body parsed as JSON although Content-Type is 'application/x-www-form-urlencoded'"
        in entry["notes"]
    )
    assert_imported(mock, "john.doe@plugnpaid.com")


def assert_imported(mock: ServeProcess, email: str, token: str = "YOUR_TOKEN_HERE") -> None:
    """The sample's import ran: John is listed for the sample's token, and the account got the
    import's completion notification."""
    control = mock.url + "/__mock"
    assert requests.post(control + "/jobs/flush", timeout=10).status_code == 200
    listed = requests.get(
        mock.base_url("tamio") + "/customers/list",
        params={"page": 1, "per_page": 10},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    assert [(c["name"], c["email"], c["source"]) for c in listed["customers"]] == [
        ("John", email, "import")
    ]
    notifications = requests.get(
        control + "/notifications", params={"api": "tamio", "account": token}, timeout=10
    ).json()["notifications"]
    assert [(n["created"], n["skipped"]) for n in notifications] == [(1, 0)]


TAMIO_FETCH = """\
var myHeaders = new Headers();
myHeaders.append("Accept", "application/json");
myHeaders.append("Authorization", "Bearer YOUR_TOKEN_HERE");

var data = {
  customers: [
    { name: 'John', last_name: 'Doe', country: 'de', email: 'john.doe@tamio.com' }
  ]
};
var body = JSON.stringify(data);

var requestOptions = {
  method: 'POST',
  headers: myHeaders,
  body: body
};

fetch("BASE_URL/customers/bulk/create", requestOptions)
  .then(response => response.text())
  .then(result => console.log(result))
  .catch(error => console.log('error', error));
"""


def test_tamio_fetch_sample_text_plain_json_is_scheduled(
    mock: ServeProcess, tmp_path: Path
) -> None:
    node = needs("node")
    sample = tmp_path / "sample.js"
    sample.write_text(TAMIO_FETCH.replace("BASE_URL", mock.base_url("tamio")))
    assert json.loads(run([node, str(sample)])) == {"status": 200}
    entry = mock.requests()[-1]
    assert entry["status"] == 200
    assert "body parsed as JSON although Content-Type is 'text/plain'" in entry["notes"]
    assert_imported(mock, "john.doe@tamio.com")


TAMIO_RUBY = DOCUMENTED / "tamio_bulk_create.rb"


def test_tamio_ruby_sample_over_plain_http_is_imported(mock: ServeProcess, tmp_path: Path) -> None:
    """The document's Ruby Net::HTTP sample, run by Debian's ruby, with the base URL swapped.

    The sample sets ``https.use_ssl = true``, and this mock is served over plain HTTP, so the
    test also turns that line to ``false`` (TLS against a plain-HTTP port fails the handshake);
    that is the only other change. Run unchanged, the sample needs the mock served over HTTPS
    (``serve --tls``), which ``tests/tls/`` covers.
    """
    ruby = needs("ruby")
    original = TAMIO_RUBY.read_text()
    assert original.count("https://api.tamio.com/v2") == 1
    assert original.count("https.use_ssl = true") == 1
    sample = tmp_path / "bulk_create.rb"
    sample.write_text(
        original.replace("https://api.tamio.com/v2", mock.base_url("tamio")).replace(
            "https.use_ssl = true", "https.use_ssl = false"
        )
    )

    output = run([ruby, str(sample)])

    assert json.loads(output) == {"status": 200}
    entry = mock.requests()[-1]
    assert (entry["operation_id"], entry["status"]) == ("bulkCreateCustomers", 200)
    # Net::HTTP posts its body as application/x-www-form-urlencoded unless told otherwise.
    assert (
        "body parsed as JSON although Content-Type is 'application/x-www-form-urlencoded'"
        in entry["notes"]
    )
    assert_imported(mock, "john.doe@tamio.com")


def test_bunce_curl_sample_creates_both_customers(mock: ServeProcess) -> None:
    needs("curl")
    body = json.loads(
        run(
            [
                "curl",
                "--request",
                "POST",
                "--url",
                mock.base_url("bunce") + "/customers/bulk",
                "--header",
                "Content-Type: application/json",
                "--header",
                f"X-Authorization: {BUNCE_KEY}",
                "--data",
                " " + documented("bunce_bulk_request_curl").decode(),
            ]
        )
    )
    assert body["success"] is True and body["message"] == "Customers created successfully"
    assert [c["customer_id"] for c in body["data"]] == ["0000", "1111"]
    assert [d["device_type"] for d in body["data"][0]["devices"]] == ["ios", "android"]
    assert mock.requests()[-1]["status"] == 200


BUNCE_FETCH = """\
// import fetch from 'node-fetch'  (Node 18+ has fetch built in; the package is not needed)

let url = 'BASE_URL/customers/bulk';

let options = {
  method: 'POST',
  headers: {
    'X-Authorization': 'sk_live_************************',
    'Content-Type': 'application/json',
  },
  body: 'BODY',
};

fetch(url, options)
  .then(res => res.json())
  .then(json => console.log(json))
  .catch(err => console.error('error:' + err));
"""


ULID = r"[0-9A-HJKMNP-TV-Z]{26}"


def assert_created_with_an_assigned_id(mock: ServeProcess, first_id: str) -> None:
    """The sample's two customers exist; the second, sent without customer_id, got a ULID."""
    listed = requests.get(
        mock.base_url("bunce") + "/customers", headers={"X-Authorization": BUNCE_KEY}, timeout=10
    ).json()["data"]["data"]
    assert [c["email"] for c in listed] == ["johndoe21@example.com", "johndoe22@example.com"]
    assert listed[0]["customer_id"] == first_id
    assert re.fullmatch(ULID, listed[1]["customer_id"]), listed[1]["customer_id"]
    journal = mock.requests()
    assert (journal[-1]["operation_id"], journal[-1]["status"]) == ("listCustomers", 200)
    assert journal[-2]["status"] == 200


def test_bunce_node_fetch_sample_creates_both_customers_without_a_customer_id(
    mock: ServeProcess, tmp_path: Path
) -> None:
    """The documented node-fetch sample; node 20's global ``fetch`` stands in for the package."""
    node = needs("node")
    sample = tmp_path / "sample.js"
    body = documented("bunce_bulk_request_js").decode().strip()
    sample.write_text(BUNCE_FETCH.replace("BASE_URL", mock.base_url("bunce")).replace("BODY", body))
    output = run([node, str(sample)])
    assert "message: 'Customers created successfully'" in output
    assert "success: true" in output
    assert_created_with_an_assigned_id(mock, "0000")


BUNCE_JAVA = r"""
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

public class Sample {
    public static void main(String[] args) throws Exception {
HttpRequest request = HttpRequest.newBuilder()
.uri(URI.create("BASE_URL/customers/bulk"))
.header("X-Authorization", "sk_live_************************")
.header("Content-Type", "application/json")
.method("POST", HttpRequest.BodyPublishers.ofString(" {\n \"customers\": [\n {\n \"customer_id\": \"0000\", \n \"first_name\": \"John\",\n \"last_name\": \"Doe\",\n \"email\": \"johndoe21@example.com\",\n \"phone_no\": \"+23481999999999\"\n },\n {\n \"customer_id\": \"John\", \n \"first_name\": \"John\",\n \"last_name\": \"Doe\",\n \"email\": \"johndoe22@example.com\",\n \"phone_no\": \"+23481999999999\"\n }\n ]\n }"))
.build();
HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
System.out.println(response.body());
    }
}
"""  # noqa: E501 - the sample as documented


def test_bunce_java_sample_creates_both_customers(mock: ServeProcess, tmp_path: Path) -> None:
    java = needs("java")
    (tmp_path / "Sample.java").write_text(BUNCE_JAVA.replace("BASE_URL", mock.base_url("bunce")))
    body = json.loads(run([java, "Sample.java"], cwd=tmp_path, timeout=120))
    assert body["success"] is True
    assert [c["customer_id"] for c in body["data"]] == ["0000", "John"]
    assert mock.requests()[-1]["status"] == 200


BUNCE_GO = r"""package main

import (
"fmt"
"strings"
"net/http"
"io/ioutil"
)

func main() {
url := "BASE_URL/customers/bulk"
payload := strings.NewReader(" {\n \"customers\": [\n {\n \"customer_id\": \"t6yygythh\",\n \"first_name\": \"John\",\n \"last_name\": \"Doe\",\n \"email\": \"johndoe21@example.com\",\n \"phone_no\": \"+23481999999999\"\n},\n {\n \"first_name\": \"John\",\n \"last_name\": \"Doe\",\n \"email\": \"johndoe22@example.com\",\n \"phone_no\": \"+23481999999999\"\n}\n ]\n }")
req, _ := http.NewRequest("POST", url, payload)
req.Header.Add("X-Authorization", "sk_live_************************")
req.Header.Add("Content-Type", "application/json")
res, _ := http.DefaultClient.Do(req)
defer res.Body.Close()
body, _ := ioutil.ReadAll(res.Body)
fmt.Println(res)
fmt.Println(string(body))
}
"""  # noqa: E501 - the sample as documented, inside `package main` and `func main()`


def test_bunce_go_sample_creates_both_customers_without_a_customer_id(
    mock: ServeProcess, tmp_path: Path
) -> None:
    """The documented Go sample, run with ``go run`` (standard library only)."""
    go = needs("go")
    (tmp_path / "main.go").write_text(BUNCE_GO.replace("BASE_URL", mock.base_url("bunce")))
    env = {
        **os.environ,
        "GOCACHE": str(tmp_path / "gocache"),
        "GOPATH": str(tmp_path / "gopath"),
        "GO111MODULE": "off",  # one file, standard library only: no module needed
        "GOFLAGS": "",
        "GOTOOLCHAIN": "local",
    }
    finished = subprocess.run(
        [go, "run", "main.go"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr
    status_line, body_line = finished.stdout.strip().splitlines()[-2:]
    assert "200 OK" in status_line  # fmt.Println(res) prints the *http.Response
    body = json.loads(body_line)
    assert body["message"] == "Customers created successfully"
    assert body["data"][0]["customer_id"] == "t6yygythh"
    assert_created_with_an_assigned_id(mock, "t6yygythh")


BUNCE_PHP = r"""<?php
$body = '{
"customers": [
{
"customer_id":"0000",
"first_name": "John",
"last_name": "Doe",
"email": "johndoe21@example.com",
"phone_no": "+23481999999999"
},
{
"customer_id":"1111",
"first_name": "John",
"last_name": "Doe",
"email": "johndoe22@example.com",
"phone_no": "+23481999999999"
}
]
}';
$context = stream_context_create(['http' => [
    'method' => 'POST',
    'header' => [
        'X-Authorization: sk_live_************************',
        'Content-Type: application/json',
    ],
    'content' => $body,
    'ignore_errors' => true,
]]);
echo file_get_contents('BASE_URL/customers/bulk', false, $context);
"""


def test_bunce_php_sample_creates_both_customers(mock: ServeProcess, tmp_path: Path) -> None:
    """The documented PHP sample's request (URL, method, headers, body verbatim), sent with PHP's
    own stream functions: the sample's ``http\\Client`` is the pecl_http extension, which Debian
    does not package."""
    php = needs("php")
    (tmp_path / "sample.php").write_text(BUNCE_PHP.replace("BASE_URL", mock.base_url("bunce")))
    body = json.loads(run([php, str(tmp_path / "sample.php")]))
    assert body["success"] is True
    assert [c["email"] for c in body["data"]] == ["johndoe21@example.com", "johndoe22@example.com"]
    assert [c["customer_id"] for c in body["data"]] == ["0000", "1111"]
    assert mock.requests()[-1]["status"] == 200


# -- hostile input at the HTTP level ---------------------------------------------------------------


def test_a_12_mib_body_is_413_json_also_when_chunked(mock: ServeProcess) -> None:
    url = mock.base_url("bunce") + "/customers/bulk"
    headers = {"X-Authorization": "sk_test_1", "Content-Type": "application/json"}
    sized = requests.post(url, data=b"[" + b" " * (12 * MIB) + b"]", headers=headers, timeout=30)
    assert sized.status_code == 413
    assert sized.json()["message"] == "The body has 12582914 bytes; the limit is 10485760 bytes"
    chunked = requests.post(url, data=(b" " * MIB for _ in range(12)), headers=headers, timeout=30)
    assert chunked.status_code == 413
    assert chunked.json()["message"] == "The body is larger than the limit of 10485760 bytes"


RAW_REQUESTS = {
    "garbage request line": (b"GARBAGE\r\n\r\n", 400),
    "invalid Content-Length": (
        b"POST /bunce/v1/customers/bulk HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
        400,
    ),
    "request line too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "raw non-ASCII in the path": (
        b"GET /bunce/v1/customers/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        400,
    ),
    "bad chunk size (reaches the API: its envelope)": (
        b"POST /bunce/v1/customers/bulk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\nX-Authorization: sk_test_1\r\n\r\n"
        b"zz\r\n{}\r\n0\r\n\r\n",
        400,
    ),
}


@pytest.mark.parametrize(("raw", "status"), RAW_REQUESTS.values(), ids=RAW_REQUESTS.keys())
def test_a_request_the_http_server_cannot_parse_gets_a_json_problem(
    mock: ServeProcess, raw: bytes, status: int
) -> None:
    with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as connection:
        connection.sendall(raw)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.upper().startswith(f"HTTP/1.1 {status} ".encode()), head
    assert (
        b"Content-Type: application/problem+json" in head
        or b"Content-Type: application/json" in head
    )
    json.loads(body)
