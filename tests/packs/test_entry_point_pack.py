"""A third-party API pack, installed the way a user's package is: a distribution on the path
whose metadata declares it in the ``mockserver.apis`` entry point group. ``mockserver serve``
serves the pack's own spec with its behaviour and envelope, beside the bundled APIs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from mockserver import apis
from mockserver.errors import ConfigError
from mockserver.testing import serve

EXAMPLE = Path(__file__).with_name("notes_pack") / "notes_mock"
KEY = {"X-Notes-Key": "nk_alice"}


def install(site: Path, distribution: str, entry_point: str) -> Path:
    """Install ``notes_mock`` into ``site`` as the distribution ``distribution``: the package
    and a ``.dist-info`` whose ``entry_points.txt`` holds ``entry_point``."""
    if not (site / "notes_mock").exists():
        shutil.copytree(EXAMPLE, site / "notes_mock", ignore=shutil.ignore_patterns("__pycache__"))
    info = site / f"{distribution.replace('-', '_')}-1.0.dist-info"  # as a wheel names it
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[mockserver.apis]\n{entry_point}\n", encoding="utf-8")
    return site


@pytest.mark.slow
def test_serve_runs_an_installed_pack_with_its_own_spec(tmp_path: Path) -> None:
    site = install(tmp_path / "site", "notes-mock", "notes = notes_mock:PACK")
    with serve("--workers", "1", "--quiet", env={"PYTHONPATH": str(site)}) as mock:
        mounted = {api["name"]: api["mount"] for api in mock.health()["apis"]}  # type: ignore[index]
        assert mounted == {"notes": "/notes/v1", "tamio": "/tamio/v2", "bunce": "/bunce/v1"}
        notes = mock.url + "/notes/v1/notes"

        created = requests.post(notes, json={"title": "Groceries"}, headers=KEY, timeout=10)
        assert created.status_code == 201, created.text
        note = created.json()
        assert note == {"id": note["id"], "title": "Groceries", "body": ""}
        read = requests.get(f"{notes}/{note['id']}", headers=KEY, timeout=10)
        assert read.json() == note  # stored by the pack's behaviour

        again = requests.post(notes, json={"title": "GROCERIES"}, headers=KEY, timeout=10)
        assert again.status_code == 409
        assert again.json() == {
            "error": {"code": "duplicate", "message": "title: a note titled 'GROCERIES' exists"}
        }
        other_key = requests.get(f"{notes}/{note['id']}", headers={"X-Notes-Key": "nk_bob"})
        assert other_key.status_code == 404  # each key has its own notes

        invalid = requests.post(notes, json={"title": ""}, headers=KEY, timeout=10)
        assert invalid.status_code == 422  # the spec's validation-status, in the pack's envelope
        assert invalid.json()["error"]["code"] == "validation"
        assert invalid.json()["error"]["fields"][0].startswith("title:")

        bunce = requests.get(mock.base_url("bunce") + "/customers", timeout=10)
        assert bunce.status_code == 401  # the bundled APIs are still there


def test_discover_finds_an_installed_pack_by_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = install(tmp_path / "site", "notes-mock", "notes = notes_mock:PACK")
    monkeypatch.syspath_prepend(str(site))
    found = {pack.name: origin for origin, pack in apis.discover()}
    assert found["notes"] == "the entry point notes = notes_mock:PACK of notes-mock"
    assert apis.registry().behaviours("notes").keys() == {"createNote", "getNote"}


def test_two_installed_packs_for_one_api_are_refused_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = install(tmp_path / "site", "notes-mock", "notes = notes_mock:PACK")
    install(site, "notes-fork", "notes-fork = notes_mock:PACK")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(ConfigError) as refused:
        apis.registry()
    assert str(refused.value) == (
        "two packs for the API 'notes': the entry point notes = notes_mock:PACK of notes-mock "
        "and the entry point notes-fork = notes_mock:PACK of notes-fork; uninstall one of them "
        "or pass the packs to use explicitly (create_app(apis=...))"
    )


def test_an_entry_point_that_is_not_a_pack_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = install(tmp_path / "site", "notes-mock", "notes = notes_mock:create_note")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(ConfigError, match=r"notes_mock:create_note of notes-mock is a function"):
        apis.registry()
