"""The request pipeline, free of Flask: from raw request data to a response.

:meth:`Engine.handle` finds the mounted API and runs the steps of :attr:`Engine.steps` in their
documented order (ARCHITECTURE.md): route (404/405, CORS preflight), injected fault, security
(401), rate limit (429), content type (415), body size (413), parsing (400), parameters and body
against the schema (400/422), relay (replay or proxy, when configured), ``Prefer``. Each step
returns a :class:`Failure` (the request is refused, in the API's own envelope), a response (the
request is answered: a fault, a relayed answer) or None (the next step runs). Then the answer is
made (behaviour, documented example, generated body), checked against the spec, and every
request lands in the journal.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from mockserver.bodies import BodyError, is_json_media, media_type, parse_json
from mockserver.envelopes import Envelope, Failure, generic
from mockserver.errors import SpecError
from mockserver.errorshapes import shape
from mockserver.formats import preload as preload_formats
from mockserver.journal import JournalEntry
from mockserver.media import decode, is_checked, kind_of
from mockserver.media.answers import checked_as_json
from mockserver.messages import RequestData, ResponseData
from mockserver.negotiation import request_media
from mockserver.openapi.routing import Router
from mockserver.openapi.spec import Operation, Spec
from mockserver.packs import Behaviour, Call, Registry, Reply
from mockserver.responses import (
    Chosen,
    FixedAnswer,
    FixedAnswers,
    Preference,
    PreferenceError,
    choose,
    encoded,
    required_headers,
)
from mockserver.services import Services
from mockserver.specchecks import NOT_SERVED, drop_invalid_examples
from mockserver.validation import (
    CompiledParameter,
    SchemaValidator,
    compile_parameters,
    compile_schema,
    read_parameters,
)

if TYPE_CHECKING:
    from mockserver.generate import DataGenerator
    from mockserver.proxy import Relay

log = logging.getLogger("mockserver.requests")
log_spec = logging.getLogger("mockserver")
JOURNAL_BODY_LIMIT = 64 * 1024  # request and response bodies up to this size are journalled


class ResponseValidationError(AssertionError):
    """The mock was about to send a response its spec does not document (a bug in mock or spec)."""


@dataclass(slots=True)
class CompiledOperation:
    """An operation with everything the hot path needs precompiled."""

    operation: Operation
    parameters: list[CompiledParameter]
    body_validator: SchemaValidator | None
    body_media: tuple[str, ...]
    response_validators: dict[tuple[int, str], SchemaValidator | None] = field(default_factory=dict)
    media_validators: dict[str, SchemaValidator | None] = field(default_factory=dict)


class CompiledOperations(dict[str, CompiledOperation]):
    """Operations by operationId, compiled on first access (``[]`` and ``get``)."""

    def __init__(self, compile_one: Callable[[Operation], CompiledOperation], ops: list[Operation]):
        super().__init__()
        self._compile = compile_one
        self._operations = {op.operation_id: op for op in ops}

    def __missing__(self, operation_id: str) -> CompiledOperation:
        compiled = self._compile(self._operations[operation_id])
        self[operation_id] = compiled
        return compiled

    def get(self, operation_id: str, default: Any = None) -> Any:
        if operation_id in self or operation_id in self._operations:
            return self[operation_id]
        return default


class MountedApi:
    """One spec served at its mount point, with its router, its compiled operations, and what
    its pack gives it: the behaviours by operationId and the error envelope."""

    def __init__(self, spec: Spec, registry: Registry | None = None) -> None:
        """``registry`` holds the packs of the app serving ``spec`` (without one: no behaviours,
        and only the core's ``problem`` envelope, as for ``control.yaml``)."""
        registry = registry if registry is not None else Registry()
        self.spec = spec
        self.mount = spec.mount
        self.behaviours: Mapping[str, Behaviour] = registry.behaviours(spec.name)
        self.envelope: Envelope = registry.envelope(spec)
        self.router = Router(spec.operations)
        self.credential_re = re.compile(spec.settings.credential_pattern)
        self.compiled = CompiledOperations(self._compile, spec.operations)
        if not spec.big:
            for op in spec.operations:
                self.compiled[op.operation_id] = self._compile(op)
        # Operations whose examples are still to be checked against their schemas (a big or a
        # bundled spec's: see app.load_specs), each on its first request.
        self._unchecked = {o.operation_id for o in spec.operations if not spec.examples_checked}
        self._checking = threading.Lock()

    def ready(self, op: Operation) -> CompiledOperation:
        """``op`` compiled, its examples checked: one that breaks its schema is reported once
        and taken out (a generated body answers instead)."""
        if op.operation_id in self._unchecked:
            with self._checking:
                if op.operation_id in self._unchecked:
                    for problem in drop_invalid_examples(self.spec, [op]):
                        log_spec.warning("%s (%s)", problem, NOT_SERVED)
                    self._unchecked.discard(op.operation_id)
        return self.compiled[op.operation_id]

    def render(self, failure: Failure) -> tuple[Any, str]:
        """``failure`` in this API's envelope: ``(body, content type)``."""
        return self.envelope(self.spec.settings, failure)

    def _compile(self, op: Operation) -> CompiledOperation:
        spec = self.spec
        json_media = next((name for name in op.body_content if is_json_media(name)), None)
        json_schema = op.body_content[json_media].schema if json_media else None
        body_at = f"{op.pointer}/requestBody/content/{_escape(json_media or '')}/schema"
        return CompiledOperation(
            operation=op,
            parameters=compile_parameters(
                op.parameters, spec.document, (spec.file, op.pointer), spec.validators
            ),
            body_validator=compile_schema(
                json_schema, spec.document, (spec.file, body_at), spec.validators
            ),
            body_media=tuple(op.body_content),
        )

    def media_validator(self, compiled: CompiledOperation, media: str) -> SchemaValidator | None:
        """The validator of a non-JSON request body type (form, multipart, text), compiled on
        first use."""
        if media not in compiled.media_validators:
            schema = compiled.operation.body_content[media].schema
            at = f"{compiled.operation.pointer}/requestBody/content/{_escape(media)}/schema"
            compiled.media_validators[media] = compile_schema(
                schema, self.spec.document, (self.spec.file, at), self.spec.validators
            )
        return compiled.media_validators[media]

    def response_validator(
        self, compiled: CompiledOperation, status: int, media: str
    ) -> SchemaValidator | None:
        key = (status, media)
        if key not in compiled.response_validators:
            definition = compiled.operation.response_for(status)
            schema = None
            if definition is not None and media in definition.content:
                schema = definition.content[media].schema
            compiled.response_validators[key] = compile_schema(
                schema, self.spec.document, cache=self.spec.validators
            )
        return compiled.response_validators[key]


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _challenge_word(kind: str, param: str) -> str:
    """The auth-scheme of a ``WWW-Authenticate`` challenge for an HTTP security scheme."""
    return {"bearer": "Bearer", "basic": "Basic"}.get(kind, param)


_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def printable(path: str) -> str:
    """A path for one log line: control characters and spaces percent-encoded (``%0A``)."""
    return _CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", path)


_KIND = re.compile(r"[A-Za-z]{1,8}_(?:[A-Za-z]{1,8}_)?")  # sk_test_, pk_, whsec_, tok_


def mask(credential: str) -> str:
    """A credential as the journal, the control API and logs show it, never in full: its kind
    prefix (``sk_test_``) and, for a secret of 12 characters or more after it, its last 4, which
    tell accounts apart: ``sk_test_***p7dc``. ``sk_test_1`` is ``sk_test_***``, ``notify`` is
    ``***``.
    """
    found = _KIND.match(credential)
    prefix = found.group(0) if found and found.end() < len(credential) else ""
    secret = credential[len(prefix) :]
    return f"{prefix}***{secret[-4:] if len(secret) >= 12 else ''}"


def _masked_query(query: str, credential: str) -> str:
    """A query string with a credential sent in it (an ``in: query`` API key) masked."""
    shown = mask(credential)
    return query.replace(quote(credential, safe=""), shown).replace(credential, shown)


@dataclass(frozen=True, slots=True)
class _Decoded:
    """A body of a non-JSON media type, with the documented type it was read as."""

    value: Any
    media: str
    checked: bool


class _NoBody:
    """Marks 'no body was sent' (distinct from a JSON ``null``)."""

    __slots__ = ()


_NO_BODY: Any = _NoBody()


@dataclass(slots=True)
class Exchange:
    """One request on its way through the pipeline, with what the steps found so far."""

    api: MountedApi
    request: RequestData
    entry: JournalEntry  # filled in as the steps go
    method: str  # upper-case
    relative: str  # the path inside the mount
    # The operation, found by the route step (the steps after it rely on it).
    routed: CompiledOperation = field(init=False)
    op: Operation = field(init=False)
    path_params: Mapping[str, str] = field(init=False)
    reads_body: bool = False  # the operation documents a body and the method can carry one
    account: str = ""  # the credential, once authenticated
    media: str | None = None  # the documented non-JSON type the body is read as (None: JSON)
    media_kind: str = "json"
    media_params: dict[str, str] = field(init=False)  # of the Content-Type, when read
    raw: bytes | None = None
    body: Any = _NO_BODY  # parsed (then validated): None when no body was sent
    params: dict[str, Any] = field(init=False)  # typed parameter values, once validated
    relayed: bool = False  # the relay step ran: later refusals are the mock's own
    behaviour: Behaviour | None = None  # what answers: the behaviour,
    chosen: Chosen | None = None  # or the spec's answer,
    fixed: FixedAnswer | None = None  # encoded already when it is a fixed one

    @property
    def compiled(self) -> CompiledOperation | None:
        """The operation, or None before routing (a refusal may come first)."""
        return getattr(self, "routed", None)


Step = Callable[[Exchange], "Failure | ResponseData | None"]


class Engine:
    """Serves every mounted API. Thread-safe: all mutable state lives in ``services.state``."""

    def __init__(self, specs: list[Spec], services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.apis = [MountedApi(spec, services.registry) for spec in specs]
        # Longest mount first, so /a/v1 wins over /a.
        self.apis.sort(key=lambda api: len(api.mount), reverse=True)
        self.by_name = {api.spec.name: api for api in self.apis}
        services.expect_items(specs)
        self._local = threading.local()
        self._fixed = FixedAnswers()
        # Proxy and replay (docs/proxy.md): a step after validation, None when not configured.
        self.relay: Relay | None = None
        if self.settings.proxy or self.settings.replay_dir:
            # Imported only here: the HTTP client behind it costs `serve` ~50 ms of start-up.
            from mockserver.proxy import Relay

            self.relay = Relay.build(self.settings, specs, services.state)
        # The country and language code lists take ~0.25 s to load: off the first request's path.
        preload_formats()
        # The pipeline, in order (ARCHITECTURE.md): each step returns a Failure (the request is
        # refused), a response (it is answered) or None (the next step runs).
        self.steps: tuple[Step, ...] = (
            self._route,  # 404, 405, CORS preflight
            self._fault,  # an injected delay, drop or status
            self._authenticate,  # 401
            self._rate_limit,  # 429
            self._content_type,  # 415
            self._size,  # 413
            self._parse,  # 400
            self._validate,  # 400 / 422
            self._relay,  # replay, proxy
            self._prefer,  # Prefer, behaviour, example or generated (a bad Prefer: 400 / 422)
        )

    # -- entry point ---------------------------------------------------------------------------
    def handle(self, request: RequestData) -> ResponseData:
        """Answer one request; never raises for anything a client can send."""
        started = time.perf_counter()
        api = self.api_for(request.path)
        if api is None:
            return self._outside(request)
        entry = JournalEntry(
            time.time(), api.spec.name, request.method, request.path, request.query_string
        )
        x = Exchange(
            api, request, entry, request.method.upper(), request.path[len(api.mount) :] or "/"
        )
        try:
            response = self._handle(x)
        except SpecError as exc:  # a schema of a big spec, compiled on first use, is unusable
            log.error("%s", exc)
            entry.error = str(exc)
            response = ResponseData(500, orjson.dumps({"error": f"the spec cannot be used: {exc}"}))
        except ResponseValidationError as exc:
            self.services.server_errors.append(exc)
            response = ResponseData(500, orjson.dumps({"error": str(exc)}))
            entry.response_violations = entry.response_violations or [str(exc)]
        if self.settings.cors and "Origin" in request.headers:
            response.headers.setdefault("Access-Control-Allow-Origin", "*")
        self._journal(x, response, started)
        return response

    def api_for(self, path: str) -> MountedApi | None:
        """The API mounted at the start of ``path`` (the longest mount wins), or None."""
        for api in self.apis:
            if path == api.mount or path.startswith(api.mount + "/"):
                return api
        return None

    # -- the pipeline ------------------------------------------------------------------------
    def _handle(self, x: Exchange) -> ResponseData:
        """Run the steps in order (:attr:`steps`): the first that returns a :class:`Failure`
        refuses the request, the first that returns a response answers it; when none does, the
        answer is chosen and checked against the spec. ``handle`` journals the outcome."""
        if self.relay is not None:
            self.relay.keep_body(x.request)  # read by the engine, maybe forwarded too
        for step in self.steps:
            ended = step(x)
            if ended is not None:
                return ended if isinstance(ended, ResponseData) else self._refuse(x, ended)
        return self._check(x, self._respond(x))

    def _route(self, x: Exchange) -> Failure | ResponseData | None:
        """The operation of the method and path (404, 405 with ``Allow``); a CORS preflight is
        answered here."""
        api, request, method, relative = x.api, x.request, x.method, x.relative
        if (
            method == "OPTIONS"
            and self.settings.cors
            and "Access-Control-Request-Method" in request.headers
        ):
            methods = api.router.methods(relative)
            if methods:
                return self._preflight(request, methods)
        match = api.router.match(method, relative)
        if match.operation is None:
            if match.allowed:
                allowed = ", ".join(match.allowed)
                return Failure(
                    "method-not-allowed",
                    405,
                    f"{method} is not documented for {relative}; allowed: {allowed}",
                    headers={"Allow": allowed},
                )
            return Failure(
                "unknown-path", 404, f"No operation matches {method} {relative} in {api.spec.name}"
            )
        x.op = op = match.operation
        x.routed = api.ready(op)
        x.path_params = match.path_params
        x.reads_body = bool(op.body_content) and method not in ("GET", "HEAD")
        x.entry.operation_id = op.operation_id
        return None

    def _fault(self, x: Exchange) -> ResponseData | None:
        """An injected fault that matches (``POST /__mock/faults``): a delay, a dropped
        connection or a documented status."""
        op = x.op
        fault = self.services.state.faults.take(
            x.api.spec.name, op.operation_id, x.method, x.request.path
        )
        if fault is None:
            return None
        x.entry.notes.append(f"fault {fault.id}")
        if fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)
        if fault.drop:
            return ResponseData(0, b"", None, drop=True)
        if fault.status:
            return self._fault_answer(x, fault.id, fault.status)
        return None

    def _authenticate(self, x: Exchange) -> Failure | None:
        """The credential the operation's security asks for (401); it names the account, which
        the journal shows masked."""
        account, refused = self._account(x.api, x.op, x.request)
        if refused is not None:
            return refused
        assert account is not None
        x.account = account
        entry = x.entry
        entry.account = mask(account)
        if entry.query and (account in entry.query or quote(account, safe="") in entry.query):
            entry.query = _masked_query(entry.query, account)
        return None

    def _rate_limit(self, x: Exchange) -> Failure | None:
        """429 past the spec's ``x-mock.rate-limit``, when switched on through the control API."""
        api = x.api
        rule = api.spec.settings.rate_limit
        state = self.services.state
        if rule is None or not state.flags.get(f"rate-limit:{api.spec.name}", False):
            return None
        subject = x.request.client_address if rule.scope == "client-address" else x.account
        key = f"{api.spec.name}:{subject}"
        now = self.services.clock()
        blocked_until = state.flags.get(f"blocked:{key}")
        if blocked_until is None or now >= float(blocked_until):
            count = state.rate_limits.hit(key, rule.window_s, now)
            if count <= rule.limit:
                return None
            window_end = (now // rule.window_s + 1) * rule.window_s
            blocked_until = now + rule.block_s if rule.block_s else window_end
            if rule.block_s:
                state.flags.set(f"blocked:{key}", blocked_until)
        retry = max(1, int(float(blocked_until) - now + 0.999))
        message = rule.message or (
            f"Too many requests: at most {rule.limit} per {rule.window_s:g} s; retry in {retry} s"
        )
        return Failure("rate-limited", 429, message, headers={"Retry-After": str(retry)})

    def _content_type(self, x: Exchange) -> Failure | None:
        """415 for a body type the operation does not document (a strict API's JSON bodies: a
        missing Content-Type or a charset other than UTF-8 too); a lenient API reads any
        declared type as JSON and notes it. Decides how the body is read."""
        if not x.reads_body:
            return None
        compiled = x.routed
        declared, params = media_type(x.request.headers.get("Content-Type"))
        matched = request_media(declared, compiled.body_media) if declared else None
        kind = kind_of(declared if matched and matched.endswith("*") else matched or "")
        x.media_params = params
        if kind != "json" and matched is not None:
            x.media, x.media_kind = matched, kind
            return None
        if not x.api.spec.settings.lenient_content_type:
            if not declared:
                length = x.request.content_length or 0
                if length == 0 and not compiled.operation.body_required:
                    x.reads_body = False  # nothing sent, nothing required
                    return None
                return Failure(
                    "unsupported-media-type",
                    415,
                    f"Missing Content-Type; send 'Content-Type: {compiled.body_media[0]}'",
                )
            if matched is None:
                return Failure(
                    "unsupported-media-type",
                    415,
                    f"Content-Type {declared!r} is not accepted; "
                    f"send {' or '.join(compiled.body_media)}",
                )
            charset = params.get("charset")
            if charset and charset not in ("utf-8", "utf8"):
                return Failure(
                    "unsupported-media-type",
                    415,
                    f"charset {charset!r} is not accepted; send UTF-8 JSON",
                )
        elif declared and not is_json_media(declared):
            x.entry.notes.append(f"body parsed as JSON although Content-Type is {declared!r}")
        return None

    def _size(self, x: Exchange) -> Failure | None:
        """The body's bytes, read within the size limit (413; 400 when they cannot be read)."""
        if not x.reads_body:
            return None
        limit = self.settings.max_body_bytes
        request = x.request
        if request.content_length is not None and request.content_length > limit:
            return Failure(
                "too-large",
                413,
                f"The body has {request.content_length} bytes; the limit is {limit} bytes",
                headers={"Connection": "close"},
            )
        try:
            raw = request.read_within(limit)
        except Exception as exc:  # the client's bytes (bad chunked encoding, a short body): 400
            why = f"{type(exc).__name__}: {exc}"[:200]
            return Failure(
                "malformed",
                400,
                f"body: the request body could not be read ({why})",
                headers={"Connection": "close"},
            )
        if len(raw) > limit:
            return Failure(
                "too-large",
                413,
                f"The body is larger than the limit of {limit} bytes",
                headers={"Connection": "close"},
            )
        x.raw = raw
        return None

    def _parse(self, x: Exchange) -> Failure | None:
        """The body parsed (400 when malformed): JSON, or a documented form, multipart, text, XML
        or binary body by its codec; an empty body where one is required is a validation error."""
        if not x.reads_body:
            return None
        raw = x.raw
        assert raw is not None
        op = x.op
        media, kind = x.media, x.media_kind
        journal_it = self.settings.journal_bodies and len(raw) <= JOURNAL_BODY_LIMIT
        if media is None:  # JSON
            if not raw.strip():
                return self._missing_body(x, "a JSON")
            try:
                x.body = parse_json(raw)
            except BodyError as exc:
                return Failure("malformed", 400, f"body: {exc.problem}")
            if journal_it:
                x.entry.body = x.body
            else:
                x.entry.body_bytes = len(raw)
            return None
        if not raw and kind not in ("form", "multipart", "text"):  # empty text is text
            return self._missing_body(x, f"a {media}")
        try:
            value = decode(
                kind,
                raw,
                x.request.headers.get("Content-Type") or media,
                x.media_params.get("charset"),
                op.body_content[media],
                x.api.spec.document,
            )
        except BodyError as exc:
            return Failure("malformed", 400, f"body: {exc.problem}")
        if kind == "binary" or not journal_it:
            x.entry.body_bytes = len(raw)
        else:
            x.entry.body = value
        x.entry.notes.append(f"body read as {media}")
        x.body = _Decoded(value, media, is_checked(kind))
        return None

    def _missing_body(self, x: Exchange, what: str) -> Failure | None:
        if x.op.body_required:
            status = x.api.spec.settings.validation_status
            return Failure("validation", status, f"body: {what} request body is required")
        return None

    def _validate(self, x: Exchange) -> Failure | None:
        """Parameters (coerced to their schema types) and the body against the spec (400/422);
        each violation keeps its JSON path."""
        compiled = x.routed
        request = x.request
        x.params, violations = read_parameters(
            compiled.parameters, x.path_params, request.query, request.headers, request.cookies
        )
        body = x.body
        validator = compiled.body_validator
        if isinstance(body, _Decoded):  # a form, multipart, text, XML or binary body
            validator = x.api.media_validator(compiled, body.media) if body.checked else None
            body = x.body = body.value
        if body is _NO_BODY:
            x.body = None
        elif validator is not None:
            violations.extend(validator.violations(body))
        if violations:
            status = x.api.spec.settings.validation_status
            return Failure.from_violations("validation", status, violations)
        return None

    def _relay(self, x: Exchange) -> ResponseData | None:
        """With ``--replay`` or ``--proxy``: a matching recording or the upstream answers
        (:mod:`mockserver.proxy`); the refusals of the steps before are offered to it too."""
        x.relayed = True
        if self.relay is None:
            return None
        return self.relay.answer(x.api, x.routed, x.request, x.entry, None)

    def _prefer(self, x: Exchange) -> Failure | None:
        """What answers: the behaviour registered for the operation, unless a ``Prefer`` header
        asks for a documented answer; else the spec's example or a generated body. A ``Prefer``
        the spec cannot honour is a 400/422."""
        api, op, headers = x.api, x.op, x.request.headers
        try:
            preference = self._fixed.preference(headers.get("Prefer"))
            behaviour = api.behaviours.get(op.operation_id)
            if behaviour is not None and not preference.any:
                x.behaviour = behaviour
                return None
            x.chosen, x.fixed = self._fixed.choose(
                x.routed,
                op,
                preference,
                headers.get("Accept"),
                api.spec.document,
                self._generator,
            )
        except PreferenceError as exc:
            return Failure("validation", api.spec.settings.validation_status, str(exc))
        return None

    def _respond(self, x: Exchange) -> ResponseData:
        """The behaviour's outcome, or the spec's answer chosen by :meth:`_prefer`."""
        api = x.api
        if x.behaviour is not None:
            call = Call(
                api.spec,
                x.op,
                x.account,
                x.body,
                x.params,
                x.request.headers,
                x.request.client_address,
                self.services,
            )
            outcome = x.behaviour(call)
            if isinstance(outcome, Failure):
                return self._fail(x, outcome)
            return self._reply(outcome)
        chosen = x.chosen
        assert chosen is not None
        x.entry.notes.append(f"answered from the spec ({chosen.status})")
        headers = required_headers(chosen.definition, self._generator, api.spec.document)
        fixed = x.fixed
        # ``value`` is the value of a JSON answer (the check and the journal use it as is);
        # the response check reads a text answer from its bytes.
        if fixed is not None:
            payload, value = fixed.payload, fixed.value
        else:
            payload, value = encoded(
                chosen.media, chosen.body, chosen.definition, api.spec.document
            )
        return ResponseData(chosen.status, payload, chosen.media, headers, payload=value)

    def _check(self, x: Exchange, response: ResponseData) -> ResponseData:
        """The outgoing status, headers, content type and body against the spec
        (``validate_responses``: off, warn, or strict, which raises)."""
        mode = self.settings.validate_responses
        if mode == "off":
            return response
        op = x.op
        fixed = x.fixed
        if fixed is not None and response.body is fixed.payload:  # checked once (FixedAnswers)
            if fixed.problems is None:
                fixed.problems = self._problems(x.api, x.routed, response)
            problems = list(fixed.problems)
        else:
            problems = self._problems(x.api, x.routed, response)
        if not problems:
            return response
        text = (
            f"{op.api}.{op.operation_id} answered {response.status}, which breaks the spec: "
            + "; ".join(problems[:5])
        )
        x.entry.response_violations = problems
        log.warning("%s", text)
        if mode == "strict":
            raise ResponseValidationError(text)
        return response

    def _journal(self, x: Exchange, response: ResponseData, started: float) -> None:
        """The exchange's journal entry, completed with the answer, appended to the state."""
        entry = x.entry
        entry.status = response.status
        entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        if response.body:
            if self.settings.journal_bodies and len(response.body) <= JOURNAL_BODY_LIMIT:
                entry.response = _recorded(response)
            else:
                entry.response_bytes = len(response.body)
        self.services.state.journal.append(entry.to_record())
        if self.settings.log_requests:
            log.info(
                "%s %s %s -> %d (%s, %.1f ms)",
                x.api.spec.name,
                x.request.method,
                printable(x.request.path),
                response.status,
                entry.operation_id or "-",
                entry.duration_ms,
            )

    # -- failures ----------------------------------------------------------------------------
    def _outside(self, request: RequestData) -> ResponseData:
        """404 for a path under no mount (not journalled: no API's)."""
        failure = Failure(
            "unknown-path",
            404,
            f"No API is mounted at {request.path!r}; "
            f"mounted: {', '.join(a.mount for a in self.apis)}",
        )
        body, content_type = generic(failure)
        if self.settings.log_requests:  # a client with a wrong base URL should see why
            log.info("- %s %s -> 404 (outside every API)", request.method, printable(request.path))
        return ResponseData(404, orjson.dumps(body), content_type)

    def _refuse(self, x: Exchange, failure: Failure) -> ResponseData:
        """A request the spec does not allow: refused, unless the relay answers it anyway (the
        proxy forwards it, a recording answers it) and notes the violations."""
        if self.relay is not None and not x.relayed:
            relayed = self.relay.answer(x.api, x.compiled, x.request, x.entry, failure)
            if relayed is not None:
                return relayed
        return self._fail(x, failure)

    def _fail(self, x: Exchange, failure: Failure) -> ResponseData:
        """``failure`` in the API's envelope (or, for a ``problem`` API, as the operation
        documents it), noted in the journal entry."""
        api, entry = x.api, x.entry
        if failure.violations:
            entry.violations = list(failure.violations)
        entry.error = failure.message
        headers = dict(failure.headers)
        if api.spec.settings.envelope == "problem" and x.compiled is not None:
            documented = self._documented_failure(api, x.compiled, failure, headers)
            if documented is not None:
                return documented
        body, content_type = api.render(failure)
        return ResponseData(failure.status, orjson.dumps(body), content_type, headers)

    def _documented_failure(
        self,
        api: MountedApi,
        compiled: CompiledOperation,
        failure: Failure,
        headers: dict[str, str],
    ) -> ResponseData | None:
        """``failure`` answered as the operation documents it (see :mod:`errorshapes`)."""
        document = api.spec.document
        shaped = shape(compiled.operation, failure, document, self._generator, None)
        if shaped is None:
            return None
        headers.update(required_headers(shaped.definition, self._generator, document))
        if shaped.media is None:  # documented without a body: the problem, for the message
            problem, content_type = api.render(replace(failure, status=shaped.status))
            return ResponseData(shaped.status, orjson.dumps(problem), content_type, headers)
        body = shaped.body
        if checked_as_json(shaped.media):
            validator = api.response_validator(compiled, shaped.status, shaped.media)
            problem, _ = api.render(replace(failure, status=shaped.status))
            if shaped.media == "application/problem+json" and (
                validator is None or validator.is_valid(problem)
            ):
                body = problem  # documented as a problem: the mock's own, with every violation
            elif validator is not None and not validator.is_valid(body):
                body = shaped.plain  # the message fits no field: the documented body as it is
        payload, value = encoded(shaped.media, body, shaped.definition, document)
        return ResponseData(shaped.status, payload, shaped.media, headers, payload=value)

    # -- helpers of the steps ------------------------------------------------------------------
    def _generator(self) -> DataGenerator:
        # One per thread (a generator is not thread-safe), built on first use: faker is slow to
        # import and most answers come from examples.
        generator: DataGenerator | None = getattr(self._local, "generator", None)
        if generator is None:
            from mockserver.generate import DataGenerator

            generator = self._local.generator = DataGenerator(seed=self.settings.seed)
        return generator

    def _preflight(self, request: RequestData, methods: list[str]) -> ResponseData:
        requested = request.headers.get("Access-Control-Request-Headers", "")
        headers = {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": requested or "*",
            "Access-Control-Max-Age": "600",
        }
        return ResponseData(204, b"", None, headers)

    def _account(
        self, api: MountedApi, op: Operation, request: RequestData
    ) -> tuple[str | None, Failure | None]:
        """The account (the credential) a security requirement admits, or the 401."""
        if not op.security:
            return "anonymous", None
        problems: list[str] = []
        for requirement in op.security:
            if not requirement:
                return "anonymous", None
            credentials: list[str] = []
            for scheme in requirement:
                credential, problem = self._credential(api, scheme.kind, scheme.param, request)
                if problem:
                    problems.append(problem)
                    break
                assert credential is not None
                credentials.append(credential)
            else:
                account = credentials[0]
                permission = op.x_mock.get("permission")
                granted = self.settings.tokens.get(account)
                if permission and granted is not None and permission not in granted:
                    return None, Failure(
                        "unauthorized",
                        401,
                        f"This API key lacks the {permission!r} permission; grant it to the key",
                    )
                return account, None
        challenges = [
            f'{_challenge_word(s.kind, s.param)} realm="{api.spec.name}"'
            for requirement in op.security
            for s in requirement
            if s.kind in ("bearer", "basic", "http")
        ]
        headers = {"WWW-Authenticate": ", ".join(dict.fromkeys(challenges))} if challenges else {}
        return None, Failure("unauthorized", 401, problems[0], headers=headers)

    def _credential(
        self, api: MountedApi, kind: str, param: str, request: RequestData
    ) -> tuple[str | None, str | None]:
        if kind in ("bearer", "basic"):
            header = request.headers.get("Authorization")
            word = "Bearer" if kind == "bearer" else "Basic"
            if not header:
                return (
                    None,
                    f"Missing Authorization header; send 'Authorization: {word} <your API key>'",
                )
            scheme, _, token = header.strip().partition(" ")
            token = token.strip()
            if scheme.lower() != word.lower() or not token:
                return None, f"Malformed Authorization header; expected '{word} <your API key>'"
            value = token
        elif kind == "http":  # another HTTP scheme (Digest, ...): credentials must be present
            header = (request.headers.get("Authorization") or "").strip()
            scheme, _, rest = header.partition(" ")
            if not header:
                return None, f"Missing Authorization header; send 'Authorization: {param} ...'"
            if scheme.lower() != param.lower() or not rest.strip():
                return None, f"Malformed Authorization header; expected '{param} ...'"
            value = rest.strip()
        elif kind == "header":
            value = (request.headers.get(param) or "").strip()
            if not value:
                return None, f"Missing API key; send it in the {param} header"
        elif kind == "query":
            values = request.query.getlist(param)
            value = values[0] if values else ""
            if not value:
                return None, f"Missing API key; send it as the {param!r} query parameter"
        else:
            value = request.cookies.get(param, "")
            if not value:
                return None, f"Missing API key; send it in the {param!r} cookie"
        if not api.credential_re.search(value):
            return (
                None,
                f"Invalid API key {mask(value)!r}; expected a key matching "
                f"{api.spec.settings.credential_pattern}",
            )
        return value, None

    def _reply(self, reply: Reply) -> ResponseData:
        return ResponseData(
            reply.status,
            orjson.dumps(reply.body),
            "application/json",
            dict(reply.headers),
            payload=reply.body,
        )

    def _fault_answer(self, x: Exchange, fault_id: str, status: int) -> ResponseData:
        """The answer of an injected fault: one the operation documents for ``status``.

        Arming refused statuses the operation does not document (``faults.build_fault``). The
        answer is the API's error envelope (kind by status: 429 rate-limited, 5xx server-error,
        ...) with every header the response declares required (``Retry-After: 1`` on a 429);
        where the envelope does not fit the documented body (a 2xx, a 409 of its own shape), the
        documented example (or a generated body) answers, as ``Prefer: code=`` would.
        """
        api, compiled = x.api, x.routed
        op = compiled.operation
        definition = op.response_for(status)
        headers: dict[str, str] = {}
        if definition is not None:
            headers = required_headers(definition, self._generator, api.spec.document)
            if "Retry-After" in definition.headers:
                headers["Retry-After"] = "1"
        kind = "server-error" if status >= 500 else _FAULT_KINDS.get(status, "fault")
        failure = Failure(
            kind, status, f"Injected fault {fault_id}: status {status}", headers=headers
        )
        response = self._fail(x, failure)
        if definition is not None and self._problems(api, compiled, response):
            chosen = choose(op, Preference(code=status), api.spec.document, self._generator)
            payload = b"" if chosen.media is None else orjson.dumps(chosen.body)
            response = ResponseData(status, payload, chosen.media, headers, payload=chosen.body)
        return self._check(x, response)

    def _problems(
        self, api: MountedApi, compiled: CompiledOperation, response: ResponseData
    ) -> list[str]:
        """How ``response`` breaks the spec: status, required headers, content type, body."""
        op = compiled.operation
        problems: list[str] = []
        definition = op.response_for(response.status)
        if definition is None:
            return [f"status {response.status} is not documented"]
        present = {name.lower() for name in response.headers}
        problems.extend(
            f"required header {name} is missing"
            for name, header in definition.headers.items()
            if header.get("required") and name.lower() not in present
        )
        if response.content_type is not None:
            if definition.content and response.content_type not in definition.content:
                problems.append(
                    f"content type {response.content_type} is not documented for {response.status}"
                )
            elif checked_as_json(response.content_type):
                validator = api.response_validator(compiled, response.status, response.content_type)
                if validator is not None:
                    if response.payload is not None:
                        body = response.payload
                    elif kind_of(response.content_type) == "text":
                        body = response.body.decode("utf-8")
                    else:
                        body = orjson.loads(response.body) if response.body else None
                    problems.extend(v.message for v in validator.violations(body, "response"))
        return problems


def _recorded(response: ResponseData) -> Any:
    """A response body as the journal keeps it: JSON as JSON, anything else as text.

    A body the mock serialised itself (``payload`` set) goes in as the bytes already written,
    neither parsed nor serialised again; others (errors, a proxied upstream's answer) are parsed,
    and kept as text when they are not the JSON their content type claims.
    """
    if response.payload is not None:
        return orjson.Fragment(response.body)
    if "json" in (response.content_type or ""):
        try:
            return orjson.loads(response.body)
        except orjson.JSONDecodeError:
            pass
    return response.body.decode("utf-8", errors="replace")


# The error kind an injected status renders as (an envelope may map it to an error code,
# x-mock.error-codes);
# 5xx are "server-error", any other status "fault".
_FAULT_KINDS = {
    400: "validation",
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    409: "duplicate",
    413: "too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
}
