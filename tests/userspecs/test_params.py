"""Parameters read as their ``style`` and ``explode`` say, over real HTTP: object query
parameters (form exploded and not, deepObject), pipe- and space-delimited arrays, matrix and
label path parameters, simple objects in the path and arrays in a header. Each valid request is
answered 200; each invalid one names the typed field that is wrong, which shows it was read."""

from __future__ import annotations

import pytest
import requests

from mockserver.testing import ServeProcess

from .serving import SPECS

pytestmark = pytest.mark.slow


SERVE_ARGS = ["--spec", str(SPECS / "params.yaml")]


VALID = [
    ("/form-exploded?role=admin&age=30", {}),
    ("/form-flat?filter=role,admin,age,30", {}),
    ("/deep?color[R]=100&color[G]=200&color[B]=150", {}),
    ("/delimited?ids=1|2|3&words=hello%20world&tags=a,b", {}),
    ("/matrix/;coords=3,4,5", {}),
    ("/matrix-object/;role=user;age=2", {}),
    ("/label/.3.4.5", {}),
    ("/simple/role=admin,age=7", {"X-Ids": "1,2,3"}),
    ("/simple/role=admin,age=7", {"X-Ids": ""}),  # sent empty: the empty array
]
INVALID = [
    ("/form-exploded?role=admin&age=0", {}, "filter.age: 0 is less than the minimum of 1"),
    ("/form-exploded?role=root", {}, "filter.role: 'root' is not one of 'admin', 'user'"),
    ("/form-flat?filter=role,admin,age,x", {}, "filter.age: 'x' is not of type integer"),
    ("/deep?color[R]=100&color[G]=300&color[B]=1", {}, "color.G: 300 is greater than"),
    ("/deep?color[R]=1", {}, "color.G: is required"),
    ("/delimited?ids=1|22", {}, "ids[1]: 22 is greater than the maximum of 9"),
    ("/delimited?words=a%20b%20c", {}, "words: has 3 items, at most 2 allowed"),
    ("/delimited?tags=a,c", {}, "tags[1]: 'c' is not one of 'a', 'b'"),
    ("/matrix/;coords=3,40", {}, "coords[1]: 40 is greater than the maximum of 9"),
    ("/matrix-object/;role=user;age=0", {}, "filter.age: 0 is less than the minimum of 1"),
    ("/matrix-object/;=x", {}, "filter: ';=x' is not of type object"),  # names no property
    ("/matrix-object/;role=user;=x", {}, "filter: ';role=user;=x' is not of type object"),
    ("/matrix-object/role=user", {}, "filter: 'role=user' is not of type object"),  # no ';'
    ("/simple/role=admin,=x", {}, "filter: 'role=admin,=x' is not of type object"),
    ("/label/.3.40", {}, "ids[1]: 40 is greater than the maximum of 9"),
    ("/simple/role=admin,age=0", {}, "filter.age: 0 is less than the minimum of 1"),
    ("/simple/role=admin", {"X-Ids": "1,20"}, "X-Ids[1]: 20 is greater than the maximum of 9"),
]


@pytest.mark.parametrize(("path", "headers"), VALID)
def test_a_parameter_in_its_documented_style_is_accepted(
    server: ServeProcess, path: str, headers: dict[str, str]
) -> None:
    answer = requests.get(server.url + "/params" + path, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("path", "headers", "problem"), INVALID)
def test_a_styled_parameter_is_typed_and_its_field_named(
    server: ServeProcess, path: str, headers: dict[str, str], problem: str
) -> None:
    answer = requests.get(server.url + "/params" + path, headers=headers, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(problem), answer.json()


@pytest.mark.parametrize("path", ["/delimited?ids=", "/form-flat?filter="])
def test_an_empty_value_is_the_empty_array_or_object(server: ServeProcess, path: str) -> None:
    answer = requests.get(server.url + "/params" + path, timeout=10)
    assert answer.status_code == 200, answer.text
