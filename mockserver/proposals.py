"""Spec examples proposed from recordings, for a person to review and copy into the spec.

:func:`propose` turns recordings into YAML shaped like the specs themselves: per API, the path,
the method, then ``requestBody`` or ``responses/<status>``, the media type and named examples
(``recorded_<n>``, each with a summary naming its recording). Identical values are proposed once.
An example that breaks the spec as it stands carries ``x-mock-violations``, and a status the spec
does not document says so in its ``description``: adding such an example means changing the spec
first (``mockserver validate`` would refuse it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
import yaml

from mockserver.bodies import media_type
from mockserver.drift import check_recordings

if TYPE_CHECKING:
    from mockserver.engine import MountedApi
    from mockserver.recording import Recording

JSON = dict[str, Any]


def propose(apis: Mapping[str, MountedApi], recordings: Iterable[Recording], source: str) -> str:
    """The proposal as YAML text (a comment header, then one mapping per API)."""
    recordings = list(recordings)
    checked = check_recordings(apis, recordings)
    proposal: JSON = {}
    seen: set[bytes] = set()
    unmatched: list[str] = []
    count = 0
    for recording, entry in zip(recordings, checked, strict=True):
        api = apis.get(recording.api)
        operation_id = entry.operation_id
        if api is None or operation_id is None:
            unmatched.append(recording.file)
            continue
        op = api.compiled[operation_id].operation
        findings = entry.drift
        number = recording.file.rsplit("-", 1)[-1].removesuffix(".json")
        name = f"recorded_{number}"
        operation = (
            proposal.setdefault(api.spec.name, {"spec": api.spec.file, "paths": {}})["paths"]
            .setdefault(op.path, {})
            .setdefault(op.method.lower(), {"operationId": operation_id})
        )
        sides = (
            (
                "request",
                recording.request_body,
                recording.request_headers,
                ("requestBody",),
                "Recorded request",
            ),
            (
                "response",
                recording.response_body,
                recording.response_headers,
                ("responses", str(recording.status)),
                f"Recorded answer {recording.status}",
            ),
        )
        for side, raw, headers, where, label in sides:
            if not raw.strip():
                continue
            media = _content_type(headers) or "application/json"
            value = _value(raw)
            key = orjson.dumps([api.spec.name, operation_id, *where, media, value])
            if key in seen:
                continue
            seen.add(key)
            node = operation
            for part in where:
                node = node.setdefault(part, {})
            if side == "response" and op.response_for(recording.status) is None:
                node["description"] = (
                    f"NOT IN THE SPEC: {operation_id} documents no {recording.status}; "
                    "add this response before its examples"
                )
            examples = (
                node.setdefault("content", {}).setdefault(media, {}).setdefault("examples", {})
            )
            example: JSON = {
                "summary": f"{label} ({recording.file}, {recording.recorded_at})",
                "value": value,
            }
            broken = [f"{f.field}: {f.problem}" for f in findings if f.side == side]
            if broken:
                example["x-mock-violations"] = broken
            examples[name] = example
            count += 1
    header = [
        f"# {count} example(s) proposed by `mockserver examples` from {source}.",
        "# Review each one, then copy what you keep into the spec named under `spec`.",
        "# An example with x-mock-violations breaks the spec as it stands: change the spec",
        "# (or leave the example out) first.",
    ]
    if unmatched:
        header.append(f"# Matched no documented operation: {', '.join(unmatched)}")
    if not proposal:
        return "\n".join(header) + "\n{}\n"
    text = yaml.safe_dump(
        proposal, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    return "\n".join(header) + "\n" + text


def _content_type(headers: Mapping[str, str]) -> str | None:
    raw = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    return media_type(raw)[0] or None


def _value(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", errors="replace")
