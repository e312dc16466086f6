"""Rule 5, choosing the response: Prefer code/example/dynamic/seed, the documented example by
default, a generated body when there is none, clear errors for what is not documented, and the
check of every outgoing response against the spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from mockserver import responses
from mockserver.openapi.loader import bundled_spec_paths, load_spec
from mockserver.packs import ApiPack, Reply
from mockserver.responses import FixedAnswer, FixedAnswers, Preference, PreferenceError
from mockserver.testing import ServerError

from .support import (
    BUNCE_AUTH,
    BUNCE_CUSTOMER,
    BUNCE_JSON,
    TAMIO_AUTH,
    WIDGETS_AUTH,
    body_of,
    documented,
)

BUNCE_BULK = "/bunce/v1/customers/bulk"


def prefer(value: str, headers: dict[str, str] = BUNCE_AUTH) -> dict[str, str]:
    return {**headers, "Prefer": value}


# -- Prefer ---------------------------------------------------------------------------------------


def test_prefer_code_answers_that_documented_response_without_touching_state(mock, client) -> None:
    answer = client.post(
        BUNCE_BULK, headers=prefer("code=409", BUNCE_JSON), json={"customers": [BUNCE_CUSTOMER]}
    )
    assert answer.status_code == 409
    assert body_of(answer) == json.loads(documented("bunce_bulk_response_partial_failure"))
    assert mock.customers("bunce", BUNCE_AUTH["X-Authorization"]) == []


def test_prefer_code_still_needs_auth_and_a_valid_request(client) -> None:
    assert (
        client.post(
            BUNCE_BULK,
            headers={"Prefer": "code=200", "Content-Type": "application/json"},
            json={"customers": [BUNCE_CUSTOMER]},
        ).status_code
        == 401
    )
    assert (
        client.post(
            BUNCE_BULK, headers=prefer("code=200", BUNCE_JSON), json={"customers": []}
        ).status_code
        == 422
    )


def test_prefer_example_picks_a_named_example(client) -> None:
    answer = client.get("/bunce/v1/customers", headers=prefer("example=no_customers"))
    assert answer.status_code == 200
    assert body_of(answer)["data"] == {
        "data": [],
        "meta": {
            "has_next_page": False,
            "has_prev_page": False,
            "next_page_cursor": None,
            "prev_page_cursor": None,
            "per_page": 20,
        },
    }
    listed = client.get("/widgets/v1/widgets", headers=prefer("example=no_widgets", WIDGETS_AUTH))
    assert body_of(listed) == {"widgets": []}


def test_prefer_example_of_an_error_response_answers_its_status(client) -> None:
    answer = client.get(
        "/tamio/v2/customers/list?page=1&per_page=1",
        headers=prefer("example=missing_page", TAMIO_AUTH),
    )
    assert answer.status_code == 400
    assert body_of(answer)["error_code"] == 99001


def test_an_undocumented_code_is_a_clear_error_listing_the_documented_ones(client) -> None:
    answer = client.get(
        "/tamio/v2/customers/list?page=1&per_page=1", headers=prefer("code=418", TAMIO_AUTH)
    )
    assert answer.status_code == 400
    assert body_of(answer)["error"] == (
        "Prefer: code=418 is not documented for listCustomers; "
        "documented: 200, 400, 401, 413, 429, 5XX"
    )


def test_an_undocumented_example_is_a_clear_error_listing_the_documented_ones(client) -> None:
    answer = client.get(
        "/widgets/v1/widgets", headers=prefer("example=three_widgets", WIDGETS_AUTH)
    )
    assert answer.status_code == 400
    assert body_of(answer)["detail"] == (
        "Prefer: example=three_widgets is not an example of listWidgets; "
        "documented examples: no_widgets, two_widgets"
    )


def test_a_prefer_header_that_is_not_understood_is_a_clear_error(client) -> None:
    answer = client.get("/bunce/v1/customers", headers=prefer("code=teapot"))
    assert answer.status_code == 422
    assert "Prefer header 'code=teapot' is not understood" in body_of(answer)["message"]


def test_dynamic_generates_a_body_valid_against_the_schema(client) -> None:
    answer = client.get("/bunce/v1/customers", headers=prefer("dynamic=true"))
    assert answer.status_code == 200  # strict mode: a body breaking the schema would be a 500
    assert body_of(answer)["success"] is True


def test_the_same_seed_gives_the_same_body_and_another_seed_another(client) -> None:
    def generated(seed: int) -> bytes:
        answer = client.get(
            "/tamio/v2/customers/list?page=1&per_page=5",
            headers=prefer(f"dynamic=true, seed={seed}", TAMIO_AUTH),
        )
        assert answer.status_code == 200
        return answer.get_data()

    assert generated(7) == generated(7)
    assert generated(7) != generated(8)


def test_prefer_does_not_run_the_behaviour(mock, client) -> None:
    answer = client.post(
        BUNCE_BULK,
        headers=prefer("example=success", BUNCE_JSON),
        json={"customers": [BUNCE_CUSTOMER]},
    )
    assert answer.status_code == 200
    assert mock.customers("bunce", BUNCE_AUTH["X-Authorization"]) == []
    assert "answered from the spec (200)" in mock.requests()[-1]["notes"]


# -- without Prefer: behaviour, example, or generated ----------------------------------------------


def test_an_operation_without_a_behaviour_answers_its_first_documented_example(client) -> None:
    assert body_of(client.get("/widgets/v1/widgets", headers=WIDGETS_AUTH))["widgets"][1] == {
        "id": 2,
        "name": "Gear",
        "colour": None,
    }
    assert body_of(client.get("/widgets/v1/widgets/3", headers=WIDGETS_AUTH)) == {
        "id": 7,
        "name": "Sprocket",
        "colour": "blue",
    }


def test_an_operation_without_an_example_answers_a_generated_body(client) -> None:
    answer = client.post(
        "/widgets/v1/widgets", headers=WIDGETS_AUTH, json={"name": "Gear", "colour": None}
    )
    assert answer.status_code == 201
    body = body_of(answer)
    assert set(body) >= {"id", "name", "colour"} and isinstance(body["id"], int) and body["id"] >= 1


def test_a_response_without_content_has_no_body_and_no_content_type(client) -> None:
    answer = client.delete("/widgets/v1/widgets/3", headers=WIDGETS_AUTH)
    assert answer.status_code == 204
    assert answer.get_data() == b""
    assert "Content-Type" not in answer.headers


def test_seeded_generation_repeats_across_fresh_servers(make_mock) -> None:
    def created() -> bytes:
        client = make_mock(seed=99).client
        return client.post(
            "/widgets/v1/widgets", headers=WIDGETS_AUTH, json={"name": "G", "colour": None}
        ).get_data()

    assert created() == created()


# -- checking outgoing responses against the spec --------------------------------------------------

LIAR_SPEC = """\
openapi: 3.1.0
info: {title: Liar, version: "1"}
x-mock: {name: engine-liar}
paths:
  /thing:
    get:
      operationId: getThing
      x-mock: {behaviour: true}
      responses:
        "200":
          description: A thing.
          content:
            application/json:
              schema:
                type: object
                required: [id]
                properties:
                  id: {type: integer}
