"""Where each spec is mounted: ``--spec NAME=PATH`` entries and names that never clash.

A spec's mount name is, in this order: the ``NAME`` of ``--spec NAME=PATH``, the document's
``x-mock.name``, or one derived from the file name (``webhook-example-3.1.yaml`` mounts as
``webhook-example-3-1``). A derived name another spec already uses is made unique with the
folder's name (``vendors/acme/openapi.yaml`` mounts as ``acme-openapi``), then a number; a
chosen name (``NAME=`` or ``x-mock.name``) that clashes is an error.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mockserver.errors import ConfigError
from mockserver.openapi.loader import mount_name, valid_mount_name
from mockserver.openapi.spec import Spec


@dataclasses.dataclass(frozen=True, slots=True)
class SpecEntry:
    """One ``--spec`` value: the file and the mount name asked for (None: the spec decides).

    ``bundled`` marks the package's own specs, whose examples the test suite checks (start-up
    skips that check for them: it cost 80 ms of the first answer's half second).
    """

    path: Path
    name: str | None = None
    bundled: bool = False


def parse_entry(entry: str) -> SpecEntry:
    """Read ``PATH`` or ``NAME=PATH`` (a file whose own name holds ``=`` is taken as a path)."""
    name, sep, rest = entry.partition("=")
    if not sep or Path(entry).exists() or "/" in name or "\\" in name:
        return SpecEntry(Path(entry))
    name = name.strip()
    if not valid_mount_name(name):
        raise ConfigError(
            f"--spec {entry!r}: mount name {name!r} must be lower case letters, digits, '-' "
            "or '_' (starting with a letter or digit), and not __mock"
        )
    return SpecEntry(Path(rest), name)


def chose_name(spec: Spec, entry: SpecEntry) -> bool:
    """Whether the mount name was chosen (``NAME=`` or ``x-mock.name``), not derived."""
    x_mock = spec.document.get("x-mock")
    return entry.name is not None or (isinstance(x_mock, dict) and bool(x_mock.get("name")))


def unique_name(spec: Spec, entry: SpecEntry, taken: set[str]) -> str:
    """A free mount name for a spec whose derived name is taken."""
    path = entry.path.resolve()
    base = mount_name(f"{path.parent.name}-{path.stem}")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def renamed(spec: Spec, name: str) -> Spec:
    """``spec`` mounted under ``name`` (its operations follow)."""
    for op in spec.operations:
        op.api = name
    return dataclasses.replace(spec, settings=dataclasses.replace(spec.settings, name=name))
