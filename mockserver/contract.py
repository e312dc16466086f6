"""Contract checks: does an implementation answer the way its OpenAPI spec says?

schemathesis (v4) generates requests from the spec (documented examples, boundary "coverage"
cases, random fuzzing, stateful sequences along links) and runs every check it has on each
answer: status codes, content types, response schemas and headers, valid data accepted, invalid
data rejected, auth enforced, ``Allow`` on 405, and more. Used twice, with the same settings:

* ``tests/contract/`` runs it in-process against the mock's Flask app (WSGI), for every bundled
  spec: this proves the mock and its specs agree;
* ``mockserver contract SPEC --url URL`` runs it against any deployment (the real API with a test
  key, staging, or a running mock) through :func:`run`, and exits non-zero on a disagreement.

Everything is deterministic: a fixed seed, ``derandomize``, bounded example counts.

A few of schemathesis' generic expectations do not fit what a spec documents; each
:class:`~mockserver.allowances.Allowance` adjusts one check for some operations and says why that
is right. The API's pack lists them (``ApiPack.allowances``, e.g.
``mockserver/apis/<api>/contract.py``); they apply to the spec of the pack's name (its
``x-mock.name``), never to other specs. ``mock_only`` ones apply only when the target is the
mock itself. ``strict=True`` drops all of them.

This module drives schemathesis' engine (``schemathesis.engine.from_schema``), the same Python
API its ``st run`` command is built on, so a run needs no subprocess and the result is data
(:class:`ContractResult`) rather than text.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import schemathesis
from schemathesis.engine import events, from_schema

from mockserver.allowances import Allowance
from mockserver.errors import ConfigError
from mockserver.formats import code_lists

PHASES = ("examples", "coverage", "fuzzing", "stateful")
DEFAULT_SEED = 20240601
DEFAULT_MAX_EXAMPLES = 25
DEFAULT_MAX_STEPS = 10
# A request that takes longer than this hangs (`max_response_time` needs a limit to run at all).
MAX_RESPONSE_TIME_S = 10.0
# schemathesis' default statuses for valid data (config/_checks.py), which allowances extend.
POSITIVE_STATUSES = ("2XX", "3XX", "401", "403", "404", "409", "429", "5XX")


# -- configuration ---------------------------------------------------------------------------


def read_spec(path: str | Path) -> dict[str, Any]:
    """A spec file (YAML or JSON) as a dict; ``$ref``s to other files (relative to ``path``) are
    brought into the document, as the mock's loader does, so schemathesis can follow them."""
    from mockserver.errors import SpecError
    from mockserver.openapi.loader import bundle_external_refs, read_document

    try:
        document = dict(bundle_external_refs(Path(path), read_document(Path(path))))
        return _inline_operation_refs(document, str(path))
    except SpecError as exc:
        raise ConfigError(str(exc)) from None


def _inline_operation_refs(document: dict[str, Any], file: str) -> dict[str, Any]:
    """Operations written as a ``$ref`` (not OpenAPI, but common in specs split over files;
    the mock's loader follows them) replaced by what they refer to: schemathesis reads an
    operation's parameters and responses only where the path item holds them."""
    from mockserver.openapi.loader import HTTP_METHODS, resolve

    paths = document.get("paths")
    if not isinstance(paths, dict):
        return document
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict) and "$ref" in operation:
                item[method] = copy.deepcopy(
                    resolve(operation, document, file, f"/paths/{path}/{method}"))
    return document


def api_name(document: Mapping[str, Any]) -> str | None:
    """The spec's ``x-mock.name`` (the pack of that name gives the allowances)."""
    x_mock = document.get("x-mock")
    return str(x_mock["name"]) if isinstance(x_mock, dict) and "name" in x_mock else None


@functools.cache
def pack_allowances(name: str | None) -> tuple[Allowance, ...]:
    """The allowances the installed pack of the API ``name`` lists (none without a pack)."""
    from mockserver.apis import registry

    return tuple(registry().allowances(name))


@functools.cache
def _has_behaviours(name: str | None) -> bool:
    from mockserver.apis import registry

    return name is not None and bool(registry().behaviours(name))


def has_behaviours(document: Mapping[str, Any]) -> bool:
    """Whether the mock serves ``document`` with stateful behaviours (an installed pack's)."""
    return _has_behaviours(api_name(document))


