"""The request pipeline, free of Flask: from raw request data to a response.

The order of checks is fixed and documented (ARCHITECTURE.md): route (404/405), CORS preflight,
injected fault, security (401), rate limit (429), content type (415), body size (413), JSON parsing
(400), parameters and body against the schema (400/422), then the response: ``Prefer`` header,
behaviour, documented example, generated body. Every refusal is a :class:`Failure` rendered in the
API's own envelope; every request lands in the journal.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import orjson

from mockserver.behaviours.registry import BEHAVIOURS, Call, Reply
from mockserver.bodies import BodyError, is_json_media, media_type, parse_json
from mockserver.envelopes import Failure, generic, render
from mockserver.errors import SpecError
from mockserver.errorshapes import shape
from mockserver.formats import preload as preload_formats
from mockserver.media import decode, is_checked, kind_of
from mockserver.media.answers import checked_as_json, encode
from mockserver.negotiation import request_media
from mockserver.openapi.routing import Router
from mockserver.openapi.spec import Operation, Spec
from mockserver.responses import (
    Preference,
    PreferenceError,
    choose,
    parse_prefer,
    required_headers,
)
from mockserver.services import Services
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
JOURNAL_BODY_LIMIT = 64 * 1024  # request and response bodies up to this size are journalled


class QueryLike(Protocol):
    def getlist(self, key: str) -> list[str]: ...


# Case-insensitive header access: werkzeug's ``Headers`` (its overloaded ``get`` defeats a
# Protocol).
HeadersLike = Any


@dataclass(slots=True)
class RequestData:
    """What the engine needs from an HTTP request (the Flask layer fills it in)."""

    method: str
    path: str
    query: QueryLike
    query_string: str
    headers: HeadersLike
    cookies: Mapping[str, str]
    content_length: int | None
    read_body: Callable[[int], bytes]
    client_address: str = "127.0.0.1"


@dataclass(slots=True)
class ResponseData:
    """What to send back. ``drop`` asks the server layer to close the connection unanswered."""

    status: int
    body: bytes
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    # The object ``body`` was serialised from, when there is one: the response check validates it
    # directly instead of parsing the bytes back (0.3 ms on a 500-customer answer).
    payload: Any = None


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
    """One spec served at its mount point, with its router and compiled operations."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.mount = spec.mount
        self.router = Router(spec.operations)
        self.credential_re = re.compile(spec.settings.credential_pattern)
        self.compiled = CompiledOperations(self._compile, spec.operations)
        if not spec.big:
            for op in spec.operations:
                self.compiled[op.operation_id] = self._compile(op)

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


