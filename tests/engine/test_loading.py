"""Rule 1, loading: bundled specs, user specs, $ref resolution, OpenAPI 3.0, and SpecErrors that
name the file, the JSON pointer and the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.app import create_app, load_specs
from mockserver.errors import ConfigError, SpecError
from mockserver.openapi.loader import bundled_spec_paths, load_spec, pointer_get

from .support import WIDGETS, WIDGETS_AUTH, body_of, settings


def test_the_bundled_specs_are_found_whatever_the_working_directory(tmp_path: Path) -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "mockserver", "routes"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "POST    /tamio/v2/customers/bulk/create" in listing
    assert "POST    /bunce/v1/customers/bulk" in listing
    assert {p.name for p in bundled_spec_paths()} >= {"tamio.yaml", "bunce.yaml"}


def test_a_user_spec_is_served_beside_the_bundled_ones() -> None:
    names = [spec.name for spec in load_specs(settings(specs=[str(WIDGETS)]))]
    assert sorted(names) == ["bunce", "tamio", "widgets"]


def test_only_the_user_spec_is_served_without_the_bundled_ones() -> None:
    specs = load_specs(settings(bundled=False))
    assert [s.name for s in specs] == ["widgets"]
    assert specs[0].mount == "/widgets/v1"


def test_api_filter_names_what_is_loaded_when_it_matches_nothing() -> None:
    with pytest.raises(ConfigError, match="--api nope: no such API; loaded: "):
        load_specs(settings(apis=["nope"]))


def test_a_ref_to_another_file_is_bundled_with_that_files_own_refs() -> None:
    spec = load_spec(WIDGETS)
    listed = spec.operation("listWidgets")
    assert listed is not None
    schema = listed.responses["200"].content["application/json"].schema
    assert schema is not None
    # WidgetList (common.yaml) is copied into the document once; its own
    # #/components/schemas/Widget means common.yaml's Widget, bundled beside it.
    widget_list = pointer_get(spec.document, schema["$ref"][1:], spec.file, "")
    items = pointer_get(
        spec.document, widget_list["properties"]["widgets"]["items"]["$ref"][1:], spec.file, ""
    )
    assert items["required"] == ["id", "name", "colour"]
    assert "Widget" not in spec.document["components"].get("schemas", {})


def test_a_schema_from_another_file_validates_requests_and_responses(client) -> None:
    answer = client.get("/widgets/v1/widgets", headers=WIDGETS_AUTH)
    assert answer.status_code == 200  # strict mode checked it against common.yaml's schema
    assert body_of(answer)["widgets"][0]["name"] == "Sprocket"


# createWidget documents invalid input as 422.
@pytest.mark.parametrize(("colour", "status"), [(None, 201), ("red", 201), (5, 422)])
def test_openapi_30_nullable_admits_null_and_nothing_else(client, colour, status) -> None:
    answer = client.post(
        "/widgets/v1/widgets", headers=WIDGETS_AUTH, json={"name": "Gear", "colour": colour}
    )
    assert answer.status_code == status, answer.get_data(as_text=True)
    if status == 422:
        assert body_of(answer)["detail"] == "colour: 5 is not of type null or string"


def test_openapi_30_boolean_exclusive_maximum_is_upgraded(client) -> None:
    too_big = client.post(
        "/widgets/v1/widgets",
        headers=WIDGETS_AUTH,
        json={"name": "Gear", "colour": None, "size": 100},
    )
    assert too_big.status_code == 422
    assert (
        "size: 100 is greater than or equal to the exclusive maximum of 100"
        in body_of(too_big)["detail"]
    )


# -- broken specs stop start-up with file#pointer: problem --------------------------------------


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    """widgets.yaml (and common.yaml) copied to tmp_path with ``old`` replaced once by ``new``."""
    text = WIDGETS.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    (tmp_path / "common.yaml").write_text(
        (WIDGETS.parent / "common.yaml").read_text(encoding="utf-8")
    )
    target = tmp_path / "widgets.yaml"
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


BROKEN = {
    "wrong example": (
        "example: {id: 7, name: Sprocket, colour: blue}",
        "example: {id: 0, name: Sprocket, colour: blue}",
        "/paths/~1widgets~1{widget_id}/get/responses/200/content/application~1json/example",
        "example does not match its schema: id: 0 is less than the minimum of 1",
    ),
    "wrong named example": (
        "                      - {id: 2, name: Gear, colour: null}",
        "                      - {id: 2, name: Gear}",
        "/paths/~1widgets/get/responses/200/content/application~1json/examples/two_widgets/value",
        "example does not match its schema: widgets[1].colour: is required",
    ),
    "dangling local $ref": (
        '$ref: "#/components/schemas/NewWidget"',
        '$ref: "#/components/schemas/Nope"',
        "/paths/~1widgets/post/requestBody/content/application~1json/schema",
        "Pointer '/components/schemas/Nope' does not exist",
    ),
    "$ref to a missing file": (
        '$ref: "common.yaml#/components/schemas/Widget"\n              example',
        '$ref: "missing.yaml#/components/schemas/Widget"\n              example',
        "/paths/~1widgets~1{widget_id}/get/responses/200/content/application~1json/schema/$ref",
        "missing.yaml: cannot read the file",
    ),
    "$ref to nothing in another file": (
        '$ref: "common.yaml#/components/schemas/WidgetList"',
        '$ref: "common.yaml#/components/schemas/Nope"',
        "/paths/~1widgets/get/responses/200/content/application~1json/schema/$ref",
        "has nothing at '#/components/schemas/Nope'",
    ),
    "invalid regex": (
        "name:\n          type: string\n          minLength: 1",
        "name:\n          type: string\n          pattern: '[unclosed'",
        "/paths/~1widgets/post/requestBody/content/application~1json/schema",
        'is not a "regex"',
    ),
    "undeclared path parameter": (
        "  /widgets/{widget_id}:",
        "  /widgets/{widget_id}/{part}:",
        "/paths/~1widgets~1{widget_id}~1{part}/get",
        "path parameter {part} is not declared",
    ),
    "not YAML": ("openapi: 3.0.3", "openapi: [3.0.3", "/", "not valid YAML or JSON at line"),
    "unknown envelope": (
        "  name: widgets",
        "  name: widgets\n  envelope: soap",
        "/x-mock/envelope",
        "unknown envelope 'soap'",
    ),
}


@pytest.mark.parametrize(("old", "new", "pointer", "problem"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_spec_stops_start_up_naming_file_pointer_and_problem(
    tmp_path: Path, old: str, new: str, pointer: str, problem: str
) -> None:
    broken = broken_copy(tmp_path, old, new)
    with pytest.raises(SpecError) as raised:
        create_app(settings(specs=[str(broken)], bundled=False, strict_examples=True))
    error = raised.value
    assert Path(error.file).name == "widgets.yaml"
    assert error.pointer == pointer
    assert problem in error.problem
    assert str(error) == f"{error.file}#{pointer}: {error.problem}"


def test_a_spec_that_is_not_openapi_3_is_refused(tmp_path: Path) -> None:
    swagger = tmp_path / "old.yaml"
    swagger.write_text("swagger: '2.0'\npaths: {}\n")
    with pytest.raises(SpecError, match=r"old.yaml#/openapi: expected an OpenAPI 3.x document"):
        load_spec(swagger)


def test_two_specs_with_one_mount_name_are_refused(tmp_path: Path) -> None:
    twin = tmp_path / "twin.yaml"
    twin.write_text(WIDGETS.read_text().replace("common.yaml", str(WIDGETS.parent / "common.yaml")))
    with pytest.raises(ConfigError, match="two specs want the mount name 'widgets'"):
        load_specs(settings(specs=[str(WIDGETS), str(twin)]))


def test_unquoted_dates_and_times_in_yaml_stay_strings(tmp_path: Path) -> None:
    # PyYAML alone would load them as date/datetime objects, which no validator or JSON encoder
    # takes: start-up failed with "Unsupported type: 'datetime'".
    spec = tmp_path / "stamps.yaml"
    spec.write_text(
        "openapi: 3.1.0\n"
        "info: {title: Stamps, version: '1'}\n"
        "paths:\n"
        "  /stamp:\n"
        "    get:\n"
        "      operationId: getStamp\n"
        "      responses:\n"
        "        '200':\n"
        "          description: A stamp.\n"
        "          content:\n"
        "            application/json:\n"
        "              schema:\n"
        "                type: object\n"
        "                properties:\n"
        "                  at: {type: string, format: date-time}\n"
        "                  day: {type: string, format: date}\n"
        "              example:\n"
        "                at: 2023-12-17T10:59:04.685126+01:00\n"
        "                day: 2023-12-17\n"
    )

    client = create_app(settings(specs=[str(spec)], bundled=False)).test_client()
    answer = client.get("/stamps/stamp")

    assert answer.status_code == 200
    assert body_of(answer) == {"at": "2023-12-17T10:59:04.685126+01:00", "day": "2023-12-17"}


def test_yaml_is_read_as_yaml_1_2_so_yes_no_and_times_stay_strings(tmp_path: Path) -> None:
    # YAML 1.1 (PyYAML's default) reads yes/no/on/off as booleans and 10:30 as the number 630:
    # an enum of answers, a country code NO or an opening time would silently change meaning.
    spec = tmp_path / "shop.yaml"
    spec.write_text(
        "openapi: 3.1.0\n"
        "info: {title: Shop, version: '1'}\n"
        "paths:\n"
        "  /shops:\n"
        "    post:\n"
        "      operationId: createShop\n"
        "      requestBody:\n"
        "        required: true\n"
        "        content:\n"
        "          application/json:\n"
        "            schema:\n"
        "              type: object\n"
        "              required: [open, country, opens_at]\n"
        "              properties:\n"
        "                open: {enum: [yes, no]}\n"
        "                country: {enum: [NO, SE]}\n"
        "                opens_at: {type: string}\n"
        "                staff: {type: integer}\n"
        "                vip: {type: boolean}\n"
        "      responses:\n"
        "        '201':\n"
        "          description: Created.\n"
        "          content:\n"
        "            application/json:\n"
        "              schema: {type: object}\n"
        "              example: {opens_at: 10:30, staff: 12, vip: true}\n"
    )
    client = create_app(settings(specs=[str(spec)], bundled=False)).test_client()
    shop = {"open": "yes", "country": "NO", "opens_at": "10:30", "staff": 3, "vip": False}

    created = client.post("/shop/shops", json=shop)
    refused = client.post("/shop/shops", json={**shop, "open": True})

    assert created.status_code == 201, created.get_data(as_text=True)
    assert body_of(created) == {"opens_at": "10:30", "staff": 12, "vip": True}
    assert refused.status_code == 400
