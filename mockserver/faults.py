"""Building an injected fault from what a user asked for, with the checks both entry points share
(the control API's ``POST /__mock/faults`` and the pytest fixture's ``mockserver.fault(...)``);
both check the request's types against ``control.yaml`` first.

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
    """A Fault from ``request``, a body of ``POST /__mock/faults`` already checked against its
    schema in ``control.yaml`` (types and ranges); ValueError says what else is wrong: nothing
    to inject, an API that is not mounted, an operation it lacks, an undocumented status."""
    status = request.get("status")
    latency = request.get("latency_ms", 0)
    drop = request.get("drop", False)
    count = request.get("count", 1)
    if status is None and not latency and not drop:
        raise ValueError("a fault needs 'status', 'latency_ms' or 'drop'")
    api = request.get("api")
    if api is not None and api not in specs:
        raise ValueError(f"unknown api {api!r}; mounted: {', '.join(specs)}")
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
