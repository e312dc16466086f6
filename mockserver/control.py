"""The ``/__mock/`` control API: health, reset, journal, drift, state, jobs, notifications,
webhooks, faults, limits.

It is described by its own OpenAPI document (``control.yaml``), served at
``GET /__mock/openapi.json``. When the server is bound to a non-loopback address the control API
requires a token (``X-Mock-Token`` header or ``Authorization: Bearer``), since it reads and resets
every account's data. Whatever the token, ``mockserver.guard`` first refuses a request that may
come from a web page (403: a foreign ``Host`` or ``Origin``; 415: a write whose body is not JSON),
and every answer shows credentials masked (:func:`mockserver.engine.mask`).
"""

from __future__ import annotations

import hmac
import os
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import yaml
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from mockserver import dashboard
from mockserver.app import problem
from mockserver.engine import mask
from mockserver.faults import build_fault
from mockserver.guard import ControlGuard, unsupported_body
from mockserver.store import Endpoint, Job, Notification, Scope

if TYPE_CHECKING:
    from mockserver.engine import Engine

STARTED = time.time()
_BODIES = frozenset({"body", "response"})  # what ?bodies=false leaves out of journal entries


@cache
def control_document() -> dict[str, Any]:
    """The OpenAPI description of the control API."""
    loaded = yaml.safe_load((Path(__file__).parent / "control.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


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


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise _BadRequest(f"query parameter {name!r} must be an integer, got {raw!r}") from None


class _BadRequest(Exception):
    pass


def control_blueprint(engine: Engine) -> Blueprint:
    """The control API bound to one engine (and so to its state)."""
    services = engine.services
    settings = services.settings
    state = services.state
    bp = Blueprint("mock_control", __name__)

    def body_json(default: bytes) -> Any:
        try:
            return orjson.loads(request.get_data() or default)
        except orjson.JSONDecodeError as exc:
            raise _BadRequest(f"the body is not valid JSON: {exc}") from None

    def body_object() -> dict[str, Any]:
        data = body_json(b"{}")
        if not isinstance(data, dict):
            raise _BadRequest("the body must be a JSON object")
        return data

    def api_name(value: Any) -> str:
        if not isinstance(value, str) or value not in engine.by_name:
            raise _BadRequest(f"unknown api {value!r}; mounted: {', '.join(engine.by_name)}")
        return str(value)

    def scope_from_args() -> Scope:
        account = request.args.get("account")
        if not account:
            raise _BadRequest("query parameter 'account' (the API credential) is required")
        return Scope(api_name(request.args.get("api")), account)

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
        return _problem(415, unsupported) if unsupported else None

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
    def journal() -> Response:
        api = request.args.get("api") or None
        entries = state.journal.read(
            api=api,
            operation_id=request.args.get("operation") or request.args.get("operation_id") or None,
            status=_int_arg("status"),
            since=_int_arg("since"),
            limit=_int_arg("limit"),
        )
        if request.args.get("rejected", "").lower() in ("1", "true"):
            entries = [e for e in entries if e.get("violations")]
        if request.args.get("bodies", "").lower() in ("0", "false"):
            entries = [{k: v for k, v in e.items() if k not in _BODIES} for e in entries]
        return _json({"requests": entries})

    @bp.get("/drift")
    def drift() -> Response:
        from mockserver.drift import summarise

        entries = state.journal.read(api=request.args.get("api") or None, since=_int_arg("since"))
        return _json(summarise(entries).as_dict())

    @bp.get("/requests/<int:seq>")
    def journal_entry(seq: int) -> Response:
        found = [e for e in state.journal.read(since=seq - 1) if e.get("seq") == seq]
        if not found:
            return _problem(404, f"no journal entry {seq} (reset, or past the journal's bound)")
        return _json(found[0])

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
        data = body_json(b"null")
        items = data.get("customers") if isinstance(data, dict) else data
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _BadRequest("send a JSON array of customer objects (or {'customers': [...]})")
        results = services.seed(scope.api, scope.account, items)
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
        data = body_object()
        url = data.get("url")
        if not isinstance(url, str):  # what makes a URL acceptable is register()'s to say
            raise _BadRequest("'url' must be an http(s) URL")
        events = data.get("events", ["*"])
        if isinstance(events, str):
            events = [events]
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise _BadRequest("'events' must be a list of event types (or ['*'])")
        for key in ("secret", "account"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise _BadRequest(f"{key!r} must be a string")
        try:
            endpoint = services.webhooks.register(
                api_name(data.get("api", "tamio")),
                url,
                events,
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
            fault = build_fault(specs, body_object())
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
        data = body_object()
        api = api_name(data.get("api"))
        if engine.by_name[api].spec.settings.rate_limit is None:
            raise _BadRequest(f"{api}'s spec declares no x-mock.rate-limit")
        enabled = data.get("enabled")
        if not isinstance(enabled, bool):
            raise _BadRequest("'enabled' must be true or false")
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