def mock_allowances(document: Mapping[str, Any]) -> list[Allowance]:
    """What the mock does not emulate for a spec it serves from the document alone (README,
    "Serving your own spec"), as allowances for every operation (``operations`` empty)."""
    found: list[Allowance] = []
    x_mock = document.get("x-mock")
    if not (isinstance(x_mock, dict) and "credential-pattern" in x_mock):
        found.append(Allowance(
            (), "ignored_auth", mock_only=True,
            reason="the mock checks that credentials are present, not that they are valid "
                   "(any token, key or password is an account); missing ones still get 401."))
    if not has_behaviours(document):
        for check in ("use_after_free", "ensure_resource_availability"):
            found.append(Allowance(
                (), check, mock_only=True,
                reason="the mock keeps no state for this spec: every answer comes from the "
                       "document (examples or generated), so a deleted or created resource "
                       "is not remembered."))
    return found


def allowances_for(document: Mapping[str, Any], *, target: str = "deployment",
                   strict: bool = False, checks: Sequence[str] | None = None,
                   exclude_checks: Sequence[str] = ()) -> list[Allowance]:
    """The allowances that apply to ``document`` for ``target`` (``mock`` or ``deployment``),
    among the checks that run."""
    if strict:
        return []
    name = api_name(document)
    generic = mock_allowances(document) if target == "mock" else []
    return [a for a in [*pack_allowances(name), *generic]
            if (target == "mock" or not a.mock_only)
            and (not checks or a.check in checks) and a.check not in exclude_checks]


