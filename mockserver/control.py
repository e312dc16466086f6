"""The ``/__mock/`` control API: health, reset, journal, drift, state, jobs, notifications,
webhooks, faults, limits.

It is described by its own OpenAPI document (``control.yaml``), served at
``GET /__mock/openapi.json``. When the server is bound to a non-loopback address the control API
requires a token (``X-Mock-Token`` header or ``Authorization: Bearer``), since it reads and resets
every account's data. Whatever the token, ``mockserver.guard`` first refuses a request that may
come from a web page (403: a foreign ``Host`` or ``Origin``; 415: a write whose body is not JSON),
and every answer shows credentials masked (:func:`mockserver.engine.mask`). Then the request is
checked against ``control.yaml`` by the code that checks the APIs' requests (:func:`check_request`):
a query parameter or body field of the wrong type, out of range or missing is a 400 problem naming
it; the views only check what the document cannot say (which APIs are mounted).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import yaml
from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from mockserver import dashboard, journal
from mockserver.bodies import BodyError, parse_json
from mockserver.engine import MountedApi, mask
from mockserver.errors import ConfigError
from mockserver.faults import build_fault
from mockserver.guard import ControlGuard, unsupported_body
from mockserver.openapi.loader import load_spec
from mockserver.problems import problem
from mockserver.store import Endpoint, Job, Notification, Scope
from mockserver.validation import Violation, read_parameters

if TYPE_CHECKING:
    from mockserver.engine import Engine

STARTED = time.time()


CONTROL_SPEC = Path(__file__).parent / "control.yaml"


@cache
def control_document() -> dict[str, Any]:
    """The OpenAPI description of the control API."""
    loaded = yaml.safe_load(CONTROL_SPEC.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@cache
def control_api() -> MountedApi:
    """``control.yaml`` loaded and compiled as the engine mounts an API (on first use: the
    start-up and ``/health`` do without it)."""
    return MountedApi(load_spec(CONTROL_SPEC, name="control"))


class BadControlRequest(ValueError):
    """A control request that breaks ``control.yaml``; the message names every field path."""


def check_request(
    method: str,
    relative: str,
    query: Any,
    headers: Any,
    cookies: Mapping[str, str],
    raw: bytes,
) -> tuple[dict[str, Any], Any]:
    """A control request's typed query parameters and parsed JSON body, checked against
    ``control.yaml`` by the code that checks the APIs' requests (:mod:`mockserver.validation`).

    ``relative`` is the path under ``/__mock``. A path that matches no operation, or whose path
    parameters do not fit, is left to the routing (404, 405). :class:`BadControlRequest` says
    what is wrong, naming each field (``body.latency_ms``, ``query parameter 'limit'``).
    """
    api = control_api()
    match = api.router.match(method, relative)
    if match.operation is None:
        return {}, None
    compiled = api.compiled[match.operation.operation_id]
    params, found = read_parameters(compiled.parameters, match.path_params, query, headers, cookies)
    violations = [v for v in found if v.location != "path"]
    body = None
    if compiled.body_validator is not None:
        if raw.strip():
            try:
                body = parse_json(raw)
            except BodyError as exc:
                raise BadControlRequest(f"the body is not valid JSON: {exc.problem}") from None
            violations.extend(compiled.body_validator.violations(body))
        elif compiled.operation.body_required:
            violations.append(Violation("body", (), "a JSON body is required", "required"))
    if violations:
        raise BadControlRequest(describe(violations))
    return params, body


def check_body(operation_id: str, body: Any) -> None:
    """Check a request body built in Python (the fixture's ``fault()``) as the control API checks
    the one sent to ``operation_id``; :class:`BadControlRequest` names each field."""
    validator = control_api().compiled[operation_id].body_validator
    violations = validator.violations(body) if validator is not None else []
    if violations:
        raise BadControlRequest(describe(violations))


def describe(violations: Sequence[Violation]) -> str:
    """Violations for a problem's ``detail``: each field path and what is wrong (up to 5)."""
    shown = "; ".join(f"{_where(v)}: {v.problem}" for v in violations[:5])
    more = len(violations) - 5
    return shown + (f" (and {more} more)" if more > 0 else "")


def _where(violation: Violation) -> str:
    if violation.location != "body":
        return f"{violation.location} parameter {violation.field!r}"
    if not violation.path:
        return "body"
    return "body" + ("." if isinstance(violation.path[0], str) else "") + violation.field


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, mimetype="application/json")


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return problem(status, "control API error", detail, headers)