class Engine:
    """Serves every mounted API. Thread-safe: all mutable state lives in ``services.state``."""

    def __init__(self, specs: list[Spec], services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.apis = [MountedApi(spec) for spec in specs]
        # Longest mount first, so /a/v1 wins over /a.
        self.apis.sort(key=lambda api: len(api.mount), reverse=True)
        self.by_name = {api.spec.name: api for api in self.apis}
        for api in self.apis:
            create = api.compiled.get("createCustomer")
            if create is not None and create.body_validator is not None:
                services.item_validators[api.spec.name] = create.body_validator
        self._local = threading.local()
        # Proxy and replay (docs/proxy.md): a step after validation, None when not configured.
        self.relay: Relay | None = None
        if self.settings.proxy or self.settings.replay_dir:
            # Imported only here: the HTTP client behind it costs `serve` ~50 ms of start-up.
            from mockserver.proxy import Relay

            self.relay = Relay.build(self.settings, specs, services.state)
        # The country and language code lists take ~0.25 s to load: off the first request's path.
        preload_formats()

    # -- entry point ---------------------------------------------------------------------------
    def handle(self, request: RequestData) -> ResponseData:
        """Answer one request; never raises for anything a client can send."""
        started = time.perf_counter()
        api = self.api_for(request.path)
        if api is None:
            failure = Failure(
                "unknown-path",
                404,
                f"No API is mounted at {request.path!r}; "
                f"mounted: {', '.join(a.mount for a in self.apis)}",
            )
            body, content_type = generic(failure)
            if self.settings.log_requests:  # a client with a wrong base URL should see why
                log.info(
                    "- %s %s -> 404 (outside every API)", request.method, printable(request.path)
                )
            return ResponseData(404, orjson.dumps(body), content_type)
        entry: dict[str, Any] = {
            "time": time.time(),
            "api": api.spec.name,
            "operation_id": None,
            "method": request.method,
            "path": request.path,
            "query": request.query_string,
            "notes": [],
        }
        try:
            response = self._handle(api, request, entry)
        except SpecError as exc:  # a schema of a big spec, compiled on first use, is unusable
            log.error("%s", exc)
            entry["error"] = str(exc)
            response = ResponseData(500, orjson.dumps({"error": f"the spec cannot be used: {exc}"}))
        except ResponseValidationError as exc:
            self.services.server_errors.append(exc)
            response = ResponseData(500, orjson.dumps({"error": str(exc)}))
            entry.setdefault("response_violations", [str(exc)])
        if self.settings.cors and "Origin" in request.headers:
            response.headers.setdefault("Access-Control-Allow-Origin", "*")
        entry["status"] = response.status
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        if response.body:
            if self.settings.journal_bodies and len(response.body) <= JOURNAL_BODY_LIMIT:
                entry["response"] = _recorded(response)
            else:
                entry["response_bytes"] = len(response.body)
        self.services.state.journal.append(entry)
        if self.settings.log_requests:
            log.info(
                "%s %s %s -> %d (%s, %.1f ms)",
                api.spec.name,
                request.method,
                printable(request.path),
                response.status,
                entry.get("operation_id") or "-",
                entry["duration_ms"],
            )
        return response

    def api_for(self, path: str) -> MountedApi | None:
        """The API mounted at the start of ``path`` (the longest mount wins), or None."""
        for api in self.apis:
            if path == api.mount or path.startswith(api.mount + "/"):
                return api
        return None

    def _fail(self, api: MountedApi, failure: Failure, entry: dict[str, Any]) -> ResponseData:
        if failure.violations:
            entry["violations"] = [v.as_dict() for v in failure.violations]
        entry["error"] = failure.message
        headers = dict(failure.headers)
        compiled = api.compiled.get(entry.get("operation_id") or "")
        if api.spec.settings.envelope == "problem" and compiled is not None:
            documented = self._documented_failure(api, compiled, failure, headers)
            if documented is not None:
                return documented
        body, content_type = render(api.spec.settings, failure)
        return ResponseData(failure.status, orjson.dumps(body), content_type, headers)

    def _refuse(
        self,
        api: MountedApi,
        compiled: CompiledOperation | None,
        request: RequestData,
        failure: Failure,
        entry: dict[str, Any],
    ) -> ResponseData:
        """A request the spec does not allow: refused, unless the relay answers it anyway (the
        proxy forwards it, a recording answers it) and notes the violations."""
        if self.relay is not None:
            relayed = self.relay.answer(api, compiled, request, entry, failure)
            if relayed is not None:
                return relayed
        return self._fail(api, failure, entry)

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
            problem, content_type = render(
                api.spec.settings, replace(failure, status=shaped.status)
            )
            return ResponseData(shaped.status, orjson.dumps(problem), content_type, headers)
        body = shaped.body
        if checked_as_json(shaped.media):
            validator = api.response_validator(compiled, shaped.status, shaped.media)
            problem, _ = render(api.spec.settings, replace(failure, status=shaped.status))
            if shaped.media == "application/problem+json" and (
                validator is None or validator.is_valid(problem)
            ):
                body = problem  # documented as a problem: the mock's own, with every violation
            elif validator is not None and not validator.is_valid(body):
                body = shaped.plain  # the message fits no field: the documented body as it is
        schema = shaped.definition.content[shaped.media].schema
        payload = encode(shaped.media, body, schema, document)
        value = body if kind_of(shaped.media) == "json" else None  # payload: JSON written
        return ResponseData(shaped.status, payload, shaped.media, headers, payload=value)

    # -- the pipeline ------------------------------------------------------------------------
    def _handle(self, api: MountedApi, request: RequestData, entry: dict[str, Any]) -> ResponseData:
        settings = api.spec.settings
        relative = request.path[len(api.mount) :] or "/"
        method = request.method.upper()
        if self.relay is not None:
            self.relay.keep_body(request)
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
                failure = Failure(
                    "method-not-allowed",
                    405,
                    f"{method} is not documented for {relative}; allowed: {allowed}",
                    headers={"Allow": allowed},
                )
            else:
                failure = Failure(
                    "unknown-path",
                    404,
                    f"No operation matches {method} {relative} in {api.spec.name}",
                )
            return self._refuse(api, None, request, failure, entry)
        op = match.operation
        compiled = api.compiled[op.operation_id]
        entry["operation_id"] = op.operation_id
        state = self.services.state

        fault = state.faults.take(api.spec.name, op.operation_id, method, request.path)
        if fault is not None:
            entry["notes"].append(f"fault {fault.id}")
            if fault.latency_ms:
                time.sleep(fault.latency_ms / 1000)
            if fault.drop:
                return ResponseData(0, b"", None, drop=True)
            if fault.status:
                return self._fault_answer(api, compiled, fault.id, fault.status, entry)

        account, refused = self._authenticate(api, op, request)
        if refused is not None:
            return self._refuse(api, compiled, request, refused, entry)
        assert account is not None
        entry["account"] = mask(account)
        if account in entry["query"] or quote(account, safe="") in entry["query"]:
            entry["query"] = _masked_query(entry["query"], account)

        limited = self._rate_limit(api, account, request)
        if limited is not None:
            return self._fail(api, limited, entry)

        body: Any = None
        if op.body_content and method not in ("GET", "HEAD"):
            parsed = self._read_body(api, compiled, request, entry)
            if isinstance(parsed, Failure):
                return self._refuse(api, compiled, request, parsed, entry)
            body = parsed

        params, violations = read_parameters(
            compiled.parameters, match.path_params, request.query, request.headers, request.cookies
        )
        body_validator = compiled.body_validator
        if isinstance(body, _Decoded):  # a form, multipart, text, XML or binary body
            body_validator = api.media_validator(compiled, body.media) if body.checked else None
            body = body.value
        if body_validator is not None and body is not _NO_BODY:
            violations.extend(body_validator.violations(body))
        if body is _NO_BODY:
            body = None
        if violations:
            failure = Failure.from_violations("validation", settings.validation_status, violations)
            return self._refuse(api, compiled, request, failure, entry)
        if self.relay is not None:
            relayed = self.relay.answer(api, compiled, request, entry, None)
            if relayed is not None:
                return relayed

        try:
            preference = parse_prefer(request.headers.get("Prefer"))
        except PreferenceError as exc:
            return self._fail(
                api, Failure("validation", settings.validation_status, str(exc)), entry
            )

        behaviour = BEHAVIOURS.get((api.spec.name, op.operation_id))
        if behaviour is not None and not preference.any:
            call = Call(
                api.spec,
                op,
                account,
                body,
                params,
                request.headers,
                request.client_address,
                self.services,
            )
            outcome = behaviour(call)
            if isinstance(outcome, Failure):
                return self._checked(api, compiled, self._fail(api, outcome, entry), entry)
            return self._checked(api, compiled, self._reply(outcome), entry)

        try:
            chosen = choose(
                op, preference, api.spec.document, self._generator, request.headers.get("Accept")
            )
        except PreferenceError as exc:
            return self._fail(
                api, Failure("validation", settings.validation_status, str(exc)), entry
            )
        entry["notes"].append(f"answered from the spec ({chosen.status})")
        headers = required_headers(chosen.definition, self._generator, api.spec.document)
        if chosen.media is None:
            payload = b""
        else:
            schema = chosen.definition.content[chosen.media].schema
            payload = encode(chosen.media, chosen.body, schema, api.spec.document)
        # ``payload`` is the value of a JSON answer (the check and the journal use it as is);
        # the response check reads a text answer from its bytes.
        value = chosen.body if chosen.media and kind_of(chosen.media) == "json" else None
        response = ResponseData(chosen.status, payload, chosen.media, headers, payload=value)
        return self._checked(api, compiled, response, entry)

    # -- steps ---------------------------------------------------------------------------------
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

    def _authenticate(
        self, api: MountedApi, op: Operation, request: RequestData
    ) -> tuple[str | None, Failure | None]:
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

    def _rate_limit(self, api: MountedApi, account: str, request: RequestData) -> Failure | None:
        rule = api.spec.settings.rate_limit
        state = self.services.state
        if rule is None or not state.flags.get(f"rate-limit:{api.spec.name}", False):
            return None
        subject = request.client_address if rule.scope == "client-address" else account
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
        message = (
            "You have reached maximum request limit."
            if api.spec.settings.envelope == "bunce"
            else f"Too many requests: at most {rule.limit} per {rule.window_s:g} s; "
            f"retry in {retry} s"
        )
        return Failure("rate-limited", 429, message, headers={"Retry-After": str(retry)})

    def _read_body(
        self,
        api: MountedApi,
        compiled: CompiledOperation,
        request: RequestData,
        entry: dict[str, Any],
    ) -> Any:
        settings = api.spec.settings
        declared, params = media_type(request.headers.get("Content-Type"))
        matched = request_media(declared, compiled.body_media) if declared else None
        kind = kind_of(declared if matched and matched.endswith("*") else matched or "")
        if kind != "json" and matched is not None:
            return self._read_other(api, compiled, request, entry, matched, kind, params)
        if not settings.lenient_content_type:
            if not declared:
                length = request.content_length or 0
                if length == 0 and not compiled.operation.body_required:
                    return _NO_BODY
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
            entry["notes"].append(f"body parsed as JSON although Content-Type is {declared!r}")
        raw = self._read_raw(request)
        if isinstance(raw, Failure):
            return raw
        if not raw.strip():
            if compiled.operation.body_required:
                return Failure(
                    "validation",
                    settings.validation_status,
                    "body: a JSON request body is required",
                )
            return _NO_BODY
        try:
            body = parse_json(raw)
        except BodyError as exc:
            return Failure("malformed", 400, f"body: {exc.problem}")
        if self.settings.journal_bodies and len(raw) <= JOURNAL_BODY_LIMIT:
            entry["body"] = body
        else:
            entry["body_bytes"] = len(raw)
        return body

    def _read_raw(self, request: RequestData) -> bytes | Failure:
        """The body's bytes within the size limit (413), or why they could not be read (400)."""
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return Failure(
                "too-large",
                413,
                f"The body has {request.content_length} bytes; the limit is {limit} bytes",
                headers={"Connection": "close"},
            )
        try:
            raw = request.read_body(limit + 1)
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
        return raw

    def _read_other(
        self,
        api: MountedApi,
        compiled: CompiledOperation,
        request: RequestData,
        entry: dict[str, Any],
        media: str,
        kind: str,
        params: dict[str, str],
    ) -> Any:
        """A body of a documented non-JSON type (form, multipart, text, XML, binary)."""
        raw = self._read_raw(request)
        if isinstance(raw, Failure):
            return raw
        if not raw and kind not in ("form", "multipart", "text"):  # empty text is text
            if compiled.operation.body_required:
                return Failure(
                    "validation",
                    api.spec.settings.validation_status,
                    f"body: a {media} request body is required",
                )
            return _NO_BODY
        try:
            value = decode(
                kind,
                raw,
                request.headers.get("Content-Type") or media,
                params.get("charset"),
                compiled.operation.body_content[media],
                api.spec.document,
            )
        except BodyError as exc:
            return Failure("malformed", 400, f"body: {exc.problem}")
        if kind == "binary" or not self.settings.journal_bodies or len(raw) > JOURNAL_BODY_LIMIT:
            entry["body_bytes"] = len(raw)
        else:
            entry["body"] = value
        entry["notes"].append(f"body read as {media}")
        return _Decoded(value, media, is_checked(kind))

    def _reply(self, reply: Reply) -> ResponseData:
        return ResponseData(
            reply.status,
            orjson.dumps(reply.body),
            "application/json",
            dict(reply.headers),
            payload=reply.body,
        )

    def _fault_answer(
        self,
        api: MountedApi,
        compiled: CompiledOperation,
        fault_id: str,
        status: int,
        entry: dict[str, Any],
    ) -> ResponseData:
        """The answer of an injected fault: one the operation documents for ``status``.

        Arming refused statuses the operation does not document (``faults.build_fault``). The
        answer is the API's error envelope (kind by status: 429 rate-limited, 5xx server-error,
        ...) with every header the response declares required (``Retry-After: 1`` on a 429);
        where the envelope does not fit the documented body (a 2xx, Bunce's 409), the documented
        example (or a generated body) answers, as ``Prefer: code=`` would.
        """
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
        response = self._fail(api, failure, entry)
        if definition is not None and self._problems(api, compiled, response):
            chosen = choose(op, Preference(code=status), api.spec.document, self._generator)
            payload = b"" if chosen.media is None else orjson.dumps(chosen.body)
            response = ResponseData(status, payload, chosen.media, headers, payload=chosen.body)
        return self._checked(api, compiled, response, entry)

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

    def _checked(
        self,
        api: MountedApi,
        compiled: CompiledOperation,
        response: ResponseData,
        entry: dict[str, Any],
    ) -> ResponseData:
        """Validate an outgoing response against the spec (unless switched off)."""
        mode = self.settings.validate_responses
        if mode == "off":
            return response
        op = compiled.operation
        problems = self._problems(api, compiled, response)
        if not problems:
            return response
        text = (
            f"{op.api}.{op.operation_id} answered {response.status}, which breaks the spec: "
            + "; ".join(problems[:5])
        )
        entry["response_violations"] = problems
        log.warning("%s", text)
        if mode == "strict":
            raise ResponseValidationError(text)
        return response


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


# The error kind an injected status renders as (a Tamio error_code, x-mock.error-codes);
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
