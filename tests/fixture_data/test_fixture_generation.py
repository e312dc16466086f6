"""`mockserver fixtures generate` and the committed fixture files it made."""

from __future__ import annotations

import functools
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from faker.providers.person.de_DE import Provider as GermanNames
from jsonschema import Draft202012Validator

from mockserver.cli import main
from mockserver.config import Settings
from mockserver.fixtures import builders, request_schema
from mockserver.formats import format_checker
from mockserver.testing import MockServer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


def generate(*args: str) -> str:
    result = CliRunner().invoke(main, ["fixtures", "generate", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@functools.cache
def validator(api: str, which: str) -> Draft202012Validator:
    """The spec's request schema, checked with the pure-Python jsonschema (formats included)."""
    schema, document = request_schema(api, which)
    return Draft202012Validator({**schema, "components": document["components"]},
                                format_checker=format_checker())


def assert_valid(api: str, which: str, instance: Any) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator(api, which).iter_errors(instance)]
    assert errors == []


def emails(batch: list[dict[str, Any]]) -> list[str]:
    return [c["email"] for c in batch]


@pytest.mark.parametrize("api", sorted(builders()))
@pytest.mark.parametrize("locales", [["en_US"], ["de_DE"], ["fr_FR", "ja_JP", "en_NG"]])
def test_output_is_valid_against_the_spec(api: str, locales: list[str]) -> None:
    flags = [arg for locale in locales for arg in ("--locale", locale)]
    bulk = json.loads(generate("--api", api, "--count", "60", "--seed", "11", *flags))
    assert_valid(api, "bulk", bulk)
    assert len(bulk["customers"]) == 60
    dataset = json.loads(generate("--api", api, "--kind", "dataset", "--count", "20",
                                  "--seed", "11", "--account", "a", "--account", "b", *flags))
    for customers in dataset[api].values():
        for customer in customers:
            assert_valid(api, "item", customer)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    args = ["--api", "tamio", "--count", "200", "--locale", "de_DE", "--locale", "en_GB"]
    generate(*args, "--seed", "5", "--output", str(tmp_path / "a.json"))
    generate(*args, "--seed", "5", "--output", str(tmp_path / "b.json"))
    generate(*args, "--seed", "6", "--output", str(tmp_path / "c.json"))
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert (tmp_path / "a.json").read_bytes() != (tmp_path / "c.json").read_bytes()
    assert generate(*args, "--seed", "5").encode() == (tmp_path / "a.json").read_bytes()


def test_emails_are_unique_within_a_batch() -> None:
    # 2000 US customers: faker repeats names, the generator must still not repeat an email.
    batch = json.loads(generate("--api", "bunce", "--count", "2000", "--seed", "3"))["customers"]
    lowered = [e.lower() for e in emails(batch)]
    assert len(set(lowered)) == 2000
    assert len({c["customer_id"] for c in batch}) == 2000
    reserved = ("example.com", "example.org", "example.net")
    assert all(e.rsplit("@", 1)[1] in reserved for e in lowered)


def test_duplicates_repeat_earlier_emails_in_several_cases() -> None:
    batch = json.loads(generate("--api", "bunce", "--count", "50", "--seed", "9",
                                "--duplicates", "12"))["customers"]
    seen: dict[str, str] = {}
    repeats = []
    for customer in batch:
        key = customer["email"].lower()
        if key in seen:
            repeats.append((seen[key], customer["email"]))
        else:
            seen[key] = customer["email"]
    assert len(repeats) == 12
    assert any(first == again for first, again in repeats), "an exact repeat"
    assert any(first != again for first, again in repeats), "a case variant"
    assert len({c["customer_id"] for c in batch}) == 50, "repeats differ in everything but email"


def test_locale_shapes_the_data() -> None:
    body = json.loads(generate("--api", "tamio", "--count", "30", "--seed", "4",
                               "--locale", "de_DE"))
    german_last_names = set(GermanNames.last_names)
    for customer in body["customers"]:
        assert customer["country"] == "de" and customer["locale"] == "de"
        assert customer["timezone_offset"] == "+01:00"
        assert customer.get("phone", "+49").startswith("+49")
        assert customer["last_name"] in german_last_names
    bunce = json.loads(generate("--api", "bunce", "--count", "30", "--seed", "4",
                                "--locale", "en_NG"))
    assert all(re.fullmatch(r"\+234\d{10}", c["phone_no"]) for c in bunce["customers"])


@pytest.mark.parametrize(("args", "problem"), [
    (["--api", "tamio", "--count", "501", "--seed", "1"], "at most 500"),
    (["--api", "stripe", "--count", "5", "--seed", "1"], "--api stripe"),
    (["--api", "bunce", "--count", "5", "--seed", "1", "--locale", "xx_XX"], "not a faker locale"),
    (["--api", "bunce", "--count", "5", "--seed", "1", "--duplicates", "5"], "--duplicates 5"),
    (["--api", "bunce", "--kind", "dataset", "--count", "5", "--seed", "1", "--duplicates", "1"],
     "only applies to --kind bulk"),
    (["--api", "bunce", "--api", "tamio", "--count", "5", "--seed", "1"], "exactly one --api"),
])
def test_impossible_requests_are_usage_errors(args: list[str], problem: str) -> None:
    result = CliRunner().invoke(main, ["fixtures", "generate", *args])
    assert result.exit_code == 2
    assert problem in result.output


def readme_commands() -> list[list[str]]:
    text = (FIXTURES / "README.md").read_text(encoding="utf-8")
    section = text.split("## The commands that made them", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith("mockserver ")]


def test_committed_fixtures_are_what_the_readme_commands_make(tmp_path: Path) -> None:
    commands = readme_commands()
    made = set()
    for command in commands:
        assert command[:2] == ["fixtures", "generate"]
        target = command[command.index("--output") + 1]
        command[command.index("--output") + 1] = str(tmp_path / "out.json")
        CliRunner().invoke(main, command, catch_exceptions=False)
        committed = (ROOT / target).read_bytes()
        assert (tmp_path / "out.json").read_bytes() == committed, f"regenerate {target}"
        made.add(target)
    on_disk = {str(p.relative_to(ROOT)) for p in FIXTURES.rglob("*.json")
               if "documented" not in p.parts}
    assert made == on_disk, "every generated fixture has its command in fixtures/README.md"


def test_committed_bulk_files_are_what_they_claim() -> None:
    tamio = json.loads((FIXTURES / "tamio_bulk_500.json").read_text(encoding="utf-8"))
    assert_valid("tamio", "bulk", tamio)
    assert len(tamio["customers"]) == 500
    assert len({e.lower() for e in emails(tamio["customers"])}) == 500
    bunce = json.loads((FIXTURES / "bunce_bulk_duplicates.json").read_text(encoding="utf-8"))
    assert_valid("bunce", "bulk", bunce)
    lowered = [e.lower() for e in emails(bunce["customers"])]
    assert (len(lowered), len(set(lowered))) == (40, 32)


@pytest.mark.parametrize("name", ["small.json", "multi_account.json"])
def test_datasets_load(name: str) -> None:
    path = FIXTURES / "datasets" / name
    data = json.loads(path.read_text(encoding="utf-8"))
    server = MockServer.in_process(Settings(dataset=str(path), background=False))
    try:
        server.reset()  # what the fixture does before each test: (re)load the data set
        for api in ("tamio", "bunce"):
            for account, customers in data[api].items():
                stored = server.customers(api, account)
                assert [c["email"] for c in stored] == emails(customers)
        assert server.services.load_dataset(str(path)) == {"tamio": 0, "bunce": 0}  # all duplicates
    finally:
        server.stop()


@pytest.mark.slow
def test_serve_loads_a_dataset() -> None:
    import requests

    from mockserver.testing import serve

    with serve("--quiet", "--dataset", str(FIXTURES / "datasets" / "small.json")) as server:
        base = server.url
        listed = requests.get(base + "/bunce/v1/customers", params={"per_page": 100},
                              headers={"X-Authorization": "sk_test_demo"}, timeout=5).json()
        assert len(listed["data"]["data"]) == 10
        tamio = requests.get(base + "/tamio/v2/customers/list", timeout=5,
                             params={"page": 1, "per_page": 100, "include_leads": "true"},
                             headers={"Authorization": "Bearer tamio_demo_token"}).json()
        assert tamio["total_results"] == 10


@pytest.mark.filterwarnings("ignore:fr_QC locale is deprecated")
def test_tamio_data_carries_real_codes_in_every_faker_locale() -> None:
    # Each faker locale yields a customer whose country and locale come from that locale
    # (e.g. de_CH -> "ch", "de"); every one must be a real ISO code the mock accepts.
    from faker.config import AVAILABLE_LOCALES

    from mockserver.fixtures import customers
    from mockserver.formats import is_country, is_language

    batch = customers("tamio", len(AVAILABLE_LOCALES), seed=5, locales=AVAILABLE_LOCALES)
    assert_valid("tamio", "bulk", {"customers": batch})
    codes = [(c["country"], c.get("locale", "en")) for c in batch]
    assert all(is_country(country) and is_language(language) for country, language in codes)
    assert len({country for country, _ in codes}) > 50  # the locales' own countries, not one
