"""The API packs: one package per API (``mockserver/apis/<api>/``), and how packs are found.

The bundled packs are listed in :data:`BUNDLED`. Any installed distribution can add one through
the entry point group :data:`ENTRY_POINT_GROUP` (``mockserver.apis``), whose entries point at an
:class:`~mockserver.packs.ApiPack`::

    [project.entry-points."mockserver.apis"]
    petstore = "petstore_mock:PACK"

:func:`discover` returns the bundled packs and the installed ones; ``create_app`` builds its
registry from them unless it is given packs of its own (``create_app(settings, apis=[...])``).
docs/packs.md explains how to write one.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from mockserver.errors import ConfigError
from mockserver.packs import ApiPack, Registry

__all__ = ["BUNDLED", "ENTRY_POINT_GROUP", "bundled", "discover", "installed", "registry"]

ENTRY_POINT_GROUP = "mockserver.apis"
BUNDLED = ("mockserver.apis.tamio", "mockserver.apis.bunce")
"""The modules of the bundled packs; each has a ``PACK``."""


def bundled() -> list[ApiPack]:
    """The packs that come with mockserver."""
    return [importlib.import_module(module).PACK for module in BUNDLED]


def installed() -> list[tuple[str, ApiPack]]:
    """The packs installed distributions declare in the ``mockserver.apis`` entry point group,
    each with where it came from (``name = value`` of its entry point)."""
    found: list[tuple[str, ApiPack]] = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        origin = f"the entry point {point.name} = {point.value}"
        if point.dist is not None:
            origin += f" of {point.dist.name}"
        try:
            pack = point.load()
        except Exception as exc:
            raise ConfigError(
                f"cannot load {origin}: {type(exc).__name__}: {exc}; fix or uninstall that "
                "package"
            ) from exc
        found.append((origin, pack))
    return found


def registry(packs: list[ApiPack] | None = None) -> Registry:
    """A registry of ``packs``, or of :func:`discover`'s when None."""
    if packs is not None:
        return Registry(packs)
    found = Registry()
    for origin, pack in discover():
        found.add(pack, origin)
    return found


def discover() -> list[tuple[str, ApiPack]]:
    """The bundled packs, then the installed ones, each with where it came from."""
    packs = zip(BUNDLED, bundled(), strict=True)
    own = [(f"the bundled pack {module}", pack) for module, pack in packs]
    return [*own, *installed()]
