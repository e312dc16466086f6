"""Building an injected fault from what a user asked for, with the checks both entry points share
(the control API's ``POST /__mock/faults`` and the pytest fixture's ``mockserver.fault(...)``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from mockserver.openapi.spec import Spec
from mockserver.store.base import Fault


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
