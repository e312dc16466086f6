"""API packs: everything specific to one API, and the registry an app collects them in.

A spec is data; what the data cannot say is code, and an :class:`ApiPack` holds all of it for
one API (the one whose ``x-mock.name`` is the pack's ``name``): its behaviours (the stateful
outcomes, keyed by operationId), the handlers of the background jobs they schedule, the seeder
that stores customers given as JSON (control API, data sets), its error envelope, the contract
allowances of its spec, its fixture builder and its webhook defaults. A pack may ship its spec
too (``spec``), so installing the pack is enough to serve the API.

Packs are plain, frozen values. Each app owns a :class:`Registry` built from the packs it was
given (``create_app(settings, apis=...)``; by default the bundled packs and the installed ones,
:func:`mockserver.apis.discover`); the registry refuses two packs of one name, two handlers of one
job kind and two envelopes of one name, saying which packs clash. Nothing is registered by
importing a module, and no registry is shared between apps.

A behaviour receives a :class:`Call` (the validated request plus the services it may use) and
returns a :class:`Reply`, or a :class:`~mockserver.envelopes.Failure` that the engine renders in
the API's envelope. docs/packs.md shows how to write a pack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from mockserver.allowances import Allowance
from mockserver.envelopes import PROBLEM, Envelope, Failure
from mockserver.errors import ConfigError, SpecError
from mockserver.webhooks import DEFAULT_SIGNATURE_HEADER

if TYPE_CHECKING:
    from mockserver.openapi.spec import Operation, Spec
    from mockserver.services import Services
    from mockserver.store import Job

__all__ = [
    "ApiPack",
    "Behaviour",
    "Call",
    "FixtureBuilder",
    "JobHandler",
    "Registry",
    "Reply",
    "Seeder",
    "WebhookDefaults",
]

@dataclass(slots=True)
class Call:
    """A request that passed auth and validation, as a behaviour sees it."""

    spec: Spec
    operation: Operation
    account: str
    body: Any
    params: dict[str, Any]
    headers: Any  # case-insensitive header access (werkzeug Headers)
    client_address: str
    services: Services


@dataclass(slots=True)
class Reply:
    """What a behaviour answers: a documented status and a JSON body."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Behaviour = Callable[[Call], "Reply | Failure"]
"""The stateful outcome of one operation."""

JobHandler = Callable[["Job", "Services"], dict[str, Any]]
"""Runs one background job and returns its result (JSON); raising marks the job failed."""

Seeder = Callable[["Services", str, list[dict[str, Any]]], list[dict[str, Any]]]
"""Stores customers given as JSON for one account: one ``{"created": customer}`` or
``{"error": "..."}`` per item, in order."""


@dataclass(frozen=True, slots=True)
class WebhookDefaults:
    """How the API signs its webhook deliveries, where its spec's ``x-mock.webhooks`` is silent."""

    signature_header: str = DEFAULT_SIGNATURE_HEADER


@dataclass(frozen=True, slots=True)
class FixtureBuilder:
    """How ``mockserver fixtures generate`` makes this API's customers (:mod:`mockserver.fixtures`).

    ``customer`` builds one request item from a :class:`mockserver.fixtures.People` (its faker,
    locale and random source); the items must satisfy the request bodies of ``bulk_operation``
    (``{"customers": [...]}``) and ``item_operation``. ``account`` turns an account name given on
    the command line into a credential the API accepts (``default_account`` when none is given).
    """

    customer: Callable[[Any], dict[str, Any]]
    bulk_operation: str
    item_operation: str
    default_account: str
    account: Callable[[str], str] = str


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class ApiPack:
    """Everything specific to the API named ``name`` (its spec's ``x-mock.name``).

    ``item_operation`` names the operation whose request body a stored customer must satisfy:
    customers seeded through the control API or a data set are validated against it.
    ``webhooks`` is set when the API sends webhooks (its behaviours call
    ``services.webhooks.emit``). ``allowances`` and ``fixtures`` are read by the contract
    check and ``mockserver fixtures generate``.
    ``envelope`` renders a refusal in the API's documented error shape; a spec selects it with
    ``x-mock.envelope: <name>``. ``allowances`` are the contract allowances of the API's spec
    (:class:`mockserver.allowances.Allowance`).
    """

    name: str
    behaviours: Mapping[str, Behaviour] = field(default_factory=dict)
    job_handlers: Mapping[str, JobHandler] = field(default_factory=dict)
    seeder: Seeder | None = None
    item_operation: str | None = None
    envelope: Envelope | None = None
    webhooks: WebhookDefaults | None = None
    allowances: tuple[Allowance, ...] = ()
    fixtures: FixtureBuilder | None = None
    spec: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "behaviours", _frozen(self.behaviours))
        object.__setattr__(self, "job_handlers", _frozen(self.job_handlers))
        if self.spec is not None:
            object.__setattr__(self, "spec", Path(self.spec))


