"""Each app owns the registry of its API packs: what one app is given never reaches another, and
a registry refuses two packs that claim the same name, job kind or envelope."""

from __future__ import annotations

import dataclasses

import pytest

from mockserver import apis
from mockserver.apis.bunce import PACK as BUNCE
from mockserver.config import Settings
from mockserver.errors import ConfigError
from mockserver.packs import ApiPack, Call, Registry, Reply
from mockserver.testing import MockServer

KEY = {"X-Authorization": "sk_test_registry"}


def teapot(call: Call) -> Reply:
    return Reply(200, {"success": True, "message": "from the other app", "data": {}})


def settings() -> Settings:
    return Settings(background=False, apis=["bunce"], log_requests=False)


def test_two_apps_in_one_process_keep_their_own_packs() -> None:
    other = dataclasses.replace(BUNCE, behaviours={**BUNCE.behaviours, "getCustomer": teapot})
    plain = MockServer.in_process(settings())
    changed = MockServer.in_process(settings(), apis=[other])
    try:
        answered = changed.client.get("/bunce/v1/customers/c1", headers=KEY)
        assert answered.get_json()["message"] == "from the other app"
        untouched = plain.client.get("/bunce/v1/customers/c1", headers=KEY)
        assert untouched.status_code == 404  # the bundled behaviour: no such customer
    finally:
        plain.stop()
        changed.stop()


def test_an_app_serves_only_the_packs_it_is_given() -> None:
    mock = MockServer.in_process(settings(), apis=[BUNCE])
    try:
        assert mock.services.registry.names == ["bunce"]
        assert mock.services.registry.job_handlers == {}  # no Tamio import without its pack
    finally:
        mock.stop()


def test_a_job_kind_two_packs_handle_is_refused() -> None:
    def job(job: object, services: object) -> dict[str, object]:
        return {}

    first = ApiPack("shop", job_handlers={"import": job})
    second = ApiPack("crm", job_handlers={"import": job})
    refused = (
        r"the job kind 'import' of pack 'crm' \(the pack 'crm'\) is already handled by pack "
        r"'shop'; prefix job kinds with the API's name"
    )
    with pytest.raises(ConfigError, match=refused):
        Registry([first, second])


def test_a_pack_of_a_bundled_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="two packs for the API 'bunce'"):
        Registry([*apis.bundled(), ApiPack("bunce")])


def test_seeding_an_api_without_a_seeder_says_which_can_be_seeded() -> None:
    registry = Registry([ApiPack("shop"), BUNCE])
    known = r"no pack stores customers of the API 'shop'; known: bunce"
    with pytest.raises(ConfigError, match=known):
        registry.seeder("shop")