"""


@pytest.fixture
def liar_spec(tmp_path: Path) -> str:
    """A user spec whose one operation has a test behaviour answering a body the spec forbids."""
    path = tmp_path / "liar.yaml"
    path.write_text(LIAR_SPEC)
    return str(path)


def wrong_body(call: object) -> Reply:
    return Reply(200, {"id": "not a number"})


LIAR = ApiPack("engine-liar", behaviours={"getThing": wrong_body})


def test_strict_mode_catches_a_response_that_breaks_the_spec(make_mock, liar_spec) -> None:
    mock = make_mock(specs=[liar_spec], bundled=False, apis=[LIAR])
    answer = mock.client.get("/engine-liar/thing")
    assert answer.status_code == 500
    assert body_of(answer)["error"] == (
        "engine-liar.getThing answered 200, which breaks the spec: "
        "id: 'not a number' is not of type integer"
    )
    assert mock.requests()[-1]["response_violations"] == [
        "id: 'not a number' is not of type integer"
    ]
    with pytest.raises(ServerError, match="breaks the spec"):
        mock.check()


def test_warn_mode_sends_the_response_and_journals_the_problem(make_mock, liar_spec) -> None:
    mock = make_mock(specs=[liar_spec], bundled=False, validate_responses="warn", apis=[LIAR])
    answer = mock.client.get("/engine-liar/thing")
    assert (answer.status_code, body_of(answer)) == (200, {"id": "not a number"})
    assert mock.requests()[-1]["response_violations"] == [
        "id: 'not a number' is not of type integer"
    ]
    mock.check()


def test_off_mode_does_not_look(make_mock, liar_spec) -> None:
    mock = make_mock(specs=[liar_spec], bundled=False, validate_responses="off", apis=[LIAR])
    assert mock.client.get("/engine-liar/thing").status_code == 200
    assert "response_violations" not in mock.requests()[-1]


# -- fixed answers: worked out once ----------------------------------------------------------------


@pytest.fixture
def counted(make_mock, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str | None]]:
    """A fresh mock's client, and the media of the spec answers its engine encodes
    (``mockserver.responses.encode``)."""
    media: list[str | None] = []
    real = responses.encode

    def encode(kind: str, *args: Any) -> bytes:
        media.append(kind)
        return real(kind, *args)

    monkeypatch.setattr(responses, "encode", encode)
    return make_mock().client, media


def bulk_create(client: Any, preference: str) -> Any:
    return client.post(
        BUNCE_BULK, headers=prefer(preference, BUNCE_JSON), json={"customers": [BUNCE_CUSTOMER]}
    )


def test_a_documented_example_is_encoded_once_and_sent_alike_every_time(
    counted: tuple[Any, list[str | None]],
) -> None:
    client, encoded = counted
    answers = [bulk_create(client, "code=409") for _ in range(3)]

    documented_body = json.loads(documented("bunce_bulk_response_partial_failure"))
    assert [(a.status_code, body_of(a)) for a in answers] == [(409, documented_body)] * 3
    assert encoded == ["application/json"]
    # Another Prefer is another answer, worked out once too.
    assert [bulk_create(client, "code=200").status_code for _ in range(2)] == [200, 200]
    assert len(encoded) == 2


def test_a_generated_answer_is_generated_for_every_request(
    counted: tuple[Any, list[str | None]],
) -> None:
    client, encoded = counted
    bodies = [
        client.get("/bunce/v1/customers", headers=prefer("dynamic=true")).get_data()
        for _ in range(3)
    ]
    assert len(encoded) == 3
    assert len(set(bodies)) == 3


def test_fixed_answers_and_parsed_prefer_headers_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(FixedAnswers, "LIMIT", 2)
    fixed = FixedAnswers()
    first = fixed.preference("code=409")
    assert fixed.preference("code=409") is first
    fixed.preference("code=200")
    fixed.preference("code=201")  # the map was full: it starts over
    assert fixed.preference("code=409") == first and fixed.preference("code=409") is not first
    with pytest.raises(PreferenceError):
        fixed.preference("code=teapot")

    spec = load_spec(bundled_spec("bunce"))
    bulk = spec.operation("createCustomersBulk")
    assert bulk is not None
    owner = object()

    def chosen(code: int) -> FixedAnswer | None:
        return fixed.choose(owner, bulk, Preference(code=code), None, spec.document, no_generator)[
            1
        ]

    answer = chosen(409)
    assert answer is not None and chosen(409) is answer
    assert orjson.loads(answer.payload) == answer.value
    chosen(200)
    chosen(400)
    assert chosen(409) is not answer
    # Another owner (an operation compiled again) never gets the first one's answer.
    assert fixed.choose(object(), bulk, Preference(code=200), None, spec.document, no_generator)[
        1
    ] is not chosen(200)


def bundled_spec(name: str) -> Path:
    return next(p for p in bundled_spec_paths() if p.stem == name)


def no_generator() -> Any:
    raise AssertionError("an example answers: nothing is generated")
