"""Loading user specs as a new user would, over real HTTP against ``mockserver serve --spec``:
JSON read as JSON, recursive schemas across files, mount names from any file name or
``--spec NAME=PATH``, two files both named openapi.yaml, broken specs named by place, the
start-up output listing the mounts, and every security scheme type."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from mockserver.testing import ServeProcess

from .serving import SPECS, run_serve

pytestmark = pytest.mark.slow


SERVE_ARGS = [
    "--spec",
    str(SPECS / "emoji.json"),
    "--spec",
    str(SPECS / "tree" / "openapi.yaml"),
    "--spec",
    str(SPECS / "webhook-example-3.1.yaml"),
    "--spec",
    str(SPECS / "acme" / "openapi.yaml"),
    "--spec",
    str(SPECS / "globex" / "openapi.yaml"),
    "--spec",
    f"named={SPECS / 'globex' / 'openapi.yaml'}",
    "--spec",
    str(SPECS / "schemes.yaml"),
]


def test_a_json_spec_with_surrogate_pair_escapes_is_read_as_json(server: ServeProcess) -> None:
    answer = requests.get(server.url + "/emoji/reactions/1", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"id": 1, "emoji": "\U0001f44d", "label": "caf\u00e9"}


def test_a_recursive_schema_in_another_file_validates_at_any_depth(server: ServeProcess) -> None:
    deep = {"name": "root", "children": [{"name": "a", "children": [{"name": "b"}]}]}
    created = requests.post(server.url + "/openapi/nodes", json=deep, timeout=10)
    assert created.status_code == 201, created.text
    broken = {"name": "root", "children": [{"name": "a", "children": [{"name": ""}]}]}
    refused = requests.post(server.url + "/openapi/nodes", json=broken, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("children[0].children[0].name:")


def test_files_that_refer_to_each_other_answer_generated_bodies_that_fit(
    server: ServeProcess,
) -> None:
    answer = requests.get(server.url + "/openapi/folders/f1", timeout=10)
    assert answer.status_code == 200  # the strict response check would have answered 500
    body = answer.json()
    assert isinstance(body["name"], str) and isinstance(body["entries"], list)


def test_a_file_name_with_a_dot_is_mounted_under_a_derived_name(server: ServeProcess) -> None:
    answer = requests.post(server.url + "/webhook-example-3-1/pets", json={}, timeout=10)
    assert answer.status_code == 404  # a webhooks-only 3.1 document: mounted, no operations
    assert "webhook-example-3-1" in answer.json()["detail"]


def test_two_files_named_openapi_yaml_are_served_together(server: ServeProcess) -> None:
    first = requests.get(server.url + "/openapi/whoami", timeout=10)
    second = requests.get(server.url + "/globex-openapi/whoami", timeout=10)
    named = requests.get(server.url + "/named/whoami", timeout=10)
    # tree/openapi.yaml took "openapi"; acme's derived name then clashed too.
    assert requests.get(server.url + "/acme-openapi/whoami", timeout=10).json() == {
        "vendor": "acme"
    }
    assert second.json() == {"vendor": "globex"} and named.json() == {"vendor": "globex"}
    assert first.status_code == 404  # /openapi is the tree spec, which has no /whoami


def test_start_up_output_lists_every_mount(server: ServeProcess) -> None:
    output = server.log()
    for mount in (
        "emoji",
        "openapi",
        "webhook-example-3-1",
        "acme-openapi",
        "globex-openapi",
        "named",
        "schemes",
    ):
        assert f"  {mount}: {server.url}/{mount} (" in output, output
    assert f"control API: {server.url}/__mock" in output


@pytest.mark.parametrize(
    ("path", "headers", "cookies"),
    [
        ("/digest", {"Authorization": 'Digest username="u", nonce="n", response="x"'}, {}),
        ("/basic", {"Authorization": "Basic dTpw"}, {}),
        ("/bearer", {"Authorization": "Bearer t0k"}, {}),
        ("/keys", {"X-Api-Key": "k"}, {}),
        ("/keys?api_key=k", {}, {}),
        ("/keys", {}, {"session": "s"}),
        ("/oauth", {"Authorization": "Bearer t0k"}, {}),
        ("/mtls", {}, {}),
    ],
)
def test_every_security_scheme_accepts_present_credentials(
    server: ServeProcess, path: str, headers: dict[str, str], cookies: dict[str, str]
) -> None:
    answer = requests.get(
        server.url + "/schemes" + path, headers=headers, cookies=cookies, timeout=10
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("path", "challenge"),
    [
        ("/digest", 'Digest realm="schemes"'),
        ("/basic", 'Basic realm="schemes"'),
        ("/bearer", 'Bearer realm="schemes"'),
    ],
)
def test_missing_http_credentials_answer_401_with_a_challenge(
    server: ServeProcess, path: str, challenge: str
) -> None:
    answer = requests.get(server.url + "/schemes" + path, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == challenge
    wrong = requests.get(
        server.url + "/schemes" + path, headers={"Authorization": "Other x"}, timeout=10
    )
    assert wrong.status_code == 401


BROKEN_SPECS = {
    "parameter without a name": (
        "paths:\n  /a:\n    get:\n      parameters: [{in: query}]\n"
        "      responses: {'200': {description: x}}\n",
        "#/paths/~1a/get/parameters/0: a parameter needs a 'name' and 'in'",
    ),
    "operation that is a list": (
        "paths:\n  /a:\n    get: [1, 2]\n",
        "#/paths/~1a/get: this operation cannot be read",
    ),
    "invalid JSON": (None, "#/: not valid JSON at line 1, column"),
    "recursion through a missing file": (
        "paths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n"
        "          content: {application/json: {schema: {$ref: 'gone.yaml#/X'}}}\n",
        "/schema/$ref: $ref 'gone.yaml#/X':",
    ),
}


@pytest.mark.parametrize(("body", "message"), BROKEN_SPECS.values(), ids=BROKEN_SPECS.keys())
def test_a_spec_the_loader_cannot_use_is_named_by_place_without_a_traceback(
    tmp_path: Path, body: str | None, message: str
) -> None:
    if body is None:
        spec = tmp_path / "broken.json"
        spec.write_text('{"openapi": "3.1.0", "paths": {,}}')
    else:
        spec = tmp_path / "broken.yaml"
        spec.write_text("openapi: 3.1.0\ninfo: {title: x, version: '1'}\n" + body)
    finished = run_serve("--spec", str(spec))
    assert finished.returncode == 3, finished.stderr
    assert "Traceback" not in finished.stderr
    assert f"error: {spec}#" in finished.stderr and message in finished.stderr, finished.stderr


def test_a_mount_name_given_on_the_command_line_must_be_valid(tmp_path: Path) -> None:
    finished = run_serve("--spec", f"Bad Name={SPECS / 'emoji.json'}")
    assert finished.returncode == 2
    assert "mount name 'Bad Name' must be lower case" in finished.stderr


def test_int32_bounds_are_enforced(server: ServeProcess) -> None:
    assert requests.get(server.url + "/emoji/reactions/2147483647", timeout=10).status_code == 200
    refused = requests.get(server.url + "/emoji/reactions/2147483648", timeout=10)
    assert refused.status_code == 400
    assert refused.json()["detail"] == ("id: 2147483648 is greater than the maximum of 2147483647")