def mock_credentials(document: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Credentials the mock accepts for each security scheme (schemathesis ``auth.openapi``)."""
    import re

    x_mock = document.get("x-mock") or {}
    pattern = re.compile(str(x_mock.get("credential-pattern", ".+")))
    value = next((c for c in ("sk_test_contract", "contract-token") if pattern.search(c)),
                 "sk_test_contract")
    schemes = ((document.get("components") or {}).get("securitySchemes") or {})
    auth: dict[str, dict[str, str]] = {}
    for name, scheme in schemes.items():
        kind, http = scheme.get("type"), str(scheme.get("scheme", "")).lower()
        if kind == "apiKey":
            auth[name] = {"api_key": value}
        elif kind == "http" and http == "bearer":
            auth[name] = {"bearer": value}
        elif kind == "http" and http == "basic":
            auth[name] = {"username": value, "password": value}
    return auth


def check_names() -> list[str]:
    """Every check schemathesis knows (including ``documented_rejection``)."""
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    return sorted(CHECKS.get_all_names())


def config_dict(
    document: Mapping[str, Any],
    *,
    target: str = "deployment",
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    auth: Mapping[str, Mapping[str, str]] | None = None,
    seed: int = DEFAULT_SEED,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    max_steps: int = DEFAULT_MAX_STEPS,
    checks: Sequence[str] | None = None,
    exclude_checks: Sequence[str] = (),
    phases: Sequence[str] = PHASES,
    strict: bool = False,
) -> dict[str, Any]:
    """The schemathesis configuration (the ``schemathesis.toml`` structure) of one run."""
    known = set(check_names())
    unknown = sorted({*(checks or ()), *exclude_checks} - known)
    if unknown:
        names = ", ".join(unknown)
        raise ConfigError(f"unknown check(s) {names}; known: {', '.join(sorted(known))}")
    bad_phases = sorted(set(phases) - set(PHASES))
    if bad_phases:
        raise ConfigError(f"unknown phase(s) {', '.join(bad_phases)}; known: {', '.join(PHASES)}")
    # `max_response_time` is a number (the limit in seconds), not a table; it runs only with one.
    check_config: dict[str, Any] = {}
    if checks:
        check_config["enabled"] = False
    for name in checks or ():
        if name != "max_response_time":
            check_config[name] = {"enabled": True}
    for name in exclude_checks:
        if name != "max_response_time":
            check_config[name] = {"enabled": False}
    if (not checks or "max_response_time" in checks) and "max_response_time" not in exclude_checks:
        check_config["max_response_time"] = MAX_RESPONSE_TIME_S
    config: dict[str, Any] = {
        "seed": seed,
        # Every distinct failure of an operation, not only its first: an undocumented refusal
        # (the spec's fault) must not hide a real disagreement found after it.
        "continue-on-failure": True,
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True,
                       "database": "none"},
        "checks": check_config,
        "phases": {name: {"enabled": name in phases} for name in PHASES},
        "operations": [],
    }
    config["phases"]["stateful"]["max-steps"] = max_steps
    if base_url:
        config["base-url"] = base_url
    if headers:
        config["headers"] = dict(headers)
    if auth:
        config["auth"] = {"openapi": {k: dict(v) for k, v in auth.items()}}
    for allowance in allowances_for(document, target=target, strict=strict, checks=checks,
                                    exclude_checks=exclude_checks):
        if allowance.accept:
            statuses = [*POSITIVE_STATUSES, *(str(s) for s in allowance.accept)]
            adjusted: dict[str, Any] = {"expected-statuses": statuses}
        else:
            adjusted = {"enabled": False}
        if not allowance.operations:  # every operation
            check_config[allowance.check] = adjusted
            continue
        config["operations"].append({
            "include-operation-id": list(allowance.operations),
            "checks": {allowance.check: adjusted},
        })
    if not config["operations"]:
        del config["operations"]
    return config


def register_formats() -> None:
    """Teach schemathesis mockserver's custom formats (``mockserver.formats``), so its valid
    cases carry real country and language codes (in both letter cases) instead of any string."""
    from hypothesis import strategies as st

    for name, codes in code_lists().items():
        values = sorted(codes | {code.upper() for code in codes})
        schemathesis.openapi.format(name, st.sampled_from(values))


def load_schema(document: Mapping[str, Any], config: Mapping[str, Any], *,
                app: Any = None, mount: str | None = None) -> Any:
    """A schemathesis schema for ``document``; with ``app`` (a WSGI app) calls go in-process.

    ``mount`` replaces the document's server URLs (the mock serves ``/bunce/v1`` where the vendor
    serves ``https://api.bunce.so/v1``).
    """
    raw: dict[str, Any] = copy.deepcopy(dict(document))
    if mount is not None:
        raw["servers"] = [{"url": mount}]
    register_formats()
    loaded = schemathesis.Config.from_dict(dict(config))
    schema = schemathesis.openapi.from_dict(raw, config=loaded)
    if app is not None:
        schema.app = app
    return schema


# -- the check that backs the positive-data allowances ---------------------------------------


@schemathesis.check
def documented_rejection(ctx: Any, response: Any, case: Any) -> bool | None:
    """A valid request an allowance lets the API refuse must get the documented refusal.

    E.g. Tamio may answer a valid retrieve with 400 only if it is error_code 1002 (not found), not
    a validation error: otherwise the mock rejected data its spec says is valid.
    """
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive:
        return None
    operation = case.operation
    name = api_name(operation.schema.raw_schema)
    operation_id = operation.definition.raw.get("operationId")
    for allowance in pack_allowances(name):
        if (operation_id not in allowance.operations
                or response.status_code not in allowance.accept or allowance.proof is None):
            continue
        try:
            body = response.json()
        except ValueError:
            body = None
        if not allowance.proof(body):
            raise AssertionError(
                f"{operation.label} refused schema-valid data with {response.status_code}, which "
                f"the spec allows only as {allowance.proof_text}; got {json.dumps(body)[:300]}"
            )
    return None


# -- running against a deployment ------------------------------------------------------------


@dataclass(slots=True)
class Finding:
    """One disagreement between spec and implementation (or an error that stopped a test).

    ``status`` is set for a refusal the spec does not document (see :func:`spec_fault`).
    """

    operation: str
    phase: str
    check: str
    title: str
    message: str
    reproduce: str = ""
    status: int | None = None

    def render(self) -> str:
        if self.status is not None:
            gap = (f"documents no {self.status} answer ({self.phase}): the server refused a "
                   f"request with {self.status}; document it (or a 4XX or default response)")
            if self.check == "positive_data_acceptance":
                gap = (f"documents no success answer ({self.phase}): only refusals such as "
                       f"{self.status}; document the answer to a valid request")
            return "\n".join([
                f"SPEC {self.operation} {gap}",
                *([f"    reproduce: {self.reproduce}"] if self.reproduce else []),
            ])
        lines = [f"FAIL {self.operation} [{self.check}] ({self.phase}): {self.title}"]
        lines += [f"    {line}" for line in self.message.strip().splitlines() if line.strip()]
        if self.reproduce:
            lines.append(f"    reproduce: {self.reproduce}")
        return "\n".join(lines)


@dataclass(slots=True)
class ContractResult:
    """What a run found: ``ok`` when no check failed and nothing errored.

    ``spec_faults`` are the spec's own gaps, not disagreements: a request refused with a 4xx
    status the operation does not document (e.g. a 400 for invalid input where the spec lists
    only its 200). They are reported, one per operation and status, and do not fail the run
    (with ``strict`` they are findings like any other).
    """

    findings: list[Finding] = field(default_factory=list)
    spec_faults: list[Finding] = field(default_factory=list)
    cases: dict[str, int] = field(default_factory=dict)
    operations: set[str] = field(default_factory=set)
    stop_reason: str = ""
    skipped: int = 0  # cases not sent as generated (see looks_valid_on_the_wire)

    @property
    def ok(self) -> bool:
        return not self.findings and self.stop_reason in ("", "completed")

    def undocumented(self) -> dict[str, set[int]]:
        """The spec's faults: per operation (``GET /path``), the refusal statuses it omits."""
        found: dict[str, set[int]] = {}
        for fault in self.spec_faults:
            if fault.status is not None:
                found.setdefault(fault.operation, set()).add(fault.status)
        return found

    def summary(self) -> str:
        counts = ", ".join(f"{phase} {n}" for phase, n in self.cases.items()) or "none"
        verdict = "ok" if self.ok else f"{len(self.findings)} failure(s)"
        if self.skipped:
            verdict += f"; {self.skipped} case(s) skipped: not sent as generated"
        if self.spec_faults:
            verdict += f"; {len(self.spec_faults)} undocumented refusal(s), the spec's fault"
        return f"{len(self.operations)} operation(s), test cases per phase: {counts}; {verdict}"


_FORM_MEDIA = ("application/x-www-form-urlencoded", "multipart/form-data")


def looks_valid_on_the_wire(failure: Any, case: Any) -> bool:
    """Whether a request's verdict is decided by how it was sent rather than by the server:
    schemathesis' case and the bytes on the wire tell different stories, and no server can
    answer both. Such failures are skipped (counted, not reported):

    * a form or multipart body whose array property got a scalar (``tag=x``) carries a
      one-element array, exactly as the valid ``["x"]`` would; one that leaves out a required
      array sends what the empty array sends (nothing);
    * a form body holding an object, or objects in an array, with no ``encoding`` to say how:
      schemathesis' form encoder writes an object as its keys (``category=id&category=name``)
      and moves nested fields to the top, so the server sees another request;
    * an XML body whose array property got an empty value sends the empty element the empty
      array is.
    """
    from schemathesis.core.failures import AcceptedNegativeData
    from schemathesis.openapi.checks import RejectedPositiveData

    from mockserver.errors import SpecError
    from mockserver.media.schemas import property_schema, types
    from mockserver.openapi.loader import resolve

    if not isinstance(failure, AcceptedNegativeData | RejectedPositiveData) or case is None:
        return False
    media = str(getattr(case, "media_type", "") or "").split(";")[0].strip().lower()
    body = case.body
    xml = media.endswith("/xml") or media.endswith("+xml")
    if (media not in _FORM_MEDIA and not xml) or not isinstance(body, dict):
        return False
    document = case.operation.schema.raw_schema
    try:
        definition = resolve(case.operation.definition.raw.get("requestBody"), document, "", "")
        content = definition["content"][case.media_type]
        schema, encoding = content["schema"], content.get("encoding") or {}
    except (KeyError, TypeError, AttributeError, SpecError):  # in doubt: report the failure
        return False

    def is_array(name: str) -> bool:
        return "array" in types(property_schema(schema, name, document), document)

    if media == "application/x-www-form-urlencoded" and any(
        name not in encoding
        and (isinstance(value, dict) or (isinstance(value, list) and any(
            isinstance(item, dict | list) for item in value)))
        for name, value in body.items()
    ):
        return True
    if not isinstance(failure, AcceptedNegativeData):
        return False
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    location = str(getattr(data, "location", "") or "")
    description = str(getattr(data, "description", "") or "")
    if not xml and description.startswith("Missing required property: "):
        name = description.split(": ", 1)[1]
        return name not in body and is_array(name)
    parts = location.split("/")
    if len(parts) != 4 or parts[1] != "properties" or parts[3] != "type":
        return False
    name = parts[2].replace("~1", "/").replace("~0", "~")
    if name not in body:
        return False
    sent = body[name]
    if xml:
        return sent in (None, "", {}) and is_array(name)
    return not isinstance(sent, list | dict) and is_array(name)


def spec_fault(failure: Any, case: Any = None) -> int | None:
    """The status of an answer that is the spec's gap, not the server's, else None: a refusal
    the spec does not document (a 4xx no exact, ``4XX`` or ``default`` response covers), or the
    documented 4xx of an operation that documents no success answer at all (a server can only
    refuse a valid request there)."""
    from schemathesis.openapi.checks import RejectedPositiveData, UndefinedStatusCode

    if isinstance(failure, UndefinedStatusCode) and 400 <= failure.status_code < 500:
        return int(failure.status_code)
    if isinstance(failure, RejectedPositiveData) and case is not None:
        responses = case.operation.definition.raw.get("responses") or {}
        success = [k for k in map(str, responses) if k[0] in "23" or k == "default"]
        if not success and 400 <= failure.status_code < 500:
            return int(failure.status_code)
    return None


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")``."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise ConfigError(f"--header {text!r}: write it as 'Name: value'")
    return name.strip(), value.strip()


def detect_mock(url: str, timeout: float = 3.0) -> bool:
    """True when ``url`` is served by mockserver (its ``/__mock/health`` lists the mount)."""
    import requests

    parts = urlsplit(url)
    try:
        answer = requests.get(f"{parts.scheme}://{parts.netloc}/__mock/health", timeout=timeout)
        health = answer.json() if answer.status_code == 200 else {}
    except (requests.RequestException, ValueError):
        return False
    mounts = [a.get("mount") for a in health.get("apis", []) if isinstance(a, dict)]
    path = parts.path.rstrip("/")
    return any(path == m or path.startswith(f"{m}/") for m in mounts if m)


def run(
    spec: str | Path | Mapping[str, Any],
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    target: str = "auto",
    on_event: Callable[[str], None] | None = None,
    **options: Any,
) -> ContractResult:
    """Run every phase and check of ``spec`` against the deployment at ``url`` (its base URL).

    ``target`` is ``mock``, ``deployment`` or ``auto`` (ask ``/__mock/health``). Other keyword
    arguments go to :func:`config_dict` (``seed``, ``max_examples``, ``checks``, ...).
    ``on_event`` receives progress lines. A refusal the spec does not document is the spec's
    fault (:func:`spec_fault`), listed in ``spec_faults`` unless ``strict``.
    """
    strict = bool(options.get("strict", False))
    document = read_spec(spec) if isinstance(spec, str | Path) else dict(spec)
    if target == "auto":
        target = "mock" if detect_mock(url) else "deployment"
    if target not in ("mock", "deployment"):
        raise ConfigError(f"target {target!r}: use mock, deployment or auto")
    config = config_dict(document, target=target, base_url=url, headers=headers, **options)
    schema = load_schema(document, config)
    say = on_event or (lambda line: None)
    result = ContractResult()
    seen: set[tuple[str, str, str, str]] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted) and event.phase.name.value in PHASES:
            say(f"phase {event.phase.name.value}")
        elif isinstance(event, events.ScenarioFinished):
            phase = event.phase.value
            result.cases[phase] = result.cases.get(phase, 0) + len(event.recorder.cases)
            if event.label:
                result.operations.add(event.label)
            for case_id, checks in event.recorder.checks.items():
                for node in checks:
                    info = node.failure_info
                    if info is None:
                        continue
                    failure = info.failure
                    case = event.recorder.cases.get(case_id)
                    if looks_valid_on_the_wire(failure, case.value if case else None):
                        result.skipped += 1
                        continue
                    label = failure.operation or event.label or event.recorder.label
                    status = None if strict else spec_fault(failure, case.value if case else None)
                    key = (label, node.name, failure.title,
                           failure.message if status is None else str(status))
                    if key in seen:
                        continue
                    seen.add(key)
                    found = Finding(label, phase, node.name, failure.title, failure.message,
                                    info.code_sample, status)
                    (result.findings if status is None else result.spec_faults).append(found)
        elif isinstance(event, events.NonFatalError):
            phase = event.phase.value if event.phase else "-"
            result.findings.append(Finding(event.label, phase, "error", event.info.title,
                                           event.info.message))
        elif isinstance(event, events.FatalError):
            result.findings.append(Finding("-", "-", "error", type(event.exception).__name__,
                                           str(event.exception)))
        elif isinstance(event, events.EngineFinished):
            result.stop_reason = event.stop_reason.value
            for failure in event.failures:
                result.findings.append(Finding(failure.operation or "-", "after run", "check",
                                               failure.title, failure.message))
    return result


def describe_allowances(allowances: Iterable[Allowance]) -> list[str]:
    """One line per allowance, for the command's output."""
    lines = []
    for a in allowances:
        change = f"also accepts {', '.join(map(str, a.accept))}" if a.accept else "is off"
        where = "/".join(a.operations) or "every operation"
        lines.append(f"{where}: {a.check} {change}: {a.reason}")
    return lines