def _asdict(obj: Any) -> dict[str, Any]:
    return (
        {name: getattr(obj, name) for name in obj.__slots__}
        if hasattr(obj, "__slots__")
        else dict(obj.__dict__)
    )


def notification_json(notification: Notification) -> dict[str, Any]:
    """A notification as the control API shows it: the account masked as in the journal."""
    return {
        "id": notification.id,
        "api": notification.api,
        "account": mask(notification.account),
        "job_id": notification.job_id,
        **notification.data,
        "time": notification.time,
    }


def job_json(job: Job) -> dict[str, Any]:
    """A background job as the control API shows it: the account masked."""
    return {**_asdict(job), "account": mask(job.account)}


def endpoint_json(endpoint: Endpoint, *, secret: bool = False) -> dict[str, Any]:
    """A webhook endpoint as the control API shows it: account and signing secret masked (the
    secret is shown in full only in the answer that registers the endpoint, ``secret=True``)."""
    shown = _asdict(endpoint)
    if endpoint.account is not None:
        shown["account"] = mask(endpoint.account)
    if not secret:
        shown["secret"] = mask(endpoint.secret)
    return shown


class _BadRequest(Exception):
    pass


def control_blueprint(engine: Engine) -> Blueprint:
    """The control API bound to one engine (and so to its state)."""
    services = engine.services
    settings = services.settings
    state = services.state
    bp = Blueprint("mock_control", __name__)

    def params() -> dict[str, Any]:
        """The request's query parameters, typed and checked (see :func:`check_request`)."""
        checked: dict[str, Any] = g.get("control_params", {})
        return checked

    def body() -> Any:
        """The request's JSON body, checked against its schema in ``control.yaml``."""
        return g.get("control_body")

    def api_name(value: Any) -> str:
        if not isinstance(value, str) or value not in engine.by_name:
            raise _BadRequest(f"unknown api {value!r}; mounted: {', '.join(engine.by_name)}")
        return str(value)

    def scope_from_args() -> Scope:
        return Scope(api_name(params()["api"]), params()["account"])

    @bp.errorhandler(_BadRequest)
    def bad_request(exc: _BadRequest) -> Response:
        return _problem(400, str(exc))

    origin_guard = ControlGuard(settings.host, settings.port, settings.allowed_hosts)

    @bp.before_request
    def guard() -> Response | None:
        # The port the request came in on (gunicorn and werkzeug take it from the socket).
        listening = str(request.environ.get("SERVER_PORT", ""))
        port = int(listening) if listening.isdigit() else settings.port
        refused = origin_guard.refusal(
            request.headers.get("Host"), request.headers.get("Origin"), request.scheme, port
        )
        if refused:
            return _problem(403, refused)
        token = settings.control_token
        if token and not admitted():
            return _problem(
                401,
                "the control API needs its token: send 'X-Mock-Token: <token>' (in a browser, "
                "open /__mock/ui?token=<token> once)",
            )
        has_body = bool(request.content_length) or "Transfer-Encoding" in request.headers
        unsupported = unsupported_body(request.method, request.content_type, has_body)
        if unsupported:
            return _problem(415, unsupported)
        if request.endpoint == "mock_control.health":
            return None  # nothing to check (and the start-up's health wait skips loading)
        relative = request.path.removeprefix("/__mock") or "/"
        try:
            g.control_params, g.control_body = check_request(
                request.method,
                relative,
                request.args,
                request.headers,
                request.cookies,
                request.get_data() if has_body else b"",
            )
        except BadControlRequest as exc:
            return _problem(400, str(exc))
        return None

    def admitted() -> bool:
        token = settings.control_token
        assert token
        given = request.headers.get("X-Mock-Token", "")
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            given = given or auth[7:].strip()
        if hmac.compare_digest(given.encode(), token.encode()):
            return True
        return dashboard.admitted(request, token)  # the dashboard's cookie, or its exchange

    @bp.after_request
    def conditional(response: Response) -> Response:
        # ETags on what GETs read, so a poller (the dashboard) gets a bodiless 304 while
        # nothing changed.
        if request.method == "GET" and response.status_code == 200 and response.is_json:
            response.add_etag()
            response.headers["Cache-Control"] = "no-cache"
            response.make_conditional(request)
        return response

    dashboard.register(bp, settings.control_token)

    @bp.get("/health")
    def health() -> Response:
        return _json(
            {
                "status": "ok",
                "uptime_s": round(time.time() - STARTED, 3),
                "store": type(state).__name__,
                "pid": os.getpid(),
                "apis": [
                    {
                        "name": api.spec.name,
                        "mount": api.mount,
                        "title": api.spec.title,
                        "version": api.spec.version,
                        "operations": len(api.spec.operations),
                    }
                    for api in engine.apis
                ],
            }
        )

    @bp.post("/reset")
    def reset() -> Response:
        services.reset()
        return _json({"reset": True})

    @bp.get("/openapi.json")
    def openapi() -> Response:
        return _json(control_document())

    @bp.get("/routes")
    def routes() -> Response:
        return _json(
            {
                "routes": [
                    {
                        "api": api.spec.name,
                        "method": op.method,
                        "path": api.mount + op.path,
                        "operation_id": op.operation_id,
                        "summary": op.summary,
                    }
                    for api in engine.apis
                    for op in api.spec.operations
                ]
            }
        )

    @bp.get("/requests")
    def requests() -> Response:
        query = params()
        entries = journal.read(
            state,
            api=query.get("api") or None,
            operation_id=query.get("operation") or request.args.get("operation_id") or None,
            status=query.get("status"),
            since=query.get("since"),
            limit=query.get("limit"),
        )
        if query.get("rejected"):
            entries = [e for e in entries if e.violations]
        bodies = query.get("bodies", True)
        return _json({"requests": [e.to_json(bodies=bodies) for e in entries]})

    @bp.get("/drift")
    def drift() -> Response:
        from mockserver.drift import summarise

        query = params()
        entries = journal.read(state, api=query.get("api") or None, since=query.get("since"))
        return _json(summarise(entries).as_dict())

    @bp.get("/requests/<int:seq>")
    def journal_entry(seq: int) -> Response:
        found = [e for e in journal.read(state, since=seq - 1) if e.seq == seq]
        if not found:
            return _problem(404, f"no journal entry {seq} (reset, or past the journal's bound)")
        return _json(found[0].to_json())

    @bp.get("/errors")
    def errors() -> Response:
        return _json({"errors": [f"{type(e).__name__}: {e}" for e in services.server_errors]})

    # -- stored customers ------------------------------------------------------------------
    @bp.get("/accounts")
    def accounts() -> Response:
        api = api_name(request.args.get("api"))
        return _json({"api": api, "accounts": [mask(a) for a in state.records.accounts(api)]})

    @bp.get("/customers")
    def customers() -> Response:
        scope = scope_from_args()
        return _json({"customers": [r.data for r in state.records.all(scope)]})

    @bp.post("/customers")
    def seed_customers() -> Response:
        scope = scope_from_args()
        data = body()  # an array of customers, or {"customers": [...]}
        items = data["customers"] if isinstance(data, dict) else data
        try:
            results = services.seed(scope.api, scope.account, items)
        except ConfigError as exc:  # no pack of this app stores customers of the API
            raise _BadRequest(str(exc)) from None
        status = 201 if all("created" in r for r in results) else 409
        return _json({"results": results}, status)

    @bp.delete("/customers")
    def clear_customers() -> Response:
        scope = scope_from_args()
        return _json({"deleted": state.records.clear_scope(scope)})

    @bp.delete("/customers/<record_id>")
    def delete_customer(record_id: str) -> Response:
        scope = scope_from_args()
        if not state.records.delete(scope, record_id):
            return _problem(404, f"no customer {record_id!r} in {scope.api} account")
        return _json({"deleted": 1})

    # -- jobs --------------------------------------------------------------------------------
    @bp.get("/jobs")
    def jobs() -> Response:
        found = state.jobs.list(
            api=request.args.get("api") or None, status=request.args.get("status") or None
        )
        account = request.args.get("account") or None
        if account is not None:  # the credential itself, or its masked form as listed
            found = [j for j in found if account in (j.account, mask(j.account))]
        return _json({"jobs": [job_json(j) for j in found]})

    @bp.post("/jobs/flush")
    def flush() -> Response:
        return _json(services.flush())

    # -- notifications -----------------------------------------------------------------------
    @bp.get("/notifications")
    def notifications() -> Response:
        api = request.args.get("api") or None
        if api is not None:
            api_name(api)
        account = request.args.get("account") or None
        found = state.notifications.list(api=api)
        if account is not None:  # the credential itself, or its masked form as listed
            found = [n for n in found if account in (n.account, mask(n.account))]
        return _json({"notifications": [notification_json(n) for n in found]})

    # -- webhooks ----------------------------------------------------------------------------
    @bp.post("/webhooks/endpoints")
    def add_endpoint() -> Response:
        data = body()
        events = data.get("events", ["*"])
        try:  # what makes a URL acceptable is register()'s to say
            api = data.get("api") or services.webhooks.only_api()
            endpoint = services.webhooks.register(
                api_name(api),
                data["url"],
                [events] if isinstance(events, str) else events,
                secret=data.get("secret"),
                account=data.get("account"),
            )
        except ValueError as exc:
            raise _BadRequest(str(exc)) from None
        return _json(endpoint_json(endpoint, secret=True), 201)

    @bp.get("/webhooks/endpoints")
    def list_endpoints() -> Response:
        return _json(
            {
                "endpoints": [
                    endpoint_json(e) for e in state.endpoints.list(request.args.get("api") or None)
                ]
            }
        )

    @bp.delete("/webhooks/endpoints/<endpoint_id>")
    def delete_endpoint(endpoint_id: str) -> Response:
        if not state.endpoints.delete(endpoint_id):
            return _problem(404, f"no webhook endpoint {endpoint_id!r}")
        return _json({"deleted": 1})

    @bp.get("/webhooks/deliveries")
    def deliveries() -> Response:
        found = state.deliveries.list(request.args.get("endpoint_id") or None)
        return _json(
            {
                "deliveries": [
                    {**_asdict(d), "attempts": [_asdict(a) for a in d.attempts]} for d in found
                ]
            }
        )

    @bp.post("/webhooks/flush")
    def flush_webhooks() -> Response:
        return _json({"deliveries": services.webhooks.flush()})

    # -- faults and rate limits --------------------------------------------------------------
    @bp.post("/faults")
    def add_fault() -> Response:
        specs = {name: api.spec for name, api in engine.by_name.items()}
        try:
            fault = build_fault(specs, body())
        except ValueError as exc:
            raise _BadRequest(str(exc)) from None
        state.faults.add(fault)
        return _json(_asdict(fault), 201)

    @bp.delete("/faults")
    def clear_faults() -> Response:
        return _json({"cleared": state.faults.clear()})

    @bp.get("/faults")
    def faults() -> Response:
        return _json({"faults": [_asdict(f) for f in state.faults.list()]})

    @bp.get("/rate-limits")
    def rate_limits() -> Response:
        return _json(
            {
                "rate_limits": [
                    {
                        "api": api.spec.name,
                        "enabled": bool(state.flags.get(f"rate-limit:{api.spec.name}", False)),
                        "limit": api.spec.settings.rate_limit.limit
                        if api.spec.settings.rate_limit
                        else None,
                    }
                    for api in engine.apis
                ]
            }
        )

    @bp.put("/rate-limits")
    def set_rate_limits() -> Response:
        data = body()
        api = api_name(data["api"])
        if engine.by_name[api].spec.settings.rate_limit is None:
            raise _BadRequest(f"{api}'s spec declares no x-mock.rate-limit")
        enabled = data["enabled"]
        state.flags.set(f"rate-limit:{api}", enabled)
        return _json({"api": api, "enabled": enabled})

    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unknown(rest: str) -> Response:
        adapter = current_app.url_map.bind_to_environ(request.environ)
        allowed = []
        for method in ("GET", "POST", "PUT", "DELETE"):
            try:
                endpoint, _ = adapter.match(request.path, method=method)
            except HTTPException:
                continue
            if endpoint != request.endpoint:
                allowed.append(method)
        if allowed:
            listed = ", ".join(allowed)
            return _problem(
                405,
                f"{request.method} is not allowed on /__mock/{rest}; allowed: {listed}",
                {"Allow": listed},
            )
        return _problem(404, f"no control endpoint /__mock/{rest}; see /__mock/openapi.json")

    return bp
