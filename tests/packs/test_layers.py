"""The layer rules of ARCHITECTURE.md, enforced: no import cycles, a core that imports neither
Flask nor the API packs (import-linter contracts in pyproject.toml), and generic modules that
name no vendor (everything about one API lives in its pack, ``mockserver/apis/<api>/``)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "mockserver"
VENDORS = re.compile(r"tamio|bunce", re.IGNORECASE)
# Modules that serve any spec: no vendor's name, not even in a comment or an example.
GENERIC = (
    "app", "control", "dashboard", "engine", "envelopes", "httpworker", "jobs", "launcher",
    "packs", "problems", "pytest_plugin", "requestlog", "server", "services", "testing",
    "webhooks", "worker",
)


def contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def test_the_import_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    command = [str(linter), "--no-cache", "--no-logo"]
    checked = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Contracts: 4 kept, 0 broken." in checked.stdout


def test_every_module_is_in_the_core_the_outer_layer_or_a_pack() -> None:
    # A new module must be placed in a layer, or the contracts would not look at it.
    graph = grimp.build_graph("mockserver", exclude_type_checking_imports=True)
    modules = {".".join(m.split(".")[:2]) for m in graph.modules} - {"mockserver"}
    rule: dict[str, list[str]] = contracts()["core"]  # type: ignore[assignment]
    core = set(rule["source_modules"])
    outer = {m for m in rule["forbidden_modules"] if m.startswith("mockserver.")}
    outer.discard("mockserver.apis")
    assert not core & outer
    assert modules - core - outer == {"mockserver.apis"}
    assert (core | outer) - modules == set()  # nothing listed that does not exist


def test_generic_modules_name_no_vendor() -> None:
    found = {
        f"{name}.py:{number}: {line.strip()}"
        for name in GENERIC
        for number, line in enumerate(
            (PACKAGE / f"{name}.py").read_text(encoding="utf-8").splitlines(), 1
        )
        if VENDORS.search(line)
    }
    assert not found, "vendor names belong in mockserver/apis/<api>/:\n" + "\n".join(sorted(found))