class Registry:
    """The packs one app serves with, and the lookups the engine and services make in them.

    Built once per app; :meth:`add` refuses a second pack of one name, a job kind two packs
    handle and an envelope name taken twice (``problem`` is the core's own).
    """

    def __init__(self, packs: Iterable[ApiPack] = ()) -> None:
        self._packs: dict[str, ApiPack] = {}
        self._origins: dict[str, str] = {}
        self._job_handlers: dict[str, tuple[str, JobHandler]] = {}
        self._envelopes: dict[str, tuple[str, Envelope]] = {"problem": ("mockserver", PROBLEM)}
        for pack in packs:
            self.add(pack)

    def add(self, pack: ApiPack, origin: str | None = None) -> None:
        """Register ``pack``; ``origin`` (where it came from, e.g. an entry point) appears in the
        error when it clashes with one registered before."""
        where = origin or f"the pack {getattr(pack, 'name', pack)!r}"
        if not isinstance(pack, ApiPack):
            raise ConfigError(
                f"{where} is a {type(pack).__name__}, not an ApiPack; point the entry point at "
                "an ApiPack object (see docs/packs.md)"
            )
        if pack.name in self._packs:
            raise ConfigError(
                f"two packs for the API {pack.name!r}: {self._origins[pack.name]} and {where}; "
                "uninstall one of them or pass the packs to use explicitly (create_app(apis=...))"
            )
        for kind in pack.job_handlers:
            if kind in self._job_handlers:
                raise ConfigError(
                    f"the job kind {kind!r} of pack {pack.name!r} ({where}) is already handled by "
                    f"pack {self._job_handlers[kind][0]!r}; prefix job kinds with the API's name"
                )
        if pack.envelope is not None and pack.name in self._envelopes:
            raise ConfigError(
                f"the envelope {pack.name!r} of {where} is already provided by "
                f"{self._envelopes[pack.name][0]}; rename the pack"
            )
        self._packs[pack.name] = pack
        self._origins[pack.name] = where
        for kind, handler in pack.job_handlers.items():
            self._job_handlers[kind] = (pack.name, handler)
        if pack.envelope is not None:
            self._envelopes[pack.name] = (where, pack.envelope)

    # -- lookups -----------------------------------------------------------------------------
    @property
    def packs(self) -> list[ApiPack]:
        """The registered packs, in the order they were added."""
        return list(self._packs.values())

    @property
    def names(self) -> list[str]:
        """The names of the registered packs."""
        return list(self._packs)

    def pack(self, api: str) -> ApiPack | None:
        """The pack for the API named ``api``, or None (a spec served without one)."""
        return self._packs.get(api)

    def behaviours(self, api: str) -> Mapping[str, Behaviour]:
        """``api``'s behaviours by operationId (empty for an API without a pack)."""
        pack = self._packs.get(api)
        return pack.behaviours if pack is not None else MappingProxyType({})

    @property
    def job_handlers(self) -> dict[str, JobHandler]:
        """Every job kind any pack handles, with its handler."""
        return {kind: handler for kind, (_, handler) in self._job_handlers.items()}

    def seeder(self, api: str) -> Seeder:
        """How customers given as JSON are stored for ``api``; ConfigError when no pack says."""
        pack = self._packs.get(api)
        if pack is None or pack.seeder is None:
            known = ", ".join(sorted(self.seeders)) or "none"
            raise ConfigError(f"no pack stores customers of the API {api!r}; known: {known}")
        return pack.seeder

    @property
    def seeders(self) -> list[str]:
        """The APIs whose packs can store customers given as JSON."""
        return [name for name, pack in self._packs.items() if pack.seeder is not None]

    def envelope(self, spec: Spec) -> Envelope:
        """The renderer of ``spec``'s envelope (its ``x-mock.envelope``); a SpecError when no
        pack provides it."""
        name = spec.settings.envelope
        found = self._envelopes.get(name)
        if found is None:
            known = ", ".join(sorted(self._envelopes))
            raise SpecError(
                spec.file,
                "/x-mock/envelope",
                f"unknown envelope {name!r}; known: {known} (an API pack provides each but "
                "'problem': install the one that provides it, or use 'problem')",
            )
        return found[1]

    def signature_header(self, api: str, spec_webhooks: Mapping[str, Any]) -> str | None:
        """The header ``api``'s webhook deliveries are signed in: the spec's
        ``x-mock.webhooks.signature-header``, else the pack's default, else
        :data:`~mockserver.webhooks.DEFAULT_SIGNATURE_HEADER`; None when neither the spec
        (``x-mock.webhooks``) nor the pack says the API sends webhooks."""
        named = spec_webhooks.get("signature-header")
        if named:
            return str(named)
        pack = self._packs.get(api)
        if pack is not None and pack.webhooks is not None:
            return pack.webhooks.signature_header
        return DEFAULT_SIGNATURE_HEADER if spec_webhooks else None

    def allowances(self, api: str | None) -> tuple[Allowance, ...]:
        """The contract allowances of the spec named ``api`` (none for user specs)."""
        pack = self._packs.get(api or "")
        return pack.allowances if pack is not None else ()

