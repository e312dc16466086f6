"""Building an injected fault from what a user asked for, with the checks both entry points share
(the control API's ``POST /__mock/faults`` and the pytest fixture's ``mockserver.fault(...)``).

Every answer the mock sends must be one its spec documents, injected ones too: a fault with a
``status`` is armed only when every operation it can hit documents that status (exactly, as a
``5XX``-style range, or ``default``); otherwise the refusal names the statuses they document.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from mockserver.openapi.routing import Router
from mockserver.openapi.spec import Operation, Spec
from mockserver.store import Fault


def build_fault(specs: Mapping[str, Spec], request: Mapping[str, Any]) -> Fault:
    """A Fault from ``request`` (keys as in the control API); ValueError says what is wrong."""
    status = request.get("status")
    latency = request.get("latency_ms", 0)
    drop = request.get("drop", False)
    count = request.get("count", 1)
    if status is not None and (
        not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599
    ):
        raise ValueError("'status' must be an HTTP status code (100-599)")
    if not isinstance(latency, int) or isinstance(latency, bool) or not 0 <= latency <= 60_000:
        raise ValueError("'latency_ms' must be an integer from 0 to 60000")
    if not isinstance(drop, bool):
        raise ValueError("'drop' must be true or false")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError("'count' must be a positive integer")
    if status is None and not latency and not drop:
        raise ValueError("a fault needs 'status', 'latency_ms' or 'drop'")
    api = request.get("api")
    if api is not None and (not isinstance(api, str) or api not in specs):
        raise ValueError(f"unknown api {api!r}; mounted: {', '.join(specs)}")
    for key in ("operation_id", "method", "path"):
        if request.get(key) is not None and not isinstance(request[key], str):
            raise ValueError(f"{key!r} must be a string")
    operation_id = request.get("operation_id")
    if api is not None and operation_id is not None and specs[api].operation(operation_id) is None:
        raise ValueError(f"{api} has no operation {operation_id!r}")
    if status is not None:
        _check_documented(
            specs, status, api, operation_id, request.get("method"), request.get("path")
        )
    return Fault(
        id=uuid.uuid4().hex[:12],
        api=api,
        operation_id=operation_id,
        method=request.get("method"),
        path=request.get("path"),
        status=status,
        latency_ms=latency,
        drop=drop,
        remaining=count,
    )


def targets(
    specs: Mapping[str, Spec],
    api: str | None,
    operation_id: str | None,
    method: str | None,
    path: str | None,
) -> list[Operation]:
    """The operations a fault with these matching fields can hit (``path`` is the full request
    path, mount included, as the fault is matched against it)."""
    found: list[Operation] = []
    for name, spec in specs.items():
        if api is not None and name != api:
            continue
        if path is not None:
            if not (path == spec.mount or path.startswith(spec.mount + "/")):
                continue
            router = Router(spec.operations)
            relative = path[len(spec.mount) :] or "/"
            methods = [method] if method else sorted({op.method for op in spec.operations})
            candidates = [router.match(m, relative).operation for m in methods]
            operations = [op for op in candidates if op is not None]
        else:
            operations = list(spec.operations)
        found.extend(
            op
            for op in operations
            if (operation_id is None or op.operation_id == operation_id)
            and (method is None or op.method.upper() == method.upper())
        )
    return found


def _check_documented(
    specs: Mapping[str, Spec],
    status: int,
    api: str | None,
    operation_id: str | None,
    method: str | None,
    path: str | None,
) -> None:
    operations = targets(specs, api, operation_id, method, path)
    if not operations:
        raise ValueError(
            "the fault matches no operation (check 'api', 'operation_id', 'method' and 'path'; "
            "'path' is the full request path, e.g. /bunce/v1/customers/7)"
        )
    missing = [op for op in operations if op.response_for(status) is None]
    if not missing:
        return
    documented = set.intersection(*(set(op.documented_statuses()) for op in operations))
    names = ", ".join(f"{op.api}.{op.operation_id}" for op in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    raise ValueError(
        f"status {status} is not documented for {names}{more}, so the mock cannot answer it; "
        f"statuses the targeted operations document: {', '.join(sorted(documented)) or 'none'}"
    )
